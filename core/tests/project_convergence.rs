//! Convergence of service projects (项目化, 民事民评): random status events and residents' ratings written on
//! 2–4 offline replicas of one project document, merged in random orders and groupings, must leave every
//! replica with the same status events, the same ratings, the same status and the same ratings that stand,
//! lose nothing, and keep the rules' invariants: done is reached only from active, ratings count only once
//! done, and at most one rating per household stands — the latest.

use std::collections::{BTreeMap, BTreeSet};

use automerge::AutoCommit;
use chrono::DateTime;
use gridline_core::docs::project::{add_rating, add_status, create, ratings, status_events};
use gridline_core::docs::{new_document, DocId};
use gridline_core::model::{ProjectFields, ProjectRatingEntry, ProjectStatusEvent};
use gridline_core::project::{self, ProjectStatus, RatingState};
use proptest::prelude::*;

const STATUSES: [&str; 6] = ["active", "active", "done", "done", "planned", "finished"];
const ROLES: [&str; 5] = ["committee", "station", "committee", "grid_leader", "volunteer"];
const HOUSEHOLDS: [&str; 4] = ["H1", "H2", "H3", "H4"];
const ID: &str = "0190f5a4-2b3c-7d4e-8f00-112233445599";

#[derive(Debug, Clone)]
enum Step {
    /// A device writes a status event (allowed or not: replay decides).
    Status { replica: usize, status: usize, role: usize, minute: u32 },
    /// A device records a household's rating (0 and 6 out of range).
    Rate { replica: usize, household: usize, rating: i64, minute: u32 },
    /// One replica merges another's changes.
    Merge { into: usize, from: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..4usize, 0..STATUSES.len(), 0..ROLES.len(), 0..120u32)
            .prop_map(|(replica, status, role, minute)| Step::Status { replica, status, role, minute }),
        4 => (0..4usize, 0..HOUSEHOLDS.len(), 0..7i64, 0..120u32)
            .prop_map(|(replica, household, rating, minute)| Step::Rate { replica, household, rating, minute }),
        3 => (0..4usize, 0..4usize).prop_map(|(into, from)| Step::Merge { into, from }),
    ]
}

fn at(minute: u32) -> String {
    (DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00").expect("fixed time")
        + chrono::Duration::minutes(i64::from(minute)))
    .to_rfc3339()
}

fn created() -> AutoCommit {
    let mut doc = new_document(&DocId::project("c1", ID), &automerge::ActorId::random()).expect("new document");
    let fields = ProjectFields {
        project_id: ID.into(),
        title: "长者助餐".into(),
        category: "elderly_care".into(),
        organisation: "阳光社工中心".into(),
        budget_yuan: None,
        needs: vec!["meal_delivery".into()],
        from: None,
        to: None,
        created_by: "li".into(),
        device: "device-li".into(),
        role: "committee".into(),
        at: DateTime::parse_from_rfc3339("2026-11-24T08:00:00+08:00").expect("fixed time"),
    };
    create(&mut doc, &fields).expect("create");
    doc.commit();
    doc
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge(
        n in 2..=4usize,
        steps in proptest::collection::vec(step(), 0..50),
        orders in proptest::collection::vec(proptest::collection::vec(any::<u32>(), 4), 4),
    ) {
        let mut replicas = vec![created()];
        for _ in 1..n {
            let fork = replicas[0].fork();
            replicas.push(fork);
        }
        let (mut events_written, mut ratings_written) = (BTreeSet::new(), BTreeSet::new());
        for (k, s) in steps.iter().enumerate() {
            match *s {
                Step::Status { replica, status, role, minute } => {
                    let e = ProjectStatusEvent {
                        event_id: format!("e{k:03}"),
                        status: STATUSES[status].into(),
                        note: String::new(),
                        actor: "li".into(),
                        device: "device-li".into(),
                        role: ROLES[role].into(),
                        at: at(minute),
                    };
                    add_status(&mut replicas[replica % n], &e).expect("status");
                    replicas[replica % n].commit();
                    events_written.insert(e.event_id);
                }
                Step::Rate { replica, household, rating, minute } => {
                    let r = ProjectRatingEntry {
                        rating_id: format!("r{k:03}"),
                        household: HOUSEHOLDS[household].into(),
                        grid: "G01".into(),
                        building: "1".into(),
                        rating,
                        note: String::new(),
                        actor: "wang".into(),
                        device: "device-wang".into(),
                        role: "grid_leader".into(),
                        at: at(minute),
                    };
                    add_rating(&mut replicas[replica % n], &r).expect("rating");
                    replicas[replica % n].commit();
                    ratings_written.insert(r.rating_id);
                }
                Step::Merge { into, from } if into % n != from % n => {
                    let mut other = replicas[from % n].clone();
                    replicas[into % n].merge(&mut other).expect("merge");
                }
                Step::Merge { .. } => {}
            }
        }
        let snapshots: Vec<AutoCommit> = replicas.to_vec();
        for (r, replica) in replicas.iter_mut().enumerate() {
            let mut order: Vec<usize> = (0..n).filter(|o| *o != r).collect();
            order.sort_by_key(|o| orders[r][*o]);
            for o in order {
                let mut other = snapshots[o].clone();
                replica.merge(&mut other).expect("final merge");
            }
        }
        let events = status_events(&replicas[0]);
        let entries = ratings(&replicas[0]);
        let d = project::replay(&events);
        let summary = project::ratings(&entries, d.status);
        let ids: BTreeSet<String> = events.iter().map(|e| e.event_id.clone()).collect();
        prop_assert_eq!(&ids, &events_written, "every status event kept, none invented");
        let ids: BTreeSet<String> = entries.iter().map(|r| r.rating_id.clone()).collect();
        prop_assert_eq!(&ids, &ratings_written, "every rating kept, none invented");
        // Invariants: done only from active; once done nothing moves; ratings stand only once done, one per
        // household, the latest valid one.
        let mut previous = ProjectStatus::Planned;
        for o in &d.outcomes {
            if o.applied && o.status_after == ProjectStatus::Done {
                prop_assert_eq!(previous, ProjectStatus::Active);
            }
            if previous == ProjectStatus::Done {
                prop_assert_eq!(o.status_after, ProjectStatus::Done);
            }
            previous = o.status_after;
        }
        let mut standing: BTreeMap<&str, usize> = BTreeMap::new();
        for o in summary.outcomes.iter().filter(|o| o.state == RatingState::Stands) {
            prop_assert_eq!(d.status, ProjectStatus::Done);
            let household = entries[o.index].household.as_str();
            prop_assert!(standing.insert(household, o.index).is_none(), "one rating stands per household");
            let latest = entries
                .iter()
                .filter(|r| r.household == household && (1..=5).contains(&r.rating))
                .max_by(|a, b| a.at.cmp(&b.at).then_with(|| a.rating_id.cmp(&b.rating_id)))
                .map(|r| r.rating_id.as_str());
            prop_assert_eq!(latest, Some(entries[o.index].rating_id.as_str()));
        }
        prop_assert_eq!(summary.count as usize, standing.len());
        for replica in &replicas[1..] {
            let events_here = status_events(replica);
            let entries_here = ratings(replica);
            prop_assert_eq!(&entries_here, &entries);
            let d_here = project::replay(&events_here);
            prop_assert_eq!(&d_here, &d);
            prop_assert_eq!(&project::ratings(&entries_here, d_here.status), &summary);
        }
    }
}
