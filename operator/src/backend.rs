//! The seam between the gateway and the two runtimes: where sessions and accounts are kept and
//! changed, and what runs their workers. [`Backend`] is chosen once at start: the local runtime
//! ([`crate::runtime::LocalBackend`]: rows in the store, worker processes) or Kubernetes
//! ([`crate::k8s::KubeBackend`]: `ClaudeSession` and `ClaudeAccount` objects, worker Pods).
//! Both report into the same output streams ([`crate::streams::Streams`]), which are not part
//! of either.

use std::sync::Arc;

use cockpit_api::api::AccountView;
use cockpit_api::ids::SessionId;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::app::App;
use crate::store::SessionRow;

/// Why a backend refused or failed a change.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The thing named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A session of that name exists already.
    #[error("{0}")]
    Conflict(String),
    /// The API server refused the object (schema or CEL rules).
    #[error("{0}")]
    Invalid(String),
    /// Anything else (the database, the API server unreachable).
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<crate::store::StoreError> for BackendError {
    fn from(err: crate::store::StoreError) -> BackendError {
        match err {
            crate::store::StoreError::Duplicate { what } => BackendError::Conflict(format!("{what} already exists")),
            crate::store::StoreError::NotFound { what } => BackendError::NotFound(format!("{what} not found")),
            other => BackendError::Other(other.into()),
        }
    }
}

/// Where sessions and accounts live and what runs their workers.
pub trait Backend: Send + Sync {
    /// `local` or `kube`, as `/api/health` reports it.
    fn name(&self) -> &'static str;

    /// True when the accounts are the config file's (the local runtime); false when they are
    /// `ClaudeAccount` objects, which the config does not list.
    fn accounts_in_config(&self) -> bool;

    /// Creates a checked session (its name may be taken: [`BackendError::Conflict`]); returns
    /// its row as the backend has it now (in Kubernetes, its id is the object's uid).
    fn create_session<'a>(
        &'a self,
        app: &'a Arc<App>,
        row: SessionRow,
    ) -> BoxFuture<'a, Result<SessionRow, BackendError>>;

    /// Deletes a session: its worker stops, its history stays.
    fn delete_session<'a>(&'a self, app: &'a Arc<App>, row: &'a SessionRow) -> BoxFuture<'a, Result<(), BackendError>>;

    /// The accounts as the API shows them (never a credential).
    fn account_views<'a>(&'a self, app: &'a App) -> BoxFuture<'a, anyhow::Result<Vec<AccountView>>>;

    /// Clears an account's usage limit by hand.
    fn reset_limit<'a>(&'a self, app: &'a App, account: &'a str) -> BoxFuture<'a, Result<(), BackendError>>;

    /// Starts the controllers that carry out the sessions' plans (`reconcile` asks for a
    /// session by id); they run until the handle is aborted.
    fn start_controllers(
        &self,
        app: Arc<App>,
        reconcile: mpsc::UnboundedReceiver<SessionId>,
    ) -> anyhow::Result<JoinHandle<()>>;

    /// What the control plane's stop does to the workers: the local runtime pauses them (their
    /// sessions resume on the next start); Pods keep running without it.
    fn stop_workers<'a>(&'a self, app: &'a Arc<App>) -> BoxFuture<'a, ()>;

    /// True while the session has a worker this process runs or follows.
    fn has_worker(&self, session_id: &SessionId) -> bool;
}
