//! Sync between devices and the relay server: the wire protocol and change signatures (shared with the
//! server, no I/O), offline hand-off bundles and the sync status record (feature `store`), and the HTTP sync
//! client (feature `client`). What the device remembers about syncing is stored through
//! `store::db::sync_state`.

#[cfg(feature = "store")]
pub mod bundle;
#[cfg(feature = "client")]
pub mod client;
#[cfg(all(test, feature = "loopback"))]
pub(crate) mod fixtures;
#[cfg(feature = "client")]
pub mod http;
#[cfg(feature = "loopback")]
pub mod loopback;
pub mod protocol;
pub mod refused;
pub mod signing;
#[cfg(feature = "store")]
pub mod status;
#[cfg(feature = "client")]
pub mod transport;

#[cfg(feature = "client")]
pub use client::{NoProgress, SyncProgress, SyncReport, SyncStage};
#[cfg(feature = "client")]
pub use transport::{SyncOptions, Transport};
