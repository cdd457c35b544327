//! Volunteers (志愿者) through a real server: enrolled with no grid, a volunteer's phone receives the community
//! document and the points ledger and nothing of rosters, check-ins or incidents, checked on the wire (every
//! document id a sync response names); asking for one of those is refused, and so is writing the
//! configuration or the ledger.

use std::collections::BTreeSet;

use gridline_core::docs::DocId;
use gridline_core::model::Severity;
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
