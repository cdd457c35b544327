//! Service orders (服务订单): what a grid leader, grid worker, social worker or the committee orders for a
//! household (点单), and the workflow events appended to it. The rules that turn events into a stage live in
//! `service_workflow.rs`; these are only the data.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

/// The fields of a service order, written once by the requester in the document's first change. The
/// resident's name, address and phone are copied from the roster when requesting: a volunteer's device never
/// receives the roster, only the orders dispatched to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ServiceOrderFields {
    /// UUID v7.
    pub order_id: String,
    /// Grid of the household (the document's grid).
    pub grid: String,
    /// The household served.
    pub household_code: String,
    /// The resident served, when the household has one on the roster.
    pub resident: Option<String>,
    /// Where: `building-unit-room`.
    pub address: String,
    /// The resident's phone, if the roster has one.
    pub phone: Option<String>,
    /// Service code from the community's catalogue.
    pub service: String,
    /// What is needed, in the requester's words (may be empty).
    pub note: String,
    /// The day the service is due by, as requested.
    pub due: Option<NaiveDate>,
    /// The visit the need was found on, if the request started from one.
    pub from_visit: Option<String>,
    /// User who requested it.
    pub requester: String,
    /// Device that requested it.
    pub requester_device: String,
    /// When it was requested (device time).
    pub at: DateTime<FixedOffset>,
}

/// One workflow event as stored in the order document. Text fields are kept as written, even when they do not
/// parse: the workflow marks such an event superseded rather than dropping it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderEvent {
    /// UUID v7.
    pub event_id: String,
    /// Action code (`request`, `dispatch`, `accept` …).
    pub action: String,
    /// User that took the action.
    pub actor: String,
    /// Device that wrote the event.
    pub device: String,
    /// Role claimed (a `Role` code).
    pub role: String,
    /// Device time, RFC 3339.
    pub at: String,
    /// Free note.
    pub note: String,
    /// The volunteer it is dispatched to (dispatch).
    pub volunteer: Option<String>,
    /// Due day, `YYYY-MM-DD` (request, dispatch).
    pub due: Option<String>,
    /// The resident's rating, 1–5 (evaluate).
    pub rating: Option<u8>,
    /// Photos added with the event (SHA-256 hashes): the volunteer's proof of the work done.
    pub photos: Vec<String>,
}

impl OrderEvent {
    /// An event (fresh UUID v7) by `actor` on `device` claiming `role`, at `at` (RFC 3339), with no note,
    /// volunteer, due day, rating or photos.
    pub fn new(action: &str, actor: &str, device: &str, role: &str, at: impl Into<String>) -> OrderEvent {
        OrderEvent {
            event_id: uuid::Uuid::now_v7().to_string(),
            action: action.into(),
            actor: actor.into(),
            device: device.into(),
            role: role.into(),
            at: at.into(),
            note: String::new(),
            volunteer: None,
            due: None,
            rating: None,
            photos: Vec::new(),
        }
    }
}

/// What a user enters to order a service for a household (`service request`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NewServiceOrder {
    /// The household served; may be left empty when `from_visit` names the visit (its household is used).
    pub household_code: String,
    /// The resident served; `None`: the household's first current resident.
    pub resident: Option<String>,
    /// Service code; must be in the community's service catalogue.
    pub service: String,
    /// What is needed (≤ 2,000 characters).
    pub note: String,
    /// Due day; `None`: today plus the community's `order_due_days`.
    pub due: Option<NaiveDate>,
    /// The visit the need was found on (a visit held in this store).
    pub from_visit: Option<String>,
}
