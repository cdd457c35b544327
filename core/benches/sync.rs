//! Sync benchmark: one grid leader's week offline (7 days × 100 check-ins, 10 incident reports and 30 home
//! visits on a 200-household grid) synced in one go, printed beside the same records as gzip'd JSON (the baseline a hand-written REST sync would send)
//! and beside the other ways Automerge could carry the same documents.
//!
//! | figure | target (issue "Sync") |
//! |---|---|
//! | round trips for the week | ≤ 3 |
//! | wall time of the sync (loopback) | ≤ 300 ms |
//! | upload bytes ÷ gzip'd JSON of the same records | ≤ 1.5× |
//!
//! The week is measured against the in-process reference peer (`sync::loopback`), and against the real
//! `gridline-server` on loopback when its binary is found (`GRIDLINE_SERVER_BIN`, or `release` / `debug` of
//! this workspace's target directory: the test kit's `ServerBin::find`). `GRIDLINE_SERVER_LEGACY=1` runs a binary that predates the
//! hardening's `serve` flags (no `--metrics-listen off` is passed), e.g. an older release to compare
//! against. Thresholds are printed, not asserted.
//!
//! Run: `cargo bench -p gridline-core --bench sync`.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::sync::{State, SyncDoc};
use automerge::AutoCommit;
use chrono::{FixedOffset, TimeZone, Utc};
use gridline_core::docs::{DocId, DocKind};
use gridline_core::model::{CheckInKind, CheckInOutcome, NewCheckIn, NewIncident, NewVisit, VisitKind};
use gridline_core::sync::loopback::LoopbackServer;
use gridline_core::sync::protocol::{encode_body, DocMessage, SyncRequest, PROTOCOL_VERSION};
use gridline_core::sync::{NoProgress, SyncOptions, SyncReport};
use gridline_core::{Clock, FixedClock, Store};
use gridline_testkit::{Codes, Roster, Server, ServerBin, ServerOptions};

const KEY: [u8; 32] = [5; 32];
const HOUSEHOLDS: usize = 200;
const PER_DAY: usize = 100;

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock(Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).single().expect("valid time")))
}

/// The grid leader's grid A: [`HOUSEHOLDS`] households, codes `A000`….
fn roster_csv() -> String {
    Roster::grids(&["A"]).households(HOUSEHOLDS).codes(Codes::Joined(3)).csv()
}

/// The week offline: 100 check-ins a day for 7 days, 10 incident reports and 30 home visits; returns the
/// records as JSON values for the baseline.
fn offline_week(store: &mut Store) -> Vec<serde_json::Value> {
    let tz = FixedOffset::east_opt(8 * 3600).expect("offset");
    let start = tz.with_ymd_and_hms(2026, 11, 17, 8, 30, 0).single().expect("valid time");
    let mut records = Vec::new();
    for day in 0..7 {
        for i in 0..PER_DAY {
            let at = start + chrono::Duration::days(day) + chrono::Duration::minutes(4 * i as i64);
            records.push(json(
                store
                    .check_in(NewCheckIn {
                        household_code: format!("A{:03}", (day as usize * PER_DAY + i) % HOUSEHOLDS),
                        kind: if i % 4 == 0 { CheckInKind::Phone } else { CheckInKind::Door },
                        outcome: if i % 10 == 0 { CheckInOutcome::Attention } else { CheckInOutcome::Well },
                        note: if i % 3 == 0 {
                            "老人精神很好，已提醒按时吃药".into()
                        } else {
                            String::new()
                        },
                        photos: vec![],
                        location: None,
                        at: Some(at),
                    })
                    .expect("check-in"),
            ));
        }
    }
    for i in 0..10 {
        records.push(json(
            store
                .report_incident(NewIncident {
                    household_code: Some(format!("A{:03}", i * 17)),
                    grid: None,
                    category: "safety_hazard".into(),
                    severity: None,
                    title: format!("{}号楼楼道灯不亮", i + 1),
                    description: "晚上楼道漆黑，老人上下楼不安全".into(),
                    photos: vec![],
                    location: None,
                    at: Some(start + chrono::Duration::days(i % 7) + chrono::Duration::hours(3)),
                    check_in_id: None,
                })
                .expect("incident"),
        ));
    }
    for i in 0..30 {
        records.push(json(
            store
                .record_visit(NewVisit {
                    household_code: format!("A{:03}", i * 6 + 1),
                    residents: vec![],
                    kind: VisitKind::Home,
                    at: Some(start + chrono::Duration::days(i % 7) + chrono::Duration::hours(5)),
                    duration_min: Some(30),
                    services: vec!["life_care".into(), "health_monitoring".into()],
                    needs: if i % 5 == 0 { "需要上门送餐".into() } else { String::new() },
                    need_tags: vec![],
                    follow_up: None,
                    satisfaction: Some(5),
                    photos: vec![],
                })
                .expect("visit"),
        ));
    }
    records
}

fn json(record: impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(record).expect("json")
}

fn gzip(bytes: &[u8]) -> usize {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).expect("gzip");
    gz.finish().expect("gzip").len()
}

/// The same week's documents carried three ways, as whole `POST /v1/sync` bodies: one compressed
/// document each (what the client sends to a server that has none of them), every change chunk (what
/// `save_after` / a plain change list would send), and Automerge's stock sync from a fresh state (all
/// device-to-server messages until quiet).
fn wire_formats(store: &Store) -> (usize, usize, usize, u32, usize) {
    let ids: Vec<DocId> = store
        .documents()
        .expect("docs")
        .into_iter()
        .filter_map(|(id, _)| DocId::parse(&id).ok())
        .filter(|id| !matches!(id.kind, DocKind::Community | DocKind::Roster))
        .collect();
    let body = |messages: Vec<(String, Vec<u8>)>| {
        let docs = messages.into_iter().map(|(doc_id, message)| DocMessage { doc_id, message, signatures: vec![] });
        encode_body(&SyncRequest { protocol: PROTOCOL_VERSION, cursor: 0, docs: docs.collect() }).expect("encode").len()
    };
    let mut saved = Vec::new();
    let mut chunks = Vec::new();
    let mut stock_up = 0;
    let mut stock_rounds = 0;
    for id in ids {
        let mut doc = store.load_doc(&id).expect("load").expect("doc");
        saved.push((id.to_string(), doc.save()));
        let changes = doc.get_changes(&[]);
        chunks.push((id.to_string(), changes.iter().flat_map(|c| c.raw_bytes().to_vec()).collect()));
        let (up, rounds) = stock_sync(&mut doc);
        stock_up += up;
        stock_rounds = stock_rounds.max(rounds);
    }
    let n = saved.len();
    (body(saved), body(chunks), stock_up, stock_rounds, n)
}

/// Bytes the device sends in Automerge's stock sync with an empty peer (each message gzip'd alone), and
/// the round trips it takes.
fn stock_sync(doc: &mut AutoCommit) -> (usize, u32) {
    let mut peer = AutoCommit::new();
    let (mut ours, mut theirs) = (State::new(), State::new());
    let (mut up, mut rounds) = (0, 0);
    loop {
        let to_peer = doc.sync().generate_sync_message(&mut ours);
        let sent = to_peer.is_some();
        if let Some(m) = to_peer {
            up += gzip(&m.clone().encode());
            rounds += 1;
            peer.sync().receive_sync_message(&mut theirs, m).expect("peer receives");
        }
        let back = peer.sync().generate_sync_message(&mut theirs);
        let answered = back.is_some();
        if let Some(m) = back {
            doc.sync().receive_sync_message(&mut ours, m).expect("device receives");
        }
        if !sent && !answered {
            return (up, rounds);
        }
    }
}

fn print_week(peer: &str, report: &SyncReport, wall: Duration, baseline: usize) {
    println!("week offline against {peer}");
    println!("  round trips            {:>9}   (target ≤ 3)", report.round_trips);
    println!("  wall time              {:>9.1} ms (target ≤ 300 ms)", wall.as_secs_f64() * 1000.0);
    println!("  documents sent         {:>9}", report.docs_sent);
    println!("  upload bytes           {:>9}", report.bytes_up);
    println!("  download bytes         {:>9}", report.bytes_down);
    println!(
        "  upload ÷ gzip'd JSON   {:>9.2}×  (target ≤ 1.5×; baseline {baseline} B)",
        report.bytes_up as f64 / baseline as f64
    );
}

fn in_process(dir: &Path) {
    let server = LoopbackServer::new();
    server.issue_code("committee", "居委会", "committee", "c1", &[]);
    server.issue_code("leader", "王网格长", "grid_leader", "c1", &["A"]);
    let opts = SyncOptions::default();
    let cancel = AtomicBool::new(false);
    let mut committee =
        Store::enroll_with(&dir.join("committee"), &KEY, &server.transport(None), "loopback", "committee", clock())
            .expect("enroll committee");
    committee.import_roster(roster_csv().as_bytes()).expect("roster");
    let committee_token = token_of(&server, &committee);
    committee.sync_with(&server.transport(Some(&committee_token)), &opts, &NoProgress, &cancel).expect("sync");
    let mut leader =
        Store::enroll_with(&dir.join("leader"), &KEY, &server.transport(None), "loopback", "leader", clock())
            .expect("enroll leader");
    let token = token_of(&server, &leader);
    leader.sync_with(&server.transport(Some(&token)), &opts, &NoProgress, &cancel).expect("first sync");
    let records = offline_week(&mut leader);
    let baseline = gzip(&serde_json::to_vec(&records).expect("json"));
    let started = Instant::now();
    let report = leader.sync_with(&server.transport(Some(&token)), &opts, &NoProgress, &cancel).expect("week sync");
    print_week("the in-process reference peer", &report, started.elapsed(), baseline);

    let (saved, chunks, stock, stock_rounds, n) = wire_formats(&leader);
    println!("the same {n} documents as request bodies (gzip'd CBOR), ÷ gzip'd JSON {baseline} B");
    println!("  compressed documents   {saved:>9} B  {:.2}×  (what the client sends)", saved as f64 / baseline as f64);
    println!("  change chunks          {chunks:>9} B  {:.2}×", chunks as f64 / baseline as f64);
    println!(
        "  stock automerge sync   {stock:>9} B  {:.2}×  ({stock_rounds} round trips per document)",
        stock as f64 / baseline as f64
    );
    let started = Instant::now();
    let idle = leader.sync_with(&server.transport(Some(&token)), &opts, &NoProgress, &cancel).expect("idle sync");
    println!(
        "no-op sync: {} round trip, {} B up, {} B down, {:.1} ms",
        idle.round_trips,
        idle.bytes_up,
        idle.bytes_down,
        started.elapsed().as_secs_f64() * 1000.0
    );
}

/// The token the peer issued to a store's device.
fn token_of(server: &LoopbackServer, store: &Store) -> String {
    server.token_of(&store.device().device_id).expect("enrolled")
}

/// The week against the real server `bin` (started once the community, roster and code are in place).
fn real_server(bin: ServerBin, dir: &Path) {
    let data = dir.join("server");
    std::fs::create_dir_all(&data).expect("data dir");
    let community = bin.admin_ok(&data, &["community", "create", "--name", "幸福社区"])["community_id"]
        .as_str()
        .expect("community id")
        .to_string();
    let csv = dir.join("roster.csv");
    std::fs::write(&csv, roster_csv()).expect("csv");
    bin.admin_ok(&data, &["roster", "import", "--community", &community, csv.to_str().expect("path")]);
    let code = bin.admin_ok(
        &data,
        &["enroll", "--community", &community, "--user", "王网格长", "--role", "grid_leader", "--grid", "A"],
    )["code"]
        .as_str()
        .expect("code")
        .to_string();
    let server = Server::start_with(&data, &ServerOptions { bin: Some(bin.clone()), ..ServerOptions::default() });
    let mut leader =
        Store::enroll(&dir.join("real-leader"), &KEY, &server.url(""), &code, false, clock()).expect("enroll");
    let cancel = AtomicBool::new(false);
    leader.sync(&NoProgress, &cancel).expect("first sync");
    let records = offline_week(&mut leader);
    let baseline = gzip(&serde_json::to_vec(&records).expect("json"));
    let cpu_before = cpu_time(server.child.id());
    let started = Instant::now();
    let report = leader.sync(&NoProgress, &cancel).expect("week sync");
    let wall = started.elapsed();
    let cpu = cpu_time(server.child.id()).saturating_sub(cpu_before);
    print_week(&format!("gridline-server ({})", bin.path().display()), &report, wall, baseline);
    println!("  server on-CPU time     {:>9.1} ms", cpu.as_secs_f64() * 1000.0);
}

/// On-CPU time process `pid`'s live threads have used so far: the sum of `/proc/<pid>/task/*/schedstat`
/// (nanoseconds); zero where `/proc` does not say.
fn cpu_time(pid: u32) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Duration::ZERO };
    let ns: u64 = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(ns)
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    in_process(dir.path());
    match ServerBin::find() {
        Some(bin) => real_server(bin, dir.path()),
        None => println!("gridline-server binary not found: real-server figures skipped"),
    }
}
