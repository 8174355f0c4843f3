//! A session's output stream in the control plane: one upstream WebSocket per live worker,
//! mirrored into a ring, an emulator (for snapshots) and the database (replay outlives the
//! worker), fanned out to any number of clients, each resuming from its own offset.
//!
//! Session offsets are continuous across workers (a rotation starts a new worker whose own
//! offsets start at 0): `session offset = base + worker offset`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use cockpit_crds::WorkerState;
use cockpit_crds::frames::{BINARY_HEADER_LEN, BinaryKind, ServerFrame, decode_binary, encode_binary};
use cockpit_worker::ring::OutputRing;
use cockpit_worker::terminal::Terminal;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::store::Store;

/// Bytes of output kept in memory per session (older output is replayed from the database;
/// fifty flooding sessions must fit the gateway's memory budget).
const RING_BYTES: usize = 256 << 10;
/// Chunks the fan-out holds for slow clients before they resync (from the ring or the database).
const FANOUT_CHUNKS: usize = 128;
/// Output is written to the database at least this often (the worker keeps its own 8 MiB ring,
/// so a control plane that dies between two writes re-reads the rest from the worker).
const PERSIST_EVERY: Duration = Duration::from_millis(200);
/// Read buffer of the upstream connection to the worker (tungstenite's default, 128 KiB a
/// connection, is most of a session's memory).
const UPSTREAM_READ_BUFFER: usize = 16 * 1024;
/// One-shot events queued for a slow client.
const ONESHOT_FEED: usize = 64;
/// One-shot events held per worker (a run has tens to hundreds; the transcript has them all).
const ONESHOT_HELD: usize = 2000;
/// Ended sessions are repainted from at most this many trailing bytes.
const SNAPSHOT_REPLAY_BYTES: usize = 2 << 20;

/// A chunk of session output at its session offset, kept as the binary output frame that
/// carries it: clients that are caught up send this very frame (encoded once, shared by every
/// client of the session).
#[derive(Clone, Debug)]
pub struct Chunk {
    /// Session offset of the first byte.
    pub offset: u64,
    /// The encoded output frame (header + bytes).
    pub frame: Bytes,
}

impl Chunk {
    /// Encodes `data` at `offset` as an output frame.
    fn new(offset: u64, data: &[u8]) -> Chunk {
        Chunk { offset, frame: Bytes::from(encode_binary(BinaryKind::Output, offset, data)) }
    }

    /// The output bytes.
    pub fn data(&self) -> &[u8] {
        &self.frame[BINARY_HEADER_LEN..]
    }

    /// The session offset after the last byte.
    pub fn end(&self) -> u64 {
        self.offset + (self.frame.len() - BINARY_HEADER_LEN) as u64
    }
}

struct Inner {
    ring: OutputRing,
    terminal: Terminal,
    /// Output not yet in the database.
    unpersisted: Vec<Chunk>,
}

/// One session's mirrored output and state.
pub struct SessionStream {
    session_id: String,
    store: Store,
    inner: Mutex<Inner>,
    fanout: broadcast::Sender<Chunk>,
    state: watch::Sender<Option<WorkerState>>,
    /// One-shot events of the current worker, as the JSON text frames it sent: the ones held
    /// (every client gets them first) and the live feed.
    oneshot: Mutex<Vec<Arc<str>>>,
    oneshot_feed: broadcast::Sender<Arc<str>>,
    upstream: Mutex<Option<mpsc::Sender<Message>>>,
    /// Which worker the stream follows; frames from an older one are ignored.
    generation: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Where a client's stream starts.
pub struct Attach {
    /// Binary frames to send first.
    pub frames: Vec<Vec<u8>>,
    /// Live output from `next_offset` on.
    pub live: broadcast::Receiver<Chunk>,
    /// The session offset live output continues at.
    pub next_offset: u64,
}

impl SessionStream {
    /// Opens the stream of a session whose persisted output ends at `end` (from the database),
    /// repainting the emulator from the stored tail.
    pub async fn open(session_id: &str, store: Store, cols: u16, rows: u16) -> anyhow::Result<Arc<SessionStream>> {
        let end = u64::try_from(store.output_end(session_id).await?).unwrap_or(0);
        let tail_from = end.saturating_sub(SNAPSHOT_REPLAY_BYTES as u64);
        let tail = store.read_output(session_id, tail_from as i64, SNAPSHOT_REPLAY_BYTES).await?;
        let mut terminal = Terminal::new(cols, rows);
        terminal.process(&tail);
        let mut ring = OutputRing::starting_at(RING_BYTES, tail_from);
        ring.push(&tail);
        let (fanout, _) = broadcast::channel(FANOUT_CHUNKS);
        let stream = Arc::new(SessionStream {
            session_id: session_id.to_owned(),
            store,
            inner: Mutex::new(Inner { ring, terminal, unpersisted: Vec::new() }),
            fanout,
            state: watch::channel(None).0,
            oneshot: Mutex::new(Vec::new()),
            oneshot_feed: broadcast::channel(ONESHOT_FEED).0,
            upstream: Mutex::new(None),
            generation: AtomicU64::new(0),
        });
        let weak = Arc::downgrade(&stream);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(PERSIST_EVERY).await;
                let Some(stream) = weak.upgrade() else { break };
                if let Err(err) = stream.persist().await {
                    tracing::warn!(session = %stream.session_id, %err, "persisting output");
                }
            }
        });
        Ok(stream)
    }

    /// The session offset the next byte gets.
    pub fn end_offset(&self) -> u64 {
        lock(&self.inner).ring.end_offset()
    }

    /// Switches the stream to a new worker: returns its generation and its offset base (the
    /// session offset of its offset 0): `base`, or the current end for a new worker.
    pub fn begin_worker(&self, base: Option<u64>) -> (u64, u64) {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        *lock(&self.upstream) = None;
        lock(&self.oneshot).clear();
        (generation, base.unwrap_or_else(|| self.end_offset()))
    }

    fn is_current(&self, generation: u64) -> bool {
        self.generation.load(Ordering::SeqCst) == generation
    }

    /// Appends output at the stream's end and fans it out.
    fn push(&self, data: &[u8]) {
        let mut inner = lock(&self.inner);
        let offset = inner.ring.push(data);
        inner.terminal.process(data);
        let chunk = Chunk::new(offset, data);
        inner.unpersisted.push(chunk.clone());
        let _ = self.fanout.send(chunk);
    }

    /// Writes the unpersisted output to the database.
    pub async fn persist(&self) -> anyhow::Result<()> {
        let pending = std::mem::take(&mut lock(&self.inner).unpersisted);
        if pending.is_empty() {
            return Ok(());
        }
        // Coalesce contiguous chunks into one row.
        let start = pending[0].offset;
        let mut buf = Vec::with_capacity(pending.iter().map(|c| c.data().len()).sum());
        for chunk in &pending {
            buf.extend_from_slice(chunk.data());
        }
        if let Err(err) = self.store.append_output(&self.session_id, start as i64, &buf).await {
            // Put it back to retry on the next tick.
            let mut inner = lock(&self.inner);
            let mut again = pending;
            again.append(&mut inner.unpersisted);
            inner.unpersisted = again;
            return Err(err.into());
        }
        Ok(())
    }

    /// The latest mirrored worker state (offsets in session terms).
    pub fn state(&self) -> Option<WorkerState> {
        let mut state = self.state.borrow().clone()?;
        let inner = lock(&self.inner);
        state.start_offset = 0;
        state.end_offset = inner.ring.end_offset();
        Some(state)
    }

    /// Watches state changes.
    pub fn watch_state(&self) -> watch::Receiver<Option<WorkerState>> {
        self.state.subscribe()
    }

    /// The current worker's one-shot events so far and the live feed of the next ones (JSON
    /// `oneshot` frames, to send as they are).
    pub fn oneshot_events(&self) -> (Vec<Arc<str>>, broadcast::Receiver<Arc<str>>) {
        let held = lock(&self.oneshot);
        (held.clone(), self.oneshot_feed.subscribe())
    }

    /// Takes the `index`th one-shot event of a worker connection: the worker repeats them all
    /// on every connection, so only the ones beyond those held are new.
    fn on_oneshot(&self, index: usize, text: &str) {
        let mut held = lock(&self.oneshot);
        if index < held.len() {
            return;
        }
        let event: Arc<str> = Arc::from(text);
        if held.len() < ONESHOT_HELD {
            held.push(event.clone());
        }
        let _ = self.oneshot_feed.send(event);
    }

    /// Sets the state (when the worker is gone, the last state with `Exited`).
    pub fn set_state(&self, state: Option<WorkerState>) {
        self.state.send_replace(state);
    }

    /// Attaches a client that has seen output up to `from`: exact replay from memory or the
    /// database, else (or with no `from`) a snapshot of the screen then live bytes.
    pub async fn attach(&self, from: Option<u64>) -> anyhow::Result<Attach> {
        if let Some(from) = from {
            let (ring_start, end) = {
                let inner = lock(&self.inner);
                (inner.ring.start_offset(), inner.ring.end_offset())
            };
            if from <= end {
                // Older than memory: read the gap from the database first.
                let mut frames = Vec::new();
                let mut at = from;
                if from < ring_start {
                    self.persist().await?;
                    while at < ring_start {
                        let want = ((ring_start - at) as usize).min(1 << 20);
                        let bytes = self.store.read_output(&self.session_id, at as i64, want).await?;
                        if bytes.is_empty() {
                            break;
                        }
                        frames.push(encode_binary(BinaryKind::Output, at, &bytes));
                        at += bytes.len() as u64;
                    }
                }
                if at >= ring_start {
                    let inner = lock(&self.inner);
                    if let Some(bytes) = inner.ring.since(at) {
                        let live = self.fanout.subscribe();
                        let next_offset = inner.ring.end_offset();
                        for piece in bytes.chunks(256 * 1024) {
                            frames.push(encode_binary(BinaryKind::Output, at, piece));
                            at += piece.len() as u64;
                        }
                        return Ok(Attach { frames, live, next_offset });
                    }
                }
            }
        }
        Ok(self.attach_with_snapshot())
    }

    /// Attaches with a snapshot of the current screen.
    pub fn attach_with_snapshot(&self) -> Attach {
        let inner = lock(&self.inner);
        let offset = inner.ring.end_offset();
        let frames = vec![encode_binary(BinaryKind::Snapshot, offset, &inner.terminal.snapshot())];
        Attach { frames, live: self.fanout.subscribe(), next_offset: offset }
    }

    /// Re-attaches a client that lagged at `next`.
    pub async fn resync(&self, next: u64) -> anyhow::Result<Attach> {
        if self.end_offset().saturating_sub(next) <= 512 * 1024 {
            self.attach(Some(next)).await
        } else {
            Ok(self.attach_with_snapshot())
        }
    }

    /// Resizes the mirror's emulator.
    pub fn resize(&self, cols: u16, rows: u16) {
        lock(&self.inner).terminal.resize(cols, rows);
    }

    /// The terminal size the session last had `(cols, rows)`: a worker that takes over (after
    /// a rotation or a restart) starts at it.
    pub fn size(&self) -> (u16, u16) {
        lock(&self.inner).terminal.size()
    }

    /// The screen as text.
    pub fn screen_text(&self) -> String {
        lock(&self.inner).terminal.text()
    }

    /// Sends a frame to the live worker; false when no worker is connected.
    pub fn send_upstream(&self, message: Message) -> bool {
        match lock(&self.upstream).as_ref() {
            Some(tx) => tx.try_send(message).is_ok(),
            None => false,
        }
    }

    /// True while an upstream connection is up.
    pub fn has_upstream(&self) -> bool {
        lock(&self.upstream).is_some()
    }

    /// Follows the worker at `endpoint` (`host:port`, generation and base from
    /// [`Self::begin_worker`]) until it is gone: reconnects while `alive()` says the worker
    /// process lives, resuming from the stream's end. `on_state` is called for every state the
    /// worker reports.
    pub async fn follow(
        self: Arc<Self>,
        endpoint: String,
        generation: u64,
        mut base: u64,
        alive: impl Fn() -> bool + Send + 'static,
        on_state: impl Fn(WorkerState) + Send + 'static,
    ) {
        let mut backoff = Duration::from_millis(50);
        while alive() && self.is_current(generation) {
            let from = self.end_offset().saturating_sub(base);
            let url = format!("ws://{endpoint}/ws?from={from}");
            let config = WebSocketConfig::default().read_buffer_size(UPSTREAM_READ_BUFFER);
            match tokio_tungstenite::connect_async_with_config(&url, Some(config), true).await {
                Ok((ws, _)) => {
                    backoff = Duration::from_millis(50);
                    self.pump(ws, generation, &mut base, &on_state).await;
                }
                Err(err) => tracing::debug!(session = %self.session_id, %err, "worker not reachable yet"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
        if self.is_current(generation) {
            *lock(&self.upstream) = None;
        }
        if let Err(err) = self.persist().await {
            tracing::warn!(session = %self.session_id, %err, "persisting the last output");
        }
    }

    async fn pump(
        &self,
        ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
        generation: u64,
        base: &mut u64,
        on_state: &impl Fn(WorkerState),
    ) {
        let (mut sink, mut source) = ws.split();
        let (tx, mut rx) = mpsc::channel::<Message>(256);
        if self.is_current(generation) {
            *lock(&self.upstream) = Some(tx);
        }
        let writer = tokio::spawn(async move {
            while let Some(message) = rx.recv().await {
                if sink.send(message).await.is_err() {
                    break;
                }
            }
        });
        let mut oneshot_index = 0;
        while let Some(Ok(message)) = source.next().await {
            if !self.is_current(generation) {
                break;
            }
            match message {
                Message::Binary(bytes) => {
                    let Ok(frame) = decode_binary(&bytes) else { continue };
                    self.on_output(base, frame.kind, frame.offset, frame.payload);
                }
                Message::Text(text) => match serde_json::from_str::<ServerFrame>(text.as_str()) {
                    Ok(ServerFrame::Hello { state, .. } | ServerFrame::State { state }) => {
                        if lock(&self.inner).terminal.size() != (state.cols, state.rows) {
                            self.resize(state.cols, state.rows);
                        }
                        self.state.send_replace(Some(state.clone()));
                        on_state(state);
                    }
                    Ok(ServerFrame::Oneshot { .. }) => {
                        self.on_oneshot(oneshot_index, text.as_str());
                        oneshot_index += 1;
                    }
                    Ok(_) => {}
                    Err(err) => tracing::warn!(session = %self.session_id, %err, "unreadable frame from the worker"),
                },
                Message::Close(_) => break,
                _ => {}
            }
        }
        if self.is_current(generation) {
            *lock(&self.upstream) = None;
        }
        writer.abort();
    }

    /// Maps a worker frame into the session stream, keeping it contiguous.
    fn on_output(&self, base: &mut u64, kind: BinaryKind, worker_offset: u64, payload: &[u8]) {
        let end = self.end_offset();
        match kind {
            BinaryKind::Output => {
                let at = *base + worker_offset;
                let stop = at + payload.len() as u64;
                if stop <= end {
                    return; // already have it
                }
                if at > end {
                    // The worker's ring no longer held what we missed: continue at our end.
                    *base = end - worker_offset.min(end);
                    self.push(payload);
                    return;
                }
                let skip = (end - at) as usize;
                self.push(&payload[skip..]);
            }
            BinaryKind::Snapshot => {
                // A repaint stands in for bytes the worker could not replay: it becomes
                // output at our end, and the worker's live bytes continue after it.
                self.push(payload);
                let new_end = end + payload.len() as u64;
                *base = new_end - worker_offset.min(new_end);
            }
        }
    }
}
