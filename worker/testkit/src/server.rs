//! The HTTP server: routing, recording, limits, and writing the answers.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::ratelimit::{Headers, Window};
use crate::request::{self, AuthKind, RecordedRequest};
use crate::script::{self, Plan};
use crate::sse;

#[derive(Default)]
struct Inner {
    requests: Vec<RecordedRequest>,
    limits: HashMap<String, Window>,
}

type Shared = Arc<Mutex<Inner>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Inner> {
    // A panicking test thread must not poison the stand-in for the others.
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running stand-in for the Anthropic Messages API. The server stops when
/// this value is dropped.
pub struct StandIn {
    addr: SocketAddr,
    shared: Shared,
    task: JoinHandle<()>,
}

impl StandIn {
    /// Starts the stand-in on `127.0.0.1:0` (a free port).
    pub async fn start() -> anyhow::Result<StandIn> {
        Self::start_on("127.0.0.1:0".parse()?).await
    }

    /// Starts the stand-in on `addr`.
    pub async fn start_on(addr: SocketAddr) -> anyhow::Result<StandIn> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Shared::default();
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("stand-in server stopped: {e}");
            }
        });
        Ok(StandIn { addr, shared, task })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234` (for `ANTHROPIC_BASE_URL`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every call answered so far, oldest first. `/v1/messages` calls and
    /// also `count_tokens` and 404s; filter on [`RecordedRequest::path`].
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared).requests.clone()
    }

    /// From now on every request carrying `token` answers 429 with the
    /// unified rate-limit headers of `window`.
    pub fn limit_token(&self, token: &str, window: Window) {
        lock(&self.shared).limits.insert(token.to_string(), window);
    }

    /// A cloneable handle that sets and clears token limits while the server runs (e.g. from
    /// commands a test sends the stand-in process).
    pub fn limits_handle(&self) -> LimitsHandle {
        LimitsHandle { shared: self.shared.clone() }
    }

    /// A cloneable getter of [`StandIn::requests`] that outlives borrows of `self`.
    pub fn requests_handle(&self) -> impl Fn() -> Vec<RecordedRequest> + Send + Sync + 'static {
        let shared = self.shared.clone();
        move || lock(&shared).requests.clone()
    }

    /// Undoes [`StandIn::limit_token`].
    pub fn clear_limit(&self, token: &str) {
        lock(&self.shared).limits.remove(token);
    }

    /// Waits until the server task ends (it normally never does).
    pub async fn serve_forever(&mut self) -> anyhow::Result<()> {
        (&mut self.task).await?;
        Ok(())
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The credential of a request.
fn credential(headers: &HeaderMap) -> (AuthKind, Option<String>) {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(token) = text("authorization").and_then(|v| v.strip_prefix("Bearer ")) {
        return (AuthKind::Bearer, Some(token.trim().to_string()));
    }
    if let Some(key) = text("x-api-key") {
        return (AuthKind::ApiKey, Some(key.to_string()));
    }
    (AuthKind::None, None)
}

fn with_headers(mut builder: axum::http::response::Builder, extra: &Headers) -> axum::http::response::Builder {
    for (name, value) in extra {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name.as_str()), HeaderValue::try_from(value.as_str())) {
            builder = builder.header(n, v);
        }
    }
    builder
}

fn json_response(status: u16, request_id: &str, extra: &Headers, body: &Value) -> Response {
    let builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "application/json")
        .header("request-id", request_id);
    with_headers(builder, extra).body(Body::from(body.to_string())).unwrap_or_else(|_| Response::new(Body::empty()))
}

fn sse_response(request_id: &str, extra: &Headers, events: Vec<sse::Event>, pace: Duration) -> Response {
    let stream = futures_util::stream::unfold(events.into_iter(), move |mut it| async move {
        let ev = it.next()?;
        if ev.name == "content_block_delta" && !pace.is_zero() {
            tokio::time::sleep(pace).await;
        }
        Some((Ok::<_, Infallible>(Bytes::from(ev.to_wire())), it))
    });
    let builder = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-cache")
        .header("request-id", request_id);
    with_headers(builder, extra).body(Body::from_stream(stream)).unwrap_or_else(|_| Response::new(Body::empty()))
}

/// Sets and clears token limits of a running [`StandIn`].
#[derive(Clone)]
pub struct LimitsHandle {
    shared: Shared,
}

impl LimitsHandle {
    /// See [`StandIn::limit_token`].
    pub fn limit_token(&self, token: &str, window: Window) {
        lock(&self.shared).limits.insert(token.to_string(), window);
    }

    /// See [`StandIn::clear_limit`].
    pub fn clear_limit(&self, token: &str) {
        lock(&self.shared).limits.remove(token);
    }
}

/// The single handler: routes by path.
async fn handle(State(shared): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_string();
    let request_id = sse::request_id();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let parsed = request::parse(&body);
    let (auth, token) = credential(&headers);
    let limit = token.as_ref().and_then(|t| lock(&shared).limits.get(t).copied());
    tracing::debug!(%method, %path, ?auth, "stand-in request");

    let response = match (method == Method::POST, path.as_str()) {
        (true, "/v1/messages") => {
            let plan = match limit {
                Some(window) => script::limited(window),
                None => script::plan(&parsed),
            };
            answer(&parsed, plan, &request_id)
        }
        (true, "/v1/messages/count_tokens") => {
            json_response(200, &request_id, &vec![], &json!({"input_tokens": parsed.approx_input_tokens}))
        }
        _ => json_response(
            404,
            &request_id,
            &vec![],
            &sse::error_json("not_found_error", &format!("Not found: {method} {path}"), &request_id),
        ),
    };
    lock(&shared).requests.push(RecordedRequest {
        method: method.to_string(),
        path,
        model: parsed.model.clone(),
        stream: parsed.stream,
        last_user_text: parsed.last_user_text.clone(),
        user_turns: parsed.user_turns,
        auth,
        token,
        status: response.status().as_u16(),
        has_tools: parsed.has_tools,
    });
    response
}

/// Writes a plan as an HTTP answer.
fn answer(parsed: &request::Parsed, plan: Plan, request_id: &str) -> Response {
    match plan {
        Plan::Error { status, kind, message, headers } => {
            json_response(status, request_id, &headers, &sse::error_json(kind, message, request_id))
        }
        Plan::Reply { blocks, stop_reason, headers, pace } => {
            let id = sse::message_id();
            let model = if parsed.model.is_empty() { "claude-stand-in" } else { parsed.model.as_str() };
            if parsed.stream {
                let pieces = if pace >= Duration::from_millis(100) { 8 } else { 3 };
                let events = sse::stream_events(&id, model, &blocks, stop_reason, parsed.approx_input_tokens, pieces);
                sse_response(request_id, &headers, events, pace)
            } else {
                let msg = sse::message_json(&id, model, &blocks, stop_reason, parsed.approx_input_tokens);
                json_response(200, request_id, &headers, &msg)
            }
        }
    }
}
