//! `GET /api/events`: a server-sent-events stream of session and account changes for the
//! session list.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use crate::app::App;

/// The change stream; a client that falls behind gets a `resync` event (reload the list).
pub async fn stream(State(app): State<Arc<App>>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut rx = app.changes.subscribe();
    let mut stopping = app.shutdown.subscribe();
    let events = async_stream(move |tx| async move {
        let _ = tx.send(Event::default().event("ready").data("{}")).await;
        loop {
            let received = tokio::select! {
                received = rx.recv() => received,
                // The control plane stops: the stream ends (the browser reconnects by itself).
                _ = stopping.wait_for(|s| *s) => break,
            };
            let event = match received {
                Ok(change) => match serde_json::to_string(&change) {
                    Ok(json) => Event::default().event("change").data(json),
                    Err(_) => continue,
                },
                Err(RecvError::Lagged(_)) => Event::default().event("resync").data("{}"),
                Err(RecvError::Closed) => break,
            };
            if tx.send(event).await.is_err() {
                break;
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// A stream fed by a task through a small channel.
fn async_stream<F, Fut>(body: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Event>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(body(tx));
    tokio_stream::StreamExt::map(tokio_stream::wrappers::ReceiverStream::new(rx), Ok)
}
