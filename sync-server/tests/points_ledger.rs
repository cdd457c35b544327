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
