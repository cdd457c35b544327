//! Which documents a device may read and write: the one scope rule the device store, hand-off bundles and
//! the server share. A document's id carries its community and grid, so the rule needs only the id.

use super::{DocId, DocKind};
use crate::model::Role;

/// A device's scope as enrolled: its community, its role and the grids named for it.
#[derive(Debug, Clone, Copy)]
pub struct DeviceScope<'a> {
    /// The community the device belongs to.
    pub community_id: &'a str,
    /// The user's role.
    pub role: Role,
    /// Grids named for the device; empty means every grid of the community. The server names none for
    /// community-wide roles and at least one for grid-scoped roles.
    pub grids: &'a [String],
}

impl DeviceScope<'_> {
    /// True when `grid` lies inside the scope.
    pub fn covers_grid(&self, grid: &str) -> bool {
        self.grids.is_empty() || self.grids.iter().any(|g| g == grid)
    }

    /// The grids the scope is limited to; `None` when it covers the whole community.
    pub fn grid_filter(&self) -> Option<&[String]> {
        (!self.grids.is_empty()).then_some(self.grids)
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
        let leader = DeviceScope { community_id: "c1", role: Role::GridLeader, grids: &named };
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
        let committee = DeviceScope { community_id: "c1", role: Role::Committee, grids: &[] };
        assert!(committee.may_read(&DocId::roster("c1", "B")));
        assert!(committee.may_write(&DocId::community("c1")));
        assert!(!committee.may_read(&DocId::community("c2")));
        assert_eq!(committee.grid_filter(), None);
    }
}
