//! The laptop default: no accounts in the config. Sessions run under the credential of the
//! control plane's environment (the implicit `default` account), with the real Claude CLI.

use crate::support::harness;

use cockpit_api::Activity;
use cockpit_testkit::StandIn;
use harness::*;

#[tokio::test]
async fn without_accounts_sessions_use_the_environments_credential() {
    let api = StandIn::start().await.expect("stand-in");
    let dir = tempfile::tempdir().expect("tmp");
    let repo = git_repo(dir.path());
    let config = claude_config(&repo, "");
    let base = api.base_url();
    let token = "sk-ant-oat01-laptop-owner";
    let cockpit = Cockpit::start(
        dir.path(),
        &config,
        &[("ANTHROPIC_BASE_URL", base.as_str()), ("CLAUDE_CODE_OAUTH_TOKEN", token)],
    )
    .await;
    let accounts = cockpit.get_json("/api/accounts").await;
    assert_eq!(accounts[0]["id"], "default", "{accounts}");
    let resp = cockpit
        .post("/api/sessions", serde_json::json!({"repo_name": "demo", "name": "solo", "prompt": "hi from the laptop"}))
        .await;
    assert_eq!(resp.status(), 201);
    cockpit.wait_screen("solo", "Stand-in reply #1", "no reply").await;
    let view =
        cockpit.wait_session("solo", "idle", |s| s.live.as_ref().is_some_and(|l| l.activity == Activity::Idle)).await;
    assert_eq!(view.status.account.as_deref(), Some("default"));
    assert!(api.requests().iter().any(|r| r.token.as_deref() == Some(token)));
    // The Claude transcript, paged.
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let page = cockpit.get_json("/api/sessions/solo/transcript?limit=500").await;
        assert_eq!(page["claude_session_id"].as_str(), view.status.claude_session_id.as_deref());
        let text = page["entries"].to_string();
        if text.contains("hi from the laptop") && text.contains("Stand-in reply #1") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the transcript lacks the turn: {page}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let first = cockpit.get_json("/api/sessions/solo/transcript?limit=1").await;
    assert_eq!(first["entries"].as_array().map(Vec::len), Some(1));
    assert_eq!(first["next"], 1);
    // A cursor near the top of u64 is past the end: no wrap-around to the start.
    let far = cockpit.get_json(&format!("/api/sessions/solo/transcript?after={}&limit=10", u64::MAX - 5)).await;
    assert_eq!(far["entries"].as_array().map(Vec::len), Some(0), "{far}");
    assert!(far.get("next").is_none_or(serde_json::Value::is_null), "{far}");

    // A one-shot task continuing the conversation: a structured result, usage recorded.
    let resp = cockpit
        .post("/api/sessions/solo/oneshot", serde_json::json!({"prompt": "and now a summary", "name": "solo-task"}))
        .await;
    assert_eq!(resp.status(), 201);
    let done = cockpit.wait_session("solo-task", "the one-shot to finish", |s| s.status.phase.is_terminal()).await;
    assert_eq!(done.status.phase, cockpit_api::SessionPhase::Succeeded, "{done:#?}");
    let result = done.status.result.expect("a result");
    assert!(result.text.contains("Stand-in reply #2"), "the one-shot carried the conversation: {}", result.text);
    assert!(result.cost_usd > 0.0 && result.tokens.output_tokens > 0);
    let accounts = cockpit.get_json("/api/accounts").await;
    assert!(accounts[0]["usage"]["outputTokens"].as_u64().is_some_and(|t| t > 0), "{accounts}");

    // The worker runs in its own git worktree of the repo.
    let worktree = dir.path().join("data/worktrees/repo/solo");
    assert!(worktree.join(".git").exists(), "{}", worktree.display());
}
