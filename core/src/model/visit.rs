//! Home visits (入户访视): what a social worker records when visiting, calling on or accompanying
//! special-care residents.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use super::ContactKind;
use crate::codes::coded_enum;

coded_enum! {
    #[codes(field = "kind", name = "visit kind", list = true)]
    /// How the resident was visited.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
    pub enum VisitKind {
        /// A home visit, inside the home (月访视).
        Home = "home",
        /// A visit at the door (周上门).
        Door = "door",
        /// A phone call (日电话).
        Phone = "phone",
        /// Accompanying the resident outside (to hospital, an office …).
        Accompany = "accompany",
    }
}

impl VisitKind {
    /// The care-plan contact the visit counts as. Accompanying a resident counts as a home visit: the social
    /// worker spends hours in person with the resident, which is at least what a home visit checks.
    pub fn contact(&self) -> ContactKind {
        match self {
            VisitKind::Home | VisitKind::Accompany => ContactKind::Home,
            VisitKind::Door => ContactKind::Door,
            VisitKind::Phone => ContactKind::Phone,
        }
    }
}

/// Satisfaction scores a resident may give.
pub const SATISFACTION_RANGE: std::ops::RangeInclusive<u8> = 1..=5;

/// What a user enters for a new visit.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NewVisit {
    /// Household code.
    pub household_code: String,
    /// Residents visited, by name; empty means the whole household.
    pub residents: Vec<String>,
    /// Kind of visit.
    pub kind: VisitKind,
    /// When it started; `None` means now. A past time back-fills a paper record.
    pub at: Option<DateTime<FixedOffset>>,
    /// How long it took, in minutes.
    pub duration_min: Option<u32>,
    /// Services delivered: codes from the community's `visit_services` catalogue.
    pub services: Vec<String>,
    /// Needs found, free text.
    pub needs: String,
    /// Needs found, as codes of the `visit_services` catalogue (the service that would meet the need).
    pub need_tags: Vec<String>,
    /// The day a follow-up contact is due.
    pub follow_up: Option<NaiveDate>,
    /// The resident's satisfaction, 1–5.
    pub satisfaction: Option<u8>,
    /// SHA-256 hashes of photos already added to the store (see `Store::add_photo`).
    pub photos: Vec<String>,
}

/// A recorded visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Visit {
    /// UUID v7.
    pub visit_id: String,
    /// Household code.
    pub household_code: String,
    /// Grid of the household.
    pub grid: String,
    /// Residents visited (empty: the whole household).
    pub residents: Vec<String>,
    /// Kind.
    pub kind: VisitKind,
    /// When it started (RFC 3339 with offset).
    pub at: DateTime<FixedOffset>,
    /// The day it started on, in the community's time zone (fixed when recorded).
    pub day: NaiveDate,
    /// Duration in minutes, if recorded.
    pub duration_min: Option<u32>,
    /// Service codes delivered.
    pub services: Vec<String>,
    /// Needs found, free text.
    pub needs: String,
    /// Needs found, as service codes.
    pub need_tags: Vec<String>,
    /// Follow-up day, if one was set.
    pub follow_up: Option<NaiveDate>,
    /// Resident satisfaction 1–5, if given.
    pub satisfaction: Option<u8>,
    /// Photo hashes.
    pub photos: Vec<String>,
    /// User who recorded it.
    pub author: String,
    /// Device that recorded it.
    pub device_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_accompany_counts_as_home() {
        for k in VisitKind::ALL {
            assert_eq!(k.code().parse::<VisitKind>().expect("parses"), k);
        }
        assert!("visit".parse::<VisitKind>().is_err());
        assert_eq!(VisitKind::Accompany.contact(), ContactKind::Home);
        assert_eq!(VisitKind::Door.contact(), ContactKind::Door);
        assert_eq!(VisitKind::Phone.contact().level(), 1);
    }
}
