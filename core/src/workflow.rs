//! The incident workflow (PRODUCT.md §4): stages, actions, who may take which action from which stage, and
//! the replay that derives an incident's stage from its merged event list. The one place that decides
//! stages. Pure: no I/O, the time is passed in.
//!
//! Replay walks the events in document order and applies each one only if the table allows it from the stage
//! reached so far and by the role the event claims; an event that does not apply is kept and reported as
//! superseded with a stable reason code. Every replica holding the same event list therefore derives the
//! same stage, whatever order the changes arrived in.
//!
//! Where §4 lists two roles and two stages on one row, each role acts at its own desk: the committee returns
//! or rejects from `reported`/`committee_review`, the station from `at_station`; the street office resolves
//! what was escalated to it, and the station may also resolve an escalated incident once the street office
//! has answered.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde::Serialize;

use crate::codes::coded_enum;
use crate::model::{DeadlinePolicy, IncidentEvent, Role, Severity};

/// The role code only the server's receipt may carry; no device may claim it.
pub const SERVER_ROLE: &str = "server";

coded_enum! {
    #[codes(field = "stage", name = "stage", list = false)]
    /// Where an incident is in the workflow.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
    #[serde(rename_all = "snake_case")]
    #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
    pub enum Stage {
        /// Reported on the phone, not yet received by the server.
        Reported = "reported",
        /// Received; waiting for the residents' committee to review it.
        CommitteeReview = "committee_review",
        /// Dispatched to (or, urgent, reported straight to) the work station.
        AtStation = "at_station",
        /// Verified and assigned; being handled by the station.
        InProgress = "in_progress",
        /// Handled; waiting for the resident's evaluation.
        Resolved = "resolved",
        /// Evaluated as satisfied. Final.
        Closed = "closed",
        /// Sent back to the reporter for more information.
        Returned = "returned",
        /// Escalated to the street office.
        Escalated = "escalated",
        /// Rejected: a duplicate or not an incident. Final.
        Rejected = "rejected",
    }
}

impl Stage {
    /// True for stages no action leaves.
    pub fn is_final(&self) -> bool {
        matches!(self, Stage::Closed | Stage::Rejected)
    }
}

coded_enum! {
    #[codes(field = "action", name = "action", list = false)]
    /// Something a user (or the server) does to an incident.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
    #[serde(rename_all = "snake_case")]
    #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
    pub enum Action {
        /// Report it (creates the incident).
        Report = "report",
        /// The server's receipt (已送达).
        Receive = "receive",
        /// The committee dispatches it to the station (分流).
        Dispatch = "dispatch",
        /// The committee settles it itself (mediation).
        Settle = "settle",
        /// Send it back to the reporter for more information.
        Return = "return",
        /// The reporter resubmits it after a return.
        Resubmit = "resubmit",
        /// The station verifies (核准) and assigns it.
        Verify = "verify",
        /// The station escalates it to the street office.
        Escalate = "escalate",
        /// The station or street office resolves it.
        Resolve = "resolve",
        /// The grid leader records the resident's evaluation (居民评单).
        Evaluate = "evaluate",
        /// Reject as a duplicate or not an incident.
        Reject = "reject",
        /// A comment (with optional photos); never changes the stage.
        Comment = "comment",
    }
}

/// Who an event claims to be: a device's role, or the server (receipt only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventRole {
    /// A device whose user holds this role.
    Device(Role),
    /// The server itself.
    Server,
}

impl EventRole {
    /// Parses a role code as written in an event.
    pub fn parse(code: &str) -> Option<EventRole> {
        if code == SERVER_ROLE {
            return Some(EventRole::Server);
        }
        code.parse::<Role>().ok().map(EventRole::Device)
    }

    /// The code written into events.
    pub fn code(&self) -> &'static str {
        match self {
            EventRole::Device(r) => r.code(),
            EventRole::Server => SERVER_ROLE,
        }
    }
}

coded_enum! {
    #[codes(field = "reason", name = "superseded reason", list = false)]
    /// Why an event did not apply. Codes are stable.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
    #[serde(rename_all = "snake_case")]
    #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
    pub enum SupersededReason {
        /// The role may take this action, but not from the stage the incident had reached.
        NotAllowedFromStage = "not_allowed_from_stage",
        /// The role may never take this action.
        RoleNotAllowed = "role_not_allowed",
        /// Only the reporter may take this action (resubmit).
        NotReporter = "not_reporter",
        /// Only the volunteer a service order is dispatched to may take this action (accept, decline, done).
        NotVolunteer = "not_volunteer",
        /// A field role may cancel only a service order it requested itself.
        NotRequester = "not_requester",
        /// The action lacks what it needs (an evaluation without `satisfied` or a rating, a dispatch without a
        /// volunteer).
        PayloadMissing = "payload_missing",
        /// The action code is unknown to this build.
        UnknownAction = "unknown_action",
        /// The role code is unknown to this build.
        UnknownRole = "unknown_role",
        /// The event's time does not parse.
        InvalidTime = "invalid_time",
    }
}

/// One row of the transition table: `roles` may take `action` from any of `from` (an empty `from` means
/// "before the incident exists", i.e. the report).
struct Rule {
    action: Action,
    roles: &'static [EventRole],
    from: &'static [Stage],
}

use EventRole::{Device, Server};
use Role::{BuildingLead, Committee, GridLeader, GridWorker, SocialWorker, Station, Street};
use Stage::{AtStation, CommitteeReview, Escalated, InProgress, Reported, Resolved, Returned};

/// The roles out on the rounds, who report incidents (a building lead, those of its buildings' households).
const FIELD: &[EventRole] = &[Device(GridLeader), Device(GridWorker), Device(SocialWorker), Device(BuildingLead)];

/// The transition table of PRODUCT.md §4. `comment` is not here: anyone but the server may comment at any
/// stage, and it never changes the stage.
const RULES: &[Rule] = &[
    Rule { action: Action::Report, roles: FIELD, from: &[] },
    Rule { action: Action::Receive, roles: &[Server], from: &[Reported] },
    Rule { action: Action::Dispatch, roles: &[Device(Committee)], from: &[Reported, CommitteeReview] },
    Rule { action: Action::Settle, roles: &[Device(Committee)], from: &[Reported, CommitteeReview] },
    Rule { action: Action::Return, roles: &[Device(Committee)], from: &[Reported, CommitteeReview] },
    Rule { action: Action::Return, roles: &[Device(Station)], from: &[AtStation] },
    Rule { action: Action::Resubmit, roles: FIELD, from: &[Returned] },
    Rule { action: Action::Verify, roles: &[Device(Station)], from: &[AtStation] },
    Rule { action: Action::Escalate, roles: &[Device(Station)], from: &[AtStation, InProgress] },
    Rule { action: Action::Resolve, roles: &[Device(Station)], from: &[InProgress, Escalated] },
    Rule { action: Action::Resolve, roles: &[Device(Street)], from: &[Escalated] },
    Rule { action: Action::Evaluate, roles: &[Device(GridLeader)], from: &[Resolved] },
    Rule { action: Action::Reject, roles: &[Device(Committee)], from: &[Reported, CommitteeReview] },
    Rule { action: Action::Reject, roles: &[Device(Station)], from: &[AtStation] },
];

/// Whether `role` (acting as `actor`) may take `action` when the incident is at `stage` (`None`: not yet
/// reported) and was reported by `reporter`. The payload is not checked here.
pub fn check(
    action: Action,
    role: EventRole,
    actor: &str,
    stage: Option<Stage>,
    reporter: Option<&str>,
) -> Result<(), SupersededReason> {
    if action == Action::Comment {
        return match (role, stage) {
            (Server, _) => Err(SupersededReason::RoleNotAllowed),
            (_, None) => Err(SupersededReason::NotAllowedFromStage),
            _ => Ok(()),
        };
    }
    let mut role_may = false;
    for rule in RULES.iter().filter(|r| r.action == action && r.roles.contains(&role)) {
        role_may = true;
        let stage_ok = match stage {
            None => rule.from.is_empty(),
            Some(s) => rule.from.contains(&s),
        };
        if stage_ok {
            if action == Action::Resubmit && reporter != Some(actor) {
                return Err(SupersededReason::NotReporter);
            }
            return Ok(());
        }
    }
    Err(if role_may { SupersededReason::NotAllowedFromStage } else { SupersededReason::RoleNotAllowed })
}

/// The stage an allowed action leads to.
fn target(action: Action, from: Option<Stage>, severity: Severity, satisfied: Option<bool>) -> Option<Stage> {
    Some(match action {
        Action::Report if severity == Severity::Urgent => AtStation,
        Action::Report => Reported,
        Action::Receive | Action::Resubmit => CommitteeReview,
        Action::Dispatch => AtStation,
        Action::Settle | Action::Resolve => Resolved,
        Action::Return => Returned,
        Action::Verify => InProgress,
        Action::Escalate => Escalated,
        Action::Evaluate if satisfied == Some(true) => Stage::Closed,
        Action::Evaluate => AtStation,
        Action::Reject => Stage::Rejected,
        Action::Comment => return from,
    })
}

/// What replay made of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EventOutcome {
    /// True when the event applied.
    pub applied: bool,
    /// Why it did not, when it did not.
    pub superseded_reason: Option<SupersededReason>,
    /// The stage after this event (unchanged when superseded or a comment).
    pub stage_after: Option<Stage>,
}

/// Everything derived from an incident's event list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Derivation {
    /// The current stage; `None` when no valid report opens the list.
    pub stage: Option<Stage>,
    /// One outcome per event, in document order.
    pub outcomes: Vec<EventOutcome>,
    /// When the current stage was entered (device time of the event that entered it).
    pub stage_since: Option<DateTime<FixedOffset>>,
    /// When the clock of the current stage's deadline started: like `stage_since`, except that the server's
    /// receipt does not restart the committee's clock (it runs from the report).
    pub deadline_from: Option<DateTime<FixedOffset>>,
    /// Who reported (the actor of the applied report).
    pub reporter: Option<String>,
    /// The reporter's role.
    pub reporter_role: Option<Role>,
    /// When it was reported.
    pub reported_at: Option<DateTime<FixedOffset>>,
    /// Times an unsatisfied evaluation sent it back to the station.
    pub reopen_count: u32,
    /// True when an urgent report went straight to the station and the committee is to be told at once.
    pub committee_notified: bool,
    /// True once the server's receipt is in the list (applied or not).
    pub delivered: bool,
    /// Assignee named by the latest applied verify that named one.
    pub assignee: Option<String>,
    /// The duplicated incident of an applied reject.
    pub duplicate_of: Option<String>,
    /// The latest applied evaluation.
    pub satisfied: Option<bool>,
}

impl Derivation {
    /// Whom the incident waits for now: a role, or `None` when nobody (closed, rejected, never reported).
    pub fn waiting_for(&self) -> Option<Role> {
        match self.stage? {
            Reported | CommitteeReview => Some(Committee),
            AtStation | InProgress => Some(Station),
            Escalated => Some(Street),
            Returned => self.reporter_role,
            Resolved => Some(GridLeader),
            Stage::Closed | Stage::Rejected => None,
        }
    }

    /// The events that did not apply, by index.
    pub fn superseded(&self) -> Vec<usize> {
        self.outcomes.iter().enumerate().filter(|(_, o)| !o.applied).map(|(n, _)| n).collect()
    }
}

/// Replays `events` (document order) for an incident of `severity`.
pub fn replay(severity: Severity, events: &[IncidentEvent]) -> Derivation {
    let mut d = Derivation {
        stage: None,
        outcomes: Vec::with_capacity(events.len()),
        stage_since: None,
        deadline_from: None,
        reporter: None,
        reporter_role: None,
        reported_at: None,
        reopen_count: 0,
        committee_notified: false,
        delivered: false,
        assignee: None,
        duplicate_of: None,
        satisfied: None,
    };
    for e in events {
        let outcome = match apply(&mut d, severity, e) {
            Ok(()) => EventOutcome { applied: true, superseded_reason: None, stage_after: d.stage },
            Err(reason) => EventOutcome { applied: false, superseded_reason: Some(reason), stage_after: d.stage },
        };
        d.outcomes.push(outcome);
    }
    d
}

fn apply(d: &mut Derivation, severity: Severity, e: &IncidentEvent) -> Result<(), SupersededReason> {
    let role = EventRole::parse(&e.role);
    if role == Some(Server) && e.action == Action::Receive.code() {
        d.delivered = true;
    }
    let action = e.action.parse::<Action>().map_err(|_| SupersededReason::UnknownAction)?;
    let role = role.ok_or(SupersededReason::UnknownRole)?;
    let at = DateTime::parse_from_rfc3339(&e.at).map_err(|_| SupersededReason::InvalidTime)?;
    check(action, role, &e.actor, d.stage, d.reporter.as_deref())?;
    if action == Action::Evaluate && e.satisfied.is_none() {
        return Err(SupersededReason::PayloadMissing);
    }
    let from = d.stage;
    let to = target(action, from, severity, e.satisfied);
    match action {
        Action::Report => {
            d.reporter = Some(e.actor.clone());
            d.reporter_role = match role {
                Device(r) => Some(r),
                Server => None,
            };
            d.reported_at = Some(at);
            d.committee_notified = severity == Severity::Urgent;
        }
        // A verify that names nobody keeps whoever was assigned before (a reopened incident).
        Action::Verify if e.assignee.is_some() => d.assignee = e.assignee.clone(),
        Action::Reject => d.duplicate_of = e.duplicate_of.clone(),
        Action::Evaluate => {
            d.satisfied = e.satisfied;
            if to == Some(AtStation) {
                d.reopen_count += 1;
            }
        }
        _ => {}
    }
    if to != from {
        d.stage = to;
        d.stage_since = Some(at);
        if action != Action::Receive {
            d.deadline_from = Some(at);
        }
    }
    Ok(())
}

/// The actions `role` (acting as `actor`) may take now, for shells and for refusing an action locally.
/// `report` and `receive` are never offered: the first creates an incident, the second is the server's.
pub fn allowed_actions(d: &Derivation, role: Role, actor: &str) -> Vec<Action> {
    allowed_at(d.stage, d.reporter.as_deref(), role, actor)
}

/// [`allowed_actions`] from what the materialised tables keep: the stage and the reporter.
pub fn allowed_at(stage: Option<Stage>, reporter: Option<&str>, role: Role, actor: &str) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|a| !matches!(a, Action::Report | Action::Receive))
        .filter(|a| check(*a, Device(role), actor, stage, reporter).is_ok())
        .collect()
}

/// How long the incident may stay at `stage`, by the community's policy; `None` when the stage has no
/// deadline (returned, escalated beyond the community, resolved, final stages).
pub fn stage_allowance(stage: Stage, severity: Severity, policy: &DeadlinePolicy) -> Option<Duration> {
    let minutes = match (stage, severity) {
        (Reported | CommitteeReview, _) => policy.committee_review_minutes,
        (AtStation, Severity::Urgent) => policy.urgent_ack_minutes,
        (AtStation, Severity::Normal) => policy.station_verify_minutes,
        (InProgress, _) => policy.resolve_minutes,
        _ => return None,
    };
    Some(Duration::minutes(i64::from(minutes)))
}

/// When the current stage is due to be left, by the community's policy.
pub fn deadline(d: &Derivation, severity: Severity, policy: &DeadlinePolicy) -> Option<DateTime<Utc>> {
    deadline_at(d.stage?, severity, d.deadline_from?, policy)
}

/// When `stage`, whose clock started at `from`, is due to be left (`None`: the stage has no deadline).
pub fn deadline_at(
    stage: Stage,
    severity: Severity,
    from: DateTime<FixedOffset>,
    policy: &DeadlinePolicy,
) -> Option<DateTime<Utc>> {
    Some(from.with_timezone(&Utc) + stage_allowance(stage, severity, policy)?)
}

/// How long past its deadline the incident is at `now`; `None` when it is not overdue.
pub fn overdue_by(deadline: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<Duration> {
    let due = deadline?;
    (now > due).then(|| now - due)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: &str = "2026-11-24T09:00:00+08:00";

    fn ev(action: &str, actor: &str, role: &str) -> IncidentEvent {
        IncidentEvent { event_id: format!("{action}-{actor}"), ..IncidentEvent::new(action, actor, "", role, T0) }
    }

    fn report() -> IncidentEvent {
        ev("report", "wang", "grid_leader")
    }

    /// Replays a report followed by `rest` and returns the stage and the last event's outcome.
    fn run(severity: Severity, rest: &[IncidentEvent]) -> (Option<Stage>, EventOutcome) {
        let mut events = vec![report()];
        events.extend_from_slice(rest);
        let d = replay(severity, &events);
        (d.stage, *d.outcomes.last().expect("one outcome per event"))
    }

    /// Events that bring a normal incident to `stage`.
    fn path_to(stage: Stage) -> Vec<IncidentEvent> {
        let recv = ev("receive", "server", "server");
        let mut p = match stage {
            Reported => vec![],
            CommitteeReview => vec![recv],
            AtStation => vec![recv, ev("dispatch", "li", "committee")],
            InProgress => vec![recv, ev("dispatch", "li", "committee"), ev("verify", "zhao", "station")],
            Escalated => vec![recv, ev("dispatch", "li", "committee"), ev("escalate", "zhao", "station")],
            Resolved => vec![recv, ev("settle", "li", "committee")],
            Returned => vec![recv, ev("return", "li", "committee")],
            Stage::Rejected => vec![recv, ev("reject", "li", "committee")],
            Stage::Closed => {
                let mut e = ev("evaluate", "wang", "grid_leader");
                e.satisfied = Some(true);
                vec![recv, ev("settle", "li", "committee"), e]
            }
        };
        let d = replay(Severity::Normal, &[vec![report()], p.clone()].concat());
        assert_eq!(d.stage, Some(stage), "path to {stage:?}");
        assert!(d.outcomes.iter().all(|o| o.applied));
        p.insert(0, report());
        p
    }

    fn act(stage: Stage, e: IncidentEvent) -> (Option<Stage>, EventOutcome) {
        let mut events = path_to(stage);
        events.push(e);
        let d = replay(Severity::Normal, &events);
        (d.stage, *d.outcomes.last().expect("outcome"))
    }

    #[test]
    fn report_by_field_roles_only() {
        for role in ["grid_leader", "grid_worker", "social_worker"] {
            let d = replay(Severity::Normal, &[ev("report", "a", role)]);
            assert_eq!(d.stage, Some(Reported), "{role}");
            assert_eq!(d.waiting_for(), Some(Committee));
        }
        for role in ["committee", "station", "street", "admin", "server"] {
            let d = replay(Severity::Normal, &[ev("report", "a", role)]);
            assert_eq!(d.stage, None, "{role}");
            assert_eq!(d.outcomes[0].superseded_reason, Some(SupersededReason::RoleNotAllowed));
        }
    }

    #[test]
    fn urgent_report_goes_to_the_station_and_notifies_the_committee() {
        let d = replay(Severity::Urgent, &[report()]);
        assert_eq!(d.stage, Some(AtStation));
        assert!(d.committee_notified);
        assert_eq!(d.waiting_for(), Some(Station));
        assert!(!replay(Severity::Normal, &[report()]).committee_notified);
        // The receipt arrives later: it does not pull an urgent incident back to the committee.
        let (stage, o) = run(Severity::Urgent, &[ev("receive", "server", "server")]);
        assert_eq!(stage, Some(AtStation));
        assert_eq!(o.superseded_reason, Some(SupersededReason::NotAllowedFromStage));
    }

    #[test]
    fn a_second_report_is_superseded() {
        let (stage, o) = run(Severity::Normal, &[ev("report", "x", "grid_worker")]);
        assert_eq!(stage, Some(Reported));
        assert_eq!(o.superseded_reason, Some(SupersededReason::NotAllowedFromStage));
    }

    #[test]
    fn receipt_is_the_servers_alone() {
        let (stage, o) = run(Severity::Normal, &[ev("receive", "server", "server")]);
        assert_eq!((stage, o.applied), (Some(CommitteeReview), true));
        for role in ["committee", "station", "grid_leader", "admin"] {
            let (stage, o) = run(Severity::Normal, &[ev("receive", "x", role)]);
            assert_eq!(stage, Some(Reported));
            assert_eq!(o.superseded_reason, Some(SupersededReason::RoleNotAllowed), "{role}");
        }
        // The server may do nothing else.
        let (_, o) = act(CommitteeReview, ev("dispatch", "server", "server"));
        assert_eq!(o.superseded_reason, Some(SupersededReason::RoleNotAllowed));
        let (_, o) = act(CommitteeReview, ev("comment", "server", "server"));
        assert_eq!(o.superseded_reason, Some(SupersededReason::RoleNotAllowed));
    }

    /// Every row of §4 with the stages it may start from, and a stage it may not.
    #[test]
    fn the_table_of_section_4() {
        let ok = |from: Stage, e: IncidentEvent, to: Stage| {
            let (stage, o) = act(from, e.clone());
            assert!(o.applied, "{} by {} from {from:?}", e.action, e.role);
            assert_eq!(stage, Some(to), "{} from {from:?}", e.action);
        };
        let refused = |from: Stage, e: IncidentEvent, reason: SupersededReason| {
            let (stage, o) = act(from, e.clone());
            assert_eq!(stage, Some(from), "{} by {} from {from:?} changes nothing", e.action, e.role);
            assert_eq!(o.superseded_reason, Some(reason), "{} by {} from {from:?}", e.action, e.role);
        };
        use SupersededReason::{NotAllowedFromStage as Stage_, NotReporter, RoleNotAllowed as Role_};
        // dispatch / settle: committee, from committee_review and (hand-off) reported.
        for from in [Reported, CommitteeReview] {
            ok(from, ev("dispatch", "li", "committee"), AtStation);
            ok(from, ev("settle", "li", "committee"), Resolved);
            ok(from, ev("return", "li", "committee"), Returned);
            ok(from, ev("reject", "li", "committee"), Stage::Rejected);
        }
        refused(AtStation, ev("dispatch", "li", "committee"), Stage_);
        refused(CommitteeReview, ev("dispatch", "zhao", "station"), Role_);
        refused(InProgress, ev("settle", "li", "committee"), Stage_);
        refused(CommitteeReview, ev("settle", "wang", "grid_leader"), Role_);
        // return / reject: the station from at_station.
        ok(AtStation, ev("return", "zhao", "station"), Returned);
        ok(AtStation, ev("reject", "zhao", "station"), Stage::Rejected);
        refused(InProgress, ev("return", "zhao", "station"), Stage_);
        refused(CommitteeReview, ev("reject", "zhao", "station"), Stage_);
        refused(AtStation, ev("return", "li", "committee"), Stage_);
        refused(AtStation, ev("reject", "wang", "grid_leader"), Role_);
        // resubmit: the reporter, from returned.
        ok(Returned, ev("resubmit", "wang", "grid_leader"), CommitteeReview);
        refused(Returned, ev("resubmit", "zhou", "grid_leader"), NotReporter);
        refused(Returned, ev("resubmit", "li", "committee"), Role_);
        refused(CommitteeReview, ev("resubmit", "wang", "grid_leader"), Stage_);
        // verify (+ assign): the station, from at_station.
        let mut verify = ev("verify", "zhao", "station");
        verify.assignee = Some("钱师傅".into());
        ok(AtStation, verify.clone(), InProgress);
        refused(CommitteeReview, verify.clone(), Stage_);
        refused(AtStation, ev("verify", "li", "committee"), Role_);
        // escalate: the station, from at_station and in_progress.
        ok(AtStation, ev("escalate", "zhao", "station"), Escalated);
        ok(InProgress, ev("escalate", "zhao", "station"), Escalated);
        refused(Resolved, ev("escalate", "zhao", "station"), Stage_);
        refused(AtStation, ev("escalate", "li", "committee"), Role_);
        // resolve: the station from in_progress (and escalated), the street office from escalated.
        ok(InProgress, ev("resolve", "zhao", "station"), Resolved);
        ok(Escalated, ev("resolve", "zhao", "station"), Resolved);
        ok(Escalated, ev("resolve", "sun", "street"), Resolved);
        refused(InProgress, ev("resolve", "sun", "street"), Stage_);
        refused(AtStation, ev("resolve", "zhao", "station"), Stage_);
        refused(InProgress, ev("resolve", "wang", "grid_leader"), Role_);
        // evaluate: the grid leader, from resolved.
        let mut happy = ev("evaluate", "wang", "grid_leader");
        happy.satisfied = Some(true);
        let mut unhappy = happy.clone();
        unhappy.satisfied = Some(false);
        ok(Resolved, happy.clone(), Stage::Closed);
        ok(Resolved, unhappy.clone(), AtStation);
        refused(InProgress, happy.clone(), Stage_);
        refused(Resolved, ev("evaluate", "wang", "grid_leader"), SupersededReason::PayloadMissing);
        let mut by_station = happy.clone();
        by_station.role = "station".into();
        refused(Resolved, by_station, Role_);
        // Final stages take no further stage change.
        for final_stage in [Stage::Closed, Stage::Rejected] {
            for e in [
                ev("dispatch", "li", "committee"),
                ev("verify", "zhao", "station"),
                ev("resolve", "zhao", "station"),
                ev("return", "zhao", "station"),
                happy.clone(),
            ] {
                let (stage, o) = act(final_stage, e);
                assert_eq!(stage, Some(final_stage));
                assert!(!o.applied);
            }
        }
    }

    #[test]
    fn comments_apply_at_any_stage_and_change_nothing() {
        for stage in Stage::ALL {
            for role in ["grid_leader", "committee", "station", "street", "admin", "social_worker"] {
                let (after, o) = act(stage, ev("comment", "x", role));
                assert!(o.applied, "{role} comments at {stage:?}");
                assert_eq!(after, Some(stage));
            }
        }
        let d = replay(Severity::Normal, &[ev("comment", "x", "committee")]);
        assert_eq!(d.outcomes[0].superseded_reason, Some(SupersededReason::NotAllowedFromStage));
    }

    #[test]
    fn unsatisfied_evaluation_reopens_and_counts() {
        let mut events = path_to(Resolved);
        let mut unhappy = ev("evaluate", "wang", "grid_leader");
        unhappy.satisfied = Some(false);
        events.push(unhappy.clone());
        events.extend([ev("verify", "zhao", "station"), ev("resolve", "zhao", "station"), unhappy]);
        let d = replay(Severity::Normal, &events);
        assert_eq!(d.stage, Some(AtStation));
        assert_eq!(d.reopen_count, 2);
        assert_eq!(d.satisfied, Some(false));
    }

    #[test]
    fn reject_keeps_the_duplicate_and_unknown_codes_are_superseded() {
        let mut reject = ev("reject", "li", "committee");
        reject.duplicate_of = Some("0190f5a4-2b3c-7d4e-8f00-112233445566".into());
        let (stage, _) = act(CommitteeReview, reject.clone());
        assert_eq!(stage, Some(Stage::Rejected));
        let mut events = path_to(CommitteeReview);
        events.push(reject);
        assert_eq!(
            replay(Severity::Normal, &events).duplicate_of.as_deref(),
            Some("0190f5a4-2b3c-7d4e-8f00-112233445566")
        );
        let (_, o) = act(CommitteeReview, ev("teleport", "li", "committee"));
        assert_eq!(o.superseded_reason, Some(SupersededReason::UnknownAction));
        let (_, o) = act(CommitteeReview, ev("dispatch", "li", "mayor"));
        assert_eq!(o.superseded_reason, Some(SupersededReason::UnknownRole));
        let mut bad_time = ev("dispatch", "li", "committee");
        bad_time.at = "yesterday".into();
        let (stage, o) = act(CommitteeReview, bad_time);
        assert_eq!((stage, o.superseded_reason), (Some(CommitteeReview), Some(SupersededReason::InvalidTime)));
    }

    #[test]
    fn allowed_actions_follow_the_table() {
        let d = replay(Severity::Normal, &path_to(CommitteeReview));
        let codes = |role, actor| -> Vec<&str> {
            allowed_actions(&d, role, actor).iter().map(|a| a.code()).collect::<Vec<_>>()
        };
        assert_eq!(codes(Committee, "li"), ["dispatch", "settle", "return", "reject", "comment"]);
        assert_eq!(codes(Station, "zhao"), ["comment"]);
        let d = replay(Severity::Normal, &path_to(Returned));
        assert_eq!(allowed_actions(&d, GridLeader, "wang"), [Action::Resubmit, Action::Comment]);
        assert_eq!(allowed_actions(&d, GridLeader, "zhou"), [Action::Comment]);
        assert_eq!(d.waiting_for(), Some(GridLeader));
        let d = replay(Severity::Normal, &path_to(Resolved));
        assert_eq!(allowed_actions(&d, GridLeader, "wang"), [Action::Evaluate, Action::Comment]);
    }

    #[test]
    fn deadlines_per_stage_and_severity() {
        let policy = DeadlinePolicy::default();
        let t = |s: &str| DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc);
        // Urgent: the station acknowledges within 30 minutes of the report.
        let d = replay(Severity::Urgent, &[report()]);
        let due = deadline(&d, Severity::Urgent, &policy);
        assert_eq!(due, Some(t("2026-11-24T09:30:00+08:00")));
        assert_eq!(overdue_by(due, t("2026-11-24T09:29:00+08:00")), None);
        assert_eq!(overdue_by(due, t("2026-11-24T09:45:00+08:00")), Some(Duration::minutes(15)));
        // Normal: committee review within 24 h of the report, even when the receipt comes later.
        let mut recv = ev("receive", "server", "server");
        recv.at = "2026-11-24T15:00:00+08:00".into();
        let d = replay(Severity::Normal, &[report(), recv]);
        assert_eq!(d.stage_since, Some(DateTime::parse_from_rfc3339("2026-11-24T15:00:00+08:00").expect("t")));
        assert_eq!(deadline(&d, Severity::Normal, &policy), Some(t("2026-11-25T09:00:00+08:00")));
        // Station verification within 24 h, resolution within 3 days of verification.
        let mut events = path_to(AtStation);
        assert_eq!(
            deadline(&replay(Severity::Normal, &events), Severity::Normal, &policy),
            Some(t("2026-11-25T09:00:00+08:00"))
        );
        let mut verify = ev("verify", "zhao", "station");
        verify.at = "2026-11-24T12:00:00+08:00".into();
        events.push(verify);
        assert_eq!(
            deadline(&replay(Severity::Normal, &events), Severity::Normal, &policy),
            Some(t("2026-11-27T12:00:00+08:00"))
        );
        // No deadline while returned, escalated, resolved or final.
        for stage in [Returned, Escalated, Resolved, Stage::Closed, Stage::Rejected] {
            assert_eq!(deadline(&replay(Severity::Normal, &path_to(stage)), Severity::Normal, &policy), None);
        }
    }
}
