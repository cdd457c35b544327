//! Convergence of device stores: several phones record check-ins offline (the same grid, the same days),
//! then exchange documents in random orders; every store must end with the same check-ins and the same
//! rounds, and merged documents must be reindexed into the materialised tables.

use std::path::Path;
use std::sync::Arc;

use chrono::{FixedOffset, TimeZone};
use gridline_core::docs::DocId;
use gridline_core::model::{CheckInKind, CheckInOutcome, NewCheckIn, Role};
use gridline_core::store::{index, InitOptions};
use gridline_core::{FixedClock, Store};
use proptest::prelude::*;

const ROSTER: &[&str] = &[
    "G01,1,1,1,101,H1,甲,F,1940,,,elderly_alone,",
    "G01,1,1,2,201,H2,乙,M,1945,,,disabled,",
    "G01,1,2,1,101,H3,丙,F,1950,,,,",
    "G01,2,1,1,101,H4,丁,M,1960,,,low_income,",
];

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock(chrono::Utc.with_ymd_and_hms(2026, 11, 24, 1, 0, 0).single().expect("time")))
}

fn device(dir: &Path, community: &str, n: usize) -> Store {
    let opts = InitOptions {
        community_name: "幸福社区".into(),
        community_id: Some(community.into()),
        ..InitOptions::new(format!("网格长{n}"), Role::GridLeader)
    };
    Store::init(&dir.join(format!("d{n}")), &[n as u8 + 1; 32], opts, clock()).expect("init")
}

/// Merges every document of `from` into `to` through the store's write path.
fn pull(to: &mut Store, from: &Store) {
    for (id, _) in from.documents().expect("docs") {
        let id = DocId::parse(&id).expect("doc id");
        let Some(mut theirs) = from.load_doc(&id).expect("load") else { continue };
        let mut mine = to.checkout(&id).expect("checkout");
        mine.merge(&mut theirs).expect("merge");
        to.persist(vec![(id, mine)], index::reindex).expect("persist");
    }
}

/// Merges store `b` into store `a`.
fn exchange(stores: &mut [Store], a: usize, b: usize) {
    if a < b {
        let (left, right) = stores.split_at_mut(b);
        pull(&mut left[a], &right[0]);
    } else {
        let (left, right) = stores.split_at_mut(a);
        pull(&mut right[0], &left[b]);
    }
}

fn fingerprint(store: &Store) -> (String, Vec<Vec<String>>) {
    let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).expect("date");
    let rounds = serde_json::to_string(&store.rounds(Some(date)).expect("rounds")).expect("json");
    let check_ins = ["H1", "H2", "H3", "H4"]
        .iter()
        .map(|h| {
            let mut ids: Vec<String> =
                store.household_detail(h).expect("detail").check_ins.into_iter().map(|c| c.check_in_id).collect();
            ids.sort();
            ids
        })
        .collect();
    (rounds, check_ins)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    #[test]
    fn offline_check_ins_converge(
        devices in 2usize..=4,
        actions in prop::collection::vec((0usize..4, 0usize..4, 0u32..4, 0u32..6), 1..24),
        order in prop::collection::vec(0usize..4, 4..16),
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let community = uuid::Uuid::now_v7().to_string();
        let mut stores: Vec<Store> = (0..devices).map(|n| device(dir.path(), &community, n)).collect();
        stores[0].import_roster(gridline_testkit::roster::csv(ROSTER).as_bytes()).expect("import");
        for n in 1..devices {
            exchange(&mut stores, n, 0);
        }
        let tz = FixedOffset::east_opt(8 * 3600).expect("offset");
        let kinds = [CheckInKind::Door, CheckInKind::Phone, CheckInKind::Observed, CheckInKind::Absent];
        let mut recorded = 0;
        for (dev, household, kind, days_ago) in actions {
            let at = tz.with_ymd_and_hms(2026, 11, 24 - days_ago, 9, 0, 0).single().expect("time");
            stores[dev % devices]
                .check_in(NewCheckIn {
                    household_code: format!("H{}", household + 1),
                    kind: kinds[kind as usize],
                    outcome: CheckInOutcome::Well,
                    note: String::new(),
                    photos: vec![],
                    location: None,
                    at: Some(at),
                })
                .expect("check-in");
            recorded += 1;
        }
        // Random pairwise exchanges, then a full round so that everybody has everything.
        for pair in order.chunks(2) {
            let (a, b) = (pair[0] % devices, pair.get(1).copied().unwrap_or(0) % devices);
            if a != b {
                exchange(&mut stores, a, b);
            }
        }
        for _ in 0..2 {
            for a in 0..devices {
                for b in 0..devices {
                    if a != b {
                        exchange(&mut stores, a, b);
                    }
                }
            }
        }
        let first = fingerprint(&stores[0]);
        let total: usize = first.1.iter().map(Vec::len).sum();
        prop_assert_eq!(total, recorded, "every check-in present after merging");
        for s in &stores[1..] {
            prop_assert_eq!(&fingerprint(s), &first);
        }
    }
}
