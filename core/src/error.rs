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
