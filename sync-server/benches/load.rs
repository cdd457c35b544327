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
//! Baseline printed beside the figures: the same day's work synced by one device alone, on the same server.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gridline_core::docs::{incident, visit_log, DocId};
use gridline_core::model::{CheckIn, IncidentEvent, IncidentFields, Severity, Visit, VisitKind};
use support::{log_id, Device, Server};

const CHECK_INS: usize = 20;
const INCIDENTS: usize = 4;
const EVENTS: usize = 5;

fn day_of_work(device: &mut Device, grid: &str, n: usize) {
    let community = device.community().to_string();
    let log = log_id(&community, grid);
    let (user, device_id) = (device.info.user.clone(), device.info.device_id.clone());
    let at = chrono::DateTime::parse_from_rfc3339(support::CHECK_IN_AT).expect("time");
    for i in 0..CHECK_INS {
        let c = CheckIn {
            household_code: format!("{grid}-H{}", i % 5),
            note: "checked in, all well, neighbours say the lift is slow".into(),
            ..device.check_in(&log, &format!("{n}-{i}"), "")
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
        visit_id: format!("{n}"),
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

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn parallel<T: Send>(items: Vec<T>, threads: usize, f: impl Fn(T) + Sync) {
    let queue = Mutex::new(items);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let Some(item) = queue.lock().expect("queue").pop() else { break };
                f(item);
            });
        }
    });
}

fn main() {
    let devices_n: usize = std::env::var("GRIDLINE_BENCH_DEVICES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let grids_n = devices_n.div_ceil(2);
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let (ok, out) = server.admin(&["community", "create", "--name", "Bench"]);
    assert!(ok, "{out}");
    let community = out["community_id"].as_str().expect("id").to_string();
    let grids: Vec<String> = (0..grids_n).map(|g| format!("G{g:04}")).collect();
    let csv = dir.path().join("roster.csv");
    std::fs::write(&csv, support::roster_csv(&grids.iter().map(String::as_str).collect::<Vec<_>>(), 5)).expect("csv");
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
        day_of_work(d, &grids[*n / 2], *n);
    }
    println!("setup done in {:.1} s", setup.elapsed().as_secs_f64());

    // Baseline: one device alone.
    let (n0, mut d0) = devices.pop().expect("a device");
    let t = Instant::now();
    let rt0 = d0.sync().expect("baseline sync");
    let baseline = t.elapsed();

    let times = Arc::new(Mutex::new(Vec::with_capacity(devices_n)));
    let round_trips = Arc::new(Mutex::new(Vec::with_capacity(devices_n)));
    let start = Instant::now();
    parallel(devices, 32, |(_, mut d)| {
        let t = Instant::now();
        let rt = d.sync().expect("sync");
        times.lock().expect("times").push(t.elapsed());
        round_trips.lock().expect("rts").push(rt);
    });
    let total = start.elapsed();
    let mut times = times.lock().expect("times").clone();
    times.sort();
    let max_rt = round_trips.lock().expect("rts").iter().copied().max().unwrap_or(0);
    let hwm_mb = server.peak_rss_kib() as f64 / 1024.0;

    println!(
        "\n== {devices_n} devices, one day's work each ({CHECK_INS} check-ins, {INCIDENTS} incidents, 1 visit) =="
    );
    println!("baseline, device {n0} alone: {:.1} ms, {rt0} round trips", baseline.as_secs_f64() * 1e3);
    println!("all devices done in {:.2} s (target ≤ 60 s)", total.as_secs_f64());
    println!(
        "per-device sync: p50 {:.0} ms, p99 {:.0} ms (target ≤ 2000 ms), max {:.0} ms; p99 / baseline = {:.1}×",
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        percentile(&times, 1.0).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() / baseline.as_secs_f64().max(1e-9)
    );
    println!("round trips per device: at most {max_rt}");
    println!("server peak RSS (VmHWM): {hwm_mb:.0} MB (target ≤ 500 MB)");

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
        t.elapsed().as_secs_f64() * 1e3,
        station.last_request_bytes,
        station.last_response_bytes
    );
    println!("server peak RSS after the station: {:.0} MB", server.peak_rss_kib() as f64 / 1024.0);
}
