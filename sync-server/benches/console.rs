//! Console bench: one `gridline-server` process on loopback holding a community of 10 grids × 300 households
//! and 10,000 incidents reported by phones (run: `cargo bench -p gridline-server --bench console`;
//! `GRIDLINE_BENCH_INCIDENTS` overrides the incident count).
//!
//! Figures printed:
//! - how long the console's replica takes to take in the 10,000 incidents after the phones' last sync;
//! - the queue's first page (default filter: every open incident, nearest deadline first), a search, and an
//!   incident's page, p50/p99 over repeated requests — target: the queue's first page ≤ 300 ms;
//! - the coverage dashboard of the month, with two check-ins per household of the month so far (6,000 for
//!   3,000 households, every household special-care: the heaviest month the ledger counts), computed after a
//!   phone's sync changed the replica, and again with nothing changed (kept) — target ≤ 500 ms;
//! - the baseline in the same run: the same pages of an empty community (sign-in, session, chrome and template
//!   alone), and the ratio;
//! - a phone's sync to the server-sent event on an open queue page, p50/max over 20 syncs — target ≤ 1 s;
//! - the server's peak resident memory.
//!
//! Times are measured by the client on loopback: the server's time plus a fraction of a millisecond.

use std::time::{Duration, Instant};

use gridline_core::model::Severity;
use gridline_testkit::{Roster, Server, ServerOptions, StaffClient, Tags};

const GRIDS: usize = 10;
const HOUSEHOLDS: usize = 300;
/// Incident documents per sync request while loading.
const PUSH_BATCH: usize = 500;
const REPEAT: usize = 30;
const SSE_TRIALS: usize = 20;
/// Dashboards computed afresh (each after a phone's sync changed the replica).
const DASHBOARD_TRIALS: usize = 10;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn quantile(times: &mut [Duration], q: f64) -> f64 {
    times.sort();
    let i = ((times.len() as f64 - 1.0) * q).round() as usize;
    ms(times[i.min(times.len() - 1)])
}

/// Times `n` GETs of `path` that must answer 200.
fn time_gets(staff: &StaffClient, path: &str, n: usize) -> Vec<Duration> {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            let res = staff.get(path);
            assert_eq!(res.status().as_u16(), 200, "GET {path}");
            res.bytes().expect("body");
            t.elapsed()
        })
        .collect()
}

fn report(name: &str, times: &mut [Duration], base: &mut [Duration]) {
    let (p50, p99, b50) = (quantile(times, 0.5), quantile(times, 0.99), quantile(base, 0.5));
    println!(
        "  {name:<28} p50 {p50:>7.1} ms   p99 {p99:>7.1} ms   empty community p50 {b50:>6.1} ms   ratio {:>5.1}×",
        p50 / b50.max(0.01)
    );
}

/// Two door check-ins per household, spread over the days of this month so far (in the community's time
/// zone, the default one), each grid's leader syncing its grid's day logs; returns how many.
fn month_of_check_ins(leaders: &mut [gridline_testkit::Device], grids: &[String]) -> usize {
    use chrono::{Datelike, TimeZone};
    let tz = chrono_tz::Asia::Shanghai;
    let now = chrono::Utc::now().with_timezone(&tz);
    let days = now.day() as usize;
    let mut n = 0;
    for (leader, grid) in leaders.iter_mut().zip(grids) {
        let community = leader.community().to_string();
        let mut logs = Vec::new();
        for h in 0..HOUSEHOLDS {
            for visit in 0..2 {
                let day = (h * 2 + visit) % days + 1;
                let date = now.date_naive().with_day(day as u32).expect("a day of this month");
                let ten = tz.from_local_datetime(&date.and_hms_opt(10, 0, 0).expect("10:00")).single().expect("time");
                let at = ten.min(now - chrono::Duration::minutes(1)).fixed_offset();
                let log = gridline_core::docs::DocId::check_in_log(&community, grid, date);
                let c = gridline_core::model::CheckIn {
                    household_code: format!("{grid}-H{h}"),
                    at,
                    ..leader.check_in(&log, &format!("{grid}-{h}-{visit}"), "")
                };
                leader.append_check_in(&log, &c);
                if !logs.contains(&log) {
                    logs.push(log);
                }
                n += 1;
            }
        }
        leader.push(&logs).expect("push the month's logs");
    }
    n
}

fn main() {
    let incidents: usize =
        std::env::var("GRIDLINE_BENCH_INCIDENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_with(dir.path(), &ServerOptions::args(&["--quota-new-documents", "1000000"]));
    println!("server binary: {}", server.bin.path().display());
    let community = server.community("Bench community");
    let grids: Vec<String> = (0..GRIDS).map(|g| format!("G{g:02}")).collect();
    server.import_roster(
        &community,
        "roster.csv",
        &Roster::grids(&grids).households(HOUSEHOLDS).tags(Tags::ElderlyAlone).csv(),
    );
    let empty = server.community("Empty community");

    let staff = server.signed_in_staff(&community, "bench.station", "station");
    let baseline = server.signed_in_staff(&empty, "bench.empty", "station");
    println!("loading: {incidents} incidents from {GRIDS} grid leaders …");
    let load = Instant::now();
    let mut leaders: Vec<_> =
        grids.iter().map(|g| server.enroll(&community, &format!("leader {g}"), "grid_leader", &[g])).collect();
    let per = incidents.div_ceil(GRIDS);
    let mut sample = None;
    for (g, leader) in leaders.iter_mut().enumerate() {
        let mut batch = Vec::new();
        for i in 0..per.min(incidents - g * per) {
            let severity = if i % 20 == 0 { Severity::Urgent } else { Severity::Normal };
            let id = leader.report_incident(&grids[g], &format!("楼道灯不亮 {g}-{i}"), severity);
            sample.get_or_insert_with(|| id.key.clone().expect("incident id"));
            batch.push(id);
            if batch.len() == PUSH_BATCH {
                leader.push(&batch).expect("push");
                batch.clear();
            }
        }
        if !batch.is_empty() {
            leader.push(&batch).expect("push");
        }
    }
    let synced = load.elapsed();
    println!("phones synced {incidents} incidents in {:.1} s", synced.as_secs_f64());

    let fed_from = Instant::now();
    loop {
        let page = staff.page("/console/queue?stage=all");
        if page.contains(&format!(">{incidents} ")) {
            break;
        }
        assert!(fed_from.elapsed() < Duration::from_secs(600), "the replica never took in every incident");
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("replica took in every incident {:.1} s after the last sync", fed_from.elapsed().as_secs_f64());
    let check_ins = month_of_check_ins(&mut leaders, &grids);
    println!("phones synced {check_ins} check-ins of this month");

    println!("pages ({REPEAT} requests each):");
    let sample = sample.expect("an incident");
    let pages = [
        ("queue, first page", "/console/queue".to_string(), "/console/queue".to_string()),
        ("queue, search", "/console/queue?stage=all&q=G03".to_string(), "/console/queue?stage=all&q=G03".to_string()),
        (
            "queue, urgent overdue",
            "/console/queue?severity=urgent&overdue=1".to_string(),
            "/console/queue?severity=urgent&overdue=1".to_string(),
        ),
        ("incident page", format!("/console/incidents/{sample}"), "/console/queue".to_string()),
        ("dashboard, unchanged replica", "/console/dashboard".to_string(), "/console/dashboard".to_string()),
    ];
    for (name, path, base_path) in pages {
        time_gets(&staff, &path, 2);
        let mut times = time_gets(&staff, &path, REPEAT);
        let mut base = time_gets(&baseline, &base_path, REPEAT);
        report(name, &mut times, &mut base);
    }
    // The dashboard is computed again once the replica has merged anything: a phone syncs an incident first.
    let mut computed = Vec::new();
    let mut base = time_gets(&baseline, "/console/dashboard", DASHBOARD_TRIALS);
    for t in 0..DASHBOARD_TRIALS {
        let id = leaders[t % GRIDS].report_incident(&grids[t % GRIDS], "路灯不亮", Severity::Normal);
        leaders[t % GRIDS].push(std::slice::from_ref(&id)).expect("push");
        let key = id.key.expect("incident id");
        let seen = Instant::now();
        while !staff.page("/console/queue?stage=all&q=路灯不亮").contains(&key) {
            assert!(seen.elapsed() < Duration::from_secs(10), "the replica never merged the incident");
            std::thread::sleep(Duration::from_millis(20));
        }
        computed.extend(time_gets(&staff, "/console/dashboard", 1));
    }
    report("dashboard, after a sync", &mut computed, &mut base);
    println!("  targets: the queue's first page ≤ 300 ms, the dashboard ≤ 500 ms");

    // A phone's sync to the event on an open page.
    let rx = staff.live_updates();
    let mut latencies = Vec::new();
    for t in 0..SSE_TRIALS {
        let id = leaders[t % GRIDS].report_incident(&grids[t % GRIDS], "电梯困人", Severity::Urgent);
        leaders[t % GRIDS].push(std::slice::from_ref(&id)).expect("push");
        let synced = Instant::now();
        let key = id.key.expect("incident id");
        loop {
            let (at, ids) = rx.recv_timeout(Duration::from_secs(10)).expect("an event within 10 s");
            if ids.split(',').any(|i| i == key) {
                latencies.push(at.saturating_duration_since(synced));
                break;
            }
        }
    }
    println!(
        "phone sync → event on an open page: p50 {:.0} ms, max {:.0} ms over {SSE_TRIALS} syncs (target ≤ 1000 ms)",
        quantile(&mut latencies, 0.5),
        quantile(&mut latencies, 1.0)
    );
    println!("server peak RSS (VmHWM): {:.0} MB", server.peak_rss_kib() as f64 / 1024.0);
}
