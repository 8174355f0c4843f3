//! The conversation on the phone, end to end: the real Claude CLI in a real worker under
//! `cockpit serve`, against the tests' stand-in API; the conversation read as a phone does
//! (`GET /api/sessions/{id}/conversation`, server-sent events) while approvals are answered
//! through the API; then the session's changes.

use crate::support::harness;

use cockpit_api::changes::{ChangesView, FileStatus};
use cockpit_api::conversation::{ConversationEntry, ConversationItem};
use cockpit_api::tool_view::{DiffOp, ToolDetail};
use cockpit_api::{Activity, PendingApproval};
use cockpit_testkit::StandIn;
use harness::*;

const TOKEN: &str = "sk-ant-oat01-conversation";

fn items(entries: &[ConversationEntry]) -> impl Iterator<Item = &ConversationItem> {
    entries.iter().map(|e| &e.item)
}

/// How many edits the assistant has said it has done.
fn edits_done(entries: &[ConversationEntry]) -> usize {
    items(entries)
        .filter(|i| matches!(i, ConversationItem::Assistant { text } if text == "Done, the file is edited."))
        .count()
}

fn has_note(entries: &[ConversationEntry], reason: &str, text: &str) -> bool {
    items(entries).any(
        |i| matches!(i, ConversationItem::Note { reason: r, message, .. } if r == reason && message.contains(text)),
    )
}

/// The tool call with this summary, the last one.
fn call<'a>(entries: &'a [ConversationEntry], name: &str) -> Option<(&'a str, &'a cockpit_api::tool_view::ToolView)> {
    items(entries)
        .filter_map(|i| match i {
            ConversationItem::ToolCall { id, tool } if tool.name == name => Some((id.as_str(), tool)),
            _ => None,
        })
        .last()
}

fn result<'a>(entries: &'a [ConversationEntry], id: &str) -> Option<(&'a str, bool)> {
    items(entries).find_map(|i| match i {
        ConversationItem::ToolResult { tool_use_id, output, is_error, .. } if tool_use_id == id => {
            Some((output.as_str(), *is_error))
        }
        _ => None,
    })
}

/// Waits for an answerable approval of `tool` and returns it.
async fn approval(cockpit: &Cockpit, tool: &str) -> PendingApproval {
    let view = cockpit
        .wait_session("conv", &format!("an approval of {tool}"), |s| {
            s.live.as_ref().and_then(|l| l.approval.as_ref()).is_some_and(|a| a.tool == tool && a.answerable)
        })
        .await;
    view.live.and_then(|l| l.approval).expect("approval")
}

async fn answer(cockpit: &Cockpit, pending: &PendingApproval, decision: &str, message: Option<&str>) {
    let mut body = serde_json::json!({"id": pending.id, "decision": decision});
    if let Some(m) = message {
        body["message"] = m.into();
    }
    let resp = cockpit.post("/api/sessions/conv/approval", body).await;
    assert_eq!(resp.status(), 202, "{decision}");
}

async fn send(cockpit: &Cockpit, text: &str) {
    cockpit
        .wait_session("conv", "the prompt to be free", |s| {
            s.live.as_ref().is_some_and(|l| l.activity == Activity::Idle)
        })
        .await;
    let resp = cockpit.post("/api/sessions/conv/send", serde_json::json!({"text": text})).await;
    assert_eq!(resp.status(), 202, "sending {text}");
}

#[tokio::test]
async fn a_conversation_with_tools_and_approvals_reads_live_and_resumes_without_repeats() {
    let api = StandIn::start().await.expect("stand-in");
    let dir = tempfile::tempdir().expect("tmp");
    let repo = git_repo(dir.path());
    let config = claude_config(&repo, ALPHA_ACCOUNT);
    let base = api.base_url();
    let env = [("ANTHROPIC_BASE_URL", base.as_str()), ("TOKEN_ALPHA", TOKEN), ("CLAUDE_CODE_MAX_RETRIES", "1")];
    let cockpit = Cockpit::start(dir.path(), &config, &env).await;
    let resp = cockpit
        .post("/api/sessions", serde_json::json!({"repo_name": "demo", "name": "conv", "prompt": "MARKDOWN please"}))
        .await;
    assert_eq!(resp.status(), 201);

    // A phone opens the conversation before anything is said, and reads it as it grows.
    let mut phone = ConversationReader::open(&cockpit, "conv", None).await;
    phone
        .until("the markdown answer", |e| {
            items(e).any(|i| matches!(i, ConversationItem::Assistant { text } if text.contains("```rust")))
        })
        .await;
    assert!(items(&phone.entries).any(|i| matches!(i, ConversationItem::User { text } if text == "MARKDOWN please")));
    phone.until("the Starting note", |e| has_note(e, "Starting", "alpha")).await;
    let after_first_turn = phone.cursor.clone().expect("a cursor");

    // A Bash call, allowed.
    send(&cockpit, "TOOLBASH now").await;
    let bash = approval(&cockpit, "Bash").await;
    assert_eq!(bash.view.as_ref().map(|v| v.summary.as_str()), Some("touch mockfile.txt"));
    answer(&cockpit, &bash, "allow", None).await;
    phone.until("the Bash result", |e| call(e, "Bash").is_some_and(|(id, _)| result(e, id).is_some())).await;
    let (id, tool) = call(&phone.entries, "Bash").expect("the Bash call");
    assert!(matches!(&tool.detail, ToolDetail::Command { command, description: Some(d) }
        if command == "touch mockfile.txt" && d == "Create an empty file"));
    assert_eq!(result(&phone.entries, id).map(|r| r.1), Some(false));
    // A note later than every line read waits a moment for the lines from before it.
    phone.until("the Approved note", |e| has_note(e, "Approved", "Allowed Bash (touch mockfile.txt)")).await;

    // A Write shows its content; an Edit its diff; a deny carries the person's words.
    send(&cockpit, "TOOLWRITE a file").await;
    let write = approval(&cockpit, "Write").await;
    assert!(
        matches!(&write.view.as_ref().expect("view").detail, ToolDetail::Content { content, lines: 1, .. } if content == "hello\n")
    );
    answer(&cockpit, &write, "allow", None).await;
    phone.until("the Write result", |e| call(e, "Write").is_some_and(|(id, _)| result(e, id).is_some())).await;
    send(&cockpit, "TOOLEDIT it").await;
    let edit = approval(&cockpit, "Edit").await;
    let ToolDetail::Diff { hunks, added: 1, removed: 1, .. } = &edit.view.as_ref().expect("view").detail else {
        panic!("an Edit's approval shows a diff: {edit:?}")
    };
    let lines: Vec<(DiffOp, &str)> = hunks[0].lines.iter().map(|l| (l.op, l.text.as_str())).collect();
    assert_eq!(lines, [(DiffOp::Remove, "hello"), (DiffOp::Add, "hello, world")]);
    answer(&cockpit, &edit, "deny", Some("keep it short")).await;
    phone
        .until("the refused Edit", |e| call(e, "Edit").is_some_and(|(id, _)| result(e, id).is_some_and(|r| r.1)))
        .await;
    phone.until("the Denied note", |e| has_note(e, "Denied", "“keep it short”")).await;
    let (edit_id, _) = call(&phone.entries, "Edit").expect("edit");
    assert!(result(&phone.entries, edit_id).expect("result").0.contains("keep it short"));

    // Always allow grants the CLI's own "don't ask again" choice for an edit, and no more.
    send(&cockpit, "TOOLEDIT it after all").await;
    let edit = approval(&cockpit, "Edit").await;
    assert_eq!(edit.always_allows.as_deref(), Some("accept edits for this session"), "{edit:?}");
    answer(&cockpit, &edit, "allow_always", None).await;
    phone.until("the Edit done", |e| edits_done(e) == 1).await;
    phone
        .until("the ApprovedAlways note", |e| {
            has_note(e, "ApprovedAlways", "from now on: accept edits for this session")
        })
        .await;
    send(&cockpit, "TOOLEDIT once more").await;
    phone.until("the next Edit, done without asking", |e| edits_done(e) == 2).await;
    let answers = items(&phone.entries).filter(|i| matches!(i, ConversationItem::Note { reason, .. } if reason.starts_with("Approved") || reason == "Denied")).count();
    assert_eq!(answers, 4, "Bash, Write, the denied Edit, the Edit allowed always; the last Edit asked nothing");
    phone.drain(std::time::Duration::from_millis(500)).await;
    assert!(phone.repeated.is_empty(), "no entry twice: {:?}", phone.repeated);
    assert_eq!(phone.restarts, 0);
    assert!(!items(&phone.entries).any(|i| matches!(i, ConversationItem::Unknown { .. })), "{:#?}", phone.entries);

    // Another phone reconnects from an earlier cursor: exactly what followed it, once.
    let mut later = ConversationReader::open(&cockpit, "conv", Some(&after_first_turn)).await;
    let all = phone.entries.clone();
    let start = all
        .iter()
        .position(|e| matches!(&e.item, ConversationItem::User { text } if text == "TOOLBASH now"))
        .expect("turn 2");
    let expected: Vec<&str> = all[start..].iter().map(|e| e.key.as_str()).collect();
    later.until("the rest of the conversation", |e| e.len() >= expected.len()).await;
    later.drain(std::time::Duration::from_millis(300)).await;
    let got: Vec<&str> = later.entries.iter().map(|e| e.key.as_str()).collect();
    let notes_before: Vec<&str> =
        all[..start].iter().filter(|e| e.key.starts_with('e')).map(|e| e.key.as_str()).collect();
    let got_transcript: Vec<&str> = got.iter().copied().filter(|k| !notes_before.contains(k)).collect();
    if got_transcript != expected {
        for (a, b) in all[start..].iter().zip(later.entries.iter()) {
            eprintln!("{:50} {:?} {:?} | {:50} {:?}", a.key, a.at, a.item, b.key, b.at);
        }
    }
    assert_eq!(got_transcript, expected, "resumed exactly after the cursor");
    assert!(later.repeated.is_empty());
    // From the last cursor: nothing at all.
    let mut caught_up = ConversationReader::open(&cockpit, "conv", phone.cursor.as_deref()).await;
    caught_up.drain(std::time::Duration::from_millis(300)).await;
    assert!(caught_up.entries.is_empty(), "{:#?}", caught_up.entries);

    // `COCKPIT_RECORD_TRANSCRIPT=<file>` keeps this run's transcript (the parser's recorded
    // fixtures under tests/fixtures/transcripts come from here, one per pinned CLI).
    if let Ok(keep) = std::env::var("COCKPIT_RECORD_TRANSCRIPT") {
        let id = cockpit.session("conv").await.status.claude_session_id.expect("conversation id");
        let file = cockpit_operator::conversation::transcript_file(&cockpit.data_dir.join("claude-home"), &id)
            .expect("the transcript");
        std::fs::copy(file, keep).expect("keeping the transcript");
    }

    // The worktree's changes: the files the tools made, with the edit in them.
    let changes: ChangesView =
        serde_json::from_value(cockpit.get_json("/api/sessions/conv/changes").await).expect("changes");
    assert_eq!(changes.branch.as_deref(), Some("cockpit/conv"));
    let hello = changes.files.iter().find(|f| f.path == "hello.txt").expect("hello.txt changed");
    assert_eq!((hello.status, hello.added, hello.removed), (FileStatus::Added, 1, 0));
    assert_eq!(hello.hunks[0].lines[0].text, "hello, world, world", "both edits, the second one unasked");
    assert!(changes.files.iter().any(|f| f.path == "mockfile.txt" && f.status == FileStatus::Added));

    // Bad cursors are refused and change nothing.
    for bad in ["x", "1.2.3.4", "-1.0"] {
        let resp = cockpit
            .http
            .get(cockpit.url(&format!("/api/sessions/conv/conversation?after={bad}")))
            .send()
            .await
            .expect("GET");
        assert_eq!(resp.status(), 400, "{bad}");
    }
    let resp = cockpit
        .http
        .get(cockpit.url("/api/sessions/conv/conversation"))
        .header("last-event-id", "not-a-cursor")
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status(), 400);
    let resp = cockpit.http.get(cockpit.url("/api/sessions/nope/conversation")).send().await.expect("GET");
    assert_eq!(resp.status(), 404);
}
