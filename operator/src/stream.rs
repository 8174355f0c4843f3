//! A session's output stream in the control plane: one upstream WebSocket per live worker,
//! mirrored into a ring, an emulator (for snapshots) and the database (replay outlives the
//! worker), read by any number of clients, each at its own offset.
//!
//! Clients are not sent chunks through a queue: each one reads the bytes after its own offset
//! from the ring (or the database, when it fell that far behind) whenever the stream's end
//! moves, so a slow client costs no memory and a fast one gets the newest chunk as the very
//! frame every other caught-up client sends (encoded once).
//!
//! Session offsets are continuous across workers (a rotation starts a new worker whose own
//! offsets start at 0): `session offset = base + worker offset`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use cockpit_api::WorkerState;
use cockpit_api::frames::{BINARY_HEADER_LEN, BinaryKind, ServerFrame, binary_header, decode_binary, encode_binary};
use cockpit_api::ids::SessionId;
use cockpit_term::ring::OutputRing;
use cockpit_term::terminal::Terminal;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{Notify, broadcast, mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::store::Store;

/// Bytes of output kept in memory per session (older output is replayed from the database;
/// fifty flooding sessions must fit the gateway's memory budget).
const RING_BYTES: usize = 64 << 10;
/// Output is written to the database at least this often (the worker keeps its own 8 MiB ring,
/// so a control plane that dies between two writes re-reads the rest from the worker)…
const PERSIST_EVERY: Duration = Duration::from_millis(1000);
/// … or as soon as this much is waiting.
const PERSIST_AT_BYTES: usize = 64 << 10;
/// With this much waiting, the stream stops reading from the worker until it is written back:
/// a flood faster than the database goes at the database's pace (the worker's ring holds the
/// rest) instead of filling the control plane's memory.
const MAX_UNPERSISTED: usize = 256 << 10;
/// Read buffer of the upstream connection to the worker (tungstenite's default, 128 KiB a
/// connection, is most of a session's memory).
const UPSTREAM_READ_BUFFER: usize = 16 * 1024;
/// How long a client's frame may wait for room in the queue to a worker that is behind.
pub const UPSTREAM_WAIT: Duration = Duration::from_secs(5);

/// Why a client's frame did not reach the worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// No worker is connected (none runs, or it just ended).
    #[error("the session has no running worker")]
    NoWorker,
    /// The worker took none of the frames queued before this one for [`UPSTREAM_WAIT`].
    #[error("the worker is not taking input (busy for 5 s); this input was not delivered")]
    Busy,
    /// A worker runs but the control plane did not get a connection to it within
    /// [`UPSTREAM_WAIT`].
    #[error("the session's worker did not connect within 5 s; this input was not delivered")]
    NotConnected,
}

/// The way from a stream to its worker, for clients' input.
enum Upstream {
    /// No worker: input is refused at once.
    None,
    /// A worker was started, or its connection dropped while it lives: input waits (up to
    /// [`UPSTREAM_WAIT`]) for the connection instead of being refused (a phone that types as
    /// a session starts).
    Connecting,
    /// Connected: input is queued to it, in order.
    Connected(mpsc::Sender<Message>),
}
/// One-shot events queued for a slow client.
const ONESHOT_FEED: usize = 64;
/// One-shot events held per worker (a run has tens to hundreds; the transcript has them all).
const ONESHOT_HELD: usize = 2000;
/// Ended sessions are repainted from at most this many trailing bytes.
const SNAPSHOT_REPLAY_BYTES: usize = 2 << 20;
/// Output one frame to a client carries at most. Every client connection keeps a write buffer
/// as large as the largest frame it sent (tungstenite copies a frame into it and never shrinks
/// it), so this bounds what each client costs while output floods.
pub const MAX_OUTPUT_FRAME: usize = 16 * 1024;
/// The write-back buffer grows in steps of this much (not by doubling: fifty flooding sessions
/// would hold twice what waits).
const UNPERSISTED_STEP: usize = 32 << 10;
/// Output about to leave the ring before the emulator saw it makes the emulator catch up on
/// the output path, at most this often: output slower than the ring per period (1.3 MB/s) is
/// all emulated, so the screen a repaint shows is exact; a flood is emulated in samples (a
/// repaint shows its newest [`RING_BYTES`]).
const EMULATE_AT_MOST_EVERY: Duration = Duration::from_millis(50);
// A worker frame fits the ring: the emulator, caught up before it is pushed, misses none of it.
const _: () = assert!(cockpit_api::frames::MAX_WORKER_OUTPUT_BYTES <= RING_BYTES);
/// A client that was caught up and then fell further behind than this is repainted with a
/// snapshot instead of being sent every byte it missed.
const RESYNC_LAG: u64 = 512 * 1024;
/// Offsets left unused after a restart that lost output: a control plane that died may have
/// sent clients up to [`MAX_UNPERSISTED`] + one worker frame beyond what it had written to the
/// database; those offsets are never given to other bytes. A client asking for one of them is
/// repainted (a snapshot) instead.
const VOID_BYTES: u64 = 1 << 20;
const _: () = assert!(VOID_BYTES as usize > MAX_UNPERSISTED + cockpit_api::frames::MAX_WORKER_OUTPUT_BYTES);

/// A chunk of session output at its session offset, kept as the binary output frame that
/// carries it.
#[derive(Clone, Debug)]
struct Chunk {
    /// Session offset of the first byte.
    offset: u64,
    /// The encoded output frame (header + bytes).
    frame: Bytes,
}

impl Chunk {
    /// The session offset after the last byte.
    fn end(&self) -> u64 {
        self.offset + (self.frame.len() - BINARY_HEADER_LEN) as u64
    }
}

/// What goes out to a client next: its frames and the offset it continues at.
#[derive(Debug)]
pub struct Outbound {
    /// The binary frames to send in order (output, or a snapshot): one, or a few when output
    /// was read back from the database in one go.
    pub frames: Vec<Bytes>,
    /// The client's next offset after it.
    pub next: u64,
    /// True when the frame took the client to the stream's end (it is caught up).
    pub at_end: bool,
}

impl Outbound {
    fn new(frame: impl Into<Bytes>, next: u64, end: u64) -> Outbound {
        Outbound { frames: vec![frame.into()], next, at_end: next >= end }
    }
}

struct Inner {
    ring: OutputRing,
    /// The newest chunk, encoded: a caught-up client sends it as it is.
    last: Option<Chunk>,
    /// Output not yet in the database, starting at `unpersisted_at`.
    unpersisted: Vec<u8>,
    unpersisted_at: u64,
    /// Output being written to the database now (it precedes `unpersisted`): still readable
    /// from memory until the database has it.
    inflight: Option<(u64, Bytes)>,
    /// Nothing was pushed since the stream was opened from the database: what a previous
    /// control plane sent beyond the stored end is unknown.
    fresh: bool,
    /// Offsets this stream left unused ([`VOID_BYTES`]): the range, and whether the database
    /// has it yet.
    void: Option<((u64, u64), bool)>,
}

/// The mirror's terminal emulator (for repaints, the screen text and the size), under a lock
/// of its own: clients are sent output under the stream's lock, and emulating a second of a
/// session's output takes a millisecond or more, which they must never wait for. Lock order:
/// the emulator's, then the stream's.
struct Emulator {
    terminal: Terminal,
    /// When output about to leave the ring unseen made the output path catch it up.
    caught_up_at: Option<std::time::Instant>,
}

impl Inner {
    /// True when `offset` lies in the range this stream left unused.
    fn in_void(&self, offset: u64) -> bool {
        self.void.is_some_and(|((start, end), _)| (start..end).contains(&offset))
    }
}

/// One session's mirrored output and state.
pub struct SessionStream {
    session_id: SessionId,
    store: Store,
    inner: Mutex<Inner>,
    emulator: Mutex<Emulator>,
    /// The offset the emulator has processed up to (the output path reads it without taking
    /// the emulator's lock).
    emulated: AtomicU64,
    /// The stream's end offset, for clients waiting for output.
    end: watch::Sender<u64>,
    /// Wakes the persister early when much output waits.
    persist_soon: Arc<Notify>,
    /// One write-back at a time (they must land in offset order).
    persisting: tokio::sync::Mutex<()>,
    state: watch::Sender<Option<WorkerState>>,
    /// One-shot events of the current worker, as the JSON text frames it sent: the ones held
    /// (every client gets them first) and the live feed.
    oneshot: Mutex<Vec<Arc<str>>>,
    oneshot_feed: broadcast::Sender<Arc<str>>,
    upstream: watch::Sender<Upstream>,
    /// Which worker the stream follows; frames from an older one are ignored.
    generation: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Where a client's stream starts.
pub struct Attach {
    /// A snapshot frame to send first (a client with no offset, or one the stream no longer
    /// reaches).
    pub snapshot: Option<Bytes>,
    /// The offset the client continues at.
    pub next: u64,
    /// True when the client starts at the end (after a snapshot): from then on a client that
    /// falls far behind is repainted rather than replayed.
    pub caught_up: bool,
}

impl SessionStream {
    /// Opens the stream of a session whose persisted output ends at `end` (from the database),
    /// repainting the emulator from the stored tail.
    pub async fn open(
        session_id: &SessionId,
        store: Store,
        cols: u16,
        rows: u16,
    ) -> anyhow::Result<Arc<SessionStream>> {
        let end = u64::try_from(store.output_end(session_id).await?).unwrap_or(0);
        let mut tail_from = end.saturating_sub(SNAPSHOT_REPLAY_BYTES as u64);
        let mut tail = store.read_output(session_id, tail_from as i64, SNAPSHOT_REPLAY_BYTES).await?;
        // A void in the tail (a restart that lost output): the screen starts after it.
        while tail_from + (tail.len() as u64) < end {
            let at = (tail_from + tail.len() as u64) as i64;
            let Some(after) = store.output_void_end(session_id, at).await? else {
                anyhow::bail!("the stored output of session {session_id} stops at {at}, before its end {end}");
            };
            tail_from = u64::try_from(after).unwrap_or(end);
            tail = store.read_output(session_id, after, SNAPSHOT_REPLAY_BYTES).await?;
        }
        let mut terminal = Terminal::new(cols, rows);
        terminal.skip_to(tail_from);
        terminal.process(&tail);
        let mut ring = OutputRing::starting_at(RING_BYTES, tail_from);
        ring.push(&tail);
        let end = ring.end_offset();
        let stream = Arc::new(SessionStream {
            session_id: session_id.clone(),
            store,
            emulated: AtomicU64::new(terminal.processed_offset()),
            emulator: Mutex::new(Emulator { terminal, caught_up_at: None }),
            inner: Mutex::new(Inner {
                ring,
                last: None,
                unpersisted: Vec::new(),
                unpersisted_at: end,
                inflight: None,
                fresh: true,
                void: None,
            }),
            end: watch::channel(end).0,
            persist_soon: Arc::new(Notify::new()),
            persisting: tokio::sync::Mutex::new(()),
            state: watch::channel(None).0,
            oneshot: Mutex::new(Vec::new()),
            oneshot_feed: broadcast::channel(ONESHOT_FEED).0,
            upstream: watch::channel(Upstream::None).0,
            generation: AtomicU64::new(0),
        });
        let weak = Arc::downgrade(&stream);
        let soon = stream.persist_soon.clone();
        tokio::spawn(async move {
            let mut emulated_at = tokio::time::Instant::now();
            loop {
                let _ = tokio::time::timeout(PERSIST_EVERY, soon.notified()).await;
                let Some(stream) = weak.upgrade() else { break };
                // The emulator follows the output here, once a second (not at every early write
                // of a flood, which it follows in samples: see `push`), off the runtime's
                // threads: a second of output at a time, never on the clients' path.
                // An idle session costs no blocking thread.
                let behind = stream.emulated.load(Ordering::Acquire) < stream.end_offset();
                if behind && emulated_at.elapsed() >= PERSIST_EVERY {
                    emulated_at = tokio::time::Instant::now();
                    let emulating = stream.clone();
                    let _ = tokio::task::spawn_blocking(move || emulating.catch_up_emulator()).await;
                }
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

    /// Watches the end offset (changes whenever output arrives).
    pub fn watch_end(&self) -> watch::Receiver<u64> {
        self.end.subscribe()
    }

    /// Switches the stream to a new worker: returns its generation and its offset base (the
    /// session offset of its offset 0): `base`, or the current end for a new worker.
    pub fn begin_worker(&self, base: Option<i64>) -> (u64, i64) {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        // Input waits for the connection to it (see `follow`, or `end_worker` if it never runs).
        self.upstream.send_replace(Upstream::Connecting);
        lock(&self.oneshot).clear();
        (generation, base.unwrap_or_else(|| offset_i64(self.end_offset())))
    }

    /// The worker of `generation` will not be followed (it did not start after all): input is
    /// refused at once again instead of waiting for it.
    pub fn end_worker(&self, generation: u64) {
        if self.is_current(generation) {
            self.upstream.send_replace(Upstream::None);
        }
    }

    fn is_current(&self, generation: u64) -> bool {
        self.generation.load(Ordering::SeqCst) == generation
    }

    /// Appends output at the stream's end and wakes the clients; true when so much waits for
    /// the database that the caller should write it back before taking more. The ring takes it
    /// a client frame at a time (the emulator catches up before unseen bytes leave it), and
    /// only the newest piece is kept encoded: what a caught-up client is sent stays within
    /// [`MAX_OUTPUT_FRAME`].
    fn push(&self, data: &[u8]) -> bool {
        let Some(newest) = data.chunks(MAX_OUTPUT_FRAME).last() else { return false };
        let unseen = self.end_offset().saturating_sub(self.emulated.load(Ordering::Acquire));
        if unseen as usize + data.len() > RING_BYTES {
            let mut emulator = lock(&self.emulator);
            if emulator.caught_up_at.is_none_or(|at| at.elapsed() >= EMULATE_AT_MOST_EVERY) {
                self.catch_up(&mut emulator);
                emulator.caught_up_at = Some(std::time::Instant::now());
            }
        }
        let (end, waiting) = {
            let mut inner = lock(&self.inner);
            let mut offset = inner.ring.end_offset();
            for piece in data.chunks(MAX_OUTPUT_FRAME) {
                offset = inner.ring.push(piece);
            }
            // Only the newest chunk is sent as it is (to a client that was at its start).
            inner.last = Some(Chunk { offset, frame: Bytes::from(encode_binary(BinaryKind::Output, offset, newest)) });
            inner.fresh = false;
            if inner.unpersisted.is_empty() {
                inner.unpersisted_at = inner.ring.end_offset() - data.len() as u64;
            }
            let wanted = inner.unpersisted.len() + data.len();
            if wanted > inner.unpersisted.capacity() {
                let more = wanted.next_multiple_of(UNPERSISTED_STEP) - inner.unpersisted.len();
                inner.unpersisted.reserve_exact(more);
            }
            inner.unpersisted.extend_from_slice(data);
            let inflight = inner.inflight.as_ref().map_or(0, |(_, bytes)| bytes.len());
            (inner.ring.end_offset(), inner.unpersisted.len() + inflight)
        };
        self.end.send_replace(end);
        if waiting >= PERSIST_AT_BYTES {
            self.persist_soon.notify_one();
        }
        waiting >= MAX_UNPERSISTED
    }

    /// After a restart, the worker could not replay what followed the stored output (its ring
    /// moved on while no control plane read it). Clients of the previous control plane may
    /// hold bytes beyond the stored end, so the stream continues [`VOID_BYTES`] further on:
    /// no offset ever names two different bytes. Returns the new end.
    fn leave_void(&self) -> u64 {
        let mut emulator = lock(&self.emulator);
        let mut inner = lock(&self.inner);
        let start = inner.ring.end_offset();
        let end = start + VOID_BYTES;
        inner.ring = OutputRing::starting_at(RING_BYTES, end);
        emulator.terminal.skip_to(end);
        self.emulated.store(end, Ordering::Release);
        inner.last = None;
        inner.unpersisted_at = end;
        inner.void = Some(((start, end), false));
        tracing::warn!(
            session = %self.session_id,
            from = start,
            to = end,
            "output after a restart was lost: its offsets stay unused and clients there are repainted"
        );
        end
    }

    /// Writes the unpersisted output to the database.
    pub async fn persist(&self) -> anyhow::Result<()> {
        let _one = self.persisting.lock().await;
        let void = lock(&self.inner).void.filter(|(_, stored)| !stored).map(|(range, _)| range);
        if let Some((start, end)) = void {
            self.store.append_void(&self.session_id, start as i64, end as i64).await?;
            if let Some((_, stored)) = lock(&self.inner).void.as_mut() {
                *stored = true;
            }
        }
        // The bytes stay readable in memory until the database has them: a client reading them
        // meanwhile finds them in one place or the other, never in neither.
        let (start, pending) = {
            let mut inner = lock(&self.inner);
            if inner.unpersisted.is_empty() {
                return Ok(());
            }
            let pending = Bytes::from(std::mem::take(&mut inner.unpersisted));
            let start = inner.unpersisted_at;
            inner.inflight = Some((start, pending.clone()));
            inner.unpersisted_at = start + pending.len() as u64;
            (start, pending)
        };
        let written = self.store.append_output(&self.session_id, start as i64, &pending).await;
        let mut inner = lock(&self.inner);
        inner.inflight = None;
        if let Err(err) = written {
            // Put it back to retry on the next tick.
            let mut again = pending.to_vec();
            again.extend_from_slice(&inner.unpersisted);
            inner.unpersisted = again;
            inner.unpersisted_at = start;
            return Err(err.into());
        }
        Ok(())
    }

    /// Where a client that has seen output up to `from` starts: exact replay from `from` (from
    /// memory or the database), else (or with no `from`) a snapshot of the screen.
    pub fn attach(&self, from: Option<u64>) -> Attach {
        if let Some(from) = from {
            let inner = lock(&self.inner);
            if from <= inner.ring.end_offset() && !inner.in_void(from) {
                return Attach { snapshot: None, next: from, caught_up: false };
            }
        }
        let (snapshot, end) = self.snapshot_frame();
        Attach { snapshot: Some(snapshot), next: end, caught_up: true }
    }

    /// The next frame for a client whose next offset is `next`, `None` when it has everything.
    /// A caught-up client that fell more than [`RESYNC_LAG`] behind gets a snapshot.
    pub async fn next_frame(&self, next: u64, caught_up: bool) -> anyhow::Result<Option<Outbound>> {
        let ring_start = 'memory: {
            let inner = lock(&self.inner);
            let end = inner.ring.end_offset();
            if next >= end {
                return Ok(None);
            }
            if (caught_up && end - next > RESYNC_LAG) || inner.in_void(next) {
                break 'memory None;
            }
            if let Some(last) = inner.last.as_ref().filter(|l| l.offset == next && l.end() == end) {
                return Ok(Some(Outbound::new(last.frame.clone(), end, end)));
            }
            let start = inner.ring.start_offset();
            let unpersisted_end = inner.unpersisted_at + inner.unpersisted.len() as u64;
            if let Some((at, bytes)) =
                inner.inflight.as_ref().filter(|(at, b)| next >= *at && next < at + b.len() as u64)
                && next < start
            {
                // Being written to the database: still in memory.
                let skip = (next - at) as usize;
                let bytes = &bytes[skip..(skip + MAX_OUTPUT_FRAME).min(bytes.len())];
                let frame = encode_binary(BinaryKind::Output, next, bytes);
                return Ok(Some(Outbound::new(frame, next + bytes.len() as u64, end)));
            }
            if next < start && next >= inner.unpersisted_at && next < unpersisted_end {
                // Out of the ring but not yet written back: still in memory.
                let skip = (next - inner.unpersisted_at) as usize;
                let bytes = &inner.unpersisted[skip..(skip + MAX_OUTPUT_FRAME).min(inner.unpersisted.len())];
                let frame = encode_binary(BinaryKind::Output, next, bytes);
                return Ok(Some(Outbound::new(frame, next + bytes.len() as u64, end)));
            }
            if next >= start {
                let mut frame = binary_header(BinaryKind::Output, next, ((end - next) as usize).min(MAX_OUTPUT_FRAME));
                let taken = inner.ring.range_into(next, MAX_OUTPUT_FRAME, &mut frame).unwrap_or(0);
                return Ok(Some(Outbound::new(frame, next + taken as u64, end)));
            }
            Some(start)
        };
        let Some(ring_start) = ring_start else {
            // Repainted (not under the stream's lock: see `snapshot_frame`).
            let (snapshot, end) = self.snapshot_frame();
            return Ok(Some(Outbound::new(snapshot, end, end)));
        };
        // Older than memory: from the database (bytes leave memory only once written there), in
        // reads of a worker frame (a query per client frame could not keep up with a flood),
        // sent as client frames.
        let want = ((ring_start - next) as usize).min(cockpit_api::frames::MAX_WORKER_OUTPUT_BYTES);
        let bytes = self.store.read_output(&self.session_id, next as i64, want).await?;
        if bytes.is_empty() {
            if self.store.output_void_end(&self.session_id, next as i64).await?.is_some() {
                // Offsets a restart left unused (see `leave_void`): repainted.
                let (snapshot, end) = self.snapshot_frame();
                return Ok(Some(Outbound::new(snapshot, end, end)));
            }
            anyhow::bail!("output at {next} is neither in memory nor in the database");
        }
        let after = next + bytes.len() as u64;
        let mut at = next;
        let frames = bytes
            .chunks(MAX_OUTPUT_FRAME)
            .map(|piece| {
                let frame = Bytes::from(encode_binary(BinaryKind::Output, at, piece));
                at += piece.len() as u64;
                frame
            })
            .collect();
        Ok(Some(Outbound { frames, next: after, at_end: after >= self.end_offset() }))
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

    /// The worker process is gone (killed, crashed, or ended before it could say so): the
    /// last state it reported becomes `Exited` (with `exit_code` when known and no pending
    /// approval), so phones and `live` agree with the session's status. Nothing changes when
    /// the worker already reported its exit.
    pub fn worker_gone(&self, exit_code: Option<i32>, now: chrono::DateTime<chrono::Utc>) {
        self.state.send_if_modified(|state| match state.as_mut() {
            Some(s) if s.activity != cockpit_api::Activity::Exited => {
                s.activity = cockpit_api::Activity::Exited;
                s.activity_since = now;
                s.exit_code = s.exit_code.or(exit_code);
                s.approval = None;
                s.source = "process".to_owned();
                true
            }
            _ => false,
        });
    }

    /// Resizes the mirror's emulator.
    pub fn resize(&self, cols: u16, rows: u16) {
        let mut emulator = lock(&self.emulator);
        self.catch_up(&mut emulator);
        emulator.terminal.resize(cols, rows);
    }

    /// The terminal size the session last had `(cols, rows)`: a worker that takes over (after
    /// a rotation or a restart) starts at it.
    pub fn size(&self) -> (u16, u16) {
        lock(&self.emulator).terminal.size()
    }

    /// The screen as text.
    pub fn screen_text(&self) -> String {
        let mut emulator = lock(&self.emulator);
        self.catch_up(&mut emulator);
        emulator.terminal.text()
    }

    /// Brings the emulator up to the stream's end (see [`Emulator`]).
    fn catch_up_emulator(&self) {
        self.catch_up(&mut lock(&self.emulator));
    }

    /// Brings `emulator` (this stream's, locked) up to the stream's end as it is now: the
    /// bytes are copied out under the stream's lock and emulated after it is released.
    fn catch_up(&self, emulator: &mut Emulator) {
        let pending = pending_for(&lock(&self.inner), &mut emulator.terminal);
        self.emulate(emulator, &pending);
    }

    fn emulate(&self, emulator: &mut Emulator, bytes: &[u8]) {
        emulator.terminal.process(bytes);
        self.emulated.store(emulator.terminal.processed_offset(), Ordering::Release);
    }

    /// A snapshot frame of the screen at the stream's end, and that end. The bulk of the
    /// catching up is done before the stream's lock is taken; under it, only what came
    /// meanwhile (the snapshot must be the screen at exactly the offset it names).
    fn snapshot_frame(&self) -> (Bytes, u64) {
        let mut emulator = lock(&self.emulator);
        self.catch_up(&mut emulator);
        let inner = lock(&self.inner);
        let pending = pending_for(&inner, &mut emulator.terminal);
        self.emulate(&mut emulator, &pending);
        let end = inner.ring.end_offset();
        (encode_binary(BinaryKind::Snapshot, end, &emulator.terminal.snapshot()).into(), end)
    }

    /// Sends a frame to the live worker, waiting (up to [`UPSTREAM_WAIT`]) while the worker is
    /// behind on earlier frames: a burst is delivered in order or refused with a reason, never
    /// dropped unnoticed. A worker still being connected to is waited for within the same
    /// bound.
    pub async fn send_upstream(&self, message: Message) -> Result<(), UpstreamError> {
        let deadline = tokio::time::Instant::now() + UPSTREAM_WAIT;
        let mut upstream = self.upstream.subscribe();
        let tx = loop {
            let connected = match &*upstream.borrow_and_update() {
                Upstream::None => return Err(UpstreamError::NoWorker),
                Upstream::Connecting => None,
                Upstream::Connected(tx) => Some(tx.clone()),
            };
            if let Some(tx) = connected {
                break tx;
            }
            match tokio::time::timeout_at(deadline, upstream.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(UpstreamError::NoWorker),
                Err(_) => return Err(UpstreamError::NotConnected),
            }
        };
        match tokio::time::timeout_at(deadline, tx.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(UpstreamError::NoWorker),
            Err(_) => Err(UpstreamError::Busy),
        }
    }

    /// True while the session has a worker: connected, or being connected to.
    pub fn has_worker(&self) -> bool {
        !matches!(*self.upstream.borrow(), Upstream::None)
    }

    /// Follows the worker at `endpoint` (`host:port`, generation and base from
    /// [`Self::begin_worker`]) until it is gone: reconnects while `alive()` says the worker
    /// process lives, resuming from the stream's end. `on_state` is called for every state the
    /// worker reports.
    pub async fn follow(
        self: Arc<Self>,
        endpoint: String,
        credential: cockpit_worker::auth::WorkerCredential,
        generation: u64,
        mut base: i64,
        alive: impl Fn() -> bool + Send + 'static,
        on_state: impl Fn(WorkerState) + Send + 'static,
    ) {
        let mut backoff = Duration::from_millis(50);
        // Signed: once bytes were skipped (a repaint stood in for them) the session holds fewer
        // bytes than the worker printed, and the base goes below zero.
        while alive() && self.is_current(generation) {
            let from = u64::try_from(offset_i64(self.end_offset()) - base).unwrap_or(0);
            // A mirror: replayed exactly, never repainted, while the worker's ring holds it.
            let url = format!("ws://{endpoint}/ws?from={from}&lag=replay");
            let request = match worker_request(&url, &credential) {
                Ok(request) => request,
                Err(err) => {
                    tracing::warn!(session = %self.session_id, %err, "the worker's endpoint is not a valid address");
                    break;
                }
            };
            let config = WebSocketConfig::default().read_buffer_size(UPSTREAM_READ_BUFFER);
            match tokio_tungstenite::connect_async_with_config(request, Some(config), true).await {
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
            self.upstream.send_replace(Upstream::None);
        }
        if let Err(err) = self.persist().await {
            tracing::warn!(session = %self.session_id, %err, "persisting the last output");
        }
    }
}

/// The WebSocket request to a worker: `url` with the worker's credential.
fn worker_request(
    url: &str,
    credential: &cockpit_worker::auth::WorkerCredential,
) -> Result<tokio_tungstenite::tungstenite::handshake::client::Request, tokio_tungstenite::tungstenite::Error> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = url.into_client_request()?;
    let value = http::HeaderValue::from_str(&credential.bearer())
        .map_err(|e| tokio_tungstenite::tungstenite::Error::HttpFormat(e.into()))?;
    request.headers_mut().insert(http::header::AUTHORIZATION, value);
    Ok(request)
}

impl SessionStream {
    async fn pump(
        &self,
        ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
        generation: u64,
        base: &mut i64,
        on_state: &impl Fn(WorkerState),
    ) {
        let (mut sink, mut source) = ws.split();
        let (tx, mut rx) = mpsc::channel::<Message>(256);
        if self.is_current(generation) {
            self.upstream.send_replace(Upstream::Connected(tx));
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
                    let before = *base;
                    let write_back = self.on_output(base, frame.kind, frame.offset, frame.payload);
                    if *base != before {
                        // A re-adopting control plane must map the worker's offsets the same way.
                        if let Err(err) = self.store.set_worker_base(&self.session_id, *base).await {
                            tracing::warn!(session = %self.session_id, %err, "recording the worker's offset base");
                        }
                    }
                    if write_back {
                        // Read no more until it is written back: what clients may hold beyond
                        // the database stays under `MAX_UNPERSISTED` + one frame (see
                        // `VOID_BYTES`); the worker's ring holds the rest meanwhile.
                        while let Err(err) = self.persist().await {
                            tracing::warn!(session = %self.session_id, %err, "persisting output");
                            if !self.is_current(generation) {
                                break;
                            }
                            tokio::time::sleep(PERSIST_EVERY).await;
                        }
                    }
                }
                Message::Text(text) => match serde_json::from_str::<ServerFrame>(text.as_str()) {
                    Ok(ServerFrame::Hello { state, .. } | ServerFrame::State { state }) => {
                        if self.size() != (state.cols, state.rows) {
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
            // The connection dropped: `follow` reconnects while the worker lives (or ends it).
            self.upstream.send_replace(Upstream::Connecting);
        }
        writer.abort();
    }

    /// Maps a worker frame into the session stream, keeping it contiguous:
    /// `session offset = base + worker offset`.
    /// True when the caller should write back before reading more (see [`Self::push`]).
    fn on_output(&self, base: &mut i64, kind: BinaryKind, worker_offset: u64, payload: &[u8]) -> bool {
        let mut end = offset_i64(self.end_offset());
        let worker_offset = offset_i64(worker_offset);
        let len = offset_i64(payload.len() as u64);
        match kind {
            BinaryKind::Output => {
                let at = *base + worker_offset;
                if at + len <= end {
                    return false; // already have it
                }
                if at > end {
                    // The worker's ring no longer held what we missed: continue at our end.
                    tracing::warn!(session = %self.session_id, missed = at - end, "output the worker no longer held");
                    if lock(&self.inner).fresh {
                        end = offset_i64(self.leave_void());
                    }
                    *base = end - worker_offset;
                    return self.push(payload);
                }
                let skip = usize::try_from(end - at).unwrap_or(0);
                self.push(payload.get(skip..).unwrap_or_default())
            }
            BinaryKind::Snapshot => {
                // A repaint stands in for bytes the worker could not replay (they fell out of
                // its ring before this mirror read them): it becomes output at our end, and the
                // worker's live bytes continue after it.
                tracing::warn!(
                    session = %self.session_id,
                    worker_offset,
                    "the worker no longer held output this mirror had not read: repainted"
                );
                if lock(&self.inner).fresh {
                    end = offset_i64(self.leave_void());
                }
                *base = end + len - worker_offset;
                self.push(payload)
            }
        }
    }
}

/// An offset as a signed number (offsets stay far below `i64::MAX`: 9 EB of output).
fn offset_i64(offset: u64) -> i64 {
    i64::try_from(offset).unwrap_or(i64::MAX)
}

/// The output `terminal` has not processed yet, from the ring of `inner` (its stream's, locked).
/// Output that already left the ring is skipped (the screen is repainted by what follows).
fn pending_for(inner: &Inner, terminal: &mut Terminal) -> Vec<u8> {
    let start = inner.ring.start_offset();
    if terminal.processed_offset() < start {
        terminal.skip_to(start);
    }
    inner.ring.since(terminal.processed_offset()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;
    use std::time::Duration;

    async fn open_stream() -> (tempfile::TempDir, Arc<SessionStream>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("s.db").display())).await.expect("store");
        let stream = SessionStream::open(&"s1".into(), store, 40, 5).await.expect("stream");
        (dir, stream)
    }

    /// The payload of an output frame that `next_frame` returns at once (from memory).
    fn next_payload(stream: &SessionStream, next: u64) -> Vec<u8> {
        let out = stream.next_frame(next, false).now_or_never().expect("from memory: no wait").expect("read");
        let out = out.expect("output after `next`");
        out.frames.iter().flat_map(|f| decode_binary(f).expect("a frame").payload.to_vec()).collect()
    }

    #[tokio::test]
    async fn input_sent_as_a_worker_starts_waits_for_its_connection() {
        let (_dir, stream) = open_stream().await;
        let typed = || Message::Text("typed".into());
        assert_eq!(stream.send_upstream(typed()).await, Err(UpstreamError::NoWorker), "no worker: refused at once");

        // Started, not connected yet (its endpoint may already be public): the input waits ...
        let (generation, _) = stream.begin_worker(None);
        let waiting = tokio::spawn({
            let stream = stream.clone();
            async move { stream.send_upstream(typed()).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiting.is_finished(), "waits for the connection");
        assert!(stream.has_worker());
        // ... and is delivered once the connection is up.
        let (tx, mut worker) = mpsc::channel(4);
        stream.upstream.send_replace(Upstream::Connected(tx));
        assert_eq!(waiting.await.expect("task"), Ok(()));
        assert_eq!(worker.recv().await, Some(typed()));

        // A worker that will not be followed after all releases whoever waits for it.
        let (generation_2, _) = stream.begin_worker(None);
        assert!(generation_2 > generation);
        let waiting = tokio::spawn({
            let stream = stream.clone();
            async move { stream.send_upstream(typed()).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        stream.end_worker(generation);
        assert!(!waiting.is_finished(), "an older worker's end changes nothing");
        stream.end_worker(generation_2);
        assert_eq!(waiting.await.expect("task"), Err(UpstreamError::NoWorker));
        assert!(!stream.has_worker());
    }

    #[tokio::test]
    async fn clients_are_sent_output_while_the_emulator_is_busy() {
        let (_dir, stream) = open_stream().await;
        stream.push(b"hello\r\n");
        // A long catch-up holds the emulator: output still comes in and goes out.
        let busy = lock(&stream.emulator);
        let (tx, rx) = std::sync::mpsc::channel();
        let client = stream.clone();
        std::thread::spawn(move || {
            client.push(b"more");
            let replay = client.attach(Some(0));
            let _ = tx.send((replay.snapshot.is_none(), next_payload(&client, 0)));
        });
        let (replayed, payload) = rx.recv_timeout(Duration::from_secs(10)).expect("not held up by the emulator");
        assert!(replayed, "a client with an offset is replayed, not repainted");
        assert_eq!(payload, b"hello\r\nmore");
        drop(busy);
        assert_eq!(stream.screen_text(), "hello\nmore", "the emulator catches up afterwards");
    }

    #[tokio::test]
    async fn a_repaint_is_the_screen_at_exactly_the_offset_it_names() {
        let (_dir, stream) = open_stream().await;
        for i in 0..50 {
            stream.push(format!("line {i}\r\n").as_bytes());
        }
        stream.catch_up_emulator();
        stream.push(b"\x1b[1mtail");
        let attach = stream.attach(None);
        let frame = attach.snapshot.expect("no offset: a repaint");
        let snapshot = decode_binary(&frame).expect("a frame");
        assert_eq!(snapshot.kind, BinaryKind::Snapshot);
        assert_eq!(snapshot.offset, stream.end_offset(), "at the end");
        assert_eq!(attach.next, stream.end_offset());
        let mut fresh = Terminal::new(40, 5);
        fresh.process(snapshot.payload);
        assert_eq!(fresh.text(), "line 46\nline 47\nline 48\nline 49\ntail");
    }
}
