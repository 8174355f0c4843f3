//! The control plane's shared state: config, store, runtime, change feed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use cockpit_crds::api::{AccountView, ChangeEvent, SessionView};
use tokio::sync::{broadcast, mpsc};

use crate::config::Config;
use crate::runtime::LocalRuntime;
use crate::store::{SessionRow, Store};

/// Everything the gateway and the controller share.
pub struct App {
    /// The loaded config file (or the defaults).
    pub config: Config,
    /// Where the config came from, for messages.
    pub config_source: Option<PathBuf>,
    /// The database.
    pub store: Store,
    /// The runtime that runs workers.
    pub runtime: Arc<LocalRuntime>,
    /// Where worktrees and logs live.
    pub data_dir: PathBuf,
    /// Session and account changes for `/api/events`.
    pub changes: broadcast::Sender<ChangeEvent>,
    /// Asks the controller to reconcile a session now.
    pub reconcile: mpsc::UnboundedSender<String>,
    /// The Claude CLI's version, when known.
    pub claude_version: Option<String>,
}

impl App {
    /// The API view of a session (with the live worker state, when a worker runs).
    pub fn session_view(&self, row: &SessionRow) -> SessionView {
        SessionView {
            id: row.id.clone(),
            name: row.name.clone(),
            spec: row.spec.clone(),
            status: row.status.clone(),
            live: if row.deleted_at.is_none() { self.runtime.live_state(&row.id) } else { None },
            created_at: row.created_at,
            deleted_at: row.deleted_at,
        }
    }

    /// The API views of the configured accounts.
    pub async fn account_views(&self) -> anyhow::Result<Vec<AccountView>> {
        let rows: HashMap<String, crate::store::AccountRow> =
            self.store.list_accounts().await?.into_iter().map(|a| (a.name.clone(), a)).collect();
        let active = self.runtime.active_by_account();
        let now = Utc::now();
        Ok(self
            .config
            .accounts
            .iter()
            .map(|a| {
                let row = rows.get(&a.name);
                AccountView {
                    id: a.name.clone(),
                    priority: a.priority,
                    kind: a.kind,
                    max_sessions: a.max_sessions,
                    active_sessions: active.get(&a.name).copied().unwrap_or(0),
                    limited_until: row.and_then(|r| r.limited_until).filter(|t| *t > now),
                    limit_window: row.and_then(|r| r.limited_until.filter(|t| *t > now).and(r.limit_window)),
                    usage: row.map(|r| r.usage).unwrap_or_default(),
                }
            })
            .collect())
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
