//! The worker's HTTP surface: `/ws`, `/state`, `/screen` (for the control plane alone: see
//! [`crate::auth`]) and `/healthz` on the listen address, and the hook endpoint on a Unix
//! socket that believes only its own CLI's processes (see [`crate::peer`]).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{DefaultBodyLimit, Path, Query, State, WebSocketUpgrade};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::auth::WorkerCredential;
use crate::hooks::{HookEvent, permission_decision};
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

/// The router on the listen address: every route but `/healthz` for the holder of `credential`
/// alone, and nothing for a request from a web page.
pub fn router(hub: Arc<Hub>, input: Option<Arc<PtyInput>>, credential: WorkerCredential) -> Router {
    Router::new()
        .route(crate::auth::OPEN_PATH, get(healthz))
        .route("/state", get(state))
        .route("/screen", get(screen))
        .route("/ws", get(ws))
        .with_state(AppState { hub, input })
        .layer(axum::middleware::from_fn_with_state(credential, crate::auth::require_control_plane))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn healthz() -> &'static str {
    "ok"
}

async fn state(State(app): State<AppState>) -> Json<cockpit_api::WorkerState> {
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
    /// The CLI's process id, once it runs: the root of the only process tree believed.
    cli: Arc<OnceLock<u32>>,
}

/// The process at the other end of a hook connection, as the kernel says.
#[derive(Clone, Copy, Debug)]
pub struct HookPeer {
    /// Its process id (none when the kernel did not say).
    pub pid: Option<u32>,
    /// Its user id.
    pub uid: Option<u32>,
}

impl Connected<axum::serve::IncomingStream<'_, tokio::net::UnixListener>> for HookPeer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::UnixListener>) -> HookPeer {
        match stream.io().peer_cred() {
            Ok(cred) => HookPeer { pid: cred.pid().and_then(|p| u32::try_from(p).ok()), uid: Some(cred.uid()) },
            Err(_) => HookPeer { pid: None, uid: None },
        }
    }
}

/// The hook endpoint's router, for a Unix socket: posts are believed only from `cli` (set once
/// the CLI runs) and its descendants.
pub fn hooks_router(hub: Arc<Hub>, cli: Arc<OnceLock<u32>>) -> Router {
    Router::new()
        .route("/hooks/{event}", post(hook))
        .layer(DefaultBodyLimit::max(1 << 20))
        .with_state(HookState { hub, cli })
}

/// True when `peer` is this worker's CLI or one of its descendants, run by this user.
fn from_own_cli(peer: HookPeer, cli: Option<u32>) -> bool {
    // SAFETY: geteuid has no failure mode.
    let me = unsafe { libc::geteuid() };
    match (peer.pid, peer.uid, cli) {
        (Some(pid), Some(uid), Some(cli)) => uid == me && crate::peer::descends_from(pid, cli),
        _ => false,
    }
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

async fn hook(
    State(st): State<HookState>,
    ConnectInfo(peer): ConnectInfo<HookPeer>,
    Path(event): Path<String>,
    body: Bytes,
) -> Response {
    if !from_own_cli(peer, st.cli.get().copied()) {
        tracing::warn!(
            event = %event.chars().take(40).collect::<String>(),
            peer_pid = ?peer.pid,
            "refused a hook post from a process outside this worker's CLI"
        );
        return error(StatusCode::FORBIDDEN, "hooks are taken from this worker's own CLI only");
    }
    let (parsed, context) = match HookEvent::parse(&event, &body) {
        Ok(parsed) => parsed,
        Err(err @ crate::hooks::HookError::UnknownEvent(_)) => return error(StatusCode::NOT_FOUND, err.to_string()),
        Err(err) => return error(StatusCode::BAD_REQUEST, err.to_string()),
    };
    tracing::debug!(event = %event, "hook");
    if matches!(parsed, HookEvent::StatusLine(_)) {
        // The status line's command prints the answer: the line the CLI shows.
        st.hub.on_hook(&parsed, &context);
        let report = st.hub.state().report.unwrap_or_default();
        return crate::statusline::line(&report).into_response();
    }
    let Some((id, answer)) = st.hub.on_hook(&parsed, &context) else {
        return Json(json!({})).into_response();
    };
    let mut guard = WithdrawOnDrop { hub: st.hub.clone(), id, answered: false };
    match answer.await {
        Ok(answer) => {
            guard.answered = true;
            let suggestions = match &parsed {
                HookEvent::PermissionRequest { suggestions, .. } => suggestions.as_slice(),
                _ => &[],
            };
            Json(permission_decision(answer.decision, answer.message.as_deref(), suggestions)).into_response()
        }
        // The process exited or the request was dropped: no decision, the dialog decides.
        Err(_) => Json(json!({})).into_response(),
    }
}
