//! The store's API for the device's sync standing: the server it enrolled with, its signing key, the
//! documents still to exchange, the documents the server refused, and the status screen. The exchange itself
//! is `sync::client` (HTTP) and `sync::bundle` (offline hand-off).
// Parts of this module serve only the sync client (feature `client`); the server's replica builds without it.
#![cfg_attr(not(feature = "client"), allow(dead_code))]

use chrono::DateTime;

use super::db::blobs;
use super::db::meta::{meta_get, meta_set};
use super::db::sync_state::{self, META_SERVER_URL, META_SIGNING_KEY, META_TOKEN};
use super::Store;
use crate::docs::DocId;
use crate::error::{Error, Result};
use crate::sync::refused::RefusedDocument;
use crate::sync::signing::{self, SECRET_KEY_LEN};
use crate::sync::status::SyncStatus;

impl Store {
    /// The server this device is enrolled with and its token.
    pub(crate) fn server(&self) -> Result<(String, String)> {
        match (meta_get(self.conn(), META_SERVER_URL)?, meta_get(self.conn(), META_TOKEN)?) {
            (Some(url), Some(token)) => Ok((url, token)),
            _ => Err(Error::NotEnrolled),
        }
    }

    /// The server URL this device syncs with, when enrolled.
    pub fn server_url(&self) -> Result<Option<String>> {
        meta_get(self.conn(), META_SERVER_URL)
    }

    /// The device's Ed25519 secret key, created on first use for a standalone store.
    pub(crate) fn signing_secret(&mut self) -> Result<[u8; SECRET_KEY_LEN]> {
        if let Some(hex_key) = meta_get(self.conn(), META_SIGNING_KEY)? {
            return hex::decode(hex_key)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| Error::Store("malformed signing key".into()));
        }
        let secret = signing::generate_secret()?;
        self.with_tx(|tx| meta_set(tx, META_SIGNING_KEY, &hex::encode(secret)))?;
        Ok(secret)
    }

    /// True when a document lies inside this device's scope (its community and, for grid documents, its
    /// grids): `docs::scope`.
    pub fn doc_in_scope(&self, id: &DocId) -> bool {
        self.device().scope().may_read(id)
    }

    /// Documents that still differ from what the server has, by id (for tests and diagnostics).
    pub fn unsynced_documents(&self) -> Result<Vec<String>> {
        sync_state::candidates(self.conn())
    }

    /// Documents the server refused, left out of sync until [`Store::retry_refused`]; oldest first.
    pub fn refused_documents(&self) -> Result<Vec<RefusedDocument>> {
        sync_state::refused_documents(self.conn())
    }

    /// Forgets every refusal, so the next sync offers those documents again (the user asked). Returns how
    /// many documents were set aside.
    pub fn retry_refused(&mut self) -> Result<u32> {
        let n = self.with_tx(|tx| sync_state::clear_refusals(tx))?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// The sync state for display; reads only the store's tables.
    pub fn sync_status(&self) -> Result<SyncStatus> {
        let pending_photos = blobs::pending_uploads(self.conn())?;
        Ok(SyncStatus {
            server_url: self.server_url()?,
            last_sync_at: sync_state::last_sync(self.conn())?.and_then(|text| DateTime::parse_from_rfc3339(&text).ok()),
            pending_documents: u32::try_from(self.unsynced_documents()?.len()).unwrap_or(u32::MAX),
            pending_photos: u32::try_from(pending_photos).unwrap_or(u32::MAX),
            refused: self.refused_documents()?,
        })
    }

    /// Records that a sync just finished, for [`Store::sync_status`] (every successful sync does).
    pub(crate) fn record_sync_finished(&mut self) -> Result<()> {
        let now = self.clock().now().to_rfc3339();
        self.with_tx(|tx| sync_state::set_last_sync(tx, &now))
    }
}
