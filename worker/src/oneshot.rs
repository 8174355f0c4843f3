//! One-shot mode: the CLI's `--output-format stream-json --verbose` lines parsed into typed
//! [`OneshotEvent`]s (pure), and the result assembled from them.

use chrono::{DateTime, TimeZone, Utc};
use cockpit_api::oneshot::{ContentBlock, OneshotEvent, OneshotResult};
use cockpit_api::{RateLimit, RateLimitWindow, TokenUsage};
use serde_json::Value;

use crate::ratelimit::parse_limit_message;

fn str_of(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn opt_str(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn u64_of(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// Parses one line of stream-json. Blank lines give `None`, and so do the reports of the
/// worker's own hooks (`system` `hook_started`/`hook_response`: the CLI reports command hooks
/// in the stream, and they are Cockpit's plumbing, not the conversation); lines that are not
/// JSON objects give an error text; unknown message types become [`OneshotEvent::Other`].
pub fn parse_line(line: &str, now: DateTime<Utc>) -> Result<Option<OneshotEvent>, String> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    if !v.is_object() {
        return Err("not a JSON object".into());
    }
    let kind = str_of(&v, "type");
    let subtype = str_of(&v, "subtype");
    if kind == "system" && matches!(subtype.as_str(), "hook_started" | "hook_response") {
        return Ok(None);
    }
    Ok(Some(match (kind.as_str(), subtype.as_str()) {
        ("system", "init") => OneshotEvent::Init {
            session_id: str_of(&v, "session_id").into(),
            model: str_of(&v, "model"),
            cwd: str_of(&v, "cwd"),
            tools: v
                .get("tools")
                .and_then(Value::as_array)
                .map(|t| t.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
            claude_code_version: str_of(&v, "claude_code_version"),
            permission_mode: str_of(&v, "permissionMode"),
            api_key_source: str_of(&v, "apiKeySource"),
        },
        ("system", "api_retry") => OneshotEvent::ApiRetry {
            attempt: u64_of(&v, "attempt") as u32,
            max_retries: u64_of(&v, "max_retries") as u32,
            retry_delay_ms: u64_of(&v, "retry_delay_ms"),
            error_status: v.get("error_status").and_then(Value::as_u64).map(|s| s as u16),
            error: opt_str(&v, "error"),
        },
        ("system", "status") => OneshotEvent::Status { status: str_of(&v, "status") },
        ("system", "session_state_changed") => OneshotEvent::SessionState { state: str_of(&v, "state") },
        ("assistant", _) => {
            let message = v.get("message").cloned().unwrap_or(Value::Null);
            OneshotEvent::Assistant {
                blocks: blocks(&message),
                model: str_of(&message, "model"),
                error: opt_str(&v, "error"),
            }
        }
        ("user", _) => OneshotEvent::User { blocks: blocks(v.get("message").unwrap_or(&Value::Null)) },
        ("rate_limit_event", _) => rate_limit_event(v.get("rate_limit_info").unwrap_or(&Value::Null), now),
        ("stream_event", _) => OneshotEvent::StreamEvent { event: v.get("event").cloned().unwrap_or(Value::Null) },
        ("control_request", _) => OneshotEvent::ControlRequest {
            request_id: str_of(&v, "request_id"),
            request: v.get("request").cloned().unwrap_or(Value::Null),
        },
        ("result", _) => OneshotEvent::Result { result: result(&v) },
        _ => OneshotEvent::Other { raw: v },
    }))
}

fn blocks(message: &Value) -> Vec<ContentBlock> {
    match message.get("content") {
        Some(Value::String(text)) => vec![ContentBlock::Text { text: text.clone() }],
        Some(Value::Array(items)) => items.iter().map(block).collect(),
        _ => Vec::new(),
    }
}

fn block(b: &Value) -> ContentBlock {
    match b.get("type").and_then(Value::as_str) {
        Some("text") => ContentBlock::Text { text: str_of(b, "text") },
        Some("thinking") => ContentBlock::Thinking { thinking: str_of(b, "thinking") },
        Some("tool_use") => ContentBlock::ToolUse {
            id: str_of(b, "id"),
            name: str_of(b, "name"),
            input: b.get("input").cloned().unwrap_or(Value::Null),
        },
        Some("tool_result") => ContentBlock::ToolResult {
            tool_use_id: str_of(b, "tool_use_id"),
            content: match b.get("content") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(parts)) => {
                    parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("\n")
                }
                _ => String::new(),
            },
            is_error: b.get("is_error").and_then(Value::as_bool).unwrap_or(false),
        },
        _ => ContentBlock::Other { raw: b.clone() },
    }
}

fn rate_limit_event(info: &Value, now: DateTime<Utc>) -> OneshotEvent {
    let status = str_of(info, "status");
    let resets_at = info.get("resetsAt").and_then(Value::as_i64).and_then(|s| Utc.timestamp_opt(s, 0).single());
    let window = RateLimitWindow::from_claim(info.get("rateLimitType").and_then(Value::as_str).unwrap_or(""));
    let limit = (status == "rejected").then(|| RateLimit {
        window,
        resets_at,
        message: format!("usage limit reached ({})", str_of(info, "rateLimitType")),
    });
    let _ = now;
    OneshotEvent::RateLimitEvent { status, limit, utilization: info.get("utilization").and_then(Value::as_f64) }
}

fn result(v: &Value) -> OneshotResult {
    let usage = v.get("usage").cloned().unwrap_or(Value::Null);
    OneshotResult {
        subtype: str_of(v, "subtype"),
        text: str_of(v, "result"),
        is_error: v.get("is_error").and_then(Value::as_bool).unwrap_or(false),
        api_error_status: v.get("api_error_status").and_then(Value::as_u64).map(|s| s as u16),
        cost_usd: v.get("total_cost_usd").and_then(Value::as_f64).unwrap_or(0.0),
        tokens: TokenUsage {
            input_tokens: u64_of(&usage, "input_tokens"),
            output_tokens: u64_of(&usage, "output_tokens"),
            cache_read_input_tokens: u64_of(&usage, "cache_read_input_tokens"),
            cache_creation_input_tokens: u64_of(&usage, "cache_creation_input_tokens"),
        },
        session_id: str_of(v, "session_id").into(),
        num_turns: u64_of(v, "num_turns") as u32,
        duration_ms: u64_of(v, "duration_ms"),
        permission_denials: v.get("permission_denials").and_then(Value::as_array).map_or(0, |a| a.len() as u32),
        rate_limit: None,
        exit_code: None,
    }
}

/// Folds the run's events into its final result: the `result` line, plus the usage limit that
/// ended it (from the `rate_limit_event`, or from the limit text when only that is known).
pub fn final_result(events: &[OneshotEvent], exit_code: Option<i32>, now: DateTime<Utc>) -> OneshotResult {
    let mut out = events
        .iter()
        .rev()
        .find_map(|e| match e {
            OneshotEvent::Result { result } => Some(result.clone()),
            _ => None,
        })
        .unwrap_or_else(|| OneshotResult {
            subtype: "error_during_execution".into(),
            text: "the CLI ended without a result".into(),
            is_error: true,
            ..OneshotResult::default()
        });
    let rejected = events.iter().rev().find_map(|e| match e {
        OneshotEvent::RateLimitEvent { limit: Some(limit), .. } => Some(limit.clone()),
        _ => None,
    });
    if out.is_error {
        let from_text = parse_limit_message(&out.text, now);
        out.rate_limit = match (rejected, from_text) {
            (Some(mut limit), Some(text)) => {
                limit.message = text.message;
                if limit.resets_at.is_none() {
                    limit.resets_at = text.resets_at;
                }
                Some(limit)
            }
            (Some(limit), None) if out.api_error_status == Some(429) => Some(limit),
            (None, Some(text)) => Some(text),
            _ => None,
        };
    }
    out.exit_code = exit_code;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_795_552_000, 0).single().expect("valid")
    }

    fn parse(line: &str) -> OneshotEvent {
        parse_line(line, now()).expect("parses").expect("an event")
    }

    #[test]
    fn parses_each_message_type() {
        assert!(matches!(
            parse(r#"{"type":"system","subtype":"init","session_id":"s","model":"m","tools":["Bash"],"apiKeySource":"none","claude_code_version":"2.1.197","permissionMode":"default","cwd":"/r"}"#),
            OneshotEvent::Init { ref tools, .. } if tools == &["Bash"]
        ));
        assert_eq!(
            parse(
                r#"{"type":"system","subtype":"api_retry","attempt":1,"max_retries":2,"retry_delay_ms":1000,"error_status":429,"error":"rate_limit"}"#
            ),
            OneshotEvent::ApiRetry {
                attempt: 1,
                max_retries: 2,
                retry_delay_ms: 1000,
                error_status: Some(429),
                error: Some("rate_limit".into())
            }
        );
        assert_eq!(
            parse(r#"{"type":"system","subtype":"status","status":"requesting"}"#),
            OneshotEvent::Status { status: "requesting".into() }
        );
        assert_eq!(
            parse(r#"{"type":"system","subtype":"session_state_changed","state":"idle"}"#),
            OneshotEvent::SessionState { state: "idle".into() }
        );
        match parse(
            r#"{"type":"assistant","message":{"model":"claude","content":[{"type":"text","text":"hi"},{"type":"tool_use","id":"t1","name":"Bash","input":{"command":"ls"}}]}}"#,
        ) {
            OneshotEvent::Assistant { blocks, model, error } => {
                assert_eq!(model, "claude");
                assert_eq!(error, None);
                assert_eq!(blocks[0], ContentBlock::Text { text: "hi".into() });
                assert!(matches!(&blocks[1], ContentBlock::ToolUse { name, .. } if name == "Bash"));
            }
            other => panic!("{other:?}"),
        }
        match parse(
            r#"{"type":"user","message":{"role":"user","content":[{"tool_use_id":"t1","type":"tool_result","content":"(Bash completed with no output)","is_error":false}]}}"#,
        ) {
            OneshotEvent::User { blocks } => assert_eq!(
                blocks,
                [ContentBlock::ToolResult {
                    tool_use_id: "t1".into(),
                    content: "(Bash completed with no output)".into(),
                    is_error: false
                }]
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(r#"{"type":"stream_event","event":{"type":"message_start"}}"#),
            OneshotEvent::StreamEvent { .. }
        ));
        assert!(matches!(
            parse(r#"{"type":"control_request","request_id":"r","request":{"subtype":"can_use_tool"}}"#),
            OneshotEvent::ControlRequest { .. }
        ));
        assert!(matches!(parse(r#"{"type":"brand_new","x":1}"#), OneshotEvent::Other { .. }));
        for hook in [
            r#"{"type":"system","subtype":"hook_started","hook_event":"SessionStart","hook_name":"SessionStart:startup"}"#,
            r#"{"type":"system","subtype":"hook_response","hook_event":"SessionStart","exit_code":0,"output":""}"#,
        ] {
            assert!(matches!(parse_line(hook, now()), Ok(None)), "the worker's own hooks are not events: {hook}");
        }
        assert_eq!(parse_line("   ", now()), Ok(None));
        assert!(parse_line("garbage", now()).is_err());
        assert!(parse_line("[1]", now()).is_err());
    }

    #[test]
    fn a_limit_hit_gives_a_result_with_window_and_reset() {
        let lines = [
            r#"{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":1795562968,"rateLimitType":"five_hour","overageStatus":"rejected","isUsingOverage":false}}"#,
            r#"{"type":"assistant","message":{"model":"<synthetic>","content":[{"type":"text","text":"You've hit your session limit · resets 11:29pm (UTC)"}]},"error":"rate_limit"}"#,
            r#"{"type":"result","subtype":"success","is_error":true,"api_error_status":429,"duration_ms":2929,"num_turns":1,"result":"You've hit your session limit · resets 11:29pm (UTC)","session_id":"s1","total_cost_usd":0,"permission_denials":[]}"#,
        ];
        let events: Vec<_> = lines.iter().map(|l| parse(l)).collect();
        let result = final_result(&events, Some(1), now());
        assert!(result.is_error);
        assert_eq!(result.api_error_status, Some(429));
        let limit = result.rate_limit.expect("a limit");
        assert_eq!(limit.window, RateLimitWindow::Session);
        assert_eq!(limit.resets_at, Utc.timestamp_opt(1_795_562_968, 0).single(), "the epoch wins over the text");
        assert_eq!(limit.message, "You've hit your session limit · resets 11:29pm (UTC)");
        assert_eq!(result.exit_code, Some(1));
    }

    #[test]
    fn a_normal_result_keeps_cost_and_tokens() {
        let events = [parse(
            r#"{"type":"result","subtype":"success","is_error":false,"api_error_status":null,"num_turns":2,"result":"Done","session_id":"s","total_cost_usd":0.000405,"usage":{"input_tokens":12,"output_tokens":5,"cache_read_input_tokens":3},"permission_denials":[{"tool_name":"Bash"}]}"#,
        )];
        let result = final_result(&events, Some(0), now());
        assert_eq!(
            (result.text.as_str(), result.is_error, result.num_turns, result.permission_denials),
            ("Done", false, 2, 1)
        );
        assert_eq!(
            result.tokens,
            TokenUsage {
                input_tokens: 12,
                output_tokens: 5,
                cache_read_input_tokens: 3,
                cache_creation_input_tokens: 0
            }
        );
        assert!((result.cost_usd - 0.000405).abs() < 1e-12);
        assert_eq!(result.rate_limit, None);
    }

    #[test]
    fn no_result_line_is_an_error_result() {
        let result = final_result(&[], Some(1), now());
        assert!(result.is_error);
        assert_eq!(result.exit_code, Some(1));
    }
}
