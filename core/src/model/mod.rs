//! Plain domain data: roles, contacts, the community's configuration, the roster, check-ins, visits,
//! incidents and service orders.

pub mod checkin;
pub mod community;
pub mod evaluation;
pub mod incident;
pub mod order;
pub mod project;
pub mod roster;
pub mod visit;

use serde::{Deserialize, Serialize};

pub use checkin::{CheckIn, CheckInKind, CheckInOutcome, Location, NewCheckIn};
pub use community::{
    CarePlanContact, CommunitySettings, DeadlinePolicy, ServiceOffer, ShopItem, SpecialCareCategory, DEFAULT_TIME_ZONE,
};
pub use evaluation::{
    AspectScore, DepartmentRating, DepartmentReport, DepartmentResult, ItemAverage, NewSurvey, Survey, SurveyReport,
    SurveySummary,
};
pub use incident::{IncidentEvent, IncidentFields, NewIncident, Severity};
pub use order::{NewServiceOrder, OrderEvent, ServiceOrderFields};
pub use project::{NewProject, NewProjectRating, ProjectFields, ProjectRatingEntry, ProjectStatusEvent};
pub use roster::{Household, Resident};
pub use visit::{NewVisit, Visit, VisitKind, SATISFACTION_RANGE};

use crate::codes::coded_enum;

/// How a calendar day is written everywhere — documents, document ids, the store's tables, the ledger, the FFI
/// and the CLI: `YYYY-MM-DD`. A day is written with chrono's `Display` (`day.to_string()`, the same form) and
/// read with this format, which accepts nothing else.
pub const DAY_FORMAT: &str = "%Y-%m-%d";

/// How far ahead of its device's clock a record's time may be: a paper record back-filled with a time a
/// little later than the phone's clock says. The server allows this plus a clock skew beyond its receipt
/// time, so no record a phone accepted is refused.
pub const MAX_TIME_AHEAD: chrono::TimeDelta = chrono::TimeDelta::hours(1);

coded_enum! {
    #[codes(field = "role", name = "role", list = false)]
    /// Who a device's user is in the community (PRODUCT.md §1).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
    pub enum Role {
        /// 网格长: resident volunteer walking one grid.
        GridLeader = "grid_leader",
        /// 网格员: work-station staff member assigned to a grid.
        GridWorker = "grid_worker",
        /// 社工: social worker making scheduled home visits.
        SocialWorker = "social_worker",
        /// 社居委: residents' committee.
        Committee = "committee",
        /// 社区工作站: community work station.
        Station = "station",
        /// 街道: street office.
        Street = "street",
        /// 管理员: sets up the community, rosters, accounts.
        Admin = "admin",
        /// 志愿者: a resident who takes service orders and earns points; sees only the orders dispatched to them.
        Volunteer = "volunteer",
        /// 楼栋长: a resident who looks after one or a few buildings of a grid; sees only their households.
        BuildingLead = "building_lead",
    }
}

impl Role {
    /// True for roles whose scope is one or more grids rather than the whole community (a building lead's
    /// is further narrowed to its buildings, `docs::scope`).
    pub fn is_grid_scoped(&self) -> bool {
        matches!(self, Role::GridLeader | Role::GridWorker | Role::SocialWorker | Role::BuildingLead)
    }

    /// True for roles whose scope is the whole community (every grid). A volunteer is neither grid-scoped nor
    /// community-wide: it reaches only the service orders dispatched to it (`docs::scope`).
    pub fn is_community_wide(&self) -> bool {
        !self.is_grid_scoped() && *self != Role::Volunteer
    }
}

coded_enum! {
    #[codes(field = "contact", name = "contact", list = false)]
    /// A care-plan contact, from least to most intensive. A more intensive contact satisfies a less intensive
    /// one: home visit ⊇ door visit ⊇ phone call.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
    pub enum ContactKind {
        /// 日电话: a phone call.
        Phone = "phone",
        /// 周上门: a visit to the door.
        Door = "door",
        /// 月访视: a home visit (inside, with services).
        Home = "home",
    }
}

impl ContactKind {
    /// Intensity level stored in the contact index: 1 phone, 2 door, 3 home (0 is "seen, no care contact").
    pub fn level(&self) -> i64 {
        match self {
            ContactKind::Phone => 1,
            ContactKind::Door => 2,
            ContactKind::Home => 3,
        }
    }
}
