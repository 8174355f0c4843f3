//! Who may drive a worker: the control plane alone.
//!
//! The control plane makes one credential per worker and hands it over outside argv and outside
//! any file a session can read: on the worker's standard input (local runtime) or in
//! [`CREDENTIAL_ENV`] from a Secret that only this worker's Pod references (Kubernetes). The
//! worker reads it once, drops the variable and marks itself non-dumpable, so its own CLI (a
//! child running as the same user) cannot read it back from `/proc/<worker>/environ` or `mem`.
//!
//! Every route but `/healthz` then asks for `Authorization: Bearer <credential>`, and any request
//! carrying an `Origin` (a browser's) is refused whatever it carries: a web page in the owner's
//! browser never drives a worker, even one whose address it learned.

use std::io::BufRead;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Json, Response};
use serde_json::json;

/// The variable a worker Pod gets its credential in (from its Secret).
pub const CREDENTIAL_ENV: &str = "COCKPIT_WORKER_CREDENTIAL";

/// The only route served without the credential: it says "ok" and nothing else.
pub const OPEN_PATH: &str = "/healthz";

/// A worker's credential. Its `Debug` never shows it.
#[derive(Clone)]
pub struct WorkerCredential(Arc<str>);

impl std::fmt::Debug for WorkerCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WorkerCredential(<redacted>)")
    }
}

/// Why no credential could be had.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// Neither source was given.
    #[error(
        "a worker needs the control plane's credential: pass --credential-stdin (one line on standard input) or set {CREDENTIAL_ENV}"
    )]
    Missing,
    /// Standard input could not be read.
    #[error("reading the credential from standard input: {0}")]
    Stdin(#[source] std::io::Error),
    /// The credential is too short to be a secret.
    #[error("the worker credential must be at least 32 characters")]
    TooShort,
}

impl WorkerCredential {
    /// The shortest credential accepted.
    pub const MIN_LEN: usize = 32;

    /// Wraps a credential (surrounding whitespace trimmed).
    pub fn new(secret: &str) -> Result<WorkerCredential, CredentialError> {
        let secret = secret.trim();
        if secret.len() < Self::MIN_LEN {
            return Err(CredentialError::TooShort);
        }
        Ok(WorkerCredential(secret.into()))
    }

    /// The credential made of 32 random (or derived) bytes, as 64 hex characters.
    pub fn from_bytes(bytes: &[u8; 32]) -> WorkerCredential {
        WorkerCredential(hex::encode(bytes).into())
    }

    /// The credential itself, for the `Authorization` header of the control plane's requests.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The `Authorization` header value that carries it.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }

    /// True when `header` (an `Authorization` value) carries this credential; compared in
    /// constant time (`subtle`).
    pub fn admits(&self, header: Option<&[u8]>) -> bool {
        use subtle::ConstantTimeEq;
        let Some(given) = header.and_then(|h| h.strip_prefix(b"Bearer ")) else { return false };
        bool::from(self.0.as_bytes().ct_eq(given))
    }
}

/// Reads the credential: the first line of standard input when `from_stdin`, else
/// [`CREDENTIAL_ENV`] (then removed from this process's environment).
pub fn read_credential(from_stdin: bool) -> Result<WorkerCredential, CredentialError> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(CredentialError::Stdin)?;
        return WorkerCredential::new(&line);
    }
    let value = std::env::var(CREDENTIAL_ENV).map_err(|_| CredentialError::Missing)?;
    // SAFETY: called at start, before the runtime and any other thread exist.
    unsafe { std::env::remove_var(CREDENTIAL_ENV) };
    WorkerCredential::new(&value)
}

/// Marks this process non-dumpable: a process of the same user (the CLI's tools) can then not
/// read its memory, environment or file descriptors through `/proc`, nor ptrace it.
pub fn forbid_inspection() -> std::io::Result<()> {
    // SAFETY: prctl with PR_SET_DUMPABLE takes plain integers.
    let rc = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    if rc == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// Middleware: refuses every request that carries an `Origin` (403) and every request but
/// [`OPEN_PATH`] without the credential (401).
pub async fn require_control_plane(
    State(credential): State<WorkerCredential>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    if headers.contains_key(header::ORIGIN) {
        tracing::warn!(path = %request.uri().path(), "refused a browser request (it carried an Origin)");
        return refuse(StatusCode::FORBIDDEN, "a worker takes no requests from web pages");
    }
    if request.uri().path() != OPEN_PATH && !credential.admits(headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()))
    {
        tracing::warn!(path = %request.uri().path(), "refused a request without the control plane's credential");
        return refuse(StatusCode::UNAUTHORIZED, "only the control plane may use this worker");
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_credential_is_admitted() {
        let cred = WorkerCredential::new(&"k".repeat(40)).expect("long enough");
        assert!(cred.admits(Some(format!("Bearer {}", "k".repeat(40)).as_bytes())));
        assert!(!cred.admits(Some("k".repeat(40).as_bytes())), "the scheme is part of it");
        assert!(!cred.admits(Some(format!("Bearer {}x", "k".repeat(40)).as_bytes())));
        assert!(!cred.admits(Some(format!("Bearer {}", "k".repeat(39)).as_bytes())));
        assert!(!cred.admits(None));
        assert_eq!(format!("{cred:?}"), "WorkerCredential(<redacted>)");
    }

    #[test]
    fn short_credentials_are_refused() {
        assert!(matches!(WorkerCredential::new("short"), Err(CredentialError::TooShort)));
        assert!(WorkerCredential::new(&format!("  {}\n", "a".repeat(32))).is_ok());
    }

    #[test]
    fn a_derived_credential_is_its_bytes_in_hex() {
        let cred = WorkerCredential::from_bytes(&[0xab; 32]);
        assert_eq!(cred.expose(), "ab".repeat(32));
        assert!(cred.admits(Some(format!("Bearer {}", "ab".repeat(32)).as_bytes())));
    }
}
