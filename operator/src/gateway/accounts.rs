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
    if !app.has_account(&id) {
        return Err(Failure::not_found(format!("no account {id:?}")));
    }
    app.store.set_account_limit(&id, None, None).await?;
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

/// `GET /api/health`.
pub async fn health(State(app): State<Arc<App>>) -> Result<Json<HealthView>, Failure> {
    let sessions = app.store.list_sessions(false).await?;
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
    let accounts = app.account_views().await?;
    let hints = app.config.hints_with(|name| std::env::var(name).ok());
    Ok(Json(HealthView {
        status: if hints.is_empty() { "ok".into() } else { "degraded".into() },
        version: env!("CARGO_PKG_VERSION").into(),
        claude_version: app.claude_version.clone(),
        runtime: "local".into(),
        database: app.store.backend().as_str().into(),
        sessions: counts,
        accounts: accounts.len() as u32,
        accounts_limited: accounts.iter().filter(|a| a.limited_until.is_some()).count() as u32,
        repos: app.config.repos.len() as u32,
        hints,
    }))
}
