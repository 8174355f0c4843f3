//! The local controller: reconciles each session whenever its worker reports, a request
//! changes it, a slot frees or its `requeue_at` comes, and carries out the plans with
//! [`crate::reconcile::execute`] over the local runtime's effects.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use cockpit_api::ids::{ConversationId, SessionId};
use tokio::sync::mpsc;

use crate::app::App;
use crate::reconcile::{AccountInfo, Effects, Executed, Observed, SessionInput, Started, execute, reconcile};
use crate::runtime::{LocalRuntime, StartRequest};
use crate::store::SessionRow;

/// How often every open session is looked at without being asked: a safety net, as the
/// Kubernetes controller's resync is (what a session waits for wakes it: its worker's reports
/// and exit, a request, a slot that frees, its `requeue_at`).
const RESYNC: Duration = Duration::from_secs(30);

/// When each session asked to be looked at again (a usage limit's reset).
#[derive(Default)]
struct Wakes(HashMap<SessionId, DateTime<Utc>>);

impl Wakes {
    fn set(&mut self, id: &SessionId, at: Option<DateTime<Utc>>) {
        match at {
            Some(at) => self.0.insert(id.clone(), at),
            None => self.0.remove(id),
        };
    }

    /// The earliest wake, as a tokio instant.
    fn next(&self) -> Option<tokio::time::Instant> {
        let at = *self.0.values().min()?;
        let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        Some(tokio::time::Instant::now() + wait)
    }

    /// Takes the sessions whose time has come.
    fn due(&mut self) -> Vec<SessionId> {
        let now = Utc::now();
        let due: Vec<SessionId> = self.0.iter().filter(|(_, at)| **at <= now).map(|(id, _)| id.clone()).collect();
        for id in &due {
            self.0.remove(id);
        }
        due
    }
}

/// Runs the controller until the trigger channel closes. A session that waits for a free slot
/// starts the moment one frees (a CLI exits), one waiting for a reset at its `requeue_at`.
pub async fn run(app: Arc<App>, runtime: Arc<LocalRuntime>, mut triggers: mpsc::UnboundedReceiver<SessionId>) {
    let mut resync = tokio::time::interval(RESYNC);
    let mut wakes = Wakes::default();
    let mut running = runtime.running();
    loop {
        let next_wake = wakes.next();
        let woken = async {
            match next_wake {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            id = triggers.recv() => match id {
                Some(id) => {
                    match reconcile_session(&app, &runtime, &id).await {
                        Ok(at) => wakes.set(&id, at),
                        Err(err) => tracing::warn!(session = %id, "reconcile: {err:#}"),
                    }
                    if runtime.running() < running {
                        reconcile_every(&app, &runtime, &mut wakes).await;
                    }
                    running = runtime.running();
                }
                None => break,
            },
            () = woken => {
                for id in wakes.due() {
                    match reconcile_session(&app, &runtime, &id).await {
                        Ok(at) => wakes.set(&id, at),
                        Err(err) => tracing::warn!(session = %id, "reconcile: {err:#}"),
                    }
                }
                running = runtime.running();
            }
            _ = resync.tick() => {
                reconcile_every(&app, &runtime, &mut wakes).await;
                running = runtime.running();
            }
        }
    }
}

async fn reconcile_every(app: &Arc<App>, runtime: &Arc<LocalRuntime>, wakes: &mut Wakes) {
    match reconcile_all(app, runtime).await {
        Ok(asked) => asked.into_iter().for_each(|(id, at)| wakes.set(&id, at)),
        Err(err) => tracing::warn!("reconcile: {err:#}"),
    }
}

/// Reconciles every session that is not over (and every deleted one that still has a worker).
/// Returns when each one asked to be looked at again.
pub async fn reconcile_all(
    app: &Arc<App>,
    runtime: &Arc<LocalRuntime>,
) -> anyhow::Result<Vec<(SessionId, Option<DateTime<Utc>>)>> {
    let mut asked = Vec::new();
    for row in app.store.list_sessions(true).await? {
        let over = row.status.phase.is_terminal() && !runtime.has_worker(&row.id);
        if !over || !matches!(runtime.observe(&row.id), Observed::NoWorker) {
            let at = reconcile_session(app, runtime, &row.id).await?;
            asked.push((row.id, at));
        }
    }
    Ok(asked)
}

async fn accounts(app: &App, runtime: &LocalRuntime) -> anyhow::Result<Vec<AccountInfo>> {
    let rows: HashMap<String, crate::store::AccountRow> =
        app.store.list_accounts().await?.into_iter().map(|a| (a.name.clone(), a)).collect();
    let active = runtime.active_by_account();
    Ok(app
        .accounts()
        .iter()
        .map(|a| AccountInfo {
            name: a.name.clone(),
            priority: a.priority,
            max_sessions: a.max_sessions,
            limited_until: rows.get(&a.name).and_then(|r| r.limited_until),
            active_sessions: active.get(&a.name).copied().unwrap_or(0),
            rotate_at: a.rotate_at,
            utilization: rows.get(&a.name).and_then(|r| r.utilization),
        })
        .collect())
}

/// Reconciles one session and carries out the plan; returns when the plan asks to be looked
/// at again.
pub async fn reconcile_session(
    app: &Arc<App>,
    runtime: &Arc<LocalRuntime>,
    id: &SessionId,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    let Some(row) = app.store.get_session(id).await? else { return Ok(None) };
    let observed = runtime.observe(id);
    let has_worker = runtime.has_worker(id);
    let capacity = has_worker || runtime.running() < app.config.limits.max_concurrent_sessions as usize;
    let accounts = accounts(app, runtime).await?;
    let now = Utc::now();
    let input = SessionInput {
        spec: &row.spec,
        status: &row.status,
        generation: None,
        stop_requested: row.deleted_at.is_some() || row.status.phase == cockpit_api::SessionPhase::Stopped,
        capacity_available: capacity,
    };
    let plan = reconcile(input, &accounts, &observed, now);
    let mut effects = LocalEffects { app, runtime, row: &row };
    let Executed { mut status, accounts_changed, .. } = execute(&plan, &mut effects).await?;
    status.worker_endpoint = runtime.endpoint(id);
    if matches!(observed, Observed::Exited { .. } | Observed::StartFailed { .. }) {
        runtime.forget(id);
    }
    for event in &plan.events {
        app.store.append_event(id, now, crate::conversation::notes::NOTE_KIND, &event.data()).await?;
    }
    if status != row.status {
        if status.activity != row.status.activity || status.phase != row.status.phase {
            let data =
                serde_json::json!({ "phase": status.phase, "activity": status.activity, "account": status.account });
            app.store.append_event(id, now, "state", &data).await?;
        }
        app.store.update_status(id, &status, now).await?;
    }
    if let Some(updated) = app.store.get_session(id).await?
        && (status != row.status || !plan.actions.is_empty())
    {
        app.announce_session(&updated);
    }
    if accounts_changed {
        app.announce_accounts().await;
    }
    // A started worker's first report (or its failure, or its exit) brings the next look.
    Ok(plan.requeue_at)
}

async fn start(
    app: &Arc<App>,
    runtime: &Arc<LocalRuntime>,
    row: &SessionRow,
    account: &str,
    resume: Option<ConversationId>,
    prompt: Option<String>,
) -> anyhow::Result<ConversationId> {
    use anyhow::Context;
    let credential = match app.config.account(account) {
        Some(cfg) => Some((cfg.kind, cfg.resolve_token(crate::env_secrets::get)?)),
        None if account == crate::app::IMPLICIT_ACCOUNT && app.config.accounts.is_empty() => {
            crate::app::env_credential()
        }
        None => anyhow::bail!("account {account:?} is not configured"),
    };
    let repo =
        app.config.repo(&row.spec.repo).with_context(|| format!("repo {:?} is not configured", row.spec.repo))?;
    let cwd = crate::worktree::prepare(&repo.path, &app.data_dir, &row.name)
        .await
        .with_context(|| format!("preparing a worktree of {}", repo.path.display()))?;
    runtime.start(StartRequest { session_id: &row.id, spec: &row.spec, account, credential, cwd, resume, prompt }).await
}

/// A plan's actions in the local runtime: worker processes and the store.
struct LocalEffects<'a> {
    app: &'a Arc<App>,
    runtime: &'a Arc<LocalRuntime>,
    row: &'a SessionRow,
}

impl Effects for LocalEffects<'_> {
    type Error = anyhow::Error;

    async fn stop_worker(&mut self, reason: &str) -> anyhow::Result<()> {
        if self.runtime.stop(&self.row.id) {
            tracing::info!(session = %self.row.name, %reason, "stopping the worker");
        }
        Ok(())
    }

    async fn start_worker(
        &mut self,
        account: &str,
        resume: Option<&ConversationId>,
        prompt: Option<&str>,
    ) -> anyhow::Result<Started> {
        match start(self.app, self.runtime, self.row, account, resume.cloned(), prompt.map(str::to_owned)).await {
            Ok(conversation) => {
                self.app.store.add_usage(account, 1, 0, 0, 0.0).await?;
                Ok(Started::Running { conversation })
            }
            Err(err) => {
                tracing::warn!(session = %self.row.name, "worker start failed: {err:#}");
                Ok(Started::Failed { message: format!("{err:#}") })
            }
        }
    }

    async fn mark_account_limited(
        &mut self,
        account: &str,
        until: chrono::DateTime<Utc>,
        window: cockpit_api::RateLimitWindow,
    ) -> anyhow::Result<()> {
        tracing::info!(%account, %until, ?window, "account hit a usage limit");
        Ok(self.app.store.set_account_limit(account, Some(until), Some(window)).await?)
    }

    async fn record_utilization(
        &mut self,
        account: &str,
        utilization: &cockpit_api::PlanUtilization,
    ) -> anyhow::Result<()> {
        Ok(self.app.store.set_account_utilization(account, utilization).await?)
    }

    async fn record_usage(
        &mut self,
        account: &str,
        input_tokens: u64,
        output_tokens: u64,
        cost_usd: f64,
    ) -> anyhow::Result<()> {
        Ok(self.app.store.add_usage(account, 0, input_tokens, output_tokens, cost_usd).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_woken_once_at_its_time_and_a_new_answer_replaces_the_old() {
        let mut wakes = Wakes::default();
        assert!(wakes.next().is_none(), "nothing asked: nothing wakes");
        let now = Utc::now();
        wakes.set(&"past".into(), Some(now - chrono::Duration::seconds(1)));
        wakes.set(&"later".into(), Some(now + chrono::Duration::hours(1)));
        assert!(wakes.next().is_some_and(|at| at <= tokio::time::Instant::now()), "the earliest is due already");
        assert_eq!(wakes.due(), ["past"]);
        assert!(wakes.due().is_empty(), "woken once");
        let in_an_hour = wakes.next().expect("later").duration_since(tokio::time::Instant::now());
        assert!(in_an_hour > Duration::from_secs(3590) && in_an_hour <= Duration::from_secs(3600), "{in_an_hour:?}");
        wakes.set(&"later".into(), None);
        assert!(wakes.next().is_none(), "a plan without requeue_at forgets the wake");
    }
}
