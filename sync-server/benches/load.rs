//! Load bench for one `gridline-server` process on loopback (run: `cargo bench -p gridline-server --bench
//! load`; `GRIDLINE_BENCH_DEVICES` overrides the device count).
//!
//! 1. 1,000 simulated devices (two grid leaders per grid, 500 grids) each sync a day's work — 20 check-ins in
//!    the grid's day log, 4 incidents with 5 events each, one visit, all honest records the server binds to
//!    their author — against one server.
//!    Targets: all done ≤ 60 s, p99 per-device sync ≤ 2 s, server peak RSS (VmHWM) ≤ 500 MB.
//! 2. A station device with every document of the community in scope (≥ 5,000) syncs once more with nothing
//!    changed. Targets: 1 round trip, ≤ 2 KB each way.
//!
//! 3. The same devices sync a second day's work while 10 hostile devices (enrolled grid leaders of their own
//!    grids) loop worst-case requests until the honest devices are done: a `have` whose Bloom filter claims
//!    2^32 − 1 probes, a compressed change inflating to 16 MiB, the largest valid message of honest-shaped
//!    check-ins for their own day log that [`MessageLimits`] allows, and 16 MiB of junk. The server runs its
//!    default rate limits and quotas (part of the defence). Target: honest p99 ≤ 2 s; any 5xx is a bug.
//!
//! Baseline printed beside the figures: the same day's work synced by one device alone, on the same server.
//! Another build (e.g. the release before the hardening) is measured with `GRIDLINE_SERVER_BIN=<binary>`, and
//! `GRIDLINE_SERVER_LEGACY=1` when it predates the hardening's `serve` flags: the hostile part of step 3 is
//! then skipped (such a server is not expected to survive it), the second day is synced undisturbed.
//! `GRIDLINE_BENCH_HOSTILE=0` skips the hostile devices for any binary.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automerge::sync::{Have, Message, MessageVersion};
use gridline_core::docs::{checkin_log, incident, visit_log, DocId};
use gridline_core::model::{CheckIn, IncidentEvent, IncidentFields, Severity, Visit, VisitKind};
use gridline_core::sync::protocol::{encode_body, DocMessage, SyncRequest, MAX_BODY_BYTES, PROTOCOL_VERSION};
use gridline_server::validate::{self, MessageLimits};
use gridline_testkit::{log_id, Device, Roster, Server, ServerOptions, Tags};

use common::{metric, ms, parallel, percentile};

const CHECK_INS: usize = 20;
const INCIDENTS: usize = 4;
const EVENTS: usize = 5;
/// Hostile devices of step 3.
const HOSTILE: usize = 10;
/// Check-ins per change in the hostile devices' largest valid message.
const BULK_PER_CHANGE: usize = 500;
/// Largest valid messages per hostile device (each continues from the previous one's heads). Building one
/// takes the bench ~10 s of CPU (Automerge applying some 450,000 operations), outside the timed phases.
const BULK_MESSAGES: usize = 1;

/// One day's work of device `n` in `grid`, `day` days after [`gridline_testkit::CHECK_IN_AT`] (0: that day's log).
fn day_of_work(device: &mut Device, grid: &str, n: usize, day: i64) {
    let community = device.community().to_string();
    let at = chrono::DateTime::parse_from_rfc3339(gridline_testkit::CHECK_IN_AT).expect("time")
        + chrono::Duration::days(day);
    let log = if day == 0 { log_id(&community, grid) } else { DocId::check_in_log(&community, grid, at.date_naive()) };
    let tag = if day == 0 { n.to_string() } else { format!("d{day}-{n}") };
    let (user, device_id) = (device.info.user.clone(), device.info.device_id.clone());
    for i in 0..CHECK_INS {
        let c = CheckIn {
            household_code: format!("{grid}-H{}", i % 5),
            note: "checked in, all well, neighbours say the lift is slow".into(),
            at,
            ..device.check_in(&log, &format!("{tag}-{i}"), "")
        };
        device.append_check_in(&log, &c);
    }
    for _ in 0..INCIDENTS {
        let incident_id = uuid::Uuid::now_v7().to_string();
        let id = DocId::incident(&community, grid, &incident_id);
        let fields = IncidentFields {
            incident_id,
            grid: grid.into(),
            category: "facility_repair".into(),
            severity: Severity::Normal,
            title: "Lift".into(),
            description: String::new(),
            household_code: None,
            location: None,
            photos: vec![],
            check_in_id: None,
            reporter: user.clone(),
            reporter_device: device_id.clone(),
            at,
        };
        let event = |action: &str| IncidentEvent::new(action, &user, &device_id, "grid_leader", at.to_rfc3339());
        let doc = device.doc(&id);
        incident::create(doc, &fields, &event("report")).expect("incident");
        doc.commit();
        for _ in 1..EVENTS {
            incident::append_event(doc, &event("comment")).expect("event");
            doc.commit();
        }
    }
    let visits = DocId::visit_log(&community, grid, "2026-11");
    let visit = Visit {
        visit_id: tag,
        household_code: format!("{grid}-H0"),
        grid: grid.into(),
        residents: vec![],
        kind: VisitKind::Home,
        at,
        day: at.date_naive(),
        duration_min: Some(30),
        services: vec!["life_care".into(), "companionship".into()],
        needs: String::new(),
        need_tags: vec![],
        follow_up: None,
        satisfaction: None,
        photos: vec![],
        author: user.clone(),
        device_id: device_id.clone(),
    };
    let doc = device.doc(&visits);
    visit_log::append(doc, &visit).expect("visit");
    doc.commit();
}

/// Syncs every device once, 32 at a time; returns the devices, each device's sync time, the most round
/// trips one took, and the wall time of the whole. A failed sync is printed and timed as it failed.
fn sync_all(devices: Vec<(usize, Device)>) -> (Vec<(usize, Device)>, Vec<Duration>, u32, Duration) {
    let n = devices.len();
    let done = Mutex::new(Vec::with_capacity(n));
    let times = Mutex::new(Vec::with_capacity(n));
    let round_trips = Mutex::new(0u32);
    let start = Instant::now();
    parallel(devices, 32, |(i, mut d)| {
        let t = Instant::now();
        let rt = d.sync().unwrap_or_else(|(status, e)| {
            println!("FAILED honest sync after {:.1} s: {status} {} {}", t.elapsed().as_secs_f64(), e.code, e.message);
            0
        });
        times.lock().expect("times").push(t.elapsed());
        let mut max = round_trips.lock().expect("rts");
        *max = (*max).max(rt);
        drop(max);
        done.lock().expect("devices").push((i, d));
    });
    let total = start.elapsed();
    let mut times = times.into_inner().expect("times");
    times.sort();
    (done.into_inner().expect("devices"), times, round_trips.into_inner().expect("rts"), total)
}

/// How long the console's replica (fed at a lower priority than the syncs) takes to hold everything the
/// devices wrote, from the end of the load; and how much it merged.
fn replica_catch_up(server: &Server, addr: &str) {
    let t = Instant::now();
    let backlog = metric(&server.http, addr, "gridline_console_replica_behind").unwrap_or(0);
    while metric(&server.http, addr, "gridline_console_replica_behind").is_none_or(|b| b > 0) {
        if t.elapsed() > Duration::from_secs(600) {
            println!("console replica: still behind after 600 s");
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let merged = metric(&server.http, addr, "gridline_console_replica_merged_total").unwrap_or(0);
    println!(
        "console replica: {backlog} catalogue versions behind when the devices finished, caught up {:.1} s later \
         ({merged} documents merged so far)",
        t.elapsed().as_secs_f64()
    );
}

/// The worst-case requests of one hostile device, as whole `POST /v1/sync` bodies.
struct Attack {
    token: String,
    /// (kind, body) in the order they are sent, round and round.
    bodies: Vec<(&'static str, Arc<Vec<u8>>)>,
}

fn request(log: &DocId, message: Vec<u8>) -> Vec<u8> {
    let docs = vec![DocMessage { doc_id: log.to_string(), message, signatures: vec![] }];
    encode_body(&SyncRequest { protocol: PROTOCOL_VERSION, cursor: 0, docs }).expect("encode")
}

/// The largest valid messages [`MessageLimits::default`] allows for `device`'s own day log `log`: honest
/// check-ins of its grid's households, [`BULK_PER_CHANGE`] per change, until a message holds 90 % of the
/// operation, byte or chunk bound. [`BULK_MESSAGES`] messages, each continuing from the previous one's heads.
fn largest_valid(device: &mut Device, log: &DocId, grid: &str) -> Vec<(Vec<u8>, u64, usize)> {
    let limits = MessageLimits::default();
    let (user, device_id) = (device.info.user.clone(), device.info.device_id.clone());
    let mut shared = Vec::new();
    let mut next = 0usize;
    let mut out = Vec::new();
    for _ in 0..BULK_MESSAGES {
        let (mut ops, mut bytes, mut inflated, mut chunks) = (0u64, 0usize, 0usize, 0usize);
        loop {
            let batch: Vec<CheckIn> = (0..BULK_PER_CHANGE)
                .map(|i| CheckIn {
                    household_code: format!("{grid}-H{}", (next + i) % 5),
                    note: "checked in, all well, neighbours say the lift is slow".into(),
                    ..gridline_testkit::check_in_by(&user, &device_id, log, &format!("bulk-{}", next + i), "")
                })
                .collect();
            next += BULK_PER_CHANGE;
            let doc = device.doc(log);
            let before = if chunks == 0 { shared.clone() } else { doc.get_heads() };
            for c in &batch {
                checkin_log::append(doc, c).expect("append");
            }
            doc.commit();
            for mut c in doc.get_changes(&before) {
                ops += c.len() as u64;
                bytes += c.bytes().len();
                inflated += c.raw_bytes().len();
                chunks += 1;
            }
            let full = |used: f64, bound: f64| used >= 0.9 * bound;
            if full(ops as f64, limits.max_ops_per_message as f64)
                || full(bytes as f64, limits.max_message_bytes as f64)
                || full(inflated as f64, limits.max_total_bytes as f64)
                || full(chunks as f64, limits.max_chunks as f64)
            {
                break;
            }
        }
        let doc = device.doc(log);
        let mut changes = doc.get_changes(&shared);
        let chunk: Vec<u8> = changes.iter_mut().flat_map(|c| c.bytes().to_vec()).collect();
        let ops: u64 = changes.iter().map(|c| c.len() as u64).sum();
        let heads = doc.get_heads();
        let message = Message {
            heads: heads.clone(),
            need: vec![],
            have: vec![Have { last_sync: shared.clone(), bloom: Default::default() }],
            changes: vec![chunk].into(),
            flags: None,
            version: MessageVersion::V2,
        }
        .encode();
        if let Err(e) = validate::sync_message(&message, &limits) {
            panic!("the largest valid message is refused: {} {}", e.code, e.message);
        }
        let len = message.len();
        out.push((request(log, message), ops, len));
        shared = heads;
    }
    out
}

/// Counts of hostile answers: kind → status (0: no answer, the connection failed) → count.
type Tally = Mutex<BTreeMap<&'static str, BTreeMap<u16, u64>>>;
/// A hostile device's attack and the (operations, bytes) of its largest valid message.
type BuiltAttack = (Attack, Vec<(u64, usize)>);

/// Sends `attack`'s bodies round and round until `stop`.
fn hostile_loop(url: &str, attack: &Attack, stop: &AtomicBool, tally: &Tally) {
    let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        let (kind, body) = &attack.bodies[i % attack.bodies.len()];
        i += 1;
        let status = http
            .post(url)
            .bearer_auth(&attack.token)
            .header("content-type", "application/cbor")
            .header("content-encoding", "gzip")
            .body(body.as_ref().clone())
            .send()
            .and_then(|r| {
                let status = r.status().as_u16();
                r.bytes().map(|_| status)
            })
            .unwrap_or(0);
        *tally.lock().expect("tally").entry(kind).or_default().entry(status).or_default() += 1;
    }
}

fn main() {
    let devices_n: usize = std::env::var("GRIDLINE_BENCH_DEVICES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let legacy = gridline_testkit::legacy();
    let hostile_on = !legacy && std::env::var("GRIDLINE_BENCH_HOSTILE").map_or(true, |v| v != "0");
    let grids_n = devices_n.div_ceil(2);
    let dir = tempfile::tempdir().expect("tempdir");
    let metrics_port = gridline_testkit::free_port().to_string();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let server = Server::start_with(dir.path(), &ServerOptions::args(&["--metrics-listen", &metrics_addr]));
    println!("server binary: {}{}", server.bin.path().display(), if legacy { " (legacy flags)" } else { "" });
    let (ok, out) = server.admin(&["community", "create", "--name", "Bench"]);
    assert!(ok, "{out}");
    let community = out["community_id"].as_str().expect("id").to_string();
    // The honest devices' grids, then one grid per hostile device.
    let grids: Vec<String> = (0..grids_n + HOSTILE).map(|g| format!("G{g:04}")).collect();
    let csv = dir.path().join("roster.csv");
    std::fs::write(&csv, Roster::grids(&grids).households(5).tags(Tags::ElderlyAlone).csv()).expect("csv");
    let (ok, out) = server.admin(&["roster", "import", "--community", &community, csv.to_str().expect("path")]);
    assert!(ok, "{out}");

    println!("setup: enrolling {devices_n} devices and syncing their rosters …");
    let setup = Instant::now();
    let devices: Mutex<Vec<(usize, Device)>> = Mutex::new(Vec::new());
    parallel((0..devices_n).collect(), 8, |n| {
        let grid = &grids[n / 2];
        let mut d = server.enroll(&community, &format!("leader {n}"), "grid_leader", &[grid]);
        d.sync().expect("initial sync");
        devices.lock().expect("devices").push((n, d));
    });
    let mut devices = devices.into_inner().expect("devices");
    for (n, d) in devices.iter_mut() {
        day_of_work(d, &grids[*n / 2], *n, 0);
    }
    println!("setup done in {:.1} s", setup.elapsed().as_secs_f64());

    // Baseline: one device alone.
    let (n0, mut d0) = devices.pop().expect("a device");
    let t = Instant::now();
    let rt0 = d0.sync().expect("baseline sync");
    let baseline = t.elapsed();

    let cpu0 = server.cpu_time();
    let (devices, times, max_rt, total) = sync_all(devices);
    let cpu1 = server.cpu_time().saturating_sub(cpu0);
    let hwm_mb = server.peak_rss_kib() as f64 / 1024.0;

    println!(
        "\n== {devices_n} devices, one day's work each ({CHECK_INS} check-ins, {INCIDENTS} incidents, 1 visit) =="
    );
    println!("baseline, device {n0} alone: {:.1} ms, {rt0} round trips", ms(baseline));
    println!("all devices done in {:.2} s (target ≤ 60 s)", total.as_secs_f64());
    println!(
        "per-device sync: p50 {:.0} ms, p99 {:.0} ms (target ≤ 2000 ms), max {:.0} ms; p99 / baseline = {:.1}×",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
        ms(percentile(&times, 1.0)),
        percentile(&times, 0.99).as_secs_f64() / baseline.as_secs_f64().max(1e-9)
    );
    println!("round trips per device: at most {max_rt}");
    println!("server on-CPU time: {:.2} s", cpu1.as_secs_f64());
    println!("server peak RSS (VmHWM): {hwm_mb:.0} MB (target ≤ 500 MB)");
    replica_catch_up(&server, &metrics_addr);

    // A station with the whole community in scope.
    let mut station = server.enroll(&community, "station", "station", &[]);
    let t = Instant::now();
    let rts = station.sync().expect("station full sync");
    let docs_in_scope = station.ids().len();
    println!(
        "\n== station, {docs_in_scope} documents in scope ==\nfirst full sync: {rts} round trips, {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let before = station.round_trips;
    let t = Instant::now();
    station.sync().expect("no-op sync");
    println!(
        "no-op sync: {} round trip(s), {:.1} ms, request {} B, response {} B (targets: 1, ≤ 2048 B each way)",
        station.round_trips - before,
        ms(t.elapsed()),
        station.last_request_bytes,
        station.last_response_bytes
    );
    println!("server peak RSS after the station: {:.0} MB", server.peak_rss_kib() as f64 / 1024.0);

    // Step 3: a second day's work, with hostile devices hammering the server.
    let mut devices = devices;
    for (n, d) in devices.iter_mut() {
        day_of_work(d, &grids[*n / 2], *n, 1);
    }
    let mut attacks = Vec::new();
    let mut bulk_figures = Vec::new();
    if hostile_on {
        let t = Instant::now();
        let bloom: &[u8] =
            include_bytes!("../../fuzz/regressions/sync_message/bloom-probes-2pow32--sync_message_too_large");
        let bomb: &[u8] =
            include_bytes!("../../fuzz/regressions/sync_message/compressed-change-16mib--sync_message_too_large");
        let mut junk = vec![0u8; MAX_BODY_BYTES];
        getrandom::fill(&mut junk).expect("random");
        let junk = Arc::new(junk);
        let built: Mutex<Vec<BuiltAttack>> = Mutex::new(Vec::new());
        parallel((0..HOSTILE).collect(), 2, |h| {
            let grid = &grids[grids_n + h];
            let mut d = server.enroll(&community, &format!("hostile {h}"), "grid_leader", &[grid]);
            let log = log_id(&community, grid);
            let bulk = largest_valid(&mut d, &log, grid);
            let figures = bulk.iter().map(|(_, ops, len)| (*ops, *len)).collect();
            let mut bodies: Vec<(&'static str, Arc<Vec<u8>>)> = Vec::new();
            for (body, _, _) in bulk {
                bodies.push(("bloom_probes", Arc::new(request(&log, bloom.to_vec()))));
                bodies.push(("inflation_bomb", Arc::new(request(&log, bomb.to_vec()))));
                bodies.push(("largest_valid", Arc::new(body)));
                bodies.push(("junk_16mib", junk.clone()));
            }
            built.lock().expect("built").push((Attack { token: d.info.token.clone(), bodies }, figures));
        });
        for (a, f) in built.into_inner().expect("built") {
            attacks.push(a);
            bulk_figures.extend(f);
        }
        println!("\nhostile requests built in {:.1} s", t.elapsed().as_secs_f64());
    }

    let stop = AtomicBool::new(false);
    let tally: Tally = Mutex::new(BTreeMap::new());
    let url = server.url("/v1/sync");
    let cpu0 = server.cpu_time();
    let (times2, max_rt2, total2) = std::thread::scope(|s| {
        for a in &attacks {
            let (url, stop, tally) = (&url, &stop, &tally);
            s.spawn(move || hostile_loop(url, a, stop, tally));
        }
        let (_, times, max_rt, total) = sync_all(devices);
        stop.store(true, Ordering::Relaxed);
        (times, max_rt, total)
    });
    let cpu2 = server.cpu_time().saturating_sub(cpu0);
    let p = |t: &[Duration], q: f64| ms(percentile(t, q));
    println!(
        "\n== second day, {} ==",
        if hostile_on {
            format!("{HOSTILE} hostile devices sending worst-case requests until the honest devices are done")
        } else {
            "no hostile devices".to_string()
        }
    );
    println!("all devices done in {:.2} s; round trips per device: at most {max_rt2}", total2.as_secs_f64());
    println!(
        "honest per-device sync   day 1 (quiet)   day 2{}",
        if hostile_on { " (under attack)" } else { " (quiet)" }
    );
    for (name, q) in [("p50", 0.5), ("p99", 0.99), ("max", 1.0)] {
        println!("  {name}                  {:>9.0} ms    {:>9.0} ms", p(&times, q), p(&times2, q));
    }
    println!("  target p99 ≤ 2000 ms");
    println!("server on-CPU time: day 1 {:.2} s, day 2 {:.2} s", cpu1.as_secs_f64(), cpu2.as_secs_f64());
    if hostile_on {
        if let (Some(min), Some(max)) =
            (bulk_figures.iter().min_by_key(|f| f.0), bulk_figures.iter().max_by_key(|f| f.0))
        {
            println!(
                "largest valid message: {}–{} operations, {:.1}–{:.1} MiB (bounds {} operations, {} MiB)",
                min.0,
                max.0,
                min.1 as f64 / 1048576.0,
                max.1 as f64 / 1048576.0,
                MessageLimits::default().max_ops_per_message,
                MessageLimits::default().max_message_bytes >> 20
            );
        }
        println!("hostile answers by status (0: connection failed without an answer):");
        let tally = tally.into_inner().expect("tally");
        let (mut limited, mut all, mut server_errors) = (0, 0, 0);
        for (kind, statuses) in &tally {
            let line: Vec<String> = statuses.iter().map(|(s, n)| format!("{s}: {n}")).collect();
            println!("  {kind:<16} {}", line.join(", "));
            for (s, n) in statuses {
                all += n;
                limited += if *s == 429 { *n } else { 0 };
                server_errors += if *s >= 500 { *n } else { 0 };
            }
        }
        println!(
            "  {all} hostile requests, {limited} answered 429 (rate limit or quota), {server_errors} answered 5xx"
        );
        if server_errors > 0 {
            println!("  BUG: the server answered 5xx to hostile requests");
        }
    } else if legacy {
        println!("hostile devices skipped: the legacy binary has no message validation to survive them");
    }
    println!("server peak RSS (VmHWM) after day 2: {:.0} MB", server.peak_rss_kib() as f64 / 1024.0);
}
