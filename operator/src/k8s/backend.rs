//! Kubernetes as the gateway's [`Backend`]: sessions and accounts are `ClaudeSession` and
//! `ClaudeAccount` objects (the API server validates them, the controllers in [`super::run`]
//! act on them and mirror them into the store), workers are Pods.

use std::sync::Arc;

use chrono::Utc;
use cockpit_api::api::AccountView;
use cockpit_api::ids::SessionId;
use cockpit_api::{ClaudeAccount, ClaudeSession};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use kube::ResourceExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::app::App;
use crate::backend::{Backend, BackendError};
use crate::store::SessionRow;

/// The API server the control plane works through.
#[derive(Clone)]
pub struct KubeBackend {
    /// The client.
    pub client: kube::Client,
    /// The namespace of the sessions, accounts and worker Pods.
    pub namespace: String,
}

impl KubeBackend {
    /// The `ClaudeSession` API.
    pub fn sessions(&self) -> kube::Api<ClaudeSession> {
        kube::Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// The `ClaudeAccount` API.
    pub fn accounts(&self) -> kube::Api<ClaudeAccount> {
        kube::Api::namespaced(self.client.clone(), &self.namespace)
    }

    async fn account_views_now(&self) -> anyhow::Result<Vec<AccountView>> {
        let now = Utc::now();
        let list = self.accounts().list(&Default::default()).await?;
        Ok(list
            .items
            .iter()
            .map(|a| {
                let status = a.status.clone().unwrap_or_default();
                let limited = status.rate_limited_until.filter(|t| *t > now);
                AccountView {
                    id: a.name_any(),
                    priority: a.spec.priority,
                    kind: a.spec.credentials.kind,
                    max_sessions: a.spec.max_sessions,
                    active_sessions: status.active_sessions,
                    limited_until: limited,
                    limit_window: limited.and(status.rate_limit_window),
                    usage: status.usage,
                    utilization: status.utilization,
                    rotate_at: a.spec.rotate_at,
                }
            })
            .collect())
    }
}

impl Backend for KubeBackend {
    fn name(&self) -> &'static str {
        "kube"
    }

    fn accounts_in_config(&self) -> bool {
        false
    }

    /// The session becomes a `ClaudeSession` object: the API server validates it (schema and
    /// CEL) and the mirror brings it into the list.
    fn create_session<'a>(
        &'a self,
        _app: &'a Arc<App>,
        row: SessionRow,
    ) -> BoxFuture<'a, Result<SessionRow, BackendError>> {
        async move {
            let object = ClaudeSession::new(&row.name, row.spec.clone());
            let created = self.sessions().create(&Default::default(), &object).await.map_err(|err| match err {
                kube::Error::Api(e) if e.code == 409 => {
                    BackendError::Conflict(format!("a session named {:?} already exists", row.name))
                }
                kube::Error::Api(e) if e.code == 422 || e.code == 400 => {
                    BackendError::Invalid(format!("invalid session: {}", e.message))
                }
                other => BackendError::Other(other.into()),
            })?;
            Ok(SessionRow {
                id: created.uid().unwrap_or_default().into(),
                name: created.name_any(),
                spec: created.spec.clone(),
                status: created.status.clone().unwrap_or_default(),
                ..row
            })
        }
        .boxed()
    }

    /// The object's finalizer stops the worker; the mirror marks the row deleted.
    fn delete_session<'a>(
        &'a self,
        _app: &'a Arc<App>,
        row: &'a SessionRow,
    ) -> BoxFuture<'a, Result<(), BackendError>> {
        async move {
            match self.sessions().delete(&row.name, &Default::default()).await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
                Err(err) => Err(BackendError::Other(err.into())),
            }
        }
        .boxed()
    }

    fn account_views<'a>(&'a self, _app: &'a App) -> BoxFuture<'a, anyhow::Result<Vec<AccountView>>> {
        self.account_views_now().boxed()
    }

    fn reset_limit<'a>(&'a self, _app: &'a App, account: &'a str) -> BoxFuture<'a, Result<(), BackendError>> {
        async move {
            let patch = serde_json::json!({ "status": { "rateLimitedUntil": null, "rateLimitWindow": null } });
            self.accounts()
                .patch_status(account, &kube::api::PatchParams::default(), &kube::api::Patch::Merge(&patch))
                .await
                .map_err(|err| match err {
                    kube::Error::Api(e) if e.code == 404 => BackendError::NotFound(format!("no account {account:?}")),
                    other => BackendError::Other(other.into()),
                })?;
            Ok(())
        }
        .boxed()
    }

    fn start_controllers(
        &self,
        app: Arc<App>,
        _reconcile: mpsc::UnboundedReceiver<SessionId>,
    ) -> anyhow::Result<JoinHandle<()>> {
        use anyhow::Context;
        let pods = super::pod::PodSettings {
            ring_bytes: Some(app.config.worker.ring_bytes),
            ..super::pod::PodSettings::from_env(|name| std::env::var(name).ok(), &app.config.worker.command)
                .context("the worker Pod settings")?
        };
        let settings = super::run::KubeSettings { namespace: self.namespace.clone(), pods };
        let client = self.client.clone();
        Ok(tokio::spawn(async move {
            if let Err(err) = super::run::run(app, client, settings).await {
                tracing::error!("the Kubernetes controllers stopped: {err:#}");
            }
        }))
    }

    fn stop_workers<'a>(&'a self, _app: &'a Arc<App>) -> BoxFuture<'a, ()> {
        async {}.boxed()
    }

    fn has_worker(&self, _session_id: &SessionId) -> bool {
        // Workers are Pods; a followed stream is held by its follower and never closed.
        false
    }
}
