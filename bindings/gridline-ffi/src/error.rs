//! The one error the bindings raise, mapped from the core's `Error` in one place (`From` below).
//!
//! Every variant carries the core's [`ErrorCode`] (what shells key localised messages on) and an English
//! `detail` for logs. The variant says what a shell does about it — tell the user (`Rejected`), treat the
//! device store as unusable until fixed (`Store`), or try again later (`Network`) — as the core's
//! [`ErrorCode::kind`] places the code.

use gridline_core::{ErrorCode, ErrorKind};

/// An error from a Gridline call. `code` is stable; `detail` is English, for logs and support.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum GridlineError {
    /// The request was refused as given: bad input, unknown household, an action the role may not take. The
    /// user can correct it; nothing was written.
    #[error("{code}: {detail}")]
    Rejected {
        /// Stable machine code (e.g. `InvalidInput`, `HouseholdNotFound`, `ActionNotAllowed`).
        code: ErrorCode,
        /// English description.
        detail: String,
        /// Where a refused roster file is wrong (`RosterInvalid` only), so the screen can point at the line.
        roster: Option<RosterProblem>,
    },
    /// The device store cannot be used as asked: wrong key, no store, a store from a newer version, a disk
    /// or file error. Nothing was written.
    #[error("{code}: {detail}")]
    Store {
        /// Stable machine code (e.g. `StoreKeyInvalid`, `StoreNotInitialised`, `StoreError`).
        code: ErrorCode,
        /// English description.
        detail: String,
    },
    /// The server could not be reached or refused the exchange; local work is kept and sync retries later.
    #[error("{code}: {detail}")]
    Network {
        /// Stable machine code.
        code: ErrorCode,
        /// English description.
        detail: String,
    },
}

/// Where a roster file is wrong: the line and what is wrong there (English, never the file's personal data).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RosterProblem {
    /// 1-based physical line (the header is line 1); 0 when it concerns the whole file.
    pub line: u32,
    /// What is wrong, in English.
    pub reason: String,
}

impl GridlineError {
    /// The stable machine code, whatever the variant.
    pub fn code(&self) -> ErrorCode {
        match self {
            GridlineError::Rejected { code, .. }
            | GridlineError::Store { code, .. }
            | GridlineError::Network { code, .. } => *code,
        }
    }
}

impl From<gridline_core::Error> for GridlineError {
    fn from(e: gridline_core::Error) -> Self {
        let (code, detail) = (e.code(), e.to_string());
        match code.kind() {
            ErrorKind::Store => GridlineError::Store { code, detail },
            ErrorKind::Network => GridlineError::Network { code, detail },
            ErrorKind::Rejected => {
                let roster = match e {
                    gridline_core::Error::RosterInvalid { line, reason } => Some(RosterProblem { line, reason }),
                    _ => None,
                };
                GridlineError::Rejected { code, detail, roster }
            }
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
        assert_eq!(wrong_key.code(), ErrorCode::StoreKeyInvalid);
        let bad = GridlineError::from(Error::invalid("note", "too long"));
        assert!(matches!(&bad, GridlineError::Rejected { detail, .. } if detail == "note: too long"));
        assert_eq!(bad.code(), ErrorCode::InvalidInput);
        assert!(matches!(GridlineError::from(Error::Io("disk".into())), GridlineError::Store { .. }));
        let busy = GridlineError::from(Error::RateLimited { retry_after_secs: Some(30) });
        assert!(matches!(&busy, GridlineError::Network { code, .. } if *code == ErrorCode::RateLimited));
        let kept = GridlineError::from(Error::DeviceRevokedUnverified);
        assert!(matches!(&kept, GridlineError::Network { code, .. } if *code == ErrorCode::DeviceRevokedUnverified));
        let plain = GridlineError::from(Error::InsecureServerUrl("http://x".into()));
        assert!(matches!(&plain, GridlineError::Rejected { code, .. } if *code == ErrorCode::InsecureServerUrl));
        let roster = GridlineError::from(Error::RosterInvalid { line: 3, reason: "household_code: empty".into() });
        let problem = RosterProblem { line: 3, reason: "household_code: empty".into() };
        assert!(matches!(&roster, GridlineError::Rejected { roster: Some(p), .. } if *p == problem));
    }

    #[test]
    fn a_redemption_the_points_or_the_shelf_cannot_cover_is_shown_to_the_user() {
        let short = GridlineError::from(Error::PointsInsufficient { volunteer: "乙".into(), balance: 10, needed: 20 });
        assert!(matches!(&short, GridlineError::Rejected { code, .. } if *code == ErrorCode::PointsInsufficient));
        let gone = GridlineError::from(Error::OutOfStock { item: "towel".into(), left: 0, wanted: 1 });
        assert!(matches!(&gone, GridlineError::Rejected { code, .. } if *code == ErrorCode::OutOfStock));
        let unknown = GridlineError::from(Error::UnknownItem("caviar".into()));
        assert!(matches!(&unknown, GridlineError::Rejected { code, .. } if *code == ErrorCode::UnknownItem));
    }
}
