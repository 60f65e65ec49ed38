//! The HTTP boundary's error type: every way a request can fail, each with its status and a
//! JSON body `{"error": "...", "reason": "..."}` (plus `field` when one field is to blame).
//!
//! Client errors are not logged as errors (senders retry, bad actors probe); server-side ones
//! are logged once, here, with their cause.
//!
//! May import: `metrics` (the database-error counter).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Signature missing, invalid, stale or from the future: nothing was written.
    #[error("unauthorized: {reason}")]
    Unauthorized { reason: String },
    /// The secret for this sender is not configured: we refuse rather than accept unverified.
    #[error("{what} is not configured")]
    NotConfigured { what: &'static str },
    /// The body (or one field of it) is malformed.
    #[error("bad request: {message}")]
    BadRequest {
        field: Option<String>,
        message: String,
    },
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("not found")]
    NotFound,
    /// Too many request bodies are being read at once (`docs/behaviour.md#ingress-limits`): the
    /// sender retries after `retry_after_secs`.
    #[error("busy: {reason}")]
    Busy {
        reason: &'static str,
        retry_after_secs: u64,
    },
    /// The body did not arrive within the body-read timeout.
    #[error("request body not received in time")]
    BodyTimeout,
    /// A dependency (the database) is unavailable; the sender should retry later.
    #[error("service unavailable: {reason}")]
    Unavailable { reason: String },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn unauthorized(reason: impl Into<String>) -> Self {
        Self::Unauthorized {
            reason: reason.into(),
        }
    }

    pub fn bad_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadRequest {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::NotConfigured { .. } | Self::Unavailable { .. } | Self::Busy { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    /// A database error while handling a request means "try again later" for the sender: every
    /// webhook sender we serve retries 5xx, and 503 says so without implying a bug. Whether it
    /// was an outage or a refused statement is logged and counted (`odis_http_db_errors_total`),
    /// and named in the reason, so the two are told apart (`docs/behaviour.md#database-errors`).
    fn from(e: sqlx::Error) -> Self {
        let kind = DbErrorKind::of(&e);
        crate::metrics::http_db_error(kind.as_str());
        match kind {
            DbErrorKind::Connection => {
                tracing::warn!(db_error_kind = kind.as_str(), error = %e, "database unavailable")
            }
            DbErrorKind::Query => {
                tracing::error!(db_error_kind = kind.as_str(), error = %e, "database query failed")
            }
        }
        Self::Unavailable {
            reason: format!("database {} error: {}", kind.as_str(), db_error_detail(&e)),
        }
    }
}

/// Which side a database error came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbErrorKind {
    /// The database could not be reached, dropped the connection, is restarting or out of
    /// resources: an outage, over when the database is back.
    Connection,
    /// The database answered and refused the statement, or a row did not decode: a bug or bad
    /// data, which a retry will not fix.
    Query,
}

impl DbErrorKind {
    pub fn of(e: &sqlx::Error) -> Self {
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::BeginFailed
            | sqlx::Error::Configuration(_) => Self::Connection,
            sqlx::Error::Database(db) if is_unavailable_sqlstate(db.code().as_deref()) => {
                Self::Connection
            }
            _ => Self::Query,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connection => "connection",
            Self::Query => "query",
        }
    }
}

/// SQLSTATEs the server sends when it, not the statement, is the problem: class 08 (connection
/// exception), 53 (insufficient resources), 57P01–57P03 (shutting down, crashed, starting up)
/// and 58 (system error).
fn is_unavailable_sqlstate(code: Option<&str>) -> bool {
    let Some(code) = code else { return false };
    code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("58")
        || ["57P01", "57P02", "57P03"].contains(&code)
}

/// A short, secret-free description of a database error for responses (details go to logs).
fn db_error_detail(e: &sqlx::Error) -> &'static str {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => "no connection available",
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) => "connection failed",
        sqlx::Error::Database(_) if DbErrorKind::of(e) == DbErrorKind::Connection => {
            "database not accepting work"
        }
        sqlx::Error::Database(_) => "statement refused",
        _ => "unexpected",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match &self {
            Self::Unauthorized { reason } => json!({"error": "unauthorized", "reason": reason}),
            Self::NotConfigured { what } => json!({
                "error": "not_configured",
                "reason": format!("{what} is not configured on this server"),
            }),
            Self::BadRequest { field, message } => {
                json!({"error": "bad_request", "field": field, "reason": message})
            }
            Self::PayloadTooLarge { limit } => json!({
                "error": "payload_too_large",
                "reason": format!("request body exceeds {limit} bytes"),
            }),
            Self::NotFound => json!({"error": "not_found", "reason": "no such resource"}),
            Self::Busy { reason, .. } => json!({"error": "busy", "reason": reason}),
            Self::BodyTimeout => status_body(StatusCode::REQUEST_TIMEOUT),
            Self::Unavailable { reason } => json!({"error": "unavailable", "reason": reason}),
            Self::Internal(_) => json!({"error": "internal", "reason": "internal error"}),
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::info!(error = %self, "request rejected");
        }
        let mut response = (status, Json(body)).into_response();
        if let Self::Busy {
            retry_after_secs, ..
        } = self
        {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(retry_after_secs),
            );
        }
        response
    }
}

/// The JSON body of an error status that nothing more specific describes: the 404/405/408/431/
/// 400 answers of the router, the timeout layer and hyper itself (`docs/behaviour.md#ingress-limits`).
pub fn status_body(status: StatusCode) -> serde_json::Value {
    let (error, reason) = match status.as_u16() {
        400 => ("bad_request", "malformed HTTP request"),
        404 => ("not_found", "no such route"),
        405 => (
            "method_not_allowed",
            "this route does not accept that method",
        ),
        408 => ("request_timeout", "the request was not received in time"),
        413 => ("payload_too_large", "request body too large"),
        414 => ("uri_too_long", "request URI too long"),
        431 => ("headers_too_large", "request header fields too large"),
        505 => ("http_version_not_supported", "HTTP version not supported"),
        s if s >= 500 => ("internal", "internal error"),
        _ => ("error", "request failed"),
    };
    json!({"error": error, "reason": reason})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_errors_are_told_apart_by_kind() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let cases = [
            (sqlx::Error::Io(refused), DbErrorKind::Connection),
            (sqlx::Error::PoolTimedOut, DbErrorKind::Connection),
            (sqlx::Error::PoolClosed, DbErrorKind::Connection),
            (sqlx::Error::Protocol("eof".into()), DbErrorKind::Connection),
            (sqlx::Error::RowNotFound, DbErrorKind::Query),
            (sqlx::Error::ColumnNotFound("x".into()), DbErrorKind::Query),
        ];
        for (e, want) in cases {
            assert_eq!(DbErrorKind::of(&e), want, "{e}");
        }
        for (code, outage) in [
            (Some("08006"), true),
            (Some("57P01"), true),
            (Some("57P03"), true),
            (Some("53300"), true),
            (Some("23505"), false),
            (Some("42P01"), false),
            (Some("57014"), false),
            (None, false),
        ] {
            assert_eq!(is_unavailable_sqlstate(code), outage, "{code:?}");
        }
    }

    #[test]
    fn the_503_names_the_kind() {
        let e = ApiError::from(sqlx::Error::PoolTimedOut);
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            e.to_string(),
            "service unavailable: database connection error: no connection available"
        );
        let e = ApiError::from(sqlx::Error::RowNotFound);
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            e.to_string(),
            "service unavailable: database query error: unexpected"
        );
    }
}
