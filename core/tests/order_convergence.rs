//! Convergence of the service-order workflow (PRODUCT.md §4b, §8): random actions by random roles and people
//! on 2–5 offline replicas of one order document, merged in random orders and groupings, must leave every
//! replica with the same event list, the same stage and the same derivation, lose no event, and keep the
//! workflow's invariants: an evaluated order has a rating and went through done, and accept, decline and done
//! apply only when taken by the volunteer the order is dispatched to at that point.

use std::collections::BTreeSet;

use automerge::AutoCommit;
use chrono::{DateTime, NaiveDate};
use gridline_core::docs::service_order::{append_event, create, read_events};
use gridline_core::docs::{new_document, DocId};
use gridline_core::model::{OrderEvent, ServiceOrderFields};
use gridline_core::service_workflow::{self, OrderAction, OrderDerivation, OrderStage, RATING_RANGE};
use proptest::prelude::*;

/// Actions drawn uniformly from this list: the steps forward are listed more than once and cancel (which
/// ends an order at once) only once, so that random stories often reach done and evaluated.
const ACTIONS: [&str; 16] = [
    "request", "dispatch", "dispatch", "accept", "accept", "accept", "decline", "done", "done", "done", "evaluate",
    "evaluate", "evaluate", "cancel", "comment", "teleport",
];
const ROLES: [&str; 8] =
    ["grid_leader", "grid_worker", "social_worker", "committee", "station", "volunteer", "admin", "server"];
/// `wang` requested the order; `a` and `b` are volunteers a dispatch may name (and `c` one it never names).
const ACTORS: [&str; 5] = ["wang", "li", "a", "b", "c"];
const ID: &str = "0190f5a4-2b3c-7d4e-8f00-112233445577";

#[derive(Debug, Clone)]
enum Step {
    /// A device appends an event (allowed or not: replay decides). When `fit`, the role and actor are ones the
    /// table could allow for the action (a volunteer for accept, the committee for dispatch …), so that
    /// interleavings reach the later stages often; otherwise anyone.
    Act {
        replica: usize,
        action: usize,
        role: usize,
        actor: usize,
        volunteer: usize,
        rating: u8,
        minute: u32,
        fit: bool,
    },
    /// One replica merges another's changes.
    Merge { into: usize, from: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..5usize, 0..ACTIONS.len(), 0..ROLES.len(), 0..ACTORS.len(), 0..3usize, 0..7u8, 0..600u32, any::<bool>())
            .prop_map(|(replica, action, role, actor, volunteer, rating, minute, fit)| {
                Step::Act { replica, action, role, actor, volunteer, rating, minute, fit }
            }),
        3 => (0..5usize, 0..5usize).prop_map(|(into, from)| Step::Merge { into, from }),
    ]
}

/// An event; a dispatch names volunteer `a`, `b` or nobody, an evaluation carries `rating` (0 and 6 are
/// out of range, like a missing one), and the due day is sometimes set.
fn event(n: usize, action: &str, actor: &str, role: &str, volunteer: usize, rating: u8, minute: u32) -> OrderEvent {
    let at = DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00").expect("fixed time")
        + chrono::Duration::minutes(i64::from(minute));
    OrderEvent {
        event_id: format!("e{n}"),
        note: format!("note {n}"),
        volunteer: (action == "dispatch").then(|| ["a", "b"].get(volunteer).map(|v| v.to_string())).flatten(),
        due: (action == "dispatch" && minute.is_multiple_of(2)).then(|| format!("2026-11-{}", 25 + minute % 5)),
        rating: (action == "evaluate" && rating > 0).then_some(rating),
        photos: if action == "done" { vec![format!("photo{n}")] } else { Vec::new() },
        ..OrderEvent::new(action, actor, &format!("device-{actor}"), role, at.to_rfc3339())
    }
}

/// A role and actor the table could allow for `action`, picked by `pick`: the committee or station for a
/// dispatch, a volunteer for accept, decline and done, the requester or a field role for evaluate and cancel.
fn fitting(action: &str, pick: usize) -> (&'static str, &'static str) {
    match action {
        "dispatch" => [("committee", "li"), ("station", "zhao")][pick % 2],
        "accept" | "decline" | "done" => ("volunteer", ["a", "b"][pick % 2]),
        "evaluate" => [("grid_leader", "wang"), ("social_worker", "sun")][pick % 2],
        // Mostly a field role that did not request it (superseded `not_requester`): a cancel that applies ends the
        // story, so it is kept rare.
        "cancel" => {
            [("grid_worker", "zhou"), ("grid_worker", "zhou"), ("grid_leader", "wang"), ("station", "zhao")][pick % 4]
        }
        _ => ("grid_leader", "wang"),
    }
}

fn requested() -> AutoCommit {
    let id = DocId::service_order("c1", "G01", ID);
    let mut doc = new_document(&id, &automerge::ActorId::random()).expect("new document");
    let at = DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00").expect("fixed time");
    let fields = ServiceOrderFields {
        order_id: ID.into(),
        grid: "G01".into(),
        household_code: "H001".into(),
        resident: Some("王秀英".into()),
        address: "1-1-301".into(),
        phone: None,
        service: "meal_delivery".into(),
        note: String::new(),
        due: NaiveDate::from_ymd_opt(2026, 11, 27),
        from_visit: None,
        requester: "wang".into(),
        requester_device: "device-wang".into(),
        at,
    };
    let request = OrderEvent {
        event_id: "e0".into(),
        due: Some("2026-11-27".into()),
        ..OrderEvent::new("request", "wang", "device-wang", "grid_leader", at.to_rfc3339())
    };
    create(&mut doc, &fields, &request).expect("create");
    doc.commit();
    doc
}

fn check_invariants(events: &[OrderEvent], d: &OrderDerivation) {
    let mut previous: Option<OrderStage> = None;
    let mut went_through_done = false;
    // The volunteer the order is dispatched to at each point, followed independently of replay.
    let mut dispatched_to: Option<&str> = None;
    for (e, o) in events.iter().zip(&d.outcomes) {
        assert_eq!(o.applied, o.superseded_reason.is_none());
        if previous.is_some_and(|s| s.is_final()) {
            assert_eq!(o.stage_after, previous, "a final stage changed");
        }
        if o.applied {
            let action = e.action.parse::<OrderAction>().expect("an applied event has a known action");
            match action {
                OrderAction::Accept | OrderAction::Decline | OrderAction::Done => {
                    assert_eq!(e.role, "volunteer");
                    assert_eq!(Some(e.actor.as_str()), dispatched_to, "{action} by someone not dispatched to");
                }
                _ => {}
            }
            match action {
                OrderAction::Dispatch => dispatched_to = e.volunteer.as_deref(),
                OrderAction::Decline => dispatched_to = None,
                OrderAction::Done => went_through_done = true,
                OrderAction::Evaluate => {
                    assert!(went_through_done, "evaluated without done");
                    assert_eq!(previous, Some(OrderStage::Done));
                }
                _ => {}
            }
        }
        previous = o.stage_after;
    }
    assert_eq!(d.stage, previous);
    assert_eq!(d.volunteer.as_deref(), dispatched_to);
    if d.stage == Some(OrderStage::Evaluated) {
        assert!(d.rating.is_some_and(|r| RATING_RANGE.contains(&r)), "an evaluated order has a rating");
        assert!(went_through_done && d.done_at.is_some());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge(
        n in 2..=5usize,
        steps in proptest::collection::vec(step(), 0..60),
        orders in proptest::collection::vec(proptest::collection::vec(any::<u32>(), 5), 5),
    ) {
        let mut replicas = vec![requested()];
        for _ in 1..n {
            let fork = replicas[0].fork();
            replicas.push(fork);
        }
        let mut written: BTreeSet<String> = BTreeSet::from(["e0".to_string()]);
        for (k, s) in steps.iter().enumerate() {
            match *s {
                Step::Act { replica, action, role, actor, volunteer, rating, minute, fit } => {
                    let (role, actor) =
                        if fit { fitting(ACTIONS[action], actor) } else { (ROLES[role], ACTORS[actor]) };
                    let e = event(k + 1, ACTIONS[action], actor, role, volunteer, rating, minute);
                    append_event(&mut replicas[replica % n], &e).expect("append");
                    // A device commits each action as its own change (the store does, in `persist`).
                    replicas[replica % n].commit();
                    written.insert(e.event_id);
                }
                Step::Merge { into, from } if into % n != from % n => {
                    let mut other = replicas[from % n].clone();
                    replicas[into % n].merge(&mut other).expect("merge");
                }
                Step::Merge { .. } => {}
            }
        }
        // Every replica merges every other's final state, each in its own order.
        let snapshots: Vec<AutoCommit> = replicas.to_vec();
        for (r, replica) in replicas.iter_mut().enumerate() {
            let mut order: Vec<usize> = (0..n).filter(|o| *o != r).collect();
            order.sort_by_key(|o| orders[r][*o]);
            for o in order {
                let mut other = snapshots[o].clone();
                replica.merge(&mut other).expect("final merge");
            }
        }
        let first = read_events(&replicas[0]).expect("events");
        let derived = service_workflow::replay(&first);
        check_invariants(&first, &derived);
        let ids: BTreeSet<String> = first.iter().map(|e| e.event_id.clone()).collect();
        prop_assert_eq!(ids.len(), first.len(), "no event twice");
        prop_assert_eq!(&ids, &written, "every event kept, none invented");
        for replica in &replicas[1..] {
            let events = read_events(replica).expect("events");
            prop_assert_eq!(&events, &first);
            let d = service_workflow::replay(&events);
            prop_assert_eq!(d.stage, derived.stage);
            prop_assert_eq!(&d, &derived);
        }
    }
}
