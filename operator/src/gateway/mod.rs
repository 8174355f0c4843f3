//! The gateway (axum): the REST API, the session WebSockets, the change stream, the PWA's
//! static files and the OpenAPI document, on one port.

pub mod accounts;
pub mod error;
pub mod events;
pub mod openapi;
pub mod security;
pub mod sessions;
pub mod ws;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower_http::services::{ServeDir, ServeFile};

use crate::app::App;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The whole HTTP surface.
pub fn router(app: Arc<App>, pwa_dir: Option<PathBuf>) -> Router {
    let origins = security::Origins(app.config.allowed_origins.clone());
    let api = Router::new()
        .route("/api/health", get(accounts::health))
        .route("/metrics", get(accounts::metrics))
        .route("/api/repos", get(accounts::repos))
        .route("/api/accounts", get(accounts::list))
        .route("/api/accounts/{id}/reset-limit", post(accounts::reset_limit))
        .route("/api/sessions", get(sessions::list).post(sessions::create))
        .route("/api/sessions/{id}", get(sessions::show).delete(sessions::delete))
        .route("/api/sessions/{id}/send", post(sessions::send))
        .route("/api/sessions/{id}/oneshot", post(sessions::oneshot))
        .route("/api/sessions/{id}/approval", post(sessions::approve))
        .route("/api/sessions/{id}/history", get(sessions::history))
        .route("/api/sessions/{id}/screen", get(sessions::screen))
        .route("/api/sessions/{id}/transcript", get(sessions::transcript))
        .route("/api/events", get(events::stream))
        .route("/ws/sessions/{id}", get(ws::upgrade))
        .route("/api/openapi.json", get(openapi::serve))
        .fallback(|| async { error::Failure::not_found("no such endpoint") })
        .method_not_allowed_fallback(|| async { error::Failure::method_not_allowed() })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(app);
    let api = api.layer(axum::middleware::from_fn_with_state(origins, security::check_origin));
    match pwa_dir {
        Some(dir) if dir.join("index.html").exists() => {
            let index = dir.join("index.html");
            let pwa = ServeDir::new(dir).fallback(ServeFile::new(index));
            Router::new().nest_service("/", pwa).merge(api)
        }
        _ => api,
    }
}
