//! Devices against the real `gridline-server` on loopback, through the core's sync client: two grid
//! leaders in grid A, one in grid B, a committee and a station work offline for days (check-ins, an incident
//! acted on concurrently), then sync in random orders. Every device ends with exactly what its scope allows,
//! identical to every other device that may see it, and the grid-B phone never holds anything of grid A. A
//! server killed with SIGKILL between syncs loses nothing it acknowledged; a revoked device wipes its store.
//! The server is the workspace's `gridline-server` (the test kit builds it when missing): a binary that cannot
//! serve fails these tests, it never skips them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use chrono::{Duration, FixedOffset, TimeZone, Utc};
use gridline_core::docs::{checkin_log, DocId, DocKind};
use gridline_core::model::{CheckInKind, CheckInOutcome, NewCheckIn, NewIncident};
use gridline_core::store::IncidentAct;
use gridline_core::sync::NoProgress;
use gridline_core::workflow::Action;
use gridline_core::{Clock, FixedClock, Store};
use gridline_scenarios::roster;
use gridline_testkit::server::workspace_binary;
use gridline_testkit::{Rng, Server};

const HOUSEHOLDS: usize = 12;

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock(Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).single().expect("valid time")))
}

/// A community with grids A and B on the server; returns its id.
fn community(server: &Server) -> String {
    let community = server.community("幸福社区");
    server.import_roster(&community, "roster.csv", &roster(&["A", "B"], HOUSEHOLDS).csv());
    community
}

struct Phone {
    name: &'static str,
    store: Store,
    grids: Vec<&'static str>,
}

fn enroll(
    server: &Server,
    dir: &Path,
    community: &str,
    name: &'static str,
    role: &str,
    grids: &[&'static str],
) -> Phone {
    let code = server.enrollment_code(community, name, role, grids);
    let store = Store::enroll(&dir.join(name), &[3; 32], &server.url(""), &code, false, clock()).expect("enroll");
    Phone { name, store, grids: grids.to_vec() }
}

fn sync(phone: &mut Phone) -> gridline_core::sync::SyncReport {
    phone.store.sync(&NoProgress, &AtomicBool::new(false)).unwrap_or_else(|e| panic!("{} sync: {e}", phone.name))
}

/// `n` check-ins on `day` (0 = 2026-11-20) at households of `grid`, chosen by `rng`.
fn work(phone: &mut Phone, grid: &str, day: i64, n: usize, rng: &mut Rng) {
    let tz = FixedOffset::east_opt(8 * 3600).expect("offset");
    let start = tz.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).single().expect("valid time") + Duration::days(day);
    for i in 0..n {
        let household = format!("{grid}-H{:04}", rng.below(HOUSEHOLDS as u64));
        phone
            .store
            .check_in(NewCheckIn {
                household_code: household,
                kind: if rng.below(2) == 0 { CheckInKind::Door } else { CheckInKind::Phone },
                outcome: CheckInOutcome::Well,
                note: format!("{} day {day} #{i}", phone.name),
                photos: vec![],
                location: None,
                at: Some(start + Duration::minutes(i as i64)),
            })
            .unwrap_or_else(|e| panic!("{} check-in: {e}", phone.name));
    }
}

/// Every document a phone holds with its heads.
fn holdings(phone: &Phone) -> BTreeMap<String, Vec<String>> {
    phone.store.documents().expect("documents").into_iter().collect()
}

/// Check-in ids in the phone's documents, by grid.
fn check_ins(phone: &Phone) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for id in holdings(phone).keys() {
        let id = DocId::parse(id).expect("doc id");
        if id.kind != DocKind::CheckInLog {
            continue;
        }
        let doc = phone.store.load_doc(&id).expect("load").expect("held");
        let grid = id.grid.clone().unwrap_or_default();
        out.entry(grid).or_default().extend(checkin_log::check_ins(&doc).into_iter().map(|c| c.check_in_id));
    }
    for ids in out.values_mut() {
        ids.sort();
    }
    out
}

fn in_grids(doc_id: &str, grids: &[&str]) -> bool {
    let id = DocId::parse(doc_id).expect("doc id");
    grids.is_empty() || id.grid.as_deref().is_none_or(|g| grids.contains(&g))
}

#[test]
fn devices_converge_on_what_each_may_see() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("server-data"));
    let community = community(&server);
    let mut phones = vec![
        enroll(&server, dir.path(), &community, "a1", "grid_leader", &["A"]),
        enroll(&server, dir.path(), &community, "a2", "grid_leader", &["A"]),
        enroll(&server, dir.path(), &community, "b", "grid_leader", &["B"]),
        enroll(&server, dir.path(), &community, "committee", "committee", &[]),
        enroll(&server, dir.path(), &community, "station", "station", &[]),
    ];
    for phone in phones.iter_mut() {
        let first = sync(phone);
        assert!(first.docs_received >= 2, "{}: community and roster arrive: {first:?}", phone.name);
    }
    let seed = std::env::var("GRIDLINE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5e11_2026);
    let mut rng = Rng::new(seed);
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    // Three offline days: each phone works, then the phones sync in a random order (some not at all).
    for day in 0..3 {
        for phone in phones.iter_mut() {
            let grids: Vec<&str> = if phone.grids.is_empty() { vec!["A", "B"] } else { phone.grids.clone() };
            for grid in grids {
                let n = 5 + rng.below(10) as usize;
                work(phone, grid, day, n, &mut rng);
                *expected.entry(grid.to_string()).or_default() += n;
            }
        }
        for _ in 0..4 {
            let i = rng.below(phones.len() as u64) as usize;
            let report = sync(&mut phones[i]);
            assert!(report.round_trips <= 3, "{}: {report:?}", phones[i].name);
        }
    }
    // An incident in grid A: reported and synced, then dispatched by the committee while the second grid
    // leader comments on it, both offline.
    let incident = phones[0]
        .store
        .report_incident(NewIncident {
            household_code: Some("A-H0003".into()),
            grid: None,
            category: "safety_hazard".into(),
            severity: None,
            title: "楼道灯不亮".into(),
            description: "晚上楼道漆黑".into(),
            photos: vec![],
            location: None,
            at: None,
            check_in_id: None,
        })
        .expect("report")
        .incident_id;
    for phone in phones.iter_mut() {
        sync(phone);
    }
    phones[3].store.incident_act(&incident, IncidentAct::new(Action::Dispatch, "转工作站")).expect("dispatch");
    phones[1].store.incident_act(&incident, IncidentAct::new(Action::Comment, "居民又来问了")).expect("comment");
    // Two passes in order: the first sends everything, the second fetches what others sent after.
    for _ in 0..2 {
        for phone in phones.iter_mut() {
            sync(phone);
        }
    }
    let seen: Vec<(String, serde_json::Value)> = phones
        .iter()
        .filter(|p| p.name != "b")
        .map(|p| {
            let detail = p.store.incident_detail(&incident).unwrap_or_else(|e| panic!("{}: {e}", p.name));
            (detail.stage.code().to_string(), serde_json::to_value(&detail.events).expect("events"))
        })
        .collect();
    assert!(seen.iter().all(|s| s == &seen[0]), "one incident history everywhere: {seen:?}");
    assert_eq!(seen[0].0, "at_station");
    let device_actions: Vec<&str> = seen[0]
        .1
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["role"] != "server")
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(device_actions, ["report", "dispatch", "comment"], "the server's receipt aside");
    assert!(phones[2].store.incident_detail(&incident).is_err(), "grid B cannot see grid A's incident");
    let station = holdings(&phones[4]);
    for phone in &phones {
        let held = holdings(phone);
        let expected_docs: BTreeMap<String, Vec<String>> =
            station.iter().filter(|(id, _)| in_grids(id, &phone.grids)).map(|(k, v)| (k.clone(), v.clone())).collect();
        assert_eq!(held, expected_docs, "{} holds exactly its scope, at the same heads", phone.name);
        let ids = check_ins(phone);
        for (grid, n) in &expected {
            let visible = phone.grids.is_empty() || phone.grids.contains(&grid.as_str());
            let got = ids.get(grid).map_or(0, Vec::len);
            assert_eq!(got, if visible { *n } else { 0 }, "{}: check-ins of grid {grid}", phone.name);
        }
    }
    assert!(holdings(&phones[2]).keys().all(|id| !id.contains(":A")), "grid B holds no id of grid A");
    let idle = sync(&mut phones[0]);
    assert_eq!((idle.round_trips, idle.docs_sent, idle.docs_received), (1, 0, 0), "{idle:?}");
}

#[test]
fn a_server_killed_between_syncs_keeps_what_it_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(&dir.path().join("server-data"));
    let community = community(&server);
    let mut a1 = enroll(&server, dir.path(), &community, "a1", "grid_leader", &["A"]);
    let mut a2 = enroll(&server, dir.path(), &community, "a2", "grid_leader", &["A"]);
    sync(&mut a1);
    let mut rng = Rng::new(7);
    work(&mut a1, "A", 0, 40, &mut rng);
    sync(&mut a1);
    server.kill();
    work(&mut a1, "A", 1, 10, &mut rng);
    let down = a1.store.sync(&NoProgress, &AtomicBool::new(false));
    assert_eq!(
        down.map_err(|e| e.code()),
        Err(gridline_core::ErrorCode::NetworkError),
        "retries give up while the server is down"
    );
    server.restart();
    sync(&mut a1);
    sync(&mut a2);
    assert_eq!(check_ins(&a2).get("A").map_or(0, Vec::len), 50, "nothing lost, nothing doubled");
    assert_eq!(holdings(&a1), holdings(&a2));
}

#[test]
fn a_revoked_device_is_wiped_and_a_code_works_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("server-data"));
    let community = community(&server);
    let code = server.enrollment_code(&community, "a1", "grid_leader", &["A"]);
    let mut a1 =
        Store::enroll(&dir.path().join("a1"), &[3; 32], &server.url(""), &code, false, clock()).expect("enroll");
    let again = Store::enroll(&dir.path().join("again"), &[3; 32], &server.url(""), &code, false, clock());
    assert!(again.is_err(), "a code works once");
    a1.sync(&NoProgress, &AtomicBool::new(false)).expect("sync");
    server.admin_ok(&["device", "revoke", &a1.device().device_id.clone()]);
    let err = a1.sync(&NoProgress, &AtomicBool::new(false));
    assert_eq!(err.map_err(|e| e.code()), Err(gridline_core::ErrorCode::DeviceRevoked));
    assert!(!dir.path().join("a1").join(gridline_core::store::STORE_FILE).exists());
}

/// `gridline --store DIR --json ARGS…` with the clock pinned; returns success and the JSON document.
fn cli(store: &Path, args: &[&str]) -> (bool, serde_json::Value) {
    let out = std::process::Command::new(workspace_binary("gridline", "gridline"))
        .arg("--store")
        .arg(store)
        .arg("--json")
        .args(args)
        .env("GRIDLINE_NOW", "2026-11-24T18:00:00+08:00")
        .output()
        .expect("run gridline");
    (out.status.success(), serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null))
}

fn cli_ok(store: &Path, args: &[&str]) -> serde_json::Value {
    let (ok, doc) = cli(store, args);
    assert!(ok, "gridline {args:?}: {doc}");
    doc
}

#[test]
fn the_cli_enrolls_syncs_and_hands_work_over_by_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("server-data"));
    let community = community(&server);
    let (p1, p2) = (dir.path().join("p1"), dir.path().join("p2"));
    for (store, user) in [(&p1, "王"), (&p2, "李")] {
        let code = server.enrollment_code(&community, user, "grid_leader", &["A"]);
        let enrolled = cli_ok(store, &["enroll", "--server", &server.url(""), "--code", &code]);
        assert_eq!(enrolled["role"], "grid_leader");
        let first = cli_ok(store, &["sync"]);
        for field in ["round_trips", "docs_sent", "docs_received", "bytes_up", "bytes_down", "blobs_up", "blobs_down"] {
            assert!(first[field].is_u64(), "sync --json has {field}: {first}");
        }
    }
    assert!(!cli_ok(&p1, &["rounds"])["items"].as_array().expect("items").is_empty(), "the roster arrived");
    cli_ok(&p1, &["checkin", "A-H0001", "--kind", "door", "--outcome", "well", "--note", "经同步"]);
    let up = cli_ok(&p1, &["sync"]);
    assert_eq!((up["round_trips"].as_u64(), up["docs_sent"].as_u64()), (Some(1), Some(1)), "{up}");
    let down = cli_ok(&p2, &["sync"]);
    assert_eq!(down["docs_received"], 1, "{down}");
    let shown = cli_ok(&p2, &["household", "show", "A-H0001"]);
    assert_eq!(shown["check_ins"][0]["note"], "经同步");

    // Offline: p1 hands the next check-in to p2 by file, and p2 takes it to the server.
    cli_ok(&p1, &["checkin", "A-H0002", "--kind", "phone", "--outcome", "well", "--note", "交接"]);
    let bundle = dir.path().join("hand-off.bundle");
    cli_ok(&p1, &["bundle", "export", "--out", bundle.to_str().expect("utf-8 path")]);
    let imported = cli_ok(&p2, &["bundle", "import", bundle.to_str().expect("utf-8 path")]);
    assert_eq!(imported["docs_changed"], 1, "{imported}");
    let relayed = cli_ok(&p2, &["sync"]);
    assert_eq!(relayed["docs_sent"], 1, "the server accepted p1's signed change from p2: {relayed}");
    let junk = dir.path().join("junk.bundle");
    std::fs::write(&junk, b"not a bundle").expect("write");
    let (ok, err) = cli(&p2, &["bundle", "import", junk.to_str().expect("utf-8 path")]);
    assert!(!ok);
    assert_eq!(err["error"]["code"], "bundle_invalid");
}

#[test]
fn a_forged_change_in_one_document_is_set_aside_and_everything_else_syncs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("server-data"));
    let community = community(&server);
    let (p1, p2) = (dir.path().join("p1"), dir.path().join("p2"));
    let mut ids = Vec::new();
    for (store, user) in [(&p1, "王"), (&p2, "李")] {
        let code = server.enrollment_code(&community, user, "grid_leader", &["A"]);
        ids.push(cli_ok(store, &["enroll", "--server", &server.url(""), "--code", &code])["device_id"].to_string());
        cli_ok(store, &["sync"]);
    }
    let victim = ids[1].trim_matches('"').to_string();
    // p1's store holds a day whose second change claims to be p2's, unsigned.
    let forged_day = DocId::check_in_log(&community, "A", chrono::NaiveDate::from_ymd_opt(2026, 11, 20).expect("day"));
    let forged_hash = {
        let key = gridline_core::store::read_key_file(&p1.join("store.key")).expect("key");
        let mut store = Store::open(&p1, &key, clock()).expect("open");
        let own = gridline_core::sync::signing::device_actor(&store.device().device_id).expect("actor");
        let mut doc = store.checkout(&forged_day).expect("checkout");
        doc.set_actor(gridline_core::sync::signing::device_actor(&victim).expect("actor"));
        gridline_core::docs::put_entity(&mut doc, "checkin/planted", &vec![("note", gridline_core::docs::s("伪造"))])
            .expect("forge");
        doc.commit();
        let hash = doc.get_heads()[0].to_string();
        doc.set_actor(own);
        store.persist(vec![(forged_day.clone(), doc)], |_, _| Ok(())).expect("persist");
        hash
    };
    cli_ok(&p1, &["checkin", "A-H0001", "--kind", "door", "--outcome", "well", "--note", "照常"]);
    let first = cli_ok(&p1, &["sync"]);
    assert_eq!(first["docs_sent"], 1, "today's work still goes up: {first}");
    let refused = first["refused"].as_array().expect("refused");
    assert_eq!(refused.len(), 1, "{first}");
    assert_eq!(refused[0]["doc_id"], forged_day.to_string());
    assert_eq!(refused[0]["code"], "forbidden_change");
    assert_eq!(refused[0]["change_hash"], forged_hash.as_str());
    let down = cli_ok(&p2, &["sync"]);
    assert_eq!(down["docs_received"], 1, "p2 gets today's check-in and nothing forged: {down}");
    let shown = cli_ok(&p2, &["household", "show", "A-H0001"]);
    assert_eq!(shown["check_ins"][0]["note"], "照常");
    // Not retried until asked; still shown.
    let idle = cli_ok(&p1, &["sync"]);
    assert_eq!((idle["docs_sent"].as_u64(), idle["refused"].as_array().map(Vec::len)), (Some(0), Some(1)), "{idle}");
    let asked = cli_ok(&p1, &["sync", "--retry-refused"]);
    assert_eq!(asked["docs_set_aside"], 1, "offered again when asked, and refused again: {asked}");
}
