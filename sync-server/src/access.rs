//! Who may read and write what: a device's scope from its role and grids, token hashing, and the checks on
//! every change a device sends (authored by the device itself, or signed by its author device).

use automerge::{ActorId, AutoCommit, Change};
use gridline_core::docs::scope::DeviceScope;
use gridline_core::docs::{service_order, DocId, DocKind};
use gridline_core::model::Role;
use gridline_core::service_workflow::{self, OrderStage};
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
        DeviceScope::enrolled(&self.community_id, self.role, &self.grids).with_buildings(&self.buildings)
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
            buildings: (self.role == Role::BuildingLead)
                .then(|| self.buildings.iter().map(|b| gridline_core::docs::building_key(b)).collect()),
        }
    }

    /// True when `doc_building` (a document's stored building, [`crate::storage::Storage::building`]) lets
    /// this device reach the incident or order `id` (`DeviceScope::reaches_by_building`).
    pub fn reaches_building(&self, id: &DocId, doc_building: Option<&str>) -> bool {
        let scope = self.scope();
        scope.reaches_by_building(id) && doc_building.is_some_and(|k| scope.covers_building_key(k))
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

/// The volunteer a service order is dispatched to now, as the replay of its events says: set by a dispatch,
/// cleared by a decline, kept after done, evaluation and cancellation. `None` for a document that is no
/// readable order.
pub fn order_volunteer(doc: &AutoCommit) -> Option<String> {
    let events = service_order::read_events(doc).ok()?;
    service_workflow::replay(&events).volunteer
}

/// True when service order `doc` is dispatched to `user` now ([`order_volunteer`]).
pub fn assigned_to(doc: &AutoCommit, user: &str) -> bool {
    order_volunteer(doc).is_some_and(|v| v == user)
}

/// A service order whose replay is `evaluated`: what its volunteer's credit needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluatedOrder {
    /// Order id.
    pub order_id: String,
    /// The volunteer credited.
    pub volunteer: String,
    /// Service code.
    pub service: String,
    /// When the resident's rating was recorded.
    pub evaluated_at: chrono::DateTime<chrono::FixedOffset>,
}

/// The order in `doc` when its replay is `evaluated` and names a volunteer.
pub fn evaluated_order(doc: &AutoCommit) -> Option<EvaluatedOrder> {
    let order = service_order::read(doc).ok()?;
    let d = service_workflow::replay(&order.events);
    if d.stage != Some(OrderStage::Evaluated) {
        return None;
    }
    Some(EvaluatedOrder {
        order_id: order.fields.order_id,
        volunteer: d.volunteer?,
        service: order.fields.service,
        evaluated_at: d.evaluated_at?,
    })
}

/// Checks a relayed change's signature: by `author` (whose actor id must be the change's), over the 32 raw
/// bytes of the change hash.
pub fn signature_valid(change: &Change, sig: &ChangeSignature, author: &Device) -> bool {
    author.is_actor(change.actor_id())
        && sig.change_hash == change.hash().to_string()
        && signing::verify_change(&author.public_key, sig).is_ok()
}
