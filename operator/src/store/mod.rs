//! Persistence (sqlx): SQLite by default, PostgreSQL when `DATABASE_URL` says so.
//!
//! [`Store`] is the one entry point: [`Store::connect`] opens the database named by a URL,
//! applies the embedded migrations of its dialect (`operator/migrations/{sqlite,postgres}`) and
//! hands back a cheap-to-clone handle over a connection pool. The same SQL runs on both
//! dialects through sqlx's `Any` driver (`$1`-style parameters work on both).
//!
//! Conventions: times are stored as unix milliseconds and exposed as `DateTime<Utc>` (so they
//! come back truncated to the millisecond); JSON is stored as TEXT; terminal output as
//! BLOB/BYTEA. Every method that changes data either changes it completely or returns an error
//! and changes nothing.
//!
//! The tables and their methods live in one submodule each: [`sessions`](SessionRow),
//! [`workers`](WorkerRow), [`events`](EventRow), output, [`accounts`](AccountRow),
//! [`audit`](AuditRow), [`push subscriptions`](PushSubscriptionRow) and settings. A SQLite
//! store checkpoints its WAL from a task of its own ([`checkpoint`]), never inside a write.

mod accounts;
mod audit;
mod checkpoint;
mod codec;
mod connect;
mod error;
mod events;
mod output;
mod push;
mod sessions;
mod settings;
mod workers;

use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool};
use tokio::sync::Mutex;

pub use accounts::AccountRow;
pub use audit::AuditRow;
pub use error::{StoreError, redact_url};
pub use events::EventRow;
pub use push::PushSubscriptionRow;
pub use sessions::SessionRow;
pub use workers::WorkerRow;

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// A SQLite file (`sqlite://PATH`), the embedded default.
    Sqlite,
    /// A PostgreSQL server (`postgres://…` or `postgresql://…`).
    Postgres,
}

impl Backend {
    /// The backend a database URL names, from its scheme; `None` for any other scheme.
    pub fn from_url(url: &str) -> Option<Backend> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" | "postgresql" => Some(Backend::Postgres),
            _ => None,
        }
    }

    /// `sqlite` or `postgres`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The control plane's database: a connection pool plus the methods of every table. Cloning is
/// cheap and every clone shares the pool.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The URL with its password redacted (for `Debug` and logs).
    url: Arc<str>,
    /// SQLite has a single writer: this process's writers queue here instead of spinning in
    /// SQLite's busy handler. Unused for PostgreSQL.
    write_lock: Arc<Mutex<()>>,
    /// Why the last write failed, while writes fail (a full disk, a lost server); cleared by
    /// the next write that succeeds.
    write_failure: Arc<std::sync::Mutex<Option<String>>>,
    /// SQLite: the task that checkpoints the WAL after writes (see [`checkpoint`]).
    checkpointer: Option<Arc<checkpoint::Checkpointer>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend).field("url", &self.url).finish_non_exhaustive()
    }
}

impl Store {
    /// Which database this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The database URL with its password replaced by `***`.
    pub fn redacted_url(&self) -> &str {
        &self.url
    }

    /// Closes every connection of the pool (every clone of this store stops working). Waits for
    /// connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Why writes fail now (the last write's database error), or `None` while they succeed.
    /// `/api/health` reports it.
    pub fn write_failure(&self) -> Option<String> {
        self.write_failure.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Runs one write: under this process's SQLite write lock (SQLite has a single writer; a
    /// no-op for PostgreSQL), noting whether the database took it. An error of the database
    /// itself (a full disk, a lost connection) marks the store degraded until a write succeeds;
    /// a refused argument or a missing row says nothing of its health.
    async fn written<T>(&self, write: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        let _guard = match self.backend {
            Backend::Sqlite => Some(self.write_lock.lock().await),
            Backend::Postgres => None,
        };
        let result = write.await;
        let mut failure = self.write_failure.lock().unwrap_or_else(|p| p.into_inner());
        match &result {
            Ok(_) => {
                if let Some(checkpointer) = &self.checkpointer {
                    checkpointer.wrote();
                }
                if failure.take().is_some() {
                    tracing::info!("database writes succeed again");
                }
            }
            Err(err @ (StoreError::Database(_) | StoreError::Io { .. })) => {
                if failure.is_none() {
                    tracing::warn!("database writes fail: {err}");
                }
                *failure = Some(err.to_string());
            }
            Err(_) => {}
        }
        result
    }

    /// Begins a write transaction on one pooled connection: `BEGIN IMMEDIATE` on SQLite (the
    /// write lock up front rather than on the first write, which can fail with `SQLITE_BUSY`).
    async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let begin = match self.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        sqlx::raw_sql(begin).execute(&mut *conn).await?;
        Ok(WriteTx { conn, open: true })
    }
}

/// A write transaction begun and ended by plain statements on one pooled connection, so that
/// no failure can return the connection to the pool inside a transaction: a COMMIT that fails
/// (a full disk) is rolled back, and a connection that cannot roll back, or a transaction
/// dropped unfinished, is closed instead of reused. (sqlx's own `Transaction` leaves such a
/// connection counting a transaction that no longer exists, and every later `begin` on it
/// fails.)
pub(crate) struct WriteTx {
    conn: PoolConnection<Any>,
    open: bool,
}

impl WriteTx {
    /// The connection, for the transaction's statements.
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }

    /// Commits; on failure the transaction is rolled back (or the connection closed).
    pub(crate) async fn commit(mut self) -> Result<(), sqlx::Error> {
        match sqlx::raw_sql("COMMIT").execute(&mut *self.conn).await {
            Ok(_) => {
                self.open = false;
                Ok(())
            }
            Err(e) => {
                self.rollback().await;
                Err(e)
            }
        }
    }

    /// Rolls back; a connection that cannot is closed instead of going back to the pool.
    pub(crate) async fn rollback(&mut self) {
        if self.open && sqlx::raw_sql("ROLLBACK").execute(&mut *self.conn).await.is_err() {
            // SQLite ends a transaction by itself on some errors (a full disk): then there is
            // nothing to roll back, and the connection is fine if it answers.
            if sqlx::raw_sql("SELECT 1").execute(&mut *self.conn).await.is_err() {
                self.conn.close_on_drop();
            }
        }
        self.open = false;
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if self.open {
            self.conn.close_on_drop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Backend;

    #[test]
    fn backend_from_scheme() {
        assert_eq!(Backend::from_url("sqlite:///tmp/x.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("sqlite:x.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("postgres://u@h/db"), Some(Backend::Postgres));
        assert_eq!(Backend::from_url("PostgreSQL://u@h/db"), Some(Backend::Postgres));
        assert_eq!(Backend::from_url("mysql://u@h/db"), None);
        assert_eq!(Backend::from_url("/tmp/x.db"), None);
    }
}
