//! The `session_events` table: a session's history of notable happenings (state changes,
//! approvals, rate limits, …) as JSON, read incrementally by id.

use chrono::{DateTime, Utc};
use cockpit_api::ids::SessionId;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::codec::{from_json, ms, time, to_json};
use super::error::of_session;
use super::{Store, StoreError};

/// One stored session event.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    /// Increasing id (across all sessions); pass the last one seen as `after_id`.
    pub id: i64,
    /// The session it belongs to.
    pub session_id: SessionId,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What kind of event (free-form, e.g. `activity`).
    pub kind: String,
    /// The event's payload.
    pub data: serde_json::Value,
}

impl EventRow {
    /// Decodes an `id, session_id, at, kind, data` row.
    fn from_row(row: &AnyRow) -> Result<EventRow, StoreError> {
        let id: i64 = row.try_get("id")?;
        Ok(EventRow {
            session_id: row.try_get::<String, _>("session_id")?.into(),
            at: time(row.try_get("at")?, &format!("session_events.at of {id}"))?,
            kind: row.try_get("kind")?,
            data: from_json(&row.try_get::<String, _>("data")?, &format!("session_events.data of {id}"))?,
            id,
        })
    }
}

impl Store {
    /// Appends an event to a session's history and returns its id. [`StoreError::NotFound`] for
    /// an unknown session.
    pub async fn append_event(
        &self,
        session_id: &SessionId,
        at: DateTime<Utc>,
        kind: &str,
        data: &serde_json::Value,
    ) -> Result<i64, StoreError> {
        let data = to_json(data, "event data")?;
        self.written(async {
            let result = sqlx::query_scalar::<_, i64>(
                "INSERT INTO session_events (session_id, at, kind, data) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(session_id.as_str())
            .bind(ms(at))
            .bind(kind)
            .bind(data)
            .fetch_one(&self.pool)
            .await;
            of_session(result, session_id)
        })
        .await
    }

    /// Removes one event of a session (a note recorded for an answer that could not be
    /// delivered after all). Removing one that is not there changes nothing.
    pub async fn delete_event(&self, session_id: &SessionId, id: i64) -> Result<(), StoreError> {
        self.written(async {
            sqlx::query("DELETE FROM session_events WHERE session_id = $1 AND id = $2")
                .bind(session_id.as_str())
                .bind(id)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    /// At most `limit` events of a session with an id above `after_id`, oldest first (pass 0 to
    /// start from the beginning).
    pub async fn list_events(
        &self,
        session_id: &SessionId,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<EventRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, session_id, at, kind, data FROM session_events \
             WHERE session_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(session_id.as_str())
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(EventRow::from_row).collect()
    }

    /// Like [`Store::list_events`], of one kind only (the conversation's notes).
    pub async fn list_events_of_kind(
        &self,
        session_id: &SessionId,
        kind: &str,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<EventRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, session_id, at, kind, data FROM session_events \
             WHERE session_id = $1 AND kind = $2 AND id > $3 ORDER BY id LIMIT $4",
        )
        .bind(session_id.as_str())
        .bind(kind)
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(EventRow::from_row).collect()
    }
}
