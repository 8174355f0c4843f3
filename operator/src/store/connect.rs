//! [`Store::connect`]: opening the database, preparing a SQLite file, applying migrations.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection, Executor};
use tokio::sync::Mutex;

use super::error::redact_url;
use super::{Backend, Store, StoreError};

/// The SQLite schema (`operator/migrations/sqlite`).
static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");
/// The PostgreSQL schema (`operator/migrations/postgres`).
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// How long a caller waits for a free pooled connection (and the first connect may take).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

impl Store {
    /// Opens the database named by `url` and brings its schema up to date.
    ///
    /// * `sqlite://PATH` (or `sqlite:PATH`): a SQLite file, created with its directory when
    ///   missing, in WAL mode with foreign keys enforced. In-memory databases are refused (the
    ///   pool would give every connection its own empty database).
    /// * `postgres://…` / `postgresql://…`: a PostgreSQL database that must already exist.
    ///
    /// Errors and logs only ever show the URL with its password redacted.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let redacted = redact_url(url);
        let backend = Backend::from_url(url).ok_or_else(|| StoreError::InvalidUrl {
            url: redacted.clone(),
            reason: "expected sqlite://PATH or postgres://…".to_owned(),
        })?;
        sqlx::any::install_default_drivers();
        let pool_url = match backend {
            Backend::Sqlite => prepare_sqlite_file(url, &redacted).await?,
            Backend::Postgres => url.to_owned(),
        };
        if backend == Backend::Postgres {
            // One direct connection first: a pool that cannot connect only says "timed out",
            // this says why (refused, unknown database, authentication, …) and fails at once.
            let probe = sqlx::AnyConnection::connect(&pool_url)
                .await
                .map_err(|source| StoreError::Connect { url: redacted.clone(), source })?;
            let _ = probe.close().await;
        }
        let is_sqlite = backend == Backend::Sqlite;
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 10,
            })
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if is_sqlite {
                        // WAL is a property of the file (set in `prepare_sqlite_file`); these two
                        // are per connection. NORMAL is durable in WAL mode except on power loss.
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        // 1 MiB of page cache per connection (SQLite's default is 2 MiB, times
                        // eight connections: the gateway's memory budget is 64 MiB).
                        conn.execute("PRAGMA cache_size = -1024").await?;
                    }
                    Ok(())
                })
            })
            .connect(&pool_url)
            .await
            .map_err(|source| StoreError::Connect { url: redacted.clone(), source })?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        };
        migrator.run(&pool).await.map_err(StoreError::Migration)?;
        tracing::info!(backend = %backend, url = %redacted, "store opened");
        Ok(Store {
            pool,
            backend,
            url: Arc::from(redacted),
            write_lock: Arc::new(Mutex::new(())),
            write_failure: Arc::default(),
        })
    }
}

/// Creates the SQLite file (and its directory) when missing and switches it to WAL mode, which
/// is persistent: every later connection uses it. Returns the URL for the pool: the same file as
/// an absolute, percent-encoded path, so that the `Any` driver's URL parsing cannot alter it
/// (it would lower-case `sqlite://Data/x.db`'s first segment as a host name).
async fn prepare_sqlite_file(url: &str, redacted: &str) -> Result<String, StoreError> {
    let invalid = |reason: String| StoreError::InvalidUrl { url: redacted.to_owned(), reason };
    if url.contains(":memory:") || url.contains("mode=memory") {
        return Err(invalid("in-memory SQLite is not supported: name a file".to_owned()));
    }
    let options = SqliteConnectOptions::from_str(url).map_err(|e| invalid(e.to_string()))?;
    let path = std::path::absolute(options.get_filename())
        .map_err(|source| StoreError::Io { what: "cannot resolve the SQLite file's path".to_owned(), source })?;
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|source| StoreError::Io { what: format!("cannot create directory {}", dir.display()), source })?;
    }
    let connect_err = |source| StoreError::Connect { url: redacted.to_owned(), source };
    let conn =
        options.create_if_missing(true).journal_mode(SqliteJournalMode::Wal).connect().await.map_err(connect_err)?;
    conn.close().await.map_err(connect_err)?;
    let path = path.to_str().ok_or_else(|| invalid("the SQLite file's path is not UTF-8".to_owned()))?;
    let query = url.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
    Ok(format!("sqlite://{}{query}", percent_encode_path(path)))
}

/// Percent-encodes the characters of a file path that a URL would otherwise read as syntax.
fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3F"),
            '#' => out.push_str("%23"),
            ' ' => out.push_str("%20"),
            c => out.push(c),
        }
    }
    out
}
