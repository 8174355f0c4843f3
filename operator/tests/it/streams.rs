//! The registry of session output streams: a stream nobody uses (no worker follows it, no
//! client reads it) is closed after two sweeps, its output kept in the database; one in use is
//! never closed; a closed one opens again from the database.

use std::sync::Arc;

use cockpit_operator::store::Store;
use cockpit_operator::streams::Streams;

async fn streams(dir: &std::path::Path) -> (Arc<Streams>, Store) {
    let store = Store::connect(&format!("sqlite://{}/cockpit.db", dir.display())).await.expect("store");
    (Streams::new(store.clone()), store)
}

async fn session_with_output(store: &Store, id: &str, output: &[u8]) {
    let row = crate::support::session_row(id, id);
    store.insert_session(&row).await.expect("session");
    store.append_output(&row.id, 0, output).await.expect("output");
}

#[tokio::test]
async fn unused_streams_close_after_two_sweeps_and_open_again_from_the_database() {
    let dir = tempfile::tempdir().expect("tmp");
    let (streams, store) = streams(dir.path()).await;
    session_with_output(&store, "watched", b"a screen someone watches\r\n").await;
    session_with_output(&store, "ended", b"the output of an ended session\r\n").await;

    let client = streams.stream(&"watched".into()).await.expect("stream");
    let ended = streams.stream(&"ended".into()).await.expect("stream");
    let end = ended.end_offset();
    drop(ended);
    assert_eq!(streams.len(), 2);

    // First sweep: both noted (one is in use, the other unused once: not closed yet).
    assert_eq!(streams.close_unused(|_| false).await, 0);
    assert_eq!(streams.len(), 2);
    // Second sweep: the unused one closes; the watched one stays while its client reads it.
    assert_eq!(streams.close_unused(|_| false).await, 1);
    assert_eq!(streams.len(), 1);
    assert_eq!(streams.close_unused(|_| false).await, 0, "a stream in use is never closed");
    assert_eq!(client.screen_text(), "a screen someone watches");

    // The closed one opens again from the database, with its output and screen.
    let again = streams.stream(&"ended".into()).await.expect("stream");
    assert_eq!(again.end_offset(), end);
    assert_eq!(again.screen_text(), "the output of an ended session");

    // A stream whose session has a worker is never closed, used or not.
    drop(again);
    for _ in 0..3 {
        streams.close_unused(|id| id == "ended").await;
    }
    assert!(streams.size(&"ended".into()).is_some(), "the followed session's stream stays open");
    let again = streams.stream(&"ended".into()).await.expect("stream");

    // Once its client is gone, the watched one closes too (after two sweeps).
    drop(client);
    drop(again);
    streams.close_unused(|_| false).await;
    streams.close_unused(|_| false).await;
    assert_eq!(streams.len(), 0);
}
