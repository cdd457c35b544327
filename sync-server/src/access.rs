//! Who may read and write what: a device's scope from its role and grids, token hashing, and the checks on
//! every change a device sends (authored by the device itself, or signed by its author device).

use automerge::Change;
use ed25519_dalek::{Signature, VerifyingKey};
use gridline_core::docs::{DocId, DocKind};
use gridline_core::sync::protocol::ChangeSignature;
use sha2::{Digest, Sha256};

use crate::storage::{Device, ReadScope};

/// SHA-256 (hex) of a secret (device tokens, enrollment codes): only hashes are stored.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A fresh random device token (32 random bytes, hex).
pub fn new_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(hex::encode(bytes))
}

impl Device {
    /// What the device may read.
    pub fn read_scope(&self) -> ReadScope {
        let grids = self.role.is_grid_scoped().then(|| self.grids.clone());
        ReadScope { community_id: self.community_id.clone(), grids }
    }

    /// True when the device may receive the document: its community document, and its grids' documents
    /// (every grid for community-wide roles).
    pub fn may_read(&self, id: &DocId) -> bool {
        id.community == self.community_id
            && match &id.grid {
                None => true,
                Some(g) => !self.role.is_grid_scoped() || self.grids.contains(g),
            }
    }

    /// True when the device may write the document: as reading, except that only community-wide roles write
    /// the community document (its configuration).
    pub fn may_write(&self, id: &DocId) -> bool {
        self.may_read(id) && (id.kind != DocKind::Community || !self.role.is_grid_scoped())
    }

    /// The device's Automerge actor id: the 16 bytes of its UUID.
    pub fn actor_bytes(&self) -> Option<[u8; 16]> {
        uuid::Uuid::parse_str(&self.device_id).ok().map(|u| *u.as_bytes())
    }
}

/// True when `public_key` is hex of a valid Ed25519 public key.
pub fn valid_public_key(public_key: &str) -> bool {
    verifying_key(public_key).is_some()
}

fn verifying_key(public_key: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = hex::decode(public_key).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// Checks a relayed change's signature: by `author` (whose actor id must be the change's), over the 32 raw
/// bytes of the change hash.
pub fn signature_valid(change: &Change, sig: &ChangeSignature, author: &Device) -> bool {
    let Some(actor) = author.actor_bytes() else { return false };
    if change.actor_id().to_bytes() != actor.as_slice() {
        return false;
    }
    let Some(key) = verifying_key(&author.public_key) else { return false };
    let Some(bytes) = hex::decode(&sig.signature).ok().and_then(|b| <[u8; 64]>::try_from(b).ok()) else {
        return false;
    };
    key.verify_strict(change.hash().as_ref(), &Signature::from_bytes(&bytes)).is_ok()
}
