//! Which documents a device may read and write: the one scope rule the device store, hand-off bundles and
//! the server share. A document's id carries its community and grid, so the rule needs only the id — except
//! for a volunteer (志愿者), who reaches a service order only while it is dispatched to them: that is a fact
//! the server keeps for each order (its current volunteer), checked on every read and write beside this rule
//! (`reaches_by_assignment`). A volunteer's own store trusts the server for it.

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
    /// True in a device's own store: the service orders a volunteer holds are the ones the server sent it.
    /// False on the server, which checks the order's current volunteer instead.
    pub trusts_assignments: bool,
}

impl<'a> DeviceScope<'a> {
    /// A device as the server enrolled it: a grid-scoped role covers the grids named for it and nothing else
    /// (enrollment names at least one; a record without any covers no grid rather than all of them), a
    /// community-wide role every grid.
    pub fn enrolled(community_id: &'a str, role: Role, grids: &'a [String]) -> DeviceScope<'a> {
        let grids = match role {
            Role::Volunteer => Some(&[][..]),
            _ => role.is_grid_scoped().then_some(grids),
        };
        DeviceScope { community_id, role, grids, trusts_assignments: false }
    }

    /// A device as its own store holds it: the grids named at enrollment or `init`, or every grid when none
    /// were named (a standalone store).
    pub fn held(community_id: &'a str, role: Role, grids: &'a [String]) -> DeviceScope<'a> {
        let grids = match role {
            Role::Volunteer => Some(&[][..]),
            _ => (!grids.is_empty()).then_some(grids),
        };
        DeviceScope { community_id, role, grids, trusts_assignments: true }
    }

    /// True when `grid` lies inside the scope.
    pub fn covers_grid(&self, grid: &str) -> bool {
        self.grids.is_none_or(|named| named.iter().any(|g| g == grid))
    }

    /// The grids the scope is limited to; `None` when it covers the whole community.
    pub fn grid_filter(&self) -> Option<&'a [String]> {
        self.grids
    }

    /// True when the device may hold the document: its community document, the points ledger, the department
    /// ratings, and the documents of its grids (a grid's residents' survey among them). A volunteer holds the community document and the points ledger (as public in
    /// the community as the honour roll 荣誉墙), and the service orders dispatched to it.
    pub fn may_read(&self, id: &DocId) -> bool {
        if id.community != self.community_id {
            return false;
        }
        if self.role == Role::Volunteer {
            return matches!(id.kind, DocKind::Community | DocKind::Points)
                || (id.kind == DocKind::ServiceOrder && self.trusts_assignments);
        }
        id.grid.as_deref().is_none_or(|g| self.covers_grid(g))
    }

    /// True when the device may change the document: as reading, except that only community-wide roles write
    /// the community document (its configuration), only the committee and the station record redemptions in
    /// the points ledger and rate departments (部门评议), the street office and the admin record no residents'
    /// survey, and a volunteer writes only the service orders dispatched to it.
    pub fn may_write(&self, id: &DocId) -> bool {
        if !self.may_read(id) {
            return false;
        }
        match id.kind {
            DocKind::Community => self.role.is_community_wide(),
            DocKind::Points | DocKind::DepartmentRating => matches!(self.role, Role::Committee | Role::Station),
            DocKind::Survey => !matches!(self.role, Role::Street | Role::Admin | Role::Volunteer),
            _ => self.role != Role::Volunteer || self.trusts_assignments,
        }
    }

    /// True when reading and writing `id` turns on whether it is dispatched to this device's user: a
    /// volunteer and a service order of its community. The server then checks the order's current volunteer.
    pub fn reaches_by_assignment(&self, id: &DocId) -> bool {
        self.role == Role::Volunteer && id.kind == DocKind::ServiceOrder && id.community == self.community_id
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
        assert!(committee.may_write(&DocId::points("c1")));
        let named = grids(&["A"]);
        let leader = DeviceScope::enrolled("c1", Role::GridLeader, &named);
        assert!(leader.may_read(&DocId::points("c1")) && !leader.may_write(&DocId::points("c1")));
    }

    #[test]
    fn a_volunteer_reaches_the_community_document_the_points_ledger_and_by_assignment_its_orders() {
        let named = grids(&["A"]);
        let order = DocId::service_order("c1", "A", "0190f5a4-2b3c-7d4e-8f00-112233445566");
        let on_server = DeviceScope::enrolled("c1", Role::Volunteer, &named);
        assert_eq!(on_server.grid_filter(), Some(&[][..]), "no grid's documents by id");
        assert!(on_server.may_read(&DocId::community("c1")) && on_server.may_read(&DocId::points("c1")));
        assert!(!on_server.may_write(&DocId::community("c1")) && !on_server.may_write(&DocId::points("c1")));
        for id in [DocId::roster("c1", "A"), DocId::incident("c1", "A", "0190f5a4-2b3c-7d4e-8f00-112233445566")] {
            assert!(!on_server.may_read(&id) && !on_server.may_write(&id), "{id}");
            assert!(!on_server.reaches_by_assignment(&id));
        }
        assert!(!on_server.may_read(&order) && on_server.reaches_by_assignment(&order));
        let own_store = DeviceScope::held("c1", Role::Volunteer, &[]);
        assert!(own_store.may_read(&order) && own_store.may_write(&order));
        assert!(!own_store.may_read(&DocId::roster("c1", "A")));
        assert!(!own_store.may_read(&DocId::points("c2")));
    }

    /// The two-way evaluation: a grid's survey is read like its check-ins and written by the roles that walk or
    /// run the grid; department ratings are read by every role but volunteers and written by the committee and
    /// the station only.
    #[test]
    fn surveys_follow_the_grid_and_department_ratings_the_committee_and_station() {
        let named = grids(&["A"]);
        let survey = DocId::survey("c1", "A", 2026);
        let departments = DocId::departments("c1", 2026);
        let leader = DeviceScope::enrolled("c1", Role::GridLeader, &named);
        assert!(leader.may_write(&survey) && !leader.may_read(&DocId::survey("c1", "B", 2026)));
        assert!(leader.may_read(&departments) && !leader.may_write(&departments));
        for role in [Role::Committee, Role::Station] {
            let staff = DeviceScope::enrolled("c1", role, &[]);
            assert!(staff.may_write(&departments) && staff.may_write(&survey), "{role:?}");
            assert!(!staff.may_read(&DocId::departments("c2", 2026)));
        }
        let street = DeviceScope::enrolled("c1", Role::Street, &[]);
        assert!(street.may_read(&survey) && !street.may_write(&survey) && !street.may_write(&departments));
        for volunteer in
            [DeviceScope::enrolled("c1", Role::Volunteer, &named), DeviceScope::held("c1", Role::Volunteer, &[])]
        {
            assert!(!volunteer.may_read(&survey) && !volunteer.may_read(&departments));
            assert!(!volunteer.may_write(&survey) && !volunteer.may_write(&departments));
        }
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
