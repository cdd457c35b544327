//! Gridline core: the domain, the rules and the device store every face of Gridline stands on.
//!
//! - [`error`]: the core's errors and the one [`ErrorCode`] every face (FFI, CLI, server) carries.
//! - [`model`]: plain domain data (roles, roster, check-ins, the community's configuration).
//! - [`schedule`]: what is due and when — the one place for the due-date rules.
//! - [`workflow`]: the incident workflow — the one place that decides an incident's stage.
//! - [`evaluation`]: the two-way evaluation (双评议) — which residents' survey and which department rating
//!   stand, and what they average to.
//! - [`points`]: volunteer points — the one place for balances, stock and which redemption stands.
//! - [`service_workflow`]: the service-order workflow (点单—派单—接单—评单) — the one place that decides an
//!   order's stage, volunteer and due day.
//! - [`needs`]: the needs list (问题清单) — what counts as a need and how needs are counted.
//! - [`project`]: service projects (项目化) and residents' ratings (民事民评) — the one place for a project's
//!   status and which ratings stand.
//! - [`docs`]: the Automerge documents, their scoped ids and key names, the roster import and the scope rule
//!   (`docs::scope`: which documents a device may read and write), shared by the device and the server.
//! - [`roster_csv`]: the roster CSV format (PRODUCT.md §7).
//! - [`sync`]: the wire protocol, the transport trait, the sync client, bundles and change signatures.
//! - [`store`]: the encrypted device store with its materialised tables (feature `store`); `Store` is the
//!   API, the SQL lives in `store::db`, one file per concern.
//! - [`uniffi_types`]: how dates cross the FFI (feature `uniffi`, used by `bindings/gridline-ffi`).
//! - [`ledger`]: the monthly electronic ledger, CSV and XLSX (feature `ledger`).

pub mod clock;
mod codes;
pub mod docs;
pub mod error;
pub mod evaluation;
#[cfg(feature = "ledger")]
pub mod ledger;
pub mod model;
pub mod needs;
pub mod points;
pub mod project;
pub mod roster_csv;
pub mod schedule;
pub mod service_workflow;
#[cfg(feature = "store")]
pub mod store;
pub mod sync;
#[cfg(feature = "uniffi")]
pub mod uniffi_types;
pub mod workflow;

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{Error, ErrorCode, ErrorKind, Result};
#[cfg(feature = "store")]
pub use store::Store;
