//! Request bodies over [`MAX_BODY_BYTES`]: a 413 the client can read. A server that answers
//! early and closes with the body still arriving makes the kernel reset the connection, and a
//! client that writes its whole body before reading (most HTTP libraries) sees the reset, not
//! the answer. So, as nginx's lingering close does, an over-limit body is read and thrown away
//! — a bounded amount, for a bounded time — before the 413 goes out with `Connection: close`.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use super::MAX_BODY_BYTES;
use super::error::Failure;

/// At most this much of an over-limit body is read and discarded before the 413.
pub const DRAIN_MAX_BYTES: usize = 16 << 20;
/// For at most this long.
pub const DRAIN_TIME: Duration = Duration::from_secs(5);

/// What to do with a request's body, from its headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyPlan {
    /// Declared within the limit (or none): the handlers read it (with their own limit).
    Pass,
    /// Declared over the limit and the client waits for a go (`Expect: 100-continue`), or it is
    /// too large to be worth draining: answer now.
    RefuseNow,
    /// Declared over the limit: drain it, then answer.
    DrainThenRefuse,
    /// Of unknown length (chunked): read up to the limit; past it, drain, then answer.
    Read,
}

/// The plan for a request with these headers.
pub fn plan(headers: &axum::http::HeaderMap) -> BodyPlan {
    let chunked = headers
        .get(header::TRANSFER_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    let expects = headers
        .get(header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    match declared {
        _ if chunked => BodyPlan::Read,
        Some(n) if n <= MAX_BODY_BYTES as u64 => BodyPlan::Pass,
        Some(n) if expects || n > DRAIN_MAX_BYTES as u64 => BodyPlan::RefuseNow,
        Some(_) => BodyPlan::DrainThenRefuse,
        None => BodyPlan::Pass,
    }
}

fn too_large() -> Response {
    let mut response =
        Failure::too_large(format!("the body is larger than {MAX_BODY_BYTES} bytes, the most this API takes"))
            .into_response();
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Reads and discards what is left of a body, within [`DRAIN_MAX_BYTES`] and [`DRAIN_TIME`].
async fn drain(mut stream: axum::body::BodyDataStream, mut drained: usize) {
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(Ok(chunk)) = stream.next().await {
            drained += chunk.len();
            if drained > DRAIN_MAX_BYTES {
                break;
            }
        }
    })
    .await;
}

/// The middleware.
pub async fn bounded(request: Request, next: Next) -> Response {
    match plan(request.headers()) {
        BodyPlan::Pass => next.run(request).await,
        BodyPlan::RefuseNow => too_large(),
        BodyPlan::DrainThenRefuse => {
            drain(request.into_body().into_data_stream(), 0).await;
            too_large()
        }
        BodyPlan::Read => {
            let (parts, body) = request.into_parts();
            let mut stream = body.into_data_stream();
            let mut buffer = Vec::new();
            while let Some(chunk) = stream.next().await {
                let Ok(chunk) = chunk else { return too_large() };
                if buffer.len() + chunk.len() > MAX_BODY_BYTES {
                    drain(stream, buffer.len() + chunk.len()).await;
                    return too_large();
                }
                buffer.extend_from_slice(&chunk);
            }
            next.run(Request::from_parts(parts, Body::from(buffer))).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> axum::http::HeaderMap {
        let mut map = axum::http::HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).expect("value"));
        }
        map
    }

    #[test]
    fn plans_follow_the_declared_length() {
        assert_eq!(plan(&headers(&[])), BodyPlan::Pass);
        assert_eq!(plan(&headers(&[("content-length", "65536")])), BodyPlan::Pass);
        assert_eq!(plan(&headers(&[("content-length", "65537")])), BodyPlan::DrainThenRefuse);
        assert_eq!(
            plan(&headers(&[("content-length", "65537"), ("expect", "100-continue")])),
            BodyPlan::RefuseNow,
            "the client waits for a go: it never sends the body"
        );
        assert_eq!(plan(&headers(&[("content-length", "999999999999")])), BodyPlan::RefuseNow);
        assert_eq!(plan(&headers(&[("transfer-encoding", "chunked")])), BodyPlan::Read);
        assert_eq!(plan(&headers(&[("content-length", "nonsense")])), BodyPlan::Pass, "hyper refuses it first");
    }
}
