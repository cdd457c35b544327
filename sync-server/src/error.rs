//! The server's error type: every failure carries a stable snake_case code and maps to one HTTP status, so
//! clients (and the CLI's `--json`) see `{"code", "message"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gridline_core::sync::protocol::ApiError;
use gridline_core::ErrorCode;

/// A failure of a request or an admin command.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ServerError {
    /// HTTP status answered.
    pub status: StatusCode,
    /// Stable code, written snake_case in the JSON body.
    pub code: ErrorCode,
    /// Human message.
    pub message: String,
    /// Seconds the client should wait before trying again (sent as `Retry-After`, with 429 and 503).
    pub retry_after: Option<u64>,
    /// The document a sync batch was refused for (the client sets it aside and syncs the rest).
    pub doc_id: Option<String>,
    /// The refused change (hex hash), when one change is to blame.
    pub change_hash: Option<String>,
}

/// The server's result type.
pub type Result<T, E = ServerError> = std::result::Result<T, E>;

impl ServerError {
    /// A new error.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> ServerError {
        ServerError { status, code, message: message.into(), retry_after: None, doc_id: None, change_hash: None }
    }
    /// The same error, telling the client to wait `seconds` before trying again.
    pub fn retry_after(mut self, seconds: u64) -> ServerError {
        self.retry_after = Some(seconds);
        self
    }
    /// The same error naming the document it is about (and the change, when known). A change hash already
    /// named is kept when none is given.
    pub fn with_document(mut self, doc_id: impl Into<String>, change_hash: Option<String>) -> ServerError {
        self.doc_id = Some(doc_id.into());
        if change_hash.is_some() {
            self.change_hash = change_hash;
        }
        self
    }
    /// 400 with `code`.
    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> ServerError {
        ServerError::new(StatusCode::BAD_REQUEST, code, message)
    }
    /// 403 `forbidden_change`: the whole batch is refused.
    pub fn forbidden_change(message: impl Into<String>) -> ServerError {
        ServerError::new(StatusCode::FORBIDDEN, ErrorCode::ForbiddenChange, message)
    }
    /// 404 `not_found`.
    pub fn not_found(what: impl Into<String>) -> ServerError {
        ServerError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, what)
    }
    /// 500 `storage_error`: the database failed (nothing half-written: every write is one transaction).
    pub fn storage(e: impl std::fmt::Display) -> ServerError {
        ServerError::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::StorageError, e.to_string())
    }
    /// 500 `internal_error`.
    pub fn internal(e: impl std::fmt::Display) -> ServerError {
        ServerError::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::InternalError, e.to_string())
    }
}

impl From<rusqlite::Error> for ServerError {
    fn from(e: rusqlite::Error) -> Self {
        ServerError::storage(e)
    }
}

/// An error with its causes: the PostgreSQL driver says "error connecting to server" and keeps the why (refused,
/// unknown database, authentication) in its source.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        // A wrapper often repeats its source's words in its own; say them once.
        let said = c.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = c.source();
    }
    text
}

impl From<tokio_postgres::Error> for ServerError {
    fn from(e: tokio_postgres::Error) -> Self {
        ServerError::storage(with_causes(&e))
    }
}

impl From<deadpool_postgres::PoolError> for ServerError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        ServerError::storage(with_causes(&e))
    }
}

impl From<gridline_core::Error> for ServerError {
    /// 404 for what does not exist (or is out of the caller's scope, which looks the same), 409 for an action
    /// the workflow refuses now, 400 for the rest.
    fn from(e: gridline_core::Error) -> Self {
        let status = match e.code() {
            ErrorCode::NotFound | ErrorCode::HouseholdNotFound | ErrorCode::ResidentNotFound => StatusCode::NOT_FOUND,
            ErrorCode::ActionNotAllowed => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        };
        ServerError::new(status, e.code(), e.to_string())
    }
}

impl From<std::io::Error> for ServerError {
    fn from(e: std::io::Error) -> Self {
        ServerError::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::IoError, e.to_string())
    }
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let body = ApiError {
            code: self.code.code().to_string(),
            message: self.message,
            doc_id: self.doc_id,
            change_hash: self.change_hash,
        };
        let mut res = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_core_error_answers_not_found_conflict_or_bad_request() {
        let missing = gridline_core::Error::NotFound { kind: "incident".into(), id: "x".into() };
        let e = ServerError::from(missing);
        assert_eq!((e.status, e.code), (StatusCode::NOT_FOUND, ErrorCode::NotFound));
        let e = ServerError::from(gridline_core::Error::HouseholdNotFound("H1".into()));
        assert_eq!((e.status, e.code), (StatusCode::NOT_FOUND, ErrorCode::HouseholdNotFound));
        let e = ServerError::from(gridline_core::Error::ActionNotAllowed("dispatch".into()));
        assert_eq!((e.status, e.code), (StatusCode::CONFLICT, ErrorCode::ActionNotAllowed));
        let e = ServerError::from(gridline_core::Error::invalid("note", "too long"));
        assert_eq!((e.status, e.code), (StatusCode::BAD_REQUEST, ErrorCode::InvalidInput));
    }
}
