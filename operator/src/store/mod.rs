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
//! [`audit`](AuditRow), [`push subscriptions`](PushSubscriptionRow) and settings.

mod accounts;
mod audit;
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

use sqlx::AnyPool;
use sqlx::{Any, Transaction};
use tokio::sync::{Mutex, MutexGuard};

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

    /// Takes this process's SQLite write lock (no-op for PostgreSQL). Hold the guard for the
    /// whole write.
    async fn write_guard(&self) -> Option<MutexGuard<'_, ()>> {
        match self.backend {
            Backend::Sqlite => Some(self.write_lock.lock().await),
            Backend::Postgres => None,
        }
    }

    /// Begins a transaction that will write: `BEGIN IMMEDIATE` on SQLite, so that the write lock
    /// is taken up front rather than on the first write (which can fail with `SQLITE_BUSY`).
    async fn begin_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(tx)
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
