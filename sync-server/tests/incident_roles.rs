//! Incident documents on the wire: new workflow events must claim their author device's role (nobody claims
//! `server`), stored events are never rewritten, and the server appends its receipt when it first stores an
//! incident.

use gridline_core::docs::{incident, DocId};
use gridline_core::model::{IncidentEvent, IncidentFields, Severity};
use gridline_core::workflow::{self, Stage};
use gridline_testkit::{Device, Server};

/// An event by `device`'s user and device, claiming `role`.
fn event(device: &Device, action: &str, role: &str) -> IncidentEvent {
    IncidentEvent::new(action, &device.info.user, &device.info.device_id, role, "2026-11-24T09:00:00+08:00")
}

fn report(device: &mut Device, grid: &str, role: &str) -> DocId {
    let incident_id = uuid::Uuid::now_v7().to_string();
    let id = DocId::incident(device.community(), grid, &incident_id);
    let fields = IncidentFields {
        incident_id,
        grid: grid.into(),
        category: "facility_repair".into(),
        severity: Severity::Normal,
        title: "Lift stuck".into(),
        description: "between floors 3 and 4".into(),
        household_code: None,
        location: None,
        photos: vec![],
        check_in_id: None,
        reporter: device.info.user.clone(),
        reporter_device: device.info.device_id.clone(),
        at: chrono::DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00").expect("time"),
    };
    let report = event(device, "report", role);
    let doc = device.doc(&id);
    incident::create(doc, &fields, &report).expect("create");
    doc.commit();
    id
}

fn stage(device: &mut Device, id: &DocId) -> Option<Stage> {
    let doc = device.docs.get(&id.to_string()).expect("incident doc");
    let events = incident::read_events(doc).expect("events");
    workflow::replay(Severity::Normal, &events).stage
}

#[test]
fn events_claim_their_author_role_and_the_server_receipts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    let mut leader = server.enroll(&community, "A", "grid_leader", &["G01"]);
    let mut committee = server.enroll(&community, "C", "committee", &[]);

    // A report claiming the station's role, or the server's, is refused and nothing stored.
    for forged in ["station", workflow::SERVER_ROLE] {
        let id = report(&mut leader, "G01", forged);
        let (status, err) = leader.sync().expect_err("forged role refused");
        assert_eq!((status, err.code.as_str()), (403, "forbidden_change"), "{forged}: {}", err.message);
        leader.docs.remove(&id.to_string());
        leader.states.remove(&id.to_string());
        committee.sync().expect("committee syncs");
        assert!(!committee.ids().contains(&id.to_string()), "nothing of a refused batch is stored");
    }

    // An honest report is stored, receipted by the server, and the receipt comes back to the reporter.
    let id = report(&mut leader, "G01", "grid_leader");
    leader.sync().expect("report synced");
    assert_eq!(stage(&mut leader, &id), Some(Stage::CommitteeReview), "the reporter sees the receipt");
    committee.sync().expect("committee syncs");
    let events = incident::read_events(&committee.docs[&id.to_string()]).expect("events");
    let actions: Vec<(&str, &str)> = events.iter().map(|e| (e.action.as_str(), e.role.as_str())).collect();
    assert_eq!(actions, vec![("report", "grid_leader"), ("receive", "server")]);

    // The committee dispatches (its own role): accepted.
    {
        let dispatch = event(&committee, "dispatch", "committee");
        let doc = committee.doc(&id);
        incident::append_event(doc, &dispatch).expect("dispatch");
        doc.commit();
    }
    committee.sync().expect("dispatch synced");
    leader.sync().expect("leader syncs");
    assert_eq!(stage(&mut leader, &id), Some(Stage::AtStation));

    // The leader tampering with what is stored — rewriting the committee's event to claim it, deleting it,
    // or rewriting the reported fields — is refused every time, and the stored incident is untouched.
    type Tamper = fn(&mut automerge::AutoCommit);
    let tampers: [(&str, Tamper); 3] = [
        ("rewrite", |doc| {
            let list = events_list(doc);
            let mut third = incident::read_events(doc).expect("events")[2].clone();
            assert_eq!(third.role, "committee");
            third.role = "grid_leader".into();
            let record = serde_json::json!({"id": third.event_id, "action": third.action, "actor": third.actor,
                "role": third.role, "at": third.at});
            automerge::transaction::Transactable::put(doc, &list, 2, record.to_string()).expect("put");
        }),
        ("delete", |doc| {
            let list = events_list(doc);
            automerge::transaction::Transactable::delete(doc, &list, 2).expect("delete");
        }),
        ("fields", |doc| {
            automerge::transaction::Transactable::put(doc, automerge::ROOT, "incident", r#"{"title":"x"}"#)
                .expect("put");
        }),
    ];
    for (what, tamper) in tampers {
        // A fresh phone of the same grid leader each time: a refused change stays on the phone that made it.
        let mut phone = server.enroll(&community, "A", "grid_leader", &["G01"]);
        phone.sync().expect("phone syncs");
        tamper(phone.doc(&id));
        phone.doc(&id).commit();
        let (status, err) = phone.sync().expect_err("tampering refused");
        assert_eq!((status, err.code.as_str()), (403, "forbidden_change"), "{what}: {}", err.message);
    }
    let mut observer = server.enroll(&community, "S", "station", &[]);
    observer.sync().expect("observer syncs");
    assert_eq!(stage(&mut observer, &id), Some(Stage::AtStation));
    let fields = incident::read(&observer.docs[&id.to_string()]).expect("read").fields;
    assert_eq!(fields.title, "Lift stuck");
}

fn events_list(doc: &automerge::AutoCommit) -> automerge::ObjId {
    match automerge::ReadDoc::get(doc, automerge::ROOT, incident::EVENTS_KEY).expect("get") {
        Some((_, list)) => list,
        None => panic!("no events"),
    }
}
