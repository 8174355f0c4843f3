//! The local controller: reconciles each session whenever its worker reports, a request
//! changes it, or a reset time passes, and carries out the plans.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;

use crate::app::App;
use crate::reconcile::{AccountInfo, Action, Observed, SessionInput, reconcile};
use crate::runtime::StartRequest;
use crate::store::SessionRow;

/// How often every open session is looked at even without a trigger (reset times, free slots).
const TICK: Duration = Duration::from_secs(1);

/// Runs the controller until the trigger channel closes. A session that waits for a free slot
/// starts the moment one frees (a CLI exits), not at the next tick.
pub async fn run(app: Arc<App>, mut triggers: mpsc::UnboundedReceiver<String>) {
    let mut tick = tokio::time::interval(TICK);
    let mut running = app.runtime.running();
    loop {
        tokio::select! {
            id = triggers.recv() => match id {
                Some(id) => {
                    if let Err(err) = reconcile_session(&app, &id).await {
                        tracing::warn!(session = %id, "reconcile: {err:#}");
                    }
                    if app.runtime.running() < running
                        && let Err(err) = reconcile_all(&app).await
                    {
                        tracing::warn!("reconcile: {err:#}");
                    }
                    running = app.runtime.running();
                }
                None => break,
            },
            _ = tick.tick() => {
                if let Err(err) = reconcile_all(&app).await {
                    tracing::warn!("reconcile: {err:#}");
                }
                running = app.runtime.running();
            }
        }
    }
}

/// Reconciles every session that is not over (and every deleted one that still has a worker).
pub async fn reconcile_all(app: &Arc<App>) -> anyhow::Result<()> {
    for row in app.store.list_sessions(true).await? {
        let over = row.status.phase.is_terminal() && !app.runtime.has_worker(&row.id);
        if !over || !matches!(app.runtime.observe(&row.id), Observed::NoWorker) {
            reconcile_session(app, &row.id).await?;
        }
    }
    Ok(())
}

async fn accounts(app: &App) -> anyhow::Result<Vec<AccountInfo>> {
    let rows: HashMap<String, crate::store::AccountRow> =
        app.store.list_accounts().await?.into_iter().map(|a| (a.name.clone(), a)).collect();
    let active = app.runtime.active_by_account();
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

/// Reconciles one session and carries out the plan.
pub async fn reconcile_session(app: &Arc<App>, id: &str) -> anyhow::Result<()> {
    let Some(row) = app.store.get_session(id).await? else { return Ok(()) };
    let observed = app.runtime.observe(id);
    let has_worker = app.runtime.has_worker(id);
    let capacity = has_worker || app.runtime.running() < app.config.limits.max_concurrent_sessions as usize;
    let accounts = accounts(app).await?;
    let now = Utc::now();
    let input = SessionInput {
        spec: &row.spec,
        status: &row.status,
        generation: None,
        stop_requested: row.deleted_at.is_some() || row.status.phase == cockpit_crds::SessionPhase::Stopped,
        capacity_available: capacity,
    };
    let plan = reconcile(input, &accounts, &observed, now);
    let mut status = plan.status.clone();
    let mut accounts_changed = false;
    for action in &plan.actions {
        match action {
            Action::MarkAccountLimited { account, until, window } => {
                tracing::info!(%account, %until, ?window, "account hit a usage limit");
                app.store.set_account_limit(account, Some(*until), Some(*window)).await?;
                accounts_changed = true;
            }
            Action::StopWorker { reason } => {
                if app.runtime.stop(id) {
                    tracing::info!(session = %row.name, %reason, "stopping the worker");
                }
            }
            Action::StartWorker { account, resume, prompt } => {
                match start(app, &row, account, resume.clone(), prompt.clone()).await {
                    Ok(claude_session) => {
                        status.claude_session_id = Some(claude_session);
                        app.store.add_usage(account, 1, 0, 0, 0.0).await?;
                        accounts_changed = true;
                    }
                    Err(err) => {
                        tracing::warn!(session = %row.name, "worker start failed: {err:#}");
                        status.message = Some(format!("{err:#}"));
                    }
                }
            }
            Action::RecordUsage { account, input_tokens, output_tokens, cost_usd } => {
                app.store.add_usage(account, 0, *input_tokens, *output_tokens, *cost_usd).await?;
                accounts_changed = true;
            }
            Action::RecordUtilization { account, utilization } => {
                app.store.set_account_utilization(account, utilization).await?;
                accounts_changed = true;
            }
        }
    }
    status.worker_endpoint = app.runtime.endpoint(id);
    if matches!(observed, Observed::Exited { .. } | Observed::StartFailed { .. }) {
        app.runtime.forget(id);
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
    if plan.actions.iter().any(|a| matches!(a, Action::StartWorker { .. })) {
        // Look again soon: the worker's exit or first report follows.
        let tx = app.reconcile.clone();
        let id = id.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let _ = tx.send(id);
        });
    }
    Ok(())
}

async fn start(
    app: &Arc<App>,
    row: &SessionRow,
    account: &str,
    resume: Option<String>,
    prompt: Option<String>,
) -> anyhow::Result<String> {
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
    app.runtime
        .start(StartRequest { session_id: &row.id, spec: &row.spec, account, credential, cwd, resume, prompt })
        .await
}
