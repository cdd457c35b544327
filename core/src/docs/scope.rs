//! Which documents a device may read and write: the one scope rule the device store, hand-off bundles and
//! the server share. A document's id carries its community and grid, so the rule needs only the id — except
//! for a volunteer (志愿者), who reaches a service order only while it is dispatched to them: that is a fact
//! the server keeps for each order (its current volunteer), checked on every read and write beside this rule
//! (`reaches_by_assignment`). A volunteer's own store trusts the server for it.
//!
//! A building lead (楼栋长) is narrowed further, to its buildings: it reads its buildings' projections
//! (`building:<c>:<grid>:<bkey>`, written by the server alone) and check-in logs
//! (`checkins:<c>:<grid>:<day>:<bkey>`) by id, never the grid's roster and grid-level logs, and the incidents
//! and service orders whose building (a fact the server keeps per document) is one of its own
//! (`reaches_by_building`).

use super::{DocId, DocKind};
use crate::model::Role;
use crate::project;

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
    /// False on the server, which checks the order's current volunteer instead. Likewise the incidents and
    /// orders a building lead's store holds are the ones the server sent it.
    pub trusts_assignments: bool,
    /// A building lead's buildings (names); empty for every other role.
    pub buildings: &'a [String],
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
        DeviceScope { community_id, role, grids, trusts_assignments: false, buildings: &[] }
    }

    /// A device as its own store holds it: the grids named at enrollment or `init`, or every grid when none
    /// were named (a standalone store).
    pub fn held(community_id: &'a str, role: Role, grids: &'a [String]) -> DeviceScope<'a> {
        let grids = match role {
            Role::Volunteer => Some(&[][..]),
            _ => (!grids.is_empty()).then_some(grids),
        };
        DeviceScope { community_id, role, grids, trusts_assignments: true, buildings: &[] }
    }

    /// The same scope narrowed to a building lead's `buildings` (names).
    pub fn with_buildings(self, buildings: &'a [String]) -> DeviceScope<'a> {
        DeviceScope { buildings, ..self }
    }

    /// True when the building key `key` is one of the scope's buildings'.
    pub fn covers_building_key(&self, key: &str) -> bool {
        self.buildings.iter().any(|b| super::building_key(b) == key)
    }

    /// What a building lead reads by id alone: the documents without a grid, and in its grids its buildings'
    /// projections and check-in logs; `None` for an incident or a service order (decided by its building).
    fn building_lead_reads(&self, id: &DocId) -> Option<bool> {
        let Some(grid) = id.grid.as_deref() else { return Some(true) };
        if !self.covers_grid(grid) {
            return Some(false);
        }
        match id.kind {
            DocKind::Building | DocKind::CheckInLog => {
                Some(id.building_key().is_some_and(|k| self.covers_building_key(k)))
            }
            DocKind::Incident | DocKind::ServiceOrder => None,
            // The roster, grid-level logs and every other grid document hold all the grid's households.
            _ => Some(false),
        }
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
    /// ratings, and the documents of its grids (a grid's residents' survey among them). A volunteer holds the
    /// community document and the points ledger (as public in the community as the honour roll 荣誉墙), and the
    /// service orders dispatched to it; a building lead its buildings' projections and check-in logs.
    pub fn may_read(&self, id: &DocId) -> bool {
        if id.community != self.community_id {
            return false;
        }
        if self.role == Role::Volunteer {
            return matches!(id.kind, DocKind::Community | DocKind::Points)
                || (id.kind == DocKind::ServiceOrder && self.trusts_assignments);
        }
        if self.role == Role::BuildingLead {
            return self.building_lead_reads(id).unwrap_or(self.trusts_assignments);
        }
        // A building's projection is for its building leads; the grid's devices read the sources.
        if id.kind == DocKind::Building {
            return false;
        }
        id.grid.as_deref().is_none_or(|g| self.covers_grid(g))
    }

    /// True when the device may change the document: as reading, except that only community-wide roles write
    /// the community document (its configuration), only the committee and the station record redemptions in
    /// the points ledger and rate departments (部门评议), the street office and the admin record no residents'
    /// survey, a volunteer writes only the service orders dispatched to it, and a project is written by those
    /// who run it or rate it (which entries each may write: [`DeviceScope::may_run_projects`],
    /// [`DeviceScope::may_rate_household`]).
    pub fn may_write(&self, id: &DocId) -> bool {
        if !self.may_read(id) {
            return false;
        }
        match id.kind {
            DocKind::Community => self.role.is_community_wide(),
            DocKind::Project => project::may_run(self.role) || project::may_rate(self.role),
            DocKind::Points | DocKind::DepartmentRating => matches!(self.role, Role::Committee | Role::Station),
            DocKind::Survey => !matches!(self.role, Role::Street | Role::Admin | Role::Volunteer),
            // Documents the server alone writes (a building's projection).
            kind if kind.server_written() => false,
            _ => self.role != Role::Volunteer || self.trusts_assignments,
        }
    }

    /// True when the device may create a project and write its fields and status events (committee, station).
    pub fn may_run_projects(&self) -> bool {
        project::may_run(self.role)
    }

    /// True when the device may record a resident's rating of a project for a household of `grid` living in
    /// `building`: the committee and the station for any household, a grid role for the households of its
    /// grids, a building lead for the households of its buildings.
    pub fn may_rate_household(&self, grid: &str, building: &str) -> bool {
        if !project::may_rate(self.role) {
            return false;
        }
        match self.role {
            Role::Committee | Role::Station => true,
            Role::BuildingLead => self.covers_grid(grid) && self.buildings.iter().any(|b| b == building),
            _ => self.covers_grid(grid),
        }
    }

    /// True when reading and writing `id` turns on the building the server records for it: a building lead
    /// and an incident or a service order of its grids. The server then checks the document's building.
    pub fn reaches_by_building(&self, id: &DocId) -> bool {
        self.role == Role::BuildingLead
            && id.community == self.community_id
            && matches!(id.kind, DocKind::Incident | DocKind::ServiceOrder)
            && id.grid.as_deref().is_some_and(|g| self.covers_grid(g))
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

    #[test]
    fn projects_are_read_by_all_but_volunteers_run_by_committee_and_station_rated_within_grids() {
        let id = DocId::project("c1", "0190f5a4-2b3c-7d4e-8f00-112233445566");
        let named = grids(&["A"]);
        let leader = DeviceScope::enrolled("c1", Role::GridLeader, &named);
        let worker = DeviceScope::enrolled("c1", Role::SocialWorker, &named);
        let committee = DeviceScope::enrolled("c1", Role::Committee, &[]);
        let station = DeviceScope::enrolled("c1", Role::Station, &[]);
        let street = DeviceScope::enrolled("c1", Role::Street, &[]);
        let volunteer = DeviceScope::enrolled("c1", Role::Volunteer, &[]);
        for s in [leader, worker, committee, station, street] {
            assert!(s.may_read(&id), "{:?}", s.role);
        }
        assert!(!volunteer.may_read(&id) && !volunteer.may_write(&id));
        assert!(!DeviceScope::held("c1", Role::Volunteer, &[]).may_read(&id));
        assert!(!leader.may_read(&DocId::project("c2", "0190f5a4-2b3c-7d4e-8f00-112233445566")));
        for s in [leader, worker, committee, station] {
            assert!(s.may_write(&id), "{:?}", s.role);
        }
        assert!(!street.may_write(&id));
        assert!(committee.may_run_projects() && station.may_run_projects());
        assert!(!leader.may_run_projects() && !worker.may_run_projects() && !street.may_run_projects());
        assert!(leader.may_rate_household("A", "1") && !leader.may_rate_household("B", "1"));
        assert!(worker.may_rate_household("A", "2") && !worker.may_rate_household("B", "2"));
        assert!(committee.may_rate_household("B", "9") && station.may_rate_household("B", "9"));
        assert!(!street.may_rate_household("A", "1") && !volunteer.may_rate_household("A", "1"));
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

    #[test]
    fn a_building_lead_reads_its_buildings_projections_and_logs_and_nothing_else_of_the_grid() {
        let named = grids(&["G01"]);
        let buildings = vec!["1号楼".to_string()];
        let (mine, other) = (crate::docs::building_key("1号楼"), crate::docs::building_key("2号楼"));
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).expect("day");
        let incident = DocId::incident("c1", "G01", "0190f5a4-2b3c-7d4e-8f00-112233445566");
        let server = DeviceScope::enrolled("c1", Role::BuildingLead, &named).with_buildings(&buildings);
        assert!(server.may_read(&DocId::community("c1")) && !server.may_write(&DocId::community("c1")));
        assert!(server.may_read(&DocId::building("c1", "G01", &mine)));
        assert!(!server.may_write(&DocId::building("c1", "G01", &mine)), "only the server writes projections");
        assert!(server.may_write(&DocId::building_check_in_log("c1", "G01", day, &mine)));
        for id in [
            DocId::roster("c1", "G01"),
            DocId::check_in_log("c1", "G01", day),
            DocId::visit_log("c1", "G01", "2026-11"),
            DocId::building("c1", "G01", &other),
            DocId::building_check_in_log("c1", "G01", day, &other),
            DocId::building("c1", "G02", &mine),
            incident.clone(),
        ] {
            assert!(!server.may_read(&id) && !server.may_write(&id), "{id}");
        }
        assert!(server.reaches_by_building(&incident));
        assert!(!server.reaches_by_building(&DocId::incident("c1", "G02", "0190f5a4-2b3c-7d4e-8f00-112233445566")));
        let own = DeviceScope::held("c1", Role::BuildingLead, &named).with_buildings(&buildings);
        assert!(own.may_read(&incident) && !own.may_read(&DocId::roster("c1", "G01")));
        // A grid leader reads the building-level logs of its grid, never a projection.
        let leader = DeviceScope::enrolled("c1", Role::GridLeader, &named);
        assert!(leader.may_read(&DocId::building_check_in_log("c1", "G01", day, &other)));
        assert!(!leader.may_read(&DocId::building("c1", "G01", &mine)));
        assert!(!DeviceScope::enrolled("c1", Role::Committee, &[]).may_read(&DocId::building("c1", "G01", &mine)));
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
