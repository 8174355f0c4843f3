//! What a WebSocket client of a worker (or of the control plane's relay) saw: the worker's
//! frames, and its terminal output in order, checked to be contiguous.

use std::time::Duration;

use cockpit_api::WorkerState;
use cockpit_api::frames::{BinaryKind, ErrorCode, ServerFrame, decode_binary};
use cockpit_api::oneshot::OneshotEvent;
use futures_util::{Stream, StreamExt};
use tokio_tungstenite::tungstenite::{Error, Message};

/// What a client saw.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    pub hello: Option<WorkerState>,
    pub states: Vec<WorkerState>,
    pub errors: Vec<(ErrorCode, String)>,
    pub oneshot: Vec<OneshotEvent>,
    /// Output bytes in order, from the first output frame's offset.
    pub output: Vec<u8>,
    pub first_offset: Option<u64>,
    pub next_offset: u64,
    /// The snapshots (repaints), each with its offset.
    pub snapshots: Vec<(u64, Vec<u8>)>,
    /// How many output frames came.
    pub output_frames: usize,
}

impl Seen {
    /// Applies one frame; panics on a gap or overlap in output offsets.
    pub fn apply(&mut self, msg: Message) {
        match msg {
            Message::Text(text) => match serde_json::from_str::<ServerFrame>(&text).expect("server frame JSON") {
                ServerFrame::Hello { state, .. } => self.hello = Some(state),
                ServerFrame::State { state } => self.states.push(state),
                ServerFrame::Error { code, message } => self.errors.push((code, message)),
                ServerFrame::Oneshot { event } => self.oneshot.push(event),
            },
            Message::Binary(bytes) => {
                let frame = decode_binary(&bytes).expect("binary frame");
                match frame.kind {
                    BinaryKind::Snapshot => {
                        self.snapshots.push((frame.offset, frame.payload.to_vec()));
                        self.next_offset = frame.offset;
                        self.first_offset.get_or_insert(frame.offset);
                    }
                    BinaryKind::Output => {
                        if self.first_offset.is_none() {
                            self.first_offset = Some(frame.offset);
                            self.next_offset = frame.offset;
                        }
                        assert_eq!(frame.offset, self.next_offset, "output frames are contiguous");
                        self.output.extend_from_slice(frame.payload);
                        self.next_offset += frame.payload.len() as u64;
                        self.output_frames += 1;
                    }
                }
            }
            _ => {}
        }
    }

    /// The latest state: the last state frame, or the hello's.
    pub fn last_state(&self) -> Option<&WorkerState> {
        self.states.last().or(self.hello.as_ref())
    }
}

/// Reads frames from `ws` into `seen` until `pred` holds; panics when the connection ends first
/// or `timeout` passes (with the end of the output so far).
pub async fn read_until<S>(ws: &mut S, seen: &mut Seen, timeout: Duration, what: &str, pred: impl Fn(&Seen) -> bool)
where
    S: Stream<Item = Result<Message, Error>> + Unpin,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !pred(seen) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Ok(Some(Ok(msg))) => seen.apply(msg),
            Ok(other) => panic!("connection ended while waiting for {what}: {other:?}"),
            Err(_) => panic!(
                "timed out waiting for {what}; output so far: {:?}",
                String::from_utf8_lossy(&seen.output[seen.output.len().saturating_sub(600)..])
            ),
        }
    }
}
