//! The WebSocket protocol between a worker (or the gateway relaying it) and its clients.
//!
//! - Text frames carry JSON: [`ServerFrame`] from the worker, [`ClientFrame`] from a client.
//! - Binary frames from the worker carry terminal output: one header byte (the kind, see
//!   [`BinaryKind`]), the absolute stream offset as a big-endian `u64`, then the payload.
//!   An `Output` frame holds the bytes starting at that offset; a `Snapshot` frame holds bytes
//!   that repaint the current screen from scratch, and the live output that follows it starts
//!   at that offset.
//! - A binary frame from a client is raw input, written to the terminal as is.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::activity::ApprovalDecision;
use crate::oneshot::OneshotEvent;
use crate::worker_state::WorkerState;

/// Version of this protocol, sent in the hello frame.
pub const PROTOCOL_VERSION: u32 = 1;
/// Length of a binary frame's header: kind byte + big-endian u64 offset.
pub const BINARY_HEADER_LEN: usize = 9;
/// Output a worker puts into one binary output frame at most. A receiver's WebSocket keeps a
/// read buffer as large as the largest frame it was sent, so this bounds what every connection
/// to a flooding worker holds (the control plane follows every session through one).
pub const MAX_WORKER_OUTPUT_BYTES: usize = 64 * 1024;
/// Largest text frame a client may send (bytes); larger frames are refused with an error.
pub const MAX_CLIENT_FRAME_BYTES: usize = 64 * 1024;
/// Smallest and largest accepted terminal sizes.
pub const MIN_COLS: u16 = 10;
/// See [`MIN_COLS`].
pub const MIN_ROWS: u16 = 2;
/// See [`MIN_COLS`].
pub const MAX_COLS: u16 = 1000;
/// See [`MIN_COLS`].
pub const MAX_ROWS: u16 = 500;

/// What a binary frame from the worker holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[repr(u8)]
pub enum BinaryKind {
    /// Terminal output bytes starting at the frame's offset.
    Output = 0,
    /// A repaint of the whole current screen; live output continues at the frame's offset.
    Snapshot = 1,
}

/// A decoded binary frame from the worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinaryFrame<'a> {
    /// Output or snapshot.
    pub kind: BinaryKind,
    /// The absolute stream offset (see the module docs).
    pub offset: u64,
    /// The terminal bytes.
    pub payload: &'a [u8],
}

/// Why a binary frame could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BinaryFrameError {
    /// Fewer bytes than the header needs.
    #[error("binary frame of {0} bytes is shorter than its {BINARY_HEADER_LEN}-byte header")]
    TooShort(usize),
    /// The kind byte is not a known [`BinaryKind`].
    #[error("unknown binary frame kind {0}")]
    UnknownKind(u8),
}

/// Encodes a binary frame: header then payload.
pub fn encode_binary(kind: BinaryKind, offset: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = binary_header(kind, offset, payload.len());
    out.extend_from_slice(payload);
    out
}

/// A binary frame's header with room for `payload_len` more bytes: append the payload to it
/// (for callers that copy the payload straight from elsewhere, e.g. a ring).
pub fn binary_header(kind: BinaryKind, offset: u64, payload_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(BINARY_HEADER_LEN + payload_len);
    out.push(kind as u8);
    out.extend_from_slice(&offset.to_be_bytes());
    out
}

/// Decodes a binary frame produced by [`encode_binary`].
pub fn decode_binary(frame: &[u8]) -> Result<BinaryFrame<'_>, BinaryFrameError> {
    if frame.len() < BINARY_HEADER_LEN {
        return Err(BinaryFrameError::TooShort(frame.len()));
    }
    let kind = match frame[0] {
        0 => BinaryKind::Output,
        1 => BinaryKind::Snapshot,
        other => return Err(BinaryFrameError::UnknownKind(other)),
    };
    let mut offset = [0u8; 8];
    offset.copy_from_slice(&frame[1..BINARY_HEADER_LEN]);
    Ok(BinaryFrame { kind, offset: u64::from_be_bytes(offset), payload: &frame[BINARY_HEADER_LEN..] })
}

/// A JSON text frame from the worker to a client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ServerFrame {
    /// The first frame on every connection: the protocol version and the worker's state.
    /// Output (replayed bytes or a snapshot) follows as binary frames.
    Hello {
        /// [`PROTOCOL_VERSION`].
        protocol: u32,
        /// The worker's state when the client connected.
        state: WorkerState,
    },
    /// The worker's state changed (activity, approval, rate limit, size, exit).
    State {
        /// The new state.
        state: WorkerState,
    },
    /// A structured event of a one-shot run.
    Oneshot {
        /// The event.
        event: OneshotEvent,
    },
    /// A client frame was refused; nothing was changed.
    Error {
        /// What kind of error.
        code: ErrorCode,
        /// A human-readable explanation.
        message: String,
    },
}

/// Why a client frame was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ErrorCode {
    /// Not valid JSON, or not a known frame.
    BadFrame,
    /// Larger than [`MAX_CLIENT_FRAME_BYTES`].
    FrameTooLarge,
    /// A resize outside the accepted range.
    InvalidSize,
    /// An approval answer with no matching pending request.
    NoPendingApproval,
    /// The frame needs a running process and the CLI has exited, or the session is one-shot.
    NotAccepted,
}

/// A JSON text frame from a client to the worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
#[ts(optional_fields)]
pub enum ClientFrame {
    /// Text typed into the terminal, written as is (use [`ClientFrame::Key`] for Enter).
    Input {
        /// The text.
        data: String,
    },
    /// A named key.
    Key {
        /// Which key.
        key: Key,
    },
    /// The client's terminal size changed.
    Resize {
        /// Columns, [`MIN_COLS`]..=[`MAX_COLS`].
        cols: u16,
        /// Rows, [`MIN_ROWS`]..=[`MAX_ROWS`].
        rows: u16,
    },
    /// The answer to a pending permission request.
    Approve {
        /// The [`crate::PendingApproval::id`] answered.
        id: String,
        /// Allow or deny.
        decision: ApprovalDecision,
        /// Optional reason given to Claude with a deny.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
}

/// The named keys a client can send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
pub enum Key {
    /// Return.
    Enter,
    /// Escape.
    Esc,
    /// Tab.
    Tab,
    /// Shift-Tab (back-tab; cycles Claude's permission modes).
    ShiftTab,
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
    /// Arrow left.
    Left,
    /// Arrow right.
    Right,
    /// Backspace (DEL).
    Backspace,
    /// Ctrl-C (interrupt).
    CtrlC,
    /// Ctrl-D (end of input).
    CtrlD,
}

impl Key {
    /// The bytes a terminal sends for this key. `application_cursor` is the terminal's DECCKM
    /// mode: arrows are `ESC O x` in it and `ESC [ x` otherwise.
    pub fn bytes(self, application_cursor: bool) -> &'static [u8] {
        match (self, application_cursor) {
            (Key::Enter, _) => b"\r",
            (Key::Esc, _) => b"\x1b",
            (Key::Tab, _) => b"\t",
            (Key::ShiftTab, _) => b"\x1b[Z",
            (Key::Up, false) => b"\x1b[A",
            (Key::Down, false) => b"\x1b[B",
            (Key::Right, false) => b"\x1b[C",
            (Key::Left, false) => b"\x1b[D",
            (Key::Up, true) => b"\x1bOA",
            (Key::Down, true) => b"\x1bOB",
            (Key::Right, true) => b"\x1bOC",
            (Key::Left, true) => b"\x1bOD",
            (Key::Backspace, _) => b"\x7f",
            (Key::CtrlC, _) => b"\x03",
            (Key::CtrlD, _) => b"\x04",
        }
    }
}

/// A refused client frame: the error the client gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The error code.
    pub code: ErrorCode,
    /// Why.
    pub message: String,
}

impl Refusal {
    /// A refusal with `code` saying `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Refusal {
        Refusal { code, message: message.into() }
    }
}

impl ClientFrame {
    /// Validates a text frame (size, shape, terminal size bounds) into a client's frame: what
    /// the control plane's gateway checks before it forwards a frame, and the worker before it
    /// acts.
    pub fn parse(text: &str) -> Result<ClientFrame, Refusal> {
        if text.len() > MAX_CLIENT_FRAME_BYTES {
            return Err(Refusal::new(
                ErrorCode::FrameTooLarge,
                format!("frame of {} bytes exceeds the limit of {MAX_CLIENT_FRAME_BYTES} bytes", text.len()),
            ));
        }
        let frame: ClientFrame = serde_json::from_str(text).map_err(|err| {
            Refusal::new(
                ErrorCode::BadFrame,
                format!("not a valid client frame ({err}); expected one of input, key, resize, approve"),
            )
        })?;
        if let ClientFrame::Resize { cols, rows } = frame
            && (!(MIN_COLS..=MAX_COLS).contains(&cols) || !(MIN_ROWS..=MAX_ROWS).contains(&rows))
        {
            return Err(Refusal::new(
                ErrorCode::InvalidSize,
                format!("size {cols}x{rows} is outside {MIN_COLS}x{MIN_ROWS} .. {MAX_COLS}x{MAX_ROWS}"),
            ));
        }
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_frames_round_trip() {
        let frame = encode_binary(BinaryKind::Snapshot, 0x0102_0304_0506_0708, b"hi");
        assert_eq!(frame[..BINARY_HEADER_LEN], [1, 1, 2, 3, 4, 5, 6, 7, 8]);
        let decoded = decode_binary(&frame).expect("decodes");
        assert_eq!(decoded, BinaryFrame { kind: BinaryKind::Snapshot, offset: 0x0102_0304_0506_0708, payload: b"hi" });
    }

    #[test]
    fn bad_binary_frames_are_refused() {
        assert_eq!(decode_binary(&[0; 3]), Err(BinaryFrameError::TooShort(3)));
        assert_eq!(decode_binary(&[7; 9]), Err(BinaryFrameError::UnknownKind(7)));
    }

    #[test]
    fn client_frames_parse_and_reject_unknown_shapes() {
        let key: ClientFrame = serde_json::from_str(r#"{"type":"key","key":"ShiftTab"}"#).expect("parses");
        assert_eq!(key, ClientFrame::Key { key: Key::ShiftTab });
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"key","key":"F13"}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"input","data":"x","extra":1}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"launch"}"#).is_err());
    }

    #[test]
    fn arrows_follow_the_cursor_mode() {
        assert_eq!(Key::Up.bytes(false), b"\x1b[A");
        assert_eq!(Key::Up.bytes(true), b"\x1bOA");
        assert_eq!(Key::Enter.bytes(true), b"\r");
    }
}
