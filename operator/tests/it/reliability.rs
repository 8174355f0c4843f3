//! Crashes: the control plane killed with SIGKILL while a client streams, and a worker killed
//! with SIGKILL. Nothing the worker printed is lost.

use crate::support::harness;

use std::path::Path;

use cockpit_api::{Activity, SessionPhase};
use futures_util::StreamExt;
use harness::*;

/// A stand-in CLI that prints numbered lines for a few seconds, then a marker, then waits.
fn config(dir: &Path) -> String {
    script_config(
        dir,
        "stream-cli.sh",
        "for i in $(seq 1 3000); do echo \"row $i of the stream $RANDOM\"; sleep 0.001; done\necho END-MARK\nsleep 300\n",
    )
}

#[tokio::test]
async fn a_client_resumes_after_the_control_plane_is_killed_and_ends_with_the_workers_bytes() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cockpit = Cockpit::start(dir.path(), &config(dir.path()), &[("TOKEN_ALPHA", "sk-ant-oat01-x")]).await;
    let view = cockpit.start_session("flow").await;
    let endpoint = view.status.worker_endpoint.clone().expect("endpoint");

    let mut ws = connect(&cockpit.ws_url("flow", Some(0))).await;
    let mut seen = Seen::default();
    read_until(&mut ws, &mut seen, "some rows", |s| contains(&s.output, b"row 300 ")).await;

    cockpit.kill9().await;
    // The client's connection breaks.
    while let Some(Ok(msg)) = tokio::time::timeout(T, ws.next()).await.expect("the connection ends") {
        seen.apply(msg);
    }
    let resume_at = seen.next_offset;
    cockpit.restart().await;
    let mut ws = connect(&cockpit.ws_url("flow", Some(resume_at))).await;
    read_until(&mut ws, &mut seen, "the rest of the stream", |s| contains(&s.output, b"END-MARK")).await;
    assert_eq!(seen.snapshots.len(), 0, "exact replay, no repaint");

    // The worker's own record of its output, straight from it.
    let id = cockpit.session("flow").await.id;
    let mut direct = cockpit.connect_worker(&id, &endpoint, 0).await;
    let mut truth = Seen::default();
    read_until(&mut direct, &mut truth, "the worker's bytes", |s| contains(&s.output, b"END-MARK")).await;
    let end = truth.output.iter().rposition(|_| true).map_or(0, |i| i + 1);
    let mine = &seen.output[..seen.output.len().min(end)];
    assert_eq!(seen.first_offset, Some(0));
    assert_eq!(mine.len(), truth.output.len(), "same length");
    assert!(mine == truth.output.as_slice(), "the client ends with exactly the worker's bytes");
    assert!(contains(&seen.output, b"row 3000 "));
    let after = cockpit.session("flow").await;
    assert_eq!(after.status.phase, SessionPhase::Running, "the worker was re-adopted");
}

#[tokio::test]
async fn a_killed_worker_fails_its_session_and_keeps_the_output() {
    let dir = tempfile::tempdir().expect("tmp");
    let cockpit = Cockpit::start(dir.path(), &config(dir.path()), &[("TOKEN_ALPHA", "sk-ant-oat01-x")]).await;
    cockpit.start_session("doomed").await;
    cockpit.wait_screen("doomed", "END-MARK", "no output").await;
    let store = cockpit.store().await;
    let id = cockpit.session("doomed").await.id;
    let worker = store.get_worker(&id).await.expect("read").expect("a worker row");
    // SAFETY: kill(2) on the worker's pid.
    unsafe { libc::kill(worker.pid as i32, libc::SIGKILL) };
    let failed =
        cockpit.wait_session("doomed", "the session to fail", |s| s.status.phase == SessionPhase::Failed).await;
    assert!(failed.status.message.as_deref().is_some_and(|m| !m.is_empty()), "{failed:?}");
    assert!(failed.status.finished_at.is_some());
    // What is live agrees with the status: the worker is gone, not starting.
    let view = cockpit
        .wait_session("doomed", "live to say Exited", |s| {
            s.live.as_ref().is_none_or(|l| l.activity == Activity::Exited)
        })
        .await;
    assert!(view.live.as_ref().is_none_or(|l| l.approval.is_none()), "{:?}", view.live);
    // Output kept: screen and replay.
    assert!(cockpit.screen("doomed").await.contains("END-MARK"));
    let mut ws = connect(&cockpit.ws_url("doomed", Some(0))).await;
    let mut seen = Seen::default();
    read_until(&mut ws, &mut seen, "the stored output", |s| contains(&s.output, b"END-MARK")).await;
    assert_eq!(seen.hello.as_ref().map(|h| h.activity), Some(Activity::Exited), "the hello says the worker is gone");
    assert!(contains(&seen.output, b"row 1 of the stream"));
}

#[tokio::test]
async fn sigterm_with_a_phone_attached_stops_within_the_bound_and_says_restarting() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cockpit = Cockpit::start(dir.path(), &config(dir.path()), &[("TOKEN_ALPHA", "sk-ant-oat01-x")]).await;
    cockpit.start_session("watched").await;
    let mut ws = connect(&cockpit.ws_url("watched", Some(0))).await;
    let mut seen = Seen::default();
    read_until(&mut ws, &mut seen, "some rows", |s| contains(&s.output, b"row 10 ")).await;
    let mut events = cockpit.http.get(cockpit.url("/api/events")).send().await.expect("the change stream");
    let _ = tokio::time::timeout(T, events.chunk()).await.expect("the ready event");

    let asked = std::time::Instant::now();
    let status = cockpit.stop().await;
    let took = asked.elapsed();
    assert!(status.success(), "a clean exit: {status:?}");
    // The default bound is 10 s (the phone, the change stream and a worker all attached).
    assert!(took < std::time::Duration::from_secs(12), "stopped after {took:?}");
    let close = loop {
        match tokio::time::timeout(T, ws.next()).await.expect("the socket ends") {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame))) => break frame,
            Some(Ok(other)) => seen.apply(other),
            other => panic!("no close frame: {other:?}"),
        }
    };
    let close = close.expect("a close frame with a code");
    assert_eq!(u16::from(close.code), 1012, "restarting");
    assert_eq!(close.reason.as_str(), "restarting");
    let rest = tokio::time::timeout(T, async { while let Ok(Some(_)) = events.chunk().await {} }).await;
    assert!(rest.is_ok(), "the change stream ended too");

    let store = cockpit.store().await;
    let id =
        store.list_sessions(false).await.expect("sessions").into_iter().find(|r| r.name == "watched").expect("row");
    assert_eq!(id.status.phase, SessionPhase::Pending, "paused, to resume on the next start");
}

/// After a crash (and, say, a reboot), the pid recorded for a worker belongs to another
/// process: it is not adopted, and deleting the session never signals it.
#[tokio::test]
async fn a_stranger_holding_a_recorded_workers_pid_is_never_adopted_or_signalled() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cockpit = Cockpit::start(dir.path(), &config(dir.path()), &[("TOKEN_ALPHA", "sk-ant-oat01-x")]).await;
    let id = cockpit.start_session("reused").await.id;
    cockpit.kill9().await;
    let store = cockpit.store().await;
    let mut row = store.get_worker(&id).await.expect("read").expect("the worker's record");
    // SAFETY: kill(2) on the worker's own process group.
    unsafe { libc::kill(-(row.pid as i32), libc::SIGKILL) };
    // The stranger, and the record pointing at it.
    let mut stranger = tokio::process::Command::new("sleep").arg("300").kill_on_drop(true).spawn().expect("sleep");
    row.pid = i64::from(stranger.id().expect("pid"));
    row.started_at = chrono::Utc::now() - chrono::Duration::minutes(10);
    store.set_worker(&id, &row).await.expect("record");
    drop(store);

    cockpit.restart().await;
    let gone =
        cockpit.wait_session("reused", "not running on the stranger", |s| s.status.worker_endpoint.is_none()).await;
    assert_ne!(gone.status.phase, SessionPhase::Running, "{:?}", gone.status);
    let resp = cockpit.http.delete(cockpit.url("/api/sessions/reused")).send().await.expect("delete");
    assert!(resp.status().is_success(), "{}", resp.status());
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(stranger.try_wait().expect("status").is_none(), "the stranger was signalled");
}

/// Every frame a client got, by kind, at its offsets.
#[derive(Default)]
struct Segments {
    output: Vec<(u64, Vec<u8>)>,
    snapshots: Vec<u64>,
}

impl Segments {
    fn apply(&mut self, msg: tokio_tungstenite::tungstenite::Message) {
        use cockpit_api::frames::{BinaryKind, decode_binary};
        if let tokio_tungstenite::tungstenite::Message::Binary(bytes) = msg {
            let frame = decode_binary(&bytes).expect("binary frame");
            match frame.kind {
                BinaryKind::Output => self.output.push((frame.offset, frame.payload.to_vec())),
                BinaryKind::Snapshot => self.snapshots.push(frame.offset),
            }
        }
    }

    fn received(&self) -> u64 {
        self.output.iter().map(|(_, b)| b.len() as u64).sum()
    }

    fn end(&self) -> u64 {
        self.output.last().map_or(0, |(o, b)| o + b.len() as u64)
    }

    /// The byte at each offset this client holds.
    fn bytes(&self) -> std::collections::BTreeMap<u64, u8> {
        let mut map = std::collections::BTreeMap::new();
        for (offset, bytes) in &self.output {
            for (i, b) in bytes.iter().enumerate() {
                map.insert(offset + i as u64, *b);
            }
        }
        map
    }
}

/// `kill -9` of the control plane during a flood, with the worker's ring too small to hold what
/// it printed meanwhile: the bytes a client already held can no longer be recovered, and no
/// offset it holds may come to name other bytes. The resumed client is repainted (a snapshot),
/// and a new client replaying from 0 sees the same bytes at the same offsets, then a snapshot.
#[tokio::test]
async fn offsets_a_client_holds_never_name_other_bytes_after_a_crash_that_lost_output() {
    let dir = tempfile::tempdir().expect("tmp");
    let cli = script(dir.path(), "flood.sh", "seq -f 'line %012.0f' 1 1000000000\nsleep 300\n");
    let config = one_repo_config(dir.path(), &cli).replace("worker:\n", "worker:\n  ringBytes: 65536\n");
    let mut cockpit = Cockpit::start(dir.path(), &config, &[("TOKEN_ALPHA", "sk-ant-oat01-x")]).await;
    cockpit.start_session("flood").await;

    // Some output stored first.
    let deadline = tokio::time::Instant::now() + T;
    while cockpit.store().await.output_end(&cockpit.session("flood").await.id).await.expect("end") < 4 << 20 {
        assert!(tokio::time::Instant::now() < deadline, "the flood was not stored");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The database stalls (another process holds its write lock): the control plane goes on
    // sending a client what it has not written back yet, then dies.
    use sqlx::Connection;
    let db = cockpit.data_dir.join("cockpit.db");
    let mut blocker = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display())).await.expect("open db");
    sqlx::raw_sql("BEGIN EXCLUSIVE").execute(&mut blocker).await.expect("lock the database");
    let stored = {
        let read = sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(end_offset), 0) FROM output")
            .fetch_one(&mut blocker)
            .await
            .expect("stored end");
        u64::try_from(read).unwrap_or(0)
    };
    let mut ws = connect(&cockpit.ws_url("flood", Some(stored))).await;
    let mut before = Segments::default();
    while before.end() < stored + (256 << 10) {
        match tokio::time::timeout(T, ws.next()).await {
            Ok(Some(Ok(msg))) => before.apply(msg),
            other => panic!("the flood stopped: {other:?}"),
        }
    }
    cockpit.kill9().await;
    sqlx::raw_sql("ROLLBACK").execute(&mut blocker).await.expect("unlock");
    drop(blocker);
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(T, ws.next()).await {
        before.apply(msg);
    }
    let held = before.end();
    // The worker floods on alone: its 64 KiB ring moves far past what anyone read.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    cockpit.restart().await;

    // The client resumes where it was: it is told plainly (a snapshot), never sent other bytes
    // at offsets it holds.
    let mut ws = connect(&cockpit.ws_url("flood", Some(held))).await;
    let mut resumed = Segments::default();
    while resumed.snapshots.is_empty() && resumed.received() < 1 << 20 {
        match tokio::time::timeout(T, ws.next()).await {
            Ok(Some(Ok(msg))) => resumed.apply(msg),
            other => panic!("the resumed stream stopped: {other:?}"),
        }
    }
    let first_output = resumed.output.first().map(|(o, _)| *o);
    assert!(
        !resumed.snapshots.is_empty() || first_output == Some(held),
        "resumed at {held}: a snapshot, or exactly the next bytes (got output at {first_output:?})"
    );
    let held_bytes = before.bytes();
    for (offset, bytes) in &resumed.output {
        for (i, b) in bytes.iter().enumerate() {
            if let Some(mine) = held_bytes.get(&(offset + i as u64)) {
                assert_eq!(mine, b, "offset {} named another byte after the restart", offset + i as u64);
            }
        }
    }

    // A new client replaying from 0 gets the same bytes at every offset the first one held.
    let mut ws = connect(&cockpit.ws_url("flood", Some(0))).await;
    let mut fresh = Segments::default();
    while fresh.snapshots.is_empty() && fresh.end() < held {
        match tokio::time::timeout(T, ws.next()).await {
            Ok(Some(Ok(msg))) => fresh.apply(msg),
            other => panic!("the replay stopped: {other:?}"),
        }
    }
    let mut compared = 0u64;
    for (offset, bytes) in &fresh.output {
        for (i, b) in bytes.iter().enumerate() {
            if let Some(mine) = held_bytes.get(&(offset + i as u64)) {
                assert_eq!(mine, b, "offset {} names another byte for a new client", offset + i as u64);
                compared += 1;
            }
        }
    }
    assert_eq!(fresh.output.first().map(|(o, _)| *o), Some(0), "the replay starts at 0");
    assert_eq!(fresh.end(), stored, "the replay holds exactly what was stored…");
    assert_eq!(fresh.snapshots.len(), 1, "… and then is repainted: the offsets after it were lost");
    assert!(held > stored, "the client held bytes the database never got ({held} > {stored})");
    eprintln!(
        "the client held {} bytes beyond the database ({stored}..{held}); replayed and compared: {compared}; \
         snapshots: resumed at {:?}, replay at {:?}",
        held - stored,
        resumed.snapshots,
        fresh.snapshots,
    );
}
