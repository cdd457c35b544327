//! The two-way evaluation (双评议) through the built `gridline` binary: `survey record` (one survey per
//! household per year, ten answers 1–5), `survey report` (households surveyed, the average, each item, each
//! grid), `department rate` (committee and station; a later rating replaces the earlier) and
//! `department report`, in JSON and in human text; refusals exit non-zero with their codes.

mod common;

use common::{init, NOW};

const ROSTER: &[&str] = &[
    "G01,1,1,3,301,H001,王秀英,F,1942,13800000000,,elderly_alone,",
    "G01,2,1,2,201,H002,李建国,M,1950,,,disabled,",
    "G01,2,1,4,401,H003,赵强,M,1985,,,,",
];

const LATER: &str = "2026-11-24T10:00:00+08:00";

#[test]
fn surveys_and_department_ratings_from_the_command_line() {
    let root = tempfile::tempdir().expect("dir");
    let (leader, info) = init(root.path(), "leader", "王网格长", "grid_leader", &["--grid", "G01"]);
    let community = info["community_id"].as_str().expect("community id").to_string();
    let (station, _) = init(root.path(), "station", "赵站长", "station", &["--community-id", community.as_str()]);
    std::fs::write(root.path().join("roster.csv"), gridline_testkit::roster::csv(ROSTER)).expect("roster file");
    leader.run(&["roster", "import", root.path().join("roster.csv").to_str().expect("path")]);

    let recorded = leader.run(&["survey", "record", "--household", "H001", "--answers", "5,5,5,5,5,5,5,5,5,5"]);
    assert!(
        recorded["survey_id"].as_str().is_some_and(|id| id.len() == 36 && id.matches('-').count() == 4),
        "{recorded}"
    );
    assert_eq!(recorded["year"], 2026);
    leader.run(&["survey", "record", "--household", "H002", "--answers", "3, 4,4,4,4,4,4,4,4,4"]);
    let again = ["survey", "record", "--household", "H001", "--answers", "1,1,1,1,1,1,1,1,1,1"];
    assert_eq!(leader.refused(&again), "already_surveyed");
    for bad in ["5,5,5", "5,5,5,5,5,5,5,5,5,6", "a,b", ""] {
        assert_eq!(
            leader.refused(&["survey", "record", "--household", "H003", "--answers", bad]),
            "invalid_input",
            "{bad}"
        );
    }
    assert_eq!(
        leader.refused(&["survey", "record", "--household", "H404", "--answers", "5,5,5,5,5,5,5,5,5,5"]),
        "household_not_found"
    );
    let visit = ["survey", "record", "--household", "H003", "--answers", "5,5,5,5,5,5,5,5,5,5", "--visit"];
    assert_eq!(leader.refused(&[&visit[..], &["0190f5a4-2b3c-7d4e-8f00-112233445566"]].concat()), "not_found");

    let report = leader.run(&["survey", "report", "--year", "2026"]);
    assert_eq!((report["year"].as_u64(), report["households_surveyed"].as_u64()), (Some(2026), Some(2)));
    assert_eq!(report["average"], 4.45, "(50 + 39) / 20");
    let items = report["items"].as_array().expect("items");
    assert_eq!(items.len(), 10);
    assert_eq!((items[0]["item"].as_str(), items[0]["name"].as_str()), (Some("environment"), Some("环境卫生")));
    assert_eq!((items[0]["average"].as_f64(), items[1]["average"].as_f64()), (Some(4.0), Some(4.5)));
    assert_eq!(report["grids"][0]["grid"], "G01");
    let empty = leader.run(&["survey", "report", "--year", "2025", "--grid", "G01"]);
    assert_eq!((empty["households_surveyed"].as_u64(), empty["average"].is_null()), (Some(0), true));
    assert_eq!(leader.refused(&["survey", "report", "--year", "2026", "--grid", "G09"]), "action_not_allowed");
    let (_, human, _) = leader.raw(NOW, false, &["survey", "report", "--year", "2026"]);
    assert!(human.contains("居民满意度测评 2026: 2 households surveyed, average 4.45"), "{human}");
    assert!(human.contains("环境卫生") && human.contains("4.00"), "{human}");

    // Department ratings: the committee and the station only; the later rating stands.
    let rate =
        |scores: &'static str| ["department", "rate", "--department", "区民政局", "--year", "2026", "--scores", scores];
    assert_eq!(leader.refused(&rate("4,4,4,4,4,4,4,4,4,4")), "action_not_allowed");
    assert_eq!(station.refused(&rate("4,4,4")), "invalid_input");
    let first = station.run(&rate("3,3,3,3,3,3,3,3,3,3"));
    assert_eq!(
        (first["department"].as_str(), first["year"].as_u64(), first["average"].as_f64()),
        (Some("区民政局"), Some(2026), Some(3.0))
    );
    let later = station.run_at(LATER, &rate("5,5,5,5,5,5,5,5,5,4"));
    assert_eq!(later["average"], 4.9);
    let report = station.run(&["department", "report", "--year", "2026"]);
    let departments = report["departments"].as_array().expect("departments");
    assert_eq!(departments.len(), 1);
    assert_eq!(
        (departments[0]["department"].as_str(), departments[0]["average"].as_f64()),
        (Some("区民政局"), Some(4.9))
    );
    assert_eq!(departments[0]["replaced"], 1);
    let aspects = departments[0]["aspects"].as_array().expect("aspects");
    assert_eq!(
        (aspects.len(), aspects[9]["score"].as_u64(), aspects[0]["name"].as_str()),
        (10, Some(4), Some("派单合理"))
    );
    let (_, human, _) = station.raw(NOW, false, &["department", "report", "--year", "2026"]);
    assert!(
        human.contains("部门评议 2026: 1 departments") && human.contains("区民政局") && human.contains("4.90"),
        "{human}"
    );
    let (ok, _, stderr) = station.raw(
        NOW,
        false,
        &["department", "rate", "--department", " ", "--year", "2026", "--scores", "1,1,1,1,1,1,1,1,1,1"],
    );
    assert!(!ok && stderr.starts_with("invalid_input: department"), "{stderr}");
}
