//! The two-way evaluation (双评议) as plain data: a household's yearly survey of the community (居民满意度测评)
//! and the community's yearly rating of a department (部门评议), and the summaries `crate::evaluation` makes
//! of them.

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

/// One household's answers to the yearly residents' survey, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Survey {
    /// Survey id (UUID v7).
    pub survey_id: String,
    /// The year surveyed (the year of the survey document).
    pub year: u32,
    /// The household surveyed.
    pub household_code: String,
    /// Its grid.
    pub grid: String,
    /// Its building.
    pub building: String,
    /// One answer per configured survey item, in the configuration's order, each 1–5.
    pub answers: Vec<u8>,
    /// The codes of the items answered, in the answers' order: the configuration of the day it was recorded,
    /// so a later change of the items never shifts an answer onto another item (empty for a survey recorded
    /// before codes were kept: its answers follow the configuration's order).
    pub items: Vec<String>,
    /// The visit it was recorded on, if any.
    pub visit_id: Option<String>,
    /// Who recorded it.
    pub actor: String,
    /// On which device.
    pub device: String,
    /// In which role (code).
    pub role: String,
    /// When (device time).
    pub at: DateTime<FixedOffset>,
}

/// What a field worker enters to record a survey.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NewSurvey {
    /// The household surveyed.
    pub household_code: String,
    /// One answer per configured survey item, each 1–5.
    pub answers: Vec<u8>,
    /// The visit it is recorded on, if any (a visit id of this household).
    pub visit_id: Option<String>,
}

/// The community's rating of one department for one year, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DepartmentRating {
    /// Rating id (UUID v7).
    pub rating_id: String,
    /// The year rated (the year of the ratings document).
    pub year: u32,
    /// The department's name.
    pub department: String,
    /// One score per configured aspect, in the configuration's order, each 1–5.
    pub scores: Vec<u8>,
    /// The codes of the aspects scored, in the scores' order (as [`Survey::items`]).
    pub aspects: Vec<String>,
    /// Who recorded it.
    pub actor: String,
    /// On which device.
    pub device: String,
    /// In which role (code).
    pub role: String,
    /// When (device time).
    pub at: DateTime<FixedOffset>,
}

/// The average of one survey item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ItemAverage {
    /// Item code.
    pub item: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Households that answered it.
    pub answers: u32,
    /// Their average, two decimals (`None`: no answer).
    pub average: Option<f64>,
}

/// The survey figures of one grid, or of every grid in scope.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SurveySummary {
    /// The grid; `None` for the whole scope.
    pub grid: Option<String>,
    /// Households whose survey stands (one per household).
    pub households_surveyed: u32,
    /// Later surveys of a household already surveyed that year, kept and left out of the figures.
    pub duplicates: u32,
    /// Average of every answer counted, two decimals (`None`: no survey).
    pub average: Option<f64>,
    /// Per item, in the configuration's order.
    pub items: Vec<ItemAverage>,
}

/// A year's survey results (`survey report`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SurveyReport {
    /// The year.
    pub year: u32,
    /// The figures over the grids asked about.
    pub total: SurveySummary,
    /// The same per grid, in natural grid order (grids with a survey only).
    pub grids: Vec<SurveySummary>,
}

/// One aspect's score in a department's rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AspectScore {
    /// Aspect code.
    pub aspect: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// The score, 1–5 (`None`: the rating has no score for it, the configuration having grown since).
    pub score: Option<u8>,
}

/// A department's standing rating for a year.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DepartmentResult {
    /// The department's name.
    pub department: String,
    /// The rating that stands (the latest).
    pub rating_id: String,
    /// Average of its scores, two decimals.
    pub average: Option<f64>,
    /// Per aspect, in the configuration's order.
    pub aspects: Vec<AspectScore>,
    /// Who recorded the standing rating.
    pub actor: String,
    /// When.
    pub at: DateTime<FixedOffset>,
    /// Earlier ratings of the department that year, replaced by it and kept.
    pub replaced: u32,
}

/// A year's department ratings (`department report`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DepartmentReport {
    /// The year.
    pub year: u32,
    /// One per department rated, by name.
    pub departments: Vec<DepartmentResult>,
}
