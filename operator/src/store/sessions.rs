//! The `sessions` table: one row per Claude session, soft-deleted.

use chrono::{DateTime, Utc};
use cockpit_api::ids::SessionId;
use cockpit_api::{ClaudeSessionSpec, ClaudeSessionStatus};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::codec::{from_json, ms, opt_ms, opt_time, time, to_json};
use super::error::{changed, is_unique_violation};
use super::{Store, StoreError};

/// One session as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionRow {
    /// Primary key (a UUID in text form locally, the `ClaudeSession`'s uid in Kubernetes).
    pub id: SessionId,
    /// The session's name; unique among the sessions that are not deleted.
    pub name: String,
    /// The repo name (the same as `spec.repo`, kept as a column for queries).
    pub repo: String,
    /// What was asked for.
    pub spec: ClaudeSessionSpec,
    /// What was last observed.
    pub status: ClaudeSessionStatus,
    /// When the session was created.
    pub created_at: DateTime<Utc>,
    /// When the row last changed.
    pub updated_at: DateTime<Utc>,
    /// When the session was deleted; `None` while it is live.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// `SELECT` of every session column, followed by `$tail`.
macro_rules! select_sessions {
    ($tail:literal) => {
        concat!("SELECT id, name, repo, spec, status, created_at, updated_at, deleted_at FROM sessions ", $tail)
    };
}

impl SessionRow {
    /// Decodes a row selected with `select_sessions!`.
    fn from_row(row: &AnyRow) -> Result<SessionRow, StoreError> {
        let id: String = row.try_get("id")?;
        let what = |col: &str| format!("sessions.{col} of {id:?}");
        Ok(SessionRow {
            name: row.try_get("name")?,
            repo: row.try_get("repo")?,
            spec: from_json(&row.try_get::<String, _>("spec")?, &what("spec"))?,
            status: from_json(&row.try_get::<String, _>("status")?, &what("status"))?,
            created_at: time(row.try_get("created_at")?, &what("created_at"))?,
            updated_at: time(row.try_get("updated_at")?, &what("updated_at"))?,
            deleted_at: opt_time(row.try_get("deleted_at")?, &what("deleted_at"))?,
            id: id.into(),
        })
    }
}

impl Store {
    /// Stores a new session. [`StoreError::Duplicate`] (and nothing stored) when the id is taken
    /// or a live session already has the name.
    pub async fn insert_session(&self, row: &SessionRow) -> Result<(), StoreError> {
        let spec = to_json(&row.spec, "session spec")?;
        let status = to_json(&row.status, "session status")?;
        self.written(async {
            let result = sqlx::query(
                "INSERT INTO sessions (id, name, repo, spec, status, created_at, updated_at, deleted_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(row.id.as_str())
            .bind(&row.name)
            .bind(&row.repo)
            .bind(spec)
            .bind(status)
            .bind(ms(row.created_at))
            .bind(ms(row.updated_at))
            .bind(opt_ms(row.deleted_at))
            .execute(&self.pool)
            .await;
            match result {
                Ok(_) => Ok(()),
                Err(e) if is_unique_violation(&e) => {
                    let id_taken = self.session_exists(&row.id).await?;
                    let what = if id_taken {
                        format!("session id {:?}", row.id)
                    } else {
                        format!("a live session named {:?}", row.name)
                    };
                    Err(StoreError::Duplicate { what })
                }
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// The session with this id (live or deleted), if any.
    pub async fn get_session(&self, id: &SessionId) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query(select_sessions!("WHERE id = $1")).bind(id.as_str()).fetch_optional(&self.pool).await?;
        row.as_ref().map(SessionRow::from_row).transpose()
    }

    /// The live (not deleted) session with this name, if any.
    pub async fn get_session_by_name(&self, name: &str) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query(select_sessions!("WHERE name = $1 AND deleted_at IS NULL"))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(SessionRow::from_row).transpose()
    }

    /// Every session, newest first; deleted ones only when `include_deleted`.
    pub async fn list_sessions(&self, include_deleted: bool) -> Result<Vec<SessionRow>, StoreError> {
        let rows = if include_deleted {
            sqlx::query(select_sessions!("ORDER BY created_at DESC, id DESC")).fetch_all(&self.pool).await?
        } else {
            sqlx::query(select_sessions!("WHERE deleted_at IS NULL ORDER BY created_at DESC, id DESC"))
                .fetch_all(&self.pool)
                .await?
        };
        rows.iter().map(SessionRow::from_row).collect()
    }

    /// Replaces a session's status and sets `updated_at`. [`StoreError::NotFound`] for an
    /// unknown id.
    pub async fn update_status(
        &self,
        id: &SessionId,
        status: &ClaudeSessionStatus,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let status = to_json(status, "session status")?;
        self.written(async {
            let done = sqlx::query("UPDATE sessions SET status = $2, updated_at = $3 WHERE id = $1")
                .bind(id.as_str())
                .bind(status)
                .bind(ms(at))
                .execute(&self.pool)
                .await?;
            changed(&done, || format!("session {id:?}"))
        })
        .await
    }

    /// Marks a session deleted at `at` (its name becomes free again; the row, its events and
    /// output stay). Deleting a deleted session changes nothing and succeeds;
    /// [`StoreError::NotFound`] for an unknown id.
    pub async fn mark_deleted(&self, id: &SessionId, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.written(async {
            let done = sqlx::query(
                "UPDATE sessions SET deleted_at = $2, updated_at = $2 WHERE id = $1 AND deleted_at IS NULL",
            )
            .bind(id.as_str())
            .bind(ms(at))
            .execute(&self.pool)
            .await?;
            if done.rows_affected() == 0 && !self.session_exists(id).await? {
                return Err(StoreError::NotFound { what: format!("session {id:?}") });
            }
            Ok(())
        })
        .await
    }

    /// True when a session (live or deleted) has this id.
    async fn session_exists(&self, id: &SessionId) -> Result<bool, StoreError> {
        let found =
            sqlx::query("SELECT id FROM sessions WHERE id = $1").bind(id.as_str()).fetch_optional(&self.pool).await?;
        Ok(found.is_some())
    }
}
