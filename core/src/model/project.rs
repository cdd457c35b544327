//! Service projects (项目化) and the residents' ratings of them (民事民评): what the committee or the station
//! writes when it creates a project, the status events that run it, and the rating a grid leader records on
//! behalf of a household once the project is done. The rules that turn events into a status and ratings into
//! an average live in `project.rs`; these are only the data.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

/// The fields of a project, written once by its creator in the document's first change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ProjectFields {
    /// UUID v7.
    pub project_id: String,
    /// What the project is (≤ 200 characters).
    pub title: String,
    /// Its category, a short code or word the community uses (elderly care, environment …).
    pub category: String,
    /// The social organisation that runs it.
    pub organisation: String,
    /// Budget in whole yuan, if one was set.
    pub budget_yuan: Option<u64>,
    /// The needs it answers: need codes of the needs list (visit-service or service-catalogue codes).
    pub needs: Vec<String>,
    /// First day of the project's period.
    pub from: Option<NaiveDate>,
    /// Last day of the project's period.
    pub to: Option<NaiveDate>,
    /// User who created it.
    pub created_by: String,
    /// Device that created it.
    pub device: String,
    /// Role of the creator.
    pub role: String,
    /// When it was created (device time).
    pub at: DateTime<FixedOffset>,
}

/// One status event as stored in the project document. Text fields are kept as written, even when they do not
/// parse: replay marks such an event superseded rather than dropping it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ProjectStatusEvent {
    /// UUID v7 (also the entry's root key).
    pub event_id: String,
    /// Status code it moves the project to (`planned`, `active`, `done`).
    pub status: String,
    /// Free note.
    pub note: String,
    /// User that wrote it.
    pub actor: String,
    /// Device that wrote it.
    pub device: String,
    /// Role claimed (a `Role` code).
    pub role: String,
    /// Device time, RFC 3339.
    pub at: String,
}

/// One resident's rating of a project (民事民评) as stored in the project document: a household's score 1–5,
/// recorded by a grid leader, grid worker or social worker on the household's behalf (or by the committee).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ProjectRatingEntry {
    /// UUID v7.
    pub rating_id: String,
    /// The household rating (also part of the entry's root key).
    pub household: String,
    /// The household's grid.
    pub grid: String,
    /// The household's building.
    pub building: String,
    /// The score, 1–5 (as written; replay ignores one out of range).
    pub rating: i64,
    /// The resident's words.
    pub note: String,
    /// User that recorded it.
    pub actor: String,
    /// Device that recorded it.
    pub device: String,
    /// Role claimed.
    pub role: String,
    /// Device time, RFC 3339.
    pub at: String,
}

/// What a user enters to create a project (`project create`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NewProject {
    /// Title (1–200 characters).
    pub title: String,
    /// Category (1–64 characters).
    pub category: String,
    /// The organisation running it (1–200 characters).
    pub organisation: String,
    /// Budget in whole yuan.
    pub budget_yuan: Option<u64>,
    /// Need codes it answers (each in the community's visit services or service catalogue).
    pub needs: Vec<String>,
    /// First day of its period.
    pub from: Option<NaiveDate>,
    /// Last day of its period (not before `from`).
    pub to: Option<NaiveDate>,
}

/// What a user enters to record a household's rating of a project (`project evaluate`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NewProjectRating {
    /// The household rating.
    pub household_code: String,
    /// The score, 1–5.
    pub rating: u8,
    /// The resident's words (≤ 2,000 characters).
    pub note: String,
}
