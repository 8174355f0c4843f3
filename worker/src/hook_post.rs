//! `cockpit-worker post-hook`: run by the CLI as a `command` hook; posts its standard input to
//! the worker's hook socket (HTTP/1.1 over the worker's Unix socket, by hyper) and prints the
//! answer for the CLI. The worker believes the post because of who sent it (this process, a
//! descendant of its CLI: see [`crate::peer`]), not because of anything it carries.

use std::path::Path;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

/// Posts `body` for `event` to the worker's hook socket; returns the response body.
pub fn post(socket: &Path, event: &str, body: Vec<u8>) -> Result<Vec<u8>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting a runtime")?;
    runtime.block_on(post_async(socket, event, body))
}

async fn post_async(socket: &Path, event: &str, body: Vec<u8>) -> Result<Vec<u8>> {
    let stream = tokio::net::UnixStream::connect(socket)
        .await
        .with_context(|| format!("connecting to the worker's hook socket {}", socket.display()))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.context("HTTP handshake")?;
    tokio::spawn(connection);
    let request = http::Request::post(format!("/hooks/{event}"))
        .header(http::header::HOST, "worker")
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .context("building the hook request")?;
    let response = sender.send_request(request).await.context("posting the hook")?;
    let status = response.status();
    let answer = response.into_body().collect().await.context("reading the worker's answer")?.to_bytes();
    if !status.is_success() {
        bail!("the worker refused the hook: {status}: {}", String::from_utf8_lossy(&answer));
    }
    Ok(answer.to_vec())
}

/// What the hook prints for the CLI: the worker's answer, or nothing when it has none (an empty
/// object). The CLI adds a command hook's plain output to the conversation for some events.
pub fn printed_answer(answer: &[u8]) -> &[u8] {
    if answer.iter().filter(|b| !b.is_ascii_whitespace()).eq(b"{}".iter()) { &[] } else { answer }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_answer_prints_nothing_and_a_decision_prints_whole() {
        assert_eq!(printed_answer(b"{}"), b"");
        assert_eq!(printed_answer(b" { } \n"), b"");
        let decision = br#"{"hookSpecificOutput":{"hookEventName":"PermissionRequest"}}"#;
        assert_eq!(printed_answer(decision), decision);
    }
}
