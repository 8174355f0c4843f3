//! The session hub: the one place that owns the output stream (ring + emulator + fan-out), the
//! activity state, pending approvals and the input path. The PTY threads, the hook endpoint
//! and the WebSocket clients all talk to it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use chrono::Utc;
use cockpit_api::frames::{BinaryKind, MAX_WORKER_OUTPUT_BYTES, encode_binary};
use cockpit_api::ids::ConversationId;
use cockpit_api::oneshot::{OneshotEvent, OneshotResult};
use cockpit_api::{ApprovalDecision, SessionMode, WorkerState};
use tokio::sync::{broadcast, oneshot, watch};

use crate::activity::ActivityTracker;
use crate::classify::ScreenClass;
use crate::hooks::{HookContext, HookEvent};
use cockpit_term::ring::OutputRing;
use cockpit_term::terminal::Terminal;

/// How many output chunks the fan-out keeps for slow clients before they lag.
const FANOUT_CHUNKS: usize = 1024;
/// A lagging client is replayed from the ring when it missed at most this many bytes, and
/// repainted with a snapshot otherwise.
pub const MAX_LAG_REPLAY: u64 = 512 * 1024;

/// What a client that fell behind gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LagPolicy {
    /// A screen: exact replay when it missed at most [`MAX_LAG_REPLAY`] bytes, else a snapshot
    /// of the current screen (a person wants the present, not a replay of a flood).
    #[default]
    Repaint,
    /// A mirror (the control plane, which persists every byte): exact replay of everything the
    /// ring still holds; a snapshot only for bytes that fell out of the ring.
    Replay,
}

/// The emulator takes at most this many bytes at a time, so readers of the screen wait little.
const EMULATE_BATCH: usize = 256 * 1024;
/// An emulator further behind than this (a flood: the emulator catches up every 50 ms while
/// output flows, so this is over 5 MB/s) skips to the last [`EMULATOR_TAIL`] bytes: what the
/// screen shows now is drawn by them (a scrolling flood, a TUI redrawing), and emulating every
/// byte of a flood took the CPU the relay needed on a small machine (`cargo bench -p
/// cockpit-worker --bench relay`: the emulator thread took 23 % of the machine with a 1 MiB
/// lag, under 1 % with this one).
const EMULATOR_MAX_LAG: u64 = 256 << 10;
/// See [`EMULATOR_MAX_LAG`]: far more than any screen's worth of output.
const EMULATOR_TAIL: u64 = 64 << 10;

/// A chunk of output at its absolute offset.
#[derive(Clone, Debug)]
pub struct Chunk {
    /// Offset of the first byte.
    pub offset: u64,
    /// The bytes.
    pub data: Bytes,
}

/// Where a new client's stream starts.
pub struct Attach {
    /// Binary frames to send first (replayed output, or a snapshot then the catch-up bytes).
    pub frames: Vec<Vec<u8>>,
    /// The offset the live stream continues at.
    pub next_offset: u64,
    /// Live output from `next_offset` on.
    pub live: broadcast::Receiver<Chunk>,
}

/// An answer to a pending permission request.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Allow or deny.
    pub decision: ApprovalDecision,
    /// A deny's reason.
    pub message: Option<String>,
}

/// Why an approval answer was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApprovalError {
    /// No request with this id waits for an answer through the hook.
    #[error("no pending permission request with id {0:?} can be answered")]
    NotPending(String),
}

struct OutputSide {
    ring: OutputRing,
}

/// The session hub. Cheap to share: wrap it in an `Arc`.
pub struct Hub {
    mode: SessionMode,
    output: Mutex<OutputSide>,
    fanout: broadcast::Sender<Chunk>,
    terminal: Mutex<Terminal>,
    tracker: Mutex<ActivityTracker>,
    state: watch::Sender<WorkerState>,
    approvals: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    oneshot_events: Mutex<Vec<OneshotEvent>>,
    oneshot_tx: broadcast::Sender<OneshotEvent>,
    oneshot_result: Mutex<Option<OneshotResult>>,
}

/// Moves an emulator that output up to `end` has left behind to where it continues, and
/// returns that offset: one more than [`EMULATOR_MAX_LAG`] behind skips to the last
/// [`EMULATOR_TAIL`] bytes, and none starts before the oldest byte the ring holds (what follows
/// repaints the screen).
fn skip_far_behind(term: &mut Terminal, ring: &OutputRing, end: u64) -> u64 {
    if end.saturating_sub(term.processed_offset()) > EMULATOR_MAX_LAG {
        term.skip_to(end - EMULATOR_TAIL);
    }
    term.skip_to(ring.start_offset());
    term.processed_offset()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves consistent data (no multi-step
    // invariants span a panic point), so a poisoned lock is still usable.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Hub {
    /// A hub for a terminal of `cols` × `rows` keeping `ring_bytes` of output.
    pub fn new(
        mode: SessionMode,
        cols: u16,
        rows: u16,
        ring_bytes: usize,
        claude_session_id: Option<ConversationId>,
        prompt: Option<String>,
    ) -> Arc<Hub> {
        let now = Utc::now();
        let mut tracker = ActivityTracker::new(now);
        if let Some(id) = claude_session_id {
            tracker.set_claude_session_id(id);
        }
        if let Some(prompt) = prompt {
            tracker.set_last_prompt(prompt);
        }
        let (fanout, _) = broadcast::channel(FANOUT_CHUNKS);
        let (oneshot_tx, _) = broadcast::channel(1024);
        let hub = Hub {
            mode,
            output: Mutex::new(OutputSide { ring: OutputRing::new(ring_bytes.max(64 * 1024)) }),
            fanout,
            terminal: Mutex::new(Terminal::new(cols, rows)),
            state: watch::channel(WorkerState::starting(mode, cols, rows, now)).0,
            tracker: Mutex::new(tracker),
            approvals: Mutex::new(HashMap::new()),
            oneshot_events: Mutex::new(Vec::new()),
            oneshot_tx,
            oneshot_result: Mutex::new(None),
        };
        hub.publish();
        Arc::new(hub)
    }

    /// The session's mode.
    pub fn mode(&self) -> SessionMode {
        self.mode
    }

    /// Appends PTY output: gives it its offset, keeps it in the ring and fans it out. Returns
    /// the chunk (for the emulator).
    pub fn push_output(&self, data: Bytes) -> Chunk {
        let mut out = lock(&self.output);
        let offset = out.ring.push(&data);
        let chunk = Chunk { offset, data };
        // No receivers is fine: nobody is watching.
        let _ = self.fanout.send(chunk.clone());
        chunk
    }

    /// Feeds a chunk to the emulator directly (output that does not come through the PTY
    /// reader, in offset order).
    pub fn emulate(&self, chunk: &Chunk) {
        lock(&self.terminal).process(&chunk.data);
    }

    /// Brings the emulator up to the output's end as it is now (see [`skip_far_behind`]), a
    /// batch at a time so that readers of the screen wait little; returns true when there was
    /// something. Output that arrives meanwhile waits for the next catch-up: a flood faster
    /// than the emulator would otherwise keep it busy until the flood ends.
    pub fn catch_up_emulator(&self) -> bool {
        let end = lock(&self.output).ring.end_offset();
        let mut emulated = false;
        loop {
            let mut term = lock(&self.terminal);
            let pending = {
                let out = lock(&self.output);
                let from = skip_far_behind(&mut term, &out.ring, end);
                let batch = usize::try_from(end.saturating_sub(from)).unwrap_or(usize::MAX).min(EMULATE_BATCH);
                out.ring.range(from, batch).unwrap_or_default()
            };
            if pending.is_empty() {
                return emulated;
            }
            term.process(&pending);
            emulated = true;
        }
    }

    /// The screen's rows as text.
    pub fn screen_lines(&self) -> Vec<String> {
        lock(&self.terminal).lines()
    }

    /// The screen as text.
    pub fn screen_text(&self) -> String {
        lock(&self.terminal).text()
    }

    /// True when arrows must be sent in application-cursor form.
    pub fn application_cursor(&self) -> bool {
        lock(&self.terminal).application_cursor()
    }

    /// Changes the terminal size (the caller resizes the PTY).
    pub fn resize(&self, cols: u16, rows: u16) {
        lock(&self.terminal).resize(cols, rows);
        self.publish();
    }

    /// Attaches a client that has seen output up to `from` (exclusive). When the ring still
    /// holds `from`, the missed bytes are replayed exactly; otherwise (or with no `from`) the
    /// client gets a snapshot of the screen followed by the bytes the emulator has not seen yet.
    pub fn attach(&self, from: Option<u64>) -> Attach {
        if let Some(from) = from {
            let out = lock(&self.output);
            if let Some(bytes) = out.ring.since(from) {
                let live = self.fanout.subscribe();
                let next_offset = out.ring.end_offset();
                drop(out);
                let frames = chunked(from, &bytes);
                return Attach { frames, next_offset, live };
            }
        }
        self.attach_with_snapshot()
    }

    /// Attaches with a snapshot of the current screen.
    pub fn attach_with_snapshot(&self) -> Attach {
        let mut term = lock(&self.terminal);
        let out = lock(&self.output);
        // The catch-up bytes after the snapshot are held, and at most a flood's tail.
        let snapshot_offset = skip_far_behind(&mut term, &out.ring, out.ring.end_offset());
        let snapshot = term.snapshot();
        drop(term);
        let catch_up = out.ring.since(snapshot_offset).unwrap_or_default();
        let live = self.fanout.subscribe();
        let next_offset = out.ring.end_offset();
        drop(out);
        let mut frames = vec![encode_binary(BinaryKind::Snapshot, snapshot_offset, &snapshot)];
        frames.extend(chunked(snapshot_offset, &catch_up));
        Attach { frames, next_offset, live }
    }

    /// Re-attaches a client that lagged behind at `next_offset`: exact replay when it missed
    /// little (or, for a [`LagPolicy::Replay`] client, whatever the ring still holds), a
    /// snapshot otherwise.
    pub fn resync(&self, next_offset: u64, policy: LagPolicy) -> Attach {
        let end = lock(&self.output).ring.end_offset();
        if policy == LagPolicy::Replay || end.saturating_sub(next_offset) <= MAX_LAG_REPLAY {
            self.attach(Some(next_offset))
        } else {
            self.attach_with_snapshot()
        }
    }

    /// `(start, end)` offsets held.
    pub fn offsets(&self) -> (u64, u64) {
        let out = lock(&self.output);
        (out.ring.start_offset(), out.ring.end_offset())
    }

    /// The current state.
    pub fn state(&self) -> WorkerState {
        let mut state = self.state.borrow().clone();
        (state.start_offset, state.end_offset) = self.offsets();
        state
    }

    /// Watches state changes.
    pub fn watch_state(&self) -> watch::Receiver<WorkerState> {
        self.state.subscribe()
    }

    /// Recomputes the state and notifies watchers when it changed.
    pub fn publish(&self) {
        let tracked = lock(&self.tracker).state().clone();
        let (cols, rows) = lock(&self.terminal).size();
        let (start_offset, end_offset) = self.offsets();
        let next = WorkerState {
            activity: tracked.activity,
            activity_since: tracked.since,
            mode: self.mode,
            claude_session_id: tracked.claude_session_id,
            cols,
            rows,
            start_offset,
            end_offset,
            rate_limit: tracked.rate_limit,
            approval: tracked.approval,
            exit_code: tracked.exit_code,
            last_prompt: tracked.last_prompt,
            permission_mode: tracked.permission_mode,
            report: tracked.report,
            last_denial: tracked.last_denial,
            last_message: tracked.last_message,
            oneshot_result: lock(&self.oneshot_result).clone(),
            source: tracked.source.as_str().to_owned(),
        };
        // Offsets move with every byte: only the rest counts as a change worth a frame.
        self.state.send_if_modified(|current| {
            let changed = !current.same_apart_from_offsets(&next);
            *current = next;
            changed
        });
    }

    /// Records the permission mode the CLI was started in.
    pub fn set_permission_mode(&self, mode: cockpit_api::PermissionMode) {
        lock(&self.tracker).set_permission_mode(mode);
        self.publish();
    }

    /// Applies a screen classification.
    pub fn on_screen(&self, class: ScreenClass) {
        if lock(&self.tracker).on_screen(class, Utc::now()) {
            self.publish();
        }
    }

    /// Applies a hook event. For a PermissionRequest, registers it and returns the receiver of
    /// its answer.
    pub fn on_hook(&self, event: &HookEvent, context: &HookContext) -> Option<(String, oneshot::Receiver<Answer>)> {
        let waiter = if matches!(event, HookEvent::PermissionRequest { .. }) {
            let id = uuid::Uuid::new_v4().to_string();
            let (tx, rx) = oneshot::channel();
            let mut approvals = lock(&self.approvals);
            approvals.retain(|_, sender| !sender.is_closed());
            approvals.insert(id.clone(), tx);
            Some((id, rx))
        } else {
            None
        };
        let approval_id = waiter.as_ref().map(|(id, _)| id.as_str());
        let changed = lock(&self.tracker).on_hook_from(event, context, approval_id, Utc::now());
        if changed {
            self.publish();
        }
        waiter
    }

    /// A PermissionRequest hook call ended without an answer from a client (the CLI gave up on
    /// it, or the dialog was answered by keys).
    pub fn approval_withdrawn(&self, id: &str) {
        lock(&self.approvals).remove(id);
        if lock(&self.tracker).clear_approval(id, Utc::now()) {
            self.publish();
        }
    }

    /// Answers the pending permission request `id`.
    pub fn answer(&self, id: &str, answer: Answer) -> Result<(), ApprovalError> {
        let sender = lock(&self.approvals).remove(id).ok_or_else(|| ApprovalError::NotPending(id.to_owned()))?;
        let allowed = answer.decision != cockpit_api::ApprovalDecision::Deny;
        sender.send(answer).map_err(|_| ApprovalError::NotPending(id.to_owned()))?;
        if lock(&self.tracker).answered(id, allowed, Utc::now()) {
            self.publish();
        }
        Ok(())
    }

    /// Records a one-shot event: kept for late clients, fanned out, and reflected in the state.
    pub fn on_oneshot_event(&self, event: OneshotEvent) {
        use cockpit_api::Activity;
        let now = Utc::now();
        let change = match &event {
            OneshotEvent::Init { session_id, .. } => {
                let mut tracker = lock(&self.tracker);
                tracker.set_claude_session_id(session_id.clone());
                tracker.on_stream(Activity::Working, None, now);
                true
            }
            OneshotEvent::RateLimitEvent { status, limit: Some(limit), .. } if status == "rejected" => {
                lock(&self.tracker).on_stream(Activity::RateLimited, Some(limit.clone()), now)
            }
            OneshotEvent::Result { result } => {
                *lock(&self.oneshot_result) = Some(result.clone());
                let activity = match (&result.rate_limit, result.api_error_status) {
                    (Some(_), _) => Activity::RateLimited,
                    (None, Some(401)) => Activity::NeedsLogin,
                    _ => Activity::Idle,
                };
                lock(&self.tracker).on_stream(activity, result.rate_limit.clone(), now);
                true
            }
            _ => false,
        };
        lock(&self.oneshot_events).push(event.clone());
        let _ = self.oneshot_tx.send(event);
        if change {
            self.publish();
        }
    }

    /// The one-shot events so far, and a receiver for the ones to come (no gap, no repeat).
    pub fn oneshot_events(&self) -> (Vec<OneshotEvent>, broadcast::Receiver<OneshotEvent>) {
        let events = lock(&self.oneshot_events);
        (events.clone(), self.oneshot_tx.subscribe())
    }

    /// The process exited.
    pub fn on_exit(&self, code: i32) {
        if lock(&self.tracker).on_exit(code, Utc::now()) {
            lock(&self.approvals).clear();
            self.publish();
        }
    }
}

/// Output split into frames of at most [`MAX_WORKER_OUTPUT_BYTES`].
pub(crate) fn chunked(mut offset: u64, bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .chunks(MAX_WORKER_OUTPUT_BYTES)
        .map(|piece| {
            let frame = encode_binary(BinaryKind::Output, offset, piece);
            offset += piece.len() as u64;
            frame
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cockpit_api::frames::decode_binary;

    fn payloads(frames: &[Vec<u8>]) -> Vec<(BinaryKind, u64, Vec<u8>)> {
        frames
            .iter()
            .map(|f| {
                let d = decode_binary(f).expect("valid frame");
                (d.kind, d.offset, d.payload.to_vec())
            })
            .collect()
    }

    #[test]
    fn attach_replays_exactly_from_an_offset_then_streams_live() {
        let hub = Hub::new(SessionMode::Interactive, 80, 24, 1 << 20, None, None);
        for part in [&b"hello "[..], b"world"] {
            let chunk = hub.push_output(Bytes::from_static(part));
            hub.emulate(&chunk);
        }
        let mut attach = hub.attach(Some(3));
        assert_eq!(payloads(&attach.frames), vec![(BinaryKind::Output, 3, b"lo world".to_vec())]);
        assert_eq!(attach.next_offset, 11);
        hub.push_output(Bytes::from_static(b"!"));
        let live = attach.live.try_recv().expect("live chunk");
        assert_eq!((live.offset, &live.data[..]), (11, &b"!"[..]));
    }

    #[test]
    fn attach_without_offset_or_with_a_lost_one_gets_a_snapshot_plus_catch_up() {
        let hub = Hub::new(SessionMode::Interactive, 40, 5, 64 * 1024, None, None);
        let first = hub.push_output(Bytes::from(vec![b'x'; 70 * 1024]));
        hub.emulate(&first);
        let second = hub.push_output(Bytes::from_static(b"\r\ntail"));
        // The emulator has not seen `second` yet: it must come after the snapshot.
        let attach = hub.attach(Some(0));
        let frames = payloads(&attach.frames);
        assert_eq!(frames[0].0, BinaryKind::Snapshot);
        assert_eq!(frames[0].1, 70 * 1024);
        assert_eq!(frames[1], (BinaryKind::Output, second.offset, b"\r\ntail".to_vec()));
        assert_eq!(attach.next_offset, 70 * 1024 + 6);
    }

    #[test]
    fn an_emulator_far_behind_a_flood_skips_to_its_tail_and_shows_the_present() {
        let hub = Hub::new(SessionMode::Interactive, 40, 5, 8 << 20, None, None);
        let mut text = String::new();
        for i in 0..100_000 {
            text.push_str(&format!("flood line {i:06}\r\n"));
        }
        text.push_str("\x1b[1;1HTOP-LEFT");
        for chunk in text.as_bytes().chunks(64 * 1024) {
            hub.push_output(Bytes::copy_from_slice(chunk));
        }
        assert!(hub.catch_up_emulator());
        assert!(!hub.catch_up_emulator(), "nothing came since");
        let screen = hub.screen_lines().join("\n");
        assert!(screen.starts_with("TOP-LEFT"), "{screen}");
        assert!(screen.contains("flood line 099999"), "the last line is on screen: {screen}");
        let (_, end) = hub.offsets();
        assert_eq!(lock(&hub.terminal).processed_offset(), end);
    }

    #[test]
    fn a_repaint_while_the_emulator_is_far_behind_sends_only_the_floods_tail() {
        let hub = Hub::new(SessionMode::Interactive, 40, 5, 8 << 20, None, None);
        for _ in 0..32 {
            hub.push_output(Bytes::from(vec![b'y'; 64 * 1024]));
        }
        let attach = hub.attach_with_snapshot();
        let frames = payloads(&attach.frames);
        let end = 32 * 64 * 1024;
        assert_eq!((frames[0].0, frames[0].1), (BinaryKind::Snapshot, end - EMULATOR_TAIL));
        let catch_up: usize = frames[1..].iter().map(|(_, _, bytes)| bytes.len()).sum();
        assert_eq!(catch_up as u64, EMULATOR_TAIL, "the tail, not the 2 MiB the emulator had not seen");
        assert_eq!(attach.next_offset, end);
    }

    #[test]
    fn approvals_are_answered_once() {
        let hub = Hub::new(SessionMode::Interactive, 80, 24, 1 << 20, None, None);
        let (id, mut rx) = hub
            .on_hook(
                &HookEvent::PermissionRequest {
                    tool: "Bash".into(),
                    input: serde_json::json!({"command": "ls"}),
                    suggestions: vec![],
                },
                &HookContext::default(),
            )
            .expect("a waiter");
        assert_eq!(hub.state().activity, cockpit_api::Activity::NeedsApproval);
        assert_eq!(hub.state().approval.map(|a| a.id), Some(id.clone()));
        hub.answer(&id, Answer { decision: ApprovalDecision::Allow, message: None }).expect("answered");
        assert_eq!(rx.try_recv().map(|a| a.decision), Ok(ApprovalDecision::Allow));
        assert_eq!(
            hub.answer(&id, Answer { decision: ApprovalDecision::Deny, message: None }),
            Err(ApprovalError::NotPending(id))
        );
        assert!(hub.state().approval.is_none());
    }
}
