//! Fault injection, rerunnable (`cargo test -p cockpit-operator --test it -- faults::`; the crash
//! tests are in `reliability.rs`):
//!
//! - a full disk under the SQLite store: a real tmpfs of a few MiB holds the database; the
//!   test fills it, writes through every write path while it is full, gives the space back and
//!   checks that every write path works again (no pooled connection stays poisoned), and that
//!   the store (and `/api/health`) says it is degraded while writes fail, and healthy after;
//! - a PostgreSQL server that goes away and comes back while a session streams: nothing the
//!   worker printed is lost or changed, and the service is back by itself.
//!
//! Needs to mount a tmpfs (the test command runs as root, as it installs packages).

use crate::support::harness;
use crate::support::pg;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use cockpit_api::{ClaudeSessionStatus, SessionPhase};
use cockpit_operator::store::{SessionRow, Store};
use serde_json::json;

/// A tmpfs mounted for the test's life.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().expect("temp dir");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(status.success(), "mounting a tmpfs needs root (the test command runs as root): {status}");
        Tmpfs { dir }
    }

    #[allow(dead_code)]
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// Fills the file system with a filler file until it is full; returns the filler.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let filler = dir.join("filler");
    let mut file = std::fs::File::create(&filler).expect("filler");
    let block = vec![0xa5u8; 64 * 1024];
    loop {
        match file.write(&block) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    // Whatever is left, byte by byte.
    while file.write(&[0]).is_ok_and(|n| n == 1) {}
    let _ = file.sync_all();
    filler
}

fn session(name: &str) -> SessionRow {
    crate::support::session_row(&uuid::Uuid::new_v4().to_string(), name)
}

/// `/api/health` once `done` holds for it (polled every 100 ms, for at most `harness::T`).
async fn wait_health(
    cockpit: &harness::Cockpit,
    what: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + harness::T;
    loop {
        let health = cockpit.get_json("/api/health").await;
        if done(&health) {
            return health;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}: {health}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One round of every write path; the errors it met.
async fn write_everything(store: &Store, id: &str, offset: &mut i64, round: usize, bytes: usize) -> Vec<String> {
    let id = &cockpit_api::ids::SessionId::from(id);
    let mut errors = Vec::new();
    let chunk = vec![b'x'; bytes];
    match store.append_output(id, *offset, &chunk).await {
        Ok(end) => *offset = end,
        Err(e) => errors.push(format!("append_output: {e}")),
    }
    if let Err(e) = store.append_event(id, Utc::now(), "event", &json!({ "round": round })).await {
        errors.push(format!("append_event: {e}"));
    }
    let status = ClaudeSessionStatus { phase: SessionPhase::Running, rotations: round as u32, ..Default::default() };
    if let Err(e) = store.update_status(id, &status, Utc::now()).await {
        errors.push(format!("update_status: {e}"));
    }
    if let Err(e) = store.upsert_account("alpha", round as i32, None).await {
        errors.push(format!("upsert_account: {e}"));
    }
    if let Err(e) = store.add_usage("alpha", 1, 10, 10, 0.01).await {
        errors.push(format!("add_usage: {e}"));
    }
    errors
}

#[tokio::test]
async fn every_write_path_recovers_once_space_returns_and_health_says_degraded_meanwhile() {
    let fs = Tmpfs::mount("4m");
    let url = format!("sqlite://{}/state/cockpit.db", fs.path().display());
    let store = Store::connect(&url).await.expect("connect");
    let row = session("full");
    store.insert_session(&row).await.expect("insert");
    store.upsert_account("alpha", 0, None).await.expect("account");
    assert_eq!(store.write_failure(), None, "healthy at start");

    let mut offset = 0i64;
    // Some output first, then the disk fills up.
    for round in 0..8 {
        assert_eq!(write_everything(&store, &row.id, &mut offset, round, 16 * 1024).await, Vec::<String>::new());
    }
    let filler = fill(fs.path());
    let mut failed = 0;
    for round in 8..80 {
        failed += write_everything(&store, &row.id, &mut offset, round, 16 * 1024).await.len();
    }
    assert!(failed > 0, "the full disk made writes fail");
    let degraded = store.write_failure().expect("the store says its writes fail");
    assert!(degraded.contains("full") || degraded.contains("disk"), "{degraded}");

    // Space comes back: every write path works again, on every pooled connection.
    std::fs::remove_file(&filler).expect("remove filler");
    let mut after = Vec::new();
    for round in 80..160 {
        after.extend(write_everything(&store, &row.id, &mut offset, round, 1024).await);
    }
    assert_eq!(after, Vec::<String>::new(), "every write succeeds once space is back");
    assert_eq!(store.write_failure(), None, "healthy again");

    // Nothing written twice or lost: the stored output is contiguous up to its end.
    let end = store.output_end(&row.id).await.expect("end");
    assert_eq!(end, offset);
    let all = store.read_output(&row.id, 0, usize::MAX).await.expect("read");
    assert_eq!(all.len() as i64, end);
    assert!(all.iter().all(|b| *b == b'x'));
}

/// `cockpit serve` with its data directory on a full disk: `/api/health` says the database
/// refuses writes while it does, and `ok` once space is back, with the output stored again.
#[tokio::test]
async fn health_reports_a_full_disk_while_it_lasts() {
    let fs = Tmpfs::mount("16m");
    let cli = harness::script(
        fs.path(),
        "cli",
        "i=0; while true; do i=$((i+1)); printf 'line %06d\\n' \"$i\"; sleep 0.02; done\n",
    );
    let config = harness::one_repo_config(fs.path(), &cli);
    let cockpit = harness::Cockpit::start(fs.path(), &config, &[("TOKEN_ALPHA", "sk-ant-oat01-disk")]).await;
    let session = cockpit.start_session("disk").await;
    let health = cockpit.get_json("/api/health").await;
    assert!(!health["hints"].to_string().contains("refuses writes"), "healthy before: {health}");

    let filler = fill(fs.path());
    let degraded =
        wait_health(&cockpit, "health to say the disk is full", |h| h["hints"].to_string().contains("refuses writes"))
            .await;
    assert_eq!(degraded["status"], "degraded");
    assert!(degraded["hints"].to_string().contains("full"), "{degraded}");

    std::fs::remove_file(&filler).expect("space back");
    wait_health(&cockpit, "health to recover", |h| !h["hints"].to_string().contains("refuses writes")).await;
    // The output is stored again: the stored end moves on.
    let store = cockpit.store().await;
    let before = store.output_end(&session.id).await.expect("end");
    let deadline = tokio::time::Instant::now() + harness::T;
    while store.output_end(&session.id).await.expect("end") <= before {
        assert!(tokio::time::Instant::now() < deadline, "no output stored after the disk recovered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The PostgreSQL server stops for a while during a session's output and starts again:
/// `/api/health` says so meanwhile, the control plane reconnects by itself, and a client
/// replaying from 0 afterwards gets exactly the worker's bytes.
#[tokio::test]
async fn a_database_that_goes_away_and_comes_back_loses_no_output() {
    use futures_util::StreamExt;
    let mut server = pg::start().await;
    let url = server.create_database("cockpit").await;
    let dir = tempfile::tempdir().expect("tmp");
    let cli = harness::script(
        dir.path(),
        "rows.sh",
        "for i in $(seq 1 3000); do echo \"row $i of the stream\"; sleep 0.003; done\necho END-MARK\nsleep 300\n",
    );
    let config = harness::one_repo_config(dir.path(), &cli);
    let cockpit = harness::Cockpit::start(
        dir.path(),
        &config,
        &[("TOKEN_ALPHA", "sk-ant-oat01-outage"), ("DATABASE_URL", url.as_str())],
    )
    .await;
    let session = cockpit.start_session("outage").await;
    let mut ws = harness::connect(&cockpit.ws_url("outage", Some(0))).await;
    let mut seen = harness::Seen::default();
    harness::read_until(&mut ws, &mut seen, "some rows", |s| harness::contains(&s.output, b"row 100 ")).await;

    let outage = std::time::Instant::now();
    server.stop();
    let deadline = tokio::time::Instant::now() + harness::T;
    loop {
        let health = cockpit.get_json("/api/health").await;
        if health["status"] == "degraded" && health["hints"].to_string().contains("database") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "health never noticed the outage: {health}");
        // The phone keeps streaming meanwhile.
        if let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_millis(100), ws.next()).await {
            seen.apply(msg);
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    server.start_again().await;
    wait_health(&cockpit, "the control plane to recover", |h| !h["hints"].to_string().contains("database")).await;
    let recovered = outage.elapsed();
    harness::read_until(&mut ws, &mut seen, "the rest of the stream", |s| harness::contains(&s.output, b"END-MARK"))
        .await;

    // Every row, once, in order, on the live client; and the database holds exactly its bytes.
    let text = String::from_utf8_lossy(&seen.output).replace('\r', "");
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("row ")).collect();
    let expected: Vec<String> = (1..=3000).map(|i| format!("row {i} of the stream")).collect();
    assert_eq!(rows.len(), expected.len(), "every row once");
    assert!(rows.iter().zip(&expected).all(|(a, b)| a == b), "in order, unchanged");
    let end = seen.output.len();
    let store = Store::connect(&url).await.expect("the database");
    let deadline = tokio::time::Instant::now() + harness::T;
    while store.output_end(&session.id).await.unwrap_or(0) < end as i64 {
        assert!(tokio::time::Instant::now() < deadline, "the output never reached the database");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stored = store.read_output(&session.id, 0, end).await.expect("read");
    assert!(stored == seen.output, "the database holds exactly the bytes the client saw live");
    eprintln!("database outage survived: {end} bytes compared, back {recovered:?} after the stop");
}
