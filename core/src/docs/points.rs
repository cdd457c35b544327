//! The points ledger (积分台账), one per community: redemptions the committee and station record, and the
//! credits and decisions the server writes.

use automerge::AutoCommit;

use super::Record;

/// The records of the points ledger, for the server's content checks.
pub fn records(_doc: &AutoCommit) -> Vec<Record> {
    Vec::new()
}
