//! The control plane's shared state: config, store, the backend (local or Kubernetes), the
//! output streams, the change feed.

use std::path::PathBuf;
use std::sync::Arc;

use cockpit_api::api::{AccountView, ChangeEvent, SessionView};
use tokio::sync::{broadcast, mpsc};

use crate::backend::Backend;
use crate::config::Config;
use crate::store::{SessionRow, Store};
use crate::streams::Streams;
use crate::worker_credentials::WorkerKeys;

/// The account sessions run under when the config names none: the credential of the
/// control plane's own environment (`CLAUDE_CODE_OAUTH_TOKEN` or `ANTHROPIC_API_KEY`), or else
/// the login the CLI keeps in the Claude home (`/login` once, from any session).
pub const IMPLICIT_ACCOUNT: &str = "default";

/// One account as the control plane uses it (configured, or the implicit one).
#[derive(Clone, Debug)]
pub struct AccountEntry {
    /// Its name.
    pub name: String,
    /// Higher is chosen first.
    pub priority: i32,
    /// What kind of credential it holds.
    pub kind: cockpit_api::CredentialKind,
    /// Session cap.
    pub max_sessions: Option<u32>,
    /// Proactive rotation threshold in percent.
    pub rotate_at: Option<u8>,
}

/// The credential of the control plane's environment, for the implicit account.
pub fn env_credential() -> Option<(cockpit_api::CredentialKind, crate::config::Secret)> {
    let non_empty = |name: &str| crate::env_secrets::get(name).filter(|v| !v.trim().is_empty());
    if let Some(token) = non_empty("CLAUDE_CODE_OAUTH_TOKEN") {
        return Some((cockpit_api::CredentialKind::OAuthToken, crate::config::Secret::new(token)));
    }
    non_empty("ANTHROPIC_API_KEY").map(|key| (cockpit_api::CredentialKind::ApiKey, crate::config::Secret::new(key)))
}

/// Everything the gateway and the controller share.
pub struct App {
    /// The loaded config file (or the defaults).
    pub config: Config,
    /// Where the config came from, for messages.
    pub config_source: Option<PathBuf>,
    /// The database.
    pub store: Store,
    /// Where sessions and accounts live and what runs their workers, chosen at start.
    pub backend: Arc<dyn Backend>,
    /// The sessions' output streams (both runtimes' workers report into them).
    pub streams: Arc<Streams>,
    /// What derives the workers' credentials.
    pub worker_keys: WorkerKeys,
    /// Where worktrees and logs live.
    pub data_dir: PathBuf,
    /// Session and account changes for `/api/events`.
    pub changes: broadcast::Sender<ChangeEvent>,
    /// Asks the controller to reconcile a session now.
    pub reconcile: mpsc::UnboundedSender<cockpit_api::ids::SessionId>,
    /// The Claude CLI's version, when known.
    pub claude_version: Option<String>,
    /// Turns true when the control plane stops: long-lived connections (terminals, the change
    /// stream) end at once so the stop is bounded.
    pub shutdown: tokio::sync::watch::Sender<bool>,
}

impl App {
    /// The accounts sessions may run under: the configured ones, or the implicit one.
    pub fn accounts(&self) -> Vec<AccountEntry> {
        if self.config.accounts.is_empty() {
            let kind = env_credential().map_or(cockpit_api::CredentialKind::OAuthToken, |(kind, _)| kind);
            return vec![AccountEntry {
                name: IMPLICIT_ACCOUNT.to_owned(),
                priority: 0,
                kind,
                max_sessions: None,
                rotate_at: None,
            }];
        }
        self.config
            .accounts
            .iter()
            .map(|a| AccountEntry {
                name: a.name.clone(),
                priority: a.priority,
                kind: a.kind,
                max_sessions: a.max_sessions,
                rotate_at: a.rotate_at,
            })
            .collect()
    }

    /// True when `name` is an account sessions may run under.
    pub fn has_account(&self, name: &str) -> bool {
        self.accounts().iter().any(|a| a.name == name)
    }

    /// The API view of a session (with the live worker state, when a worker runs).
    pub fn session_view(&self, row: &SessionRow) -> SessionView {
        SessionView {
            id: row.id.clone(),
            name: row.name.clone(),
            spec: row.spec.clone(),
            status: row.status.clone(),
            live: if row.deleted_at.is_none() { self.streams.live_state(&row.id) } else { None },
            created_at: row.created_at,
            deleted_at: row.deleted_at,
        }
    }

    /// The API views of the accounts.
    pub async fn account_views(&self) -> anyhow::Result<Vec<AccountView>> {
        self.backend.account_views(self).await
    }

    /// Announces a session change.
    pub fn announce_session(&self, row: &SessionRow) {
        let _ = self.changes.send(ChangeEvent::Session { session: Box::new(self.session_view(row)) });
    }

    /// Announces every account (after a limit or usage change).
    pub async fn announce_accounts(&self) {
        if let Ok(views) = self.account_views().await {
            for account in views {
                let _ = self.changes.send(ChangeEvent::Account { account });
            }
        }
    }
}
