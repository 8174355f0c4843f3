//! `WS /ws/sessions/{id}?from=OFFSET`: the session's terminal for any number of clients, each
//! resuming from its own offset, relayed over one upstream connection per live worker; after
//! the worker ended, the persisted output is replayed.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket};
use axum::extract::{Path, Query, State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use cockpit_api::frames::{ClientFrame, ErrorCode, PROTOCOL_VERSION, ServerFrame};
use cockpit_api::{Activity, WorkerState};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message as UpMessage;

use super::error::Failure;
use super::ws_audit::{Auditor, FLUSH_EVERY, Typed};
use crate::app::App;
use crate::store::SessionRow;
use crate::stream::SessionStream;

/// The upgrade handler.
pub async fn upgrade(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, Failure> {
    let from = match query.get("from").map(|f| f.parse::<u64>()) {
        None => None,
        Some(Ok(offset)) => Some(offset),
        Some(Err(_)) => return Err(Failure::bad_request("`from` must be a byte offset (a non-negative integer)")),
    };
    if let Some(unknown) = query.keys().find(|k| k.as_str() != "from") {
        return Err(Failure::bad_request(format!("unknown query parameter {unknown:?}")));
    }
    let row = super::sessions::find(&app, &id).await?;
    let stream = app.streams.stream(&row.id).await?;
    let auditor =
        Auditor { store: app.store.clone(), actor: super::security::actor(&headers), session_id: row.id.clone() };
    let stopping = app.shutdown.subscribe();
    Ok(upgrade
        .max_message_size(1 << 20)
        .read_buffer_size(4 * 1024)
        .on_upgrade(move |socket| serve(socket, row, stream, from, auditor, stopping))
        .into_response())
}

/// The state shown for a session whose worker is not (or no longer) connected.
fn state_from_row(row: &SessionRow, stream: &SessionStream) -> WorkerState {
    let mut state = stream.state().unwrap_or_else(|| WorkerState {
        activity: if row.status.phase.is_terminal() {
            Activity::Exited
        } else {
            row.status.activity.unwrap_or(Activity::Starting)
        },
        activity_since: row.updated_at,
        mode: row.spec.mode,
        claude_session_id: row.status.claude_session_id.clone(),
        cols: 120,
        rows: 40,
        start_offset: 0,
        end_offset: 0,
        rate_limit: row.status.rate_limit.clone(),
        approval: None,
        exit_code: row.status.exit_code,
        last_prompt: None,
        permission_mode: row.spec.permission_mode,
        report: None,
        last_denial: row.status.last_denial.clone(),
        last_message: row.status.last_message.clone(),
        oneshot_result: None,
        source: "store".into(),
    });
    state.end_offset = stream.end_offset();
    state
}

async fn send_json(sink: &mut futures_util::stream::SplitSink<WebSocket, Message>, frame: &ServerFrame) -> bool {
    match serde_json::to_string(frame) {
        Ok(text) => sink.send(Message::Text(text.into())).await.is_ok(),
        Err(_) => false,
    }
}

fn error(code: ErrorCode, message: impl Into<String>) -> ServerFrame {
    ServerFrame::Error { code, message: message.into() }
}

async fn serve(
    socket: WebSocket,
    row: SessionRow,
    stream: Arc<SessionStream>,
    from: Option<u64>,
    auditor: Auditor,
    stopping: watch::Receiver<bool>,
) {
    let mut typed = Typed::default();
    relay(socket, &row, &stream, from, &auditor, &mut typed, stopping).await;
    if let Some(detail) = typed.take() {
        auditor.write("input", detail).await;
    }
}

/// Relays one client's connection until either side ends it; what the client sends to the CLI
/// is counted in `typed` (approvals are audited at once).
async fn relay(
    socket: WebSocket,
    row: &SessionRow,
    stream: &SessionStream,
    from: Option<u64>,
    auditor: &Auditor,
    typed: &mut Typed,
    mut stopping: watch::Receiver<bool>,
) {
    let (mut sink, source) = socket.split();
    // The client's frames are read by a task of their own, woken only when the client sends:
    // polled from the loop below, the socket would be tried (and its read buffer cleared) at
    // every output frame. The task ends with the relay.
    let (incoming_tx, mut incoming_rx) = tokio::sync::mpsc::channel(1);
    let mut reader = tokio::task::JoinSet::new();
    reader.spawn(read_client(source, incoming_tx));
    let mut state_rx = stream.watch_state();
    state_rx.mark_unchanged();
    let hello = ServerFrame::Hello { protocol: PROTOCOL_VERSION, state: state_from_row(row, stream) };
    if !send_json(&mut sink, &hello).await {
        return;
    }
    let attach = stream.attach(from);
    if let Some(snapshot) = attach.snapshot
        && sink.send(Message::Binary(snapshot)).await.is_err()
    {
        return;
    }
    let (mut next, mut caught_up) = (attach.next, attach.caught_up);
    let (held, mut oneshot) = stream.oneshot_events();
    for event in held {
        if sink.send(Message::Text(event.as_ref().into())).await.is_err() {
            return;
        }
    }
    let mut end_rx = stream.watch_end();
    let mut flush = tokio::time::interval_at(tokio::time::Instant::now() + FLUSH_EVERY, FLUSH_EVERY);
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            incoming = incoming_rx.recv() => {
                let Some(message) = incoming else { break };
                if let Some(reply) = forward(row, stream, message, auditor, typed).await
                    && !send_json(&mut sink, &reply).await {
                        break;
                    }
            }
            // The control plane stops: "restarting" (1012), so the phone shows Reconnecting at
            // once and comes back when the control plane does.
            _ = async { let _ = stopping.wait_for(|s| *s).await; } => {
                let close = axum::extract::ws::CloseFrame { code: 1012, reason: "restarting".into() };
                let _ = sink.send(Message::Close(Some(close))).await;
                break;
            }
            _ = flush.tick() => {
                if let Some(detail) = typed.take() {
                    auditor.record("input", detail);
                }
            }
            ready = output_after(&mut end_rx, next) => {
                if ready.is_err() {
                    break;
                }
                match stream.next_frame(next, caught_up).await {
                    Ok(Some(out)) => {
                        next = out.next;
                        if !send_binary(&mut sink, out.frames).await {
                            break;
                        }
                        caught_up = caught_up || out.at_end;
                    }
                    Ok(None) => {}
                    Err(err) => {
                        tracing::warn!(session = %row.id, "reading output: {err:#}");
                        let _ = send_json(&mut sink, &error(ErrorCode::NotAccepted, "the session's output could not be read")).await;
                        break;
                    }
                }
            }
            event = oneshot.recv() => match event {
                Ok(text) => {
                    if sink.send(Message::Text(text.as_ref().into())).await.is_err() {
                        break;
                    }
                }
                // A client that missed events reads them from the transcript.
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            },
            changed = state_rx.changed() => {
                if changed.is_err() {
                    break;
                }
                state_rx.mark_unchanged();
                let state = state_from_row(row, stream);
                if !send_json(&mut sink, &ServerFrame::State { state }).await {
                    break;
                }
            }
        }
    }
}

/// Hands the client's frames to the relay, in order, until the client closes, fails or the
/// relay is gone.
async fn read_client(
    mut source: futures_util::stream::SplitStream<WebSocket>,
    incoming: tokio::sync::mpsc::Sender<Message>,
) {
    while let Some(Ok(message)) = source.next().await {
        if incoming.send(message).await.is_err() {
            break;
        }
    }
}

/// Sends binary frames one by one (each flushed: none waits in the connection's write buffer);
/// false once the client is gone.
async fn send_binary(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    frames: Vec<bytes::Bytes>,
) -> bool {
    for frame in frames {
        if sink.send(Message::Binary(frame)).await.is_err() {
            return false;
        }
    }
    true
}

/// Resolves when the stream's end (as its watch last said) is past `next`, at once if it
/// already is.
async fn output_after(end: &mut watch::Receiver<u64>, next: u64) -> Result<(), RecvError> {
    while *end.borrow_and_update() <= next {
        end.changed().await.map_err(|_| RecvError::Closed)?;
    }
    Ok(())
}

/// Validates a client frame and forwards it to the worker (waiting while the worker is behind:
/// the client is read no faster than the worker takes its input), counting it for the audit
/// log; returns an error frame to send back when it is refused (nothing is forwarded then).
async fn forward(
    row: &SessionRow,
    stream: &SessionStream,
    message: Message,
    auditor: &Auditor,
    typed: &mut Typed,
) -> Option<ServerFrame> {
    let (upstream, frame) = match message {
        Message::Text(text) => {
            let frame = match ClientFrame::parse(text.as_str()) {
                Ok(frame) => frame,
                Err(refusal) => return Some(error(refusal.code, refusal.message)),
            };
            if let ClientFrame::Approve { id, .. } = &frame {
                let pending = stream.state().and_then(|s| s.approval).is_some_and(|a| a.id == *id && a.answerable);
                if !pending {
                    return Some(error(
                        ErrorCode::NoPendingApproval,
                        format!("no pending permission request with id {id:?}"),
                    ));
                }
            }
            (UpMessage::Text(text.as_str().into()), Some(frame))
        }
        Message::Binary(bytes) => {
            if bytes.len() > cockpit_api::frames::MAX_CLIENT_FRAME_BYTES {
                return Some(error(ErrorCode::FrameTooLarge, "input frame too large"));
            }
            (UpMessage::Binary(bytes.to_vec().into()), None)
        }
        _ => return None,
    };
    if row.spec.mode == cockpit_api::SessionMode::Oneshot {
        return Some(error(ErrorCode::NotAccepted, "a one-shot session takes no input"));
    }
    let raw_len = match &upstream {
        UpMessage::Binary(bytes) => bytes.len(),
        _ => 0,
    };
    // The request answered, taken before the answer can clear it.
    let answer_note = match &frame {
        Some(ClientFrame::Approve { id, decision, message }) => stream
            .state()
            .and_then(|s| s.approval)
            .filter(|a| &a.id == id && a.answerable)
            .map(|pending| crate::conversation::notes::answer_note(&pending, *decision, message.as_deref())),
        _ => None,
    };
    // The note is in the conversation before the CLI can act on the answer.
    let recorded = match &answer_note {
        Some(note) => super::answer_note::record(&auditor.store, &auditor.session_id, note).await,
        None => None,
    };
    if let Err(refused) = stream.send_upstream(upstream).await {
        super::answer_note::withdraw(&auditor.store, &auditor.session_id, recorded).await;
        return Some(error(ErrorCode::NotAccepted, refused.to_string()));
    }
    match frame {
        Some(frame) => {
            if let Some(approval) = typed.count(&frame) {
                auditor.record("approval", approval);
            }
        }
        None => typed.count_raw(raw_len),
    }
    None
}
