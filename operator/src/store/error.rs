//! [`StoreError`] and [`redact_url`], which keeps passwords out of errors and logs.

/// Everything that can go wrong in the [`Store`](super::Store).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row would break a uniqueness rule (e.g. a live session with the same name); nothing
    /// was changed.
    #[error("{what} already exists")]
    Duplicate {
        /// What already exists, e.g. `a live session named "fix-ci"`.
        what: String,
    },
    /// The row the call refers to does not exist; nothing was changed.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. `session "8b0…"`.
        what: String,
    },
    /// An output chunk starts after the end of the stored output; nothing was stored.
    #[error("output gap: the stored output ends at offset {expected}, the chunk starts at {got}")]
    OutputGap {
        /// The offset the next chunk must start at (or before): the current end.
        expected: i64,
        /// The offset the refused chunk starts at.
        got: i64,
    },
    /// An argument the store cannot represent (a negative offset, a count above `i64::MAX`, …).
    #[error("invalid argument: {what}")]
    Invalid {
        /// What is wrong with it.
        what: String,
    },
    /// A stored value does not decode (bad JSON, a timestamp out of range, …).
    #[error("corrupt stored data: {what}")]
    Corrupt {
        /// Which value, and why.
        what: String,
    },
    /// The database URL is not one the store understands.
    #[error("unsupported database URL {url}: {reason}")]
    InvalidUrl {
        /// The URL with its password replaced by `***`.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// Opening the database failed.
    #[error("cannot open the database {url}: {source}")]
    Connect {
        /// The URL with its password replaced by `***`.
        url: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A file-system operation around the database failed (e.g. creating the SQLite file's directory).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// Applying the embedded schema migrations failed.
    #[error("database migration failed: {0}")]
    Migration(#[source] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e)
    }
}

/// True when `e` says a UNIQUE or PRIMARY KEY constraint refused the statement.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// True when `e` says a FOREIGN KEY constraint refused the statement.
pub(crate) fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_foreign_key_violation())
}

/// A write's result, a refused reference to a session read as [`StoreError::NotFound`] (the
/// session is not there).
pub(crate) fn of_session<T>(
    result: Result<T, sqlx::Error>,
    session_id: &cockpit_api::ids::SessionId,
) -> Result<T, StoreError> {
    match result {
        Err(e) if is_foreign_key_violation(&e) => Err(StoreError::NotFound { what: format!("session {session_id:?}") }),
        other => Ok(other?),
    }
}

/// `Ok` when a write changed a row; [`StoreError::NotFound`] for `what` (`account "a"`) when
/// none matched.
pub(crate) fn changed(done: &sqlx::any::AnyQueryResult, what: impl FnOnce() -> String) -> Result<(), StoreError> {
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound { what: what() });
    }
    Ok(())
}

/// Returns `url` with any password replaced by `***`: the one from the user-info part
/// (`postgres://user:PASS@host` → `postgres://user:***@host`) and any `password=` query parameter.
/// Use it whenever a database URL goes into an error or a log line.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return redact_query(url);
    };
    let (scheme, rest) = url.split_at(scheme_end + 3);
    // The user info ends at the last '@' before the query (a password may contain '/').
    let before_query = rest.find(['?', '#']).unwrap_or(rest.len());
    let rest = match rest[..before_query].rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}:***{}", &userinfo[..colon], &rest[at..]),
                None => rest.to_owned(),
            }
        }
        None => rest.to_owned(),
    };
    redact_query(&format!("{scheme}{rest}"))
}

/// Replaces the value of every `password=` query parameter with `***`.
fn redact_query(url: &str) -> String {
    let Some(q) = url.find('?') else {
        return url.to_owned();
    };
    let (base, query) = url.split_at(q + 1);
    let (query, fragment) = match query.find('#') {
        Some(h) => query.split_at(h),
        None => (query, ""),
    };
    let params: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => p.to_owned(),
        })
        .collect();
    format!("{base}{}{fragment}", params.join("&"))
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("postgres://user:s3cret@db:5432/cockpit"), "postgres://user:***@db:5432/cockpit");
        assert_eq!(
            redact_url("postgres://user:p@ss/w:rd@db/x?sslmode=require"),
            "postgres://user:***@db/x?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://db/x?user=u&password=hunter2&a=b"),
            "postgres://db/x?user=u&password=***&a=b"
        );
        assert_eq!(redact_url("postgresql://user@db/x"), "postgresql://user@db/x");
        assert_eq!(redact_url("sqlite:///var/lib/cockpit/cockpit.db"), "sqlite:///var/lib/cockpit/cockpit.db");
        assert_eq!(redact_url("sqlite://data/x.db?mode=rwc"), "sqlite://data/x.db?mode=rwc");
        assert_eq!(redact_url("not a url"), "not a url");
    }
}
