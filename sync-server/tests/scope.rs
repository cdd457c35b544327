//! Scope on the wire: a grid-B device never receives a grid-A document id, document or blob, and its writes
//! to grid A are refused; blobs by hash.

use gridline_core::docs::DocId;
use gridline_testkit::{api_error, log_id, Server};
use sha2::{Digest, Sha256};

#[test]
fn grid_b_never_sees_or_writes_grid_a() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    let mut a = server.enroll(&community, "A", "grid_leader", &["G01"]);
    let mut b = server.enroll(&community, "B", "grid_leader", &["G02"]);
    let mut station = server.enroll(&community, "S", "station", &[]);

    // A photo referenced by grid A's check-in.
    let photo = b"jpeg bytes of a stairwell".to_vec();
    let hash = hex::encode(Sha256::digest(&photo));
    let blob_url = server.url(&format!("/v1/blobs/{hash}"));
    let head = |token: &str| server.http.head(&blob_url).bearer_auth(token).send().expect("head").status().as_u16();
    assert_eq!(head(&a.info.token), 404);
    let put =
        |token: &str, body: Vec<u8>| server.http.put(&blob_url).bearer_auth(token).body(body).send().expect("put");
    assert_eq!(put(&a.info.token, photo.clone()).status().as_u16(), 201);
    assert_eq!(put(&a.info.token, photo.clone()).status().as_u16(), 200, "idempotent retry");
    assert_eq!(head(&a.info.token), 200);
    let bad = put(&a.info.token, b"other bytes".to_vec());
    assert_eq!(bad.status().as_u16(), 400);
    assert_eq!(api_error(&bad.bytes().expect("body")).code, "blob_hash_mismatch");

    let a_log = log_id(&community, "G01");
    a.write(&a_log, "checkin/1", "all well");
    {
        let doc = a.doc(&a_log);
        gridline_core::docs::put_entity(doc, "checkin/1", &vec![("photos", gridline_core::docs::s(&hash))])
            .expect("photo");
        automerge::AutoCommit::commit(doc);
    }
    a.sync().expect("a syncs");
    let b_log = log_id(&community, "G02");
    b.write(&b_log, "checkin/2", "nobody home");
    b.sync().expect("b syncs");
    station.sync().expect("station syncs");

    // B saw nothing of grid A: no id, no document.
    assert!(b.ids().iter().all(|id| !id.contains(":G01")), "{:?}", b.ids());
    assert!(b.ids().contains(&b_log.to_string()));
    // The station sees both grids.
    assert_eq!(station.notes(&a_log.to_string()), vec![("checkin/1".to_string(), "all well".to_string())]);
    assert_eq!(station.notes(&b_log.to_string()).len(), 1);

    // B asking for grid A's documents, or writing to them, is refused.
    for id in [DocId::roster(&community, "G01"), a_log.clone()] {
        b.write(&id, "checkin/x", "from B");
        let msgs = b.outgoing(Some(&[id.to_string()].into_iter().collect()));
        let (status, err) = b.round(msgs).expect_err("refused");
        assert_eq!((status, err.code.as_str()), (403, "forbidden_document"), "{id}");
        b.docs.remove(&id.to_string());
        b.states.remove(&id.to_string());
    }
    // A grid leader may read but not write the community document.
    let cid = DocId::community(&community);
    b.write(&cid, "grid/G99", "sneaky");
    let msgs = b.outgoing(Some(&[cid.to_string()].into_iter().collect()));
    let (status, err) = b.round(msgs).expect_err("refused");
    assert_eq!((status, err.code.as_str()), (403, "forbidden_change"));

    // Blobs: the station may fetch A's photo (referenced in its scope), B may not, nor learn it exists.
    let get = |token: &str| server.http.get(&blob_url).bearer_auth(token).send().expect("get");
    let res = get(&station.info.token);
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.bytes().expect("bytes").to_vec(), photo);
    assert_eq!(get(&b.info.token).status().as_u16(), 404);
    assert_eq!(get(&a.info.token).status().as_u16(), 200);

    // The stored grid A log is intact.
    let mut fresh = server.enroll(&community, "S2", "committee", &[]);
    fresh.sync().expect("sync");
    assert_eq!(fresh.notes(&a_log.to_string()), vec![("checkin/1".to_string(), "all well".to_string())]);

    // Blob limits.
    let big = vec![0u8; gridline_core::sync::protocol::MAX_BLOB_BYTES + 1];
    let big_hash = hex::encode(Sha256::digest(&big));
    let res = server
        .http
        .put(server.url(&format!("/v1/blobs/{big_hash}")))
        .bearer_auth(&a.info.token)
        .body(gridline_testkit::chunked(big))
        .send();
    let res = res.expect("put big");
    assert_eq!(res.status().as_u16(), 413);
    assert_eq!(api_error(&res.bytes().expect("body")).code, "blob_too_large");
    let res = server.http.get(server.url("/v1/blobs/NOTAHASH")).bearer_auth(&a.info.token).send().expect("get");
    assert_eq!(res.status().as_u16(), 400);
    assert!(server.healthy());
}
