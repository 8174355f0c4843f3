//! `cockpit-worker classify` on raw PTY bytes recorded from the real Claude Code CLI 2.1.197
//! (fixtures/screens, recorded with worker/testkit/record.py against the stand-in API).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn classify(name: &str) -> Value {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/screens").join(format!("{name}.bytes"));
    let out = Command::new(env!("CARGO_BIN_EXE_cockpit-worker"))
        .args(["classify", "--cols", "120", "--rows", "40"])
        .arg(&file)
        .output()
        .expect("classify runs");
    assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

fn activity(v: &Value) -> &str {
    v["activity"].as_str().expect("activity")
}

#[test]
fn welcome_and_finished_turns_are_idle() {
    for name in ["idle", "idle-after-reply"] {
        let v = classify(name);
        assert_eq!(activity(&v), "Idle", "{name}:\n{}", v["screen"]);
        assert!(v["screen"].as_str().is_some_and(|s| s.contains("Claude Code")));
    }
}

#[test]
fn a_streaming_reply_is_working() {
    assert_eq!(activity(&classify("working")), "Working");
}

#[test]
fn permission_dialogs_need_approval_and_name_the_tool() {
    let bash = classify("approval-bash");
    assert_eq!(activity(&bash), "NeedsApproval");
    assert_eq!(bash["approval"]["tool"], "Bash");
    assert_eq!(bash["approval"]["question"], "Do you want to proceed?");
    let write = classify("approval-write");
    assert_eq!(activity(&write), "NeedsApproval");
    assert_eq!(write["approval"]["tool"], "Write");
}

#[test]
fn usage_limits_give_window_and_reset_and_see_the_dialog() {
    let session = classify("ratelimit-session");
    assert_eq!(activity(&session), "RateLimited");
    assert_eq!(session["rateLimit"]["window"], "session");
    assert!(session["rateLimit"]["resetsAt"].as_str().is_some_and(|t| t.ends_with(":14:00Z")), "{session}");
    assert_eq!(session["rateLimitDialogOpen"], true);

    let closed = classify("ratelimit-session-closed");
    assert_eq!(activity(&closed), "RateLimited", "still limited after the dialog closed");
    assert_eq!(closed["rateLimitDialogOpen"], false);

    let weekly = classify("ratelimit-weekly");
    assert_eq!(weekly["rateLimit"]["window"], "weekly");
    assert!(weekly["rateLimit"]["resetsAt"].as_str().is_some_and(|t| t.contains("-11-27T10:14:00Z")), "{weekly}");
}

#[test]
fn transient_errors_and_warnings_are_not_rate_limits() {
    for name in ["transient-429", "overloaded-529", "usage-warning"] {
        let v = classify(name);
        assert_ne!(activity(&v), "RateLimited", "{name}:\n{}", v["screen"]);
        assert!(v.get("rateLimit").is_none(), "{name}");
    }
}

#[test]
fn refused_credentials_need_login() {
    assert_eq!(activity(&classify("needs-login")), "NeedsLogin");
}

#[test]
fn classify_reports_a_missing_file_clearly() {
    let out = Command::new(env!("CARGO_BIN_EXE_cockpit-worker"))
        .args(["classify", "/nonexistent/bytes"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/bytes"));
}
