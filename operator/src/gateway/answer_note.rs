//! The conversation note of an approval answered from Cockpit (the REST answer or the
//! terminal's approve frame). It is recorded before the answer goes to the worker, so it comes
//! before every transcript line the answer causes: live and on a later re-read alike.

use chrono::Utc;
use cockpit_api::ids::SessionId;

use crate::conversation::notes::NOTE_KIND;
use crate::store::Store;

/// Records the note; its id, or `None` when the database refused (logged: the answer itself
/// still goes to the worker).
pub async fn record(store: &Store, session_id: &SessionId, note: &serde_json::Value) -> Option<i64> {
    match store.append_event(session_id, Utc::now(), NOTE_KIND, note).await {
        Ok(id) => Some(id),
        Err(err) => {
            tracing::warn!(%err, session = %session_id, "recording an approval in the conversation");
            None
        }
    }
}

/// Takes back a recorded note whose answer could not be delivered after all.
pub async fn withdraw(store: &Store, session_id: &SessionId, id: Option<i64>) {
    let Some(id) = id else { return };
    if let Err(err) = store.delete_event(session_id, id).await {
        tracing::warn!(%err, session = %session_id, "withdrawing an undelivered approval's note");
    }
}
