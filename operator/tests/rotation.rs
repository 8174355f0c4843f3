//! Account rotation end to end: the real Claude CLI in real workers under `cockpit serve`,
//! against the tests' stand-in API. Account A hits its session limit; the conversation
//! continues on account B and the Claude transcript holds both turns.

mod harness;

use cockpit_crds::{Activity, RateLimitWindow, SessionPhase};
use cockpit_testkit::{StandIn, Window};
use harness::*;

const TOKEN_A: &str = "sk-ant-oat01-rotation-A";
const TOKEN_B: &str = "sk-ant-oat01-rotation-B";

fn config(repo: &std::path::Path) -> String {
    format!(
        "repos:\n  - name: demo\n    path: {}\naccounts:\n  - name: alpha\n    tokenEnv: TOKEN_ALPHA\n    priority: 10\n  - name: beta\n    tokenEnv: TOKEN_BETA\n    priority: 5\nworker:\n  command: {}\n",
        repo.display(),
        claude_bin().display()
    )
}

#[tokio::test]
async fn a_session_limit_moves_the_conversation_to_the_next_account() {
    let api = StandIn::start().await.expect("stand-in");
    let dir = tempfile::tempdir().expect("tmp");
    let repo = git_repo(dir.path());
    let base = api.base_url();
    let env = [
        ("ANTHROPIC_BASE_URL", base.as_str()),
        ("TOKEN_ALPHA", TOKEN_A),
        ("TOKEN_BETA", TOKEN_B),
        ("CLAUDE_CODE_MAX_RETRIES", "1"),
    ];
    let cockpit = Cockpit::start(dir.path(), &config(&repo), &env).await;

    let resp = cockpit
        .post(
            "/api/sessions",
            serde_json::json!({"repo_name": "demo", "name": "rot", "prompt": "remember the word PELICAN"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let deadline = tokio::time::Instant::now() + T;
    while !cockpit.screen("rot").await.contains("Stand-in reply #1") {
        assert!(tokio::time::Instant::now() < deadline, "no reply on screen:\n{}", cockpit.screen("rot").await);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let first = cockpit
        .wait_session("rot", "the first turn answered on alpha", |s| {
            s.status.account.as_deref() == Some("alpha")
                && s.live.as_ref().is_some_and(|l| l.activity == Activity::Idle)
        })
        .await;
    let conversation = first.status.claude_session_id.clone().expect("conversation id");

    // Account A is now out of its session window.
    api.limit_token(TOKEN_A, Window::Session);
    let resp = cockpit.post("/api/sessions/rot/send", serde_json::json!({"text": "what was the word"})).await;
    assert_eq!(resp.status(), 202);

    let moved = cockpit
        .wait_session("rot", "the session to continue on beta", |s| {
            s.status.account.as_deref() == Some("beta")
                && s.status.phase == SessionPhase::Running
                && s.live.as_ref().is_some_and(|l| l.activity == Activity::Idle)
        })
        .await;
    let deadline = tokio::time::Instant::now() + T;
    while !cockpit.screen("rot").await.contains("Stand-in reply #2") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no second reply on screen:\n{}\nrequests: {:#?}",
            cockpit.screen("rot").await,
            api.requests()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(moved.status.rotations, 1);
    // The CLI may fork the resumed conversation under a new id; the status follows it.
    let conversation_now = cockpit.session("rot").await.status.claude_session_id.expect("conversation id");
    let _ = conversation;
    assert_eq!(moved.status.rate_limit.as_ref().map(|l| l.window), Some(RateLimitWindow::Session));

    // Beta answered the second turn with the first one in its history.
    let answered = api
        .requests()
        .into_iter()
        .filter(|r| {
            r.path.starts_with("/v1/messages")
                && r.token.as_deref() == Some(TOKEN_B)
                && r.last_user_text.contains("what was the word")
        })
        .max_by_key(|r| r.user_turns)
        .expect("beta got the second turn");
    assert_eq!(answered.user_turns, 2, "the resumed conversation carried the first turn");
    assert_eq!(answered.status, 200);

    // Alpha is limited until its reset, persisted and shown.
    let accounts = cockpit.get_json("/api/accounts").await;
    let alpha = accounts.as_array().and_then(|a| a.iter().find(|x| x["id"] == "alpha")).cloned().expect("alpha");
    let until: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(alpha["limited_until"].clone()).expect("limited_until");
    let left = until - chrono::Utc::now();
    assert!(left > chrono::Duration::minutes(100) && left < chrono::Duration::minutes(121), "{left}");
    assert_eq!(alpha["limit_window"], "session");

    // The Claude transcript holds both turns.
    let transcript = find_transcript(&cockpit.data_dir, &conversation_now);
    let text = std::fs::read_to_string(&transcript).expect("transcript");
    assert!(
        text.contains("remember the word PELICAN") && text.contains("what was the word"),
        "{}",
        transcript.display()
    );

    // The history tells the story.
    let history = cockpit.get_json("/api/sessions/rot/history").await;
    assert!(
        history["entries"].as_array().is_some_and(|e| e.iter().any(|x| x["data"]["reason"] == "Rotated")),
        "{history}"
    );

    // reset-limit clears alpha by hand.
    let resp = cockpit.post("/api/accounts/alpha/reset-limit", serde_json::json!({})).await;
    assert_eq!(resp.status(), 200);
    let alpha: serde_json::Value = resp.json().await.expect("json");
    assert!(alpha.get("limited_until").is_none(), "{alpha}");
}

fn find_transcript(data_dir: &std::path::Path, conversation: &str) -> std::path::PathBuf {
    let projects = data_dir.join("claude-home/projects");
    for entry in std::fs::read_dir(&projects).expect("projects dir").flatten() {
        let candidate = entry.path().join(format!("{conversation}.jsonl"));
        if candidate.exists() {
            return candidate;
        }
    }
    panic!("no transcript for {conversation} under {}", projects.display());
}
