//! The core's error type: one enum, each variant with a stable snake_case code that shells localise.

/// Everything that can go wrong in the core. `code()` is stable; messages are English, for humans and logs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store key does not open this store (or the file is not a Gridline store).
    #[error("the store key does not open this store")]
    StoreKeyInvalid,
    /// No store has been initialised in this directory.
    #[error("no store in {0}: run init or enroll first")]
    StoreNotInitialised(String),
    /// A store already exists where a new one was to be created.
    #[error("a store already exists in {0}")]
    StoreExists(String),
    /// The store is from a newer version of Gridline.
    #[error("store schema version {found} is newer than this build supports ({supported})")]
    StoreTooNew { found: i64, supported: i64 },
    /// SQLite failed (disk full, I/O error, corruption).
    #[error("store error: {0}")]
    Store(String),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// The roster file is malformed; nothing from it was applied.
    #[error("{0}")]
    RosterInvalid(String),
    /// A household code that is not in the roster.
    #[error("household {0:?} is not in the roster")]
    HouseholdNotFound(String),
    /// A resident that is not in the household.
    #[error("resident {resident:?} is not in household {household:?}")]
    ResidentNotFound { household: String, resident: String },
    /// A user-supplied value is out of range or malformed.
    #[error("{field}: {reason}")]
    InvalidInput { field: String, reason: String },
    /// A photo is too large, empty, or not an image type we accept.
    #[error("photo rejected: {0}")]
    PhotoInvalid(String),
    /// A document's bytes could not be loaded or do not have the expected shape.
    #[error("document {doc}: {reason}")]
    DocumentInvalid { doc: String, reason: String },
    /// The device's role may not take this action.
    #[error("{0}")]
    ActionNotAllowed(String),
    /// A code that is not in the community's catalogue (visit services, categories …).
    #[error("{field}: {code:?} is not in the community's catalogue")]
    UnknownCode { field: String, code: String },
    /// A record (incident, visit, blob …) that does not exist here.
    #[error("{kind} {id:?} not found")]
    NotFound { kind: String, id: String },
    /// The server could not be reached (after retries).
    #[error("network: {0}")]
    Network(String),
    /// The server answered 5xx (after retries).
    #[error("server unavailable: {0}")]
    ServerUnavailable(String),
    /// The server refused a request with a 4xx and a JSON error; `code` is the server's code.
    #[error("{code}: {message}")]
    ServerRefused { code: String, message: String },
    /// The server revoked this device; its local store has been wiped.
    #[error("this device was revoked; its local store has been wiped")]
    DeviceRevoked,
    /// An answer said this device was revoked, but it did not come over TLS or loopback from the enrolled
    /// server, so it cannot be trusted to erase anything: the store was kept.
    #[error("the server answered that this device was revoked, over plain HTTP; the local store was kept")]
    DeviceRevokedUnverified,
    /// The server refused one document of a sync batch (`code` is the server's, e.g. `forbidden_change`). The
    /// sync client sets the document aside and syncs the rest; this error only escapes when it cannot.
    #[error("{}: {}: {}", .0.doc_id, .0.code, .0.message)]
    DocumentRefused(crate::sync::refused::RefusedDocument),
    /// The server asked this device to slow down (429) and the wait it asked for is longer than a sync
    /// waits; local work is kept.
    #[error("the server is busy (rate limited){}", .retry_after_secs.map(|s| format!("; retry after {s} s")).unwrap_or_default())]
    RateLimited {
        /// Seconds the server asked to wait (`Retry-After`), if it said.
        retry_after_secs: Option<u64>,
    },
    /// An `http://` server URL that is not loopback, without an explicit opt-in to plain HTTP.
    #[error("{0} is plain HTTP to a host that is not loopback: use https:// (or opt in to insecure HTTP)")]
    InsecureServerUrl(String),
    /// The store was created with `init`, not enrolled with a server.
    #[error("this store is not enrolled with a server: run enroll")]
    NotEnrolled,
    /// A sync was cancelled between rounds; what was done so far is kept.
    #[error("sync cancelled")]
    SyncCancelled,
    /// The server's answer breaks the protocol.
    #[error("sync protocol: {0}")]
    SyncProtocol(String),
    /// A hand-off bundle is malformed; nothing from it was applied.
    #[error("bundle: {0}")]
    BundleInvalid(String),
    /// A hand-off bundle holds documents outside this device's scope; nothing from it was applied.
    #[error("bundle: {0}")]
    BundleOutOfScope(String),
    /// A change signature is malformed or does not verify.
    #[error("signature: {0}")]
    SignatureInvalid(String),
}

/// Error codes the server sends that shells may want to tell apart; any other 4xx maps to `server_refused`.
const SERVER_CODES: &[&str] = &[
    "forbidden_change",
    "forbidden_document",
    "unauthorized",
    "enroll_code_invalid",
    "enroll_code_used",
    "enroll_code_expired",
    "invalid_public_key",
    "protocol_unsupported",
    "body_too_large",
    "malformed_body",
    "malformed_sync_message",
    "too_many_documents",
    "invalid_doc_id",
    "duplicate_document",
    "blob_too_large",
    "blob_hash_mismatch",
    "invalid_blob_hash",
    "invalid_input",
    "not_found",
    "missing_dependencies",
    "rate_limited",
    "quota_exceeded",
    "sync_message_too_large",
    "body_timeout",
];

/// A server's code as one of ours: a known one as is, any other as `server_refused`.
fn server_code(code: &str) -> &'static str {
    SERVER_CODES.iter().find(|c| **c == code).copied().unwrap_or("server_refused")
}

impl Error {
    /// The stable machine code of this error (snake_case), used by shells to pick a localised message.
    pub fn code(&self) -> &'static str {
        match self {
            Error::StoreKeyInvalid => "store_key_invalid",
            Error::StoreNotInitialised(_) => "store_not_initialised",
            Error::StoreExists(_) => "store_exists",
            Error::StoreTooNew { .. } => "store_too_new",
            Error::Store(_) => "store_error",
            Error::Io(_) => "io_error",
            Error::RosterInvalid(_) => "roster_invalid",
            Error::HouseholdNotFound(_) => "household_not_found",
            Error::ResidentNotFound { .. } => "resident_not_found",
            Error::InvalidInput { .. } => "invalid_input",
            Error::PhotoInvalid(_) => "photo_invalid",
            Error::DocumentInvalid { .. } => "document_invalid",
            Error::ActionNotAllowed(_) => "action_not_allowed",
            Error::NotFound { .. } => "not_found",
            Error::Network(_) => "network_error",
            Error::ServerUnavailable(_) => "server_unavailable",
            Error::ServerRefused { code, .. } => server_code(code),
            Error::DeviceRevoked => "device_revoked",
            Error::DeviceRevokedUnverified => "device_revoked_unverified",
            Error::DocumentRefused(r) => server_code(&r.code),
            Error::RateLimited { .. } => "rate_limited",
            Error::InsecureServerUrl(_) => "insecure_server_url",
            Error::NotEnrolled => "not_enrolled",
            Error::SyncCancelled => "sync_cancelled",
            Error::SyncProtocol(_) => "sync_protocol",
            Error::BundleInvalid(_) => "bundle_invalid",
            Error::BundleOutOfScope(_) => "bundle_out_of_scope",
            Error::SignatureInvalid(_) => "signature_invalid",
            Error::UnknownCode { .. } => "unknown_code",
        }
    }

    /// Shorthand for an [`Error::InvalidInput`].
    pub fn invalid(field: &str, reason: impl Into<String>) -> Error {
        Error::InvalidInput { field: field.to_string(), reason: reason.into() }
    }

    /// Shorthand for an [`Error::DocumentInvalid`].
    pub fn document(doc: &str, reason: impl std::fmt::Display) -> Error {
        Error::DocumentInvalid { doc: doc.to_string(), reason: reason.to_string() }
    }
}

#[cfg(feature = "store")]
impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            if f.code == rusqlite::ErrorCode::NotADatabase {
                return Error::StoreKeyInvalid;
            }
        }
        Error::Store(e.to_string())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
