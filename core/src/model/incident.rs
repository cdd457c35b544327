//! Incidents (事件): what a grid leader reports on the spot, and the workflow events appended to it. The rules
//! that turn events into a stage live in `workflow.rs`; these are only the data.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::Location;
use crate::codes::coded_enum;

coded_enum! {
    #[codes(field = "severity", name = "severity", list = true)]
    /// How pressing an incident is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
    pub enum Severity {
        /// Goes through the residents' committee first.
        Normal = "normal",
        /// Goes straight to the work station; the committee is notified.
        Urgent = "urgent",
    }
}

/// The fields of an incident, written once by the reporter in the document's first change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct IncidentFields {
    /// UUID v7.
    pub incident_id: String,
    /// Grid the incident belongs to.
    pub grid: String,
    /// Category code from the community's catalogue.
    pub category: String,
    /// Severity.
    pub severity: Severity,
    /// Short title.
    pub title: String,
    /// Description (may be empty).
    pub description: String,
    /// The household concerned, if any.
    pub household_code: Option<String>,
    /// Where it is, if known.
    pub location: Option<Location>,
    /// SHA-256 hashes of the photos taken when reporting.
    pub photos: Vec<String>,
    /// The check-in (outcome `problem`) the incident was started from, if any.
    pub check_in_id: Option<String>,
    /// User who reported it.
    pub reporter: String,
    /// Device that reported it.
    pub reporter_device: String,
    /// When it was reported (device time).
    pub at: DateTime<FixedOffset>,
}

/// One workflow event as stored in the incident document. Text fields are kept as written, even when they
/// do not parse: the workflow marks such an event superseded rather than dropping it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentEvent {
    /// UUID v7.
    pub event_id: String,
    /// Action code (`report`, `receive`, `dispatch` …).
    pub action: String,
    /// User (or, for the receipt, the server) that took the action.
    pub actor: String,
    /// Device that wrote the event (empty for the server).
    pub device: String,
    /// Role claimed: a `Role` code, or `server` for the receipt.
    pub role: String,
    /// Device time, RFC 3339.
    pub at: String,
    /// Free note.
    pub note: String,
    /// Who handles the incident (verify).
    pub assignee: Option<String>,
    /// The incident this one duplicates (reject).
    pub duplicate_of: Option<String>,
    /// The resident's evaluation (evaluate).
    pub satisfied: Option<bool>,
    /// Photos added with the event (SHA-256 hashes).
    pub photos: Vec<String>,
}

impl IncidentEvent {
    /// An event (fresh UUID v7) by `actor` on `device` claiming `role`, at `at` (RFC 3339), with no note,
    /// assignee, duplicate, evaluation or photos.
    pub fn new(action: &str, actor: &str, device: &str, role: &str, at: impl Into<String>) -> IncidentEvent {
        IncidentEvent {
            event_id: uuid::Uuid::now_v7().to_string(),
            action: action.into(),
            actor: actor.into(),
            device: device.into(),
            role: role.into(),
            at: at.into(),
            note: String::new(),
            assignee: None,
            duplicate_of: None,
            satisfied: None,
            photos: Vec::new(),
        }
    }
}

/// What a user enters to report an incident.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NewIncident {
    /// Household concerned (its grid becomes the incident's grid).
    pub household_code: Option<String>,
    /// Grid, when there is no household; default the device's only grid.
    pub grid: Option<String>,
    /// Category code; must be in the community's catalogue.
    pub category: String,
    /// Severity; `None` is normal.
    pub severity: Option<Severity>,
    /// Title (1–200 characters). Empty is allowed only when starting from a check-in.
    pub title: String,
    /// Description (≤ 4,000 characters).
    pub description: String,
    /// Photo hashes already added with `Store::add_photo`.
    pub photos: Vec<String>,
    /// Position fix.
    pub location: Option<Location>,
    /// When it happened; `None` is now.
    pub at: Option<DateTime<FixedOffset>>,
    /// Start from this check-in (outcome `problem`): its household, note and photos prefill the report.
    pub check_in_id: Option<String>,
}
