//! API errors: every failure is a JSON [`ApiError`] with a stable code and a clear message.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cockpit_crds::api::ApiError;

/// An error response.
#[derive(Debug)]
pub struct Failure {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Failure {
    /// 400: the request is malformed or invalid.
    pub fn bad_request(message: impl Into<String>) -> Failure {
        Failure { status: StatusCode::BAD_REQUEST, code: "bad_request", message: message.into() }
    }

    /// 404: no such thing.
    pub fn not_found(message: impl Into<String>) -> Failure {
        Failure { status: StatusCode::NOT_FOUND, code: "not_found", message: message.into() }
    }

    /// 409: conflicts with the current state.
    pub fn conflict(message: impl Into<String>) -> Failure {
        Failure { status: StatusCode::CONFLICT, code: "conflict", message: message.into() }
    }

    /// 405: the path exists, the method does not.
    pub fn method_not_allowed() -> Failure {
        Failure {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "method_not_allowed",
            message: "method not allowed on this path".into(),
        }
    }

    /// 403: refused (a foreign origin).
    pub fn forbidden(message: impl Into<String>) -> Failure {
        Failure { status: StatusCode::FORBIDDEN, code: "forbidden", message: message.into() }
    }

    /// 421: a request for a host name this server does not serve.
    pub fn misdirected(message: impl Into<String>) -> Failure {
        Failure { status: StatusCode::MISDIRECTED_REQUEST, code: "misdirected", message: message.into() }
    }

    /// 500: our fault; the details go to the log, not the response.
    pub fn internal(err: impl std::fmt::Display) -> Failure {
        tracing::error!("internal error: {err}");
        Failure {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: "internal error (see the control plane's log)".into(),
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.status, Json(ApiError { code: self.code.to_owned(), error: self.message })).into_response()
    }
}

impl From<JsonRejection> for Failure {
    fn from(rejection: JsonRejection) -> Failure {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => {
                Failure::bad_request("send a JSON body with `Content-Type: application/json`")
            }
            JsonRejection::BytesRejection(_) => Failure {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: "too_large",
                message: "the body is too large or could not be read".into(),
            },
            other => Failure::bad_request(format!("invalid JSON body: {}", other.body_text())),
        }
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(err: crate::store::StoreError) -> Failure {
        match err {
            crate::store::StoreError::Duplicate { what } => Failure::conflict(format!("{what} already exists")),
            crate::store::StoreError::NotFound { what } => Failure::not_found(format!("{what} not found")),
            other => Failure::internal(other),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(err: anyhow::Error) -> Failure {
        Failure::internal(format!("{err:#}"))
    }
}

/// The JSON extractor whose rejections are [`Failure`]s.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(Failure))]
pub struct Body<T>(pub T);
