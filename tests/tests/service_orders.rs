//! The field story of service orders and points (PRODUCT.md §4b) through the real `gridline-server` on
//! loopback, every phone the core's own store: a grid leader orders meal delivery for an elderly resident
//! found on a visit (点单), the committee dispatches it to volunteer A (派单), A declines, it is dispatched
//! again to volunteer B — and A's store forgets it —, B accepts (接单) and marks it done with a photo, the
//! grid leader records the resident's rating (评单), and the server credits B with the catalogue's points,
//! which every device reading the points ledger then shows. Two stations, offline, record redemptions of B's
//! points that together overdraw them: after sync exactly one stands, the other station's sync report and
//! `redemption(id)` say `points_insufficient`, and both requests stay in the ledger.
//!
//! Every sync response is read on the wire (a recording transport around the core's HTTP transport): a
//! volunteer's device is never sent a roster, check-in, visit or incident document id — nor an order that was
//! never dispatched to it, nor its old order once it went to someone else.
//!
//! Between the steps the devices sync in random orders drawn from a seed (printed; `GRIDLINE_SEED=N` replays).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use gridline_core::docs::{DocId, DocKind};
use gridline_core::model::{
    CheckInKind, CheckInOutcome, NewCheckIn, NewIncident, NewServiceOrder, NewVisit, VisitKind,
};
use gridline_core::points::RedemptionStatus;
use gridline_core::service_workflow::{OrderAction, OrderStage};
use gridline_core::store::{OrderAct, Redemption};
use gridline_core::sync::protocol::{decode_body, SyncResponse};
use gridline_core::sync::{NoProgress, SyncOptions, SyncReport};
use gridline_core::{Clock, FixedClock, Store};
use gridline_scenarios::{roster, Wire};
use gridline_testkit::{Rng, Server};

/// The elderly resident's household (every third household of the scenario roster lives alone and elderly).
const HOUSEHOLD: &str = "G01-H0000";

/// What one sync response carried: the documents it sent messages for, the catalogue it listed, and the
/// documents it told the device to delete.
#[derive(Debug, Clone, Default)]
struct Answer {
    docs: Vec<String>,
    catalogue: Vec<String>,
    withdrawn: Vec<String>,
}

impl Answer {
    /// The document ids of one sync answer body.
    fn of(bytes: &[u8]) -> Answer {
        let res: SyncResponse = decode_body(bytes).expect("the server's answer decodes");
        Answer {
            docs: res.docs.iter().map(|m| m.doc_id.clone()).collect(),
            catalogue: res.catalogue.iter().map(|e| e.doc_id.clone()).collect(),
            withdrawn: res.withdrawn,
        }
    }

    fn ids(&self) -> impl Iterator<Item = &String> {
        self.docs.iter().chain(&self.catalogue)
    }
}

/// A phone: the core's store and its recorded link to the server.
struct Phone {
    name: &'static str,
    store: Store,
    wire: Wire,
    /// Every sync answer, as the wire carried it.
    answers: Arc<Mutex<Vec<Answer>>>,
    /// Every sync report, in order.
    reports: Vec<SyncReport>,
}

impl Phone {
    fn enroll(server: &Server, dir: &Path, community: &str, name: &'static str, role: &str, grids: &[&str]) -> Phone {
        let code = server.enrollment_code(community, name, role, grids);
        let answers = Arc::new(Mutex::new(Vec::new()));
        let sink = answers.clone();
        let wire =
            Wire::new(&server.url(""), Box::new(move |_, res| sink.lock().expect("answers").push(Answer::of(res))));
        let store = Store::enroll_with(&dir.join(name), &[5; 32], &wire, &server.url(""), &code, clock())
            .unwrap_or_else(|e| panic!("{name} enrolls: {e}"));
        Phone { name, store, wire, answers, reports: Vec::new() }
    }

    fn sync(&mut self) -> SyncReport {
        let report = self
            .store
            .sync_with(&self.wire, &SyncOptions::default(), &NoProgress, &AtomicBool::new(false))
            .unwrap_or_else(|e| panic!("{} syncs: {e}", self.name));
        self.reports.push(report.clone());
        report
    }

    /// Every sync answer recorded so far.
    fn answers(&self) -> Vec<Answer> {
        self.answers.lock().expect("answers").clone()
    }

    /// Document ids the phone holds.
    fn holds(&self) -> BTreeSet<String> {
        self.store.documents().expect("documents").into_iter().map(|(id, _)| id).collect()
    }

    fn act(&mut self, order: &str, act: OrderAct) -> OrderStage {
        let d = self.store.order_act(order, act).unwrap_or_else(|e| panic!("{}: {e}", self.name));
        d.stage
    }
}

fn act(action: OrderAction) -> OrderAct {
    OrderAct { action, note: String::new(), volunteer: None, due: None, rating: None, photos: vec![] }
}

/// The phones' clock: now, fixed (the server refuses records dated ahead of its own clock).
fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock(Utc::now()))
}

/// The devices of the story, by name.
struct Story {
    phones: Vec<Phone>,
    rng: Rng,
}

impl Story {
    fn phone(&mut self, name: &str) -> &mut Phone {
        self.phones.iter_mut().find(|p| p.name == name).unwrap_or_else(|| panic!("no phone {name}"))
    }

    /// `name` syncs.
    fn sync(&mut self, name: &str) -> SyncReport {
        self.phone(name).sync()
    }

    /// Some devices (a random subset, in a random order) sync: what the others do meanwhile must not matter.
    fn some_sync(&mut self) {
        let n = self.phones.len() as u64;
        for _ in 0..self.rng.below(n + 1) {
            let i = self.rng.below(n) as usize;
            self.phones[i].sync();
        }
    }

    /// Every device syncs, in a random order, twice (the second pass brings what others sent after).
    fn everyone_syncs(&mut self) {
        for _ in 0..2 {
            let mut order: Vec<usize> = (0..self.phones.len()).collect();
            for i in (1..order.len()).rev() {
                order.swap(i, self.rng.below(i as u64 + 1) as usize);
            }
            for i in order {
                self.phones[i].sync();
            }
        }
    }
}

/// The kinds of document a volunteer's device may ever be sent.
fn volunteer_may_receive(id: &DocId) -> bool {
    matches!(id.kind, DocKind::Community | DocKind::Points | DocKind::ServiceOrder)
}

#[test]
fn an_order_goes_from_request_to_points_and_two_offline_redemptions_settle_on_one() {
    let seed = std::env::var("GRIDLINE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5e41_2026);
    println!("GRIDLINE_SEED={seed}");
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("server-data"));
    let community = server.community("幸福社区");
    server.import_roster(&community, "roster.csv", &roster(&["G01", "G02"], 6).csv());
    // The community's catalogue: one meal delivery pays for one towel at the love supermarket, not for two.
    let (meal_points, towel) = (30, 20);
    let mut config = server.admin_ok(&["config", "show", "--community", &community]);
    let services = config["service_catalogue"].as_array_mut().expect("service catalogue");
    let meal = services.iter_mut().find(|s| s["code"] == "meal_delivery").expect("meal delivery is offered");
    meal["points"] = meal_points.into();
    let items = config["shop_items"].as_array_mut().expect("shop items");
    let item = items.iter_mut().find(|i| i["code"] == "towel").expect("towels are in the shop");
    item["price_points"] = towel.into();
    let file = dir.path().join("config.json");
    std::fs::write(&file, config.to_string()).expect("write the configuration");
    server.admin_ok(&["config", "set", "--community", &community, file.to_str().expect("utf-8 path")]);

    let mut story = Story {
        phones: vec![
            Phone::enroll(&server, dir.path(), &community, "leader", "grid_leader", &["G01"]),
            Phone::enroll(&server, dir.path(), &community, "committee", "committee", &[]),
            Phone::enroll(&server, dir.path(), &community, "volunteer_a", "volunteer", &[]),
            Phone::enroll(&server, dir.path(), &community, "volunteer_b", "volunteer", &[]),
            Phone::enroll(&server, dir.path(), &community, "station_1", "station", &[]),
            Phone::enroll(&server, dir.path(), &community, "station_2", "station", &[]),
        ],
        rng: Rng::new(seed),
    };
    story.everyone_syncs();

    // The grid leader's day leaves rosters, check-ins, a visit and an incident on the server: documents no
    // volunteer may be sent. The visit finds the resident needs meals brought, and the order starts from it.
    let leader = story.phone("leader");
    leader
        .store
        .check_in(NewCheckIn {
            household_code: HOUSEHOLD.into(),
            kind: CheckInKind::Door,
            outcome: CheckInOutcome::Attention,
            note: "腿脚不便，做饭困难".into(),
            photos: vec![],
            location: None,
            at: None,
        })
        .expect("check-in");
    let visit = leader
        .store
        .record_visit(NewVisit {
            household_code: HOUSEHOLD.into(),
            residents: vec![],
            kind: VisitKind::Home,
            at: None,
            duration_min: Some(20),
            services: vec![],
            needs: "需要送餐".into(),
            need_tags: vec!["meal_delivery".into()],
            follow_up: None,
            satisfaction: None,
            photos: vec![],
        })
        .expect("visit");
    leader
        .store
        .report_incident(NewIncident {
            household_code: Some(HOUSEHOLD.into()),
            grid: None,
            category: "facility_repair".into(),
            severity: None,
            title: "楼道扶手松动".into(),
            description: String::new(),
            photos: vec![],
            location: None,
            at: None,
            check_in_id: None,
        })
        .expect("incident");
    let order = leader
        .store
        .request_service(NewServiceOrder {
            household_code: String::new(),
            resident: None,
            service: "meal_delivery".into(),
            note: "每天午餐送到家".into(),
            due: None,
            from_visit: Some(visit.visit_id.clone()),
        })
        .expect("request");
    assert_eq!(order.household_code, HOUSEHOLD, "the household comes from the visit");
    // Another order, never dispatched: no volunteer may receive it.
    leader
        .store
        .request_service(NewServiceOrder {
            household_code: "G01-H0003".into(),
            resident: None,
            service: "companionship".into(),
            note: String::new(),
            due: None,
            from_visit: None,
        })
        .expect("second request");
    let order_id = order.order_id.clone();
    let order_doc = DocId::service_order(&community, &order.grid, &order_id).to_string();
    story.some_sync();
    story.sync("leader");

    // 派单 to A; A sees the request with the resident's name, address and phone, and declines.
    story.sync("committee");
    let mut dispatch = act(OrderAction::Dispatch);
    dispatch.volunteer = Some("volunteer_a".into());
    assert_eq!(story.phone("committee").act(&order_id, dispatch), OrderStage::Dispatched);
    story.some_sync();
    story.sync("committee");
    story.sync("volunteer_a");
    let seen_by_a = story.phone("volunteer_a").store.order_detail(&order_id).expect("A holds the order");
    assert_eq!(seen_by_a.stage, OrderStage::Dispatched);
    assert_eq!(seen_by_a.resident, order.resident, "the resident's name travels with the order");
    assert_eq!(seen_by_a.address, order.address);
    assert!(story.phone("volunteer_b").store.order_detail(&order_id).is_err(), "B does not see A's order");
    assert_eq!(story.phone("volunteer_a").act(&order_id, act(OrderAction::Decline)), OrderStage::Requested);
    story.some_sync();
    story.sync("volunteer_a");

    // Dispatched again, to B: A's store forgets the order, and nothing more of it reaches A.
    story.sync("committee");
    assert_eq!(story.phone("committee").store.order_detail(&order_id).expect("detail").stage, OrderStage::Requested);
    let mut dispatch = act(OrderAction::Dispatch);
    dispatch.volunteer = Some("volunteer_b".into());
    assert_eq!(story.phone("committee").act(&order_id, dispatch), OrderStage::Dispatched);
    story.some_sync();
    story.sync("committee");
    story.sync("volunteer_a");
    assert!(!story.phone("volunteer_a").holds().contains(&order_doc), "A's store forgot the order");
    assert!(story.phone("volunteer_a").store.order_detail(&order_id).is_err());
    let a_answers_before = story.phone("volunteer_a").answers().len();

    // 接单 and done with a photo by B; 评单 by the grid leader.
    story.sync("volunteer_b");
    assert_eq!(story.phone("volunteer_b").act(&order_id, act(OrderAction::Accept)), OrderStage::Accepted);
    story.some_sync();
    let b = story.phone("volunteer_b");
    let photo = b.store.add_photo(&[0xFF, 0xD8, 0xFF, 0xE0, 7, 7, 7]).expect("photo");
    let mut done = act(OrderAction::Done);
    done.note = "已送到，老人很满意".into();
    done.photos = vec![photo.clone()];
    assert_eq!(b.act(&order_id, done), OrderStage::Done);
    story.some_sync();
    story.sync("volunteer_b");
    let b = story.phone("volunteer_b");
    assert_eq!(b.reports.iter().map(|r| r.blobs_up).sum::<u32>(), 1, "B's photo went up");
    assert_eq!(b.store.points_balance(None).expect("own").earned, 0, "not before 评单");
    story.sync("leader");
    let mut evaluate = act(OrderAction::Evaluate);
    evaluate.rating = Some(5);
    assert_eq!(story.phone("leader").act(&order_id, evaluate), OrderStage::Evaluated);
    story.some_sync();
    story.sync("leader");
    story.everyone_syncs();

    // One history everywhere the order is held; the photo came up; B's points rose by the catalogue's amount
    // on every device that reads the points ledger.
    let histories: Vec<(&str, serde_json::Value)> = ["leader", "committee", "volunteer_b", "station_1"]
        .into_iter()
        .map(|name| {
            let d = story.phone(name).store.order_detail(&order_id).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                (d.stage, d.rating, d.volunteer.as_deref()),
                (OrderStage::Evaluated, Some(5), Some("volunteer_b"))
            );
            (name, serde_json::to_value(&d.events).expect("events"))
        })
        .collect();
    assert!(histories.iter().all(|(_, h)| h == &histories[0].1), "one order history everywhere: {histories:?}");
    let declined = histories[0].1.as_array().expect("events").iter().filter(|e| e["action"] == "decline").count();
    assert_eq!(declined, 1, "A's decline stays in the history");
    let leader_sync = story.sync("leader");
    let photo_reached_the_leader = story.phone("leader").store.blob(&photo).is_ok();
    for name in ["volunteer_b", "committee", "station_1", "station_2", "leader", "volunteer_a"] {
        let balance = story.phone(name).store.points_balance(Some("volunteer_b")).expect("balance");
        assert_eq!((balance.earned, balance.balance, balance.redeemed), (meal_points, meal_points, 0), "{name}");
    }
    assert_eq!(story.phone("volunteer_b").store.points_balance(None).expect("own").balance, meal_points);
    assert_eq!(story.phone("volunteer_a").store.points_balance(None).expect("own").earned, 0);

    // Two stations, offline, each record a towel for B: B's balance covers one, not two.
    let price = towel;
    let r1 = story.phone("station_1").store.redeem_points("volunteer_b", "towel", 1).expect("station 1 records");
    let r2 = story.phone("station_2").store.redeem_points("volunteer_b", "towel", 1).expect("station 2 records");
    assert_eq!((r1.status, r2.status), (RedemptionStatus::Pending, RedemptionStatus::Pending));
    let reported_before: BTreeMap<&str, usize> =
        ["station_1", "station_2"].into_iter().map(|name| (name, story.phone(name).reports.len())).collect();
    let first = if story.rng.below(2) == 0 { ["station_1", "station_2"] } else { ["station_2", "station_1"] };
    for name in first {
        story.some_sync();
        story.sync(name);
    }
    story.everyone_syncs();
    let s1 = story.phone("station_1").store.redemption(&r1.redemption_id).expect("r1");
    let s2 = story.phone("station_2").store.redemption(&r2.redemption_id).expect("r2");
    let statuses = [s1.status, s2.status];
    assert!(
        statuses.contains(&RedemptionStatus::Confirmed) && statuses.contains(&RedemptionStatus::PointsInsufficient),
        "exactly one stands, the other is told points_insufficient: {statuses:?}"
    );
    // Each station's sync reports told it its own decision, once.
    for (name, mine) in [("station_1", &s1), ("station_2", &s2)] {
        let phone = story.phone(name);
        let told: Vec<&Redemption> =
            phone.reports[reported_before[name]..].iter().flat_map(|r| &r.redemptions_decided).collect();
        assert_eq!(told.len(), 1, "{name} is told once: {told:?}");
        assert_eq!((&told[0].redemption_id, told[0].status), (&mine.redemption_id, mine.status), "{name}");
    }
    for name in ["committee", "station_1", "station_2", "volunteer_b"] {
        let phone = story.phone(name);
        let balance = phone.store.points_balance(Some("volunteer_b")).expect("balance");
        assert_eq!((balance.balance, balance.redeemed, balance.pending), (meal_points - price, price, 0), "{name}");
        for r in [&r1, &r2] {
            let kept = phone.store.redemption(&r.redemption_id).unwrap_or_else(|e| panic!("{name} lost {r:?}: {e}"));
            assert_ne!(kept.status, RedemptionStatus::Pending, "{name}: decided everywhere");
        }
    }

    // On the wire: a volunteer's device was never sent a roster, check-in, visit or incident document, nor an
    // order that was not dispatched to it; A got nothing of its old order once it went to B.
    for name in ["volunteer_a", "volunteer_b"] {
        let answers = story.phone(name).answers();
        assert!(!answers.is_empty());
        for id in answers.iter().flat_map(|a| a.ids().chain(&a.withdrawn)) {
            let parsed = DocId::parse(id).expect("doc id");
            assert!(volunteer_may_receive(&parsed), "{name} was sent {id}");
            if parsed.kind == DocKind::ServiceOrder {
                assert_eq!(id, &order_doc, "{name} was sent an order never dispatched to it");
            }
        }
    }
    let a_answers = story.phone("volunteer_a").answers();
    let told = a_answers[..a_answers_before].iter().any(|a| a.withdrawn.contains(&order_doc));
    assert!(told, "A was told to delete the order once it went to B");
    for a in &a_answers {
        assert!(a.withdrawn.iter().all(|id| id == &order_doc), "A is withdrawn only its order: {a:?}");
    }
    let after = &a_answers[a_answers_before..];
    assert!(after.iter().flat_map(Answer::ids).all(|id| id != &order_doc), "A is sent nothing of B's order");
    let held: BTreeSet<String> = story.phone("volunteer_a").holds();
    assert!(held.iter().all(|id| DocId::parse(id).is_ok_and(|d| d.kind != DocKind::ServiceOrder)), "{held:?}");

    // The proof of the work: B's photo, uploaded with the done event, reached the grid leader.
    assert!(photo_reached_the_leader, "B's photo reached the grid leader: {leader_sync:?}");
}
