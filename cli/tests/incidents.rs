//! Incident scenario through the built `gridline` binary: a grid leader reports, two committee members and
//! the work station act on their own devices, documents are handed between the stores (as sync will do),
//! and the resident's evaluation closes the loop. Refused actions exit non-zero with `action_not_allowed`.

mod common;

use serde_json::Value;

use common::{init, Device};

const ROSTER: &[&str] = &["G01,1,1,3,301,H001,王秀英,F,1942,,,elderly_alone,"];

/// Hands an incident's document from one store to another and reindexes it (what sync will do).
fn hand_over(from: &Device, to: &Device, incident_id: &str) {
    from.hand_over(to, &from.open().incident_detail(incident_id).expect("detail").doc_id);
}

fn stage(doc: &Value) -> &str {
    doc["stage"].as_str().expect("stage")
}

#[test]
fn incident_from_report_to_closed_across_devices() {
    let root = tempfile::tempdir().expect("dir");
    let (leader, info) = init(root.path(), "leader", "王网格长", "grid_leader", &["--grid", "G01"]);
    let community = info["community_id"].as_str().expect("community id").to_string();
    let join = ["--community-id", community.as_str()];
    let (li, _) = init(root.path(), "li", "李主任", "committee", &join);
    let (zhang, _) = init(root.path(), "zhang", "张委员", "committee", &join);
    let (station, _) = init(root.path(), "station", "赵站长", "station", &join);
    for role in ["grid_worker", "social_worker", "street", "admin"] {
        init(root.path(), role, "someone", role, &join);
    }
    std::fs::write(root.path().join("roster.csv"), gridline_testkit::roster::csv(ROSTER)).expect("roster file");
    leader.run(&["roster", "import", root.path().join("roster.csv").to_str().expect("path")]);

    // Report; the committee may not report, and nobody may act outside the table.
    assert_eq!(
        li.refused(&["incident", "report", "--category", "other", "--title", "x", "--grid", "G01"]),
        "action_not_allowed"
    );
    let report = leader.run(&[
        "incident",
        "report",
        "--household",
        "H001",
        "--category",
        "facility_repair",
        "--severity",
        "normal",
        "--title",
        "楼道灯坏了",
        "--description",
        "三楼楼道灯不亮",
    ]);
    let id = report["incident_id"].as_str().expect("incident id").to_string();
    assert_eq!(leader.refused(&["incident", "act", &id, "dispatch"]), "action_not_allowed");
    assert_eq!(leader.refused(&["incident", "act", &id, "teleport"]), "invalid_input");
    let shown = leader.run(&["incident", "show", &id]);
    assert_eq!(stage(&shown), "reported");
    assert_eq!(shown["deadline"], "2026-11-25T01:00:00Z");
    assert_eq!(shown["overdue"], false);

    // Both committee members get it and both dispatch it offline at the same time: one dispatch applies,
    // the other is kept and shown as superseded.
    hand_over(&leader, &li, &id);
    hand_over(&leader, &zhang, &id);
    let waiting = li.run(&["incident", "list", "--waiting-for-me"]);
    assert_eq!(waiting["items"].as_array().expect("items").len(), 1);
    assert_eq!(waiting["counts"]["reported"], 1);
    assert_eq!(station.run(&["incident", "list"])["items"].as_array().expect("items").len(), 0);
    assert_eq!(li.refused(&["incident", "act", &id, "verify"]), "action_not_allowed");
    assert_eq!(stage(&li.run(&["incident", "act", &id, "dispatch", "--note", "请工作站处理"])), "at_station");
    assert_eq!(stage(&zhang.run(&["incident", "act", &id, "dispatch", "--note", "转工作站"])), "at_station");
    hand_over(&zhang, &li, &id);
    hand_over(&li, &zhang, &id);
    let (a, b) = (li.run(&["incident", "show", &id]), zhang.run(&["incident", "show", &id]));
    assert_eq!(a["events"], b["events"]);
    assert_eq!((stage(&a), stage(&b)), ("at_station", "at_station"));
    let superseded: Vec<&Value> =
        a["events"].as_array().expect("events").iter().filter(|e| e["applied"] == false).collect();
    assert_eq!(superseded.len(), 1, "one of the concurrent dispatches is superseded");
    assert_eq!(superseded[0]["superseded_reason"], "not_allowed_from_stage");
    assert_eq!(superseded[0]["action"], "dispatch");

    // The station verifies and resolves; the grid leader commented meanwhile, offline.
    hand_over(&li, &station, &id);
    leader.run(&["incident", "act", &id, "comment", "--note", "居民又来问了"]);
    let verified = station.run(&["incident", "act", &id, "verify", "--assignee", "钱师傅"]);
    assert_eq!((stage(&verified), verified["assignee"].as_str()), ("in_progress", Some("钱师傅")));
    let late = "2026-11-28T10:00:00+08:00";
    let (ok, overdue) = station.try_at(late, &["incident", "list", "--overdue"]);
    assert!(ok);
    assert_eq!(overdue["items"][0]["overdue"], true);
    assert_eq!(overdue["items"][0]["overdue_minutes"], 25 * 60, "resolution was due 3 days after verification");
    assert_eq!(stage(&station.run(&["incident", "act", &id, "resolve", "--note", "已更换灯泡"])), "resolved");

    // Back to the grid leader: an unsatisfied evaluation reopens it, a satisfied one closes it.
    hand_over(&station, &leader, &id);
    assert_eq!(leader.refused(&["incident", "act", &id, "evaluate"]), "invalid_input");
    let reopened = leader.run(&["incident", "act", &id, "evaluate", "--satisfied", "no", "--note", "还是不亮"]);
    assert_eq!((stage(&reopened), reopened["reopen_count"].as_u64()), ("at_station", Some(1)));
    hand_over(&leader, &station, &id);
    station.run(&["incident", "act", &id, "verify"]);
    station.run(&["incident", "act", &id, "resolve", "--note", "换了线路"]);
    hand_over(&station, &leader, &id);
    let closed = leader.run(&["incident", "act", &id, "evaluate", "--satisfied", "yes"]);
    assert_eq!(stage(&closed), "closed");
    assert_eq!(closed["deadline"], Value::Null);
    let actions: Vec<&str> =
        closed["events"].as_array().expect("events").iter().map(|e| e["action"].as_str().expect("action")).collect();
    assert_eq!(actions.iter().filter(|a| **a == "comment").count(), 1, "the offline comment survived: {actions:?}");
    for e in closed["events"].as_array().expect("events") {
        for key in ["action", "actor", "role", "at", "applied", "superseded_reason"] {
            assert!(e.get(key).is_some(), "event field {key}");
        }
    }
    assert_eq!(leader.run(&["incident", "list", "--stage", "closed"])["counts"]["closed"], 1);
}

#[test]
fn urgent_incident_goes_to_the_station_and_turns_overdue() {
    let root = tempfile::tempdir().expect("dir");
    let (leader, _) = init(root.path(), "leader", "王网格长", "grid_leader", &["--grid", "G01"]);
    let report = leader.run(&[
        "incident",
        "report",
        "--category",
        "safety_hazard",
        "--severity",
        "urgent",
        "--title",
        "燃气泄漏",
    ]);
    let id = report["incident_id"].as_str().expect("id");
    assert_eq!(report["stage"], "at_station");
    let shown = leader.run(&["incident", "show", id]);
    assert_eq!(shown["committee_notified"], true);
    assert_eq!(shown["deadline"], "2026-11-24T01:30:00Z");
    let (ok, later) = leader.try_at("2026-11-24T09:45:00+08:00", &["incident", "list", "--overdue"]);
    assert!(ok);
    assert_eq!(later["items"][0]["incident_id"], id);
    assert_eq!(later["items"][0]["overdue_minutes"], 15);
    let (_, on_time) = leader.try_at("2026-11-24T09:10:00+08:00", &["incident", "list", "--overdue"]);
    assert_eq!(on_time["items"].as_array().expect("items").len(), 0);
}
