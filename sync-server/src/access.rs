//! Who may read and write what: a device's scope from its role and grids, token hashing, and the checks on
//! every change a device sends (authored by the device itself, or signed by its author device).

use automerge::{ActorId, Change};
use gridline_core::docs::{DocId, DocKind};
use gridline_core::sync::protocol::ChangeSignature;
use gridline_core::sync::signing;
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

    /// True when `actor` is this device's Automerge actor id.
    pub fn is_actor(&self, actor: &ActorId) -> bool {
        signing::device_actor(&self.device_id).is_ok_and(|a| a == *actor)
    }
}

/// Checks a relayed change's signature: by `author` (whose actor id must be the change's), over the 32 raw
/// bytes of the change hash.
pub fn signature_valid(change: &Change, sig: &ChangeSignature, author: &Device) -> bool {
    author.is_actor(change.actor_id())
        && sig.change_hash == change.hash().to_string()
        && signing::verify_change(&author.public_key, sig).is_ok()
}
