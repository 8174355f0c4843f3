//! Web Push end to end: a real `cockpit serve` with real workers sends notifications to a
//! stand-in push service on loopback, where the test plays the browser: it subscribes through
//! the REST API with its own keys, checks the VAPID signature against `GET /api/push/key`, and
//! decrypts every payload (RFC 8291).

use crate::support::harness;
use crate::support::webpush;

use std::path::Path;

use cockpit_api::{Activity, SessionPhase};
use harness::*;
use webpush::*;

const TOKEN: &str = "sk-ant-oat01-push-test-secret";

/// A stand-in CLI that shows Claude Code's screens in steps, each held until the test creates
/// `<session>-<step>` in `dir`: session `flow` works, asks to run a Bash command, works, waits
/// at the prompt, then exits 0; session `limited` works, then opens the CLI's usage-limit dialog (screen text
/// alone would be only a display hint).
fn config(dir: &Path) -> String {
    let cli = script(
        dir,
        "screens-cli.sh",
        &format!(
            r#"[ "$1" = --version ] && {{ echo '2.0.0 (stand-in)'; exit 0; }}
D='{dir}'
name=$(basename "$PWD")
# Each screen is drawn with one write (clear + text), as the CLI redraws: the worker never
# sees a blank screen between two states.
{helpers}wait_for() {{ while [ ! -e "$D/$name-$1" ]; do sleep 0.05; done; }}
WORKING='✻ Working… (esc to interrupt)'
read -r -d '' LIMIT <<'SCREEN'
> do the thing
  ⎿  You've hit your session limit · resets 11:29pm (UTC)
     /upgrade to increase your usage limit.

❯ /rate-limit-options
────────────
  What do you want to do?

  ❯ 1. Stop and wait for limit to reset
    2. Upgrade your plan

  Enter to confirm · Esc to cancel
SCREEN
read -r -d '' IDLE <<'SCREEN'
● Done.

────────────
❯ 
────────────
  ? for shortcuts
SCREEN
show "$WORKING"
case "$name" in
  limited)
    wait_for limit; show "$LIMIT"
    sleep 300
    ;;
  *)
    wait_for approval; show "$APPROVAL"
    wait_for work; show "$WORKING"
    wait_for idle; show "$IDLE"
    wait_for exit
    exit 0
    ;;
esac
"#,
            dir = dir.display(),
            helpers = SCREEN_HELPERS,
        ),
    );
    one_repo_config(dir, &cli)
}

async fn start(dir: &Path) -> Cockpit {
    Cockpit::start(dir, &config(dir), &[("TOKEN_ALPHA", TOKEN), ("COCKPIT_VAPID_SUBJECT", "mailto:owner@example.net")])
        .await
}

async fn server_key(cockpit: &Cockpit) -> String {
    let key = cockpit.get_json("/api/push/key").await;
    let key = key["publicKey"].as_str().expect("publicKey").to_owned();
    let point = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &key).expect("base64url");
    assert_eq!((point.len(), point[0]), (65, 4), "an uncompressed P-256 point");
    key
}

async fn subscribe(cockpit: &Cockpit, device: &Device) {
    let resp = cockpit.post("/api/push/subscriptions", device.subscription()).await;
    assert_eq!(resp.status(), 201);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["pushService"], "127.0.0.1");
}

fn touch(dir: &Path, name: &str) {
    std::fs::write(dir.join(name), b"").expect("step file");
}

#[test]
fn the_tests_browser_decrypts_the_rfc_8291_example() {
    check_decrypt_against_rfc_8291();
}

#[tokio::test]
async fn a_session_that_needs_approval_goes_idle_ends_or_hits_a_limit_notifies_the_device() {
    let mut push = PushService::start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let cockpit = start(d).await;
    let key = server_key(&cockpit).await;
    let phone = push.device("phone");
    subscribe(&cockpit, &phone).await;
    let audience = push.origin();

    let resp = cockpit.post("/api/sessions", serde_json::json!({"repo_name": "demo", "name": "flow"})).await;
    assert_eq!(resp.status(), 201);
    let id = cockpit.session("flow").await.id;
    let working = |s: &cockpit_api::api::SessionView| s.status.activity == Some(Activity::Working);
    cockpit.wait_session("flow", "Claude working", working).await;

    touch(d, "flow-approval");
    let msg = push.next().await;
    assert_eq!(msg.device, "phone");
    assert_eq!(msg.header("urgency"), Some("high"), "a blocked session is urgent");
    let note = phone.open(&msg, &key, &audience);
    assert_eq!(note["title"], "flow needs approval");
    assert_eq!(note["body"], "Claude wants to use Bash.");
    assert_eq!(note["url"], format!("/s/{id}"));
    assert_eq!(note["tag"], format!("session-{id}"));

    touch(d, "flow-work");
    cockpit.wait_session("flow", "Claude working again", working).await;
    touch(d, "flow-idle");
    let note = phone.open(&push.next().await, &key, &audience);
    assert_eq!(note["title"], "flow is waiting for you");
    assert_eq!(note["url"], format!("/s/{id}"));

    touch(d, "flow-exit");
    let note = phone.open(&push.next().await, &key, &audience);
    assert_eq!(note["title"], "flow ended");
    assert_eq!(note["body"], "Claude Code exited.");
    let ended = cockpit.wait_session("flow", "the session to end", |s| s.status.phase.is_terminal()).await;
    assert_eq!(ended.status.phase, SessionPhase::Succeeded);

    // A usage limit. The next message is this one: nothing else came in between.
    let resp = cockpit.post("/api/sessions", serde_json::json!({"repo_name": "demo", "name": "limited"})).await;
    assert_eq!(resp.status(), 201);
    let limited_id = cockpit.session("limited").await.id;
    cockpit.wait_session("limited", "Claude working", working).await;
    touch(d, "limited-limit");
    let note = phone.open(&push.next().await, &key, &audience);
    assert_eq!(note["title"], "limited hit its usage limit");
    assert_eq!(note["body"], "Resets 23:29 UTC.");
    assert_eq!(note["url"], format!("/s/{limited_id}"));
    let view =
        cockpit.wait_session("limited", "waiting for the reset", |s| s.status.phase == SessionPhase::RateLimited).await;
    let resets = view.status.rate_limit.and_then(|l| l.resets_at).expect("a reset time");
    assert_eq!(resets.format("%H:%M").to_string(), "23:29");
    // A message typed while it waits is refused, not typed into a CLI that cannot answer it.
    let refused = cockpit.post("/api/sessions/limited/send", serde_json::json!({"text": "go on"})).await;
    assert_eq!(refused.status(), 409);
    let body: serde_json::Value = refused.json().await.expect("json");
    assert!(body["error"].as_str().is_some_and(|m| m.contains("usage-limit reset")), "{body}");

    // No second notification for the same state: the next message is the test's own.
    let report: serde_json::Value =
        cockpit.post("/api/push/test", serde_json::json!({})).await.json().await.expect("json");
    assert_eq!(report["delivered"], 1, "{report}");
    let note = phone.open(&push.next().await, &key, &audience);
    assert_eq!(note["title"], "Cockpit notifications work");
    assert!(push.drain().is_empty());
}

#[tokio::test]
async fn the_vapid_key_survives_a_restart_and_gone_subscriptions_are_removed() {
    let mut push = PushService::start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let mut cockpit = start(dir.path()).await;
    let key = server_key(&cockpit).await;
    let (phone, old) = (push.device("phone"), push.device("old-laptop"));
    subscribe(&cockpit, &phone).await;
    subscribe(&cockpit, &old).await;
    push.answer("old-laptop", 410);

    let report: serde_json::Value =
        cockpit.post("/api/push/test", serde_json::json!({})).await.json().await.expect("json");
    assert_eq!(report, serde_json::json!({"subscriptions": 2, "delivered": 1, "removed": 1, "failed": 0}));
    let mut got = [push.next().await, push.next().await];
    got.sort_by(|a, b| a.device.cmp(&b.device));
    assert_eq!(old.open(&got[0], &key, &push.origin())["title"], "Cockpit notifications work");
    assert_eq!(phone.open(&got[1], &key, &push.origin())["url"], "/settings");
    let left: Vec<String> =
        cockpit.store().await.list_push_subscriptions().await.expect("list").into_iter().map(|s| s.endpoint).collect();
    assert_eq!(left, std::slice::from_ref(&phone.endpoint), "the 410 removed the old laptop");

    // The key is made once and kept: a restart signs with the same one.
    let stored = cockpit.store().await.get_setting("vapid_private_key").await.expect("read").expect("kept");
    cockpit.stop().await;
    cockpit.restart().await;
    assert_eq!(server_key(&cockpit).await, key);
    let report: serde_json::Value =
        cockpit.post("/api/push/test", serde_json::json!({})).await.json().await.expect("json");
    assert_eq!(report["delivered"], 1);
    assert_eq!(phone.open(&push.next().await, &key, &push.origin())["tag"], "cockpit-test");
    assert_eq!(cockpit.store().await.get_setting("vapid_private_key").await.expect("read"), Some(stored.clone()));

    // The private key is in no response.
    for path in ["/api/push/key", "/api/health", "/api/openapi.json"] {
        let text = cockpit.http.get(cockpit.url(path)).send().await.expect("get").text().await.expect("text");
        assert!(!text.contains(&stored), "{path} leaks the VAPID private key");
    }
}

#[tokio::test]
async fn bad_subscriptions_get_400_and_store_nothing() {
    let push = PushService::start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let cockpit = start(dir.path()).await;
    let device = push.device("phone");
    let good = device.subscription();
    let with = |pointer: &str, value: serde_json::Value| {
        let mut body = good.clone();
        *body.pointer_mut(pointer).expect("field") = value;
        body
    };
    let b64 = |bytes: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    let mut off_curve = device.public();
    off_curve[64] ^= 1;
    let cases = [
        (with("/endpoint", "http://push.example.net/p".into()), "https"),
        (with("/endpoint", "not a url".into()), "not a URL"),
        (with("/endpoint", format!("https://push.example.net/{}", "x".repeat(3000)).into()), "2048"),
        (with("/keys/p256dh", b64(&off_curve).into()), "p256dh"),
        (with("/keys/p256dh", b64(&device.public()[..33]).into()), "p256dh"),
        (with("/keys/p256dh", "%%%".into()), "p256dh"),
        (with("/keys/auth", b64(&[1u8; 8]).into()), "auth"),
        (with("/keys", serde_json::json!({"p256dh": b64(&device.public())})), "auth"),
        (with("/endpoint", 7.into()), "invalid type"),
        (serde_json::json!({"endpoint": device.endpoint}), "keys"),
    ];
    for (body, words) in cases {
        let resp = cockpit.post("/api/push/subscriptions", body.clone()).await;
        let status = resp.status().as_u16();
        let error: serde_json::Value = resp.json().await.expect("a JSON error");
        let message = error["error"].as_str().expect("a message");
        assert_eq!(status, 400, "{body} → {message}");
        assert!(message.contains(words), "{body} → {message:?} should say {words:?}");
    }
    let raw = cockpit
        .http
        .post(cockpit.url("/api/push/subscriptions"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_eq!(raw.status(), 400);
    // From a page elsewhere: refused, with or without a body.
    for (path, body) in [("/api/push/subscriptions", Some(&good)), ("/api/push/test", None)] {
        let mut request = cockpit.http.post(cockpit.url(path)).header("origin", "https://evil.example");
        if let Some(body) = body {
            request = request.json(body);
        }
        assert_eq!(request.send().await.expect("post").status(), 403, "{path} from a foreign origin");
    }
    assert!(cockpit.store().await.list_push_subscriptions().await.expect("list").is_empty(), "nothing stored");

    // Unsubscribing: unknown endpoints are 404, a known one goes.
    let delete =
        |body: serde_json::Value| cockpit.http.delete(cockpit.url("/api/push/subscriptions")).json(&body).send();
    assert_eq!(delete(serde_json::json!({"endpoint": device.endpoint})).await.expect("delete").status(), 404);
    subscribe(&cockpit, &device).await;
    assert_eq!(cockpit.store().await.list_push_subscriptions().await.expect("list").len(), 1);
    assert_eq!(delete(serde_json::json!({"endpoint": device.endpoint, "x": 1})).await.expect("delete").status(), 400);
    assert_eq!(delete(serde_json::json!({"endpoint": device.endpoint})).await.expect("delete").status(), 204);
    assert!(cockpit.store().await.list_push_subscriptions().await.expect("list").is_empty());
    let report: serde_json::Value =
        cockpit.post("/api/push/test", serde_json::json!({})).await.json().await.expect("json");
    assert_eq!(report["subscriptions"], 0);
}
