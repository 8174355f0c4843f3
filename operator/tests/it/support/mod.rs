//! Helpers the integration tests share: a real `cockpit serve` and its clients ([`harness`]),
//! an HTTP-level Kubernetes API server ([`apiserver`]) and kubelet ([`kubelet`]), a throwaway
//! PostgreSQL server ([`pg`]), a Web Push receiver ([`webpush`]), and a session row for the store
//! ([`session_row`]).

pub mod apiserver;
pub mod harness;
pub mod kubelet;
pub mod pg;
pub mod webpush;

use chrono::Utc;
use cockpit_api::{ClaudeSessionSpec, ClaudeSessionStatus, RotationPolicy, SessionMode};
use cockpit_operator::store::SessionRow;

/// A new interactive session in the `demo` repo, without a prompt, created now.
pub fn session_row(id: &str, name: &str) -> SessionRow {
    let now = Utc::now();
    SessionRow {
        id: id.into(),
        name: name.to_owned(),
        repo: "demo".to_owned(),
        spec: ClaudeSessionSpec {
            repo: "demo".to_owned(),
            account_ref: None,
            mode: SessionMode::Interactive,
            prompt: None,
            model: None,
            permission_mode: None,
            resume: None,
            rotation: RotationPolicy::Auto,
        },
        status: ClaudeSessionStatus::default(),
        created_at: now,
        updated_at: now,
        deleted_at: None,
    }
}
