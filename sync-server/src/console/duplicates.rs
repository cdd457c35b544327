//! Duplicates on the incident page: the open incidents of the same household and category reported within
//! the core's window (`Store::duplicate_candidates`), each with a one-click 驳回为重复 when the viewer may
//! reject now (through the incident's own action route); the incident a rejected one duplicates, linked;
//! and the incidents rejected as duplicates of this one (`Store::duplicates_of`).

use gridline_core::store::{IncidentDetail, IncidentListItem, Store};
use gridline_core::workflow::Action;

use super::i18n::{Tr, Words};
use super::page::local_time;
use crate::error::Result;

/// The words of the duplicates section.
pub const WORDS: Words = &[
    ("duplicates.title", "可能重复的事件", "Possible duplicates"),
    (
        "duplicates.hint",
        "同一户、同一类别、前后 7 天内上报且未办结的其他事件。",
        "Other open incidents of the same household and category reported within 7 days before or after.",
    ),
    ("duplicates.reject", "驳回为重复", "Reject as duplicate"),
    ("duplicates.of", "本事件已作为重复驳回，原事件：", "Rejected as a duplicate of:"),
    ("duplicates.pointing", "作为本事件的重复被驳回的事件", "Incidents rejected as duplicates of this one"),
];

/// Another incident, as linked from this one.
pub struct Link {
    pub incident_id: String,
    pub title: String,
    pub stage: String,
    pub stage_code: &'static str,
    pub reported: String,
}

/// What the incident page shows about duplicates.
#[derive(Default)]
pub struct Related {
    /// The incident this one was rejected as a duplicate of.
    pub original: Option<Link>,
    /// Incidents rejected as duplicates of this one.
    pub duplicates: Vec<Link>,
    /// Open incidents that may be the same matter.
    pub candidates: Vec<Link>,
    /// Whether the viewer may reject this incident now (the core's allowed actions for the viewer).
    pub may_reject: bool,
}

fn link(item: IncidentListItem, tr: Tr, tz: &chrono_tz::Tz) -> Link {
    Link {
        stage: tr.stage(&item.stage).to_string(),
        stage_code: item.stage.code(),
        reported: local_time(&item.reported_at, tz),
        incident_id: item.incident_id,
        title: item.title,
    }
}

/// Reads the incident's related incidents from the replica (under its lock: the caller's).
pub fn related(store: &Store, d: &IncidentDetail, tr: Tr, tz: &chrono_tz::Tz) -> Result<Related> {
    let original = d.duplicate_of.as_ref().map(|id| match store.incident_detail(id) {
        Ok(o) => Link {
            stage: tr.stage(&o.stage).to_string(),
            stage_code: o.stage.code(),
            reported: local_time(&o.reported_at, tz),
            incident_id: o.incident_id,
            title: o.title,
        },
        // The rejection named an incident this community does not hold: show its id, linked all the same.
        Err(_) => Link {
            incident_id: id.clone(),
            title: id.clone(),
            stage: String::new(),
            stage_code: "",
            reported: String::new(),
        },
    });
    let duplicates = store.duplicates_of(&d.incident_id)?.into_iter().map(|i| link(i, tr, tz)).collect();
    let candidates = store.duplicate_candidates(&d.incident_id)?.into_iter().map(|i| link(i, tr, tz)).collect();
    Ok(Related { original, duplicates, candidates, may_reject: d.allowed_actions.contains(&Action::Reject) })
}
