//! One WebSocket client: hello, replay or snapshot, then live output, state changes and
//! one-shot events out; input, keys, resizes and approval answers in.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket};
use cockpit_api::frames::{
    ClientFrame, ErrorCode, MAX_CLIENT_FRAME_BYTES, MAX_WORKER_OUTPUT_BYTES, PROTOCOL_VERSION, Refusal, ServerFrame,
};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use crate::hub::{Answer, Attach, Hub, LagPolicy, chunked};
use crate::input::PtyInput;

/// What a client frame asks the worker to do, once validated.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Write these bytes to the terminal.
    Write(Vec<u8>),
    /// Resize.
    Resize {
        /// Columns.
        cols: u16,
        /// Rows.
        rows: u16,
    },
    /// Answer a permission request.
    Approve {
        /// Its id.
        id: String,
        /// The answer.
        answer: cockpit_api::ApprovalDecision,
        /// A deny's reason.
        message: Option<String>,
    },
}

fn refuse(code: ErrorCode, message: impl Into<String>) -> Refusal {
    Refusal::new(code, message)
}

/// Validates a text frame into what the worker does. `application_cursor` decides how arrows
/// are encoded.
pub fn parse_text_frame(text: &str, application_cursor: bool) -> Result<Command, Refusal> {
    Ok(match ClientFrame::parse(text)? {
        ClientFrame::Input { data } => Command::Write(data.into_bytes()),
        ClientFrame::Key { key } => Command::Write(key.bytes(application_cursor).to_vec()),
        ClientFrame::Resize { cols, rows } => Command::Resize { cols, rows },
        ClientFrame::Approve { id, decision, message } => Command::Approve { id, answer: decision, message },
    })
}

/// Serves one client until it disconnects.
pub async fn serve(socket: WebSocket, hub: Arc<Hub>, input: Option<Arc<PtyInput>>, from: Option<u64>, lag: LagPolicy) {
    let (mut sink, mut stream) = socket.split();
    let mut state_rx = hub.watch_state();
    state_rx.mark_unchanged();
    let hello = ServerFrame::Hello { protocol: PROTOCOL_VERSION, state: hub.state() };
    if send_json(&mut sink, &hello).await.is_err() {
        return;
    }
    let (events, mut events_rx) = hub.oneshot_events();
    for event in events {
        if send_json(&mut sink, &ServerFrame::Oneshot { event }).await.is_err() {
            return;
        }
    }
    let Attach { frames, mut next_offset, mut live } = hub.attach(from);
    if send_frames(&mut sink, frames).await.is_err() {
        return;
    }
    let mut output_open = true;
    loop {
        tokio::select! {
            incoming = stream.next() => {
                let Some(Ok(message)) = incoming else { break };
                if let Some(reply) = handle_message(message, &hub, input.as_deref()).await
                    && send_json(&mut sink, &reply).await.is_err() {
                        break;
                    }
            }
            chunk = live.recv(), if output_open => match chunk {
                Ok(first) => {
                    let mut buf = Vec::with_capacity(first.data.len());
                    let start = next_offset;
                    let mut contiguous = append(&mut buf, &mut next_offset, &first);
                    while contiguous && buf.len() < MAX_WORKER_OUTPUT_BYTES {
                        match live.try_recv() {
                            Ok(more) => contiguous = append(&mut buf, &mut next_offset, &more),
                            Err(_) => break,
                        }
                    }
                    if !contiguous {
                        // Never expected (the fan-out is subscribed at the attach offset), but
                        // a gap must never reach a client as wrongly numbered bytes.
                        let attach = hub.attach_with_snapshot();
                        next_offset = attach.next_offset;
                        live = attach.live;
                        if send_frames(&mut sink, attach.frames).await.is_err() {
                            break;
                        }
                        continue;
                    }
                    if send_frames(&mut sink, chunked(start, &buf)).await.is_err() {
                        break;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    let attach = hub.resync(next_offset, lag);
                    next_offset = attach.next_offset;
                    live = attach.live;
                    if send_frames(&mut sink, attach.frames).await.is_err() {
                        break;
                    }
                }
                Err(RecvError::Closed) => output_open = false,
            },
            changed = state_rx.changed() => {
                if changed.is_err() {
                    break;
                }
                state_rx.mark_unchanged();
                let state = hub.state();
                if send_json(&mut sink, &ServerFrame::State { state }).await.is_err() {
                    break;
                }
            }
            event = events_rx.recv() => match event {
                Ok(event) => {
                    if send_json(&mut sink, &ServerFrame::Oneshot { event }).await.is_err() {
                        break;
                    }
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => {}
            },
        }
    }
}

/// Appends the part of `chunk` at or after `next`; false (and nothing appended) when the chunk
/// starts after `next`, a gap.
fn append(buf: &mut Vec<u8>, next: &mut u64, chunk: &crate::hub::Chunk) -> bool {
    let end = chunk.offset + chunk.data.len() as u64;
    if chunk.offset > *next {
        return false;
    }
    if end > *next {
        let skip = (*next - chunk.offset) as usize;
        buf.extend_from_slice(&chunk.data[skip..]);
        *next = end;
    }
    true
}

async fn handle_message(message: Message, hub: &Hub, input: Option<&PtyInput>) -> Option<ServerFrame> {
    let command = match message {
        Message::Text(text) => match parse_text_frame(text.as_str(), hub.application_cursor()) {
            Ok(command) => command,
            Err(refusal) => return Some(error_frame(refusal)),
        },
        Message::Binary(bytes) => {
            if bytes.len() > MAX_CLIENT_FRAME_BYTES {
                return Some(error_frame(refuse(
                    ErrorCode::FrameTooLarge,
                    format!("input of {} bytes exceeds the limit of {MAX_CLIENT_FRAME_BYTES} bytes", bytes.len()),
                )));
            }
            Command::Write(bytes.to_vec())
        }
        Message::Ping(_) | Message::Pong(_) | Message::Close(_) => return None,
    };
    match command {
        Command::Approve { id, answer, message } => match hub.answer(&id, Answer { decision: answer, message }) {
            Ok(()) => None,
            Err(err) => Some(error_frame(refuse(ErrorCode::NoPendingApproval, err.to_string()))),
        },
        Command::Write(bytes) => {
            let Some(input) = input else {
                return Some(error_frame(refuse(ErrorCode::NotAccepted, "a one-shot session takes no input")));
            };
            if hub.state().exit_code.is_some() || input.write(bytes).await.is_err() {
                return Some(error_frame(refuse(ErrorCode::NotAccepted, "the CLI has exited")));
            }
            None
        }
        Command::Resize { cols, rows } => {
            let Some(input) = input else {
                return Some(error_frame(refuse(ErrorCode::NotAccepted, "a one-shot session has no terminal")));
            };
            if let Err(err) = input.resize(cols, rows) {
                return Some(error_frame(refuse(ErrorCode::NotAccepted, err.to_string())));
            }
            hub.resize(cols, rows);
            None
        }
    }
}

fn error_frame(refusal: Refusal) -> ServerFrame {
    ServerFrame::Error { code: refusal.code, message: refusal.message }
}

/// Sends binary frames in order; stops at the first that cannot be sent.
async fn send_frames<S>(sink: &mut S, frames: Vec<Vec<u8>>) -> Result<(), ()>
where
    S: futures_util::Sink<Message> + Unpin,
{
    for frame in frames {
        sink.send(Message::Binary(frame.into())).await.map_err(|_| ())?;
    }
    Ok(())
}

async fn send_json<S>(sink: &mut S, frame: &ServerFrame) -> Result<(), ()>
where
    S: futures_util::Sink<Message> + Unpin,
{
    let text = serde_json::to_string(frame).map_err(|_| ())?;
    sink.send(Message::Text(text.into())).await.map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cockpit_api::ApprovalDecision;

    #[test]
    fn frames_become_commands() {
        assert_eq!(parse_text_frame(r#"{"type":"input","data":"hi"}"#, false), Ok(Command::Write(b"hi".to_vec())));
        assert_eq!(parse_text_frame(r#"{"type":"key","key":"Up"}"#, true), Ok(Command::Write(b"\x1bOA".to_vec())));
        assert_eq!(
            parse_text_frame(r#"{"type":"resize","cols":50,"rows":20}"#, false),
            Ok(Command::Resize { cols: 50, rows: 20 })
        );
        assert_eq!(
            parse_text_frame(r#"{"type":"approve","id":"a","decision":"deny","message":"no"}"#, false),
            Ok(Command::Approve { id: "a".into(), answer: ApprovalDecision::Deny, message: Some("no".into()) })
        );
    }

    #[test]
    fn bad_frames_are_refused_with_a_reason() {
        let code = |text: &str| parse_text_frame(text, false).map_err(|r| r.code);
        assert_eq!(code("{"), Err(ErrorCode::BadFrame));
        assert_eq!(code(r#"{"type":"key","key":"Hyper"}"#), Err(ErrorCode::BadFrame));
        assert_eq!(code(r#"{"type":"resize","cols":0,"rows":0}"#), Err(ErrorCode::InvalidSize));
        assert_eq!(code(r#"{"type":"resize","cols":80,"rows":70000}"#), Err(ErrorCode::BadFrame));
        let huge = format!(r#"{{"type":"input","data":"{}"}}"#, "x".repeat(MAX_CLIENT_FRAME_BYTES));
        assert_eq!(code(&huge), Err(ErrorCode::FrameTooLarge));
    }
}
