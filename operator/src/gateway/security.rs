//! The perimeter is the tailnet; inside it the gateway still serves only the hosts it knows
//! and only pages from its own origins, and records who (`Tailscale-User-Login`) did what.
//!
//! Two checks run on every request, before any route:
//!
//! - **Host.** A web page on a name its author controls can make that name resolve to this
//!   machine (DNS rebinding): the browser then sends `Host: evil.example` and, being "same
//!   origin" with itself, reads every answer. So the `Host` must be an IP literal, `localhost`
//!   (or `*.localhost`, which browsers never ask DNS for), this machine's own name, or the host
//!   of an `allowedOrigins` entry; anything else is refused with 421 before any route runs.
//! - **Origin.** A request that carries an `Origin` (browsers add it to every WebSocket
//!   upgrade, every write and every cross-origin read) must come from this server's own origin
//!   (`http://` and exactly the `Host`, port included) or from an `allowedOrigins` entry
//!   (scheme, host and port exact); anything else is refused with 403. Requests without one
//!   (curl, the CLI, native apps) pass: they are not web pages.
//!
//! Tailnet names (`*.ts.net`) are served too, and `https://` + such a `Host` is their own origin
//! (Tailscale Serve terminates TLS in front of the gateway): their DNS is Tailscale's, which a
//! web page's author cannot point at this machine, so they cannot be used for rebinding.

use std::net::{Ipv4Addr, Ipv6Addr};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::Failure;

/// The header Tailscale Serve sets with the tailnet user's login.
pub const TAILSCALE_USER: &str = "tailscale-user-login";

/// Which hosts and origins may use the gateway.
#[derive(Clone, Debug, Default)]
pub struct Perimeter {
    /// Host names served besides IP literals and `localhost` (lowercase, no port).
    names: Vec<String>,
    /// Origins allowed besides the server's own (`scheme://host[:port]`, lowercase).
    origins: Vec<String>,
}

impl Perimeter {
    /// The perimeter of a server configured with `allowed_origins` (normalized by the config:
    /// lowercase `scheme://host[:port]`) running on a machine called `machine_name`.
    pub fn new(allowed_origins: &[String], machine_name: Option<&str>) -> Perimeter {
        let origins: Vec<String> =
            allowed_origins.iter().map(|o| o.trim_end_matches('/').to_ascii_lowercase()).collect();
        let mut names: Vec<String> = origins
            .iter()
            .filter_map(|o| url::Url::parse(o).ok())
            .filter_map(|url| url.host_str().map(|host| host.trim_end_matches('.').to_owned()))
            .collect();
        if let Some(machine) = machine_name.map(str::trim).filter(|m| !m.is_empty()) {
            names.push(machine.trim_end_matches('.').to_ascii_lowercase());
        }
        names.retain(|n| !n.is_empty());
        names.dedup();
        Perimeter { names, origins }
    }

    /// True when a request with this `Host` header may be served. Requests without one (HTTP/1.0
    /// tools) pass: a browser always sends it.
    pub fn host_allowed(&self, host: Option<&str>) -> bool {
        let Some(host) = host else { return true };
        let name = host_name(host);
        if name.is_empty() {
            return false;
        }
        if let Some(v6) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
            return v6.parse::<Ipv6Addr>().is_ok();
        }
        name.parse::<Ipv4Addr>().is_ok()
            || name == "localhost"
            || name.ends_with(".localhost")
            || is_tailnet_name(&name)
            || self.names.contains(&name)
    }

    /// True when a request carrying `origin` may drive the gateway reached at `host`.
    /// Requests without an Origin (curl, the CLI, native apps) are allowed.
    pub fn origin_allowed(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        let Some(origin) = origin else { return true };
        let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
        if self.origins.contains(&origin) {
            return true;
        }
        host.is_some_and(|host| {
            let host = host.trim().to_ascii_lowercase();
            origin == format!("http://{host}")
                || (is_tailnet_name(&host_name(&host)) && origin == format!("https://{host}"))
        })
    }
}

/// A MagicDNS / Tailscale Serve name (`<machine>.<tailnet>.ts.net`).
fn is_tailnet_name(name: &str) -> bool {
    name.strip_suffix(".ts.net").is_some_and(|rest| {
        let labels: Vec<&str> = rest.split('.').collect();
        labels.len() >= 2 && labels.iter().all(|l| !l.is_empty())
    })
}

/// The host of a `Host` header: lowercase, without the port and a trailing dot; IPv6
/// literals keep their brackets. Empty when it is no `host[:port]` (user info included).
fn host_name(authority: &str) -> String {
    let authority = authority.trim();
    if authority.contains('@') {
        return String::new();
    }
    match authority.parse::<http::uri::Authority>() {
        // The parser takes any text after the host's `:` as a port: only digits are one.
        Ok(parsed) if parsed.port_u16().is_some() || parsed.host().len() == authority.len() => {
            parsed.host().trim_end_matches('.').to_ascii_lowercase()
        }
        _ => String::new(),
    }
}

/// This machine's host name (what a LAN or MagicDNS name for it usually is).
pub fn machine_name() -> Option<String> {
    hostname::get().ok()?.into_string().ok().filter(|n| !n.is_empty())
}

/// Middleware: refuses requests to hosts this server does not serve (421) and requests from
/// foreign origins (403), on every route.
pub async fn guard(State(perimeter): State<std::sync::Arc<Perimeter>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers.get(header::HOST).map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let host = host.or_else(|| request.uri().authority().map(|a| a.as_str()));
    if !perimeter.host_allowed(host) {
        tracing::warn!(?host, method = %request.method(), path = %request.uri().path(), "refused a request for a host this server does not serve");
        return Failure::misdirected(
            "this server does not serve that host name; if it is yours, add its origin to `allowedOrigins`",
        )
        .into_response();
    }
    let origin = headers.get(header::ORIGIN).map(|v| v.to_str().unwrap_or("\u{fffd}"));
    if !perimeter.origin_allowed(origin, host) {
        tracing::warn!(?origin, ?host, method = %request.method(), path = %request.uri().path(), "refused a request from a foreign origin");
        return Failure::forbidden("this origin may not use the Cockpit API; add it to `allowedOrigins`")
            .into_response();
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

    fn tailnet() -> Perimeter {
        Perimeter::new(&["https://nuc.tail.ts.net".into()], Some("nuc"))
    }

    #[test]
    fn ip_literals_localhost_the_machine_and_allowed_origins_hosts_are_served() {
        let p = tailnet();
        for host in [
            "127.0.0.1:8080",
            "127.0.0.1",
            "10.42.0.7:8080",
            "[::1]:8080",
            "[fe80::1]",
            "localhost:8080",
            "LOCALHOST",
            "app.localhost:5173",
            "nuc:8080",
            "nuc.",
            "nuc.tail.ts.net",
            "NUC.tail.ts.net:443",
        ] {
            assert!(p.host_allowed(Some(host)), "{host}");
        }
        assert!(p.host_allowed(None), "no Host: not a browser");
    }

    #[test]
    fn rebinding_names_and_malformed_hosts_are_refused() {
        let p = tailnet();
        for host in [
            "evil.example",
            "evil.example:8080",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "nuc.evil.example",
            "tail.ts.net",
            "",
            ":8080",
            "[::1",
            "[not-ip]:80",
            "127.0.0.1:http",
            "localhost:8080:1",
        ] {
            assert!(!p.host_allowed(Some(host)), "{host}");
        }
        assert!(!Perimeter::default().host_allowed(Some("nuc:8080")), "the machine's name only when known");
    }

    #[test]
    fn this_machines_name_is_served() {
        let name = machine_name().expect("a Linux machine has a host name");
        assert!(Perimeter::new(&[], Some(&name)).host_allowed(Some(&format!("{name}:8080"))));
    }

    #[test]
    fn tailnet_names_are_served_with_their_https_origin() {
        let p = Perimeter::default();
        assert!(p.host_allowed(Some("laptop.tail1234.ts.net")));
        assert!(p.origin_allowed(Some("https://laptop.tail1234.ts.net"), Some("laptop.tail1234.ts.net")));
        assert!(p.origin_allowed(Some("http://laptop.tail1234.ts.net:8080"), Some("laptop.tail1234.ts.net:8080")));
        assert!(!p.host_allowed(Some("ts.net")));
        assert!(!p.host_allowed(Some("tail1234.ts.net")), "a tailnet, not a machine");
        assert!(!p.host_allowed(Some("a..ts.net")));
        assert!(!p.host_allowed(Some(".ts.net")));
        assert!(!p.host_allowed(Some("laptop.ts.net.evil.example")));
        assert!(!p.origin_allowed(Some("https://evil.example"), Some("laptop.tail1234.ts.net")));
        assert!(!p.origin_allowed(Some("https://other.tail1234.ts.net"), Some("laptop.tail1234.ts.net")));
        assert!(!p.origin_allowed(Some("https://evil.example"), Some("evil.example")), "https only for tailnet names");
    }

    #[test]
    fn same_origin_means_http_and_exactly_the_host() {
        let p = tailnet();
        assert!(p.origin_allowed(None, Some("nuc:8080")));
        assert!(p.origin_allowed(Some("http://nuc:8080"), Some("nuc:8080")));
        assert!(p.origin_allowed(Some("http://127.0.0.1:8080"), Some("127.0.0.1:8080")));
        assert!(p.origin_allowed(Some("https://nuc.tail.ts.net"), Some("127.0.0.1:8080")));
        assert!(p.origin_allowed(Some("https://NUC.tail.ts.net/"), Some("nuc.tail.ts.net")));
        assert!(!p.origin_allowed(Some("https://127.0.0.1:8080"), Some("127.0.0.1:8080")), "scheme");
        assert!(!p.origin_allowed(Some("http://nuc:8081"), Some("nuc:8080")), "port");
        assert!(!p.origin_allowed(Some("http://nuc.tail.ts.net"), Some("127.0.0.1")), "allowed as https only");
        assert!(!p.origin_allowed(Some("https://nuc.tail.ts.net:8443"), Some("127.0.0.1")));
        assert!(!p.origin_allowed(Some("https://evil.example"), Some("nuc:8080")));
        assert!(!p.origin_allowed(Some("null"), Some("nuc:8080")));
        assert!(!p.origin_allowed(Some("http://nuc:8080"), None), "an Origin needs a Host to match");
    }
}
