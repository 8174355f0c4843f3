//! `/api/health`: what runs, what is counted, and hints about anything missing or broken.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use cockpit_api::api::{HealthView, SessionCounts};
use cockpit_api::{Activity, SessionPhase};

use super::error::Failure;
use crate::app::App;

/// How long `/api/health` waits for the database before it answers without it.
const HEALTH_READ_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /api/health`.
pub async fn health(State(app): State<Arc<App>>) -> Result<Json<HealthView>, Failure> {
    let mut hints = app.config.hints_for(app.backend.accounts_in_config(), crate::env_secrets::get);
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
        let live = app.streams.live_state(&s.id).map(|l| l.activity).or(s.status.activity);
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
        runtime: app.backend.name().into(),
        database: app.store.backend().as_str().into(),
        sessions: counts,
        accounts: accounts.len() as u32,
        accounts_limited: accounts.iter().filter(|a| a.limited_until.is_some()).count() as u32,
        repos: app.config.repos.len() as u32,
        hints,
    }))
}
