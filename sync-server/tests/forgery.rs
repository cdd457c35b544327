//! Authorship on the wire: a change must be the sending device's own or carry its author device's valid
//! signature; otherwise the whole batch is refused with `forbidden_change` and nothing of it is stored.

use automerge::sync::SyncDoc;
use automerge::{ActorId, AutoCommit};
use gridline_core::docs::{self, DocId};
use gridline_core::sync::protocol::DocMessage;
use gridline_testkit::{log_id, Device, Server};

/// A full sync message carrying every change of `doc` (as if to a peer that has nothing).
fn message_with_everything(doc: &mut AutoCommit) -> Vec<u8> {
    let mut state = automerge::sync::State::new();
    let first = doc.sync().generate_sync_message(&mut state).expect("first message");
    // Pretend the peer answered "I have nothing": the next message carries all changes.
    let mut empty = AutoCommit::new();
    let mut peer = automerge::sync::State::new();
    empty.sync().receive_sync_message(&mut peer, first).expect("peer receives");
    let reply = empty.sync().generate_sync_message(&mut peer).expect("peer reply");
    doc.sync().receive_sync_message(&mut state, reply).expect("receive reply");
    doc.sync().generate_sync_message(&mut state).expect("changes").encode()
}

/// A document by `actor` holding check-in `f`, honest about its author (`user` on the actor's device).
fn doc_by(actor: ActorId, user: &str, id: &DocId, note: &str) -> AutoCommit {
    let mut doc = docs::new_document(id, &actor).expect("doc");
    let device = gridline_core::sync::signing::actor_device(&actor).expect("device id");
    docs::checkin_log::append(&mut doc, &gridline_testkit::check_in_by(user, &device, id, "f", note)).expect("put");
    doc.commit();
    doc
}

fn stored_notes(server: &Server, community: &str, id: &DocId) -> Vec<(String, String)> {
    server.stored_notes(community, &id.to_string())
}

#[test]
fn forged_actors_and_signatures_refuse_the_whole_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    let mut a1 = server.enroll(&community, "A1", "grid_leader", &["G01"]);
    let a2 = server.enroll(&community, "A2", "grid_leader", &["G01"]);
    let b = server.enroll(&community, "B", "grid_leader", &["G02"]);
    let log = log_id(&community, "G01");
    let other = DocId::visit_log(&community, "G01", "2026-11");

    // A batch with one honest document and one authored by a random actor: all refused.
    let mut honest = doc_by(a1.actor(), "A1", &other, "honest");
    let mut forged = doc_by(ActorId::random(), "A1", &log, "forged");
    let batch = vec![
        DocMessage { doc_id: other.to_string(), message: message_with_everything(&mut honest), signatures: vec![] },
        DocMessage { doc_id: log.to_string(), message: message_with_everything(&mut forged), signatures: vec![] },
    ];
    let (status, err) = a1.round(batch).expect_err("refused");
    assert_eq!((status, err.code.as_str()), (403, "forbidden_change"), "{}", err.message);
    assert!(stored_notes(&server, &community, &other).is_empty(), "nothing of the batch stored");
    assert!(stored_notes(&server, &community, &log).is_empty());

    // A2's change relayed by A1 after a hand-off: refused unsigned, refused with a bad signature or a
    // signature from a device outside the grid, accepted with A2's signature.
    let mut relayed = doc_by(a2.actor(), "A2", &log, "written by A2 offline");
    let hashes = relayed.get_heads();
    let message = message_with_everything(&mut relayed);
    let send = |a1: &mut Device, signatures| {
        a1.round(vec![DocMessage { doc_id: log.to_string(), message: message.clone(), signatures }])
    };
    assert_eq!(send(&mut a1, vec![]).expect_err("unsigned").1.code, "forbidden_change");
    let mut wrong_key = a2.sign(&hashes);
    wrong_key[0].signature = b.sign(&hashes)[0].signature.clone();
    assert_eq!(send(&mut a1, wrong_key).expect_err("bad signature").1.code, "forbidden_change");
    assert_eq!(send(&mut a1, b.sign(&hashes)).expect_err("outsider").1.code, "forbidden_change");
    assert!(stored_notes(&server, &community, &log).is_empty());
    send(&mut a1, a2.sign(&hashes)).expect("signed relay accepted");
    assert_eq!(stored_notes(&server, &community, &log), vec![("checkin/f".into(), "written by A2 offline".into())]);

    // A document whose root claims another scope than its id.
    let mut lying = doc_by(a1.actor(), "A1", &log_id(&community, "G02"), "claims G02");
    let other_day = DocId::check_in_log(&community, "G01", chrono::NaiveDate::from_ymd_opt(2026, 11, 25).expect("d"));
    let msg =
        DocMessage { doc_id: other_day.to_string(), message: message_with_everything(&mut lying), signatures: vec![] };
    let (status, err) = a1.round(vec![msg]).expect_err("scope lie refused");
    assert_eq!((status, err.code.as_str()), (403, "forbidden_change"));
    assert!(stored_notes(&server, &community, &other_day).is_empty());
    assert!(server.healthy());
}
