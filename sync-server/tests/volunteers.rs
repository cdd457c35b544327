//! Volunteers (志愿者) through a real server: enrolled with no grid, a volunteer's phone receives the community
//! document, the points ledger and the service orders dispatched to it now, and nothing of rosters, check-ins
//! or incidents, checked on the wire (every document id a sync response names); asking for a grid's document
//! is refused, and so is writing the configuration or the ledger; an order not (or no longer) dispatched to it
//! is withdrawn.

use std::collections::BTreeSet;

use gridline_core::docs::{points, service_order, DocId};
use gridline_core::model::{OrderEvent, Severity};
use gridline_core::sync::protocol::DocMessage;
use gridline_testkit::{log_id, Device, Server};

/// Syncs `device` to the end, round by round; returns every document id the responses named (their messages
/// and their catalogues).
fn sync_on_the_wire(device: &mut Device) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    let mut docs = device.outgoing(None);
    for _ in 0..12 {
        let res = device.round(docs).expect("round");
        named.extend(res.docs.iter().map(|m| m.doc_id.clone()));
        named.extend(res.catalogue.iter().map(|e| e.doc_id.clone()));
        let differ = device.apply(&res);
        docs = device.outgoing(None);
        if !res.more && differ.is_empty() && docs.is_empty() {
            return named;
        }
    }
    panic!("{} did not finish syncing", device.info.user);
}

/// Every document id a sync of `device` from catalogue cursor 0 names on the wire.
fn named_from_the_start(device: &mut Device) -> BTreeSet<String> {
    device.cursor = 0;
    sync_on_the_wire(device)
}

/// A first sync message for a document the device does not hold: it asks the server for all of it.
fn ask_for(id: &DocId) -> DocMessage {
    use automerge::sync::SyncDoc;
    let mut empty = automerge::AutoCommit::new();
    let m = empty.sync().generate_sync_message(&mut automerge::sync::State::new()).expect("a first message");
    DocMessage { doc_id: id.to_string(), message: m.encode(), signatures: vec![] }
}

#[test]
fn a_volunteer_receives_the_community_document_and_the_points_ledger_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();

    // The grid's documents a volunteer must never see: a roster, a check-in log, an incident.
    let mut leader = server.enroll(&community, "陈网格长", "grid_leader", &["G01"]);
    leader.sync().expect("leader syncs");
    let log = log_id(&community, "G01");
    leader.write(&log, "checkin/c1", "well");
    let incident = leader.report_incident("G01", "楼道灯坏了", Severity::Normal);
    leader.sync().expect("leader uploads");

    let (ok, out) =
        server.admin(&["enroll", "--community", &community, "--user", "刘", "--role", "volunteer", "--grid", "G01"]);
    assert!(!ok, "a volunteer covers no grid: {out}");
    assert_eq!(out["error"]["code"], "invalid_input");
    let mut volunteer = server.enroll(&community, "刘", "volunteer", &[]);
    assert_eq!((volunteer.info.role.as_str(), volunteer.info.grids.len()), ("volunteer", 0));

    let (community_doc, points) = (DocId::community(&community), DocId::points(&community));
    let expected: BTreeSet<String> = [community_doc.to_string(), points.to_string()].into_iter().collect();
    assert_eq!(sync_on_the_wire(&mut volunteer), expected, "on the wire");
    assert_eq!(volunteer.ids(), expected, "held");

    // Asking for a grid's document by id is refused, with nothing of it in the answer.
    for id in [DocId::roster(&community, "G01"), log.clone(), incident.clone()] {
        let (status, err) = volunteer.round(vec![ask_for(&id)]).expect_err("refused");
        assert_eq!((status, err.code.as_str()), (403, "forbidden_document"), "{id}");
    }

    // A volunteer writes neither the configuration nor the ledger.
    for id in [community_doc, points] {
        volunteer.write(&id, "note/x", "mine now");
        let (status, err) = volunteer.push(std::slice::from_ref(&id)).expect_err("refused");
        assert_eq!((status, err.code.as_str()), (403, "forbidden_change"), "{id}");
        volunteer.docs.remove(&id.to_string());
        volunteer.states.remove(&id.to_string());
    }
    volunteer.cursor = 0;
    assert_eq!(sync_on_the_wire(&mut volunteer), expected, "still only these, as stored");
    assert!(volunteer.notes(&DocId::community(&community).to_string()).is_empty(), "nothing of the refused write");
}

/// The order's events as `device` holds them.
fn events(device: &Device, id: &DocId) -> Vec<OrderEvent> {
    device.docs.get(&id.to_string()).map(|d| service_order::read_events(d).expect("events")).unwrap_or_default()
}

/// A volunteer holds an order only while it is dispatched to it: before the dispatch, to another volunteer and
/// after a decline it is withdrawn (never refused for the whole round, never answered), writing into it is
/// kept nowhere, and the catalogue follows the re-dispatch; the volunteer it is dispatched to reads it and
/// works it, and the evaluation credits it in the points ledger.
#[test]
fn a_volunteer_reaches_an_order_only_while_it_is_dispatched_to_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    let mut leader = server.enroll(&community, "陈网格长", "grid_leader", &["G01"]);
    let mut committee = server.enroll(&community, "社居委", "committee", &[]);
    let mut a = server.enroll(&community, "志愿者甲", "volunteer", &[]);
    let mut b = server.enroll(&community, "志愿者乙", "volunteer", &[]);
    for d in [&mut leader, &mut committee, &mut a, &mut b] {
        d.sync().expect("first sync");
    }
    let own: BTreeSet<String> =
        [DocId::community(&community).to_string(), DocId::points(&community).to_string()].into_iter().collect();
    let order = leader.request_order("G01", "G01-H0", "meal_delivery");
    leader.sync().expect("the request goes up");

    // Dispatched to nobody yet: not listed, and asking for it withdraws it with nothing of it answered.
    assert_eq!(named_from_the_start(&mut a), own);
    let res = a.round(vec![ask_for(&order)]).expect("not a refusal of the round");
    assert_eq!(res.withdrawn, vec![order.to_string()]);
    assert!(res.docs.is_empty() && res.catalogue.iter().all(|e| e.doc_id != order.to_string()), "{res:?}");

    // Dispatched to A: A's catalogue lists it and A reads it, resident's address and phone included.
    committee.sync().expect("committee receives the order");
    let mut dispatch = committee.order_event("dispatch");
    dispatch.volunteer = Some("志愿者甲".into());
    committee.append_order_event(&order, &dispatch);
    committee.sync().expect("the dispatch goes up");
    let mut with_order = own.clone();
    with_order.insert(order.to_string());
    assert_eq!(named_from_the_start(&mut a), with_order);
    let held = service_order::read(a.docs.get(&order.to_string()).expect("held")).expect("readable");
    assert_eq!((held.fields.address.as_str(), held.fields.phone.as_deref()), ("1-1-101", Some("13800000000")));

    // B: not listed; asking withdraws it; an accept written into it by B is kept nowhere.
    assert_eq!(named_from_the_start(&mut b), own);
    let res = b.round(vec![ask_for(&order)]).expect("withdrawn, not refused");
    assert_eq!((res.withdrawn.clone(), res.docs.len()), (vec![order.to_string()], 0));
    let forged = {
        let mut copy = a.docs.get(&order.to_string()).expect("A's copy").clone().with_actor(b.actor());
        service_order::append_event(&mut copy, &b.order_event("accept")).expect("append");
        copy.commit();
        copy
    };
    b.docs.insert(order.to_string(), forged);
    let res = b.push(std::slice::from_ref(&order)).expect("withdrawn, not refused");
    assert_eq!(res.withdrawn, vec![order.to_string()]);
    b.docs.remove(&order.to_string());
    b.states.remove(&order.to_string());
    committee.sync().expect("committee syncs");
    assert_eq!(events(&committee, &order).len(), 2, "request and dispatch, nothing of B's");

    // A declines: the round that carries the decline withdraws the order from A (it is no longer A's).
    a.append_order_event(&order, &a.order_event("decline"));
    let res = a.push(std::slice::from_ref(&order)).expect("the decline is stored");
    assert_eq!(res.withdrawn, vec![order.to_string()], "withdrawn as soon as it is declined");
    a.docs.remove(&order.to_string());
    a.states.remove(&order.to_string());
    committee.sync().expect("committee syncs");
    assert_eq!(events(&committee, &order).last().map(|e| e.action.as_str()), Some("decline"));

    // Re-dispatched to B: B's catalogue lists it, A's does not, A asking gets it withdrawn.
    let mut again = committee.order_event("dispatch");
    again.volunteer = Some("志愿者乙".into());
    committee.append_order_event(&order, &again);
    committee.sync().expect("the re-dispatch goes up");
    assert_eq!(named_from_the_start(&mut b), with_order);
    assert_eq!(named_from_the_start(&mut a), own, "A's catalogue no longer lists it");
    assert_eq!(a.round(vec![ask_for(&order)]).expect("withdrawn").withdrawn, vec![order.to_string()]);

    // B works it; the grid leader records the rating; the server credits B in the ledger with the round.
    b.append_order_event(&order, &b.order_event("accept"));
    b.append_order_event(&order, &b.order_event("done"));
    b.sync().expect("B's work goes up");
    leader.sync().expect("leader receives it");
    let mut rating = leader.order_event("evaluate");
    rating.rating = Some(5);
    leader.append_order_event(&order, &rating);
    leader.sync().expect("the rating goes up");
    b.sync().expect("B syncs");
    let ledger = points::Ledger::read(b.docs.get(&DocId::points(&community).to_string()).expect("ledger"));
    let credit = ledger.credits.first().expect("credited");
    assert_eq!(
        (credit.volunteer.as_str(), credit.points, credit.minutes, ledger.credits.len()),
        ("志愿者乙", 10, 60, 1)
    );
    assert_eq!(gridline_core::points::balance(&ledger, "志愿者乙").balance, 10);
    assert_eq!(gridline_core::points::balance(&ledger, "志愿者甲").balance, 0);
    // A comment after the evaluation credits nothing more.
    leader.append_order_event(&order, &leader.order_event("comment"));
    leader.sync().expect("comment");
    b.sync().expect("B syncs");
    let ledger = points::Ledger::read(b.docs.get(&DocId::points(&community).to_string()).expect("ledger"));
    assert_eq!(ledger.credits.len(), 1, "an order is credited once");
}

/// A volunteer's own phone (the core's store and sync client): it holds the order dispatched to it, declines
/// it, and the sync that carries the decline deletes the order from the store, resident's data and all.
#[test]
fn a_volunteers_store_deletes_an_order_withdrawn_from_it() {
    use gridline_core::service_workflow::OrderAction;
    use gridline_core::store::{OrderAct, OrderFilter};
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    let mut leader = server.enroll(&community, "陈网格长", "grid_leader", &["G01"]);
    let mut committee = server.enroll(&community, "社居委", "committee", &[]);
    leader.sync().expect("leader syncs");
    let order = leader.request_order("G01", "G01-H0", "meal_delivery");
    leader.sync().expect("the request goes up");
    committee.sync().expect("committee receives it");
    let mut dispatch = committee.order_event("dispatch");
    dispatch.volunteer = Some("志愿者甲".into());
    committee.append_order_event(&order, &dispatch);
    committee.sync().expect("the dispatch goes up");

    let code = server.enrollment_code(&community, "志愿者甲", "volunteer", &[]);
    let clock: std::sync::Arc<dyn gridline_core::Clock> = std::sync::Arc::new(gridline_core::SystemClock);
    let mut phone =
        gridline_core::Store::enroll(&dir.path().join("phone"), &[5; 32], &server.url(""), &code, false, clock)
            .expect("the volunteer's phone enrolls");
    let cancel = std::sync::atomic::AtomicBool::new(false);
    phone.sync(&gridline_core::sync::NoProgress, &cancel).expect("sync");
    let held = |phone: &gridline_core::Store| -> BTreeSet<String> {
        phone.documents().expect("documents").into_iter().map(|(id, _)| id).collect()
    };
    assert!(held(&phone).contains(&order.to_string()), "{:?}", held(&phone));
    let mine = OrderFilter { mine: true, ..OrderFilter::default() };
    assert_eq!(phone.order_list(&mine).expect("list").items.len(), 1);

    let order_id = order.key.clone().expect("order id");
    phone.order_act(&order_id, OrderAct::new(OrderAction::Decline, "这周没空")).expect("decline");
    phone.sync(&gridline_core::sync::NoProgress, &cancel).expect("the decline goes up");
    assert!(!held(&phone).contains(&order.to_string()), "deleted: {:?}", held(&phone));
    assert!(phone.order_list(&OrderFilter::default()).expect("list").items.is_empty());
    committee.sync().expect("committee syncs");
    assert_eq!(events(&committee, &order).last().map(|e| e.action.as_str()), Some("decline"), "the decline is kept");
    phone.sync(&gridline_core::sync::NoProgress, &cancel).expect("a later sync");
    assert!(!held(&phone).contains(&order.to_string()), "not fetched again");
}

/// Photos of an order follow the order's reach: a volunteer's proof photo on `done` is served to the grid leader
/// and the station (the volunteer writes the order by assignment, not by id), the volunteer it is dispatched to
/// reads the grid leader's photo on the order, and another volunteer reads neither.
#[test]
fn an_orders_photos_reach_those_who_reach_the_order_and_no_other_volunteer() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    let mut leader = server.enroll(&community, "陈网格长", "grid_leader", &["G01"]);
    let mut committee = server.enroll(&community, "社居委", "committee", &[]);
    let station = server.enroll(&community, "工作站", "station", &[]);
    let mut a = server.enroll(&community, "志愿者甲", "volunteer", &[]);
    let mut b = server.enroll(&community, "志愿者乙", "volunteer", &[]);
    for d in [&mut leader, &mut committee, &mut a, &mut b] {
        d.sync().expect("first sync");
    }
    let url = |hash: &str| server.url(&format!("/v1/blobs/{hash}"));
    let put = |token: &str, bytes: &[u8]| {
        let hash = hex::encode(Sha256::digest(bytes));
        let res = server.http.put(url(&hash)).bearer_auth(token).body(bytes.to_vec()).send().expect("put");
        assert_eq!(res.status().as_u16(), 201, "uploaded");
        hash
    };
    let get =
        |token: &str, hash: &str| server.http.get(url(hash)).bearer_auth(token).send().expect("get").status().as_u16();

    let order = leader.request_order("G01", "G01-H0", "meal_delivery");
    let door = put(&leader.info.token, b"the resident's door, so the volunteer finds it");
    let mut note = leader.order_event("comment");
    note.photos = vec![door.clone()];
    leader.append_order_event(&order, &note);
    leader.sync().expect("the request goes up");
    committee.sync().expect("committee receives it");
    let mut dispatch = committee.order_event("dispatch");
    dispatch.volunteer = Some("志愿者乙".into());
    committee.append_order_event(&order, &dispatch);
    committee.sync().expect("the dispatch goes up");

    b.sync().expect("B receives the order");
    let proof = put(&b.info.token, b"the meal on the resident's table");
    b.append_order_event(&order, &b.order_event("accept"));
    let mut done = b.order_event("done");
    done.photos = vec![proof.clone()];
    b.append_order_event(&order, &done);
    b.sync().expect("B's work goes up");
    leader.sync().expect("leader receives it");

    assert_eq!(get(&leader.info.token, &proof), 200, "the grid leader sees the volunteer's proof");
    assert_eq!(get(&station.info.token, &proof), 200, "so does the station");
    assert_eq!(get(&b.info.token, &door), 200, "the volunteer sees the grid leader's photo of its order");
    assert_eq!(get(&a.info.token, &proof), 404, "another volunteer sees neither");
    assert_eq!(get(&a.info.token, &door), 404);
}
