//! The `/v1/` wire protocol shared by the sync client and the server: message types and their encoding.
//!
//! Bodies of `POST /v1/sync` are CBOR (`application/cbor`), gzip-compressed (`Content-Encoding: gzip`):
//! Automerge sync messages travel as raw bytes, not base64, and one request carries messages for many
//! documents. Enrollment and errors are JSON. Every decoder here is bounded: a hostile body fails with an
//! error, never a panic or an unbounded allocation.

use std::io::Read;

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::error::{Error, Result};

/// Protocol version spoken by this build; the server refuses others with `protocol_unsupported`.
pub const PROTOCOL_VERSION: u32 = 1;
/// Largest compressed request or response body, in bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Largest body once decompressed, in bytes.
pub const MAX_DECODED_BYTES: usize = 64 * 1024 * 1024;
/// Most documents in one sync request or response.
pub const MAX_DOCS_PER_REQUEST: usize = 2000;
/// Largest blob (photo) accepted, in bytes.
pub const MAX_BLOB_BYTES: usize = 10 * 1024 * 1024;

/// `POST /v1/enroll` (JSON): a one-time code issued by an admin, and the device's public signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// The one-time enrollment code.
    pub code: String,
    /// Hex Ed25519 public key the device signs relayed changes with.
    pub public_key: String,
}

/// The enrollment answer: who the device is and what it may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollResponse {
    /// Device id (UUID v7); its 16 bytes are the device's Automerge actor id.
    pub device_id: String,
    /// Bearer token for every later request (the server keeps only its hash).
    pub token: String,
    /// User name.
    pub user: String,
    /// Role code.
    pub role: String,
    /// Community id.
    pub community_id: String,
    /// Grid codes in scope (empty: the whole community).
    pub grids: Vec<String>,
    /// A building lead's buildings (names); absent for every other role.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buildings: Vec<String>,
}

/// A signature over a change hash by the device that authored the change, carried when another device
/// relays the change after an offline hand-off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSignature {
    /// Hex change hash.
    pub change_hash: String,
    /// Authoring device id.
    pub device_id: String,
    /// Hex Ed25519 signature of the 32 raw bytes of the change hash.
    pub signature: String,
}

/// One document's share of a sync round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocMessage {
    /// Document id (its text form carries the scope, see `docs::DocId`).
    pub doc_id: String,
    /// An encoded Automerge sync message (may be empty when there is nothing to say).
    #[serde(with = "serde_bytes")]
    pub message: Vec<u8>,
    /// Signatures for changes in `message` authored by other devices.
    #[serde(default)]
    pub signatures: Vec<ChangeSignature>,
}

/// A document in the device's scope that changed on the server since the device's cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueEntry {
    /// Document id.
    pub doc_id: String,
    /// The server's heads (hex change hashes).
    pub heads: Vec<String>,
    /// When the server stored the document's last write (RFC 3339, the server's clock): what a deadline
    /// audit compares a report's device time with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<String>,
}

/// `POST /v1/sync` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// The catalogue cursor the device last received (0: never synced).
    pub cursor: u64,
    /// Sync messages, one per document.
    pub docs: Vec<DocMessage>,
}

/// `POST /v1/sync` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// The new catalogue cursor.
    pub cursor: u64,
    /// The server's sync messages for the documents of the request (and any it wants to start).
    pub docs: Vec<DocMessage>,
    /// Documents in scope changed since the request's cursor.
    pub catalogue: Vec<CatalogueEntry>,
    /// True when the catalogue was cut short: sync again with the new cursor.
    pub more: bool,
    /// Documents this device may no longer hold (a service order no longer dispatched to this volunteer): the
    /// device deletes its copy. The server sends no message for them and keeps nothing of what the device
    /// sent about them. Absent from servers without service orders.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub withdrawn: Vec<String>,
}

/// The JSON error body of every 4xx/5xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable snake_case code (`forbidden_change`, `device_revoked`, `body_too_large` …).
    pub code: String,
    /// Human message.
    pub message: String,
    /// The document a sync batch was refused for, when the refusal is about one document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_id: Option<String>,
    /// The refused change (hex hash), when one change is to blame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_hash: Option<String>,
}

impl ApiError {
    /// An error about no document in particular.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError { code: code.into(), message: message.into(), doc_id: None, change_hash: None }
    }
}

/// One enrolled device of the community, as `GET /v1/keys` lists it: what a phone needs to verify changes
/// relayed to it in a hand-off bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceKey {
    /// Device id.
    pub device_id: String,
    /// Hex Ed25519 public key registered at enrollment.
    pub public_key: String,
    /// User name.
    pub user: String,
    /// Role code.
    pub role: String,
    /// True once an admin revoked the device: its signatures are no longer accepted.
    #[serde(default)]
    pub revoked: bool,
}

/// `GET /v1/keys` answer (JSON), with an `ETag`: a request with `If-None-Match` of the same tag is answered
/// 304 with no body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysResponse {
    /// Every device enrolled in the asking device's community.
    pub devices: Vec<DeviceKey>,
}

/// Most devices listed in one [`KeysResponse`] a client accepts.
pub const MAX_KEYS: usize = 100_000;

/// Encodes a sync body: CBOR, then gzip.
pub fn encode_body<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut cbor = Vec::new();
    ciborium::into_writer(value, &mut cbor).map_err(|e| Error::invalid("body", e.to_string()))?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &cbor)?;
    Ok(gz.finish()?)
}

/// Decodes a sync body, refusing bodies over [`MAX_BODY_BYTES`] compressed or [`MAX_DECODED_BYTES`] decoded.
pub fn decode_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Error::invalid("body", "body too large"));
    }
    let mut cbor = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(MAX_DECODED_BYTES as u64 + 1)
        .read_to_end(&mut cbor)
        .map_err(|e| Error::invalid("body", format!("not a gzip body: {e}")))?;
    if cbor.len() > MAX_DECODED_BYTES {
        return Err(Error::invalid("body", "body too large once decompressed"));
    }
    ciborium::from_reader(cbor.as_slice()).map_err(|e| Error::invalid("body", format!("malformed body: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_and_junk_is_refused() {
        let req = SyncRequest {
            protocol: PROTOCOL_VERSION,
            cursor: 7,
            docs: vec![DocMessage { doc_id: "roster:c:G01".into(), message: vec![1, 2, 3], signatures: vec![] }],
        };
        let bytes = encode_body(&req).expect("encode");
        assert_eq!(decode_body::<SyncRequest>(&bytes).expect("decode"), req);
        assert!(decode_body::<SyncRequest>(b"garbage").is_err());
        assert!(decode_body::<SyncRequest>(&bytes[..bytes.len() / 2]).is_err());
    }
}
