//! The registry of session output streams: a stream nobody uses (no worker follows it, no
//! client reads it) is closed after two sweeps, its output kept in the database; one in use is
//! never closed; a closed one opens again from the database.

use std::sync::Arc;

use chrono::Utc;
use cockpit_crds::{ClaudeSessionSpec, ClaudeSessionStatus, RotationPolicy, SessionMode};
use cockpit_operator::runtime::{LocalRuntime, WorkerSettings};
use cockpit_operator::store::{SessionRow, Store};
use cockpit_operator::worker_credentials::WorkerKeys;

async fn runtime(dir: &std::path::Path) -> (Arc<LocalRuntime>, Store) {
    let store = Store::connect(&format!("sqlite://{}/cockpit.db", dir.display())).await.expect("store");
    let settings = WorkerSettings {
        worker_bin: "cockpit-worker".into(),
        worker_args: Vec::new(),
        command: "claude".into(),
        ring_bytes: 8 << 20,
        claude_home: dir.join("claude-home"),
        log_dir: dir.join("logs"),
        grace_secs: 1,
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    (LocalRuntime::new(settings, store.clone(), WorkerKeys::from_key([1; 32]), tx), store)
}

async fn session_with_output(store: &Store, id: &str, output: &[u8]) {
    let now = Utc::now();
    let spec = ClaudeSessionSpec {
        repo: "demo".into(),
        account_ref: None,
        mode: SessionMode::Interactive,
        prompt: None,
        model: None,
        permission_mode: None,
        resume: None,
        rotation: RotationPolicy::Auto,
    };
    let row = SessionRow {
        id: id.into(),
        name: id.into(),
        repo: "demo".into(),
        spec,
        status: ClaudeSessionStatus::default(),
        created_at: now,
        updated_at: now,
        deleted_at: None,
    };
    store.insert_session(&row).await.expect("session");
    store.append_output(id, 0, output).await.expect("output");
}

#[tokio::test]
async fn unused_streams_close_after_two_sweeps_and_open_again_from_the_database() {
    let dir = tempfile::tempdir().expect("tmp");
    let (runtime, store) = runtime(dir.path()).await;
    session_with_output(&store, "watched", b"a screen someone watches\r\n").await;
    session_with_output(&store, "ended", b"the output of an ended session\r\n").await;

    let client = runtime.stream("watched").await.expect("stream");
    let ended = runtime.stream("ended").await.expect("stream");
    let end = ended.end_offset();
    drop(ended);
    assert_eq!(runtime.open_streams(), 2);

    // First sweep: both noted (one is in use, the other unused once: not closed yet).
    assert_eq!(runtime.close_unused_streams().await, 0);
    assert_eq!(runtime.open_streams(), 2);
    // Second sweep: the unused one closes; the watched one stays while its client reads it.
    assert_eq!(runtime.close_unused_streams().await, 1);
    assert_eq!(runtime.open_streams(), 1);
    assert_eq!(runtime.close_unused_streams().await, 0, "a stream in use is never closed");
    assert_eq!(client.screen_text(), "a screen someone watches");

    // The closed one opens again from the database, with its output and screen.
    let again = runtime.stream("ended").await.expect("stream");
    assert_eq!(again.end_offset(), end);
    assert_eq!(again.screen_text(), "the output of an ended session");

    // Once its client is gone, the watched one closes too (after two sweeps).
    drop(client);
    drop(again);
    runtime.close_unused_streams().await;
    runtime.close_unused_streams().await;
    assert_eq!(runtime.open_streams(), 0);
}
