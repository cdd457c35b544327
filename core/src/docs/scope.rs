//! Which documents a device may read and write: the one scope rule the device store, hand-off bundles and
//! the server share. A document's id carries its community and grid, so the rule needs only the id.

use super::{DocId, DocKind};
use crate::model::Role;

/// A device's scope: its community, its role and the grids it covers.
#[derive(Debug, Clone, Copy)]
pub struct DeviceScope<'a> {
    /// The community the device belongs to.
    pub community_id: &'a str,
    /// The user's role.
    pub role: Role,
    /// The grids the device covers: `None` for every grid of the community, `Some` for only these (none
    /// when the list is empty).
    pub grids: Option<&'a [String]>,
}

impl<'a> DeviceScope<'a> {
    /// A device as the server enrolled it: a grid-scoped role covers the grids named for it and nothing else
    /// (enrollment names at least one; a record without any covers no grid rather than all of them), a
    /// community-wide role every grid.
    pub fn enrolled(community_id: &'a str, role: Role, grids: &'a [String]) -> DeviceScope<'a> {
        DeviceScope { community_id, role, grids: role.is_grid_scoped().then_some(grids) }
    }

    /// A device as its own store holds it: the grids named at enrollment or `init`, or every grid when none
    /// were named (a standalone store).
    pub fn held(community_id: &'a str, role: Role, grids: &'a [String]) -> DeviceScope<'a> {
        DeviceScope { community_id, role, grids: (!grids.is_empty()).then_some(grids) }
    }

    /// True when `grid` lies inside the scope.
    pub fn covers_grid(&self, grid: &str) -> bool {
        self.grids.is_none_or(|named| named.iter().any(|g| g == grid))
    }

    /// The grids the scope is limited to; `None` when it covers the whole community.
    pub fn grid_filter(&self) -> Option<&'a [String]> {
        self.grids
    }

    /// True when the device may hold the document: its community document, and the documents of its grids.
    pub fn may_read(&self, id: &DocId) -> bool {
        id.community == self.community_id && id.grid.as_deref().is_none_or(|g| self.covers_grid(g))
    }

    /// True when the device may change the document: as reading, except that only community-wide roles write
    /// the community document (its configuration).
    pub fn may_write(&self, id: &DocId) -> bool {
        self.may_read(id) && (id.kind != DocKind::Community || !self.role.is_grid_scoped())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grids(codes: &[&str]) -> Vec<String> {
        codes.iter().map(|g| g.to_string()).collect()
    }

    #[test]
    fn a_grid_leader_reads_its_grids_and_the_community_document_and_writes_only_its_grids() {
        let named = grids(&["A"]);
        let leader = DeviceScope::enrolled("c1", Role::GridLeader, &named);
        assert!(leader.may_read(&DocId::roster("c1", "A")));
        assert!(!leader.may_read(&DocId::roster("c1", "B")));
        assert!(!leader.may_read(&DocId::roster("c2", "A")));
        assert!(leader.may_read(&DocId::community("c1")));
        assert!(!leader.may_write(&DocId::community("c1")));
        assert!(leader.may_write(&DocId::roster("c1", "A")));
        assert!(!leader.may_write(&DocId::roster("c1", "B")));
        assert_eq!(leader.grid_filter(), Some(named.as_slice()));
    }

    #[test]
    fn a_community_wide_role_reads_and_writes_every_grid_and_the_configuration() {
        let committee = DeviceScope::enrolled("c1", Role::Committee, &[]);
        assert!(committee.may_read(&DocId::roster("c1", "B")));
        assert!(committee.may_write(&DocId::community("c1")));
        assert!(!committee.may_read(&DocId::community("c2")));
        assert_eq!(committee.grid_filter(), None);
    }

    /// A grid-scoped record without grids (never enrolled so, but a tampered or half-migrated row) covers no
    /// grid on the server; a standalone store of the same role covers every grid.
    #[test]
    fn a_grid_scoped_role_without_grids_covers_none_when_enrolled_and_all_when_standalone() {
        let enrolled = DeviceScope::enrolled("c1", Role::GridLeader, &[]);
        assert!(!enrolled.may_read(&DocId::roster("c1", "A")));
        assert!(enrolled.may_read(&DocId::community("c1")));
        assert_eq!(enrolled.grid_filter(), Some(&[][..]));
        let standalone = DeviceScope::held("c1", Role::GridLeader, &[]);
        assert!(standalone.may_read(&DocId::roster("c1", "A")));
        let named = grids(&["A"]);
        let held = DeviceScope::held("c1", Role::GridLeader, &named);
        assert!(held.may_write(&DocId::roster("c1", "A")) && !held.may_read(&DocId::roster("c1", "B")));
    }
}
