//! Building leads (楼栋长) through a real server: enrolled for one building of a grid, a building lead's device
//! receives the community's own documents, its building's projection and check-in logs and the incidents and
//! orders of its building's households — never the grid's roster, grid-level logs, visit logs, another
//! building's projection, log, incident, order or photo. Asking for any of those is refused or withdrawn with
//! nothing answered; writing them is refused; a check-in naming a household of another building is refused
//! even in its own building's log. Its check-ins reach the grid leader.

use std::collections::BTreeSet;

use gridline_core::docs::{self, building, building_key, DocId, DocKind};
use gridline_core::model::{
    CheckIn, CheckInKind, CheckInOutcome, IncidentEvent, IncidentFields, Severity, Visit, VisitKind,
};
use gridline_core::sync::protocol::DocMessage;
use gridline_testkit::{roster, Device, Server};
use sha2::Digest;

const GRID: &str = "G01";
const MINE: &str = "1号楼";
const OTHER: &str = "2号楼";
/// Households of my building, of the other building of the grid, and of another grid.
const MY_HOUSEHOLDS: [&str; 2] = ["G01-A1", "G01-A2"];
const THEIR_HOUSEHOLDS: [&str; 2] = ["G01-B1", "G01-B2"];

fn roster_csv() -> String {
    roster::csv(&[
        "G01,1号楼,1,1,101,G01-A1,甲一,F,1940,,,,",
        "G01,1号楼,1,1,102,G01-A2,甲二,M,1950,,,,",
        "G01,2号楼,1,1,101,G01-B1,乙一,F,1941,,,,",
        "G01,2号楼,1,1,102,G01-B2,乙二,M,1951,,,,",
        "G02,1号楼,1,1,101,G02-C1,丙一,F,1942,,,,",
    ])
}

/// A check-in of `device` at `household`, now.
fn check_in(device: &Device, household: &str, id: &str) -> CheckIn {
    CheckIn {
        check_in_id: id.into(),
        household_code: household.into(),
        grid: GRID.into(),
        kind: CheckInKind::Door,
        outcome: CheckInOutcome::Well,
        note: format!("note-{household}"),
        photos: vec![],
        location: None,
        at: chrono::Utc::now().fixed_offset(),
        author: device.info.user.clone(),
        device_id: device.info.device_id.clone(),
    }
}

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive()
}

/// Writes a new incident of `device` about `household` (none: about no household), with `photos`.
fn report(device: &mut Device, household: Option<&str>, photos: Vec<String>) -> DocId {
    let incident_id = uuid::Uuid::now_v7().to_string();
    let id = DocId::incident(device.community(), GRID, &incident_id);
    let at = chrono::Utc::now().fixed_offset();
    let fields = IncidentFields {
        incident_id,
        grid: GRID.into(),
        category: "facility_repair".into(),
        severity: Severity::Normal,
        title: "楼道灯坏了".into(),
        description: String::new(),
        household_code: household.map(str::to_string),
        location: None,
        photos: photos.clone(),
        check_in_id: None,
        reporter: device.info.user.clone(),
        reporter_device: device.info.device_id.clone(),
        at,
    };
    let mut event =
        IncidentEvent::new("report", &device.info.user, &device.info.device_id, &device.info.role, at.to_rfc3339());
    event.photos = photos;
    let doc = device.doc(&id);
    docs::incident::create(doc, &fields, &event).expect("create");
    doc.commit();
    id
}

/// A building lead of [`MINE`] in [`GRID`], enrolled.
fn enroll_lead(server: &Server, community: &str) -> Device {
    server.enroll_building_lead(community, "赵楼栋长", GRID, &[MINE])
}

/// Syncs `device` to the end; every document id the answers named (messages and catalogues).
fn sync_on_the_wire(device: &mut Device) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    let mut docs = device.outgoing(None);
    for _ in 0..12 {
        let res = device.round(docs).expect("round");
        named.extend(res.docs.iter().map(|m| m.doc_id.clone()));
        named.extend(res.catalogue.iter().map(|e| e.doc_id.clone()));
        let differ = device.apply(&res);
        docs = device.outgoing(None);
        if !res.more && differ.is_empty() && docs.is_empty() {
            return named;
        }
    }
    panic!("{} did not finish syncing", device.info.user);
}

/// A first sync message for a document the device does not hold: it asks the server for all of it.
fn ask_for(id: &DocId) -> DocMessage {
    use automerge::sync::SyncDoc;
    let mut empty = automerge::AutoCommit::new();
    let m = empty.sync().generate_sync_message(&mut automerge::sync::State::new()).expect("a first message");
    DocMessage { doc_id: id.to_string(), message: m.encode(), signatures: vec![] }
}

fn put_blob(server: &Server, device: &Device, bytes: &[u8]) -> String {
    let hash = hex::encode(sha2::Sha256::digest(bytes));
    let res = device
        .http
        .put(server.url(&format!("/v1/blobs/{hash}")))
        .bearer_auth(&device.info.token)
        .body(bytes.to_vec())
        .send()
        .expect("put");
    assert!(res.status().is_success(), "upload: {}", res.status());
    hash
}

fn get_blob(server: &Server, device: &Device, hash: &str) -> u16 {
    let res =
        device.http.get(server.url(&format!("/v1/blobs/{hash}"))).bearer_auth(&device.info.token).send().expect("get");
    res.status().as_u16()
}

/// The text of every document the device holds, for a search of what it must not hold.
fn held_text(device: &Device) -> String {
    let mut text = String::new();
    for (id, doc) in &device.docs {
        text.push_str(id);
        for (key, e) in docs::entities(doc, "") {
            text.push_str(&key);
            text.push_str(&format!("{:?}", e.fields));
        }
    }
    text
}

#[test]
fn a_building_lead_is_enrolled_only_with_a_grid_and_buildings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community("幸福社区");
    let base = ["enroll", "--community", &community, "--user", "赵"];
    for (extra, what) in [
        (vec!["--role", "building_lead", "--grid", GRID], "a building lead without a building"),
        (vec!["--role", "building_lead", "--building", MINE], "a building lead without a grid"),
        (vec!["--role", "building_lead", "--grid", GRID, "--grid", "G02", "--building", MINE], "two grids"),
        (vec!["--role", "grid_leader", "--grid", GRID, "--building", MINE], "a grid leader with a building"),
        (vec!["--role", "committee", "--building", MINE], "the committee with a building"),
    ] {
        let args: Vec<&str> = base.iter().copied().chain(extra).collect();
        let (ok, out) = server.admin(&args);
        assert!(!ok, "{what}: {out}");
        assert_eq!(out["error"]["code"], "invalid_input", "{what}");
    }
    let out = server.admin_ok(
        &base
            .iter()
            .copied()
            .chain(["--role", "building_lead", "--grid", GRID, "--building", MINE])
            .collect::<Vec<_>>(),
    );
    let lead = Device::enroll(&server, out["code"].as_str().expect("code")).expect("enroll");
    assert_eq!((lead.info.role.as_str(), lead.info.buildings.clone()), ("building_lead", vec![MINE.to_string()]));
    let devices = server.admin_ok(&["device", "list"]);
    let row = devices["items"].as_array().expect("items").iter().find(|d| d["user"] == "赵").expect("listed");
    assert_eq!(row["buildings"], serde_json::json!([MINE]));
}

#[test]
fn a_building_lead_receives_and_writes_only_what_concerns_its_buildings_households() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community("幸福社区");
    server.import_roster(&community, "roster.csv", &roster_csv());
    let (mine, other) = (building_key(MINE), building_key(OTHER));

    // The grid leader's day: check-ins and visits at households of both buildings, an incident with a photo
    // about each building, an order for each.
    let mut leader = server.enroll(&community, "陈网格长", "grid_leader", &[GRID]);
    leader.sync().expect("leader syncs");
    let log = DocId::check_in_log(&community, GRID, today());
    for (i, h) in MY_HOUSEHOLDS.iter().chain(&THEIR_HOUSEHOLDS).enumerate() {
        let c = check_in(&leader, h, &format!("leader-{i}"));
        leader.append_check_in(&log, &c);
    }
    let month = today().format("%Y-%m").to_string();
    let visits = DocId::visit_log(&community, GRID, &month);
    for (i, h) in [MY_HOUSEHOLDS[0], THEIR_HOUSEHOLDS[0]].iter().enumerate() {
        let at = chrono::Utc::now().fixed_offset();
        let v = Visit {
            visit_id: format!("visit-{i}"),
            household_code: h.to_string(),
            grid: GRID.into(),
            residents: vec![],
            kind: VisitKind::Home,
            at,
            day: today(),
            duration_min: Some(10),
            services: vec![],
            needs: format!("needs-{h}"),
            need_tags: vec![],
            follow_up: None,
            satisfaction: None,
            photos: vec![],
            author: leader.info.user.clone(),
            device_id: leader.info.device_id.clone(),
        };
        let doc = leader.doc(&visits);
        docs::visit_log::append(doc, &v).expect("visit");
        doc.commit();
    }
    let my_photo = put_blob(&server, &leader, b"photo of building one");
    let their_photo = put_blob(&server, &leader, b"photo of building two");
    let my_incident = report(&mut leader, Some(MY_HOUSEHOLDS[0]), vec![my_photo.clone()]);
    let their_incident = report(&mut leader, Some(THEIR_HOUSEHOLDS[0]), vec![their_photo.clone()]);
    let my_order = leader.request_order(GRID, MY_HOUSEHOLDS[1], "meal_delivery");
    let their_order = leader.request_order(GRID, THEIR_HOUSEHOLDS[1], "meal_delivery");
    leader.sync().expect("leader uploads");

    let mut lead = enroll_lead(&server, &community);

    // On the wire: the community's own documents, its building's projection, and its building's incident and
    // order; nothing else.
    let projection = DocId::building(&community, GRID, &mine);
    let named = sync_on_the_wire(&mut lead);
    let expected: BTreeSet<String> = [
        DocId::community(&community),
        DocId::points(&community),
        projection.clone(),
        my_incident.clone(),
        my_order.clone(),
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(named, expected, "on the wire");
    let held = held_text(&lead);
    for h in THEIR_HOUSEHOLDS.iter().chain(&["G02-C1"]) {
        assert!(!held.contains(h), "{h} reached the building lead");
    }
    assert!(!held.contains(&their_photo), "the other building's photo hash reached the building lead");
    let doc = lead.docs.get(&projection.to_string()).expect("the projection");
    let households: Vec<String> = building::households(doc, GRID).into_iter().map(|h| h.household_code).collect();
    assert_eq!(households, MY_HOUSEHOLDS.to_vec());
    assert_eq!(building::check_ins(doc).len(), 2, "the grid leader's check-ins at my households");
    assert_eq!(building::visits(doc).len(), 1, "the grid leader's visit at my household");

    // Asking by id: the grid's documents and the other building's are refused; the other building's incident
    // and order are withdrawn with nothing answered.
    let day = today();
    for id in [
        DocId::roster(&community, GRID),
        log.clone(),
        visits.clone(),
        DocId::building(&community, GRID, &other),
        DocId::building_check_in_log(&community, GRID, day, &other),
        DocId::building(&community, "G02", &mine),
    ] {
        let (status, err) = lead.round(vec![ask_for(&id)]).expect_err("refused");
        assert_eq!((status, err.code.as_str()), (403, "forbidden_document"), "{id}");
    }
    for id in [&their_incident, &their_order] {
        let res = lead.round(vec![ask_for(id)]).expect("answered");
        assert!(res.docs.is_empty(), "{id}: nothing of it is answered");
        assert_eq!(res.withdrawn, vec![id.to_string()], "{id} is withdrawn");
    }

    // Photos: its building's incident's photo, yes; the other building's, no.
    assert_eq!(get_blob(&server, &lead, &my_photo), 200);
    assert_eq!(get_blob(&server, &lead, &their_photo), 404);

    // Writes. Its own building's log takes a check-in at its household …
    let my_log = DocId::building_check_in_log(&community, GRID, day, &mine);
    let c = check_in(&lead, MY_HOUSEHOLDS[1], "lead-1");
    lead.append_check_in(&my_log, &c);
    lead.push(std::slice::from_ref(&my_log)).expect("a check-in at my building's household is stored");
    // … but not one at the other building's household, even in its own building's log.
    let c = check_in(&lead, THEIR_HOUSEHOLDS[1], "lead-2");
    let mut forged = lead.docs.get(&my_log.to_string()).expect("log").clone();
    docs::checkin_log::append(&mut forged, &c).expect("append");
    forged.commit();
    lead.docs.insert(my_log.to_string(), forged);
    let (status, err) = lead.push(std::slice::from_ref(&my_log)).expect_err("refused");
    assert_eq!((status, err.code.as_str()), (403, "forbidden_change"));
    lead.docs.remove(&my_log.to_string());
    lead.states.remove(&my_log.to_string());
    // Another building's log, the grid's log and its own projection are not its to write.
    for (id, code) in [
        (DocId::building_check_in_log(&community, GRID, day, &other), "forbidden_document"),
        (log.clone(), "forbidden_document"),
        (projection.clone(), "forbidden_change"),
    ] {
        let mut lead2 = enroll_lead(&server, &community);
        lead2.write(&id, "checkin/x", "mine now");
        if id.kind == DocKind::Building {
            lead2.write(&id, "household/G01-A1", "rewritten");
        }
        let (status, err) = lead2.push(std::slice::from_ref(&id)).expect_err("refused");
        assert_eq!((status, err.code.as_str()), (403, code), "{id}");
    }
    // An incident: about its building's household, yes; about another building's, or about none, no.
    let mine_reported = report(&mut lead, Some(MY_HOUSEHOLDS[0]), vec![]);
    lead.push(std::slice::from_ref(&mine_reported)).expect("an incident at my building's household is stored");
    for household in [Some(THEIR_HOUSEHOLDS[0]), None] {
        let id = report(&mut lead, household, vec![]);
        let (status, err) = lead.push(std::slice::from_ref(&id)).expect_err("refused");
        assert_eq!((status, err.code.as_str()), (403, "forbidden_change"), "{household:?}");
        lead.docs.remove(&id.to_string());
    }
    // An order for the other building's household: refused too.
    let order = lead.request_order(GRID, THEIR_HOUSEHOLDS[0], "meal_delivery");
    let (status, err) = lead.push(std::slice::from_ref(&order)).expect_err("refused");
    assert_eq!((status, err.code.as_str()), (403, "forbidden_change"));
    lead.docs.remove(&order.to_string());

    // The grid leader receives the building lead's check-in and incident.
    let before = leader.ids();
    leader.sync().expect("leader syncs");
    let now_held = leader.ids();
    assert!(now_held.contains(&my_log.to_string()) && !before.contains(&my_log.to_string()));
    assert!(now_held.contains(&mine_reported.to_string()));
    assert!(!now_held.iter().any(|d| d.starts_with("building:")), "no projection reaches the grid leader");

    // A later check-in of the grid leader reaches the building lead through its projection.
    let c = check_in(&leader, MY_HOUSEHOLDS[1], "leader-late");
    leader.append_check_in(&log, &c);
    leader.sync().expect("leader uploads");
    sync_on_the_wire(&mut lead);
    let doc = lead.docs.get(&projection.to_string()).expect("the projection");
    assert!(building::check_ins(doc).iter().any(|(_, c)| c.check_in_id == "leader-late"));
}
