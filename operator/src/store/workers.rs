//! The `workers` table: the worker process currently serving a session, so that a restarted
//! control plane can find and re-adopt it.

use chrono::{DateTime, Utc};
use cockpit_api::ids::SessionId;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::codec::{ms, time};
use super::error::of_session;
use super::{Store, StoreError};

/// The worker serving one session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerRow {
    /// The worker's process id (local runtime).
    pub pid: i64,
    /// Where the worker serves its WebSocket (`host:port`).
    pub endpoint: String,
    /// The account the worker's CLI runs under.
    pub account: String,
    /// The session's absolute output offset at which this worker's own offset 0 lies.
    pub base_offset: i64,
    /// When the worker was started.
    pub started_at: DateTime<Utc>,
}

impl WorkerRow {
    /// Decodes a `session_id, pid, endpoint, account, base_offset, started_at` row.
    fn from_row(row: &AnyRow) -> Result<(SessionId, WorkerRow), StoreError> {
        let session_id: String = row.try_get("session_id")?;
        let started_at = time(row.try_get("started_at")?, &format!("workers.started_at of {session_id:?}"))?;
        let worker = WorkerRow {
            pid: row.try_get("pid")?,
            endpoint: row.try_get("endpoint")?,
            account: row.try_get("account")?,
            base_offset: row.try_get("base_offset")?,
            started_at,
        };
        Ok((session_id.into(), worker))
    }
}

impl Store {
    /// Records (or replaces) the worker of a session. [`StoreError::NotFound`] for an unknown
    /// session.
    pub async fn set_worker(&self, session_id: &SessionId, worker: &WorkerRow) -> Result<(), StoreError> {
        self.written(async {
            let result = sqlx::query(
                "INSERT INTO workers (session_id, pid, endpoint, account, base_offset, started_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (session_id) DO UPDATE SET pid = excluded.pid, endpoint = excluded.endpoint, \
             account = excluded.account, base_offset = excluded.base_offset, started_at = excluded.started_at",
            )
            .bind(session_id.as_str())
            .bind(worker.pid)
            .bind(&worker.endpoint)
            .bind(&worker.account)
            .bind(worker.base_offset)
            .bind(ms(worker.started_at))
            .execute(&self.pool)
            .await;
            of_session(result, session_id).map(drop)
        })
        .await
    }

    /// Sets the offset base of a session's worker (`session offset = base + worker offset`),
    /// after the stream had to skip or leave offsets unused. No worker row: nothing to do.
    pub async fn set_worker_base(&self, session_id: &SessionId, base: i64) -> Result<(), StoreError> {
        self.written(async {
            sqlx::query("UPDATE workers SET base_offset = $2 WHERE session_id = $1")
                .bind(session_id.as_str())
                .bind(base)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    /// The worker recorded for a session, if any.
    pub async fn get_worker(&self, session_id: &SessionId) -> Result<Option<WorkerRow>, StoreError> {
        let row = sqlx::query(
            "SELECT session_id, pid, endpoint, account, base_offset, started_at FROM workers WHERE session_id = $1",
        )
        .bind(session_id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(WorkerRow::from_row).transpose()?.map(|(_, w)| w))
    }

    /// Forgets the worker of a session; true when there was one.
    pub async fn clear_worker(&self, session_id: &SessionId) -> Result<bool, StoreError> {
        self.written(async {
            let done = sqlx::query("DELETE FROM workers WHERE session_id = $1")
                .bind(session_id.as_str())
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    /// Every recorded worker as `(session_id, worker)`, ordered by session id.
    pub async fn list_workers(&self) -> Result<Vec<(SessionId, WorkerRow)>, StoreError> {
        let rows = sqlx::query(
            "SELECT session_id, pid, endpoint, account, base_offset, started_at FROM workers ORDER BY session_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(WorkerRow::from_row).collect()
    }
}
