//! `/api/accounts`: the accounts' usage and limits, and resetting a limit by hand.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use chrono::Utc;
use cockpit_api::SessionPhase;
use cockpit_api::api::AccountView;

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
    app.backend.reset_limit(&app, &id).await?;
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
