//! Field benchmarks for the device store, each printed beside a plain-rusqlite baseline run in the same
//! process on the same disk:
//!
//! | figure | target (issue "Core") |
//! |---|---|
//! | durable check-in (document change + index + commit) vs plain durable INSERT | ≤ 3× the baseline median |
//! | open store + today's rounds, 300 households, a year of history (≈ 40,000 check-ins) | ≤ 50 ms |
//! | rounds alone on an open store | ≤ 5 ms |
//! | import of a 10,000-row roster | ≤ 2 s |
//!
//! Run: `cargo bench -p gridline-core --bench field`. Thresholds are documented here and printed, not
//! asserted: a slow disk moves both sides of the ratio.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Days, TimeZone, Utc};
use gridline_core::model::{CheckInKind, CheckInOutcome, NewCheckIn, Role};
use gridline_core::store::InitOptions;
use gridline_core::{FixedClock, Store};
use gridline_testkit::{Codes, Roster, Tags};
use rusqlite::Connection;

const KEY: [u8; 32] = [9; 32];

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn now() -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).single().expect("valid time").with_timezone(&Utc)
}

/// `households` households, 300 to a grid (G01, G02, …), codes `H00000`… across the roster, residents and
/// tags varied by household.
fn roster(households: usize) -> String {
    let grids: Vec<String> = (1..=households.div_ceil(300)).map(|g| format!("G{g:02}")).collect();
    Roster::grids(&grids).households(300).total(households).codes(Codes::Numbered(5)).tags(Tags::Mixed).varied().csv()
}

fn new_store(dir: &Path, households: usize) -> Store {
    let opts = InitOptions { community_name: "bench".into(), ..InitOptions::new("bench", Role::GridLeader) };
    let mut store = Store::init(dir, &KEY, opts, Arc::new(FixedClock(now()))).expect("init");
    store.import_roster(roster(households).as_bytes()).expect("import");
    store
}

fn plain_db(path: &Path) -> Connection {
    let conn = Connection::open(path).expect("open plain db");
    conn.pragma_update(None, "journal_mode", "WAL").expect("wal");
    conn.pragma_update(None, "synchronous", "FULL").expect("sync");
    // The store's page cache budget: this SQLite build shares one page cache group among a process's
    // connections, and a connection with the small default cache recycles the store's idle pages.
    conn.pragma_update(None, "cache_size", -16 * 1024).expect("cache");
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS check_in (id TEXT PRIMARY KEY, household TEXT, kind TEXT, outcome TEXT,
         at TEXT, day TEXT, note TEXT, author TEXT);
         CREATE INDEX IF NOT EXISTS check_in_by_household ON check_in(household, day);",
    )
    .expect("schema");
    conn
}

fn plain_insert(conn: &mut Connection, n: usize, day: &str) {
    let tx = conn.transaction().expect("tx");
    tx.execute(
        "INSERT INTO check_in VALUES (?1, ?2, 'door', 'well', ?3, ?4, '精神很好', 'bench')",
        rusqlite::params![uuid::Uuid::now_v7().to_string(), format!("H{:05}", n % 300), now().to_rfc3339(), day],
    )
    .expect("insert");
    tx.commit().expect("commit");
}

fn check_in_input(n: usize, at: Option<DateTime<chrono::FixedOffset>>) -> NewCheckIn {
    NewCheckIn {
        household_code: format!("H{:05}", n % 300),
        kind: if n.is_multiple_of(3) { CheckInKind::Phone } else { CheckInKind::Door },
        outcome: CheckInOutcome::Well,
        note: "精神很好".into(),
        photos: vec![],
        location: None,
        at,
    }
}

fn bench_check_in(root: &Path) {
    const N: usize = 300;
    let mut store = new_store(&root.join("checkin"), 300);
    let mut plain = plain_db(&root.join("plain-checkin.db"));
    let (mut ours, mut base) = (Vec::new(), Vec::new());
    // Interleave the two so that disk hiccups hit both sides alike.
    for n in 0..N {
        let t = Instant::now();
        plain_insert(&mut plain, n, "2026-11-24");
        base.push(t.elapsed());
        let t = Instant::now();
        store.check_in(check_in_input(n, None)).expect("check-in");
        ours.push(t.elapsed());
    }
    let (o, b) = (median(ours), median(base));
    println!(
        "check-in (durable): {:.3} ms median vs plain rusqlite durable INSERT {:.3} ms → {:.2}× (target ≤ 3×)",
        ms(o),
        ms(b),
        o.as_secs_f64() / b.as_secs_f64()
    );
}

fn bench_year(root: &Path) {
    let dir = root.join("year");
    let mut store = new_store(&dir, 300);
    let mut plain = plain_db(&root.join("plain-year.db"));
    let t = Instant::now();
    let today = now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
    let mut total = 0;
    for d in 1..=365u64 {
        let day = today - Days::new(d);
        let at = chrono_tz::Asia::Shanghai
            .from_local_datetime(&day.and_hms_opt(10, 0, 0).expect("time"))
            .single()
            .expect("local time")
            .fixed_offset();
        let batch: Vec<NewCheckIn> = (0..110).map(|n| check_in_input(n + d as usize * 7, Some(at))).collect();
        total += batch.len();
        store.check_in_batch(batch).expect("batch");
        let tx = plain.transaction().expect("tx");
        for n in 0..110 {
            tx.execute(
                "INSERT INTO check_in VALUES (?1, ?2, 'door', 'well', ?3, ?4, '精神很好', 'bench')",
                rusqlite::params![
                    uuid::Uuid::now_v7().to_string(),
                    format!("H{:05}", (n + d as usize * 7) % 300),
                    at.to_rfc3339(),
                    day.to_string()
                ],
            )
            .expect("insert");
        }
        tx.commit().expect("commit");
    }
    println!("year of history: {total} check-ins written in {:.1} s", t.elapsed().as_secs_f64());
    drop(store);
    drop(plain);

    let clock = Arc::new(FixedClock(now()));
    let mut open_rounds = Vec::new();
    let mut items = 0;
    for _ in 0..20 {
        let t = Instant::now();
        let store = Store::open(&dir, &KEY, clock.clone()).expect("open");
        items = store.rounds(None).expect("rounds").items.len();
        open_rounds.push(t.elapsed());
    }
    let mut base = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let conn = Connection::open(root.join("plain-year.db")).expect("open");
        let mut stmt = conn.prepare("SELECT household, max(day) FROM check_in GROUP BY household").expect("prepare");
        let n = stmt.query_map([], |r| r.get::<_, String>(0)).expect("query").count();
        assert!(n > 0);
        base.push(t.elapsed());
    }
    let store = Store::open(&dir, &KEY, clock).expect("open");
    let mut rounds_only = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        store.rounds(None).expect("rounds");
        rounds_only.push(t.elapsed());
    }
    let (o, b) = (median(open_rounds), median(base));
    println!(
        "open store + today's rounds ({items} households due, 300 households, {total} check-ins): {:.2} ms median (target ≤ 50 ms); plain rusqlite open + last check-in per household: {:.2} ms → {:.2}×",
        ms(o),
        ms(b),
        o.as_secs_f64() / b.as_secs_f64()
    );
    println!("rounds alone: {:.2} ms median (target ≤ 5 ms)", ms(median(rounds_only)));
}

fn bench_import(root: &Path) {
    let csv = roster(10_000);
    let mut ours = Vec::new();
    let mut base = Vec::new();
    for run in 0..3 {
        let dir = root.join(format!("import-{run}"));
        let opts = InitOptions { community_name: "bench".into(), ..InitOptions::new("bench", Role::Admin) };
        let mut store = Store::init(&dir, &KEY, opts, Arc::new(FixedClock(now()))).expect("init");
        let t = Instant::now();
        let s = store.import_roster(csv.as_bytes()).expect("import");
        ours.push(t.elapsed());
        assert_eq!(s.residents.added, 10_000);

        let mut conn = plain_db(&root.join(format!("plain-import-{run}.db")));
        conn.execute_batch("CREATE TABLE resident (grid, building, unit, floor, room, household, name, gender, birth_year, phone, id_number, tags, notes)").expect("schema");
        let t = Instant::now();
        let tx = conn.transaction().expect("tx");
        for line in csv.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            tx.execute(
                "INSERT INTO resident VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
                rusqlite::params_from_iter(f.iter()),
            )
            .expect("insert");
        }
        tx.commit().expect("commit");
        base.push(t.elapsed());
    }
    let (o, b) = (median(ours), median(base));
    println!(
        "roster import, 10,000 rows: {:.0} ms median (target ≤ 2,000 ms); plain rusqlite INSERT of the rows: {:.0} ms → {:.1}×",
        ms(o),
        ms(b),
        o.as_secs_f64() / b.as_secs_f64()
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing we need: run only under bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let root = tempfile::Builder::new().prefix("gridline-bench").tempdir_in(std::env::temp_dir()).expect("temp dir");
    bench_check_in(root.path());
    bench_import(root.path());
    bench_year(root.path());
}
