//! Test fixtures for sync: a community with two grids on an in-process peer, enrolled devices, and a week of
//! offline check-ins.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use chrono::{Duration, FixedOffset, TimeZone, Utc};

use super::client::{NoProgress, SyncOptions, SyncReport};
use super::loopback::LoopbackServer;
use crate::model::{CheckInKind, CheckInOutcome, NewCheckIn};
use crate::{Clock, FixedClock, Store};

/// The community id of the fixtures.
pub const COMMUNITY: &str = "c1";

/// 2026-11-24 18:00 in Shanghai: after a week of rounds.
pub fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock(Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).single().expect("valid time")))
}

/// Retries fast in tests.
pub fn fast() -> SyncOptions {
    SyncOptions { base_delay: std::time::Duration::from_millis(1), ..SyncOptions::default() }
}

/// A roster of `n` households in each of grids A and B. Written here rather than by the test kit: the kit
/// links its own copy of this crate, whose uniffi exports would clash with the unit tests' copy.
pub fn roster_csv(n: usize) -> String {
    let mut csv = format!("{}\n", crate::roster_csv::ROSTER_HEADER);
    for grid in ["A", "B"] {
        for i in 0..n {
            csv.push_str(&format!(
                "{grid},{},1,{},{}01,{grid}{i:03},居民{i},F,1950,,,,\n",
                i / 20 + 1,
                i % 6 + 1,
                i % 6 + 1
            ));
        }
    }
    csv
}

/// Enrolls a device with the peer.
pub fn enroll(server: &LoopbackServer, dir: &Path, code: &str, role: &str, grids: &[&str]) -> (Store, String) {
    server.issue_code(code, &format!("user-{code}"), role, COMMUNITY, grids);
    let store = Store::enroll_with(dir, &[7; 32], &server.transport(None), "http://127.0.0.1:1", code, clock())
        .expect("enrolls");
    let token = server.token_of(&store.device().device_id).expect("token");
    (store, token)
}

/// Syncs a store with the peer.
pub fn sync(server: &LoopbackServer, store: &mut Store, token: &str) -> SyncReport {
    store.sync_with(&server.transport(Some(token)), &fast(), &NoProgress, &AtomicBool::new(false)).expect("syncs")
}

/// `per_day` check-ins on each of the 7 days before the clock's day, on households of `grid`.
pub fn offline_week(store: &mut Store, grid: &str, per_day: usize, households: usize) {
    let tz = FixedOffset::east_opt(8 * 3600).expect("offset");
    let start = tz.with_ymd_and_hms(2026, 11, 17, 9, 0, 0).single().expect("valid time");
    for day in 0..7 {
        for i in 0..per_day {
            let at = start + Duration::days(day) + Duration::minutes(i as i64);
            store
                .check_in(NewCheckIn {
                    household_code: format!("{grid}{:03}", i % households),
                    kind: if i % 3 == 0 { CheckInKind::Phone } else { CheckInKind::Door },
                    outcome: CheckInOutcome::Well,
                    note: format!("第{day}天 {i} 精神很好"),
                    photos: vec![],
                    location: None,
                    at: Some(at),
                })
                .expect("check-in");
        }
    }
}

/// One check-in today (the clock's day) at the first household of grid A.
pub fn offline_today(store: &mut Store) {
    store
        .check_in(NewCheckIn {
            household_code: "A000".into(),
            kind: CheckInKind::Door,
            outcome: CheckInOutcome::Well,
            note: "今天".into(),
            photos: vec![],
            location: None,
            at: None,
        })
        .expect("check-in");
}
