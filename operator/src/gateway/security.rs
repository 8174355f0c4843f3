//! The perimeter is the tailnet; inside it the gateway still checks the Origin of every
//! WebSocket and state-changing request (a page from elsewhere may not drive sessions), and
//! records who (`Tailscale-User-Login`) did what.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::Failure;

/// The header Tailscale Serve sets with the tailnet user's login.
pub const TAILSCALE_USER: &str = "tailscale-user-login";

/// The origins allowed besides the request's own.
#[derive(Clone, Debug, Default)]
pub struct Origins(pub Vec<String>);

/// True when `origin` (the Origin header) may drive the gateway reached at `host` (the Host
/// header). Requests without an Origin (curl, the CLI, native apps) are allowed.
pub fn origin_allowed(origin: Option<&str>, host: Option<&str>, allowed: &[String]) -> bool {
    let Some(origin) = origin else { return true };
    let origin = origin.trim_end_matches('/');
    if allowed.iter().any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin)) {
        return true;
    }
    let Some(host) = host else { return false };
    let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    origin_host.eq_ignore_ascii_case(host)
}

/// Middleware: refuses state-changing requests and WebSocket upgrades from foreign origins.
pub async fn check_origin(State(origins): State<Origins>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let headers = request.headers();
    let upgrade = headers.get(header::UPGRADE).is_some();
    let changes = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    if upgrade || changes {
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        if !origin_allowed(origin, host, &origins.0) {
            tracing::warn!(?origin, ?host, %method, path = %request.uri().path(), "refused a request from a foreign origin");
            return Failure::forbidden("this origin may not use the Cockpit API; add it to `allowedOrigins`")
                .into_response();
        }
    }
    next.run(request).await
}

/// The tailnet user who made the request, if Tailscale said.
pub fn actor(headers: &HeaderMap) -> Option<String> {
    headers.get(TAILSCALE_USER).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_origin_configured_origins_and_no_origin_pass() {
        assert!(origin_allowed(None, Some("nuc:8080"), &[]));
        assert!(origin_allowed(Some("http://nuc:8080"), Some("nuc:8080"), &[]));
        assert!(origin_allowed(
            Some("https://nuc.tail.ts.net"),
            Some("127.0.0.1:8080"),
            &["https://nuc.tail.ts.net/".into()]
        ));
        assert!(!origin_allowed(Some("https://evil.example"), Some("nuc:8080"), &[]));
        assert!(!origin_allowed(Some("http://nuc:8081"), Some("nuc:8080"), &[]));
        assert!(!origin_allowed(Some("null"), Some("nuc:8080"), &[]));
    }
}
