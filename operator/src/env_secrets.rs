//! Credentials the control plane takes from its environment (`tokenEnv` accounts, and the
//! implicit account's `CLAUDE_CODE_OAUTH_TOKEN` / `ANTHROPIC_API_KEY`): read once at start,
//! kept in memory, and removed from the environment, so that no child process inherits them
//! and nothing reads them from `cockpit serve`'s environment afterwards (the process is also
//! non-dumpable: `/proc/<pid>/environ`, which shows the environment it started with, is closed
//! to a session's tools).

use std::collections::HashMap;
use std::sync::OnceLock;

/// The variables of the implicit account, always captured.
pub const IMPLICIT_VARIABLES: [&str; 3] = ["CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"];

static CAPTURED: OnceLock<HashMap<String, String>> = OnceLock::new();

/// Reads `names` (and [`IMPLICIT_VARIABLES`]) from the environment into memory and removes
/// them from it.
///
/// # Safety
/// Call it before any other thread exists (it changes the process environment).
pub unsafe fn capture<'a>(names: impl IntoIterator<Item = &'a str>) {
    let mut captured = HashMap::new();
    for name in names.into_iter().chain(IMPLICIT_VARIABLES) {
        if let Ok(value) = std::env::var(name) {
            captured.insert(name.to_owned(), value);
        }
        // SAFETY: the caller promises no other thread exists.
        unsafe { std::env::remove_var(name) };
    }
    let _ = CAPTURED.set(captured);
}

/// The value of a credential variable: captured at start, or (nothing captured: a test, a
/// library use) the environment's.
pub fn get(name: &str) -> Option<String> {
    match CAPTURED.get() {
        Some(captured) => captured.get(name).cloned(),
        None => std::env::var(name).ok(),
    }
}
