//! Service projects (项目化) and the residents' ratings of them (民事民评): the one place that decides a
//! project's status and which ratings stand. Pure: no I/O, no clock.
//!
//! Status: a project starts `planned` when it is created; status events move it `planned → active`,
//! `active → planned` (back to planning, e.g. paused) and `active → done` (final). Only the committee and the
//! station run a project. The status events are root-key entries of the project document, so replay walks them
//! in the order of their time, then their id — an order every replica agrees on whatever order the changes
//! arrived in — and applies each only if the table allows it from the status reached so far and by the role
//! it claims; an event that does not apply is kept and reported as superseded with a stable reason, never
//! dropped (like `workflow.rs`).
//!
//! Ratings: a household's rating (1–5) counts once the project is `done`. One rating per household stands:
//! the latest by time (a tie: the larger id); the earlier ones are kept and shown as replaced. A rating
//! recorded by a role that may not rate, with a score out of range or a time that does not parse is kept
//! and shown as invalid. The average is over the ratings that stand.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use crate::codes::coded_enum;
use crate::model::{ProjectRatingEntry, ProjectStatusEvent, Role};
use crate::workflow::SupersededReason;

coded_enum! {
    #[codes(field = "status", name = "project status", list = true)]
    /// Where a service project is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
    #[serde(rename_all = "snake_case")]
    #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
    pub enum ProjectStatus {
        /// Planned: created, not yet running.
        Planned = "planned",
        /// Running: the organisation is delivering it, the committee supervises.
        Active = "active",
        /// Done: residents may rate it. Final.
        Done = "done",
    }
}

coded_enum! {
    #[codes(field = "state", name = "rating state", list = true)]
    /// What became of one household's rating.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
    #[serde(rename_all = "snake_case")]
    #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
    pub enum RatingState {
        /// The household's rating that counts.
        Stands = "stands",
        /// Replaced by a later rating of the same household.
        Replaced = "replaced",
        /// The project is not done (a rating recorded offline before another device saw it done): kept, not
        /// counted until it is.
        ProjectNotDone = "project_not_done",
        /// A score out of 1–5, a role that may not rate or a time that does not parse: kept, never counted.
        Invalid = "invalid",
    }
}

/// The scores a rating may carry.
pub const RATING_RANGE: std::ops::RangeInclusive<u8> = 1..=5;

/// True for the roles that create and run projects: the committee and the station.
pub fn may_run(role: Role) -> bool {
    matches!(role, Role::Committee | Role::Station)
}

/// True for the roles that record residents' ratings: the field roles on a household's behalf, and the
/// committee and the station (a rating handed in at the office). Which households a field role may rate is
/// the scope's rule (`docs::scope::DeviceScope::may_rate_household`).
pub fn may_rate(role: Role) -> bool {
    matches!(
        role,
        Role::GridLeader | Role::GridWorker | Role::BuildingLead | Role::SocialWorker | Role::Committee | Role::Station
    )
}

/// Whether `role` may move a project from `from` to `to`.
pub fn check(to: ProjectStatus, role: Role, from: ProjectStatus) -> Result<(), SupersededReason> {
    use ProjectStatus::{Active, Done, Planned};
    if !may_run(role) {
        return Err(SupersededReason::RoleNotAllowed);
    }
    match (from, to) {
        (Planned, Active) | (Active, Planned) | (Active, Done) => Ok(()),
        _ => Err(SupersededReason::NotAllowedFromStage),
    }
}

/// The statuses `role` may move a project at `from` to now (for shells and the console).
pub fn allowed_next(from: ProjectStatus, role: Role) -> Vec<ProjectStatus> {
    ProjectStatus::ALL.into_iter().filter(|to| check(*to, role, from).is_ok()).collect()
}

/// What replay made of one status event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatusOutcome {
    /// Index of the event in the slice given to [`replay`].
    pub index: usize,
    /// True when it applied.
    pub applied: bool,
    /// Why not, when it did not.
    pub superseded_reason: Option<SupersededReason>,
    /// The status after it.
    pub status_after: ProjectStatus,
}

/// Everything derived from a project's status events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectDerivation {
    /// The current status.
    pub status: ProjectStatus,
    /// One outcome per event, in replay order (time, then id).
    pub outcomes: Vec<StatusOutcome>,
    /// When the current status was entered (`None`: planned since creation).
    pub status_since: Option<DateTime<FixedOffset>>,
    /// When the project was done.
    pub done_at: Option<DateTime<FixedOffset>>,
}

/// The order entries are replayed in: by time, then by id; a time that does not parse sorts last.
fn replay_order<T>(items: &[T], at: impl Fn(&T) -> &str, id: impl Fn(&T) -> &str) -> Vec<(usize, &T)> {
    let mut ordered: Vec<(usize, &T)> = items.iter().enumerate().collect();
    ordered.sort_by(|(_, a), (_, b)| {
        let key = |x: &T| DateTime::parse_from_rfc3339(at(x)).ok().map_or(i64::MAX, |t| t.timestamp_micros());
        key(a).cmp(&key(b)).then_with(|| id(a).cmp(id(b)))
    });
    ordered
}

/// Replays a project's status events (in any order: replay orders them itself).
pub fn replay(events: &[ProjectStatusEvent]) -> ProjectDerivation {
    let mut d =
        ProjectDerivation { status: ProjectStatus::Planned, outcomes: Vec::new(), status_since: None, done_at: None };
    for (index, e) in replay_order(events, |e| &e.at, |e| &e.event_id) {
        let outcome = match apply(&mut d, e) {
            Ok(()) => StatusOutcome { index, applied: true, superseded_reason: None, status_after: d.status },
            Err(reason) => {
                StatusOutcome { index, applied: false, superseded_reason: Some(reason), status_after: d.status }
            }
        };
        d.outcomes.push(outcome);
    }
    d
}

fn apply(d: &mut ProjectDerivation, e: &ProjectStatusEvent) -> Result<(), SupersededReason> {
    let to = e.status.parse::<ProjectStatus>().map_err(|_| SupersededReason::UnknownAction)?;
    let role = e.role.parse::<Role>().map_err(|_| SupersededReason::UnknownRole)?;
    let at = DateTime::parse_from_rfc3339(&e.at).map_err(|_| SupersededReason::InvalidTime)?;
    check(to, role, d.status)?;
    d.status = to;
    d.status_since = Some(at);
    if to == ProjectStatus::Done {
        d.done_at = Some(at);
    }
    Ok(())
}

/// What became of one rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RatingOutcome {
    /// Index of the rating in the slice given to [`ratings`].
    pub index: usize,
    /// Whether it stands, was replaced, waits for the project to be done, or is invalid.
    pub state: RatingState,
    /// The rating that replaced it (its id), when replaced.
    pub replaced_by: Option<String>,
}

/// The residents' ratings of a project, as they count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RatingsSummary {
    /// One outcome per rating, in replay order (time, then id).
    pub outcomes: Vec<RatingOutcome>,
    /// Households whose rating stands.
    pub count: u32,
    /// Average of the ratings that stand (two decimals); `None` when none stands.
    pub average: Option<f64>,
}

/// True when a rating is well formed: a score of 1–5, a role that may rate, a time that parses.
fn valid_rating(r: &ProjectRatingEntry) -> bool {
    let score_ok = u8::try_from(r.rating).is_ok_and(|s| RATING_RANGE.contains(&s));
    let role_ok = r.role.parse::<Role>().is_ok_and(may_rate);
    score_ok && role_ok && DateTime::parse_from_rfc3339(&r.at).is_ok() && !r.household.is_empty()
}

/// Which of `entries` stand once the project is at `status`: one per household, the latest.
pub fn ratings(entries: &[ProjectRatingEntry], status: ProjectStatus) -> RatingsSummary {
    let ordered = replay_order(entries, |r| &r.at, |r| &r.rating_id);
    // The last valid rating of each household in replay order stands.
    let mut latest: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
    for (index, r) in &ordered {
        if valid_rating(r) {
            latest.insert(r.household.as_str(), (*index, r.rating_id.as_str()));
        }
    }
    let mut standing = Vec::new();
    let outcomes = ordered
        .iter()
        .map(|(index, r)| {
            let (state, replaced_by) = if !valid_rating(r) {
                (RatingState::Invalid, None)
            } else if status != ProjectStatus::Done {
                (RatingState::ProjectNotDone, None)
            } else {
                match latest.get(r.household.as_str()) {
                    Some((i, _)) if i == index => {
                        standing.push(u32::try_from(r.rating).unwrap_or(0));
                        (RatingState::Stands, None)
                    }
                    Some((_, by)) => (RatingState::Replaced, Some(by.to_string())),
                    None => (RatingState::Invalid, None),
                }
            };
            RatingOutcome { index: *index, state, replaced_by }
        })
        .collect();
    let count = u32::try_from(standing.len()).unwrap_or(u32::MAX);
    RatingsSummary { outcomes, count, average: average(&standing) }
}

/// The average of `scores`, to two decimals; `None` for none.
pub fn average(scores: &[u32]) -> Option<f64> {
    if scores.is_empty() {
        return None;
    }
    let sum: u64 = scores.iter().map(|&n| u64::from(n)).sum();
    Some((sum as f64 / scores.len() as f64 * 100.0).round() / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProjectStatus::{Active, Done, Planned};

    fn ev(id: &str, status: &str, role: &str, at: &str) -> ProjectStatusEvent {
        ProjectStatusEvent {
            event_id: id.into(),
            status: status.into(),
            note: String::new(),
            actor: "li".into(),
            device: "d".into(),
            role: role.into(),
            at: at.into(),
        }
    }

    fn rating(id: &str, household: &str, score: i64, at: &str) -> ProjectRatingEntry {
        ProjectRatingEntry {
            rating_id: id.into(),
            household: household.into(),
            grid: "G01".into(),
            building: "1".into(),
            rating: score,
            note: String::new(),
            actor: "wang".into(),
            device: "d".into(),
            role: "grid_leader".into(),
            at: at.into(),
        }
    }

    const T1: &str = "2026-11-24T09:00:00+08:00";
    const T2: &str = "2026-11-25T09:00:00+08:00";
    const T3: &str = "2026-11-26T09:00:00+08:00";

    /// The table, cell by cell: every status × role × from, written out here rather than computed.
    #[test]
    fn the_status_table() {
        for role in Role::ALL {
            for from in ProjectStatus::ALL {
                for to in ProjectStatus::ALL {
                    let allowed = matches!(role, Role::Committee | Role::Station)
                        && matches!((from, to), (Planned, Active) | (Active, Planned) | (Active, Done));
                    assert_eq!(check(to, role, from).is_ok(), allowed, "{role} {from} → {to}");
                }
            }
        }
        assert_eq!(check(Active, Role::GridLeader, Planned), Err(SupersededReason::RoleNotAllowed));
        assert_eq!(check(Done, Role::Committee, Planned), Err(SupersededReason::NotAllowedFromStage));
        assert_eq!(allowed_next(Active, Role::Station), [Planned, Done]);
        assert!(allowed_next(Done, Role::Committee).is_empty());
        assert!(allowed_next(Planned, Role::SocialWorker).is_empty());
    }

    #[test]
    fn replay_orders_by_time_then_id_and_keeps_what_does_not_apply() {
        // Written out of order: done (T3) before active (T2) in the slice.
        let events = vec![
            ev("c", "done", "committee", T3),
            ev("b", "active", "station", T2),
            ev("a", "done", "committee", T1),
            ev("d", "active", "grid_leader", T2),
            ev("e", "finished", "committee", T2),
            ev("f", "active", "mayor", T2),
            ev("g", "active", "committee", "yesterday"),
        ];
        let d = replay(&events);
        assert_eq!(d.status, Done);
        let order: Vec<usize> = d.outcomes.iter().map(|o| o.index).collect();
        assert_eq!(order, [2, 1, 3, 4, 5, 0, 6]);
        let reasons: Vec<Option<SupersededReason>> = d.outcomes.iter().map(|o| o.superseded_reason).collect();
        use SupersededReason::*;
        assert_eq!(
            reasons,
            [
                Some(NotAllowedFromStage),
                None,
                Some(RoleNotAllowed),
                Some(UnknownAction),
                Some(UnknownRole),
                None,
                Some(InvalidTime)
            ]
        );
        assert_eq!(d.done_at, DateTime::parse_from_rfc3339(T3).ok());
        assert_eq!(d.status_since, d.done_at);
        let planned = replay(&[]);
        assert_eq!((planned.status, planned.status_since), (Planned, None));
    }

    #[test]
    fn the_latest_rating_of_a_household_stands_and_only_once_done() {
        let entries = vec![
            rating("r2", "H1", 2, T2),
            rating("r1", "H1", 5, T1),
            rating("r3", "H2", 4, T1),
            rating("r4", "H3", 3, T2),
            rating("r5", "H3", 5, T2), // same time: the larger id stands
            rating("r6", "H4", 9, T3),
            ProjectRatingEntry { role: "volunteer".into(), ..rating("r7", "H5", 5, T3) },
        ];
        let s = ratings(&entries, Done);
        let state = |id: &str| {
            s.outcomes.iter().find(|o| entries[o.index].rating_id == id).map(|o| (o.state, o.replaced_by.clone()))
        };
        assert_eq!(state("r1"), Some((RatingState::Replaced, Some("r2".into()))));
        assert_eq!(state("r2"), Some((RatingState::Stands, None)));
        assert_eq!(state("r4"), Some((RatingState::Replaced, Some("r5".into()))));
        assert_eq!(state("r6"), Some((RatingState::Invalid, None)));
        assert_eq!(state("r7"), Some((RatingState::Invalid, None)));
        assert_eq!(s.count, 3);
        assert_eq!(s.average, Some(3.67), "(2 + 4 + 5) / 3");
        let before = ratings(&entries, Active);
        assert_eq!((before.count, before.average), (0, None));
        assert!(before.outcomes.iter().all(|o| matches!(o.state, RatingState::ProjectNotDone | RatingState::Invalid)));
    }
}
