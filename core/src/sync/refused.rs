//! Documents the server refused: a sync batch refused for one document (`forbidden_change` naming it) must
//! not wedge the rest, so the client records the refusal (`store::db::sync_state`), leaves the document out, and syncs everything
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
