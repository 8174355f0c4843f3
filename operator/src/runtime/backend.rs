//! The local runtime as the gateway's [`Backend`]: sessions are rows in the store, accounts
//! come from the config file, workers are child processes that [`super::controller`] starts
//! and stops.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use cockpit_api::api::{AccountView, ChangeEvent};
use cockpit_api::ids::SessionId;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::LocalRuntime;
use crate::app::App;
use crate::backend::{Backend, BackendError};
use crate::store::SessionRow;

/// Sessions in the store, workers as local processes.
pub struct LocalBackend {
    runtime: Arc<LocalRuntime>,
}

impl LocalBackend {
    /// The backend over `runtime`.
    pub fn new(runtime: Arc<LocalRuntime>) -> LocalBackend {
        LocalBackend { runtime }
    }

    async fn account_views_now(&self, app: &App) -> anyhow::Result<Vec<AccountView>> {
        let rows: HashMap<String, crate::store::AccountRow> =
            app.store.list_accounts().await?.into_iter().map(|a| (a.name.clone(), a)).collect();
        let active = self.runtime.active_by_account();
        let now = Utc::now();
        Ok(app
            .accounts()
            .iter()
            .map(|a| {
                let row = rows.get(&a.name);
                let limited = row.and_then(|r| r.limited_until).filter(|t| *t > now);
                AccountView {
                    id: a.name.clone(),
                    priority: a.priority,
                    kind: a.kind,
                    max_sessions: a.max_sessions,
                    active_sessions: active.get(&a.name).copied().unwrap_or(0),
                    limited_until: limited,
                    limit_window: limited.and(row.and_then(|r| r.limit_window)),
                    usage: row.map(|r| r.usage).unwrap_or_default(),
                    utilization: row.and_then(|r| r.utilization),
                    rotate_at: a.rotate_at,
                }
            })
            .collect())
    }

    /// On a clean stop the workers stop, and their sessions go back to Pending with their
    /// conversation id kept, so the next start resumes them.
    async fn pause_all(&self, app: &Arc<App>) {
        let live: Vec<SessionId> = match app.store.list_sessions(false).await {
            Ok(rows) => rows.into_iter().filter(|r| self.runtime.has_worker(&r.id)).map(|r| r.id).collect(),
            Err(_) => Vec::new(),
        };
        self.runtime.stop_all().await;
        for id in live {
            if let Ok(Some(row)) = app.store.get_session(&id).await {
                let mut status = row.status.clone();
                if !status.phase.is_terminal() {
                    status.phase = cockpit_api::SessionPhase::Pending;
                    status.message = Some("paused: the control plane stopped; resumes on its next start".into());
                    status.activity = None;
                    let _ = app.store.update_status(&id, &status, Utc::now()).await;
                }
            }
        }
    }
}

impl Backend for LocalBackend {
    fn name(&self) -> &'static str {
        "local"
    }

    fn accounts_in_config(&self) -> bool {
        true
    }

    fn create_session<'a>(
        &'a self,
        app: &'a Arc<App>,
        row: SessionRow,
    ) -> BoxFuture<'a, Result<SessionRow, BackendError>> {
        async move {
            app.store.insert_session(&row).await.map_err(|err| match err {
                crate::store::StoreError::Duplicate { .. } => {
                    BackendError::Conflict(format!("a session named {:?} already exists", row.name))
                }
                other => other.into(),
            })?;
            app.announce_session(&row);
            let _ = app.reconcile.send(row.id.clone());
            Ok(row)
        }
        .boxed()
    }

    fn delete_session<'a>(&'a self, app: &'a Arc<App>, row: &'a SessionRow) -> BoxFuture<'a, Result<(), BackendError>> {
        async move {
            app.store.mark_deleted(&row.id, Utc::now()).await?;
            let _ = app.changes.send(ChangeEvent::SessionDeleted { id: row.id.clone() });
            let _ = app.reconcile.send(row.id.clone());
            Ok(())
        }
        .boxed()
    }

    fn account_views<'a>(&'a self, app: &'a App) -> BoxFuture<'a, anyhow::Result<Vec<AccountView>>> {
        self.account_views_now(app).boxed()
    }

    fn reset_limit<'a>(&'a self, app: &'a App, account: &'a str) -> BoxFuture<'a, Result<(), BackendError>> {
        async move {
            if !app.has_account(account) {
                return Err(BackendError::NotFound(format!("no account {account:?}")));
            }
            app.store.set_account_limit(account, None, None).await?;
            Ok(())
        }
        .boxed()
    }

    fn start_controllers(
        &self,
        app: Arc<App>,
        reconcile: mpsc::UnboundedReceiver<SessionId>,
    ) -> anyhow::Result<JoinHandle<()>> {
        Ok(tokio::spawn(super::controller::run(app, self.runtime.clone(), reconcile)))
    }

    fn stop_workers<'a>(&'a self, app: &'a Arc<App>) -> BoxFuture<'a, ()> {
        self.pause_all(app).boxed()
    }

    fn has_worker(&self, session_id: &SessionId) -> bool {
        self.runtime.has_worker(session_id)
    }
}
