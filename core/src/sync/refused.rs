//! Documents the server refused: a sync batch refused for one document (`forbidden_change` naming it) must
//! not wedge the rest, so the client records the refusal, leaves the document out, and syncs everything
//! else. A refused document is shown to the user and retried only when the user asks.

use serde::Serialize;

/// A document the server refused, as recorded on the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RefusedDocument {
    /// The document's id.
    pub doc_id: String,
    /// The refused change (hex hash), when the server named one.
    pub change_hash: Option<String>,
    /// The server's code (`forbidden_change`, …).
    pub code: String,
    /// The server's message (English).
    pub message: String,
    /// When the refusal was recorded (RFC 3339); empty until it is.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub refused_at: String,
}

#[cfg(feature = "store")]
mod store {
    use rusqlite::{params, Connection};

    use super::RefusedDocument;
    use crate::error::Result;
    use crate::Store;

    /// Records a refusal (a later one for the same document replaces it).
    pub(crate) fn record(conn: &Connection, r: &RefusedDocument) -> Result<()> {
        conn.prepare_cached(
            "INSERT INTO sync_refused (doc_id, change_hash, code, message, refused_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (doc_id) DO UPDATE SET change_hash = excluded.change_hash, code = excluded.code,
                 message = excluded.message, refused_at = excluded.refused_at",
        )?
        .execute(params![r.doc_id, r.change_hash, r.code, r.message, r.refused_at])?;
        Ok(())
    }

    impl Store {
        /// Documents the server refused, left out of sync until [`Store::retry_refused`]; oldest first.
        pub fn refused_documents(&self) -> Result<Vec<RefusedDocument>> {
            let mut stmt = self.conn().prepare_cached(
                "SELECT doc_id, change_hash, code, message, refused_at FROM sync_refused ORDER BY refused_at, doc_id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(RefusedDocument {
                    doc_id: r.get(0)?,
                    change_hash: r.get(1)?,
                    code: r.get(2)?,
                    message: r.get(3)?,
                    refused_at: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        }

        /// Forgets every refusal, so the next sync offers those documents again (the user asked). Returns how
        /// many documents were set aside.
        pub fn retry_refused(&mut self) -> Result<u32> {
            let n = self.with_tx(|tx| Ok(tx.execute("DELETE FROM sync_refused", [])?))?;
            Ok(u32::try_from(n).unwrap_or(u32::MAX))
        }
    }
}

#[cfg(feature = "store")]
pub(crate) use store::record;
