//! `/api/accounts`, `/api/repos`, `/api/health`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use chrono::Utc;
use cockpit_crds::api::{AccountView, HealthView, RepoView, SessionCounts};
use cockpit_crds::{Activity, SessionPhase};

use super::error::Failure;
use crate::app::App;

/// `GET /api/accounts`: usage and limits (never credentials).
pub async fn list(State(app): State<Arc<App>>) -> Result<Json<Vec<AccountView>>, Failure> {
    Ok(Json(app.account_views().await?))
}

/// `POST /api/accounts/{id}/reset-limit`: clears a usage limit by hand.
pub async fn reset_limit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<AccountView>, Failure> {
    if app.kube.is_none() && !app.has_account(&id) {
        return Err(Failure::not_found(format!("no account {id:?}")));
    }
    match &app.kube {
        Some(kube) => {
            let patch = serde_json::json!({ "status": { "rateLimitedUntil": null, "rateLimitWindow": null } });
            kube.accounts()
                .patch_status(&id, &kube::api::PatchParams::default(), &kube::api::Patch::Merge(&patch))
                .await
                .map_err(|err| match err {
                    kube::Error::Api(e) if e.code == 404 => Failure::not_found(format!("no account {id:?}")),
                    other => Failure::internal(other),
                })?;
        }
        None => app.store.set_account_limit(&id, None, None).await?,
    }
    let actor = super::security::actor(&headers);
    if let Err(err) =
        app.store.audit(Utc::now(), actor.as_deref(), "reset-limit", None, &serde_json::json!({ "account": id })).await
    {
        tracing::warn!(%err, "writing the audit log");
    }
    app.announce_accounts().await;
    // Sessions waiting for a reset may start now.
    for row in app.store.list_sessions(false).await? {
        if row.status.phase == SessionPhase::RateLimited {
            let _ = app.reconcile.send(row.id);
        }
    }
    let view = app
        .account_views()
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| Failure::not_found(format!("no account {id:?}")))?;
    Ok(Json(view))
}

/// `GET /api/repos`.
pub async fn repos(State(app): State<Arc<App>>) -> Json<Vec<RepoView>> {
    Json(
        app.config
            .repos
            .iter()
            .map(|r| RepoView { name: r.name.clone(), is_git: r.path.join(".git").exists() })
            .collect(),
    )
}

/// How long `/api/health` waits for the database before it answers without it.
const HEALTH_READ_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /api/health`.
pub async fn health(State(app): State<Arc<App>>) -> Result<Json<HealthView>, Failure> {
    let mut hints = app.config.hints_for(app.kube.is_none(), crate::env_secrets::get);
    hints.extend(crate::cli_range::version_hint(app.claude_version.as_deref()));
    // Health answers while the database does not: that is when it is needed most.
    let sessions = match tokio::time::timeout(HEALTH_READ_TIME, app.store.list_sessions(false)).await {
        Ok(Ok(sessions)) => sessions,
        Ok(Err(err)) => {
            hints.push(format!("the database cannot be read ({err}); check the disk or the database server"));
            Vec::new()
        }
        Err(_) => {
            hints.push("the database does not answer (2 s); check the disk or the database server".to_owned());
            Vec::new()
        }
    };
    let mut counts = SessionCounts { total: sessions.len() as u32, ..SessionCounts::default() };
    for s in &sessions {
        if matches!(s.status.phase, SessionPhase::Running | SessionPhase::Starting) {
            counts.running += 1;
        }
        let live = app.runtime.live_state(&s.id).map(|l| l.activity).or(s.status.activity);
        if live.is_some_and(Activity::needs_user) || s.status.phase == SessionPhase::RateLimited {
            counts.needs_you += 1;
        }
    }
    let accounts =
        tokio::time::timeout(HEALTH_READ_TIME, app.account_views()).await.ok().and_then(Result::ok).unwrap_or_default();
    if let Some(failure) = app.store.write_failure() {
        hints.push(format!(
            "the database refuses writes ({failure}); terminal output and state changes are not being saved \
             until it takes them again (free disk space, or check the database server)"
        ));
    }
    Ok(Json(HealthView {
        status: if hints.is_empty() { "ok".into() } else { "degraded".into() },
        version: env!("CARGO_PKG_VERSION").into(),
        claude_version: app.claude_version.clone(),
        runtime: if app.kube.is_some() { "kube".into() } else { "local".into() },
        database: app.store.backend().as_str().into(),
        sessions: counts,
        accounts: accounts.len() as u32,
        accounts_limited: accounts.iter().filter(|a| a.limited_until.is_some()).count() as u32,
        repos: app.config.repos.len() as u32,
        hints,
    }))
}

/// `GET /metrics`: OpenMetrics text (Prometheus reads it): sessions by phase, accounts, limited
/// accounts, each account's usage as its CLI last reported it, rotations.
pub async fn metrics(State(app): State<Arc<App>>) -> Result<axum::response::Response, Failure> {
    use axum::response::IntoResponse;
    let sessions = app.store.list_sessions(false).await?;
    let accounts = app.account_views().await?;
    let text = crate::gateway::metrics::render(&sessions, &accounts, chrono::Utc::now())
        .map_err(|e| Failure::internal(format!("encoding the metrics: {e}")))?;
    Ok(([(axum::http::header::CONTENT_TYPE, crate::gateway::metrics::CONTENT_TYPE)], text).into_response())
}
