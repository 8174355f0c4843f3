//! End-to-end checks of the stand-in over real HTTP.

use cockpit_testkit::{AuthKind, StandIn, Window};
use serde_json::{Value, json};

fn body(text: &str, stream: bool) -> Value {
    json!({"model": "claude-sonnet-5", "stream": stream, "max_tokens": 100,
        "tools": [{"name": "Bash", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "earlier"},
                     {"role": "assistant", "content": "ok"},
                     {"role": "user", "content": [{"type": "text", "text": text}]}]})
}

async fn post(api: &StandIn, token: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/v1/messages?beta=true", api.base_url()))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn streams_a_counted_reply() {
    let api = StandIn::start().await.expect("start");
    let r = post(&api, "tok-A", &body("hi there", true)).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap_or("").starts_with("text/event-stream"));
    assert!(r.headers().contains_key("request-id"));
    assert_eq!(r.headers()["anthropic-ratelimit-unified-status"], "allowed");
    let text = r.text().await.expect("body");
    let events: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("event: ")).collect();
    assert_eq!(events.first(), Some(&"message_start"));
    assert_eq!(events.last(), Some(&"message_stop"));
    assert!(events.contains(&"message_delta"));
    let said: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| v.pointer("/delta/text").and_then(Value::as_str).map(String::from))
        .collect();
    assert_eq!(said, "Stand-in reply #2: you said \"hi there\"");
    let reqs = api.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!((reqs[0].auth, reqs[0].token.as_deref()), (AuthKind::Bearer, Some("tok-A")));
    assert_eq!((reqs[0].user_turns, reqs[0].status, reqs[0].stream), (2, 200, true));
    assert_eq!(reqs[0].path, "/v1/messages");
}

#[tokio::test]
async fn non_streaming_count_tokens_and_404() {
    let api = StandIn::start().await.expect("start");
    let r = post(&api, "t", &body("title please", false)).await;
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["type"], "message");
    assert!(v["usage"]["input_tokens"].as_u64().is_some());
    let c = reqwest::Client::new();
    let r = c
        .post(format!("{}/v1/messages/count_tokens", api.base_url()))
        .header("x-api-key", "key-1")
        .body("{}")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let r = c.get(format!("{}/nope", api.base_url())).send().await.expect("send");
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["type"], "error");
    let reqs = api.requests();
    assert_eq!(reqs[1].auth, AuthKind::ApiKey);
    assert_eq!(reqs[2].method, "GET");
}

#[tokio::test]
async fn triggers_and_token_limits() {
    let api = StandIn::start().await.expect("start");
    let r = post(&api, "t", &body("RLWEEK", true)).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["anthropic-ratelimit-unified-representative-claim"], "seven_day");
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"]["type"], "rate_limit_error");
    assert_eq!(post(&api, "t", &body("OVERLOAD", true)).await.status(), 529);
    assert_eq!(post(&api, "t", &body("AUTH401", true)).await.status(), 401);
    let r = post(&api, "t", &body("RL429", true)).await;
    assert_eq!(r.status(), 429);
    assert!(!r.headers().contains_key("anthropic-ratelimit-unified-status"));
    let r = post(&api, "t", &body("WARN93", true)).await;
    assert_eq!(r.headers()["anthropic-ratelimit-unified-status"], "allowed_warning");

    api.limit_token("tok-A", Window::Opus);
    let r = post(&api, "tok-A", &body("hello", true)).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["anthropic-ratelimit-unified-representative-claim"], "seven_day_opus");
    assert_eq!(post(&api, "tok-B", &body("hello", true)).await.status(), 200);
    api.clear_limit("tok-A");
    assert_eq!(post(&api, "tok-A", &body("hello", true)).await.status(), 200);
}

#[tokio::test]
async fn tool_script_continues_after_tool_result() {
    let api = StandIn::start().await.expect("start");
    let r = post(&api, "t", &body("please TOOLBASH", false)).await;
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["stop_reason"], "tool_use");
    assert_eq!(v["content"][0]["input"]["command"], "touch mockfile.txt");
    let id = v["content"][0]["id"].clone();
    let mut b = body("please TOOLBASH", false);
    if let Some(msgs) = b["messages"].as_array_mut() {
        msgs.push(json!({"role": "assistant", "content": v["content"].clone()}));
        msgs.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": "ok"}]}));
    }
    let v: Value = post(&api, "t", &b).await.json().await.expect("json");
    assert_eq!(v["content"][0]["text"], "Done, the tool ran.");
}
