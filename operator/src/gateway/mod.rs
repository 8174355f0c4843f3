//! The gateway (axum): the REST API, the session WebSockets, the change stream, the PWA's
//! static files and the OpenAPI document, on one port.

pub mod accounts;
pub mod answer_note;
pub mod body_limit;
pub mod conversation;
pub mod error;
pub mod events;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod push;
pub mod query;
pub mod repos;
pub mod security;
pub mod sessions;
pub mod ws;
pub mod ws_audit;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::app::App;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The whole HTTP surface.
pub fn router(app: Arc<App>, pwa_dir: Option<PathBuf>) -> Router {
    let perimeter =
        Arc::new(security::Perimeter::new(&app.config.allowed_origins, security::machine_name().as_deref()));
    let pwa = pwa_service(pwa_dir);
    let api = Router::new()
        .route("/api/health", get(health::health))
        .route("/metrics", get(metrics::metrics))
        .route("/api/repos", get(repos::repos))
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
        .route("/api/sessions/{id}/conversation", get(conversation::stream))
        .route("/api/sessions/{id}/changes", get(sessions::changes))
        .route("/api/events", get(events::stream))
        .route("/api/push/key", get(push::key))
        .route("/api/push/subscriptions", post(push::subscribe).delete(push::unsubscribe))
        .route("/api/push/test", post(push::test))
        .route("/ws/sessions/{id}", get(ws::upgrade))
        .route("/api/openapi.json", get(openapi::serve))
        .fallback(move |request: Request| fallback(pwa.clone(), request))
        .method_not_allowed_fallback(|| async { error::Failure::method_not_allowed() })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(body_limit::bounded))
        .with_state(app);
    api.layer(axum::middleware::from_fn_with_state(perimeter, security::guard))
}

/// The built PWA: its files (gzip-precompressed when the build wrote `.gz` copies), and
/// `index.html` for every other path (client-side routes).
type Pwa = ServeDir<ServeFile>;

fn pwa_service(pwa_dir: Option<PathBuf>) -> Option<Pwa> {
    let dir = pwa_dir.filter(|d| d.join("index.html").exists())?;
    let index = ServeFile::new(dir.join("index.html")).precompressed_gzip();
    Some(ServeDir::new(dir).precompressed_gzip().fallback(index))
}

/// Unknown API paths get a JSON 404; everything else is the PWA (when built).
async fn fallback(pwa: Option<Pwa>, request: Request) -> Response {
    let path = request.uri().path();
    let api = path.starts_with("/api/") || path.starts_with("/ws/") || path == "/metrics";
    match pwa {
        Some(pwa) if !api => match pwa.oneshot(request).await {
            Ok(response) => response.map(axum::body::Body::new),
            Err(never) => match never {},
        },
        _ => error::Failure::not_found("no such endpoint").into_response(),
    }
}
