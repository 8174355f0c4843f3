//! The `audit` table: who did what, from the gateway's point of view.

use chrono::{DateTime, Utc};
use cockpit_api::ids::SessionId;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::codec::{from_json, ms, time, to_json};
use super::{Store, StoreError};

/// One audit record.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRow {
    /// Increasing id.
    pub id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it: the `Tailscale-User-Login` of the request, when known.
    pub actor: Option<String>,
    /// What was done, e.g. `session.create`.
    pub action: String,
    /// The session concerned, if any (not checked against the sessions table).
    pub session_id: Option<SessionId>,
    /// Details as JSON.
    pub detail: serde_json::Value,
}

impl AuditRow {
    /// Decodes an `id, at, actor, action, session_id, detail` row.
    fn from_row(row: &AnyRow) -> Result<AuditRow, StoreError> {
        let id: i64 = row.try_get("id")?;
        Ok(AuditRow {
            at: time(row.try_get("at")?, &format!("audit.at of {id}"))?,
            actor: row.try_get("actor")?,
            action: row.try_get("action")?,
            session_id: row.try_get::<Option<String>, _>("session_id")?.map(SessionId::from),
            detail: from_json(&row.try_get::<String, _>("detail")?, &format!("audit.detail of {id}"))?,
            id,
        })
    }
}

impl Store {
    /// Records an audit entry and returns its id.
    pub async fn audit(
        &self,
        at: DateTime<Utc>,
        actor: Option<&str>,
        action: &str,
        session_id: Option<&SessionId>,
        detail: &serde_json::Value,
    ) -> Result<i64, StoreError> {
        let detail = to_json(detail, "audit detail")?;
        self.written(async {
            let id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO audit (at, actor, action, session_id, detail) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(ms(at))
            .bind(actor)
            .bind(action)
            .bind(session_id.map(SessionId::as_str))
            .bind(detail)
            .fetch_one(&self.pool)
            .await?;
            Ok(id)
        })
        .await
    }

    /// The `limit` most recent audit entries, newest first.
    pub async fn list_audit(&self, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        let rows = sqlx::query("SELECT id, at, actor, action, session_id, detail FROM audit ORDER BY id DESC LIMIT $1")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(AuditRow::from_row).collect()
    }
}
