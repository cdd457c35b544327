//! Service projects (项目化) and residents' ratings (民事民评) through a real server: the attacks first — a grid
//! role writing a project's fields or a status event, a rating for a household outside its author's grids,
//! a rating naming another household's grid, another user or device or another role — each refused as
//! `forbidden_change` with nothing of it kept; a volunteer never learns of a project; then the honest story:
//! the committee creates and runs a project, grid leaders rate households of their grids, and every role of
//! the community but the volunteer receives it.

use std::collections::BTreeSet;

use gridline_core::docs::{self, DocId};
use gridline_core::model::{ProjectFields, ProjectRatingEntry, ProjectStatusEvent};
use gridline_core::project::{self, ProjectStatus};
use gridline_testkit::{Device, Server};

fn now() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::Utc::now().fixed_offset()
}

/// Fields of a new project written by `device` in its own name and role.
fn fields(device: &Device, project_id: &str) -> ProjectFields {
    ProjectFields {
        project_id: project_id.into(),
        title: "长者助餐".into(),
        category: "elderly_care".into(),
        organisation: "阳光社工中心".into(),
        budget_yuan: Some(50_000),
        needs: vec!["meal_delivery".into()],
        from: None,
        to: None,
        created_by: device.info.user.clone(),
        device: device.info.device_id.clone(),
        role: device.info.role.clone(),
        at: now(),
    }
}

/// Writes a new project of `device` (not yet synced); returns its id.
fn create(device: &mut Device) -> DocId {
    let project_id = uuid::Uuid::now_v7().to_string();
    let id = DocId::project(device.community(), &project_id);
    let f = fields(device, &project_id);
    let doc = device.doc(&id);
    docs::project::create(doc, &f).expect("create");
    doc.commit();
    id
}

/// A status event of `device` in its own name and role.
fn status(device: &Device, to: &str) -> ProjectStatusEvent {
    ProjectStatusEvent {
        event_id: uuid::Uuid::now_v7().to_string(),
        status: to.into(),
        note: String::new(),
        actor: device.info.user.clone(),
        device: device.info.device_id.clone(),
        role: device.info.role.clone(),
        at: now().to_rfc3339(),
    }
}

fn add_status(device: &mut Device, id: &DocId, e: &ProjectStatusEvent) {
    let doc = device.doc(id);
    docs::project::add_status(doc, e).expect("status");
    doc.commit();
}

/// An honest rating by `device` of `household` in `grid`.
fn rating(device: &Device, grid: &str, household: &str, score: i64) -> ProjectRatingEntry {
    ProjectRatingEntry {
        rating_id: uuid::Uuid::now_v7().to_string(),
        household: household.into(),
        grid: grid.into(),
        building: "1".into(),
        rating: score,
        note: "满意".into(),
        actor: device.info.user.clone(),
        device: device.info.device_id.clone(),
        role: device.info.role.clone(),
        at: now().to_rfc3339(),
    }
}

fn add_rating(device: &mut Device, id: &DocId, r: &ProjectRatingEntry) {
    let doc = device.doc(id);
    docs::project::add_rating(doc, r).expect("rating");
    doc.commit();
}

/// Sends `id` and expects the round refused as `forbidden_change` with `why` in its message; then drops the
/// local copy and syncs again, so the device holds the server's copy only.
fn refused(device: &mut Device, id: &DocId, why: &str) {
    let (status, err) = device.push(std::slice::from_ref(id)).expect_err("refused");
    assert_eq!((status, err.code.as_str()), (403, "forbidden_change"), "{why}: {}", err.message);
    assert!(err.message.contains(why), "{why:?} not in {:?}", err.message);
    assert!(!err.message.contains("满意") && !err.message.contains("长者"), "no content in {}", err.message);
    device.docs.remove(&id.to_string());
    device.states.remove(&id.to_string());
    device.cursor = 0;
    device.sync().expect("sync back to the server's copy");
}

/// What `device` holds of project `id`: its status and ratings that stand (count, average).
fn held(device: &Device, id: &DocId) -> (ProjectStatus, u32, Option<f64>) {
    let p = docs::project::read(device.docs.get(&id.to_string()).expect("held")).expect("readable");
    let d = project::replay(&p.status_events);
    let r = project::ratings(&p.ratings, d.status);
    (d.status, r.count, r.average)
}

#[test]
fn grid_roles_may_not_run_projects_and_rate_only_their_grids_households() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    let mut committee = server.enroll(&community, "社居委", "committee", &[]);
    let mut leader = server.enroll(&community, "陈网格长", "grid_leader", &["G01"]);
    let mut other = server.enroll(&community, "王网格长", "grid_leader", &["G02"]);
    let mut volunteer = server.enroll(&community, "志愿者甲", "volunteer", &[]);
    for d in [&mut committee, &mut leader, &mut other, &mut volunteer] {
        d.sync().expect("first sync");
    }

    // A grid leader creating a project of its own: refused, nothing stored.
    let forged = create(&mut leader);
    refused(&mut leader, &forged, "does not run projects");
    assert!(!leader.ids().contains(&forged.to_string()));

    // The committee's project, planned: a grid leader moving it is refused.
    let id = create(&mut committee);
    committee.sync().expect("the project goes up");
    leader.sync().expect("the leader receives it");
    assert!(leader.ids().contains(&id.to_string()), "grid roles read projects");
    let active = status(&leader, "active");
    add_status(&mut leader, &id, &active);
    refused(&mut leader, &id, "does not run projects");
    // Nor may it claim the committee's role for it.
    let mut as_committee = status(&leader, "active");
    as_committee.role = "committee".into();
    add_status(&mut leader, &id, &as_committee);
    refused(&mut leader, &id, "claims role \"committee\"");

    // The committee runs it to done.
    for to in ["active", "done"] {
        let e = status(&committee, to);
        add_status(&mut committee, &id, &e);
    }
    committee.sync().expect("active and done go up");
    leader.sync().expect("the leader sees it done");
    assert_eq!(held(&leader, &id).0, ProjectStatus::Done);

    // Ratings: another grid's household, a household of another grid claimed in ours, another user, another
    // device: each refused.
    let outside = rating(&leader, "G02", "G02-H0", 5);
    add_rating(&mut leader, &id, &outside);
    refused(&mut leader, &id, "outside its author's scope");
    let misplaced = rating(&leader, "G01", "G02-H0", 5);
    add_rating(&mut leader, &id, &misplaced);
    refused(&mut leader, &id, "not in grid G01's roster");
    let as_other = ProjectRatingEntry { actor: "王网格长".into(), ..rating(&leader, "G01", "G01-H0", 5) };
    add_rating(&mut leader, &id, &as_other);
    refused(&mut leader, &id, "another user");
    let other_device =
        ProjectRatingEntry { device: other.info.device_id.clone(), ..rating(&leader, "G01", "G01-H0", 5) };
    add_rating(&mut leader, &id, &other_device);
    refused(&mut leader, &id, "another device");
    assert_eq!(held(&leader, &id), (ProjectStatus::Done, 0, None), "nothing of the refused ratings kept");

    // Honest ratings: two households of G01 by its leader, one of G02 by the other leader.
    for (household, score) in [("G01-H0", 5), ("G01-H1", 3)] {
        let r = rating(&leader, "G01", household, score);
        add_rating(&mut leader, &id, &r);
    }
    leader.sync().expect("the leader's ratings go up");
    other.sync().expect("the other leader receives the project");
    let r = rating(&other, "G02", "G02-H0", 4);
    add_rating(&mut other, &id, &r);
    other.sync().expect("the other leader's rating goes up");
    committee.sync().expect("the committee receives every rating");
    assert_eq!(held(&committee, &id), (ProjectStatus::Done, 3, Some(4.0)));

    // The volunteer never learns of the project: not listed on the wire, and asking for it is refused.
    volunteer.cursor = 0;
    let mut named = BTreeSet::new();
    let mut docs_out = volunteer.outgoing(None);
    for _ in 0..12 {
        let res = volunteer.round(docs_out).expect("round");
        named.extend(res.docs.iter().map(|m| m.doc_id.clone()));
        named.extend(res.catalogue.iter().map(|e| e.doc_id.clone()));
        let differ = volunteer.apply(&res);
        docs_out = volunteer.outgoing(None);
        if !res.more && differ.is_empty() && docs_out.is_empty() {
            break;
        }
    }
    assert!(!named.contains(&id.to_string()), "a volunteer's sync names no project: {named:?}");
    let ask = {
        use automerge::sync::SyncDoc;
        let mut empty = automerge::AutoCommit::new();
        let m = empty.sync().generate_sync_message(&mut automerge::sync::State::new()).expect("message");
        gridline_core::sync::protocol::DocMessage { doc_id: id.to_string(), message: m.encode(), signatures: vec![] }
    };
    let (status, err) = volunteer.round(vec![ask]).expect_err("refused");
    assert_eq!((status, err.code.as_str()), (403, "forbidden_document"));
}

/// A building lead rates the households of its buildings only, decided by the building the server's roster
/// records for the household, never by the building the rating names: a household of another building is
/// refused whether the rating names that building or the lead's own.
#[test]
fn a_building_lead_rates_only_its_buildings_households_whatever_building_a_rating_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community("幸福社区");
    server.import_roster(
        &community,
        "roster.csv",
        &gridline_testkit::roster::csv(&[
            "G01,1号楼,1,1,101,G01-A1,甲一,F,1940,,,,",
            "G01,2号楼,1,1,101,G01-B1,乙一,F,1941,,,,",
        ]),
    );
    let mut committee = server.enroll(&community, "社居委", "committee", &[]);
    let mut leader = server.enroll(&community, "陈网格长", "grid_leader", &["G01"]);
    let mut lead = server.enroll_building_lead(&community, "赵楼栋长", "G01", &["1号楼"]);
    let id = create(&mut committee);
    for to in ["active", "done"] {
        let e = status(&committee, to);
        add_status(&mut committee, &id, &e);
    }
    committee.sync().expect("the done project goes up");
    for d in [&mut leader, &mut lead] {
        d.sync().expect("receives the project");
        assert!(d.ids().contains(&id.to_string()));
    }

    let in_building = |d: &Device, household: &str, building: &str| ProjectRatingEntry {
        building: building.into(),
        ..rating(d, "G01", household, 5)
    };
    let lie = in_building(&lead, "G01-B1", "1号楼");
    add_rating(&mut lead, &id, &lie);
    refused(&mut lead, &id, "outside its author's scope");
    let other = in_building(&lead, "G01-B1", "2号楼");
    add_rating(&mut lead, &id, &other);
    refused(&mut lead, &id, "outside its author's scope");

    let mine = ProjectRatingEntry { rating: 4, ..in_building(&lead, "G01-A1", "1号楼") };
    add_rating(&mut lead, &id, &mine);
    lead.sync().expect("its own building's household is rated");
    // The grid leader rates the other building's household, which its grid scope covers.
    let theirs = in_building(&leader, "G01-B1", "2号楼");
    add_rating(&mut leader, &id, &theirs);
    leader.sync().expect("the grid leader's rating goes up");
    committee.sync().expect("the committee receives both");
    assert_eq!(held(&committee, &id), (ProjectStatus::Done, 2, Some(4.5)));
}
