//! What the sync status screen shows: the server, when the last sync finished, what waits to go up, and
//! what the server refused.
//! Read from the store's own tables (`Store::sync_status`); every successful sync records when it finished.

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use super::refused::RefusedDocument;

/// The device's sync state for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncStatus {
    /// The server this device enrolled with (`None`: a standalone store).
    pub server_url: Option<String>,
    /// When the last sync finished, if ever (RFC 3339 in JSON).
    pub last_sync_at: Option<DateTime<FixedOffset>>,
    /// Documents changed here (or announced by the server) not yet exchanged.
    pub pending_documents: u32,
    /// Photos not yet uploaded.
    pub pending_photos: u32,
    /// Documents the server refused, left out of sync until the user retries them.
    pub refused: Vec<RefusedDocument>,
}
