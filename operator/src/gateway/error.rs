//! API errors: every failure is a JSON [`ApiError`] with a stable code and a clear message.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cockpit_api::api::ApiError;

/// An error response.
#[derive(Debug)]
pub struct Failure {
    status: StatusCode,
    code: &'static str,
    message: String,
    approval: Option<Box<cockpit_api::PendingApproval>>,
}

impl Failure {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Failure {
        Failure { status, code, message: message.into(), approval: None }
    }

    /// 400: the request is malformed or invalid.
    pub fn bad_request(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 413: the body is over the limit.
    pub fn too_large(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    /// 404: no such thing.
    pub fn not_found(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409: conflicts with the current state.
    pub fn conflict(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 405: the path exists, the method does not.
    pub fn method_not_allowed() -> Failure {
        Failure::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed on this path")
    }

    /// 403: refused (a foreign origin).
    pub fn forbidden(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 421: a request for a host name this server does not serve.
    pub fn misdirected(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::MISDIRECTED_REQUEST, "misdirected", message)
    }

    /// 409 `approval_pending`: the CLI waits on a permission request, so typed text would
    /// answer its dialog; the request goes back with the error.
    /// `typed`: the request opened after the text was typed (it waits in the prompt, not
    /// submitted).
    pub fn approval_pending(approval: cockpit_api::PendingApproval, typed: bool) -> Failure {
        let fate = if typed { "the message was typed but not submitted" } else { "the message was not sent" };
        let message = format!(
            "Claude is waiting for your answer to a permission request ({}); {fate}. \
             Allow or deny it first (a deny can carry your message to Claude)",
            approval.tool
        );
        Failure {
            approval: Some(Box::new(approval)),
            ..Failure::new(StatusCode::CONFLICT, "approval_pending", message)
        }
    }

    /// 503: the worker is there but not taking input right now.
    pub fn unavailable(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 500: our fault; the details go to the log, not the response.
    pub fn internal(err: impl std::fmt::Display) -> Failure {
        tracing::error!("internal error: {err}");
        Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error (see the control plane's log)")
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ApiError { code: self.code.to_owned(), error: self.message, approval: self.approval.map(|a| *a) }),
        )
            .into_response()
    }
}

impl From<JsonRejection> for Failure {
    fn from(rejection: JsonRejection) -> Failure {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => {
                Failure::bad_request("send a JSON body with `Content-Type: application/json`")
            }
            JsonRejection::BytesRejection(_) => {
                Failure::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "the body is too large or could not be read")
            }
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

impl From<crate::backend::BackendError> for Failure {
    fn from(err: crate::backend::BackendError) -> Failure {
        use crate::backend::BackendError;
        match err {
            BackendError::NotFound(message) => Failure::not_found(message),
            BackendError::Conflict(message) => Failure::conflict(message),
            BackendError::Invalid(message) => Failure::bad_request(message),
            BackendError::Other(err) => Failure::internal(format!("{err:#}")),
        }
    }
}

impl From<crate::stream::UpstreamError> for Failure {
    fn from(err: crate::stream::UpstreamError) -> Failure {
        match err {
            crate::stream::UpstreamError::NoWorker => Failure::conflict(err.to_string()),
            crate::stream::UpstreamError::Busy | crate::stream::UpstreamError::NotConnected => {
                Failure::unavailable(err.to_string())
            }
        }
    }
}

impl From<QueryRejection> for Failure {
    fn from(rejection: QueryRejection) -> Failure {
        Failure::bad_request(format!("invalid query: {}", rejection.body_text()))
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
