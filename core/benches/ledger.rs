//! Ledger and visits-due benchmarks on a community of 10 grids × 300 households with a month of activity
//! (≈ 60,000 check-ins, 1,500 visits, 300 incidents with their events), each printed beside a baseline run in
//! the same process:
//!
//! | figure | target | baseline |
//! |---|---|---|
//! | whole-community ledger → XLSX (gather + write) | ≤ 2 s | the same ledger written as plain CSV |
//! | visits due for one grid | ≤ 5 ms | a plain query reading the grid's resident rows |
//!
//! The data is written straight into the materialised tables in one transaction (the ledger and the due
//! list read only those), so set-up takes seconds, not the minutes 60,000 document changes would.
//! Run: `cargo bench -p gridline-core --bench ledger`. Thresholds are documented and printed, not asserted.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use criterion::black_box;
use gridline_core::ledger::export::Lang;
use gridline_core::model::Role;
use gridline_core::schedule::Month;
use gridline_core::store::InitOptions;
use gridline_core::{FixedClock, Store};
use rusqlite::{params, Connection};

const KEY: [u8; 32] = [5; 32];
const GRIDS: usize = 10;
const HOUSEHOLDS: usize = 300;
const CHECK_INS: usize = 60_000;
const VISITS: usize = 1_500;
const INCIDENTS: usize = 300;
const TAGS: [&str; 4] = ["elderly_alone", "disabled", "low_income", "empty_nest"];
const KINDS: [&str; 4] = ["door", "phone", "observed", "absent"];
const VISIT_KINDS: [&str; 4] = ["home", "door", "phone", "accompany"];
const STAGES: [&str; 6] = ["reported", "committee_review", "at_station", "in_progress", "resolved", "closed"];

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn household(g: usize, h: usize) -> String {
    format!("G{g:02}-H{h:03}")
}

/// A simple deterministic generator, so every run measures the same data.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

fn fill(path: &Path) -> rusqlite::Result<()> {
    let mut conn = Connection::open(path)?;
    conn.pragma_update(None, "key", format!("x'{}'", hex::encode(KEY)))?;
    // The page HMAC the store writes with (store/db/connection.rs), or the store cannot open the file.
    conn.execute_batch("PRAGMA cipher_hmac_algorithm = HMAC_SHA256;")?;
    let tx = conn.transaction()?;
    let mut rng = Lcg(42);
    {
        let mut hh = tx.prepare("INSERT INTO household VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)")?;
        let mut rs = tx.prepare(
            "INSERT INTO resident (household_code, name, grid, gender, birth_year, tags, notes, moved_out)
             VALUES (?1, ?2, ?3, 'F', 1945, ?4, '', 0)",
        )?;
        for g in 0..GRIDS {
            let grid = format!("G{g:02}");
            for h in 0..HOUSEHOLDS {
                let code = household(g, h);
                hh.execute(params![
                    code,
                    grid,
                    (h / 60 + 1).to_string(),
                    (h / 20 % 3 + 1).to_string(),
                    (h % 20 / 2) as i64,
                    format!("{}", 100 + h % 20)
                ])?;
                let tags = if h % 5 == 0 { TAGS[h / 5 % TAGS.len()] } else { "" };
                rs.execute(params![code, format!("居民{h}甲"), grid, tags])?;
                rs.execute(params![code, format!("居民{h}乙"), grid, ""])?;
            }
        }
        let mut ci = tx.prepare(
            "INSERT INTO check_in (check_in_id, grid, household_code, kind, outcome, at, day, note, photos, author, device_id)
             VALUES (?1, ?2, ?3, ?4, 'well', ?5, ?6, '一切正常', '', '网格长', 'd')",
        )?;
        let mut lc = tx.prepare(
            "INSERT INTO last_contact VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (household_code, resident, level) DO UPDATE SET day = max(day, excluded.day)",
        )?;
        for n in 0..CHECK_INS {
            let (g, h, day) = (rng.next(GRIDS), rng.next(HOUSEHOLDS), 1 + rng.next(30));
            let kind = KINDS[rng.next(KINDS.len())];
            let date = format!("2026-11-{day:02}");
            ci.execute(params![
                format!("c{n}"),
                format!("G{g:02}"),
                household(g, h),
                kind,
                format!("{date}T10:00:00+08:00"),
                date
            ])?;
            let level = match kind {
                "door" => 2,
                "phone" => 1,
                "observed" => 0,
                _ => continue,
            };
            lc.execute(params![household(g, h), "", level, date])?;
        }
        let mut vi = tx.prepare(
            "INSERT INTO visit (visit_id, grid, household_code, residents, kind, at, day, duration_min, services, needs,
                 need_tags, follow_up, satisfaction, photos, author, device_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 40, 'life_care;companionship', '需要助浴', 'cleaning', NULL, ?8, '', ?9, 'd')",
        )?;
        for n in 0..VISITS {
            let (g, h, day) = (rng.next(GRIDS), rng.next(HOUSEHOLDS / 5) * 5, 1 + rng.next(30));
            let kind = VISIT_KINDS[rng.next(VISIT_KINDS.len())];
            let date = format!("2026-11-{day:02}");
            let resident = format!("居民{h}甲");
            let author = format!("社工{}", g % 3);
            vi.execute(params![
                format!("v{n}"),
                format!("G{g:02}"),
                household(g, h),
                resident,
                kind,
                format!("{date}T15:00:00+08:00"),
                date,
                1 + rng.next(5) as i64,
                author
            ])?;
            let level = match kind {
                "door" => 2,
                "phone" => 1,
                _ => 3,
            };
            lc.execute(params![household(g, h), resident, level, date])?;
        }
        let mut inc = tx.prepare(
            "INSERT INTO incident (incident_id, doc_id, grid, category, severity, title, description, photos, stage,
                 reporter, reported_at, stage_since, deadline, waiting_for, committee_notified, delivered, event_count,
                 updated_at)
             VALUES (?1, '', ?2, ?3, 'normal', '楼道堆物', '', '', ?4, '网格长', ?5, ?5, ?6, '', 0, 1, 0, ?5)",
        )?;
        let mut ev = tx.prepare(
            "INSERT INTO incident_event (incident_id, seq, event_id, action, actor, device, role, at, applied, stage_after,
                 note, photos)
             VALUES (?1, ?2, ?3, ?4, 'x', 'd', 'station', ?5, 1, ?6, '', '')",
        )?;
        let categories = ["safety_hazard", "environment", "facility_repair", "neighbour_dispute"];
        for n in 0..INCIDENTS {
            let (g, day) = (rng.next(GRIDS), 1 + rng.next(25));
            let stage = rng.next(STAGES.len());
            let at = |hours: usize| format!("2026-11-{:02}T{:02}:00:00+08:00", day + hours / 24, 8 + hours % 12);
            let deadline = (stage < 4).then(|| at(30));
            let id = format!("i{n}");
            inc.execute(params![id, format!("G{g:02}"), categories[n % 4], STAGES[stage], at(0), deadline])?;
            let actions = ["report", "receive", "dispatch", "verify", "resolve", "evaluate"];
            for s in 0..=stage {
                ev.execute(params![id, s as i64, format!("{id}-{s}"), actions[s], at(s * 5), STAGES[s]])?;
            }
        }
    }
    tx.commit()
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let now =
        chrono_tz::Asia::Shanghai.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).single().expect("time").with_timezone(&Utc);
    let opts = InitOptions { community_name: "bench".into(), ..InitOptions::new("站长", Role::Station) };
    let t = Instant::now();
    drop(Store::init(dir.path(), &KEY, opts, Arc::new(FixedClock(now))).expect("init"));
    fill(&dir.path().join(gridline_core::store::STORE_FILE)).expect("fill");
    println!(
        "data: {GRIDS} grids × {HOUSEHOLDS} households, {CHECK_INS} check-ins, {VISITS} visits, {INCIDENTS} incidents — written in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let store = Store::open(dir.path(), &KEY, Arc::new(FixedClock(now))).expect("open");
    let month = Month::parse("2026-11").expect("month");

    let (mut gather, mut xlsx, mut csv) = (Vec::new(), Vec::new(), Vec::new());
    let mut sizes = (0, 0);
    for _ in 0..5 {
        let t = Instant::now();
        let ledger = store.ledger(&month, None).expect("ledger");
        let gathered = t.elapsed();
        gather.push(gathered);
        let t = Instant::now();
        let bytes = ledger.to_xlsx(Lang::Zh).expect("xlsx");
        xlsx.push(gathered + t.elapsed());
        sizes.0 = black_box(bytes).len();
        let t = Instant::now();
        let bytes = ledger.to_csv(Lang::Zh).expect("csv");
        csv.push(gathered + t.elapsed());
        sizes.1 = black_box(bytes).len();
    }
    let ledger = store.ledger(&month, None).expect("ledger");
    let s = &ledger.summary;
    println!(
        "ledger: {} check-ins, {} visits, {} incidents, {} events; 入户率 {:.3}",
        s.check_ins, s.visits, s.incidents.reported, s.incidents.events, s.checkin_rate
    );
    let (g, x, c) = (median(gather), median(xlsx), median(csv));
    println!("ledger gather (tables → rows and figures): {:.0} ms median", ms(g));
    println!("ledger → XLSX: {:.0} ms median, {} KiB (target ≤ 2,000 ms)", ms(x), sizes.0 / 1024);
    println!("baseline ledger → CSV: {:.0} ms median, {} KiB", ms(c), sizes.1 / 1024);
    println!("ratio XLSX / CSV: {:.2}×", x.as_secs_f64() / c.as_secs_f64());

    let date = Some(chrono::NaiveDate::from_ymd_opt(2026, 12, 3).expect("date"));
    let (mut due, mut base) = (Vec::new(), Vec::new());
    let mut items = 0;
    let conn = {
        let c = Connection::open(dir.path().join(gridline_core::store::STORE_FILE)).expect("open plain");
        c.pragma_update(None, "key", format!("x'{}'", hex::encode(KEY))).expect("key");
        c
    };
    for _ in 0..50 {
        let t = Instant::now();
        items = black_box(store.visits_due_in(Some("G03"), date).expect("due")).items.len();
        due.push(t.elapsed());
        let t = Instant::now();
        let mut stmt =
            conn.prepare_cached("SELECT household_code, name, tags FROM resident WHERE grid = ?1").expect("prepare");
        let rows: Vec<(String, String, String)> = stmt
            .query_map(["G03"], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        black_box(rows);
        base.push(t.elapsed());
    }
    let (d, b) = (median(due), median(base));
    println!("visits due, one grid ({items} items): {:.2} ms median (target ≤ 5 ms)", ms(d));
    println!(
        "baseline plain query of the grid's residents: {:.2} ms median; ratio {:.1}×",
        ms(b),
        d.as_secs_f64() / b.as_secs_f64()
    );
}
