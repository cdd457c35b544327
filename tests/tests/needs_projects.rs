//! The needs list (问题清单) and a service project rated by residents (项目化, 民事民评) through the real
//! `gridline-server` on loopback, every phone the core's own store: visits in two grids record needs, and the
//! committee's needs list counts them per building; the committee creates a project for two of the needs and
//! runs it to done; a rating before done is refused on the phone; three households rate it — one twice, and
//! the later rating stands — and every device shows the same three ratings and their average; the needs list
//! links both needs to the project.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use gridline_core::model::{NewProject, NewProjectRating, NewVisit, VisitKind};
use gridline_core::project::{ProjectStatus, RatingState};
use gridline_core::store::{NeedsFilter, ProjectDetail};
use gridline_core::sync::NoProgress;
use gridline_core::{ErrorCode, Store, SystemClock};
use gridline_scenarios::roster;
use gridline_testkit::Server;

fn enroll(server: &Server, dir: &Path, community: &str, name: &str, role: &str, grids: &[&str]) -> Store {
    let code = server.enrollment_code(community, name, role, grids);
    Store::enroll(&dir.join(name), &[9; 32], &server.url(""), &code, false, Arc::new(SystemClock))
        .unwrap_or_else(|e| panic!("{name} enrolls: {e}"))
}

fn sync(store: &mut Store) {
    let report = store.sync(&NoProgress, &AtomicBool::new(false)).expect("sync");
    assert_eq!(report.docs_refused, 0, "{}: nothing refused", store.device().user);
}

fn visit(household: &str, needs: &[&str]) -> NewVisit {
    NewVisit {
        household_code: household.into(),
        residents: vec![],
        kind: VisitKind::Home,
        at: None,
        duration_min: Some(30),
        services: vec![],
        needs: "走访发现的需求".into(),
        need_tags: needs.iter().map(|n| n.to_string()).collect(),
        follow_up: None,
        satisfaction: None,
        photos: vec![],
    }
}

fn rate(household: &str, rating: u8) -> NewProjectRating {
    NewProjectRating { household_code: household.into(), rating, note: "居民评价".into() }
}

/// The standing ratings of a project as (household, rating), in household order.
fn standing(d: &ProjectDetail) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = d
        .ratings
        .items
        .iter()
        .filter(|r| r.state == RatingState::Stands)
        .map(|r| (r.household_code.clone(), r.rating))
        .collect();
    out.sort();
    out
}

#[test]
fn needs_found_on_visits_become_a_project_that_residents_rate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("server-data"));
    let community = server.community("幸福社区");
    // 61 households a grid: H0000–H0059 live in building 1, H0060 in building 2.
    server.import_roster(&community, "roster.csv", &roster(&["G01", "G02"], 61).csv());
    let mut leader = enroll(&server, dir.path(), &community, "王网格长", "grid_leader", &["G01"]);
    let mut social = enroll(&server, dir.path(), &community, "孙社工", "social_worker", &["G02"]);
    let mut committee = enroll(&server, dir.path(), &community, "李主任", "committee", &[]);
    for store in [&mut leader, &mut social, &mut committee] {
        sync(store);
    }

    // Visits in two grids record needs.
    leader.record_visit(visit("G01-H0000", &["meal_delivery", "companionship"])).expect("visit");
    leader.record_visit(visit("G01-H0001", &["meal_delivery"])).expect("visit");
    leader.record_visit(visit("G01-H0060", &["meal_delivery"])).expect("visit in building 2");
    social.record_visit(visit("G02-H0000", &["meal_delivery"])).expect("visit");
    social.record_visit(visit("G02-H0001", &["cleaning"])).expect("visit");
    sync(&mut leader);
    sync(&mut social);
    sync(&mut committee);

    let needs = committee.needs_list(&NeedsFilter::default()).expect("needs list");
    let codes: Vec<(&str, u32)> = needs.items.iter().map(|n| (n.need.as_str(), n.households)).collect();
    assert_eq!(codes, [("meal_delivery", 4), ("cleaning", 1), ("companionship", 1)]);
    let meal = &needs.items[0];
    assert_eq!((meal.visits, meal.requests, meal.project_id.as_deref()), (4, 0, None));
    let per_building: Vec<(&str, &str, u32)> =
        meal.by_building.iter().map(|b| (b.grid.as_str(), b.building.as_str(), b.households)).collect();
    assert_eq!(per_building, [("G01", "1", 2), ("G01", "2", 1), ("G02", "1", 1)]);
    let g02 = committee.needs_list(&NeedsFilter { grid: Some("G02".into()), month: None }).expect("G02");
    assert_eq!(g02.items.iter().map(|n| n.need.as_str()).collect::<Vec<_>>(), ["cleaning", "meal_delivery"]);
    // The leader's device counts what it holds: its own grid.
    let own = leader.needs_list(&NeedsFilter::default()).expect("leader's list");
    assert_eq!(own.items[0].households, 3);

    // The committee creates a project for two of the needs and runs it.
    let project = committee
        .project_create(NewProject {
            title: "长者助餐与陪伴".into(),
            category: "elderly_care".into(),
            organisation: "阳光社工服务中心".into(),
            budget_yuan: Some(80_000),
            needs: vec!["meal_delivery".into(), "companionship".into()],
            from: None,
            to: None,
        })
        .expect("project");
    let id = project.project_id.clone();
    committee.project_update(&id, ProjectStatus::Active, "社工机构进场").expect("active");
    sync(&mut committee);
    sync(&mut leader);

    // A rating before done is refused on the phone, and nothing is written.
    let refused = leader.project_evaluate(&id, rate("G01-H0000", 5)).expect_err("not done");
    assert_eq!(refused.code(), ErrorCode::ProjectNotDone);
    assert!(leader.project_detail(&id).expect("held").ratings.items.is_empty());

    let done = committee.project_update(&id, ProjectStatus::Done, "结项验收").expect("done");
    assert_eq!(done.status, ProjectStatus::Done);
    sync(&mut committee);
    sync(&mut leader);
    sync(&mut social);

    // Three households rate it; G01-H0000 twice — the later rating stands.
    leader.project_evaluate(&id, rate("G01-H0000", 2)).expect("first rating");
    leader.project_evaluate(&id, rate("G01-H0001", 4)).expect("rating");
    social.project_evaluate(&id, rate("G02-H0000", 3)).expect("rating");
    std::thread::sleep(std::time::Duration::from_millis(5));
    leader.project_evaluate(&id, rate("G01-H0000", 5)).expect("the household rates again");
    let outside = leader.project_evaluate(&id, rate("G02-H0001", 1)).expect_err("another grid's household");
    assert_eq!(outside.code(), ErrorCode::HouseholdNotFound, "not on the leader's roster");
    for _ in 0..2 {
        for store in [&mut leader, &mut social, &mut committee] {
            sync(store);
        }
    }

    let expected = vec![("G01-H0000".to_string(), 5), ("G01-H0001".to_string(), 4), ("G02-H0000".to_string(), 3)];
    for store in [&leader, &social, &committee] {
        let d = store.project_detail(&id).expect("project show");
        assert_eq!((d.status, d.ratings.count, d.ratings.average), (ProjectStatus::Done, 3, Some(4.0)));
        assert_eq!(standing(&d), expected, "{}", store.device().user);
        assert_eq!(d.ratings.items.len(), 4, "the replaced rating is kept");
        let replaced = d.ratings.items.iter().find(|r| r.state == RatingState::Replaced).expect("replaced");
        assert_eq!((replaced.household_code.as_str(), replaced.rating), ("G01-H0000", 2));
    }

    // The needs list links both needs to the project.
    let needs = committee.needs_list(&NeedsFilter::default()).expect("needs list");
    for n in &needs.items {
        let expected = matches!(n.need.as_str(), "meal_delivery" | "companionship").then_some(id.as_str());
        assert_eq!(n.project_id.as_deref(), expected, "{}", n.need);
    }
}
