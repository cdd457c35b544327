//! The two-way evaluation (双评议) through a real server: a grid's residents' survey is written by the phones of
//! the grid, each survey bound to the phone that recorded it, to the document's grid and year and to a
//! household of the grid's roster, with answers 1–5; department ratings are written by committee and station
//! phones only, each under its department's key. Every lie is refused as `forbidden_change` with nothing
//! stored; a volunteer's phone is never told of either document.

use chrono::{DateTime, Datelike, FixedOffset};
use gridline_core::docs::{department, put_entity, s, survey, DocId};
use gridline_core::model::{DepartmentRating, Survey};
use gridline_testkit::{Device, Server};

fn now() -> DateTime<FixedOffset> {
    chrono::Utc::now().fixed_offset()
}

fn year() -> u32 {
    u32::try_from(now().year()).expect("a year of the common era")
}

/// An honest survey of `household` in `grid` recorded on `device`, now.
/// Ten item or aspect codes: `<prefix>1` … `<prefix>10`.
fn codes(prefix: &str) -> Vec<String> {
    (1..=10).map(|n| format!("{prefix}{n}")).collect()
}

fn survey_by(device: &Device, grid: &str, household: &str) -> Survey {
    Survey {
        survey_id: uuid::Uuid::now_v7().to_string(),
        year: year(),
        household_code: household.into(),
        grid: grid.into(),
        building: "1".into(),
        answers: vec![5, 4, 4, 5, 3, 4, 5, 5, 4, 5],
        items: codes("s"),
        visit_id: None,
        actor: device.info.user.clone(),
        device: device.info.device_id.clone(),
        role: device.info.role.clone(),
        at: now(),
    }
}

/// An honest rating of `department` recorded on `device`, now.
fn rating_by(device: &Device, department: &str) -> DepartmentRating {
    DepartmentRating {
        rating_id: uuid::Uuid::now_v7().to_string(),
        year: year(),
        department: department.into(),
        scores: vec![4; 10],
        aspects: codes("a"),
        actor: device.info.user.clone(),
        device: device.info.device_id.clone(),
        role: device.info.role.clone(),
        at: now(),
    }
}

/// Writes with `write` into `device`'s copy of `id` and pushes it; on a refusal the copy and its sync state
/// are put back as they were (the refused change was never stored). Returns the refusal's status and code.
fn attempt(device: &mut Device, id: &DocId, write: impl FnOnce(&mut automerge::AutoCommit)) -> Option<(u16, String)> {
    let key = id.to_string();
    let saved_doc = device.docs.get(&key).cloned();
    let saved_state = device.states.get(&key).map(|s| s.encode());
    let doc = device.doc(id);
    write(doc);
    doc.commit();
    match device.push(std::slice::from_ref(id)) {
        Ok(_) => None,
        Err((status, err)) => {
            match saved_doc {
                Some(d) => device.docs.insert(key.clone(), d),
                None => device.docs.remove(&key),
            };
            match saved_state {
                Some(s) => device.states.insert(key, automerge::sync::State::decode(&s).expect("state")),
                None => device.states.remove(&key),
            };
            Some((status, err.code))
        }
    }
}

fn refused(outcome: Option<(u16, String)>, what: &str) {
    assert_eq!(outcome, Some((403, "forbidden_change".to_string())), "{what} must be refused");
}

/// The surveys of `id` a freshly enrolled station receives from the server.
fn stored_surveys(server: &Server, community: &str, id: &DocId) -> Vec<Survey> {
    let mut observer = server.enroll(community, "observer", "station", &[]);
    observer.sync().expect("observer syncs");
    observer.docs.get(&id.to_string()).map(|d| survey::surveys(d, year())).unwrap_or_default()
}

#[test]
fn surveys_are_bound_to_their_phone_grid_year_and_roster() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    let mut leader = server.enroll(&community, "陈网格长", "grid_leader", &["G01"]);
    leader.sync().expect("leader syncs");
    let id = DocId::survey(&community, "G01", year());

    let honest = survey_by(&leader, "G01", "G01-H0");
    assert_eq!(attempt(&mut leader, &id, |d| survey::append(d, &honest).expect("append")), None, "honest survey");

    let other_year = now().with_year(now().year() - 1).expect("last year");
    let lies: Vec<(Survey, &str)> = vec![
        (Survey { actor: "李".into(), ..survey_by(&leader, "G01", "G01-H1") }, "another user"),
        (Survey { device: uuid::Uuid::now_v7().to_string(), ..survey_by(&leader, "G01", "G01-H1") }, "another device"),
        (Survey { role: "station".into(), ..survey_by(&leader, "G01", "G01-H1") }, "another role"),
        (survey_by(&leader, "G02", "G02-H1"), "another grid than the document's"),
        (survey_by(&leader, "G01", "G01-H9"), "a household outside the roster"),
        (Survey { at: other_year, ..survey_by(&leader, "G01", "G01-H1") }, "another year"),
        (
            Survey { items: codes("s")[..9].to_vec(), ..survey_by(&leader, "G01", "G01-H1") },
            "nine items for ten answers",
        ),
        (Survey { items: vec!["s1".into(); 10], ..survey_by(&leader, "G01", "G01-H1") }, "one item named ten times"),
    ];
    for (lie, what) in lies {
        refused(attempt(&mut leader, &id, |d| survey::append(d, &lie).expect("append")), what);
    }
    // Answers out of range, and a key naming another household than the survey.
    let ok = survey_by(&leader, "G01", "G01-H1");
    refused(
        attempt(&mut leader, &id, |d| {
            survey::append(d, &ok).expect("append");
            let key = survey::survey_key("G01-H1", &ok.survey_id);
            put_entity(d, &key, &vec![("answers", s("6,5,5,5,5,5,5,5,5,5"))]).expect("overwrite");
        }),
        "answers out of range",
    );
    refused(
        attempt(&mut leader, &id, |d| {
            let key = survey::survey_key("G01-H2", &ok.survey_id);
            let at = ok.at.to_rfc3339();
            let fields = vec![
                ("household", s("G01-H1")),
                ("grid", s("G01")),
                ("answers", s("5,5,5,5,5,5,5,5,5,5")),
                ("actor", s(&ok.actor)),
                ("device", s(&ok.device)),
                ("role", s(&ok.role)),
                ("at", s(&at)),
            ];
            put_entity(d, &key, &fields).expect("put");
        }),
        "a key naming another household",
    );
    // Rewriting the stored survey is refused too.
    refused(
        attempt(&mut leader, &id, |d| {
            let key = survey::survey_key("G01-H0", &honest.survey_id);
            put_entity(d, &key, &vec![("answers", s("1,1,1,1,1,1,1,1,1,1"))]).expect("rewrite");
        }),
        "a rewritten survey",
    );
    // A grid leader of G01 writes no survey of G02.
    let g02 = DocId::survey(&community, "G02", year());
    let outside = survey_by(&leader, "G02", "G02-H0");
    let (status, _) = attempt(&mut leader, &g02, |d| survey::append(d, &outside).expect("append")).expect("refused");
    assert_eq!(status, 403);

    let stored = stored_surveys(&server, &community, &id);
    assert_eq!(stored, vec![honest], "only the honest survey is stored, as written");
}

#[test]
fn departments_are_rated_by_the_committee_and_station_only_and_volunteers_never_see_either() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    let mut station = server.enroll(&community, "李站长", "station", &[]);
    let mut leader = server.enroll(&community, "陈网格长", "grid_leader", &["G01"]);
    let mut volunteer = server.enroll(&community, "刘", "volunteer", &[]);
    for d in [&mut station, &mut leader, &mut volunteer] {
        d.sync().expect("first sync");
    }
    let id = DocId::departments(&community, year());

    let honest = rating_by(&station, "区民政局");
    assert_eq!(attempt(&mut station, &id, |d| department::append(d, &honest).expect("append")), None);
    let lies: Vec<(DepartmentRating, &str)> = vec![
        (DepartmentRating { actor: "张".into(), ..rating_by(&station, "区城管局") }, "another user"),
        (DepartmentRating { role: "committee".into(), ..rating_by(&station, "区城管局") }, "another role"),
        (DepartmentRating { aspects: codes("a")[1..].to_vec(), ..rating_by(&station, "区城管局") }, "nine aspects"),
    ];
    for (lie, what) in lies {
        refused(attempt(&mut station, &id, |d| department::append(d, &lie).expect("append")), what);
    }
    let ok = rating_by(&station, "区城管局");
    refused(
        attempt(&mut station, &id, |d| {
            let key =
                format!("{}{}/{}", department::RATING_PREFIX, department::department_key("区民政局"), ok.rating_id);
            let at = ok.at.to_rfc3339();
            let fields = vec![
                ("department", s("区城管局")),
                ("scores", s("1,1,1,1,1,1,1,1,1,1")),
                ("actor", s(&ok.actor)),
                ("device", s(&ok.device)),
                ("role", s(&ok.role)),
                ("at", s(&at)),
            ];
            put_entity(d, &key, &fields).expect("put");
        }),
        "a rating under another department's key",
    );
    refused(
        attempt(&mut station, &id, |d| {
            department::append(d, &DepartmentRating { scores: vec![4; 10], ..ok.clone() }).expect("append");
            let key = department::rating_key("区城管局", &ok.rating_id);
            put_entity(d, &key, &vec![("scores", s("0,4,4,4,4,4,4,4,4,4"))]).expect("overwrite");
        }),
        "scores out of range",
    );
    // A grid leader reads the ratings but writes none.
    leader.sync().expect("leader syncs");
    let held = leader.docs.get(&id.to_string()).map(|d| department::ratings(d, year())).unwrap_or_default();
    assert_eq!(held, vec![honest.clone()], "the grid leader reads the ratings");
    let by_leader = rating_by(&leader, "区城管局");
    refused(
        attempt(&mut leader, &id, |d| department::append(d, &by_leader).expect("append")),
        "a grid leader's rating",
    );

    // A survey in G01 exists too; a volunteer is told of neither document, and asking for them is refused.
    let survey_id = DocId::survey(&community, "G01", year());
    let honest_survey = survey_by(&leader, "G01", "G01-H0");
    assert_eq!(attempt(&mut leader, &survey_id, |d| survey::append(d, &honest_survey).expect("append")), None);
    volunteer.cursor = 0;
    let res = volunteer.round(vec![]).expect("catalogue");
    let listed: Vec<&str> = res.catalogue.iter().map(|e| e.doc_id.as_str()).collect();
    let own = [DocId::community(&community).to_string(), DocId::points(&community).to_string()];
    assert!(listed.iter().all(|d| own.iter().any(|o| o == d)), "a volunteer is listed only its own: {listed:?}");
    assert!(!listed.is_empty(), "the community document is listed");
    let mut empty = automerge::AutoCommit::new();
    let first = {
        use automerge::sync::SyncDoc;
        empty.sync().generate_sync_message(&mut automerge::sync::State::new()).expect("a first message").encode()
    };
    for doc in [&id, &survey_id] {
        let ask = gridline_core::sync::protocol::DocMessage {
            doc_id: doc.to_string(),
            message: first.clone(),
            signatures: vec![],
        };
        let (status, err) = volunteer.round(vec![ask]).expect_err("refused");
        assert_eq!((status, err.code.as_str()), (403, "forbidden_document"), "{doc}");
    }
    // The station's catalogue lists both.
    station.cursor = 0;
    let listed: Vec<String> =
        station.round(vec![]).expect("catalogue").catalogue.into_iter().map(|e| e.doc_id).collect();
    assert!(listed.contains(&id.to_string()) && listed.contains(&survey_id.to_string()), "{listed:?}");
}
