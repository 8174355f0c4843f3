//! Account rotation end to end: the real Claude CLI in real workers under `cockpit serve`,
//! against the tests' stand-in API. Account A hits its session limit; the conversation
//! continues on account B and the Claude transcript holds both turns.

use crate::support::harness;

use cockpit_api::api::SessionView;
use cockpit_api::conversation::ConversationItem;
use cockpit_api::{Activity, RateLimitWindow, SessionPhase};
use cockpit_testkit::{StandIn, Window};
use harness::*;

const TOKEN_A: &str = "sk-ant-oat01-rotation-A";
const TOKEN_B: &str = "sk-ant-oat01-rotation-B";

fn config(repo: &std::path::Path) -> String {
    claude_config(
        repo,
        "accounts:\n  - name: alpha\n    tokenEnv: TOKEN_ALPHA\n    priority: 10\n  - name: beta\n    tokenEnv: TOKEN_BETA\n    priority: 5\n",
    )
}

/// The stand-in API and `cockpit serve` with accounts alpha and beta (`edit` may change the
/// config); the directory must outlive the test.
async fn two_accounts(edit: impl FnOnce(String) -> String) -> (StandIn, tempfile::TempDir, Cockpit) {
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
    let cockpit = Cockpit::start(dir.path(), &edit(config(&repo)), &env).await;
    (api, dir, cockpit)
}

/// The session runs on `beta`, its CLI idle.
fn idle_on_beta(s: &SessionView) -> bool {
    s.status.account.as_deref() == Some("beta")
        && s.status.phase == SessionPhase::Running
        && s.live.as_ref().is_some_and(|l| l.activity == Activity::Idle)
}

#[tokio::test]
async fn a_session_limit_moves_the_conversation_to_the_next_account() {
    let (api, _dir, cockpit) = two_accounts(|config| config).await;

    let resp = cockpit
        .post(
            "/api/sessions",
            serde_json::json!({"repo_name": "demo", "name": "rot", "prompt": "remember the word PELICAN"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    cockpit.wait_screen("rot", "Stand-in reply #1", "no reply on screen").await;
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

    let moved = cockpit.wait_session("rot", "the session to continue on beta", idle_on_beta).await;
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

    // On the phone it stays one conversation: the first turn once, the limit, the move to beta,
    // and the prompt that hit the limit sent again on beta.
    let mut phone = ConversationReader::open(&cockpit, "rot", None).await;
    phone
        .until("the second turn's answer", |e| {
            e.iter()
                .any(|x| matches!(&x.item, ConversationItem::Assistant { text } if text.contains("Stand-in reply #2")))
        })
        .await;
    phone.drain(std::time::Duration::from_millis(300)).await;
    let said = |words: &str| {
        phone
            .entries
            .iter()
            .filter(|x| matches!(&x.item, ConversationItem::User { text } if text.contains(words)))
            .count()
    };
    assert_eq!((said("remember the word PELICAN"), said("what was the word")), (1, 2), "{:#?}", phone.entries);
    let order: Vec<&str> = phone
        .entries
        .iter()
        .filter_map(|x| match &x.item {
            ConversationItem::User { text } if text.contains("PELICAN") => Some("first turn"),
            ConversationItem::Note { reason, message, .. } if reason == "Rotated" => {
                assert!(message.contains("alpha") && message.contains("beta"), "{message}");
                Some("rotated")
            }
            ConversationItem::User { text } if text.contains("what was the word") => Some("second turn"),
            // "session limit" (2.1.197), "5-hour limit" (2.1.332)
            ConversationItem::ApiError { text } if text.contains("limit · resets") => Some("limit"),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["first turn", "second turn", "limit", "rotated", "second turn"], "{:#?}", phone.entries);
    assert!(phone.repeated.is_empty(), "{:?}", phone.repeated);
    assert!(!phone.entries.iter().any(|x| matches!(x.item, ConversationItem::Unknown { .. })), "{:#?}", phone.entries);

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

/// Proactive rotation: alpha's CLI reports 93 % of its 5-hour window (from the API's headers,
/// through the status line); alpha's `rotateAt` is 90, so at the end of that turn — not during
/// it — the conversation moves to beta before any limit is hit, and goes on there.
#[tokio::test]
async fn an_account_past_its_rotate_at_hands_the_conversation_on_at_the_end_of_a_turn() {
    let (api, _dir, cockpit) =
        two_accounts(|config| config.replace("    priority: 10\n", "    priority: 10\n    rotateAt: 90\n")).await;
    let resp = cockpit
        .post("/api/sessions", serde_json::json!({"repo_name": "demo", "name": "early", "prompt": "remember HERON"}))
        .await;
    assert_eq!(resp.status(), 201);
    let first = cockpit
        .wait_session("early", "the first turn answered on alpha, its usage reported", |s| {
            s.status.account.as_deref() == Some("alpha")
                && s.live
                    .as_ref()
                    .is_some_and(|l| l.activity == Activity::Idle && l.report.as_ref().and_then(|r| r.plan).is_some())
        })
        .await;
    assert_eq!(first.status.rotations, 0, "12 % used: no move");

    // This answer says 93 % of alpha's 5-hour window is used.
    let resp = cockpit.post("/api/sessions/early/send", serde_json::json!({"text": "WARN93 carry on"})).await;
    assert_eq!(resp.status(), 202);
    let moved = cockpit.wait_session("early", "the session to move to beta after the turn", idle_on_beta).await;
    assert_eq!(moved.status.rotations, 1);
    assert!(moved.status.rate_limit.is_none(), "no limit was hit: {:?}", moved.status.rate_limit);
    let alpha_turn = api
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/v1/messages") && r.last_user_text.contains("WARN93"))
        .map(|r| r.token)
        .collect::<Vec<_>>();
    assert!(alpha_turn.iter().all(|t| t.as_deref() == Some(TOKEN_A)), "the turn ran whole on alpha: {alpha_turn:?}");

    // Alpha shows its utilization and is not limited; the history says why the session moved.
    let accounts = cockpit.get_json("/api/accounts").await;
    let alpha = accounts.as_array().and_then(|a| a.iter().find(|x| x["id"] == "alpha")).cloned().expect("alpha");
    assert_eq!(alpha["utilization"]["fiveHour"]["usedPercent"], 93.0, "{alpha}");
    assert_eq!(alpha["rotate_at"], 90);
    assert!(alpha.get("limited_until").is_none(), "{alpha}");
    let metrics = reqwest::get(cockpit.url("/metrics")).await.expect("metrics").text().await.expect("text");
    assert!(
        metrics.contains("cockpit_account_utilization_percent{account=\"alpha\",window=\"five_hour\"} 93"),
        "{metrics}"
    );
    let history = cockpit.get_json("/api/sessions/early/history").await;
    assert!(
        history["entries"].as_array().is_some_and(|e| e.iter().any(|x| x["data"]["reason"] == "Rotated"
            && x["data"]["message"].as_str().is_some_and(|m| m.contains("rotateAt 90%")))),
        "{history}"
    );

    // The conversation goes on on beta, with the earlier turns.
    let resp = cockpit.post("/api/sessions/early/send", serde_json::json!({"text": "what was the bird"})).await;
    assert_eq!(resp.status(), 202);
    let deadline = tokio::time::Instant::now() + T;
    let answered = loop {
        let found = api.requests().into_iter().find(|r| {
            r.path.starts_with("/v1/messages")
                && r.token.as_deref() == Some(TOKEN_B)
                && r.last_user_text.contains("what was the bird")
        });
        if let Some(found) = found {
            break found;
        }
        assert!(tokio::time::Instant::now() < deadline, "beta never got the next turn: {:#?}", api.requests());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(answered.user_turns, 3, "the resumed conversation carried both earlier turns");
    let costed = cockpit
        .wait_session("early", "the session's cost over both workers", |s| {
            s.status.cost.is_some_and(|c| c.cost_usd > 0.0) && s.status.cost_before_worker.is_some()
        })
        .await;
    let (total, before) =
        (costed.status.cost.unwrap_or_default(), costed.status.cost_before_worker.unwrap_or_default());
    assert!(total.cost_usd >= before.cost_usd && total.input_tokens >= before.input_tokens, "{total:?} {before:?}");
}
