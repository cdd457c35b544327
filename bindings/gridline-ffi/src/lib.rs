//! uniffi surface over gridline-core: the objects Kotlin, Swift and Python hold, and the one error they see.
//!
//! Everything here is a thin wrapper. The plain data crossing the FFI (rounds, household detail, check-ins,
//! …) is defined once in `gridline-core` and derives its uniffi traits there behind the `uniffi` feature;
//! dates cross as text (see `gridline_core::uniffi_types`). Objects:
//! - [`GridlineStore`]: the encrypted device store; every method is a one-line delegation to
//!   `gridline_core::Store`.
//! - [`SyncCancel`]: the switch a shell flips to stop a running sync; [`SyncObserver`]: the foreign trait
//!   the shell implements to receive sync progress.
//!
//! Threading: every method that touches the store does disk I/O (SQLite, `synchronous = FULL`) and takes the
//! store's lock; shells call them off the UI thread (Kotlin `Dispatchers.IO`, Swift a background `Task`).
//! Calls are short (milliseconds) and never wait on the network, except `enroll` and `sync`: a sync holds the
//! store for its whole run (seconds), so other calls wait for it; shells show its progress meanwhile.

mod error;
mod store;
mod sync;

pub use error::{GridlineError, RosterProblem};
pub use store::GridlineStore;
pub use sync::{SyncCancel, SyncObserver};

uniffi::setup_scaffolding!();
