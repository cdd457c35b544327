//! Plain domain data: roles, contacts, the community's configuration, the roster, check-ins, visits and
//! incidents.

pub mod checkin;
pub mod community;
pub mod incident;
pub mod roster;
pub mod visit;

use serde::{Deserialize, Serialize};

pub use checkin::{CheckIn, CheckInKind, CheckInOutcome, Location, NewCheckIn};
pub use community::{CarePlanContact, CommunitySettings, DeadlinePolicy, SpecialCareCategory};
pub use incident::{IncidentEvent, IncidentFields, NewIncident, Severity};
pub use roster::{Household, Resident};
pub use visit::{NewVisit, Visit, VisitKind, SATISFACTION_RANGE};

use crate::error::{Error, Result};

/// How far ahead of its device's clock a record's time may be: a paper record back-filled with a time a
/// little later than the phone's clock says. The server allows this plus a clock skew beyond its receipt
/// time, so no record a phone accepted is refused.
pub const MAX_TIME_AHEAD: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// Who a device's user is in the community (PRODUCT.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Role {
    /// 网格长: resident volunteer walking one grid.
    GridLeader,
    /// 网格员: work-station staff member assigned to a grid.
    GridWorker,
    /// 社工: social worker making scheduled home visits.
    SocialWorker,
    /// 社居委: residents' committee.
    Committee,
    /// 社区工作站: community work station.
    Station,
    /// 街道: street office.
    Street,
    /// 管理员: sets up the community, rosters, accounts.
    Admin,
}

impl Role {
    /// Every role, in the order of PRODUCT.md §1.
    pub const ALL: [Role; 7] = [
        Role::GridLeader,
        Role::GridWorker,
        Role::SocialWorker,
        Role::Committee,
        Role::Station,
        Role::Street,
        Role::Admin,
    ];

    /// The snake_case code of the role.
    pub fn code(&self) -> &'static str {
        match self {
            Role::GridLeader => "grid_leader",
            Role::GridWorker => "grid_worker",
            Role::SocialWorker => "social_worker",
            Role::Committee => "committee",
            Role::Station => "station",
            Role::Street => "street",
            Role::Admin => "admin",
        }
    }

    /// Parses a role code.
    pub fn parse(code: &str) -> Result<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.code() == code)
            .ok_or_else(|| Error::invalid("role", format!("unknown role {code:?}")))
    }

    /// True for roles whose scope is one or more grids rather than the whole community.
    pub fn is_grid_scoped(&self) -> bool {
        matches!(self, Role::GridLeader | Role::GridWorker | Role::SocialWorker)
    }
}

/// A care-plan contact, from least to most intensive. A more intensive contact satisfies a less intensive
/// one: home visit ⊇ door visit ⊇ phone call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ContactKind {
    /// 日电话: a phone call.
    Phone,
    /// 周上门: a visit to the door.
    Door,
    /// 月访视: a home visit (inside, with services).
    Home,
}

impl ContactKind {
    /// Every contact kind, least intensive first.
    pub const ALL: [ContactKind; 3] = [ContactKind::Phone, ContactKind::Door, ContactKind::Home];

    /// The snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            ContactKind::Phone => "phone",
            ContactKind::Door => "door",
            ContactKind::Home => "home",
        }
    }

    /// Parses a contact code.
    pub fn parse(code: &str) -> Result<ContactKind> {
        ContactKind::ALL
            .into_iter()
            .find(|c| c.code() == code)
            .ok_or_else(|| Error::invalid("contact", format!("unknown contact {code:?}")))
    }

    /// Intensity level stored in the contact index: 1 phone, 2 door, 3 home (0 is "seen, no care contact").
    pub fn level(&self) -> i64 {
        match self {
            ContactKind::Phone => 1,
            ContactKind::Door => 2,
            ContactKind::Home => 3,
        }
    }
}
