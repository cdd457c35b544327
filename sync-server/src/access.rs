//! Who may read and write what: a device's scope from its role and grids, token hashing, and the checks on
//! every change a device sends (authored by the device itself, or signed by its author device).

use automerge::{ActorId, Change};
use gridline_core::docs::scope::DeviceScope;
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
    /// The device's scope as enrolled (grids for grid-scoped roles only, see `enrollment::issue`).
    pub fn scope(&self) -> DeviceScope<'_> {
        DeviceScope::enrolled(&self.community_id, self.role, &self.grids)
    }

    /// What the device may read, as the storage's catalogue query takes it: a volunteer's is the documents
    /// without a grid and the orders whose audience is its user.
    pub fn read_scope(&self) -> ReadScope {
        let scope = self.scope();
        // Any service order of the community: whether the device reaches orders by assignment at all.
        let any_order =
            DocId { kind: DocKind::ServiceOrder, community: self.community_id.clone(), grid: None, key: None };
        ReadScope {
            community_id: self.community_id.clone(),
            grids: scope.grid_filter().map(<[String]>::to_vec),
            user: self.user.clone(),
            by_assignment: scope.reaches_by_assignment(&any_order),
        }
    }

    /// True when the device may receive the document (`DeviceScope::may_read`).
    pub fn may_read(&self, id: &DocId) -> bool {
        self.scope().may_read(id)
    }

    /// True when the device may write the document (`DeviceScope::may_write`).
    pub fn may_write(&self, id: &DocId) -> bool {
        self.scope().may_write(id)
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
