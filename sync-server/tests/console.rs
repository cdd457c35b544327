//! The triage console over a real server: staff accounts from the admin CLI, sign-in, sessions and CSRF,
//! throttling, actions stored as the account's own changes that phones receive at their next sync, scope
//! between communities, and live updates within a second of the sync that brought a change.

use std::io::{BufRead, BufReader, Read};
use std::time::{Duration, Instant};

use gridline_core::docs::{incident, DocId};
use gridline_core::model::{IncidentEvent, Severity};
use gridline_core::workflow::{self, Stage};
use gridline_testkit::{Device, Server, StaffClient};

const PASSWORD: &str = "correct horse battery";

fn events(device: &Device, id: &DocId) -> Vec<IncidentEvent> {
    incident::read_events(device.docs.get(&id.to_string()).expect("incident held")).expect("events")
}

fn stage(device: &Device, id: &DocId) -> Option<Stage> {
    let held = incident::read(device.docs.get(&id.to_string()).expect("incident held")).expect("incident");
    workflow::replay(held.fields.severity, &held.events).stage
}

fn key(id: &DocId) -> String {
    id.key.clone().expect("incident id")
}

/// Polls the queue until it lists `incident_id` (the replica is fed within a second of a write).
fn wait_listed(staff: &StaffClient, incident_id: &str) -> Duration {
    let start = Instant::now();
    loop {
        if staff.page("/console/queue?stage=all").contains(incident_id) {
            return start.elapsed();
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{incident_id} never reached the queue");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn staff_accounts_are_made_listed_repassworded_and_disabled_from_the_admin_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community("Staff community");
    let made = server.staff(&community, "wang.fang", "station", PASSWORD);
    assert_eq!(made["user"], "wang.fang");
    assert_eq!(made["role"], "station");
    assert!(uuid::Uuid::parse_str(made["staff_id"].as_str().unwrap_or_default()).is_ok(), "{made}");

    let (ok, taken) = server.admin(&[
        "staff",
        "add",
        "--community",
        &community,
        "--user",
        "wang.fang",
        "--role",
        "station",
        "--password-stdin",
    ]);
    assert!(!ok, "a second account of one name: {taken}");
    let (ok, phone) = server.admin(&[
        "staff",
        "add",
        "--community",
        &community,
        "--user",
        "li",
        "--role",
        "grid_leader",
        "--password-stdin",
    ]);
    assert!(!ok && phone["error"]["code"] == "invalid_input", "{phone}");

    let list = server.admin_ok(&["staff", "list"]);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(
        server.admin_ok(&["device", "list"])["items"].as_array().map(Vec::len),
        Some(0),
        "accounts are not phones"
    );

    let mut c = server.console_client();
    assert_eq!(c.sign_in("wang.fang", PASSWORD).status().as_u16(), 303);
    let queue = c.page("/console/queue");
    assert!(queue.contains("wang.fang") && queue.contains("事件队列"), "signed in, in zh-Hans by default");

    // A new password ends the session and only the new one signs in.
    let mut child = server
        .admin_command()
        .args(["--json", "staff", "passwd", "--user", "wang.fang", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), b"a new long password\n").expect("write");
    assert!(child.wait().expect("passwd").success());
    assert_eq!(c.get("/console/queue").status().as_u16(), 303, "the old session ended");
    assert_eq!(server.console_client().sign_in("wang.fang", PASSWORD).status().as_u16(), 401);
    assert_eq!(server.console_client().sign_in("wang.fang", "a new long password").status().as_u16(), 303);

    server.admin_ok(&["staff", "disable", "--user", "wang.fang"]);
    assert_eq!(server.console_client().sign_in("wang.fang", "a new long password").status().as_u16(), 401);
}

#[test]
fn sign_in_is_throttled_per_account_and_a_post_without_the_csrf_token_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    server.staff(&community, "zhao", "committee", PASSWORD);
    for _ in 0..5 {
        let res = server.console_client().sign_in("zhao", "wrong password!");
        assert_eq!(res.status().as_u16(), 401);
        assert!(res.text().expect("page").contains("用户名或密码错误"), "the error in words");
    }
    // The right password is refused too while the account is throttled.
    assert_eq!(server.console_client().sign_in("zhao", PASSWORD).status().as_u16(), 429);

    let mut leader = server.enroll(&community, "A", "grid_leader", &["G01"]);
    let id = leader.report_incident("G01", "Broken railing", Severity::Normal);
    leader.sync().expect("sync");
    let committee = server.signed_in_staff(&community, "qian", "committee");
    wait_listed(&committee, &key(&id));
    let path = format!("/console/incidents/{}/act", key(&id));
    let res = committee.post_raw(&path, &[("action", "dispatch"), ("note", "no token")]);
    assert_eq!(res.status().as_u16(), 403);
    let res = committee.post_raw(&path, &[("csrf", "forged"), ("action", "dispatch")]);
    assert_eq!(res.status().as_u16(), 403);
    leader.sync().expect("sync");
    assert_eq!(stage(&leader, &id), Some(Stage::CommitteeReview), "nothing was stored");
}

#[test]
fn console_actions_are_the_accounts_own_events_and_reach_the_phone_at_its_next_sync() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    let mut leader = server.enroll(&community, "A", "grid_leader", &["G01"]);
    let id = leader.report_incident("G01", "Lift stuck", Severity::Normal);
    leader.sync().expect("sync");
    let committee = server.signed_in_staff(&community, "zhou", "committee");
    let station = server.signed_in_staff(&community, "wu", "station");
    wait_listed(&committee, &key(&id));
    let detail = committee.page(&format!("/console/incidents/{}", key(&id)));
    assert!(detail.contains(">分流</button>") && !detail.contains(">核准并指派</button>"), "the committee's actions");

    // The station may not dispatch: refused in words, nothing stored.
    let act = format!("/console/incidents/{}/act", key(&id));
    let res = station.post(&act, &[("action", "dispatch")]);
    assert_eq!(res.status().as_u16(), 409);
    assert!(res.text().expect("page").contains("action_not_allowed"));

    let res = committee.post(&act, &[("action", "dispatch"), ("note", "请工作站核实")]);
    assert_eq!(res.status().as_u16(), 303, "dispatched");
    assert!(StaffClient::location(&res).ends_with("?done=1"));
    let res = station.post(&act, &[("action", "verify"), ("assignee", "物业维修组")]);
    assert_eq!(res.status().as_u16(), 303, "verified");
    assert!(
        station.page(&format!("/console/incidents/{}", key(&id))).contains("处理中"),
        "the page shows the new stage"
    );

    leader.sync().expect("sync");
    assert_eq!(stage(&leader, &id), Some(Stage::InProgress));
    let evs = events(&leader, &id);
    let dispatch = evs.iter().find(|e| e.action == "dispatch").expect("dispatch event");
    assert_eq!(
        (dispatch.actor.as_str(), dispatch.role.as_str(), dispatch.note.as_str()),
        ("zhou", "committee", "请工作站核实")
    );
    let verify = evs.iter().find(|e| e.action == "verify").expect("verify event");
    assert_eq!((verify.actor.as_str(), verify.assignee.as_deref()), ("wu", Some("物业维修组")));
    assert_ne!(dispatch.device, verify.device, "each account is its own actor");
}

#[test]
fn a_station_of_one_community_sees_nothing_of_another() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let x = server.community_with_roster();
    let y = server.community_with_roster();
    let mut leader_y = server.enroll(&y, "B", "grid_leader", &["G01"]);
    let id = leader_y.report_incident("G01", "Flooded basement", Severity::Urgent);
    leader_y.sync().expect("sync");
    let station_y = server.signed_in_staff(&y, "y.station", "station");
    wait_listed(&station_y, &key(&id));
    let station_x = server.signed_in_staff(&x, "x.station", "station");
    assert!(!station_x.page("/console/queue?stage=all").contains(&key(&id)));
    let res = station_x.get(&format!("/console/incidents/{}", key(&id)));
    assert_eq!(res.status().as_u16(), 404);
    let res =
        station_x.post(&format!("/console/incidents/{}/act", key(&id)), &[("action", "verify"), ("assignee", "x")]);
    assert_eq!(res.status().as_u16(), 404, "nor act on it");
    leader_y.sync().expect("sync");
    assert_eq!(stage(&leader_y, &id), Some(Stage::AtStation));
}

#[test]
fn an_idle_session_expires_back_to_sign_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community("Idle community");
    let staff = server.signed_in_staff(&community, "sun", "station");
    assert_eq!(staff.get("/console/queue").status().as_u16(), 200);
    let age = "UPDATE console_session SET last_seen = last_seen - 31 * 60";
    match server.database_url() {
        Some(url) => gridline_testkit::postgres::execute(url, age),
        None => {
            let db = rusqlite::Connection::open(server.data.join("gridline-server.sqlite")).expect("open");
            db.execute(age, []).expect("age the session");
        }
    }
    let res = staff.get("/console/queue");
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(StaffClient::location(&res), "/console/login?expired=1");
    assert_eq!(staff.get("/console/queue").status().as_u16(), 303, "the session is gone");
}

#[test]
fn the_first_start_prints_a_one_time_admin_link() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = gridline_testkit::free_port();
    let mut child = std::process::Command::new(gridline_testkit::ServerBin::this_build().path())
        .args(["serve", "--metrics-listen", "off", "--data"])
        .arg(dir.path())
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut link = String::new();
    while !link.contains("/console/setup?token=") {
        link.clear();
        assert!(out.read_line(&mut link).expect("read") > 0, "the server printed no setup link");
    }
    let link = link.trim().to_string();
    let http =
        reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    assert_eq!(http.get(&link).send().expect("get").status().as_u16(), 200);
    let token = link.split("token=").nth(1).expect("token").to_string();
    let form = [
        ("token", token.as_str()),
        ("community_name", "和平社区"),
        ("timezone", "Asia/Shanghai"),
        ("user", "admin"),
        ("password", PASSWORD),
    ];
    let res = http.post(format!("http://127.0.0.1:{port}/console/setup")).form(&form).send().expect("post");
    assert_eq!(res.status().as_u16(), 303, "the first admin is made and signed in");
    let again = http.post(format!("http://127.0.0.1:{port}/console/setup")).form(&form).send().expect("post");
    assert_eq!(again.status().as_u16(), 403, "the link works once");
    let _ = child.kill();
    let _ = child.wait();
    let mut rest = String::new();
    let _ = out.read_to_string(&mut rest);
}

#[test]
fn a_synced_incident_reaches_an_open_page_within_a_second() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    let committee = server.signed_in_staff(&community, "zheng", "committee");
    let mut leader = server.enroll(&community, "A", "grid_leader", &["G02"]);
    let rx = committee.live_updates();
    let id = leader.report_incident("G02", "Gas smell", Severity::Urgent);
    leader.sync().expect("sync");
    let synced = Instant::now();
    let deadline = synced + Duration::from_secs(5);
    loop {
        let (at, ids) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("an event arrives");
        if ids.split(',').any(|i| i == key(&id)) {
            let latency = at.saturating_duration_since(synced);
            assert!(latency < Duration::from_secs(1), "sync → event took {latency:?}");
            break;
        }
    }
}

#[test]
fn an_open_live_update_stream_does_not_hold_up_shutdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path());
    let community = server.community("Shutdown community");
    let staff = server.signed_in_staff(&community, "feng", "station");
    let stream = staff.get("/console/events");
    assert_eq!(stream.status().as_u16(), 200);
    std::process::Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().expect("kill");
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.child.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "the server waited on the event stream instead of stopping");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(stream);
}
