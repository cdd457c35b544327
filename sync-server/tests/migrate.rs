//! The migration from SQLite: `admin migrate --from-data DIR --database-url URL` moves a single-machine
//! deployment to PostgreSQL with nothing lost. Devices enrolled on SQLite sync on with the server on
//! PostgreSQL with the same tokens, their cursors neither skip a write nor list everything again, staff sign
//! in with their passwords; a database that holds data, a missing source, or one of another schema version is
//! refused with nothing written, and a copy that differs from its source is caught.
//!
//! The PostgreSQL parts need `GRIDLINE_TEST_DATABASE_URL` (tests/run sets it); without it they print why and
//! pass. The servers moved from run on SQLite whatever `GRIDLINE_TEST_SERVERS_ON_POSTGRES` says.

use std::collections::BTreeSet;
use std::path::Path;

use gridline_core::docs::{checkin_log, incident, visit_log, DocId};
use gridline_core::model::{IncidentEvent, Severity, Visit, VisitKind};
use gridline_core::ErrorCode;
use gridline_server::storage::migrate;
use gridline_server::storage::postgres::PgStorage;
use gridline_server::storage::sqlite::DB_FILE;
use gridline_server::storage::{ConsoleStorage, Storage};
use gridline_testkit::{log_id, Device, Server, ServerBin, ServerOptions, TestDatabase, CHECK_IN_AT};
use serde_json::Value;
use sha2::{Digest, Sha256};

const PASSWORD: &str = "correct horse battery";

/// A URL nothing listens on: a refusal that names the source proves the database was never reached.
const NOWHERE: &str = "postgres://nobody@127.0.0.1:1/nothing";

/// `admin migrate --from-data FROM --database-url URL --json`; returns (success, document).
fn migrate(from: &Path, url: &str) -> (bool, Value) {
    let from_arg = from.to_str().expect("utf-8 path");
    ServerBin::this_build().admin_on(from, Some(url), &["migrate", "--from-data", from_arg])
}

fn error_code(doc: &Value) -> &str {
    doc["error"]["code"].as_str().unwrap_or_default()
}

/// SHA-256 of the SQLite file and its write-ahead log (what a write would change).
fn source_digest(data: &Path) -> Vec<u8> {
    let mut hasher = Sha256::new();
    for file in [DB_FILE.to_string(), format!("{DB_FILE}-wal")] {
        hasher.update(std::fs::read(data.join(file)).unwrap_or_default());
    }
    hasher.finalize().to_vec()
}

fn check_ins(device: &Device, log: &DocId) -> BTreeSet<String> {
    device
        .docs
        .get(&log.to_string())
        .map_or_else(BTreeSet::new, |doc| checkin_log::check_ins(doc).into_iter().map(|c| c.check_in_id).collect())
}

/// Appends an incident event of `device` claiming `role`, as its phone would.
fn act(device: &mut Device, id: &DocId, action: &str, role: &str) {
    let event = IncidentEvent::new(action, &device.info.user, &device.info.device_id, role, CHECK_IN_AT);
    let doc = device.doc(id);
    incident::append_event(doc, &event).expect("event");
    doc.commit();
}

/// A home visit of `device`'s user to the first household of G01.
fn visit(device: &mut Device, log: &DocId) {
    let at = chrono::DateTime::parse_from_rfc3339(CHECK_IN_AT).expect("time");
    let visit = Visit {
        visit_id: uuid::Uuid::now_v7().to_string(),
        household_code: "G01-H0".into(),
        grid: "G01".into(),
        residents: vec![],
        kind: VisitKind::Home,
        at,
        day: at.date_naive(),
        duration_min: Some(30),
        services: vec![],
        needs: String::new(),
        need_tags: vec![],
        follow_up: None,
        satisfaction: None,
        photos: vec![],
        author: device.info.user.clone(),
        device_id: device.info.device_id.clone(),
    };
    let doc = device.doc(log);
    visit_log::append(doc, &visit).expect("visit");
    doc.commit();
}

fn sync_all(devices: &mut [&mut Device]) {
    // Twice round: what one device sends reaches every other on the second pass.
    for _ in 0..2 {
        for d in devices.iter_mut() {
            d.sync().unwrap_or_else(|e| panic!("{} syncs: {e:?}", d.info.user));
        }
    }
}

fn heads(device: &mut Device, id: &str) -> Vec<automerge::ChangeHash> {
    device.docs.get_mut(id).map(|d| d.get_heads()).unwrap_or_default()
}

#[test]
fn the_migration_from_sqlite_keeps_every_device_syncing() {
    let Some(db) = TestDatabase::create_for("the_migration_from_sqlite_keeps_every_device_syncing") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let on_sqlite = ServerOptions { sqlite: true, ..ServerOptions::default() };
    let mut server = Server::start_with(&data, &on_sqlite);
    let community = server.community_with_roster();
    let mut a = server.enroll(&community, "A", "grid_leader", &["G01"]);
    let mut b = server.enroll(&community, "B", "grid_leader", &["G01"]);
    let mut committee = server.enroll(&community, "C", "committee", &[]);
    let mut station = server.enroll(&community, "S", "station", &[]);
    let mut revoked = server.enroll(&community, "R", "grid_worker", &["G01"]);
    revoked.sync().expect("syncs while enrolled");
    server.admin_ok(&["device", "revoke", &revoked.info.device_id]);
    let unused_code = server.enrollment_code(&community, "D", "grid_worker", &["G01"]);

    // Real work: check-ins (one with a photo), a visit, an incident taken through the committee and station.
    let photo = b"jpeg bytes of a broken stair rail".repeat(1000);
    let photo_hash = hex::encode(Sha256::digest(&photo));
    let photo_url = |server: &Server| server.url(&format!("/v1/blobs/{photo_hash}"));
    let put = server.http.put(photo_url(&server)).bearer_auth(&a.info.token).body(photo.clone()).send();
    assert_eq!(put.expect("put").status().as_u16(), 201);
    let log = log_id(&community, "G01");
    let mut with_photo = a.check_in(&log, "a-1", "the stair rail");
    with_photo.photos = vec![photo_hash.clone()];
    a.append_check_in(&log, &with_photo);
    b.write(&log, "checkin/b-1", "nobody home");
    let visits = DocId::visit_log(&community, "G01", "2026-11");
    visit(&mut b, &visits);
    let incident_id = a.report_incident("G01", "Stairwell light out", Severity::Normal);
    sync_all(&mut [&mut a, &mut b, &mut committee, &mut station]);
    act(&mut committee, &incident_id, "dispatch", "committee");
    committee.sync().expect("dispatch synced");
    station.sync().expect("station syncs");
    act(&mut station, &incident_id, "verify", "station");
    sync_all(&mut [&mut station, &mut a, &mut b, &mut committee]);
    // A service order dispatched to a volunteer: the order's audience moves with it.
    let mut volunteer = server.enroll(&community, "V", "volunteer", &[]);
    let order = a.request_order("G01", "G01-H0", "meal_delivery");
    a.sync().expect("the order goes up");
    committee.sync().expect("committee receives it");
    let mut dispatch = committee.order_event("dispatch");
    dispatch.volunteer = Some("V".into());
    committee.append_order_event(&order, &dispatch);
    committee.sync().expect("dispatched");

    // A console account, signed in once (a session and audit entries to move).
    server.staff(&community, "li", "committee", PASSWORD);
    assert_eq!(server.console_client().sign_in("li", PASSWORD).status().as_u16(), 303);

    // A write in another community last: SQLite's one counter moves past every version of the first
    // community, and A's cursor with it. PostgreSQL's per-community counter must continue from there.
    server.community("Elsewhere");
    a.sync().expect("a syncs");
    let cursors: Vec<u64> = [&a, &b, &committee, &station].iter().map(|d| d.cursor).collect();
    let log_key = log.to_string();
    let incident_key = incident_id.to_string();
    let both: BTreeSet<String> = ["a-1".to_string(), "b-1".to_string()].into();
    assert_eq!(check_ins(&b, &log), both);
    server.kill();

    let before = source_digest(&data);
    let started = std::time::Instant::now();
    let (ok, summary) = migrate(&data, &db.url);
    assert!(ok, "{summary}");
    eprintln!("migrated in {:?}: {summary}", started.elapsed());
    assert_eq!(source_digest(&data), before, "the source is only read");
    assert_eq!(summary["verified"], true, "{summary}");
    let counts = &summary["counts"];
    assert_eq!(counts["communities"], 2, "{summary}");
    // Six phones and the staff account's actor.
    assert_eq!(counts["devices"], 7, "{summary}");
    assert_eq!(counts["staff"], 1, "{summary}");
    assert_eq!(counts["blobs"], 1, "{summary}");
    assert_eq!(counts["community_versions"], 2, "{summary}");
    assert!(counts["sync_states"].as_u64() > Some(0), "{summary}");
    assert!(counts["console_sessions"].as_u64() > Some(0), "{summary}");
    assert!(counts["audit_entries"].as_u64() > Some(0), "{summary}");
    assert_eq!(summary["blob_bytes"], photo.len(), "{summary}");
    assert_eq!(summary["documents_loaded"], counts["documents"], "{summary}");
    assert_eq!(summary["catalogue_version"], a.cursor, "A's cursor is SQLite's whole counter: {summary}");
    assert!(cursors.iter().all(|c| *c <= a.cursor));

    // The same data directory (its console replicas) on the database: the same phones, the same tokens.
    let on_postgres = ServerOptions { database_url: Some(db.url.clone()), ..ServerOptions::default() };
    let server = Server::start_with(&data, &on_postgres);
    for d in [&mut a, &mut b, &mut committee, &mut station, &mut revoked] {
        d.base = server.url("");
    }
    // The volunteer's catalogue, read from the audience the move kept, lists the order dispatched to it.
    let audience = PgStorage::open(&db.url).expect("open").audience(&order.to_string()).expect("audience");
    assert_eq!(audience, Some("V".to_string()));
    volunteer.base = server.url("");
    volunteer.sync().expect("the volunteer syncs with the moved server");
    assert!(volunteer.ids().contains(&order.to_string()), "{:?}", volunteer.ids());
    // Nothing new: nothing is listed again, and the cursor stays where it was.
    let res = a.round(vec![]).expect("a syncs with the moved server");
    assert!(res.catalogue.is_empty(), "listed again: {:?}", res.catalogue);
    assert_eq!(res.cursor, cursors[0]);

    // New work from one phone reaches the others; the catalogue skips none of it.
    b.write(&log, "checkin/b-2", "second visit");
    b.sync().expect("b syncs");
    let res = a.round(vec![]).expect("a syncs");
    let listed: Vec<&str> = res.catalogue.iter().map(|e| e.doc_id.as_str()).collect();
    assert_eq!(listed, vec![log_key.as_str()], "exactly the one document written since");
    assert!(res.cursor > cursors[0], "a write after the move takes a version above every cursor held");
    a.apply(&res);
    sync_all(&mut [&mut a, &mut b, &mut committee, &mut station]);
    let three: BTreeSet<String> = ["a-1", "b-1", "b-2"].map(String::from).into();
    assert_eq!(check_ins(&a, &log), three);
    assert_eq!(check_ins(&station, &log), three);
    assert_eq!(heads(&mut a, &log_key), heads(&mut b, &log_key));
    assert_eq!(heads(&mut station, &incident_key), heads(&mut a, &incident_key));
    let events = incident::read_events(&a.docs[&incident_key]).expect("events");
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["report", "receive", "dispatch", "verify"]);
    assert_eq!(visit_log::visits(&b.docs[&visits.to_string()]).len(), 1);
    let photo_back = server.http.get(photo_url(&server)).bearer_auth(&station.info.token).send().expect("get");
    assert_eq!(photo_back.bytes().expect("photo").to_vec(), photo);

    // A revoked phone stays revoked; a code issued before the move still enrolls a phone, once.
    let (status, err) = revoked.round(vec![]).expect_err("revoked");
    assert_eq!((status, err.code.as_str()), (403, "device_revoked"));
    let mut late = Device::enroll(&server, &unused_code).expect("an unused code enrolls after the move");
    late.sync().expect("late syncs");
    assert_eq!(check_ins(&late, &log), three);

    // The staff member signs in with the same password, and the console's replica follows the catalogue.
    let mut li = server.console_client();
    assert_eq!(li.sign_in("li", PASSWORD).status().as_u16(), 303);
    let incident_uuid = incident_id.key.clone().expect("incident id");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !li.page("/console/queue?stage=all").contains(&incident_uuid) {
        assert!(std::time::Instant::now() < deadline, "the incident never reached the console's queue");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    // Into the same database again: refused, and nothing changes.
    let documents = PgStorage::open(&db.url).expect("open").document_count().expect("count");
    let (ok, again) = migrate(&data, &db.url);
    assert!(!ok);
    assert_eq!(error_code(&again), "store_exists", "{again}");
    assert_eq!(PgStorage::open(&db.url).expect("open").document_count().expect("count"), documents);
}

#[test]
fn a_database_that_holds_data_is_refused_and_nothing_changes() {
    let Some(db) = TestDatabase::create_for("a_database_that_holds_data_is_refused_and_nothing_changes") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = ServerBin::this_build();
    let source = dir.path().join("sqlite");
    let (ok, out) = bin.admin_on(&source, None, &["community", "create", "--name", "North Gate"]);
    assert!(ok, "{out}");
    let (ok, out) = bin.admin_on(dir.path(), Some(&db.url), &["community", "create", "--name", "Already here"]);
    assert!(ok, "{out}");
    let existing = out["community_id"].as_str().expect("id").to_string();

    let target = PgStorage::open(&db.url).expect("open");
    let state = |t: &PgStorage| {
        let ids: Vec<String> = t.communities().expect("communities").into_iter().map(|c| c.community_id).collect();
        (ids, t.document_count().expect("count"), t.catalogue_version(&existing).expect("version"))
    };
    let before = state(&target);
    let digest = source_digest(&source);
    let (ok, refused) = migrate(&source, &db.url);
    assert!(!ok);
    assert_eq!(error_code(&refused), "store_exists", "{refused}");
    assert!(refused["error"]["message"].as_str().is_some_and(|m| m.contains("community")), "{refused}");
    assert_eq!(state(&target), before, "nothing written");
    assert_eq!(source_digest(&source), digest);
}

#[test]
fn a_missing_source_or_one_of_another_schema_is_refused_before_the_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, out) = migrate(&dir.path().join("nothing-here"), NOWHERE);
    assert!(!ok);
    assert_eq!(error_code(&out), "store_not_initialised", "{out}");

    let bin = ServerBin::this_build();
    let source = dir.path().join("sqlite");
    let (ok, out) = bin.admin_on(&source, None, &["community", "create", "--name", "North Gate"]);
    assert!(ok, "{out}");
    let set_version = |v: i64| {
        let conn = rusqlite::Connection::open(source.join(DB_FILE)).expect("open");
        conn.pragma_update(None, "user_version", v).expect("user_version");
    };
    set_version(2);
    let (ok, out) = migrate(&source, NOWHERE);
    assert!(!ok);
    assert_eq!(error_code(&out), "store_too_old", "{out}");
    set_version(99);
    let (ok, out) = migrate(&source, NOWHERE);
    assert!(!ok);
    assert_eq!(error_code(&out), "store_too_new", "{out}");

    // Without a database to move to: a usage error, not the data directory's SQLite.
    set_version(gridline_server::storage::sqlite::SCHEMA_VERSION);
    let out = bin
        .admin_command(&source, None)
        .args(["--json", "migrate", "--from-data", source.to_str().expect("path")])
        .env_remove("GRIDLINE_DATABASE_URL")
        .output()
        .expect("run");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(error_code(&doc), "usage", "{doc}");
    // The source reaches the database only now, and a database that cannot be reached is a storage error.
    let (ok, out) = migrate(&source, NOWHERE);
    assert!(!ok);
    assert_eq!(error_code(&out), "storage_error", "{out}");
}

#[test]
fn a_copy_that_differs_from_its_source_is_a_mismatch() {
    let Some(first) = TestDatabase::create_for("a_copy_that_differs_from_its_source_is_a_mismatch") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = Server::start_with(&data, &ServerOptions { sqlite: true, ..ServerOptions::default() });
    let community = server.community_with_roster();
    let mut a = server.enroll(&community, "A", "grid_leader", &["G01"]);
    let log = log_id(&community, "G01");
    a.write(&log, "checkin/a-1", "all well");
    a.sync().expect("a syncs");
    drop(server);

    let summary = migrate::migrate(&data, &first.url).expect("migrate");
    assert!(summary.verified);
    assert_eq!(migrate::verify(&data, &first.url).expect("verify again").counts, summary.counts);

    // Each difference, made in a fresh copy, is found and named by table and column (never by value).
    let device = format!("device_id = '{}'", a.info.device_id);
    let last_change = "seq = (SELECT MAX(seq) FROM change)";
    let differences = [
        (
            format!("UPDATE device SET revoked = TRUE WHERE {device}"),
            "device: row 1 (in key order) differs in column revoked",
        ),
        (format!("UPDATE device SET token_hash = reverse(token_hash) WHERE {device}"), "column token_hash"),
        (format!("UPDATE change SET bytes = bytes || '\\x00'::bytea WHERE {last_change}"), "column bytes"),
        (format!("UPDATE document SET version = version + 1 WHERE doc_id = '{log}'"), "document: row"),
        ("UPDATE community_version SET version = version - 1".to_string(), "community_version: row 1"),
        (format!("DELETE FROM change WHERE {last_change}"), "change: PostgreSQL holds only"),
    ];
    for (sql, named) in differences {
        let db = TestDatabase::create().expect("a database");
        migrate::migrate(&data, &db.url).expect("migrate");
        gridline_testkit::postgres::execute(&db.url, &sql);
        let err = migrate::verify(&data, &db.url).expect_err("the difference is found");
        assert_eq!(err.code, ErrorCode::MigrationMismatch, "{sql}: {}", err.message);
        assert!(err.message.contains(named), "{sql}: {}", err.message);
    }
}
