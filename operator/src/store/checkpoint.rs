//! SQLite's WAL checkpoints, off the write path.
//!
//! In WAL mode a commit appends pages to the `-wal` file; a checkpoint copies them into the
//! database file. SQLite's default runs one inside the commit that takes the WAL past 1 000
//! pages, so every ~4 MB of terminal output one append also copied 4 MB and synced two files,
//! and the stream it persists for waited meanwhile (a flood reaches its clients no faster than
//! its bytes are stored). Here the connections never checkpoint on commit; one task does, a
//! moment after writes, in PASSIVE mode: it takes no lock a writer needs, and writers go on
//! appending to the WAL while it copies.

use std::sync::Arc;
use std::time::Duration;

use sqlx::AnyPool;
use tokio::sync::Notify;

/// A checkpoint follows the first write after the last one by this long: a flood is
/// checkpointed a few times a second, a quiet database once after each burst of writes.
pub const CHECKPOINT_AFTER: Duration = Duration::from_millis(250);

/// What each SQLite connection is told (after `connect`): no checkpoint inside a commit, and
/// a WAL file cut back to 64 MiB once a checkpoint has emptied it.
pub const CONNECTION_PRAGMAS: [&str; 2] = ["PRAGMA wal_autocheckpoint = 0", "PRAGMA journal_size_limit = 67108864"];

/// The checkpointing task of one store; dropping the last handle stops it.
#[derive(Debug)]
pub struct Checkpointer {
    wake: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Checkpointer {
    /// Starts checkpointing `pool`'s database after writes.
    pub fn spawn(pool: AnyPool) -> Checkpointer {
        let wake = Arc::new(Notify::new());
        let woken = wake.clone();
        let task = tokio::spawn(async move {
            let mut failing = false;
            loop {
                woken.notified().await;
                tokio::time::sleep(CHECKPOINT_AFTER).await;
                if pool.is_closed() {
                    return;
                }
                match sqlx::raw_sql("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
                    Ok(_) if failing => {
                        failing = false;
                        tracing::info!("WAL checkpoints succeed again");
                    }
                    Ok(_) => {}
                    Err(err) if !failing => {
                        failing = true;
                        // The WAL keeps every write meanwhile: nothing is lost, the file grows.
                        tracing::warn!(%err, "checkpointing the WAL");
                    }
                    Err(_) => {}
                }
            }
        });
        Checkpointer { wake, task }
    }

    /// Notes a write: a checkpoint follows.
    pub fn wrote(&self) {
        self.wake.notify_one();
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
