//! `cockpit-worker post-hook`: run by the CLI as a `command` hook; posts its standard input to
//! the worker's hook endpoint (loopback HTTP/1.1) and prints the answer for the CLI.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::hooks::SECRET_HEADER;

/// Splits `http://HOST:PORT/PATH` into `(HOST:PORT, /PATH)`; only plain loopback HTTP is
/// accepted.
pub fn split_url(url: &str) -> Result<(String, String)> {
    let rest = url.strip_prefix("http://").context("the hook URL must start with http://")?;
    let (authority, path) = rest.split_once('/').map(|(a, p)| (a, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let host = authority.rsplit_once(':').map(|(h, _)| h).unwrap_or(authority);
    if host != "127.0.0.1" && host != "localhost" && host != "[::1]" {
        bail!("the hook URL must point at loopback, not {host:?}");
    }
    Ok((authority.to_owned(), path))
}

/// Posts `body` to `url` with the secret; returns the response body.
pub fn post(url: &str, secret: &str, body: &[u8]) -> Result<Vec<u8>> {
    let (authority, path) = split_url(url)?;
    let mut stream = TcpStream::connect(&authority).with_context(|| format!("connecting to {authority}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{SECRET_HEADER}: {secret}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").context("malformed HTTP response")?;
    let status_line = String::from_utf8_lossy(&response[..split]).lines().next().unwrap_or_default().to_owned();
    if !status_line.contains(" 200 ") {
        bail!("the worker refused the hook: {status_line}");
    }
    Ok(response[split + 4..].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_urls_are_accepted() {
        assert_eq!(
            split_url("http://127.0.0.1:4000/hooks/SessionStart").expect("ok"),
            ("127.0.0.1:4000".to_owned(), "/hooks/SessionStart".to_owned())
        );
        assert!(split_url("https://127.0.0.1:4000/x").is_err());
        assert!(split_url("http://10.0.0.1:4000/x").is_err());
    }
}
