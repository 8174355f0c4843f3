//! The worker's HTTP surface: `/ws`, `/healthz`, `/state`, `/screen` on the listen address, and
//! the hook endpoint on loopback, guarded by a per-process secret.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::hooks::{HookEvent, SECRET_HEADER, permission_decision, secret_matches};
use crate::hub::{Hub, LagPolicy};
use crate::input::PtyInput;

/// The largest WebSocket message accepted at the protocol level; frames above the protocol's
/// own limit but below this get an error frame, larger ones close the connection.
const WS_MAX_MESSAGE: usize = 1 << 20;

#[derive(Clone)]
struct AppState {
    hub: Arc<Hub>,
    input: Option<Arc<PtyInput>>,
}

/// The public router.
pub fn router(hub: Arc<Hub>, input: Option<Arc<PtyInput>>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/state", get(state))
        .route("/screen", get(screen))
        .route("/ws", get(ws))
        .with_state(AppState { hub, input })
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn healthz() -> &'static str {
    "ok"
}

async fn state(State(app): State<AppState>) -> Json<cockpit_crds::WorkerState> {
    Json(app.hub.state())
}

async fn screen(State(app): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], app.hub.screen_text()).into_response()
}

async fn ws(
    State(app): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let from = match query.get("from").map(|f| f.parse::<u64>()) {
        None => None,
        Some(Ok(offset)) => Some(offset),
        Some(Err(_)) => return error(StatusCode::BAD_REQUEST, "`from` must be a byte offset (a non-negative integer)"),
    };
    let lag = match query.get("lag").map(String::as_str) {
        None | Some("repaint") => LagPolicy::Repaint,
        Some("replay") => LagPolicy::Replay,
        Some(other) => {
            return error(StatusCode::BAD_REQUEST, format!("`lag` must be `repaint` or `replay`, not {other:?}"));
        }
    };
    if let Some(unknown) = query.keys().find(|k| !matches!(k.as_str(), "from" | "lag")) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("unknown query parameter {unknown:?}; only `from` and `lag` are accepted"),
        );
    }
    upgrade
        .max_message_size(WS_MAX_MESSAGE)
        .read_buffer_size(4 * 1024)
        .on_upgrade(move |socket| crate::client::serve(socket, app.hub, app.input, from, lag))
}

#[derive(Clone)]
struct HookState {
    hub: Arc<Hub>,
    secret: Arc<str>,
}

/// The hook endpoint's router. Bind it to loopback only.
pub fn hooks_router(hub: Arc<Hub>, secret: String) -> Router {
    Router::new()
        .route("/hooks/{event}", post(hook))
        .layer(DefaultBodyLimit::max(1 << 20))
        .with_state(HookState { hub, secret: secret.into() })
}

/// Withdraws a pending approval when the CLI stops waiting for the answer.
struct WithdrawOnDrop {
    hub: Arc<Hub>,
    id: String,
    answered: bool,
}

impl Drop for WithdrawOnDrop {
    fn drop(&mut self) {
        if !self.answered {
            self.hub.approval_withdrawn(&self.id);
        }
    }
}

async fn hook(State(st): State<HookState>, Path(event): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let given = headers.get(SECRET_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
    if !secret_matches(&st.secret, given) {
        tracing::warn!(event = %event.chars().take(40).collect::<String>(), "hook post without the right secret refused");
        return error(StatusCode::UNAUTHORIZED, "missing or wrong hook secret");
    }
    let (parsed, session_id) = match HookEvent::parse(&event, &body) {
        Ok(parsed) => parsed,
        Err(err @ crate::hooks::HookError::UnknownEvent(_)) => return error(StatusCode::NOT_FOUND, err.to_string()),
        Err(err) => return error(StatusCode::BAD_REQUEST, err.to_string()),
    };
    tracing::debug!(event = %event, "hook");
    let Some((id, answer)) = st.hub.on_hook(&parsed, session_id.as_deref()) else {
        return Json(json!({})).into_response();
    };
    let mut guard = WithdrawOnDrop { hub: st.hub.clone(), id, answered: false };
    match answer.await {
        Ok(answer) => {
            guard.answered = true;
            Json(permission_decision(answer.decision, answer.message.as_deref())).into_response()
        }
        // The process exited or the request was dropped: no decision, the dialog decides.
        Err(_) => Json(json!({})).into_response(),
    }
}
