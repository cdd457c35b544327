//! The points ledger (积分台账) through a real server: only committee and station phones record redemptions,
//! each bound to the phone that recorded it; credits and decisions are the server's alone (a phone that writes
//! one, in any role, is refused and nothing is stored); every redemption a round brings is decided by the
//! server before it is stored, and the decision reaches the recording phone.

use chrono::{DateTime, FixedOffset};
use gridline_core::docs::points::{self, Ledger, RedemptionRequest};
use gridline_core::docs::{put_entity, s, DocId};
use gridline_core::points::RedemptionStatus;
use gridline_testkit::{Device, Server};

fn now() -> DateTime<FixedOffset> {
    chrono::Utc::now().fixed_offset()
}

/// A redemption request recorded on `device` for `volunteer`: `quantity` units of `item`.
fn redemption(device: &Device, volunteer: &str, item: &str, quantity: u32) -> RedemptionRequest {
    RedemptionRequest {
        redemption_id: uuid::Uuid::now_v7().to_string(),
        volunteer: volunteer.into(),
        item: item.into(),
        quantity,
        points: 0,
        actor: device.info.user.clone(),
        device: device.info.device_id.clone(),
        role: device.info.role.clone(),
        at: now(),
        note: String::new(),
    }
}

/// Records `r` in `device`'s copy of the ledger (not yet synced).
fn record(device: &mut Device, r: &RedemptionRequest) {
    let id = DocId::points(device.community());
    let doc = device.doc(&id);
    points::record_redemption(doc, r).expect("record");
    doc.commit();
}

/// The ledger as `device` holds it.
fn ledger(device: &Device) -> Ledger {
    let id = DocId::points(device.community()).to_string();
    device.docs.get(&id).map(Ledger::read).unwrap_or_default()
}

/// Pushes `device`'s copy of the ledger; the server's refusal must be `forbidden_change`. Then drops the
/// refused copy, syncs afresh and returns the ledger as stored.
fn refused(device: &mut Device, why: &str) -> Ledger {
    let id = DocId::points(device.community());
    let (status, err) = device.push(std::slice::from_ref(&id)).expect_err(why);
    assert_eq!((status, err.code.as_str()), (403, "forbidden_change"), "{why}: {}", err.message);
    device.docs.remove(&id.to_string());
    device.states.remove(&id.to_string());
    device.cursor = 0;
    device.sync().expect("sync afresh");
    ledger(device)
}

#[test]
fn only_the_server_decides_and_credits_and_redemptions_are_bound_to_their_recorder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    let mut station = server.enroll(&community, "站长", "station", &[]);
    let mut leader = server.enroll(&community, "陈网格长", "grid_leader", &["G01"]);
    let mut volunteer = server.enroll(&community, "刘", "volunteer", &[]);
    for d in [&mut station, &mut leader, &mut volunteer] {
        d.sync().expect("first sync");
    }

    // A grid leader and a volunteer record no redemption.
    for phone in [&mut leader, &mut volunteer] {
        let r = redemption(phone, "刘", "eggs", 1);
        record(phone, &r);
        assert_eq!(refused(phone, "a redemption by a field phone"), Ledger::default());
    }

    // No phone writes a credit or a decision, whatever role it claims.
    let t = now().to_rfc3339();
    let forged_credit = vec![
        ("volunteer", s("刘")),
        ("service", s("meal_delivery")),
        ("points", gridline_core::docs::i(1000)),
        ("minutes", gridline_core::docs::i(60)),
        ("evaluated_at", s(&t)),
        ("at", s(&t)),
        ("seq", gridline_core::docs::i(1)),
        ("role", s("station")),
    ];
    let order_id = uuid::Uuid::now_v7().to_string();
    let r = redemption(&station, "刘", "eggs", 1);
    let forged_decision = vec![("status", s("confirmed")), ("points", gridline_core::docs::i(0)), ("at", s(&t))];
    for (key, fields) in
        [(points::credit_key(&order_id), forged_credit), (points::decision_key(&r.redemption_id), forged_decision)]
    {
        for phone in [&mut station, &mut leader] {
            let doc = phone.doc(&DocId::points(&community));
            put_entity(doc, &key, &fields).expect("forge");
            doc.commit();
            assert_eq!(refused(phone, &key), Ledger::default(), "{key}");
        }
    }

    // A redemption naming another phone or another recorder is refused.
    let other = RedemptionRequest { device: leader.info.device_id.clone(), ..redemption(&station, "刘", "eggs", 1) };
    record(&mut station, &other);
    assert_eq!(refused(&mut station, "another device"), Ledger::default());
    let other = RedemptionRequest { actor: "社居委".into(), ..redemption(&station, "刘", "eggs", 1) };
    record(&mut station, &other);
    assert_eq!(refused(&mut station, "another user"), Ledger::default());

    // An honest redemption is stored with the server's decision: 刘 has earned nothing yet.
    let honest = redemption(&station, "刘", "eggs", 1);
    record(&mut station, &honest);
    station.sync().expect("the redemption goes up");
    let held = ledger(&station);
    assert_eq!(held.requests.len(), 1);
    let decision = held.decision(&honest.redemption_id).expect("decided by the server with the request");
    assert_eq!((decision.status, decision.points, decision.seq), (RedemptionStatus::PointsInsufficient, 0, 1));
    // Every phone of the community reads the same ledger, the volunteer's too.
    volunteer.sync().expect("volunteer syncs");
    assert_eq!(ledger(&volunteer), held);
    // The stored request and decision are never rewritten.
    let doc = station.doc(&DocId::points(&community));
    put_entity(doc, &points::redeem_key(&honest.redemption_id), &vec![("quantity", gridline_core::docs::i(2))])
        .expect("rewrite");
    doc.commit();
    assert_eq!(refused(&mut station, "a rewritten request"), held);
}

/// Writes a service order for household `G01-H0`'s meal delivery on `leader`'s phone, has `committee` dispatch
/// it to `volunteer`, the volunteer accept and finish it and the leader rate it, syncing each step: the server
/// then credits the volunteer. Returns nothing; the credit is in the ledger.
fn earn(leader: &mut Device, committee: &mut Device, volunteer: &mut Device) {
    let id = leader.request_order("G01", "G01-H0", "meal_delivery");
    leader.sync().expect("request");
    committee.sync().expect("committee receives it");
    let mut dispatch = committee.order_event("dispatch");
    dispatch.volunteer = Some(volunteer.info.user.clone());
    committee.append_order_event(&id, &dispatch);
    committee.sync().expect("dispatch");
    volunteer.sync().expect("volunteer receives it");
    for action in ["accept", "done"] {
        volunteer.append_order_event(&id, &volunteer.order_event(action));
    }
    volunteer.sync().expect("accepted and done");
    leader.sync().expect("leader receives it");
    let mut rating = leader.order_event("evaluate");
    rating.rating = Some(4);
    leader.append_order_event(&id, &rating);
    leader.sync().expect("rated");
}

/// Two stations record, each offline, a redemption for the same volunteer that together overdraw the balance,
/// and upload them at the same moment (through one instance, or through two instances on one PostgreSQL
/// database when a test cluster is configured): exactly one is confirmed, the other is `points_insufficient`,
/// both requests and both decisions are in the ledger, and every phone reads the same.
#[test]
fn two_redemptions_that_together_overdraw_are_decided_one_after_the_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    overdraw(&server, &server);
    if let Some(db) = gridline_testkit::TestDatabase::create_for("two_redemptions_that_together_overdraw") {
        let options = gridline_testkit::ServerOptions { database_url: Some(db.url.clone()), ..Default::default() };
        let one = Server::start_with(&dir.path().join("instance-a"), &options);
        let two = Server::start_with(&dir.path().join("instance-b"), &options);
        overdraw(&one, &two);
    }
}

fn overdraw(one: &Server, two: &Server) {
    let community = one.community_with_roster();
    // A towel costs 6 points: two of them (12) overdraw the 10 one meal delivery earns.
    let mut config = one.admin_ok(&["config", "show", "--community", &community]);
    let towel = config["shop_items"].as_array_mut().expect("items").iter_mut().find(|i| i["code"] == "towel");
    towel.expect("towel")["price_points"] = 6.into();
    let file = one.data.join("config.json");
    std::fs::write(&file, serde_json::to_vec(&config).expect("json")).expect("write");
    one.admin_ok(&["config", "set", "--community", &community, file.to_str().expect("path")]);

    let mut leader = one.enroll(&community, "陈网格长", "grid_leader", &["G01"]);
    let mut committee = one.enroll(&community, "社居委", "committee", &[]);
    let mut volunteer = one.enroll(&community, "志愿者乙", "volunteer", &[]);
    let mut first = one.enroll(&community, "站长", "station", &[]);
    let mut second = Device::enroll(two, &two.enrollment_code(&community, "副站长", "station", &[])).expect("enroll");
    for d in [&mut leader, &mut committee, &mut volunteer, &mut first, &mut second] {
        d.sync().expect("first sync");
    }
    earn(&mut leader, &mut committee, &mut volunteer);
    first.sync().expect("first station sees the credit");
    second.sync().expect("second station sees the credit");
    assert_eq!(gridline_core::points::balance(&ledger(&first), "志愿者乙").balance, 10);

    // Offline, each station records a towel for the volunteer: each alone is within the balance.
    let (r1, r2) = (redemption(&first, "志愿者乙", "towel", 1), redemption(&second, "志愿者乙", "towel", 1));
    record(&mut first, &r1);
    record(&mut second, &r2);
    let points = DocId::points(&community);
    let barrier = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        for station in [&mut first, &mut second] {
            let (barrier, points) = (&barrier, &points);
            s.spawn(move || {
                barrier.wait();
                station.push(std::slice::from_ref(points)).expect("the upload is stored");
            });
        }
    });
    first.sync().expect("first station syncs");
    second.sync().expect("second station syncs");
    volunteer.sync().expect("the volunteer syncs");
    let held = ledger(&first);
    assert_eq!(held, ledger(&second), "every phone reads the same ledger");
    assert_eq!(held, ledger(&volunteer));
    assert_eq!(held.requests.len(), 2, "both requests kept");
    let statuses: Vec<RedemptionStatus> =
        [&r1, &r2].iter().map(|r| held.decision(&r.redemption_id).expect("decided").status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == RedemptionStatus::Confirmed).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == RedemptionStatus::PointsInsufficient).count(), 1, "{statuses:?}");
    let mut seqs: Vec<u64> = held.decisions.values().map(|d| d.seq).collect();
    seqs.sort();
    assert_eq!(seqs, vec![2, 3], "after the credit (1), one decision after the other");
    let balance = gridline_core::points::balance(&held, "志愿者乙");
    assert_eq!((balance.balance, balance.earned, balance.redeemed), (4, 10, 6));
}
