//! What the gateway's session WebSocket relays besides output: a one-shot task's events, live
//! and to clients that join late; and a worker that takes over a session after a rotation
//! starts at the size the session's clients set.

use crate::support::harness;

use std::path::Path;

use cockpit_api::frames::ServerFrame;
use cockpit_api::oneshot::OneshotEvent;
use cockpit_api::{Activity, SessionPhase};
use futures_util::{SinkExt, StreamExt};
use harness::*;
use tokio_tungstenite::tungstenite::Message;

/// Reads frames until `pred` holds for the one-shot events seen, collecting them.
async fn read_events(ws: &mut Ws, events: &mut Vec<OneshotEvent>, what: &str, pred: impl Fn(&[OneshotEvent]) -> bool) {
    let deadline = tokio::time::Instant::now() + T;
    while !pred(events) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                if let Ok(ServerFrame::Oneshot { event }) = serde_json::from_str::<ServerFrame>(&text) {
                    events.push(event);
                }
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("no {what}: {other:?}; events so far: {events:#?}"),
        }
    }
}

fn is_result(e: &OneshotEvent) -> bool {
    matches!(e, OneshotEvent::Result { .. })
}

#[tokio::test]
async fn one_shot_events_reach_gateway_clients_live_and_late_ones_get_them_all() {
    let dir = tempfile::tempdir().expect("tmp");
    // A one-shot CLI that waits for the test's go, then prints a real recorded stream-json run.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../worker/tests/fixtures/stream-json/normal.jsonl");
    let go = dir.path().join("go");
    let cli = script(
        dir.path(),
        "oneshot-cli.sh",
        &format!("while [ ! -e '{}' ]; do sleep 0.05; done\ncat '{}'\nsleep 1\n", go.display(), fixture.display()),
    );
    let cockpit =
        Cockpit::start(dir.path(), &one_repo_config(dir.path(), &cli), &[("TOKEN_ALPHA", "sk-ant-oat01-relay-test")])
            .await;
    let resp = cockpit
        .post(
            "/api/sessions",
            serde_json::json!({"repo_name": "demo", "name": "task", "mode": "Oneshot", "prompt": "hello stream"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    cockpit.wait_session("task", "a running worker", |s| s.live.is_some()).await;

    let mut early = connect(&cockpit.ws_url("task", None)).await;
    std::fs::write(&go, b"").expect("go");
    let mut live = Vec::new();
    read_events(&mut early, &mut live, "the run's events", |e| e.iter().any(is_result)).await;
    assert!(matches!(live.first(), Some(OneshotEvent::Init { .. })), "{live:#?}");
    let text = serde_json::to_string(&live).expect("json");
    assert!(text.contains("Stand-in reply #1"), "the assistant's text came through: {text}");

    // A client that connects after the run gets the same events, once each.
    let mut late = connect(&cockpit.ws_url("task", None)).await;
    let mut replayed = Vec::new();
    read_events(&mut late, &mut replayed, "the held events", |e| e.iter().any(is_result)).await;
    assert_eq!(replayed, live, "the same events in the same order");

    let done = cockpit.wait_session("task", "the task to end", |s| s.status.phase.is_terminal()).await;
    assert_eq!(done.status.phase, SessionPhase::Succeeded, "{done:#?}");
}

#[tokio::test]
async fn a_worker_that_takes_over_after_a_rotation_keeps_the_size_the_client_set() {
    let dir = tempfile::tempdir().expect("tmp");
    let go = dir.path().join("limit");
    // On account alpha: works, then hits its session limit (the CLI's limit dialog)
    // once the test says so. On beta:
    // reports the terminal size it was given.
    let cli = script(
        dir.path(),
        "limited-cli.sh",
        &format!(
            r#"token="${{CLAUDE_CODE_OAUTH_TOKEN:-$ANTHROPIC_API_KEY}}"
if [ "$token" = "sk-ant-oat01-alpha" ]; then
  echo "✻ Thinking… (esc to interrupt)"
  while [ ! -e '{go}' ]; do sleep 0.05; done
  printf '\033[2J\033[H> hi\n  ⎿  You'"'"'ve hit your session limit · resets 11:29pm (UTC)\n\n❯ /rate-limit-options\n────\n  What do you want to do?\n\n  ❯ 1. Stop and wait for limit to reset\n    2. Upgrade your plan\n'
  sleep 300
fi
echo "taken over at $(stty size)"
sleep 300
"#,
            go = go.display()
        ),
    );
    let repo = git_repo(dir.path());
    let config = format!(
        "repos:\n  - name: demo\n    path: {}\naccounts:\n  - name: alpha\n    tokenEnv: TOKEN_ALPHA\n    priority: 2\n  - name: beta\n    tokenEnv: TOKEN_BETA\n    priority: 1\nworker:\n  command: {}\n  bin: {}\n",
        repo.display(),
        cli.display(),
        worker_bin().display()
    );
    let cockpit = Cockpit::start(
        dir.path(),
        &config,
        &[("TOKEN_ALPHA", "sk-ant-oat01-alpha"), ("TOKEN_BETA", "sk-ant-oat01-beta")],
    )
    .await;
    let resp = cockpit.post("/api/sessions", serde_json::json!({"repo_name": "demo", "name": "turns"})).await;
    assert_eq!(resp.status(), 201);
    let first = cockpit
        .wait_session("turns", "working on alpha", |s| s.live.as_ref().is_some_and(|l| l.activity == Activity::Working))
        .await;
    assert_eq!(first.status.account.as_deref(), Some("alpha"));

    // The phone's terminal is 61 × 23.
    let mut ws = connect(&cockpit.ws_url("turns", None)).await;
    let resize = serde_json::json!({"type": "resize", "cols": 61, "rows": 23}).to_string();
    ws.send(Message::Text(resize.into())).await.expect("resize");
    let mut seen = Seen::default();
    read_until(&mut ws, &mut seen, "the new size", |s| s.states.iter().any(|st| (st.cols, st.rows) == (61, 23))).await;

    std::fs::write(&go, b"").expect("limit");
    let moved = cockpit
        .wait_session("turns", "the session on beta", |s| {
            s.status.account.as_deref() == Some("beta") && s.live.as_ref().is_some_and(|l| l.end_offset > 0)
        })
        .await;
    assert_eq!((moved.live.as_ref().map(|l| (l.cols, l.rows))), Some((61, 23)), "{moved:#?}");
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let screen = cockpit.screen("turns").await;
        if screen.contains("taken over at 23 61") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the new worker's PTY size: {screen}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// True once the end marker arrived (looks at the tail only: the output is megabytes long).
fn ends_with_marker(seen: &Seen) -> bool {
    contains(&seen.output[seen.output.len().saturating_sub(4096)..], b"END-MARK")
}

/// A control plane running one session, `flood`, whose CLI prints `lines` numbered lines of
/// 64 bytes at once, then `END-MARK`.
async fn start_flood(dir: &Path, lines: u32) -> Cockpit {
    let cli = script(
        dir,
        "flood-cli.sh",
        &format!(
            "[ \"$1\" = --version ] && {{ echo 1.0.0; exit 0; }}\nseq -f 'line %09g of the flood, padded to sixty-four bytes or so.....' 1 {lines}\necho END-MARK\nsleep 300\n"
        ),
    );
    let cockpit = Cockpit::start(dir, &one_repo_config(dir, &cli), &[("TOKEN_ALPHA", "sk-ant-oat01-flood")]).await;
    let resp = cockpit.post("/api/sessions", serde_json::json!({"repo_name": "demo", "name": "flood"})).await;
    assert_eq!(resp.status(), 201);
    cockpit
}

/// A client that joins the flood session now (a snapshot first, then live output).
async fn join(cockpit: &Cockpit) -> (Ws, Seen) {
    let mut ws = connect(&cockpit.ws_url("flood", None)).await;
    let mut seen = Seen::default();
    read_until(&mut ws, &mut seen, "the first frames", |s| s.snapshots.len() == 1).await;
    (ws, seen)
}

#[tokio::test]
async fn a_client_that_stops_reading_is_repainted_instead_of_sent_everything_it_missed() {
    let dir = tempfile::tempdir().expect("tmp");
    // 7.5 MB of numbered lines, then a marker: far more than the kernel buffers for a client
    // that does not read, within what the worker keeps (8 MiB), so the mirror gets every byte.
    let cockpit = start_flood(dir.path(), 110_000).await;

    // Joins at once (a snapshot, then live), then reads nothing until the flood is over.
    let (mut slow, mut seen) = join(&cockpit).await;
    let view = cockpit
        .wait_session("flood", "the flood to end", |s| s.live.as_ref().is_some_and(|l| l.end_offset > 7_000_000))
        .await;
    cockpit.wait_screen("flood", "END-MARK", &format!("the flood did not end: {view:#?}")).await;
    let end = cockpit.session("flood").await.live.map(|l| l.end_offset).expect("live");
    read_until(&mut slow, &mut seen, "the end of the flood", |s| s.next_offset >= end).await;
    assert!(seen.snapshots.len() >= 2, "the slow client was repainted instead of sent everything it missed");
    assert!(seen.output.len() < 7_000_000, "it skipped what it missed: got {} bytes", seen.output.len());
}

#[tokio::test]
async fn a_client_replaying_from_zero_gets_every_byte_of_a_burst_from_the_database() {
    let dir = tempfile::tempdir().expect("tmp");
    // 6 MB at once: far more than the gateway keeps in memory (64 KiB), within what the worker
    // keeps (8 MiB) while the control plane writes it to the database.
    let cli = script(
        dir.path(),
        "burst-cli.sh",
        "[ \"$1\" = --version ] && { echo 1.0.0; exit 0; }\nseq -f 'line %09g of the burst, padded to sixty-four bytes or so.....' 1 90000\necho END-MARK\nsleep 300\n",
    );
    let cockpit =
        Cockpit::start(dir.path(), &one_repo_config(dir.path(), &cli), &[("TOKEN_ALPHA", "sk-ant-oat01-burst")]).await;
    let resp = cockpit.post("/api/sessions", serde_json::json!({"repo_name": "demo", "name": "burst"})).await;
    assert_eq!(resp.status(), 201);
    cockpit.wait_screen("burst", "END-MARK", "the burst did not end").await;
    let mut replay = connect(&cockpit.ws_url("burst", Some(0))).await;
    let mut all = Seen::default();
    read_until(&mut replay, &mut all, "the whole burst", ends_with_marker).await;
    assert_eq!(all.snapshots.len(), 0);
    assert_eq!(all.first_offset, Some(0));
    let text = String::from_utf8_lossy(&all.output);
    let numbers: Vec<u64> = text.lines().filter_map(|l| l.strip_prefix("line ")?.get(..9)?.parse().ok()).collect();
    assert_eq!(numbers.len(), 90_000, "every line once");
    assert!(numbers.iter().enumerate().all(|(i, n)| *n == i as u64 + 1), "in order");
}

#[tokio::test]
async fn a_flood_larger_than_the_workers_ring_is_repainted_and_followed_at_full_pace() {
    let dir = tempfile::tempdir().expect("tmp");
    // 40 MB at once: five times what the worker keeps (8 MiB), faster than the database
    // takes it. The mirror is repainted where the worker no longer held its bytes and must
    // keep up (once it crawled at ~0.6 MB/s after such a repaint).
    let cockpit = start_flood(dir.path(), 620_000).await;
    let (mut slow, mut seen) = join(&cockpit).await;

    // The flood takes the worker ~2 s here; a mirror at database pace would take a minute.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut screen = String::new();
    while !screen.contains("END-MARK") {
        assert!(tokio::time::Instant::now() < deadline, "the mirror fell behind the flood; its screen: {screen}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        screen = cockpit.screen("flood").await;
    }
    assert!(screen.contains("line 000620000"), "the last line on the mirrored screen: {screen}");

    // The client that read nothing catches up with repaints, and a replay from 0 is whole:
    // every persisted byte, in order, up to the marker.
    let mut replay = connect(&cockpit.ws_url("flood", Some(0))).await;
    let mut all = Seen::default();
    read_until(&mut replay, &mut all, "the whole persisted flood", ends_with_marker).await;
    assert_eq!(all.snapshots.len(), 0);
    assert_eq!(all.first_offset, Some(0));
    assert_eq!(all.output.len() as u64, all.next_offset, "no gap");
    read_until(&mut slow, &mut seen, "the end of the flood", |s| s.next_offset >= all.next_offset).await;
    assert!(seen.snapshots.len() >= 2, "the slow client was repainted");
    let text = String::from_utf8_lossy(&all.output);
    let numbers: Vec<u64> = text.lines().filter_map(|l| l.strip_prefix("line ")?.get(..9)?.parse().ok()).collect();
    assert!(numbers.len() > 10_000, "the replay holds the flood's lines: {}", numbers.len());
    assert_eq!(numbers.first(), Some(&1), "from the first line");
}
