//! The credential-injecting proxy between the CLI and the Anthropic API: the CLI's
//! `ANTHROPIC_BASE_URL` points here and it holds only a placeholder credential; the proxy puts
//! the account's real credential on every request it forwards to the one upstream it was given,
//! and streams the answer back as it comes (SSE unbuffered, every response header passed: the
//! `anthropic-ratelimit-unified-*` family drives limits and the status line).
//!
//! It takes requests only from this worker's own CLI (the peer of the loopback connection must
//! be the CLI or one of its descendants), so another session's tools cannot borrow the
//! account, and nothing a session can read holds the real token.

use std::net::{SocketAddr, SocketAddrV4};
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cockpit_api::CredentialKind;
use futures_util::TryStreamExt;

use crate::claude_setup::Credential;

/// The placeholder the CLI holds instead of an OAuth token (the shape it expects).
pub const PLACEHOLDER_OAUTH_TOKEN: &str = "sk-ant-oat01-cockpit-proxy-placeholder-not-a-credential";
/// The placeholder the CLI holds instead of an API key.
pub const PLACEHOLDER_API_KEY: &str = "sk-ant-api03-cockpit-proxy-placeholder-not-a-credential";
/// Where requests go when the worker was given no `ANTHROPIC_BASE_URL`.
pub const DEFAULT_UPSTREAM: &str = "https://api.anthropic.com";

/// Headers that belong to one connection, never forwarded either way (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 7] =
    ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];
/// Request headers the proxy sets itself: the upstream's host and the credential.
const SET_BY_PROXY: [&str; 3] = ["host", "authorization", "x-api-key"];

/// The upstream: `ANTHROPIC_BASE_URL` of this process, else [`DEFAULT_UPSTREAM`].
pub fn upstream_from_env() -> String {
    std::env::var("ANTHROPIC_BASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_UPSTREAM.to_owned())
}

/// The placeholder credential of `kind`, for the CLI.
pub fn placeholder(kind: CredentialKind) -> Credential {
    match kind {
        CredentialKind::OAuthToken => Credential::new(kind, PLACEHOLDER_OAUTH_TOKEN),
        CredentialKind::ApiKey => Credential::new(kind, PLACEHOLDER_API_KEY),
    }
}

/// The request headers to send upstream: the client's, minus hop-by-hop ones and any
/// credential it sent, plus the real credential.
pub fn upstream_headers(from_cli: &HeaderMap, credential: &Credential) -> Result<HeaderMap> {
    let mut headers = HeaderMap::with_capacity(from_cli.len() + 1);
    for (name, value) in from_cli {
        if !HOP_BY_HOP.contains(&name.as_str()) && !SET_BY_PROXY.contains(&name.as_str()) {
            headers.append(name.clone(), value.clone());
        }
    }
    let (name, value) = match credential.kind {
        CredentialKind::OAuthToken => (header::AUTHORIZATION, format!("Bearer {}", credential.expose())),
        CredentialKind::ApiKey => (HeaderName::from_static("x-api-key"), credential.expose().to_owned()),
    };
    let mut value = HeaderValue::from_str(&value).context("the credential is not a valid header value")?;
    value.set_sensitive(true);
    headers.insert(name, value);
    Ok(headers)
}

/// The response headers to pass to the CLI: every one but the hop-by-hop ones.
pub fn downstream_headers(from_upstream: &HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(from_upstream.len());
    for (name, value) in from_upstream {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            headers.append(name.clone(), value.clone());
        }
    }
    headers
}

/// Whom the proxy serves.
#[derive(Clone, Debug)]
pub enum Peers {
    /// The worker's own CLI and its descendants (once its pid is known): the local runtime,
    /// where every session runs as the same user.
    OwnCli(Arc<OnceLock<u32>>),
    /// Any process of the Pod (a loopback peer): the Pod's proxy container, where the only other
    /// processes are the session's own, and the CLI's are another user's (unreadable).
    PodLocal,
}

struct Proxy {
    upstream: String,
    credential: Credential,
    client: reqwest::Client,
    local: SocketAddrV4,
    peers: Peers,
}

/// Starts the proxy on `listen` (a loopback IPv4 address); returns its base URL for the CLI
/// and the task serving it.
pub async fn start(
    listen: SocketAddrV4,
    upstream: &str,
    credential: Credential,
    peers: Peers,
) -> Result<(String, tokio::task::JoinHandle<()>)> {
    if !listen.ip().is_loopback() {
        anyhow::bail!("the API proxy listens on loopback only, not {listen}");
    }
    let listener = tokio::net::TcpListener::bind(listen).await.context("binding the API proxy")?;
    let SocketAddr::V4(local) = listener.local_addr()? else { anyhow::bail!("the API proxy is not on IPv4") };
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .build()
        .context("building the API proxy's client")?;
    let proxy =
        Arc::new(Proxy { upstream: upstream.trim_end_matches('/').to_owned(), credential, client, local, peers });
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    let task = tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<ProxyPeer>();
        if let Err(err) = axum::serve(listener, service).await {
            tracing::error!(%err, "the API proxy stopped");
        }
    });
    Ok((format!("http://{local}"), task))
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "type": "error", "error": { "type": "proxy_error", "message": message } })))
        .into_response()
}

/// The peer of one connection, and whether it may use the proxy: decided once, at the
/// connection's first request (tracing a peer through `/proc` costs milliseconds; the CLI keeps
/// its connections alive), then reused by every request on it.
#[derive(Clone, Debug)]
struct ProxyPeer {
    addr: SocketAddr,
    verdict: Arc<tokio::sync::OnceCell<bool>>,
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tokio::net::TcpListener>> for ProxyPeer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::TcpListener>) -> ProxyPeer {
        ProxyPeer { addr: *stream.remote_addr(), verdict: Arc::default() }
    }
}

impl Proxy {
    /// True when `peer` may use the proxy (see [`Peers`]).
    async fn admits(&self, peer: SocketAddr) -> bool {
        match (&self.peers, peer) {
            (Peers::PodLocal, peer) => peer.ip().is_loopback(),
            (Peers::OwnCli(cli), SocketAddr::V4(peer)) => match cli.get().copied() {
                Some(cli) => {
                    let local = self.local;
                    tokio::task::spawn_blocking(move || {
                        crate::peer::tcp_peer_pid(peer, local, |pid| crate::peer::descends_from(pid, cli)).is_some()
                    })
                    .await
                    .unwrap_or(false)
                }
                None => false,
            },
            (Peers::OwnCli(_), _) => false,
        }
    }
}

async fn forward(
    State(proxy): State<Arc<Proxy>>,
    ConnectInfo(peer): ConnectInfo<ProxyPeer>,
    request: Request,
) -> Response {
    let own = *peer.verdict.get_or_init(|| proxy.admits(peer.addr)).await;
    let peer = peer.addr;
    if !own {
        tracing::warn!(%peer, "refused an API request from a process outside this worker's CLI");
        return refuse(StatusCode::FORBIDDEN, "this proxy serves its own session's CLI only");
    }
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let headers = match upstream_headers(&parts.headers, &proxy.credential) {
        Ok(headers) => headers,
        Err(err) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()),
    };
    let upstream = proxy
        .client
        .request(parts.method, format!("{}{path}", proxy.upstream))
        .headers(headers)
        .body(reqwest::Body::wrap_stream(body.into_data_stream()))
        .send()
        .await;
    match upstream {
        Ok(answer) => {
            let mut response = Response::builder().status(answer.status());
            if let Some(headers) = response.headers_mut() {
                *headers = downstream_headers(answer.headers());
            }
            let stream = answer.bytes_stream().map_err(std::io::Error::other);
            response.body(Body::from_stream(stream)).unwrap_or_else(|err| {
                refuse(StatusCode::BAD_GATEWAY, &format!("the API's answer could not be passed on: {err}"))
            })
        }
        Err(err) => {
            tracing::warn!(%err, "the API is not reachable");
            refuse(StatusCode::BAD_GATEWAY, "the Anthropic API is not reachable from the proxy")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_credential_replaces_whatever_the_cli_sent() {
        let mut from_cli = HeaderMap::new();
        from_cli.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer sk-ant-oat01-placeholder"));
        from_cli.insert("x-api-key", HeaderValue::from_static("sk-ant-api03-placeholder"));
        from_cli.insert(header::HOST, HeaderValue::from_static("127.0.0.1:4000"));
        from_cli.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
        from_cli.insert("anthropic-beta", HeaderValue::from_static("oauth-2025-04-20"));
        let oauth = Credential::new(CredentialKind::OAuthToken, "sk-ant-oat01-real");
        let up = upstream_headers(&from_cli, &oauth).expect("headers");
        assert_eq!(up.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()), Some("Bearer sk-ant-oat01-real"));
        assert!(up.get(header::AUTHORIZATION).is_some_and(HeaderValue::is_sensitive));
        assert!(up.get("x-api-key").is_none());
        assert!(up.get(header::HOST).is_none() && up.get(header::CONNECTION).is_none());
        assert_eq!(up.get("anthropic-beta").and_then(|v| v.to_str().ok()), Some("oauth-2025-04-20"));
        let key = Credential::new(CredentialKind::ApiKey, "sk-ant-api03-real");
        let up = upstream_headers(&from_cli, &key).expect("headers");
        assert_eq!(up.get("x-api-key").and_then(|v| v.to_str().ok()), Some("sk-ant-api03-real"));
        assert!(up.get(header::AUTHORIZATION).is_none());
    }

    #[test]
    fn every_response_header_but_hop_by_hop_ones_reaches_the_cli() {
        let mut up = HeaderMap::new();
        up.insert("anthropic-ratelimit-unified-5h-utilization", HeaderValue::from_static("0.93"));
        up.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        up.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        up.insert(header::CONNECTION, HeaderValue::from_static("close"));
        let down = downstream_headers(&up);
        assert_eq!(down.len(), 2);
        assert!(down.contains_key("anthropic-ratelimit-unified-5h-utilization"));
        assert!(down.contains_key(header::CONTENT_TYPE));
    }

    #[test]
    fn placeholders_have_the_shape_of_their_kind_and_are_no_credential() {
        assert!(placeholder(CredentialKind::OAuthToken).expose().starts_with("sk-ant-oat01-"));
        assert!(placeholder(CredentialKind::ApiKey).expose().starts_with("sk-ant-api03-"));
    }
}
