//! Check-ins (入户走访): what a grid leader records at a household on the rounds.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::ContactKind;
use crate::codes::coded_enum;
use crate::error::{Error, Result};

coded_enum! {
    #[codes(field = "kind", name = "check-in kind", list = true)]
    /// How the household was checked on.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
    pub enum CheckInKind {
        /// Visited at the door.
        Door = "door",
        /// Called by phone.
        Phone = "phone",
        /// Seen in passing (no care-plan contact).
        Observed = "observed",
        /// Nobody home (counts for nothing).
        Absent = "absent",
    }
}

impl CheckInKind {
    /// The care-plan contact this check-in satisfies: door and phone do; observed and absent do not.
    pub fn contact(&self) -> Option<ContactKind> {
        match self {
            CheckInKind::Door => Some(ContactKind::Door),
            CheckInKind::Phone => Some(ContactKind::Phone),
            CheckInKind::Observed | CheckInKind::Absent => None,
        }
    }

    /// Whether the check-in counts as seeing the household for monthly rotation (all but `absent`).
    pub fn counts_for_rotation(&self) -> bool {
        !matches!(self, CheckInKind::Absent)
    }
}

coded_enum! {
    #[codes(field = "outcome", name = "outcome", list = true)]
    /// What the grid leader found.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
    pub enum CheckInOutcome {
        /// All well.
        Well = "well",
        /// Needs attention.
        Attention = "attention",
        /// Problem found: may start an incident.
        Problem = "problem",
    }
}

/// A position fix from the phone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Location {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Accuracy radius in metres, if known.
    pub accuracy_m: Option<f64>,
}

impl Location {
    /// Checks the coordinates are on the globe.
    pub fn validate(&self) -> Result<()> {
        let ok = self.lat.is_finite()
            && self.lon.is_finite()
            && (-90.0..=90.0).contains(&self.lat)
            && (-180.0..=180.0).contains(&self.lon)
            && self.accuracy_m.is_none_or(|a| a.is_finite() && a >= 0.0);
        if ok {
            Ok(())
        } else {
            Err(Error::invalid("location", "coordinates out of range"))
        }
    }
}

/// What a user enters for a new check-in.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NewCheckIn {
    /// Household code.
    pub household_code: String,
    /// Kind of check-in.
    pub kind: CheckInKind,
    /// Outcome.
    pub outcome: CheckInOutcome,
    /// Free note (≤ 2,000 characters).
    pub note: String,
    /// SHA-256 hashes of photos already added to the store (see `Store::add_photo`).
    pub photos: Vec<String>,
    /// Optional position fix.
    pub location: Option<Location>,
    /// When it happened; `None` means now. A past time back-fills a paper record.
    pub at: Option<DateTime<FixedOffset>>,
}

/// A recorded check-in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CheckIn {
    /// UUID v7.
    pub check_in_id: String,
    /// Household code.
    pub household_code: String,
    /// Grid of the household.
    pub grid: String,
    /// Kind.
    pub kind: CheckInKind,
    /// Outcome.
    pub outcome: CheckInOutcome,
    /// Note.
    pub note: String,
    /// Photo hashes.
    pub photos: Vec<String>,
    /// Position fix.
    pub location: Option<Location>,
    /// When it happened (device time, RFC 3339 with offset).
    pub at: DateTime<FixedOffset>,
    /// User who recorded it.
    pub author: String,
    /// Device that recorded it.
    pub device_id: String,
}
