//! The needs list and service projects through the built `gridline` binary: visits record needs and
//! `needs list` counts them per building and month; the committee creates a project (`project create`), its
//! document is handed to a grid leader (as sync does), who may neither move it nor rate it before it is done
//! (`action_not_allowed`, `project_not_done`); the committee runs it to done; the grid leader rates three
//! households, one twice, and `project show` averages the three that stand; the human output says the same;
//! the month's ledger holds the needs list, the projects and their ratings, in Chinese and in English.

mod common;

use calamine::{open_workbook, Reader, Xlsx};
use serde_json::Value;

use common::{init, Device, NOW};

const ROSTER: &[&str] = &[
    "G01,1,1,3,301,H001,王秀英,F,1942,,,elderly_alone,",
    "G01,1,1,2,201,H002,李建国,M,1950,,,disabled,",
    "G01,2,1,1,101,H003,张桂兰,F,1952,,,,",
    "G02,5,1,1,101,H101,赵强,M,1960,,,,",
];

const LATER: &str = "2026-11-25T09:00:00+08:00";

/// Hands a project's document from one store to another and reindexes it (what sync does).
fn hand_over(from: &Device, to: &Device, project_id: &str) {
    from.hand_over(to, &from.open().project_detail(project_id).expect("detail").doc_id);
}

#[test]
fn needs_become_a_project_that_residents_rate() {
    let root = tempfile::tempdir().expect("dir");
    let (committee, info) = init(root.path(), "committee", "李主任", "committee", &[]);
    let community = info["community_id"].as_str().expect("community id").to_string();
    let (leader, _) =
        init(root.path(), "leader", "王网格长", "grid_leader", &["--community-id", &community, "--grid", "G01"]);
    let roster = root.path().join("roster.csv");
    std::fs::write(&roster, gridline_testkit::roster::csv(ROSTER)).expect("roster file");
    committee.run(&["roster", "import", roster.to_str().expect("path")]);
    let g01: Vec<&str> = ROSTER.iter().copied().filter(|l| l.starts_with("G01")).collect();
    let leader_roster = root.path().join("g01.csv");
    std::fs::write(&leader_roster, gridline_testkit::roster::csv(&g01)).expect("roster file");
    leader.run(&["roster", "import", leader_roster.to_str().expect("path")]);

    // Needs found on visits, and a service request.
    for (household, tags) in
        [("H001", "meal_delivery,companionship"), ("H002", "meal_delivery"), ("H003", "meal_delivery")]
    {
        committee.run(&["visit", "record", "--household", household, "--kind", "home", "--need-tags", tags]);
    }
    committee.run(&["visit", "record", "--household", "H101", "--kind", "door", "--need-tags", "cleaning"]);
    committee.run(&["service", "request", "--household", "H001", "--service", "meal_delivery"]);
    let needs = committee.run(&["needs", "list"]);
    let meal = &needs["items"][0];
    assert_eq!((meal["need"].as_str(), meal["households"].as_u64()), (Some("meal_delivery"), Some(3)));
    assert_eq!((meal["requests"].as_u64(), meal["visits"].as_u64()), (Some(1), Some(3)));
    assert_eq!((meal["first_seen"].as_str(), meal["last_seen"].as_str()), (Some("2026-11-24"), Some("2026-11-24")));
    assert_eq!(meal["project_id"], Value::Null);
    for key in ["need", "households", "requests", "first_seen", "last_seen", "project_id", "by_building"] {
        assert!(meal.get(key).is_some(), "needs list items have {key}: {meal}");
    }
    let buildings: Vec<(String, u64)> = meal["by_building"]
        .as_array()
        .expect("by building")
        .iter()
        .map(|b| {
            (
                format!("{}/{}", b["grid"].as_str().unwrap_or(""), b["building"].as_str().unwrap_or("")),
                b["households"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(buildings, [("G01/1".to_string(), 2), ("G01/2".to_string(), 1)]);
    let g02 = committee.run(&["needs", "list", "--grid", "G02"]);
    assert_eq!(g02["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(committee.run(&["needs", "list", "--month", "2026-10"])["items"], Value::Array(vec![]));
    assert_eq!(committee.refused(&["needs", "list", "--month", "2026-13"]), "invalid_input");
    let (ok, human, _) = committee.raw(NOW, false, &["needs", "list"]);
    assert!(ok && human.contains("meal_delivery") && human.contains("3 households"), "{human}");

    // The committee creates the project; a grid leader may not.
    let create = [
        "project",
        "create",
        "--title",
        "长者助餐与陪伴",
        "--category",
        "elderly_care",
        "--organisation",
        "阳光社工",
        "--budget",
        "80000",
        "--needs",
        "meal_delivery,companionship",
        "--from",
        "2026-12-01",
        "--to",
        "2027-02-28",
    ];
    assert_eq!(leader.refused(&create), "action_not_allowed");
    let mut unknown = create.to_vec();
    unknown[11] = "skydiving";
    assert_eq!(committee.refused(&unknown), "unknown_code");
    let created = committee.run(&create);
    let id = created["project_id"].as_str().expect("project id").to_string();
    assert_eq!(committee.run(&["needs", "list"])["items"][0]["project_id"], id.as_str());

    hand_over(&committee, &leader, &id);
    assert_eq!(leader.refused(&["project", "update", &id, "--status", "active"]), "action_not_allowed");
    assert_eq!(
        leader.refused(&["project", "evaluate", &id, "--household", "H001", "--rating", "5"]),
        "project_not_done"
    );
    assert_eq!(committee.refused(&["project", "update", &id, "--status", "done"]), "action_not_allowed");
    assert_eq!(committee.refused(&["project", "update", &id, "--status", "finished"]), "invalid_input");
    committee.run(&["project", "update", &id, "--status", "active", "--note", "进场"]);
    let done = committee.run(&["project", "update", &id, "--status", "done", "--note", "结项"]);
    assert_eq!(done["status"], "done");
    hand_over(&committee, &leader, &id);

    // Three households rate it, H001 twice: the later rating stands.
    leader.run(&["project", "evaluate", &id, "--household", "H001", "--rating", "2"]);
    leader.run(&["project", "evaluate", &id, "--household", "H002", "--rating", "4"]);
    leader.run(&["project", "evaluate", &id, "--household", "H003", "--rating", "3"]);
    leader.run_at(LATER, &["project", "evaluate", &id, "--household", "H001", "--rating", "5", "--note", "很好"]);
    assert_eq!(
        leader.refused(&["project", "evaluate", &id, "--household", "H101", "--rating", "5"]),
        "household_not_found"
    );
    assert_eq!(leader.refused(&["project", "evaluate", &id, "--household", "H002", "--rating", "0"]), "invalid_input");
    let shown = leader.run(&["project", "show", &id]);
    for key in [
        "project_id",
        "title",
        "category",
        "organisation",
        "budget",
        "status",
        "needs",
        "from",
        "to",
        "ratings",
        "events",
    ] {
        assert!(shown.get(key).is_some(), "project show has {key}: {shown}");
    }
    assert_eq!((shown["budget"].as_u64(), shown["from"].as_str()), (Some(80000), Some("2026-12-01")));
    assert_eq!((shown["ratings"]["count"].as_u64(), shown["ratings"]["average"].as_f64()), (Some(3), Some(4.0)));
    let items = shown["ratings"]["items"].as_array().expect("rating items");
    assert_eq!(items.len(), 4);
    let states: Vec<(&str, &str)> =
        items.iter().map(|r| (r["household_code"].as_str().unwrap_or(""), r["state"].as_str().unwrap_or(""))).collect();
    assert_eq!(states, [("H001", "replaced"), ("H002", "stands"), ("H003", "stands"), ("H001", "stands")]);
    let (ok, human, _) = leader.raw(LATER, false, &["project", "show", &id]);
    assert!(ok && human.contains("ratings: 3 households, average 4.00") && human.contains("[replaced]"), "{human}");
    let list = committee.run(&["project", "list"]);
    assert_eq!(list["counts"]["planned"], 0);
    hand_over(&leader, &committee, &id);
    let list = committee.run(&["project", "list", "--status", "done"]);
    assert_eq!(
        (list["items"][0]["rating_count"].as_u64(), list["items"][0]["rating_average"].as_f64()),
        (Some(3), Some(4.0))
    );

    // The month's ledger: the summary's counters, and the three sheets in both languages.
    let summary = committee.run_at(LATER, &["ledger", "--month", "2026-11", "--format", "json"]);
    assert_eq!((summary["needs"].as_u64(), summary["projects"].as_u64()), (Some(3), Some(1)));
    assert_eq!((summary["projects_done"].as_u64(), summary["project_ratings"].as_u64()), (Some(1), Some(4)));
    let csv = root.path().join("ledger.csv");
    committee.run_at(LATER, &["ledger", "--month", "2026-11", "--format", "csv", "--out", csv.to_str().expect("path")]);
    let text = String::from_utf8(std::fs::read(&csv).expect("csv")).expect("utf-8");
    assert!(text.contains("\n问题清单\n需求代码,需求,网格,楼栋,户数,访视发现,点单次数,"), "{text}");
    assert!(text.contains(&format!("meal_delivery,上门送餐,G01,1,2,2,1,3,2026-11-24,2026-11-24,{id}\n")), "{text}");
    assert!(text.contains("\n项目化服务\n项目编号,项目名称,"), "{text}");
    assert!(text.contains(&format!("{id},长者助餐与陪伴,G01,1,H001,5,很好,王网格长,")), "{text}");
    let xlsx = root.path().join("ledger-en.xlsx");
    let xlsx_arg = xlsx.to_str().expect("path");
    committee.run_at(LATER, &["ledger", "--month", "2026-11", "--format", "xlsx", "--lang", "en", "--out", xlsx_arg]);
    let mut book: Xlsx<_> = open_workbook(&xlsx).expect("open xlsx");
    for name in ["Needs list", "Service projects", "Project ratings"] {
        assert!(book.sheet_names().iter().any(|n| n == name), "{name}");
    }
    let ratings = book.worksheet_range("Project ratings").expect("ratings sheet");
    assert_eq!(ratings.get_value((0, 0)).map(|d| d.to_string()), Some("Project".into()));
    assert_eq!(ratings.height(), 5, "a header and four ratings");
    let states: Vec<String> =
        (1..5).map(|r| ratings.get_value((r, 9)).map(|d| d.to_string()).unwrap_or_default()).collect();
    assert_eq!(states.iter().filter(|s| *s == "replaced").count(), 1, "{states:?}");
}
