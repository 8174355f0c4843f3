//! The `ClaudeSession` controller: for each session, read its worker Pods and the accounts,
//! decide with [`crate::reconcile::reconcile`], and carry out the plan through the API server
//! (Pods created and deleted, account and session status patched, Events recorded). A
//! finalizer stops the worker cleanly before a session goes; the history stays in the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use cockpit_api::ids::{ConversationId, SessionId};
use cockpit_api::{AccountUsage, ClaudeAccount, ClaudeSession, ClaudeSessionStatus, WorkerState};
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action as Requeue;
use kube::runtime::events::Recorder;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Resource, ResourceExt};

use super::observe::{current, is_live, observe};
use super::pod::{
    ACCOUNT_LABEL, Conversation, PodSettings, SESSION_LABEL, WorkerStart, credential_secret, credential_secret_name,
    worker_pod,
};
use crate::reconcile::{AccountInfo, Effects, Executed, SessionInput, Started, execute, reconcile};

/// The finalizer on every `ClaudeSession`.
pub const FINALIZER: &str = "cockpit.dev/stop-worker";
/// How often a steady session is looked at again.
const RESYNC: Duration = Duration::from_secs(300);

/// Why a reconcile failed (it is retried with backoff).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An API call failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The session names a repo the control plane does not know.
    #[error("repo {0:?} is not configured")]
    UnknownRepo(String),
    /// Preparing the session's worktree failed.
    #[error("worktree: {0}")]
    Worktree(String),
    /// The finalizer machinery failed.
    #[error("finalizer: {0}")]
    Finalizer(String),
    /// The conversation to resume is not named by a UUID (the CLI's ids are).
    #[error("the conversation id {0:?} to resume is not a UUID")]
    ConversationId(String),
}

/// A session's running worker, where the control plane connects to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerTarget<'a> {
    /// The worker Pod's name.
    pub pod: &'a str,
    /// `podIP:port`.
    pub endpoint: &'a str,
}

/// Called on every reconcile of a session with `(session uid, session name, its running
/// worker)`: follow that worker's stream, or stop following when there is none (no Pod yet,
/// not running, ended, being replaced or deleted).
pub type Follow = Box<dyn Fn(&SessionId, &str, Option<WorkerTarget<'_>>) + Send + Sync>;

/// What the controller needs.
pub struct Context {
    /// The API client.
    pub client: kube::Client,
    /// Worker Pod settings.
    pub pods: PodSettings,
    /// Repo name → path on the node.
    pub repos: HashMap<String, std::path::PathBuf>,
    /// Where worktrees are prepared (shared with the workers at the same path).
    pub data_dir: std::path::PathBuf,
    /// The latest state each worker Pod reported, by Pod name (fed by the stream followers).
    pub worker_states: Arc<Mutex<HashMap<String, WorkerState>>>,
    /// Records Kubernetes Events; none in tests that do not care.
    pub recorder: Option<Recorder>,
    /// At most this many workers at once.
    pub max_sessions: usize,
    /// Follows each session's running worker (see [`Follow`]). None in tests.
    pub follow: Option<Follow>,
    /// Failed reconciles in a row, per session name (for the retry backoff).
    pub failures: Mutex<HashMap<String, u32>>,
    /// The terminal size a session's clients last set, by session uid (a worker that takes
    /// over starts at it). None in tests.
    pub terminal_size: Option<TerminalSize>,
    /// Derives each session's worker credential (put in a Secret before its Pod starts). None
    /// in tests that do not start Pods.
    pub worker_keys: Option<crate::worker_credentials::WorkerKeys>,
    /// Keeps each decision's events in the session's history too (its conversation's notes),
    /// by session uid. None in tests.
    pub notes: Option<Notes>,
}

/// Keeps a session's event (by session uid) in its history.
pub type Notes = Box<dyn Fn(&SessionId, &crate::reconcile::Event) + Send + Sync>;

/// Looks up the terminal size of a session by uid.
pub type TerminalSize = Box<dyn Fn(&SessionId) -> Option<(u16, u16)> + Send + Sync>;

/// The reconcile entry point for kube-runtime's `Controller`.
pub async fn reconcile_session(session: Arc<ClaudeSession>, ctx: Arc<Context>) -> Result<Requeue, Error> {
    let ns = session.namespace().unwrap_or_else(|| "default".into());
    let api: Api<ClaudeSession> = Api::namespaced(ctx.client.clone(), &ns);
    let name = session.name_any();
    // The cache may not have seen this controller's own last status write yet: a reconcile
    // that a pod event triggers right after a rotation would compute the status from the one
    // before it and undo it (seen: `rotations` back to 0). Reconcile the object as the API
    // server has it now.
    let Some(session) = api.get_opt(&name).await?.map(Arc::new) else {
        return Ok(Requeue::await_change());
    };
    let result = finalizer(&api, FINALIZER, session, |event| async {
        match event {
            Finalizer::Apply(session) => apply(&session, &ctx, false).await,
            Finalizer::Cleanup(session) => apply(&session, &ctx, true).await.map(|_| Requeue::await_change()),
        }
    })
    .await
    .or_else(|err| match err {
        // Released already by an earlier cleanup of the same deletion: nothing is left to do.
        kube::runtime::finalizer::Error::RemoveFinalizer(kube::Error::Api(e)) if e.code == 404 => {
            Ok(Requeue::await_change())
        }
        kube::runtime::finalizer::Error::CleanupFailed(Error::Kube(kube::Error::Api(e))) if e.code == 404 => {
            Ok(Requeue::await_change())
        }
        kube::runtime::finalizer::Error::ApplyFailed(err) | kube::runtime::finalizer::Error::CleanupFailed(err) => {
            Err(err)
        }
        other => Err(Error::Finalizer(other.to_string())),
    });
    if result.is_ok() {
        ctx.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(&name);
    }
    result
}

/// How long to wait before retrying after `failures` failed reconciles in a row: 5 s, doubling
/// up to 5 min.
pub fn retry_delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(6);
    (Duration::from_secs(5) * 2u32.pow(doublings)).min(Duration::from_secs(300))
}

/// Retry with exponential backoff on errors (per session; a success starts over).
pub fn error_policy(session: Arc<ClaudeSession>, err: &Error, ctx: Arc<Context>) -> Requeue {
    let name = session.name_any();
    let failures = {
        let mut failures = ctx.failures.lock().unwrap_or_else(|p| p.into_inner());
        let count = failures.entry(name.clone()).or_default();
        *count += 1;
        *count
    };
    let delay = retry_delay(failures);
    tracing::warn!(session = %name, %err, failures, retry_in = ?delay, "session reconcile failed; retrying");
    Requeue::requeue(delay)
}

fn account_infos(accounts: &[ClaudeAccount], pods: &[Pod]) -> Vec<AccountInfo> {
    let mut active: HashMap<&str, u32> = HashMap::new();
    for pod in pods.iter().filter(|p| is_live(p)) {
        if let Some(account) = pod.labels().get(ACCOUNT_LABEL) {
            *active.entry(account.as_str()).or_default() += 1;
        }
    }
    accounts
        .iter()
        .map(|a| {
            let name = a.name_any();
            AccountInfo {
                active_sessions: active.get(name.as_str()).copied().unwrap_or(0),
                priority: a.spec.priority,
                max_sessions: a.spec.max_sessions,
                limited_until: a.status.as_ref().and_then(|s| s.rate_limited_until),
                rotate_at: a.spec.rotate_at,
                utilization: a.status.as_ref().and_then(|s| s.utilization),
                name,
            }
        })
        .collect()
}

/// One reconcile of a session (`deleting`: it is being deleted; stop its worker).
pub async fn apply(session: &ClaudeSession, ctx: &Context, deleting: bool) -> Result<Requeue, Error> {
    let ns = session.namespace().unwrap_or_else(|| "default".into());
    let name = session.name_any();
    let pods_api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let accounts_api: Api<ClaudeAccount> = Api::namespaced(ctx.client.clone(), &ns);
    let sessions_api: Api<ClaudeSession> = Api::namespaced(ctx.client.clone(), &ns);

    let all_workers = pods_api.list(&ListParams::default().labels("app.kubernetes.io/component=worker")).await?.items;
    let mine: Vec<Pod> = all_workers.iter().filter(|p| p.labels().get(SESSION_LABEL) == Some(&name)).cloned().collect();
    let accounts = accounts_api.list(&ListParams::default()).await?.items;
    let now = Utc::now();
    let infos = account_infos(&accounts, &all_workers);
    let pod = current(&mine);
    let state = pod
        .and_then(|p| p.metadata.name.as_ref())
        .and_then(|p| ctx.worker_states.lock().unwrap_or_else(|e| e.into_inner()).get(p).cloned());
    let observed = observe(pod, state);
    let status = session.status.clone().unwrap_or_default();
    let running = infos.iter().map(|a| a.active_sessions as usize).sum::<usize>();
    let input = SessionInput {
        spec: &session.spec,
        status: &status,
        generation: session.metadata.generation,
        stop_requested: deleting,
        capacity_available: pod.is_some() || running < ctx.max_sessions,
    };
    let plan = reconcile(input, &infos, &observed, now);
    let mut effects = PodEffects {
        ctx,
        session,
        ns: &ns,
        name: &name,
        pods_api: &pods_api,
        accounts_api: &accounts_api,
        mine: &mine,
        accounts: &accounts,
    };
    let Executed { status: mut new_status, worker_replaced: replaced, .. } = execute(&plan, &mut effects).await?;

    // The worker to follow: the current Pod, running with an IP, and not being replaced.
    let target = pod.filter(|_| !replaced && !deleting).and_then(|pod| {
        let status = pod.status.as_ref()?;
        let ip = status.pod_ip.as_deref().filter(|_| status.phase.as_deref() == Some("Running"))?;
        Some((pod.name_any(), format!("{ip}:{}", ctx.pods.port)))
    });
    new_status.worker_endpoint = target.as_ref().map(|(_, endpoint)| endpoint.clone());
    let uid = SessionId::from(session.uid().unwrap_or_default());
    if let Some(follow) = &ctx.follow {
        follow(&uid, &name, target.as_ref().map(|(pod, endpoint)| WorkerTarget { pod, endpoint }));
    }
    if deleting {
        let mut states = ctx.worker_states.lock().unwrap_or_else(|e| e.into_inner());
        states.retain(|pod, _| !mine.iter().any(|p| p.metadata.name.as_ref() == Some(pod)));
    }
    if session.status.as_ref() != Some(&new_status) {
        patch_status(&sessions_api, &name, &new_status).await?;
    }
    if let Some(notes) = &ctx.notes {
        plan.events.iter().for_each(|event| notes(&uid, event));
    }
    if let Some(recorder) = &ctx.recorder {
        let reference = session.object_ref(&());
        for event in &plan.events {
            let warning = event.reason == "Failed" || event.reason == "StartFailed";
            super::events::publish(recorder, &reference, &event.reason, &event.message, warning).await;
        }
    }
    Ok(match plan.requeue_at {
        Some(at) => Requeue::requeue((at - now).to_std().unwrap_or(Duration::from_secs(1)).max(Duration::from_secs(1))),
        None => Requeue::requeue(RESYNC),
    })
}

async fn patch_status(api: &Api<ClaudeSession>, name: &str, status: &ClaudeSessionStatus) -> Result<(), Error> {
    let patch = serde_json::json!({
        "apiVersion": ClaudeSession::api_version(&()),
        "kind": ClaudeSession::kind(&()),
        "status": status,
    });
    api.patch_status(name, &PatchParams::apply("cockpit").force(), &Patch::Apply(&patch)).await?;
    Ok(())
}

/// A plan's actions in Kubernetes: worker Pods (with their credential Secret) and the
/// accounts' status.
struct PodEffects<'a> {
    ctx: &'a Context,
    session: &'a ClaudeSession,
    ns: &'a str,
    name: &'a str,
    pods_api: &'a Api<Pod>,
    accounts_api: &'a Api<ClaudeAccount>,
    /// The session's worker Pods.
    mine: &'a [Pod],
    accounts: &'a [ClaudeAccount],
}

impl Effects for PodEffects<'_> {
    type Error = Error;

    async fn stop_worker(&mut self, reason: &str) -> Result<(), Error> {
        for pod in self.mine.iter().filter(|p| p.metadata.deletion_timestamp.is_none()) {
            tracing::info!(session = %self.name, pod = %pod.name_any(), %reason, "deleting the worker pod");
            match self.pods_api.delete(&pod.name_any(), &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    async fn start_worker(
        &mut self,
        account: &str,
        resume: Option<&ConversationId>,
        prompt: Option<&str>,
    ) -> Result<Started, Error> {
        let (ctx, session, name) = (self.ctx, self.session, self.name);
        let Some(account_obj) = self.accounts.iter().find(|a| a.name_any() == account) else {
            return Ok(Started::Skipped);
        };
        let repo = ctx.repos.get(&session.spec.repo).ok_or_else(|| Error::UnknownRepo(session.spec.repo.clone()))?;
        let cwd =
            crate::worktree::prepare(repo, &ctx.data_dir, name).await.map_err(|e| Error::Worktree(e.to_string()))?;
        let conversation = match resume {
            Some(id) => Conversation::Resume(id.uuid().ok_or_else(|| Error::ConversationId(id.to_string()))?),
            None => Conversation::New(uuid::Uuid::new_v4()),
        };
        let repo_path = repo.to_string_lossy();
        let cwd = super::pod::pod_cwd(&cwd, &ctx.data_dir);
        let pod = worker_pod(
            &WorkerStart {
                session,
                account: account_obj,
                repo_path: &repo_path,
                cwd: &cwd,
                conversation,
                prompt,
                size: session.uid().and_then(|uid| ctx.terminal_size.as_ref().and_then(|size| size(&uid.into()))),
            },
            &ctx.pods,
        );
        // The Pod takes its credential from this Secret: it must exist before the Pod.
        if let Some(keys) = &ctx.worker_keys {
            let credential = keys.credential(&session.uid().unwrap_or_default().into());
            let secret = credential_secret(session, &credential);
            let secrets_api: Api<Secret> = Api::namespaced(ctx.client.clone(), self.ns);
            secrets_api
                .patch(&credential_secret_name(session), &PatchParams::apply("cockpit").force(), &Patch::Apply(&secret))
                .await?;
        }
        let created = self.pods_api.create(&PostParams::default(), &pod).await?;
        tracing::info!(session = %name, pod = %created.name_any(), %account, "started a worker pod");
        Ok(Started::Running {
            conversation: match conversation {
                Conversation::New(id) | Conversation::Resume(id) => id.into(),
            },
        })
    }

    async fn mark_account_limited(
        &mut self,
        account: &str,
        until: chrono::DateTime<Utc>,
        window: cockpit_api::RateLimitWindow,
    ) -> Result<(), Error> {
        // The account controller sets its conditions and records the Event.
        let patch = serde_json::json!({ "status": { "rateLimitedUntil": until, "rateLimitWindow": window } });
        self.accounts_api.patch_status(account, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        Ok(())
    }

    async fn record_utilization(
        &mut self,
        account: &str,
        utilization: &cockpit_api::PlanUtilization,
    ) -> Result<(), Error> {
        let patch = serde_json::json!({ "status": { "utilization": utilization } });
        self.accounts_api.patch_status(account, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        Ok(())
    }

    async fn record_usage(
        &mut self,
        account: &str,
        input_tokens: u64,
        output_tokens: u64,
        cost_usd: f64,
    ) -> Result<(), Error> {
        let usage = self
            .accounts
            .iter()
            .find(|a| a.name_any() == account)
            .and_then(|a| a.status.as_ref())
            .map(|s| s.usage)
            .unwrap_or_default();
        let usage = AccountUsage {
            sessions: usage.sessions + 1,
            input_tokens: usage.input_tokens + input_tokens,
            output_tokens: usage.output_tokens + output_tokens,
            cost_usd: usage.cost_usd + cost_usd,
        };
        let patch = serde_json::json!({ "status": { "usage": usage } });
        self.accounts_api.patch_status(account, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        Ok(())
    }
}
