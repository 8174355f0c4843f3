//! The laptop default: no accounts in the config. Sessions run under the credential of the
//! control plane's environment (the implicit `default` account), with the real Claude CLI.

mod harness;

use cockpit_crds::Activity;
use cockpit_testkit::StandIn;
use harness::*;

#[tokio::test]
async fn without_accounts_sessions_use_the_environments_credential() {
    let api = StandIn::start().await.expect("stand-in");
    let dir = tempfile::tempdir().expect("tmp");
    let repo = git_repo(dir.path());
    let config = format!(
        "repos:\n  - name: demo\n    path: {}\nworker:\n  command: {}\n",
        repo.display(),
        claude_bin().display()
    );
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
    let deadline = tokio::time::Instant::now() + T;
    while !cockpit.screen("solo").await.contains("Stand-in reply #1") {
        assert!(tokio::time::Instant::now() < deadline, "no reply:\n{}", cockpit.screen("solo").await);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let view =
        cockpit.wait_session("solo", "idle", |s| s.live.as_ref().is_some_and(|l| l.activity == Activity::Idle)).await;
    assert_eq!(view.status.account.as_deref(), Some("default"));
    assert!(api.requests().iter().any(|r| r.token.as_deref() == Some(token)));
    // The worker runs in its own git worktree of the repo.
    let worktree = dir.path().join("data/worktrees/repo/solo");
    assert!(worktree.join(".git").exists(), "{}", worktree.display());
}
