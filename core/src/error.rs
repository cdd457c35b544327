//! The core's error type: one enum, each variant with a stable snake_case code that shells localise.

use crate::codes::coded_enum;

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
    #[error("line {line}: {reason}")]
    RosterInvalid {
        /// 1-based physical line of the problem (the header is line 1); 0 when it concerns the whole file.
        line: u32,
        /// What is wrong, in English; never echoes the file's personal data.
        reason: String,
    },
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
    /// A redemption that would take a volunteer's balance below zero (`needed` points, `balance` available).
    #[error("volunteer {volunteer:?} has {balance} points available, the redemption needs {needed}")]
    PointsInsufficient { volunteer: String, balance: u64, needed: u64 },
    /// A redemption of more units than the love supermarket has left.
    #[error("item {item:?} has {left} left, the redemption asks for {wanted}")]
    OutOfStock { item: String, left: u32, wanted: u32 },
    /// A redemption of an item that is not in the love supermarket.
    #[error("item {0:?} is not in the love supermarket")]
    UnknownItem(String),
    /// A resident's rating of a service project that is not done yet.
    #[error("the project is {status}: residents rate a project once it is done")]
    ProjectNotDone {
        /// The project's status code.
        status: String,
    },
    /// A household already surveyed that year (双评议: one survey per household per year).
    #[error("household {household:?} was already surveyed in {year}")]
    AlreadySurveyed { household: String, year: u32 },
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

impl Error {
    /// The stable machine code of this error, used by shells to pick a localised message.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::StoreKeyInvalid => ErrorCode::StoreKeyInvalid,
            Error::StoreNotInitialised(_) => ErrorCode::StoreNotInitialised,
            Error::StoreExists(_) => ErrorCode::StoreExists,
            Error::StoreTooNew { .. } => ErrorCode::StoreTooNew,
            Error::Store(_) => ErrorCode::StoreError,
            Error::Io(_) => ErrorCode::IoError,
            Error::RosterInvalid { .. } => ErrorCode::RosterInvalid,
            Error::HouseholdNotFound(_) => ErrorCode::HouseholdNotFound,
            Error::ResidentNotFound { .. } => ErrorCode::ResidentNotFound,
            Error::InvalidInput { .. } => ErrorCode::InvalidInput,
            Error::PhotoInvalid(_) => ErrorCode::PhotoInvalid,
            Error::DocumentInvalid { .. } => ErrorCode::DocumentInvalid,
            Error::ActionNotAllowed(_) => ErrorCode::ActionNotAllowed,
            Error::NotFound { .. } => ErrorCode::NotFound,
            Error::Network(_) => ErrorCode::NetworkError,
            Error::ServerUnavailable(_) => ErrorCode::ServerUnavailable,
            Error::ServerRefused { code, .. } => ErrorCode::from_server(code),
            Error::DeviceRevoked => ErrorCode::DeviceRevoked,
            Error::DeviceRevokedUnverified => ErrorCode::DeviceRevokedUnverified,
            Error::DocumentRefused(r) => ErrorCode::from_server(&r.code),
            Error::RateLimited { .. } => ErrorCode::RateLimited,
            Error::InsecureServerUrl(_) => ErrorCode::InsecureServerUrl,
            Error::NotEnrolled => ErrorCode::NotEnrolled,
            Error::SyncCancelled => ErrorCode::SyncCancelled,
            Error::SyncProtocol(_) => ErrorCode::SyncProtocol,
            Error::BundleInvalid(_) => ErrorCode::BundleInvalid,
            Error::BundleOutOfScope(_) => ErrorCode::BundleOutOfScope,
            Error::SignatureInvalid(_) => ErrorCode::SignatureInvalid,
            Error::UnknownCode { .. } => ErrorCode::UnknownCode,
            Error::PointsInsufficient { .. } => ErrorCode::PointsInsufficient,
            Error::OutOfStock { .. } => ErrorCode::OutOfStock,
            Error::UnknownItem(_) => ErrorCode::UnknownItem,
            Error::ProjectNotDone { .. } => ErrorCode::ProjectNotDone,
            Error::AlreadySurveyed { .. } => ErrorCode::AlreadySurveyed,
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

impl From<crate::roster_csv::RosterError> for Error {
    fn from(e: crate::roster_csv::RosterError) -> Self {
        Error::RosterInvalid { line: e.line, reason: e.reason }
    }
}

coded_enum! {
    #[codes(field = "code", name = "error code", list = false)]
    /// The stable code of every error any face of Gridline reports: the core's errors, the codes the sync server
    /// answers with, and the CLI's own. Shells localise by it; the CLI and the server write it as its snake_case
    /// code. A new code needs a string in every shell (their tests check it) and a place in [`ErrorCode::kind`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
    pub enum ErrorCode {
        /// The store key does not open this store.
        StoreKeyInvalid = "store_key_invalid",
        /// No store has been initialised here.
        StoreNotInitialised = "store_not_initialised",
        /// A store already exists where a new one was to be created.
        StoreExists = "store_exists",
        /// The store is from a newer version of Gridline.
        StoreTooNew = "store_too_new",
        /// SQLite failed.
        StoreError = "store_error",
        /// A file could not be read or written.
        IoError = "io_error",
        /// The roster file is malformed.
        RosterInvalid = "roster_invalid",
        /// A household code that is not in the roster.
        HouseholdNotFound = "household_not_found",
        /// A resident that is not in the household.
        ResidentNotFound = "resident_not_found",
        /// A value is out of range or malformed.
        InvalidInput = "invalid_input",
        /// A photo was refused.
        PhotoInvalid = "photo_invalid",
        /// A document's bytes do not have the expected shape.
        DocumentInvalid = "document_invalid",
        /// The device's role may not take this action.
        ActionNotAllowed = "action_not_allowed",
        /// A code that is not in the community's catalogue.
        UnknownCode = "unknown_code",
        /// A redemption the volunteer's points do not cover.
        PointsInsufficient = "points_insufficient",
        /// A redemption of more units than are left.
        OutOfStock = "out_of_stock",
        /// A redemption of an item not in the love supermarket.
        UnknownItem = "unknown_item",
        /// A household already surveyed that year.
        AlreadySurveyed = "already_surveyed",
        /// A record that does not exist.
        NotFound = "not_found",
        /// A resident's rating of a project that is not done yet.
        ProjectNotDone = "project_not_done",
        /// The server could not be reached.
        NetworkError = "network_error",
        /// The server answered 5xx.
        ServerUnavailable = "server_unavailable",
        /// The server refused a request with a code this build does not know.
        ServerRefused = "server_refused",
        /// The server revoked this device; its store was wiped.
        DeviceRevoked = "device_revoked",
        /// A revocation that could not be trusted; the store was kept.
        DeviceRevokedUnverified = "device_revoked_unverified",
        /// The server asked this device to slow down.
        RateLimited = "rate_limited",
        /// Plain HTTP to a host that is not loopback.
        InsecureServerUrl = "insecure_server_url",
        /// The store is not enrolled with a server.
        NotEnrolled = "not_enrolled",
        /// A sync was cancelled.
        SyncCancelled = "sync_cancelled",
        /// The server's answer breaks the protocol.
        SyncProtocol = "sync_protocol",
        /// A hand-off bundle is malformed.
        BundleInvalid = "bundle_invalid",
        /// A hand-off bundle holds documents outside this device's scope.
        BundleOutOfScope = "bundle_out_of_scope",
        /// A change signature is malformed or does not verify.
        SignatureInvalid = "signature_invalid",
        /// Server: a change the device's role or scope may not make.
        ForbiddenChange = "forbidden_change",
        /// Server: a document outside the device's scope.
        ForbiddenDocument = "forbidden_document",
        /// Server: a missing or unknown device token.
        Unauthorized = "unauthorized",
        /// Server: an enrollment code it does not know.
        EnrollCodeInvalid = "enroll_code_invalid",
        /// Server: an enrollment code already used.
        EnrollCodeUsed = "enroll_code_used",
        /// Server: an enrollment code that has expired.
        EnrollCodeExpired = "enroll_code_expired",
        /// Server: a public key that is not a hex Ed25519 key.
        InvalidPublicKey = "invalid_public_key",
        /// Server: a protocol version it does not speak.
        ProtocolUnsupported = "protocol_unsupported",
        /// Server: a request body over its limit.
        BodyTooLarge = "body_too_large",
        /// Server: a request body that does not decode.
        MalformedBody = "malformed_body",
        /// Server: a sync message that does not decode.
        MalformedSyncMessage = "malformed_sync_message",
        /// Server: too many documents in one request.
        TooManyDocuments = "too_many_documents",
        /// Server: a document id that does not parse.
        InvalidDocId = "invalid_doc_id",
        /// Server: a document named twice in one request.
        DuplicateDocument = "duplicate_document",
        /// Server: a blob over its limit.
        BlobTooLarge = "blob_too_large",
        /// Server: a blob whose body does not hash to its name.
        BlobHashMismatch = "blob_hash_mismatch",
        /// Server: a blob name that is not a SHA-256 hash.
        InvalidBlobHash = "invalid_blob_hash",
        /// Server: changes whose dependencies it does not have.
        MissingDependencies = "missing_dependencies",
        /// Server: the device has used up its quota.
        QuotaExceeded = "quota_exceeded",
        /// Server: a sync message over its limits.
        SyncMessageTooLarge = "sync_message_too_large",
        /// Server: a request body that arrived too slowly.
        BodyTimeout = "body_timeout",
        /// Server: its database failed.
        StorageError = "storage_error",
        /// Server: an internal failure.
        InternalError = "internal_error",
        /// Server start-up: the TLS certificate does not load.
        TlsCertInvalid = "tls_cert_invalid",
        /// Server start-up: the TLS key does not load.
        TlsKeyInvalid = "tls_key_invalid",
        /// CLI: the command line does not parse.
        Usage = "usage",
        /// Server: a database from an older version of Gridline, to be upgraded before it is used as asked.
        StoreTooOld = "store_too_old",
        /// Server: a migrated database does not match the one it was copied from (nothing was kept).
        MigrationMismatch = "migration_mismatch",
    }
}

/// What a face does about an error with a given code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request was refused as given; the user can correct it and nothing was written.
    Rejected,
    /// The device store cannot be used as asked (wrong key, no store, a disk error).
    Store,
    /// The network or the server failed; work stays local and sync retries later.
    Network,
}

impl ErrorCode {
    /// What a face does about this code. Every code is placed here, so a new one is placed on purpose.
    pub fn kind(&self) -> ErrorKind {
        use ErrorCode::*;
        match self {
            StoreKeyInvalid | StoreNotInitialised | StoreExists | StoreTooNew | StoreTooOld | StoreError | IoError
            | NotEnrolled | DeviceRevoked => ErrorKind::Store,
            NetworkError
            | ServerUnavailable
            | ServerRefused
            | SyncProtocol
            | SyncCancelled
            | Unauthorized
            | RateLimited
            | DeviceRevokedUnverified
            | MissingDependencies
            | QuotaExceeded
            | SyncMessageTooLarge
            | BodyTimeout => ErrorKind::Network,
            RosterInvalid | HouseholdNotFound | ResidentNotFound | InvalidInput | PhotoInvalid | DocumentInvalid
            | ActionNotAllowed | UnknownCode | PointsInsufficient | OutOfStock | UnknownItem | ProjectNotDone
            | AlreadySurveyed | InsecureServerUrl | BundleInvalid | BundleOutOfScope | SignatureInvalid
            | ForbiddenChange | ForbiddenDocument | EnrollCodeInvalid | EnrollCodeUsed | EnrollCodeExpired
            | InvalidPublicKey | ProtocolUnsupported | BodyTooLarge | MalformedBody | MalformedSyncMessage
            | TooManyDocuments | InvalidDocId | DuplicateDocument | BlobTooLarge | BlobHashMismatch
            | InvalidBlobHash | NotFound | StorageError | InternalError | TlsCertInvalid | TlsKeyInvalid | Usage
            | MigrationMismatch => ErrorKind::Rejected,
        }
    }

    /// A code a server answered with, as one of ours: the codes a device tells apart as they are, any other
    /// (unknown to this build, or not one a device acts on) as [`ErrorCode::ServerRefused`].
    pub fn from_server(code: &str) -> ErrorCode {
        code.parse().ok().filter(ErrorCode::told_apart_from_server).unwrap_or(ErrorCode::ServerRefused)
    }

    /// Whether a device tells this code apart when a server answers with it.
    fn told_apart_from_server(&self) -> bool {
        use ErrorCode::*;
        matches!(
            self,
            ForbiddenChange
                | ForbiddenDocument
                | Unauthorized
                | EnrollCodeInvalid
                | EnrollCodeUsed
                | EnrollCodeExpired
                | InvalidPublicKey
                | ProtocolUnsupported
                | BodyTooLarge
                | MalformedBody
                | MalformedSyncMessage
                | TooManyDocuments
                | InvalidDocId
                | DuplicateDocument
                | BlobTooLarge
                | BlobHashMismatch
                | InvalidBlobHash
                | InvalidInput
                | NotFound
                | MissingDependencies
                | RateLimited
                | QuotaExceeded
                | SyncMessageTooLarge
                | BodyTimeout
        )
    }
}

/// The error document the CLI and the server's admin commands print with `--json`:
/// `{"error": {"code": "<snake_case code>", "message": "<English>"}}`.
pub fn error_document(code: ErrorCode, message: &str) -> serde_json::Value {
    serde_json::json!({"error": {"code": code.code(), "message": message}})
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_codes_a_device_tells_apart_pass_and_the_rest_are_refused() {
        assert_eq!(ErrorCode::from_server("forbidden_document"), ErrorCode::ForbiddenDocument);
        assert_eq!(ErrorCode::from_server("body_timeout"), ErrorCode::BodyTimeout);
        assert_eq!(ErrorCode::from_server("no_such_code"), ErrorCode::ServerRefused);
        assert_eq!(ErrorCode::from_server("store_key_invalid"), ErrorCode::ServerRefused);
    }

    #[test]
    fn codes_parse_back_and_roster_errors_keep_line_and_reason() {
        for code in ErrorCode::ALL {
            assert_eq!(code.code().parse::<ErrorCode>().ok(), Some(code));
        }
        let e = Error::from(crate::roster_csv::RosterError { line: 3, reason: "household_code: empty".into() });
        assert_eq!(e.to_string(), "line 3: household_code: empty");
        assert!(matches!(e, Error::RosterInvalid { line: 3, .. }));
    }
}
