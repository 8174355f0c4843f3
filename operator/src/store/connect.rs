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
                        for pragma in super::checkpoint::CONNECTION_PRAGMAS {
                            conn.execute(pragma).await?;
                        }
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
        let checkpointer = is_sqlite.then(|| Arc::new(super::checkpoint::Checkpointer::spawn(pool.clone())));
        Ok(Store {
            checkpointer,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The migrations this control plane has shipped, by version and checksum (SHA-384 of the
    /// file, as sqlx records it in `_sqlx_migrations`). A database that applied one refuses to
    /// start when the file changes, even in a comment: migrations only ever get added.
    const SHIPPED: [(&str, i64, &str); 4] = [
        (
            "sqlite",
            1,
            "d43a0c15fa8687000dfb2b61a34f2746acad20c1b91419c6d8dc167565d9e03014be4bc4fb7dec813990e8ce1f6bafc0",
        ),
        (
            "sqlite",
            2,
            "9127066d7e9dcec9051eb4bfc3c30944d4f60833a049d8c271387dd8617ccddb5596918dd581b1c57d85ffc8c68034e6",
        ),
        (
            "postgres",
            1,
            "a6022af7a567b329c2f07a64d9cfc84f81972fede0c0c699335c10bb690e6f958c582c43823b7b13fccf07f3563bb62c",
        ),
        (
            "postgres",
            2,
            "35b195776d116d20d4e1e0e04e8b0759932b16e0f737cb57dee44b478108e80cc702e0df660f472cfa80a4db1ed3666b",
        ),
    ];

    #[test]
    fn shipped_migrations_never_change() {
        for (name, migrator) in [("sqlite", &SQLITE_MIGRATOR), ("postgres", &POSTGRES_MIGRATOR)] {
            for migration in migrator.iter() {
                let checksum: String = migration.checksum.iter().map(|b| format!("{b:02x}")).collect();
                if let Some((_, _, shipped)) = SHIPPED.iter().find(|s| s.0 == name && s.1 == migration.version) {
                    assert_eq!(
                        &checksum, shipped,
                        "{name} migration {} changed: add a new migration instead ({})",
                        migration.version, migration.description
                    );
                }
            }
        }
        for (name, version, _) in SHIPPED {
            let migrator = if name == "sqlite" { &SQLITE_MIGRATOR } else { &POSTGRES_MIGRATOR };
            assert!(migrator.iter().any(|m| m.version == version), "{name} migration {version} is gone");
        }
    }
}
