//! The registry of open output streams: one [`SessionStream`] per session, opened from the
//! database on first use, shared by whoever follows the session's worker (a local process or a
//! Pod) and every client reading it, and closed when nobody uses it (its output stays in the
//! database). Both runtimes use it; it runs no worker itself.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use cockpit_api::WorkerState;
use cockpit_api::ids::SessionId;

use crate::store::Store;
use crate::stream::SessionStream;

/// The size a stream opened before any client said its own has.
const DEFAULT_SIZE: (u16, u16) = (120, 40);

/// The open output streams.
pub struct Streams {
    store: Store,
    open: Mutex<HashMap<SessionId, Arc<SessionStream>>>,
    /// Streams found unused by the last sweep (closed when the next one finds them unused too).
    unused: Mutex<HashSet<SessionId>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Streams {
    /// An empty registry over `store`.
    pub fn new(store: Store) -> Arc<Streams> {
        Arc::new(Streams { store, open: Mutex::new(HashMap::new()), unused: Mutex::new(HashSet::new()) })
    }

    /// The session's output stream, opened (from the database) on first use.
    pub async fn stream(&self, session_id: &SessionId) -> anyhow::Result<Arc<SessionStream>> {
        if let Some(stream) = self.open_stream(session_id) {
            return Ok(stream);
        }
        let (cols, rows) = DEFAULT_SIZE;
        let stream = SessionStream::open(session_id, self.store.clone(), cols, rows).await?;
        Ok(lock(&self.open).entry(session_id.clone()).or_insert(stream).clone())
    }

    /// The session's output stream when it is open.
    pub fn open_stream(&self, session_id: &SessionId) -> Option<Arc<SessionStream>> {
        lock(&self.open).get(session_id).cloned()
    }

    /// Closes the output streams nobody uses: nothing follows them (`followed` says which
    /// sessions have a worker) and no client reads them (only this registry holds them) on two
    /// sweeps in a row. Their output is in the database (written back first); opening one
    /// again reads it from there. Returns how many closed.
    pub async fn close_unused(&self, followed: impl Fn(&SessionId) -> bool) -> usize {
        let unused: Vec<(SessionId, Arc<SessionStream>)> = lock(&self.open)
            .iter()
            .filter(|(_, stream)| Arc::strong_count(stream) == 1)
            .map(|(id, stream)| (id.clone(), stream.clone()))
            .collect();
        let seen_before = std::mem::take(&mut *lock(&self.unused));
        let mut closed = 0;
        for (id, stream) in unused {
            if !seen_before.contains(&id) || followed(&id) {
                lock(&self.unused).insert(id);
                continue;
            }
            if let Err(err) = stream.persist().await {
                tracing::warn!(session = %id, "keeping an unused stream open: {err:#}");
                continue;
            }
            drop(stream);
            let mut open = lock(&self.open);
            // Still unused (no client came meanwhile): close it.
            if open.get(&id).is_some_and(|s| Arc::strong_count(s) == 1) {
                open.remove(&id);
                closed += 1;
            }
        }
        closed
    }

    /// The terminal size of a session's open output stream (none when it is not open).
    pub fn size(&self, session_id: &SessionId) -> Option<(u16, u16)> {
        lock(&self.open).get(session_id).map(|stream| stream.size())
    }

    /// How many output streams are open.
    pub fn len(&self) -> usize {
        lock(&self.open).len()
    }

    /// True when no stream is open.
    pub fn is_empty(&self) -> bool {
        lock(&self.open).is_empty()
    }

    /// The live worker state of a session, while a worker reports into its stream.
    pub fn live_state(&self, session_id: &SessionId) -> Option<WorkerState> {
        lock(&self.open).get(session_id).and_then(|s| s.state())
    }
}
