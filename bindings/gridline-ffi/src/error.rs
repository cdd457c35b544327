//! The one error the bindings raise, mapped from the core's `Error` in one place (`From` below).
//!
//! Every variant carries the core's stable snake_case `code` (what shells key localised messages on) and an
//! English `detail` for logs. The variant says what a shell does about it: tell the user (`Rejected`),
//! treat the device store as unusable until fixed (`Store`), or try again later (`Network`).

/// An error from a Gridline call. `code` is stable; `detail` is English, for logs and support.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum GridlineError {
    /// The request was refused as given: bad input, unknown household, an action the role may not take. The
    /// user can correct it; nothing was written.
    #[error("{code}: {detail}")]
    Rejected {
        /// Stable machine code (e.g. `invalid_input`, `household_not_found`, `action_not_allowed`).
        code: String,
        /// English description.
        detail: String,
    },
    /// The device store cannot be used as asked: wrong key, no store, a store from a newer version, a disk
    /// or file error. Nothing was written.
    #[error("{code}: {detail}")]
    Store {
        /// Stable machine code (e.g. `store_key_invalid`, `store_not_initialised`, `store_error`).
        code: String,
        /// English description.
        detail: String,
    },
    /// The server could not be reached or refused the exchange; local work is kept and sync retries later.
    #[error("{code}: {detail}")]
    Network {
        /// Stable machine code.
        code: String,
        /// English description.
        detail: String,
    },
}

impl GridlineError {
    /// The stable machine code, whatever the variant.
    pub fn code(&self) -> &str {
        match self {
            GridlineError::Rejected { code, .. }
            | GridlineError::Store { code, .. }
            | GridlineError::Network { code, .. } => code,
        }
    }
}

/// Codes that mean the device store itself is unusable.
const STORE_CODES: &[&str] = &[
    "store_key_invalid",
    "store_not_initialised",
    "store_exists",
    "store_too_new",
    "store_error",
    "io_error",
    "not_enrolled",
    "device_revoked",
];

/// Codes that mean the network or the server failed; work stays local and is retried.
const NETWORK_CODES: &[&str] = &[
    "network_error",
    "server_unavailable",
    "server_refused",
    "sync_protocol",
    "sync_cancelled",
    "unauthorized",
    "rate_limited",
    "device_revoked_unverified",
    "missing_dependencies",
    "quota_exceeded",
    "sync_message_too_large",
    "body_timeout",
];

impl From<gridline_core::Error> for GridlineError {
    fn from(e: gridline_core::Error) -> Self {
        let (code, detail) = (e.code().to_string(), e.to_string());
        // Grouped by code with a default, so a new core variant is `Rejected` until listed here.
        if STORE_CODES.contains(&code.as_str()) {
            GridlineError::Store { code, detail }
        } else if NETWORK_CODES.contains(&code.as_str()) {
            GridlineError::Network { code, detail }
        } else {
            GridlineError::Rejected { code, detail }
        }
    }
}

/// The result type of every binding call.
pub type Result<T, E = GridlineError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use gridline_core::Error;

    #[test]
    fn variants_follow_what_the_shell_does_and_keep_the_code() {
        let wrong_key = GridlineError::from(Error::StoreKeyInvalid);
        assert!(matches!(wrong_key, GridlineError::Store { .. }));
        assert_eq!(wrong_key.code(), "store_key_invalid");
        let bad = GridlineError::from(Error::invalid("note", "too long"));
        assert!(matches!(&bad, GridlineError::Rejected { detail, .. } if detail == "note: too long"));
        assert_eq!(bad.code(), "invalid_input");
        assert!(matches!(GridlineError::from(Error::Io("disk".into())), GridlineError::Store { .. }));
        let busy = GridlineError::from(Error::RateLimited { retry_after_secs: Some(30) });
        assert!(matches!(&busy, GridlineError::Network { code, .. } if code == "rate_limited"));
        let kept = GridlineError::from(Error::DeviceRevokedUnverified);
        assert!(matches!(&kept, GridlineError::Network { code, .. } if code == "device_revoked_unverified"));
        let plain = GridlineError::from(Error::InsecureServerUrl("http://x".into()));
        assert!(matches!(&plain, GridlineError::Rejected { code, .. } if code == "insecure_server_url"));
    }
}
