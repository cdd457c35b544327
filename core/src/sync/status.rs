//! What the sync status screen shows: the server, when the last sync finished, what waits to go up, and
//! what the server refused.
//! Read from the store's own tables; every successful sync records when it finished.

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use super::refused::RefusedDocument;
use crate::error::Result;
use crate::store::{meta_get, meta_set};
use crate::Store;

/// Meta key: when the last sync finished (RFC 3339).
const META_LAST_SYNC: &str = "last_sync_at";

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

impl Store {
    /// The sync state for display; reads only the store's tables.
    pub fn sync_status(&self) -> Result<SyncStatus> {
        let pending_photos: i64 =
            self.conn().query_row("SELECT count(*) FROM blob WHERE uploaded = 0", [], |r| r.get(0))?;
        Ok(SyncStatus {
            server_url: self.server_url()?,
            last_sync_at: meta_get(self.conn(), META_LAST_SYNC)?
                .and_then(|text| DateTime::parse_from_rfc3339(&text).ok()),
            pending_documents: u32::try_from(self.unsynced_documents()?.len()).unwrap_or(u32::MAX),
            pending_photos: u32::try_from(pending_photos).unwrap_or(u32::MAX),
            refused: self.refused_documents()?,
        })
    }

    /// Records that a sync just finished, for [`Store::sync_status`] (every successful sync does).
    pub(crate) fn record_sync_finished(&mut self) -> Result<()> {
        let now = self.clock().now().to_rfc3339();
        self.with_tx(|tx| meta_set(tx, META_LAST_SYNC, &now))
    }
}
