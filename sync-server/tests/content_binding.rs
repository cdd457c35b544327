//! Content bound to identity and scope, on the wire: a check-in names its document's grid, a household of
//! that grid's roster and its author device's user; a workflow event names its author device's user, device
//! and role; neither is dated after the server received it. Anything else refuses the whole batch with
//! `forbidden_change` and stores nothing; honest records written offline days ago sync fine.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use gridline_core::docs::{checkin_log, incident, roster, DocId};
use gridline_core::model::{CheckIn, Household, IncidentEvent, IncidentFields, Severity};
use gridline_testkit::{Device, Server};

fn offset_now(days: i64) -> DateTime<FixedOffset> {
    (Utc::now() + Duration::days(days)).fixed_offset()
}

/// The log of the day of `at`.
fn log_of(device: &Device, grid: &str, at: DateTime<FixedOffset>) -> DocId {
    DocId::check_in_log(device.community(), grid, at.date_naive())
}

/// Sends a check-in, expecting `403 forbidden_change`; the phone then drops the refused document.
fn refused_check_in(device: &mut Device, observer: &mut Device, c: CheckIn, what: &str) {
    let log = log_of(device, "G01", c.at);
    device.append_check_in(&log, &c);
    let (status, err) = device.sync().expect_err(what);
    assert_eq!((status, err.code.as_str()), (403, "forbidden_change"), "{what}: {}", err.message);
    assert!(err.message.contains(&log.to_string()), "{what}: the message names the document: {}", err.message);
    device.docs.remove(&log.to_string());
    device.states.remove(&log.to_string());
    observer.sync().expect("observer syncs");
    let stored = observer.docs.get(&log.to_string()).map(checkin_log::check_ins).unwrap_or_default();
    assert!(stored.iter().all(|s| s.check_in_id != c.check_in_id), "{what}: nothing of a refused batch is stored");
}

#[test]
fn check_ins_name_their_grid_roster_and_author() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    let mut leader = server.enroll(&community, "A", "grid_leader", &["G01"]);
    let mut observer = server.enroll(&community, "S", "station", &[]);

    let three_days_ago = offset_now(-3);
    let honest = |leader: &Device, id: &str| {
        let log = log_of(leader, "G01", three_days_ago);
        CheckIn { at: three_days_ago, ..leader.check_in(&log, id, "all well") }
    };
    let lies = [
        (CheckIn { grid: "G02".into(), household_code: "G02-H0".into(), ..honest(&leader, "1") }, "another grid"),
        (CheckIn { household_code: "G01-H9".into(), ..honest(&leader, "2") }, "a household not in the roster"),
        (CheckIn { author: "B".into(), ..honest(&leader, "3") }, "another user as author"),
        (CheckIn { at: offset_now(1), ..honest(&leader, "4") }, "dated a day in the future"),
    ];
    for (lie, what) in lies {
        refused_check_in(&mut leader, &mut observer, lie, what);
    }

    // Written offline three days ago: fine.
    let c = honest(&leader, "5");
    let log = log_of(&leader, "G01", c.at);
    leader.append_check_in(&log, &c);
    leader.sync().expect("an honest check-in from three days ago syncs");
    observer.sync().expect("observer syncs");
    assert_eq!(checkin_log::check_ins(&observer.docs[&log.to_string()]), vec![c]);

    // A household the leader adds to the roster, and a check-in at it, in one sync: fine.
    let roster_id = DocId::roster(&community, "G01");
    let new_household = Household {
        household_code: "G01-H7".into(),
        grid: "G01".into(),
        building: "2".into(),
        unit: "1".into(),
        floor: 3,
        room: "301".into(),
        moved_out: false,
    };
    {
        let doc = leader.doc(&roster_id);
        roster::put_household(doc, &new_household).expect("household");
        doc.commit();
    }
    let c = CheckIn { household_code: "G01-H7".into(), ..honest(&leader, "6") };
    leader.append_check_in(&log, &c);
    let res =
        leader.push(&[log.clone(), roster_id.clone()]).expect("a check-in at a household added in the same round");
    leader.apply(&res);
    leader.sync().expect("settles");
    observer.sync().expect("observer syncs");
    assert!(checkin_log::check_ins(&observer.docs[&log.to_string()]).contains(&c));
    assert!(server.healthy());
}

fn report(device: &mut Device) -> DocId {
    let incident_id = uuid::Uuid::now_v7().to_string();
    let id = DocId::incident(device.community(), "G01", &incident_id);
    let at = offset_now(-3);
    let fields = IncidentFields {
        incident_id,
        grid: "G01".into(),
        category: "facility_repair".into(),
        severity: Severity::Normal,
        title: "Lift stuck".into(),
        description: String::new(),
        household_code: Some("G01-H1".into()),
        location: None,
        photos: vec![],
        check_in_id: None,
        reporter: device.info.user.clone(),
        reporter_device: device.info.device_id.clone(),
        at,
    };
    let report =
        IncidentEvent::new("report", &device.info.user, &device.info.device_id, "grid_leader", at.to_rfc3339());
    let doc = device.doc(&id);
    incident::create(doc, &fields, &report).expect("create");
    doc.commit();
    id
}

#[test]
fn workflow_events_name_their_author_device() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    let mut leader = server.enroll(&community, "A", "grid_leader", &["G01"]);
    let other = server.enroll(&community, "B", "grid_leader", &["G01"]);
    let mut observer = server.enroll(&community, "S", "station", &[]);

    let id = report(&mut leader);
    leader.sync().expect("an honest report from three days ago syncs");
    let past = offset_now(-3).to_rfc3339();
    let (user, device) = (leader.info.user.clone(), leader.info.device_id.clone());
    let lies = [
        (IncidentEvent::new("comment", &other.info.user, &device, "grid_leader", &*past), "another user"),
        (IncidentEvent::new("comment", &user, &other.info.device_id, "grid_leader", &*past), "another device"),
        (IncidentEvent::new("comment", &user, "", "grid_leader", &*past), "no device"),
        (IncidentEvent::new("comment", &user, &device, "committee", &*past), "another role"),
        (IncidentEvent::new("receive", "server", "", "server", &*past), "the server's receipt"),
        (IncidentEvent::new("comment", &user, &device, "grid_leader", offset_now(1).to_rfc3339()), "tomorrow"),
    ];
    for (lie, what) in lies {
        // A fresh phone of the same user each time: a refused change stays on the phone that made it.
        let mut phone = server.enroll(&community, "A", "grid_leader", &["G01"]);
        phone.sync().expect("phone syncs");
        let lie =
            if lie.device == device { IncidentEvent { device: phone.info.device_id.clone(), ..lie } } else { lie };
        let doc = phone.doc(&id);
        incident::append_event(doc, &lie).expect("append");
        doc.commit();
        let (status, err) = phone.sync().expect_err(what);
        assert_eq!((status, err.code.as_str()), (403, "forbidden_change"), "{what}: {}", err.message);
        assert!(err.message.contains(&id.to_string()), "{what}: {}", err.message);
    }
    observer.sync().expect("observer syncs");
    let events = incident::read_events(&observer.docs[&id.to_string()]).expect("events");
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["report", "receive"], "only the report and the server's receipt are stored");

    // The reporter's own comment, written offline three days ago: fine.
    let comment = IncidentEvent::new("comment", &user, &device, "grid_leader", &*past);
    let doc = leader.doc(&id);
    incident::append_event(doc, &comment).expect("append");
    doc.commit();
    leader.sync().expect("an honest event from three days ago syncs");
    observer.sync().expect("observer syncs");
    let events = incident::read_events(&observer.docs[&id.to_string()]).expect("events");
    assert_eq!(events.last(), Some(&comment));
}
