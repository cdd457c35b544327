//! The service-order workflow (PRODUCT.md §4b): stages, actions, who may take which action from which stage,
//! and the replay that derives an order's stage, volunteer and due day from its merged event list. The one
//! place that decides an order's stage. Pure: no I/O, the day is passed in.
//!
//! Replay works like the incident workflow's (`workflow.rs`): it walks the events in document order and
//! applies each one only if the table allows it from the stage reached so far, by the role the event claims
//! and — for the volunteer's own steps and a field role's cancel — by the right person; an event that does
//! not apply is kept and reported as superseded with a stable reason code. Every replica holding the same
//! event list therefore derives the same stage and the same volunteer, whatever order the changes arrived in.
//!
//! §4b also names the building lead among those who request; this build has no building-lead role
//! (`model::Role`), so the request row lists the four roles there are.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::Serialize;

use crate::codes::coded_enum;
use crate::model::{OrderEvent, Role, DAY_FORMAT};
use crate::workflow::SupersededReason;

coded_enum! {
    #[codes(field = "stage", name = "order stage", list = true)]
    /// Where a service order is in the workflow.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
    #[serde(rename_all = "snake_case")]
    #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
    pub enum OrderStage {
        /// 点单: requested, waiting for the community to dispatch it (again, after a decline).
        Requested = "requested",
        /// 派单: dispatched to one volunteer, waiting for them to accept.
        Dispatched = "dispatched",
        /// 接单: the volunteer took it.
        Accepted = "accepted",
        /// Done by the volunteer (with note and photos), waiting for the resident's rating.
        Done = "done",
        /// 评单: rated by the resident. Final.
        Evaluated = "evaluated",
        /// Cancelled. Final.
        Cancelled = "cancelled",
    }
}

impl OrderStage {
    /// True for stages no action leaves.
    pub fn is_final(&self) -> bool {
        matches!(self, OrderStage::Evaluated | OrderStage::Cancelled)
    }

    /// True for stages in which the order still waits for its service (a due day can pass).
    pub fn is_open(&self) -> bool {
        matches!(self, OrderStage::Requested | OrderStage::Dispatched | OrderStage::Accepted)
    }
}

coded_enum! {
    #[codes(field = "action", name = "order action", list = true)]
    /// Something a user does to a service order.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
    #[serde(rename_all = "snake_case")]
    #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
    pub enum OrderAction {
        /// Order a service for a household (点单; creates the order).
        Request = "request",
        /// Dispatch it to a volunteer, with an optional due day (派单).
        Dispatch = "dispatch",
        /// The volunteer takes it (接单).
        Accept = "accept",
        /// The volunteer declines it: back to `requested` for another dispatch.
        Decline = "decline",
        /// The volunteer marks it done, with note and photos.
        Done = "done",
        /// Record the resident's rating, 1–5 (评单).
        Evaluate = "evaluate",
        /// Cancel it.
        Cancel = "cancel",
        /// A comment (with optional photos); never changes the stage.
        Comment = "comment",
    }
}

/// Beyond the role, who a rule asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// Anyone holding one of the roles.
    Role,
    /// The volunteer the order is dispatched to (otherwise `not_volunteer`).
    TheVolunteer,
    /// The user who requested the order (otherwise `not_requester`).
    TheRequester,
}

/// One row of the transition table: `roles` (and `who` among them) may take `action` from any of `from` (an
/// empty `from` means "before the order exists", i.e. the request).
struct Rule {
    action: OrderAction,
    roles: &'static [Role],
    who: Who,
    from: &'static [OrderStage],
}

use OrderStage::{Accepted, Dispatched, Done, Requested};
use Role::{BuildingLead, Committee, GridLeader, GridWorker, SocialWorker, Station, Volunteer};

/// The roles out on the rounds (a building lead, for its buildings' households).
const FIELD: &[Role] = &[GridLeader, GridWorker, SocialWorker, BuildingLead];
const OPEN: &[OrderStage] = &[Requested, Dispatched, Accepted];

/// The transition table of PRODUCT.md §4b. `comment` is not here: anyone may comment at any stage of an
/// order that exists, and it never changes the stage.
#[rustfmt::skip]
const RULES: &[Rule] = &[
    Rule { action: OrderAction::Request, roles: &[GridLeader, GridWorker, SocialWorker, BuildingLead, Committee], who: Who::Role, from: &[] },
    Rule { action: OrderAction::Dispatch, roles: &[Committee, Station], who: Who::Role, from: &[Requested] },
    Rule { action: OrderAction::Accept, roles: &[Volunteer], who: Who::TheVolunteer, from: &[Dispatched] },
    Rule { action: OrderAction::Decline, roles: &[Volunteer], who: Who::TheVolunteer, from: &[Dispatched] },
    Rule { action: OrderAction::Done, roles: &[Volunteer], who: Who::TheVolunteer, from: &[Accepted] },
    Rule { action: OrderAction::Evaluate, roles: FIELD, who: Who::Role, from: &[Done] },
    Rule { action: OrderAction::Cancel, roles: FIELD, who: Who::TheRequester, from: OPEN },
    Rule { action: OrderAction::Cancel, roles: &[Committee, Station], who: Who::Role, from: OPEN },
];

/// Whether `role` (acting as `actor`) may take `action` when the order is at `stage` (`None`: not yet
/// requested), was requested by `requester` and is dispatched to `volunteer`. The payload is not checked here.
pub fn check(
    action: OrderAction,
    role: Role,
    actor: &str,
    stage: Option<OrderStage>,
    requester: Option<&str>,
    volunteer: Option<&str>,
) -> Result<(), SupersededReason> {
    if action == OrderAction::Comment {
        return if stage.is_some() { Ok(()) } else { Err(SupersededReason::NotAllowedFromStage) };
    }
    let mut reason = SupersededReason::RoleNotAllowed;
    for rule in RULES.iter().filter(|r| r.action == action && r.roles.contains(&role)) {
        let stage_ok = match stage {
            None => rule.from.is_empty(),
            Some(s) => rule.from.contains(&s),
        };
        if !stage_ok {
            reason = SupersededReason::NotAllowedFromStage;
            continue;
        }
        return match rule.who {
            Who::Role => Ok(()),
            Who::TheVolunteer if volunteer == Some(actor) => Ok(()),
            Who::TheVolunteer => Err(SupersededReason::NotVolunteer),
            Who::TheRequester if requester == Some(actor) => Ok(()),
            Who::TheRequester => Err(SupersededReason::NotRequester),
        };
    }
    Err(reason)
}

/// The stage an allowed action leads to.
fn target(action: OrderAction, from: Option<OrderStage>) -> Option<OrderStage> {
    Some(match action {
        OrderAction::Request | OrderAction::Decline => Requested,
        OrderAction::Dispatch => Dispatched,
        OrderAction::Accept => Accepted,
        OrderAction::Done => Done,
        OrderAction::Evaluate => OrderStage::Evaluated,
        OrderAction::Cancel => OrderStage::Cancelled,
        OrderAction::Comment => return from,
    })
}

/// What replay made of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OrderEventOutcome {
    /// True when the event applied.
    pub applied: bool,
    /// Why it did not, when it did not.
    pub superseded_reason: Option<SupersededReason>,
    /// The stage after this event (unchanged when superseded or a comment).
    pub stage_after: Option<OrderStage>,
}

/// Everything derived from a service order's event list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderDerivation {
    /// The current stage; `None` when no valid request opens the list.
    pub stage: Option<OrderStage>,
    /// One outcome per event, in document order.
    pub outcomes: Vec<OrderEventOutcome>,
    /// When the current stage was entered (device time of the event that entered it).
    pub stage_since: Option<DateTime<FixedOffset>>,
    /// Who requested it (the actor of the applied request).
    pub requester: Option<String>,
    /// The requester's role.
    pub requester_role: Option<Role>,
    /// When it was requested.
    pub requested_at: Option<DateTime<FixedOffset>>,
    /// The volunteer it is dispatched to now: set by an applied dispatch, cleared by an applied decline, kept
    /// after done, evaluate and cancel (so the volunteer still learns the order's end).
    pub volunteer: Option<String>,
    /// The day it is due: the request's, replaced by each applied dispatch that names one.
    pub due: Option<NaiveDate>,
    /// The resident's rating (the applied evaluation's).
    pub rating: Option<u8>,
    /// When the volunteer marked it done.
    pub done_at: Option<DateTime<FixedOffset>>,
    /// When the rating was recorded.
    pub evaluated_at: Option<DateTime<FixedOffset>>,
    /// The volunteers who declined it, in order (one entry per applied decline).
    pub declined_by: Vec<String>,
}

impl OrderDerivation {
    /// The events that did not apply, by index.
    pub fn superseded(&self) -> Vec<usize> {
        self.outcomes.iter().enumerate().filter(|(_, o)| !o.applied).map(|(n, _)| n).collect()
    }
}

/// The ratings an evaluation may carry.
pub const RATING_RANGE: std::ops::RangeInclusive<u8> = 1..=5;

/// Replays `events` (document order).
pub fn replay(events: &[OrderEvent]) -> OrderDerivation {
    let mut d = OrderDerivation {
        stage: None,
        outcomes: Vec::with_capacity(events.len()),
        stage_since: None,
        requester: None,
        requester_role: None,
        requested_at: None,
        volunteer: None,
        due: None,
        rating: None,
        done_at: None,
        evaluated_at: None,
        declined_by: Vec::new(),
    };
    for e in events {
        let outcome = match apply(&mut d, e) {
            Ok(()) => OrderEventOutcome { applied: true, superseded_reason: None, stage_after: d.stage },
            Err(reason) => OrderEventOutcome { applied: false, superseded_reason: Some(reason), stage_after: d.stage },
        };
        d.outcomes.push(outcome);
    }
    d
}

/// The due day an event names: absent, or a day that parses (a day that does not is `invalid_time`).
fn due_of(e: &OrderEvent) -> Result<Option<NaiveDate>, SupersededReason> {
    e.due
        .as_deref()
        .map(|t| NaiveDate::parse_from_str(t, DAY_FORMAT).map_err(|_| SupersededReason::InvalidTime))
        .transpose()
}

fn apply(d: &mut OrderDerivation, e: &OrderEvent) -> Result<(), SupersededReason> {
    let action = e.action.parse::<OrderAction>().map_err(|_| SupersededReason::UnknownAction)?;
    let role = e.role.parse::<Role>().map_err(|_| SupersededReason::UnknownRole)?;
    let at = DateTime::parse_from_rfc3339(&e.at).map_err(|_| SupersededReason::InvalidTime)?;
    check(action, role, &e.actor, d.stage, d.requester.as_deref(), d.volunteer.as_deref())?;
    let due = due_of(e)?;
    match action {
        OrderAction::Dispatch if e.volunteer.as_deref().is_none_or(|v| v.trim().is_empty()) => {
            return Err(SupersededReason::PayloadMissing)
        }
        OrderAction::Evaluate if !e.rating.is_some_and(|r| RATING_RANGE.contains(&r)) => {
            return Err(SupersededReason::PayloadMissing)
        }
        _ => {}
    }
    let from = d.stage;
    let to = target(action, from);
    match action {
        OrderAction::Request => {
            d.requester = Some(e.actor.clone());
            d.requester_role = Some(role);
            d.requested_at = Some(at);
            d.due = due;
        }
        OrderAction::Dispatch => {
            d.volunteer = e.volunteer.clone();
            if due.is_some() {
                d.due = due;
            }
        }
        OrderAction::Decline => {
            d.declined_by.push(e.actor.clone());
            d.volunteer = None;
        }
        OrderAction::Done => d.done_at = Some(at),
        OrderAction::Evaluate => {
            d.rating = e.rating;
            d.evaluated_at = Some(at);
        }
        OrderAction::Accept | OrderAction::Cancel | OrderAction::Comment => {}
    }
    if to != from {
        d.stage = to;
        d.stage_since = Some(at);
    }
    Ok(())
}

/// The actions `role` (acting as `user`) may take now, from what the materialised tables keep: the stage,
/// the requester and the current volunteer. For shells and for refusing an action locally; `request` is never
/// offered (it creates an order).
pub fn allowed_at(
    stage: Option<OrderStage>,
    requester: Option<&str>,
    volunteer: Option<&str>,
    role: Role,
    user: &str,
) -> Vec<OrderAction> {
    OrderAction::ALL
        .into_iter()
        .filter(|a| *a != OrderAction::Request)
        .filter(|a| check(*a, role, user, stage, requester, volunteer).is_ok())
        .collect()
}

/// Days the order is past its due day on `today` (0 when it is not): only while it still waits for its
/// service (requested, dispatched, accepted).
pub fn overdue_days(d: &OrderDerivation, today: NaiveDate) -> u32 {
    d.stage.map_or(0, |stage| overdue_days_at(stage, d.due, today))
}

/// [`overdue_days`] from what the materialised tables keep: the stage and the due day.
pub fn overdue_days_at(stage: OrderStage, due: Option<NaiveDate>, today: NaiveDate) -> u32 {
    match due {
        Some(due) if stage.is_open() && today > due => u32::try_from((today - due).num_days()).unwrap_or(u32::MAX),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::SupersededReason::{
        NotAllowedFromStage, NotRequester, NotVolunteer, PayloadMissing, RoleNotAllowed,
    };

    const T0: &str = "2026-11-24T09:00:00+08:00";

    fn ev(action: &str, actor: &str, role: &str) -> OrderEvent {
        OrderEvent { event_id: format!("{action}-{actor}"), ..OrderEvent::new(action, actor, "", role, T0) }
    }

    fn request() -> OrderEvent {
        OrderEvent { due: Some("2026-11-27".into()), ..ev("request", "wang", "grid_leader") }
    }

    fn dispatch(volunteer: &str) -> OrderEvent {
        OrderEvent { volunteer: Some(volunteer.into()), ..ev("dispatch", "li", "committee") }
    }

    fn evaluate(rating: Option<u8>) -> OrderEvent {
        OrderEvent { rating, ..ev("evaluate", "wang", "grid_leader") }
    }

    /// Events that bring an order requested by `wang` to `stage` (dispatched to volunteer `a`).
    fn path_to(stage: OrderStage) -> Vec<OrderEvent> {
        let mut p = vec![request()];
        let steps: &[OrderEvent] = match stage {
            Requested => &[],
            Dispatched => &[dispatch("a")],
            Accepted => &[dispatch("a"), ev("accept", "a", "volunteer")],
            Done => &[dispatch("a"), ev("accept", "a", "volunteer"), ev("done", "a", "volunteer")],
            OrderStage::Evaluated => {
                &[dispatch("a"), ev("accept", "a", "volunteer"), ev("done", "a", "volunteer"), evaluate(Some(5))]
            }
            OrderStage::Cancelled => &[ev("cancel", "wang", "grid_leader")],
        };
        p.extend_from_slice(steps);
        let d = replay(&p);
        assert_eq!(d.stage, Some(stage), "path to {stage:?}");
        assert!(d.outcomes.iter().all(|o| o.applied), "path to {stage:?}");
        p
    }

    fn act(stage: OrderStage, e: OrderEvent) -> (Option<OrderStage>, OrderEventOutcome, OrderDerivation) {
        let mut events = path_to(stage);
        events.push(e);
        let d = replay(&events);
        (d.stage, *d.outcomes.last().expect("one outcome per event"), d)
    }

    /// The actor who would take `action` as `role` in the table test: the volunteer `a` for a volunteer, the
    /// requester `wang` for a field role, someone else otherwise.
    fn actor_for(role: Role) -> &'static str {
        match role {
            Volunteer => "a",
            GridLeader => "wang",
            _ => "li",
        }
    }

    /// The table of §4b, cell by cell: every action × role × stage, by the right person (the dispatched
    /// volunteer, the requester), with the payload the action needs. Expected outcomes are written out here,
    /// not computed from `RULES`.
    #[test]
    fn the_table_of_section_4b() {
        let expected = |action: OrderAction, role: Role, from: OrderStage| -> Option<OrderStage> {
            use OrderAction as A;
            let field = matches!(role, GridLeader | GridWorker | SocialWorker | BuildingLead);
            match (action, role, from) {
                (A::Dispatch, Committee | Station, Requested) => Some(Dispatched),
                (A::Accept, Volunteer, Dispatched) => Some(Accepted),
                (A::Decline, Volunteer, Dispatched) => Some(Requested),
                (A::Done, Volunteer, Accepted) => Some(Done),
                (A::Evaluate, _, Done) if field => Some(OrderStage::Evaluated),
                (A::Cancel, GridLeader | Committee | Station, Requested | Dispatched | Accepted) => {
                    Some(OrderStage::Cancelled)
                }
                (A::Comment, _, s) => Some(s),
                _ => None,
            }
        };
        for action in OrderAction::ALL.into_iter().filter(|a| *a != OrderAction::Request) {
            for role in Role::ALL {
                for from in OrderStage::ALL {
                    let mut e = ev(action.code(), actor_for(role), role.code());
                    e.volunteer = (action == OrderAction::Dispatch).then(|| "b".to_string());
                    e.rating = (action == OrderAction::Evaluate).then_some(4);
                    let (stage, o, _) = act(from, e);
                    match expected(action, role, from) {
                        Some(to) => {
                            assert!(o.applied, "{action} by {role} from {from:?}: {:?}", o.superseded_reason);
                            assert_eq!(stage, Some(to), "{action} by {role} from {from:?}");
                        }
                        None => {
                            assert!(!o.applied, "{action} by {role} from {from:?} applied");
                            assert_eq!(stage, Some(from), "{action} by {role} from {from:?} changes nothing");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn request_by_field_roles_and_the_committee_only() {
        for role in ["grid_leader", "grid_worker", "social_worker", "committee"] {
            let d = replay(&[ev("request", "x", role)]);
            assert_eq!(d.stage, Some(Requested), "{role}");
            assert_eq!(d.requester.as_deref(), Some("x"));
        }
        for role in ["station", "street", "admin", "volunteer"] {
            let d = replay(&[ev("request", "x", role)]);
            assert_eq!((d.stage, d.outcomes[0].superseded_reason), (None, Some(RoleNotAllowed)), "{role}");
        }
        let (stage, o, _) = act(Requested, ev("request", "zhou", "grid_worker"));
        assert_eq!((stage, o.superseded_reason), (Some(Requested), Some(NotAllowedFromStage)));
        let d = replay(&[ev("comment", "li", "committee")]);
        assert_eq!(d.outcomes[0].superseded_reason, Some(NotAllowedFromStage), "no comment before the request");
    }

    #[test]
    fn only_the_dispatched_volunteer_accepts_declines_and_finishes() {
        for action in ["accept", "decline"] {
            let (stage, o, _) = act(Dispatched, ev(action, "b", "volunteer"));
            assert_eq!((stage, o.superseded_reason), (Some(Dispatched), Some(NotVolunteer)), "{action}");
            let (_, o, _) = act(Dispatched, ev(action, "a", "committee"));
            assert_eq!(o.superseded_reason, Some(RoleNotAllowed), "{action} by the committee");
        }
        let (stage, o, _) = act(Accepted, ev("done", "b", "volunteer"));
        assert_eq!((stage, o.superseded_reason), (Some(Accepted), Some(NotVolunteer)));
        // After a decline nobody is dispatched: the one who declined may not accept it any more.
        let mut events = path_to(Dispatched);
        events.extend([ev("decline", "a", "volunteer"), ev("accept", "a", "volunteer")]);
        let d = replay(&events);
        assert_eq!(d.stage, Some(Requested));
        assert_eq!(d.volunteer, None);
        assert_eq!(d.declined_by, ["a"]);
        assert_eq!(d.outcomes[3].superseded_reason, Some(NotAllowedFromStage));
    }

    #[test]
    fn a_field_role_cancels_only_its_own_request() {
        for from in [Requested, Dispatched, Accepted] {
            let (stage, o, _) = act(from, ev("cancel", "zhou", "grid_worker"));
            assert_eq!((stage, o.superseded_reason), (Some(from), Some(NotRequester)), "{from:?}");
            let (stage, _, _) = act(from, ev("cancel", "zhao", "station"));
            assert_eq!(stage, Some(OrderStage::Cancelled));
        }
        let (_, o, _) = act(Done, ev("cancel", "wang", "grid_leader"));
        assert_eq!(o.superseded_reason, Some(NotAllowedFromStage));
        let (_, o, _) = act(Dispatched, ev("cancel", "a", "volunteer"));
        assert_eq!(o.superseded_reason, Some(RoleNotAllowed));
    }

    #[test]
    fn payloads_the_actions_need() {
        let (stage, o, _) = act(Requested, ev("dispatch", "li", "committee"));
        assert_eq!((stage, o.superseded_reason), (Some(Requested), Some(PayloadMissing)));
        let (_, o, _) = act(Requested, dispatch(" "));
        assert_eq!(o.superseded_reason, Some(PayloadMissing));
        for rating in [None, Some(0), Some(6)] {
            let (stage, o, _) = act(Done, evaluate(rating));
            assert_eq!((stage, o.superseded_reason), (Some(Done), Some(PayloadMissing)), "{rating:?}");
        }
        let (_, o, _) = act(Requested, OrderEvent { due: Some("soon".into()), ..dispatch("a") });
        assert_eq!(o.superseded_reason, Some(SupersededReason::InvalidTime));
        let (_, o, _) = act(Requested, ev("teleport", "li", "committee"));
        assert_eq!(o.superseded_reason, Some(SupersededReason::UnknownAction));
        let (_, o, _) = act(Requested, ev("comment", "li", "mayor"));
        assert_eq!(o.superseded_reason, Some(SupersededReason::UnknownRole));
        let (_, o, _) = act(Requested, OrderEvent { at: "yesterday".into(), ..ev("comment", "li", "committee") });
        assert_eq!(o.superseded_reason, Some(SupersededReason::InvalidTime));
    }

    #[test]
    fn the_whole_story_derives_volunteer_due_rating_and_times() {
        let at = |t: &str| DateTime::parse_from_rfc3339(t).expect("time");
        let mut events = vec![request(), dispatch("a"), ev("decline", "a", "volunteer")];
        events.push(OrderEvent {
            due: Some("2026-11-30".into()),
            at: "2026-11-25T08:00:00+08:00".into(),
            ..dispatch("b")
        });
        events.push(ev("accept", "b", "volunteer"));
        events.push(OrderEvent {
            at: "2026-11-26T10:00:00+08:00".into(),
            photos: vec!["ab".into()],
            ..ev("done", "b", "volunteer")
        });
        events.push(OrderEvent { at: "2026-11-26T18:00:00+08:00".into(), ..evaluate(Some(5)) });
        events.push(ev("comment", "b", "volunteer"));
        let d = replay(&events);
        assert!(d.outcomes.iter().all(|o| o.applied));
        assert_eq!(d.stage, Some(OrderStage::Evaluated));
        assert_eq!(d.volunteer.as_deref(), Some("b"), "kept after evaluation");
        assert_eq!(d.due, NaiveDate::from_ymd_opt(2026, 11, 30));
        assert_eq!(d.rating, Some(5));
        assert_eq!(d.declined_by, ["a"]);
        assert_eq!(d.done_at, Some(at("2026-11-26T10:00:00+08:00")));
        assert_eq!(d.evaluated_at, Some(at("2026-11-26T18:00:00+08:00")));
        assert_eq!(d.stage_since, d.evaluated_at);
        assert_eq!((d.requester.as_deref(), d.requester_role), (Some("wang"), Some(GridLeader)));
        // A dispatch without a due day keeps the request's.
        let d = replay(&path_to(Dispatched));
        assert_eq!(d.due, NaiveDate::from_ymd_opt(2026, 11, 27));
    }

    #[test]
    fn allowed_actions_follow_the_table() {
        let offered = |stage, role, user| allowed_at(Some(stage), Some("wang"), Some("a"), role, user);
        use OrderAction as A;
        assert_eq!(offered(Requested, Committee, "li"), [A::Dispatch, A::Cancel, A::Comment]);
        assert_eq!(offered(Requested, GridLeader, "wang"), [A::Cancel, A::Comment]);
        assert_eq!(offered(Requested, GridLeader, "zhou"), [A::Comment]);
        assert_eq!(offered(Dispatched, Volunteer, "a"), [A::Accept, A::Decline, A::Comment]);
        assert_eq!(offered(Dispatched, Volunteer, "b"), [A::Comment]);
        assert_eq!(offered(Accepted, Volunteer, "a"), [A::Done, A::Comment]);
        assert_eq!(offered(Done, SocialWorker, "sun"), [A::Evaluate, A::Comment]);
        assert_eq!(offered(OrderStage::Evaluated, Committee, "li"), [A::Comment]);
    }

    #[test]
    fn overdue_only_while_waiting_for_the_service() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).expect("day");
        let d = replay(&path_to(Dispatched));
        assert_eq!(overdue_days(&d, day(27)), 0, "due today is not overdue");
        assert_eq!(overdue_days(&d, day(29)), 2);
        for stage in [Done, OrderStage::Evaluated, OrderStage::Cancelled] {
            assert_eq!(overdue_days(&replay(&path_to(stage)), day(29)), 0, "{stage:?}");
        }
        assert_eq!(overdue_days_at(Requested, None, day(29)), 0);
    }
}
