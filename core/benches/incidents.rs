//! Incident benchmarks, each printed beside its target (targets documented here, not asserted in tests):
//!
//! - report an incident, durably (document + materialised rows in one `synchronous = FULL` transaction)
//!   vs a plain rusqlite durable INSERT of the same fields into a WAL, `synchronous = FULL` database, in the
//!   same run: ratio target ≤ 3×. As in the check-in bench, the plain side is what a plain app would write:
//!   one transaction, an incident table keyed by its id with the one index its list by stage needs. The two
//!   sides alternate in rounds, so a change in the disk's mood moves both;
//! - derive the stage of an incident with 200 events: target ≤ 1 ms (replay alone, and reading the event
//!   list out of the document plus replay);
//! - list 10,000 incidents by stage from the materialised tables: target ≤ 20 ms (and, for the filters
//!   that scan rather than use an index: by grid, overdue, waiting for the committee).
//!
//! Run: `cargo bench -p gridline-core --bench incidents`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{black_box, Criterion};
use gridline_core::docs::{self, DocId};
use gridline_core::model::{IncidentEvent, IncidentFields, NewIncident, Role, Severity};
use gridline_core::store::{index, IncidentFilter, InitOptions};
use gridline_core::workflow::{self, Stage};
use gridline_core::{Store, SystemClock};
use rusqlite::{params, Connection};

const EVENTS: usize = 200;
const LISTED: usize = 10_000;

fn store(dir: &std::path::Path) -> Store {
    let opts = InitOptions {
        community_name: "幸福社区".into(),
        grids: vec!["G01".into()],
        ..InitOptions::new("王网格长", Role::GridLeader)
    };
    Store::init(dir, &[7u8; 32], opts, Arc::new(SystemClock)).expect("init store")
}

fn new_incident(severity: Severity) -> NewIncident {
    NewIncident {
        grid: Some("G01".into()),
        category: "facility_repair".into(),
        severity: Some(severity),
        title: "三号楼二单元楼道灯坏了".into(),
        description: "三楼到五楼的楼道灯都不亮，老人晚上上下楼不安全。".into(),
        ..NewIncident::default()
    }
}

fn baseline_db(dir: &std::path::Path) -> Connection {
    let conn = Connection::open(dir.join("baseline.db")).expect("open baseline");
    conn.pragma_update(None, "journal_mode", "WAL").expect("wal");
    conn.pragma_update(None, "synchronous", "FULL").expect("full");
    // The store's page cache budget (16 MiB). It matters beyond fairness: this SQLite build shares one page
    // cache group among a process's connections, and a connection with SQLite's small default cache recycles
    // the store's idle pages, leaving every later report to read and decrypt them again.
    conn.pragma_update(None, "cache_size", -16 * 1024).expect("cache");
    conn.execute_batch(
        "CREATE TABLE incident (incident_id TEXT PRIMARY KEY, grid TEXT, category TEXT, severity TEXT, title TEXT,
             description TEXT, reporter TEXT, at TEXT, stage TEXT);
         CREATE INDEX incident_by_stage ON incident(stage);",
    )
    .expect("baseline table");
    conn
}

fn baseline_insert(conn: &mut Connection) {
    let tx = conn.transaction().expect("tx");
    tx.execute(
        "INSERT INTO incident VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'reported')",
        params![
            uuid::Uuid::now_v7().to_string(),
            "G01",
            "facility_repair",
            "normal",
            "三号楼二单元楼道灯坏了",
            "三楼到五楼的楼道灯都不亮，老人晚上上下楼不安全。",
            "王网格长",
            chrono::Utc::now().to_rfc3339()
        ],
    )
    .expect("baseline insert");
    tx.commit().expect("commit");
}

fn event(n: usize, action: &str, role: &str, satisfied: Option<bool>) -> IncidentEvent {
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00").expect("time")
        + chrono::Duration::minutes(n as i64);
    IncidentEvent {
        note: format!("第 {n} 条处理记录"),
        satisfied,
        ..IncidentEvent::new(action, &format!("actor-{role}"), "device", role, at.to_rfc3339())
    }
}

/// The fields of a reported incident in grid G01.
fn fields(incident_id: &str, severity: Severity, title: &str) -> IncidentFields {
    IncidentFields {
        incident_id: incident_id.into(),
        grid: "G01".into(),
        category: "facility_repair".into(),
        severity,
        title: title.into(),
        description: String::new(),
        household_code: None,
        location: None,
        photos: Vec::new(),
        check_in_id: None,
        reporter: "actor-grid_leader".into(),
        reporter_device: "device".into(),
        at: chrono::DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00").expect("time"),
    }
}

/// An incident document with a report and 199 more events: the workflow going round (unsatisfied
/// evaluations reopen it), comments, and a few stray actions that replay supersedes.
fn long_incident() -> (Severity, automerge::AutoCommit) {
    let id = DocId::incident("c1", "G01", "0190f5a4-2b3c-7d4e-8f00-112233445566");
    let mut doc = docs::new_document(&id, &automerge::ActorId::random()).expect("doc");
    let fields = fields("0190f5a4-2b3c-7d4e-8f00-112233445566", Severity::Normal, "楼道灯坏了");
    docs::incident::create(&mut doc, &fields, &event(0, "report", "grid_leader", None)).expect("create");
    let cycle: [(&str, &str, Option<bool>); 8] = [
        ("receive", "server", None),
        ("dispatch", "committee", None),
        ("verify", "station", None),
        ("comment", "grid_leader", None),
        ("dispatch", "committee", None),
        ("resolve", "station", None),
        ("evaluate", "grid_leader", Some(false)),
        ("comment", "station", None),
    ];
    for n in 1..EVENTS {
        let (action, role, satisfied) = cycle[n % cycle.len()];
        docs::incident::append_event(&mut doc, &event(n, action, role, satisfied)).expect("append");
        if n % 10 == 0 {
            doc.commit();
        }
    }
    doc.commit();
    (Severity::Normal, doc)
}

/// Fills a store with `LISTED` incidents across stages, in batches of 500 documents per transaction.
fn filled_store(dir: &std::path::Path) -> Store {
    let mut s = store(dir);
    let community = s.device().community_id.clone();
    for batch in 0..LISTED / 500 {
        let mut changed = Vec::new();
        for k in 0..500 {
            let n = batch * 500 + k;
            let incident_id = uuid::Uuid::now_v7().to_string();
            let id = DocId::incident(&community, "G01", &incident_id);
            let severity = if n % 4 == 0 { Severity::Urgent } else { Severity::Normal };
            let fields = fields(&incident_id, severity, &format!("事件 {n}"));
            let mut doc = s.checkout(&id).expect("checkout");
            docs::incident::create(&mut doc, &fields, &event(0, "report", "grid_leader", None)).expect("create");
            if n % 4 >= 1 {
                docs::incident::append_event(&mut doc, &event(1, "receive", "server", None)).expect("receive");
            }
            if n % 4 == 2 {
                docs::incident::append_event(&mut doc, &event(2, "dispatch", "committee", None)).expect("dispatch");
            }
            changed.push((id, doc));
        }
        s.persist(changed, index::reindex).expect("persist batch");
    }
    s
}

/// Median wall time of `runs` calls of `f`.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn median_of(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

/// CPU time this thread has used (Linux `schedstat`, nanoseconds), to read figures on a loaded machine.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(stat.split_whitespace().next()?.parse().ok()?))
}

/// Mean on-CPU time of `runs` calls of `f`, when the platform tells.
fn cpu_mean(runs: u32, mut f: impl FnMut()) -> Option<Duration> {
    let start = thread_cpu()?;
    for _ in 0..runs {
        f();
    }
    Some((thread_cpu()? - start) / runs)
}

fn cpu_text(d: Option<Duration>) -> String {
    d.map(|d| format!("  cpu {:.3} ms", ms(d))).unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let root = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("bench dir");

    // 1. Report, durable, vs a plain durable INSERT.
    let mut s = store(&root.path().join("report"));
    let mut base = baseline_db(root.path());
    c.bench_function("report incident (durable)", |b| {
        b.iter(|| s.report_incident(new_incident(Severity::Normal)).expect("report"))
    });
    c.bench_function("plain rusqlite durable insert", |b| b.iter(|| baseline_insert(&mut base)));
    let (mut reports, mut inserts) = (Vec::new(), Vec::new());
    for _round in 0..20 {
        reports.push(median(21, || {
            s.report_incident(new_incident(Severity::Normal)).expect("report");
        }));
        inserts.push(median(21, || baseline_insert(&mut base)));
    }
    let (report, insert) = (median_of(reports), median_of(inserts));
    let report_cpu = cpu_mean(200, || {
        s.report_incident(new_incident(Severity::Normal)).expect("report");
    });
    let insert_cpu = cpu_mean(200, || baseline_insert(&mut base));

    // 2. Derive the stage of an incident with 200 events.
    let (severity, doc) = long_incident();
    let events = docs::incident::read_events(&doc).expect("events");
    assert_eq!(events.len(), EVENTS);
    let derived = workflow::replay(severity, &events);
    assert!(derived.stage.is_some());
    c.bench_function("replay 200 events", |b| b.iter(|| workflow::replay(severity, black_box(&events))));
    c.bench_function("read 200 events from the document + replay", |b| {
        b.iter(|| workflow::replay(severity, &docs::incident::read_events(black_box(&doc)).expect("events")))
    });
    let replay = median(500, || {
        black_box(workflow::replay(severity, &events));
    });
    let read_replay = median(200, || {
        black_box(workflow::replay(severity, &docs::incident::read_events(&doc).expect("events")));
    });

    // 3. List 10,000 incidents by stage.
    let filled = filled_store(&root.path().join("list"));
    let by_stage = IncidentFilter { stage: Some(Stage::AtStation), ..IncidentFilter::default() };
    let listed = filled.incident_list(&by_stage).expect("list");
    assert_eq!(listed.items.len(), LISTED / 2);
    c.bench_function("list 10,000 incidents: stage at_station (5,000 rows + counts)", |b| {
        b.iter(|| filled.incident_list(black_box(&by_stage)).expect("list"))
    });
    c.bench_function("list 10,000 incidents: all (10,000 rows + counts)", |b| {
        b.iter(|| filled.incident_list(&IncidentFilter::default()).expect("list"))
    });
    let list_stage = median(30, || {
        black_box(filled.incident_list(&by_stage).expect("list"));
    });
    let list_all = median(30, || {
        black_box(filled.incident_list(&IncidentFilter::default()).expect("list"));
    });
    let scans: Vec<(&str, IncidentFilter, Duration)> = [
        ("by grid G01", IncidentFilter { grid: Some("G01".into()), ..IncidentFilter::default() }),
        ("overdue", IncidentFilter { overdue: true, ..IncidentFilter::default() }),
        ("waiting for me", IncidentFilter { waiting_for_me: true, ..IncidentFilter::default() }),
    ]
    .into_iter()
    .map(|(name, f)| {
        let t = median(30, || {
            black_box(filled.incident_list(&f).expect("list"));
        });
        (name, f, t)
    })
    .collect();
    let read_replay_cpu = cpu_mean(200, || {
        black_box(workflow::replay(severity, &docs::incident::read_events(&doc).expect("events")));
    });
    let list_stage_cpu = cpu_mean(30, || {
        black_box(filled.incident_list(&by_stage).expect("list"));
    });
    c.final_summary();

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("\n== incidents: figures (median wall time; cpu = mean on-CPU time) ==");
    println!("load average: {}", load.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    println!("report incident, durable        {:>9.3} ms{}", ms(report), cpu_text(report_cpu));
    println!("plain rusqlite durable insert   {:>9.3} ms{}", ms(insert), cpu_text(insert_cpu));
    println!("ratio report / insert           {:>9.2} x   (target <= 3x)", report.as_secs_f64() / insert.as_secs_f64());
    println!("replay 200 events               {:>9.3} ms  (target <= 1 ms)", ms(replay));
    println!(
        "read 200 events + replay        {:>9.3} ms  (target <= 1 ms){}",
        ms(read_replay),
        cpu_text(read_replay_cpu)
    );
    println!(
        "list 10,000 by stage ({} rows) {:>9.3} ms  (target <= 20 ms){}",
        listed.items.len(),
        ms(list_stage),
        cpu_text(list_stage_cpu)
    );
    println!("list 10,000, no filter          {:>9.3} ms", ms(list_all));
    for (name, f, t) in &scans {
        let rows = filled.incident_list(f).expect("list").items.len();
        println!("list 10,000, {name:<15} {:>9.3} ms  ({rows} rows, full scan)", ms(*t));
    }
}
