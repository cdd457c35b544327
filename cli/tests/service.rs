//! Service orders and points through the built `gridline` binary. Standalone devices hand an order's document
//! between their stores (as sync does): a grid leader requests, the station dispatches, the volunteer
//! declines, accepts on a second dispatch, marks it done with a photo, and the grid leader rates it; refused
//! actions exit non-zero with their codes. Then, with a real server on loopback, the server credits the
//! volunteer's points, a station's redemption the device itself sees cannot be paid is refused at once
//! (`points_insufficient`, `out_of_stock`), and one recorded offline is `pending` until sync brings the
//! server's decision (`redemptions_decided`).

mod common;

use calamine::{open_workbook, Reader, Xlsx};
use gridline_testkit::Server;
use serde_json::Value;

use common::{init, Device, NOW};

const ROSTER: &[&str] =
    &["G01,1,1,3,301,H001,王秀英,F,1942,13800000000,,elderly_alone,", "G01,1,1,2,201,H002,李建国,M,1950,,,disabled,"];

/// Hands an order's document from one store to another and reindexes it (what sync does).
fn hand_over(from: &Device, to: &Device, order_id: &str) {
    from.hand_over(to, &from.open().order_detail(order_id).expect("detail").doc_id);
}

fn stage(doc: &Value) -> &str {
    doc["stage"].as_str().expect("stage")
}

#[test]
fn an_order_from_request_to_rating_across_devices() {
    let root = tempfile::tempdir().expect("dir");
    let (leader, info) = init(root.path(), "leader", "王网格长", "grid_leader", &["--grid", "G01"]);
    let community = info["community_id"].as_str().expect("community id").to_string();
    let join = ["--community-id", community.as_str()];
    let (station, _) = init(root.path(), "station", "赵站长", "station", &join);
    let (volunteer, _) = init(root.path(), "volunteer", "陈志愿", "volunteer", &join);
    std::fs::write(root.path().join("roster.csv"), gridline_testkit::roster::csv(ROSTER)).expect("roster file");
    leader.run(&["roster", "import", root.path().join("roster.csv").to_str().expect("path")]);
    let photo = root.path().join("meal.jpg");
    std::fs::write(&photo, [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]).expect("photo");
    let photo = photo.to_str().expect("path");

    // 点单: the resident's name, address and phone are copied from the roster.
    assert_eq!(
        leader.refused(&["service", "request", "--household", "H001", "--service", "skydiving"]),
        "unknown_code"
    );
    assert_eq!(
        leader.refused(&["service", "request", "--household", "H999", "--service", "meal_delivery"]),
        "household_not_found"
    );
    assert_eq!(
        leader.refused(&["service", "request", "--household", "H001", "--service", "meal_delivery", "--due", "soon"]),
        "invalid_input"
    );
    let requested =
        leader.run(&["service", "request", "--household", "H001", "--service", "meal_delivery", "--note", "午餐"]);
    let id = requested["order_id"].as_str().expect("order id").to_string();
    let shown = leader.run(&["service", "show", &id]);
    assert_eq!(stage(&shown), "requested");
    assert_eq!((shown["resident"].as_str(), shown["household_code"].as_str()), (Some("王秀英"), Some("H001")));
    assert_eq!(shown["phone"], "13800000000");
    assert_eq!(shown["due"], "2026-11-27", "today plus the community's three order days");
    assert_eq!(shown["points"], 10, "the catalogue's points for meal delivery");
    for key in ["order_id", "stage", "service", "household_code", "resident", "volunteer", "points", "rating", "events"]
    {
        assert!(shown.get(key).is_some(), "service show has {key}: {shown}");
    }
    assert_eq!(leader.refused(&["service", "dispatch", &id, "--volunteer", "陈志愿"]), "action_not_allowed");

    // 派单 by the station; the volunteer declines, and it is dispatched to them again.
    hand_over(&leader, &station, &id);
    assert_eq!(
        station.refused(&["service", "dispatch", &id, "--volunteer", "陈志愿", "--due", "2026-13-01"]),
        "invalid_input"
    );
    let dispatched = station.run(&["service", "dispatch", &id, "--volunteer", "陈志愿", "--due", "2026-11-25"]);
    assert_eq!((stage(&dispatched), dispatched["volunteer"].as_str()), ("dispatched", Some("陈志愿")));
    assert_eq!(dispatched["due"], "2026-11-25", "the dispatch's due day");
    assert_eq!(station.refused(&["service", "accept", &id]), "action_not_allowed", "only the volunteer accepts");
    hand_over(&station, &volunteer, &id);
    let mine = volunteer.run(&["service", "list", "--mine"]);
    assert_eq!(mine["items"][0]["order_id"], id.as_str());
    assert_eq!(mine["counts"]["dispatched"], 1);
    for key in ["order_id", "stage", "service", "household_code", "volunteer", "due", "overdue"] {
        assert!(mine["items"][0].get(key).is_some(), "service list item has {key}: {mine}");
    }
    let declined = volunteer.run(&["service", "decline", &id, "--note", "今天没空"]);
    assert_eq!((stage(&declined), &declined["volunteer"]), ("requested", &Value::Null));
    hand_over(&volunteer, &station, &id);
    station.run(&["service", "dispatch", &id, "--volunteer", "陈志愿"]);
    let (ok, overdue) = station.try_at("2026-11-26T09:00:00+08:00", &["service", "list", "--overdue"]);
    assert!(ok);
    assert_eq!(
        (overdue["items"][0]["overdue"].as_bool(), overdue["items"][0]["due"].as_str()),
        (Some(true), Some("2026-11-25"))
    );
    hand_over(&station, &volunteer, &id);

    // 接单, done with a photo; the volunteer may not rate their own work.
    assert_eq!(stage(&volunteer.run(&["service", "accept", &id])), "accepted");
    let done = volunteer.run(&["service", "done", &id, "--note", "已送到", "--photo", photo]);
    assert_eq!(stage(&done), "done");
    assert_eq!(volunteer.refused(&["service", "evaluate", &id, "--rating", "5"]), "action_not_allowed");
    assert_eq!(volunteer.refused(&["service", "cancel", &id]), "action_not_allowed");

    // 评单 by the grid leader: a rating is required, from 1 to 5.
    hand_over(&volunteer, &leader, &id);
    assert_eq!(leader.refused(&["service", "evaluate", &id]), "invalid_input");
    assert_eq!(leader.refused(&["service", "evaluate", &id, "--rating", "9"]), "invalid_input");
    assert_eq!(leader.refused(&["service", "evaluate", &id, "--rating", "abc"]), "usage");
    let rated = leader.run(&["service", "evaluate", &id, "--rating", "5", "--note", "老人很满意"]);
    assert_eq!((stage(&rated), rated["rating"].as_u64()), ("evaluated", Some(5)));
    let actions: Vec<&str> =
        rated["events"].as_array().expect("events").iter().map(|e| e["action"].as_str().expect("action")).collect();
    assert_eq!(actions, ["request", "dispatch", "decline", "dispatch", "accept", "done", "evaluate"]);
    for e in rated["events"].as_array().expect("events") {
        for key in ["action", "actor", "role", "at", "applied", "superseded_reason"] {
            assert!(e.get(key).is_some(), "event field {key}: {e}");
        }
    }
    assert_eq!(leader.run(&["service", "list", "--stage", "evaluated"])["counts"]["evaluated"], 1);
    assert_eq!(leader.refused(&["service", "list", "--stage", "finished"]), "invalid_input");

    // A second order, cancelled by its requester; the human output names the stage.
    let second = leader.run(&["service", "request", "--household", "H002", "--service", "errands"]);
    let second = second["order_id"].as_str().expect("order id");
    let (ok, human, _) = leader.raw(NOW, false, &["service", "cancel", second, "--note", "家属已代办"]);
    assert!(ok);
    assert!(human.contains("cancelled") && human.contains("errands"), "{human}");
    let (ok, human, _) = leader.raw(NOW, false, &["service", "list"]);
    assert!(ok && human.contains("2 orders"), "{human}");
    let (ok, _, stderr) = leader.raw(NOW, false, &["service", "show", "no-such-order"]);
    assert!(!ok && stderr.starts_with("not_found:"), "{stderr}");

    // The month's ledger: the orders by stage in the summary, a row per order in the orders sheet.
    let summary = leader.run(&["ledger", "--month", "2026-11", "--format", "json"]);
    assert_eq!((summary["orders"]["evaluated"].as_u64(), summary["orders"]["cancelled"].as_u64()), (Some(1), Some(1)));
    assert_eq!(summary["orders"]["requested"], 0);
    let xlsx = root.path().join("ledger-en.xlsx");
    let xlsx_arg = xlsx.to_str().expect("path");
    leader.run(&["ledger", "--month", "2026-11", "--format", "xlsx", "--lang", "en", "--out", xlsx_arg]);
    let mut book: Xlsx<_> = open_workbook(&xlsx).expect("open xlsx");
    let names = book.sheet_names();
    let orders_at = names.iter().position(|n| n == "Service orders").expect("the orders sheet");
    assert_eq!(names[orders_at..orders_at + 3], ["Service orders", "Volunteer points", "Honour roll"]);
    let orders = book.worksheet_range("Service orders").expect("orders sheet");
    let row = |r: u32| (0..9).map(|c| orders.get_value((r, c)).map(|d| d.to_string()).unwrap_or_default()).collect();
    let header: Vec<String> = row(0);
    assert_eq!(header, ["Order", "Grid", "Service", "Household", "Volunteer", "Stage", "Requested", "Done", "Rating"]);
    let first: Vec<String> = row(1);
    assert_eq!(first[0], id);
    assert_eq!(first[2..6], ["meal_delivery", "H001", "陈志愿", "evaluated"]);
    assert_eq!((first[6].as_str(), first[8].as_str()), ("2026-11-24T09:00:00+08:00", "5"));
    assert!(!first[7].is_empty(), "done at");
    let second: Vec<String> = row(2);
    assert_eq!((second[5].as_str(), second[7].as_str()), ("cancelled", ""), "{second:?}");
}

#[test]
fn points_are_credited_by_the_server_and_redemptions_decided_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("server-data"));
    let community = server.community("幸福社区");
    server.import_roster(&community, "roster.csv", &gridline_testkit::roster::csv(ROSTER));
    let device = |name: &str, user: &str, role: &str, grids: &[&str]| {
        let device = Device { dir: dir.path().join(name) };
        let code = server.enrollment_code(&community, user, role, grids);
        device.run(&["enroll", "--server", &server.url(""), "--code", &code]);
        device.run(&["sync"]);
        device
    };
    let leader = device("leader", "王网格长", "grid_leader", &["G01"]);
    let committee = device("committee", "李主任", "committee", &[]);
    let volunteer = device("volunteer", "陈志愿", "volunteer", &[]);
    let station = device("station", "赵站长", "station", &[]);

    let balance = station.run(&["points", "balance", "--volunteer", "陈志愿"]);
    assert_eq!((balance["balance"].as_u64(), balance["earned"].as_u64()), (Some(0), Some(0)), "{balance}");
    assert_eq!(
        station.refused(&["points", "redeem", "--volunteer", "陈志愿", "--item", "towel"]),
        "points_insufficient"
    );
    assert_eq!(station.refused(&["points", "redeem", "--volunteer", "陈志愿", "--item", "gold_bar"]), "unknown_item");
    assert_eq!(
        volunteer.refused(&["points", "redeem", "--volunteer", "陈志愿", "--item", "towel"]),
        "action_not_allowed"
    );

    // Three evaluated orders credit 3 × the catalogue's points.
    for n in 0..3 {
        let order = leader.run(&["service", "request", "--household", "H001", "--service", "meal_delivery"]);
        let id = order["order_id"].as_str().expect("order id").to_string();
        leader.run(&["sync"]);
        committee.run(&["sync"]);
        committee.run(&["service", "dispatch", &id, "--volunteer", "陈志愿"]);
        committee.run(&["sync"]);
        volunteer.run(&["sync"]);
        volunteer.run(&["service", "accept", &id]);
        volunteer.run(&["service", "done", &id]);
        volunteer.run(&["sync"]);
        leader.run(&["sync"]);
        leader.run(&["service", "evaluate", &id, "--rating", &(3 + n).to_string()]);
        leader.run(&["sync"]);
    }
    for device in [&station, &volunteer, &committee] {
        device.run(&["sync"]);
    }
    let own = volunteer.run(&["points", "balance"]);
    assert_eq!(
        (own["volunteer"].as_str(), own["earned"].as_u64(), own["balance"].as_u64()),
        (Some("陈志愿"), Some(30), Some(30))
    );
    let history = station.run(&["points", "history", "--volunteer", "陈志愿"]);
    assert_eq!(history["items"].as_array().map(Vec::len), Some(3), "{history}");
    // The honour roll of this month (the devices' clock): the month the ratings were recorded in.
    let roll = committee.run(&["points", "honour-roll"]);
    assert_eq!(roll["month"], "2026-11");
    assert_eq!(roll["items"][0]["volunteer"], "陈志愿", "{roll}");
    assert_eq!((roll["items"][0]["orders"].as_u64(), roll["items"][0]["points"].as_u64()), (Some(3), Some(30)));

    // A redemption recorded here is pending until the server decides it; the decision comes back with sync.
    let redeemed = station.run(&["points", "redeem", "--volunteer", "陈志愿", "--item", "towel"]);
    for key in ["redemption_id", "volunteer", "item", "quantity", "points", "balance", "status"] {
        assert!(redeemed.get(key).is_some(), "points redeem has {key}: {redeemed}");
    }
    assert_eq!((redeemed["status"].as_str(), redeemed["points"].as_u64()), (Some("pending"), Some(20)));
    assert_eq!(
        station.refused(&["points", "redeem", "--volunteer", "陈志愿", "--item", "towel"]),
        "points_insufficient",
        "10 left once the pending 20 are set aside"
    );
    let synced = station.run(&["sync"]);
    let decided = synced["redemptions_decided"].as_array().expect("redemptions_decided");
    assert_eq!(decided.len(), 1, "{synced}");
    assert_eq!(
        (decided[0]["redemption_id"].as_str(), decided[0]["status"].as_str()),
        (redeemed["redemption_id"].as_str(), Some("confirmed"))
    );
    let after = station.run(&["points", "balance", "--volunteer", "陈志愿"]);
    assert_eq!(
        (after["balance"].as_u64(), after["redeemed"].as_u64(), after["pending"].as_u64()),
        (Some(10), Some(20), Some(0))
    );
    let (ok, human, _) = station.raw(NOW, false, &["points", "balance", "--volunteer", "陈志愿"]);
    assert!(ok && human.contains("10"), "{human}");

    // The month's ledger: the points credited and redeemed, the volunteers' points and the honour roll.
    let summary = station.run(&["ledger", "--month", "2026-11", "--format", "json"]);
    assert_eq!((summary["points_credited"].as_u64(), summary["points_redeemed"].as_u64()), (Some(30), Some(20)));
    assert_eq!(summary["orders"]["evaluated"], 3, "{summary}");
    let csv = dir.path().join("ledger.csv");
    station.run(&["ledger", "--month", "2026-11", "--format", "csv", "--out", csv.to_str().expect("path")]);
    let text = String::from_utf8(std::fs::read(&csv).expect("csv")).expect("utf-8");
    assert!(text.contains("\n志愿者积分\n志愿者,本月获得,本月兑换,积分余额\n陈志愿,30,20,10\n"), "{text}");
    assert!(text.contains("\n荣誉墙\n排名,志愿者,服务单数,服务时长(小时),积分\n1,陈志愿,3,3,30\n"), "{text}");
}
