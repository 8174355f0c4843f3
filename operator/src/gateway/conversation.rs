//! `GET /api/sessions/{id}/conversation`: a session's conversation as a server-sent-events
//! stream. Each `entries` event carries a [`ConversationBatch`] and, as its SSE id, the cursor
//! after it: a reconnecting browser sends it back (`Last-Event-ID`, or `?after=`), and the
//! stream resumes there — nothing twice, nothing missing (`Last-Event-ID` wins over `after`).
//! A `restart` event tells the reader to drop what it holds (its cursor named another
//! transcript); the stream then starts over.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use cockpit_api::api::ChangeEvent;
use cockpit_api::conversation::ConversationCursor;
use cockpit_api::ids::SessionId;
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::error::Failure;
use super::query::Params;
use super::sessions::find;
use crate::app::App;
use crate::conversation::{Follower, Step};

/// How often the transcript is looked at for new lines while a reader is connected.
pub const POLL: Duration = Duration::from_millis(20);

/// Where to start.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct From {
    /// A cursor (`<offset>.<note id>`) from an earlier batch; absent: the whole conversation.
    #[serde(default)]
    after: Option<String>,
}

/// Opens the stream.
pub async fn stream(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Params(from): Params<From>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Failure> {
    let row = find(&app, &id).await?;
    let last_event_id = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    // A browser's own reconnect names the last event it got, later than any `after` in the URL.
    let cursor = match last_event_id.or(from.after.as_deref()) {
        Some(text) => text.parse::<ConversationCursor>().map_err(|e| Failure::bad_request(e.to_string()))?,
        None => ConversationCursor::default(),
    };
    let follower =
        Follower::new(row.id.clone(), app.data_dir.join("claude-home"), row.status.claude_session_id.clone(), cursor);
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(4);
    tokio::spawn(follow(app, row.id, follower, tx));
    let events = tokio_stream::StreamExt::map(tokio_stream::wrappers::ReceiverStream::new(rx), Ok::<Event, Infallible>);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Feeds one reader until it leaves or the control plane stops: new transcript lines as they
/// are written (looked for every [`POLL`]), notes when the session changes.
async fn follow(app: Arc<App>, session_id: SessionId, mut follower: Follower, tx: tokio::sync::mpsc::Sender<Event>) {
    let mut changes = app.changes.subscribe();
    let mut stopping = app.shutdown.subscribe();
    let mut notes_due = true;
    if tx.send(Event::default().event("ready").data("{}")).await.is_err() {
        return;
    }
    loop {
        match follower.step(&app.store, std::mem::take(&mut notes_due)).await {
            Ok(Step::Batch(batch)) => {
                let Ok(json) = serde_json::to_string(&batch) else { return };
                let event = Event::default().event("entries").id(batch.cursor.to_string()).data(json);
                if tx.send(event).await.is_err() {
                    return;
                }
                continue;
            }
            Ok(Step::Restart) => {
                if tx.send(Event::default().event("restart").data("{}")).await.is_err() {
                    return;
                }
                notes_due = true;
                continue;
            }
            Ok(Step::Idle) => {}
            Err(err) => {
                tracing::warn!(session = %session_id, %err, "following a conversation");
                notes_due = true;
            }
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            change = changes.recv() => match change {
                Ok(ChangeEvent::Session { session }) if session.id == session_id => {
                    follower.set_conversation(session.status.claude_session_id.clone());
                    notes_due = true;
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => notes_due = true,
                Err(RecvError::Closed) => return,
            },
            _ = stopping.wait_for(|s| *s) => return,
            () = tx.closed() => return,
        }
    }
}
