//! Errors as `application/problem+json` (RFC 9457). 5xx bodies are opaque; their
//! cause is logged once, here, with the request's span.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use fds_core::Problem as FieldProblem;
use serde::Serialize;

#[derive(Debug, Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    problems: &'a [FieldProblem],
}

/// Every error the API returns.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request is not valid")]
    Invalid(Vec<FieldProblem>),
    #[error("missing or unknown API key")]
    Unauthorized,
    #[error("not found: {0}")]
    NotFound(String),
    #[error("the payload is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the service is not ready: {0}")]
    Unavailable(String),
    #[error("no decision within the deadline")]
    DeadlineExceeded,
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldProblem { field: field.into(), reason: reason.into() }])
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Invalid(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) | ApiError::DeadlineExceeded => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ApiError::Invalid(_) => "https://fds.example/problems/invalid-request",
            ApiError::Unauthorized => "https://fds.example/problems/unauthorized",
            ApiError::NotFound(_) => "https://fds.example/problems/not-found",
            ApiError::TooLarge(_) => "https://fds.example/problems/too-large",
            ApiError::Unavailable(_) => "https://fds.example/problems/unavailable",
            ApiError::DeadlineExceeded => "https://fds.example/problems/deadline-exceeded",
            ApiError::Internal(_) => "https://fds.example/problems/internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (title, detail, problems): (&str, String, &[FieldProblem]) = match &self {
            ApiError::Invalid(p) => ("Invalid request", format!("{} problem(s) found", p.len()), p),
            ApiError::Unauthorized => ("Unauthorized", "send Authorization: Bearer <api key>".into(), &[]),
            ApiError::NotFound(what) => ("Not found", what.clone(), &[]),
            ApiError::TooLarge(limit) => ("Payload too large", format!("the limit is {limit} bytes"), &[]),
            ApiError::Unavailable(_) => ("Service unavailable", "try again later".into(), &[]),
            ApiError::DeadlineExceeded => {
                ("Deadline exceeded", "no decision within the deadline".into(), &[])
            }
            ApiError::Internal(_) => ("Internal error", "the error was logged".into(), &[]),
        };
        if let ApiError::Internal(cause) | ApiError::Unavailable(cause) = &self {
            tracing::error!(error = %cause, "request failed");
        }
        let body = Body { kind: self.kind(), title, status: status.as_u16(), detail, problems };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (status, bytes).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if matches!(self, ApiError::Unauthorized) {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
