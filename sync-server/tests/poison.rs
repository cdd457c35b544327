//! Changes that wait for missing dependencies: a device may not park a change (its own, or one in another
//! device's name) on the server until its dependency shows up. Such a round keeps nothing; an honest device
//! that left a dependency out completes in its next rounds.

use automerge::sync::{ChunkList, Message};
use automerge::{AutoCommit, Change};
use gridline_core::docs;
use gridline_core::sync::protocol::DocMessage;
use gridline_testkit::{log_id, Device, Server};

fn last_change(doc: &mut AutoCommit) -> Change {
    doc.get_last_local_change().expect("a local change")
}

/// A sync message from `device` for `doc_id` whose changes are exactly `changes`.
fn message_with(device: &mut Device, doc_id: &str, changes: &[&Change]) -> DocMessage {
    // A fresh session's first message (heads and have), whatever the device's state says.
    let mut doc = device.doc(&docs::DocId::parse(doc_id).expect("id")).clone();
    let mut state = automerge::sync::State::new();
    let mut msg = automerge::sync::SyncDoc::generate_sync_message(&doc.sync(), &mut state).expect("message");
    let chunks: Vec<Vec<u8>> = changes.iter().map(|c| c.raw_bytes().to_vec()).collect();
    msg.changes = ChunkList::from(chunks);
    DocMessage { doc_id: doc_id.to_string(), message: msg.encode(), signatures: vec![] }
}

#[test]
fn a_change_in_another_devices_name_waiting_for_its_dependency_is_never_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    let mut attacker = server.enroll(&community, "A", "grid_leader", &["G01"]);
    let mut victim = server.enroll(&community, "B", "grid_leader", &["G01"]);
    let log = log_id(&community, "G01");
    let log_s = log.to_string();
    victim.write(&log, "checkin/b1", "synced by B");
    victim.sync().expect("victim syncs");
    attacker.sync().expect("attacker syncs");
    // B writes M offline; the attacker forges F in B's name on top of M (which the server lacks).
    victim.write(&log, "checkin/b2", "written by B offline");
    let mut forge = victim.doc(&log).fork();
    forge.set_actor(victim.actor());
    docs::put_entity(&mut forge, "checkin/forged", &vec![("note", docs::s("forged in B's name"))]).expect("put");
    forge.commit();
    let forged = last_change(&mut forge);
    attacker.write(&log, "checkin/a1", "the attacker's own");
    let own = last_change(attacker.doc(&log));
    let msg = message_with(&mut attacker, &log_s, &[&own, &forged]);
    let res = attacker.round(vec![msg]).expect("answered in the protocol");
    // Nothing of the round was kept: the server asks for what is missing instead.
    let reply = res.docs.iter().find(|m| m.doc_id == log_s).expect("a reply for the log");
    let reply = Message::decode(&reply.message).expect("reply");
    assert!(!reply.need.is_empty(), "the server asks for the missing dependency");
    assert_eq!(server.stored_notes(&community, &log_s), vec![("checkin/b1".into(), "synced by B".into())]);

    // The victim keeps syncing its own work (no duplicate sequence number), and the forged change never
    // applies, not even once its dependency is stored.
    victim.sync().expect("the victim's sync is not wedged");
    let notes = server.stored_notes(&community, &log_s);
    assert!(notes.contains(&("checkin/b2".into(), "written by B offline".into())), "{notes:?}");
    assert!(!notes.iter().any(|(k, _)| k == "checkin/forged"), "{notes:?}");
    // Restarted from disk, the document loads and still holds no forged change.
    drop(server);
    let server = Server::start(dir.path());
    let notes = server.stored_notes(&community, &log_s);
    assert!(!notes.iter().any(|(k, _)| k == "checkin/forged") && notes.len() == 2, "{notes:?}");
}

#[test]
fn an_honest_device_that_left_a_dependency_out_completes_in_the_next_rounds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    let mut phone = server.enroll(&community, "A", "grid_leader", &["G01"]);
    let log = log_id(&community, "G01");
    let log_s = log.to_string();
    phone.write(&log, "checkin/1", "first");
    phone.sync().expect("sync");
    phone.write(&log, "checkin/2", "second");
    let second = last_change(phone.doc(&log));
    phone.write(&log, "checkin/3", "third");
    let third = last_change(phone.doc(&log));
    // As after a Bloom filter false positive: the round carries the third change without the second.
    let msg = message_with(&mut phone, &log_s, &[&third]);
    let res = phone.round(vec![msg]).expect("answered");
    let reply = res.docs.iter().find(|m| m.doc_id == log_s).expect("reply");
    let need = Message::decode(&reply.message).expect("reply").need;
    assert_eq!(need, vec![second.hash()], "the server needs exactly the left-out change");
    phone.apply(&res);
    // The ordinary protocol from here: the phone sends what is needed and resends what was dropped.
    phone.sync().expect("sync completes");
    let notes = server.stored_notes(&community, &log_s);
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(notes.contains(&("checkin/3".into(), "third".into())));
}
