//! The notifier: follows the change feed, remembers where each session was, and sends the
//! notifications [`notification`] calls for to every subscribed device, one notification at
//! a time (in order: a newer one with the same tag replaces an older one) and each to
//! [`super::send::CONCURRENCY`] devices at once.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use cockpit_api::api::ChangeEvent;
use cockpit_api::ids::SessionId;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

use super::rules::{Notification, Seen, notification, seen};
use super::send::deliver_all;
use super::vapid::{Vapid, VapidError};
use crate::app::App;

/// Notifications waiting to be sent; more are dropped (with a warning) rather than piling up
/// behind an unreachable push service.
const QUEUE: usize = 256;

/// Loads (or makes) the VAPID key, subscribes to the change feed and starts the notifier.
/// Call before anything announces changes, so that none is missed.
pub async fn start(app: Arc<App>) -> Result<JoinHandle<()>, VapidError> {
    let changes = app.changes.subscribe();
    let vapid = Vapid::load_or_create(&app.store).await?;
    let subject = super::subject(&app.config);
    if subject == super::vapid::FALLBACK_SUBJECT {
        tracing::info!(
            "Web Push signs as {subject:?}; Apple's push service (iPhones) refuses it: set {} to a mailto: address of yours",
            super::vapid::SUBJECT_ENV
        );
    }
    Ok(tokio::spawn(run(app, vapid, subject, changes)))
}

/// The notifier's loop (until the change feed closes).
pub async fn run(app: Arc<App>, vapid: Vapid, subject: String, mut changes: broadcast::Receiver<ChangeEvent>) {
    let (queue, mut pending) = mpsc::channel::<Notification>(QUEUE);
    let sender = {
        let app = app.clone();
        tokio::spawn(async move {
            while let Some(notification) = pending.recv().await {
                let report = deliver_all(&vapid, &subject, &app.store, &notification).await;
                tracing::debug!(tag = %notification.tag, ?report, "notification sent");
            }
        })
    };
    // Where every session is now: a session that already needed the person before this start
    // (a restart) is not news.
    let mut known: HashMap<SessionId, Seen> = HashMap::new();
    match app.store.list_sessions(false).await {
        Ok(rows) => {
            for row in rows {
                known.insert(row.id.clone(), seen(&app.session_view(&row)));
            }
        }
        Err(err) => tracing::warn!("reading the sessions for notifications: {err}"),
    }
    loop {
        match changes.recv().await {
            Ok(ChangeEvent::Session { session }) => {
                let previous = known.insert(session.id.clone(), seen(&session));
                if let Some(notification) = notification(previous, &session, Utc::now())
                    && queue.try_send(notification).is_err()
                {
                    tracing::warn!(session = %session.name, "too many notifications waiting; dropped one");
                }
            }
            Ok(ChangeEvent::SessionDeleted { id }) => {
                known.remove(&id);
            }
            Ok(ChangeEvent::Account { .. }) => {}
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "the notifier fell behind the change feed; some changes were not seen");
            }
            Err(broadcast::error::RecvError::Closed) => break,
        }
    }
    drop(queue);
    let _ = sender.await;
}
