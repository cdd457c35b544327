//! Convergence of the incident workflow (PRODUCT.md §8): random actions by random roles on 2–5 replicas of
//! one incident document, merged in random orders and groupings, must leave every replica with the same event
//! list, the same stage and the same superseded set, lose no event, and keep the workflow's invariants.

use std::collections::BTreeSet;

use automerge::AutoCommit;
use chrono::DateTime;
use gridline_core::docs::incident::{append_event, append_receipt, create, read_events};
use gridline_core::docs::{new_document, DocId};
use gridline_core::model::{IncidentEvent, IncidentFields, Severity};
use gridline_core::workflow::{self, Derivation, Stage};
use proptest::prelude::*;

const ACTIONS: [&str; 13] = [
    "report", "receive", "dispatch", "settle", "return", "resubmit", "verify", "escalate", "resolve", "evaluate",
    "reject", "comment", "teleport",
];
const ROLES: [&str; 8] =
    ["grid_leader", "grid_worker", "social_worker", "committee", "station", "street", "admin", "server"];
const ACTORS: [&str; 4] = ["wang", "zhou", "li", "zhao"];
const ID: &str = "0190f5a4-2b3c-7d4e-8f00-112233445566";

#[derive(Debug, Clone)]
enum Step {
    /// A device appends an event (allowed or not: replay decides).
    Act { replica: usize, action: usize, role: usize, actor: usize, satisfied: Option<bool>, minute: u32 },
    /// The server's receipt lands on a replica.
    Receipt { replica: usize },
    /// One replica merges another's changes.
    Merge { into: usize, from: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..5usize, 0..ACTIONS.len(), 0..ROLES.len(), 0..ACTORS.len(), proptest::option::of(any::<bool>()), 0..600u32)
            .prop_map(|(replica, action, role, actor, satisfied, minute)| Step::Act { replica, action, role, actor, satisfied, minute }),
        1 => (0..5usize).prop_map(|replica| Step::Receipt { replica }),
        3 => (0..5usize, 0..5usize).prop_map(|(into, from)| Step::Merge { into, from }),
    ]
}

fn event(n: usize, action: &str, actor: &str, role: &str, satisfied: Option<bool>, minute: u32) -> IncidentEvent {
    let at = DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00").expect("fixed time")
        + chrono::Duration::minutes(i64::from(minute));
    IncidentEvent {
        event_id: format!("e{n}"),
        note: format!("note {n}"),
        assignee: (action == "verify").then(|| "钱师傅".to_string()),
        duplicate_of: (action == "reject").then(|| ID.to_string()),
        satisfied,
        ..IncidentEvent::new(action, actor, &format!("device-{actor}"), role, at.to_rfc3339())
    }
}

fn reported(severity: Severity) -> AutoCommit {
    let id = DocId::incident("c1", "G01", ID);
    let mut doc = new_document(&id, &automerge::ActorId::random()).expect("new document");
    let fields = IncidentFields {
        incident_id: ID.into(),
        grid: "G01".into(),
        category: "facility_repair".into(),
        severity,
        title: "楼道灯坏了".into(),
        description: String::new(),
        household_code: None,
        location: None,
        photos: Vec::new(),
        check_in_id: None,
        reporter: "wang".into(),
        reporter_device: "device-wang".into(),
        at: DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00").expect("fixed time"),
    };
    create(&mut doc, &fields, &event(0, "report", "wang", "grid_leader", None, 0)).expect("create");
    doc.commit();
    doc
}

fn check_invariants(d: &Derivation) {
    // Closed only ever follows resolved (the stages entered, from the outcomes' stage changes).
    let mut entered: Vec<Stage> = Vec::new();
    for s in d.outcomes.iter().filter_map(|o| o.stage_after) {
        if entered.last() != Some(&s) {
            entered.push(s);
        }
    }
    for pair in entered.windows(2) {
        if pair[1] == Stage::Closed {
            assert_eq!(pair[0], Stage::Resolved, "closed entered from {:?}", pair[0]);
        }
    }
    // A final stage takes no further stage change.
    let mut final_reached = false;
    let mut previous = None;
    for o in &d.outcomes {
        if final_reached {
            assert_eq!(o.stage_after, previous, "a final stage changed");
        }
        final_reached |= o.stage_after.is_some_and(|s| s.is_final());
        previous = o.stage_after;
        assert_eq!(o.applied, o.superseded_reason.is_none());
    }
    assert_eq!(d.stage, previous);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge(
        n in 2..=5usize,
        urgent in any::<bool>(),
        steps in proptest::collection::vec(step(), 0..60),
        orders in proptest::collection::vec(proptest::collection::vec(any::<u32>(), 5), 5),
    ) {
        let severity = if urgent { Severity::Urgent } else { Severity::Normal };
        let mut replicas = vec![reported(severity)];
        for _ in 1..n {
            let fork = replicas[0].fork();
            replicas.push(fork);
        }
        let mut written: BTreeSet<String> = BTreeSet::from(["e0".to_string()]);
        for (k, s) in steps.iter().enumerate() {
            match *s {
                Step::Act { replica, action, role, actor, satisfied, minute } => {
                    let e = event(k + 1, ACTIONS[action], ACTORS[actor], ROLES[role], satisfied, minute);
                    append_event(&mut replicas[replica % n], &e).expect("append");
                    // A device commits each action as its own change (the store does, in `persist`).
                    replicas[replica % n].commit();
                    written.insert(e.event_id);
                }
                Step::Receipt { replica } => {
                    let at = DateTime::parse_from_rfc3339("2026-11-24T09:01:00+08:00").expect("fixed time");
                    if let Some(e) = append_receipt(&mut replicas[replica % n], at).expect("receipt") {
                        written.insert(e.event_id);
                    }
                    replicas[replica % n].commit();
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
        let derived = workflow::replay(severity, &first);
        check_invariants(&derived);
        let ids: BTreeSet<String> = first.iter().map(|e| e.event_id.clone()).collect();
        prop_assert_eq!(ids.len(), first.len(), "no event twice");
        // Receipts appended on two replicas before they met are both kept: the list may hold more receipt
        // events than `written` saw as new, but never fewer of anything.
        prop_assert!(written.is_subset(&ids), "an event was lost");
        for replica in &replicas[1..] {
            let events = read_events(replica).expect("events");
            prop_assert_eq!(&events, &first);
            let d = workflow::replay(severity, &events);
            prop_assert_eq!(d.stage, derived.stage);
            prop_assert_eq!(d.superseded(), derived.superseded());
            prop_assert_eq!(&d, &derived);
        }
    }
}
