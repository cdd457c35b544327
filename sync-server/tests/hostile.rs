//! Bad input on the wire: truncated, random and oversized bodies, hostile sync messages, bad ids and
//! versions → the right 4xx, the server keeps serving and stored documents stay intact.

use gridline_core::sync::protocol::{encode_body, DocMessage, SyncRequest, MAX_BODY_BYTES, PROTOCOL_VERSION};
use gridline_testkit::{api_error, log_id, Server};

#[test]
fn hostile_bodies_get_4xx_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    let mut a = server.enroll(&community, "A", "grid_leader", &["G01"]);
    let log = log_id(&community, "G01");
    a.write(&log, "checkin/1", "before the attack");
    a.sync().expect("sync");
    let token = a.info.token.clone();

    let valid = encode_body(&SyncRequest { protocol: PROTOCOL_VERSION, cursor: 0, docs: vec![] }).expect("enc");
    let mut random = vec![0u8; 4096];
    getrandom::fill(&mut random).expect("random");
    let mut gz_random = random.clone();
    gz_random[..3].copy_from_slice(&[0x1f, 0x8b, 0x08]);
    let not_cbor = {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&random).expect("gz");
        gz.finish().expect("gz")
    };
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("empty", vec![], 400, "malformed_body"),
        ("truncated", valid[..valid.len() / 2].to_vec(), 400, "malformed_body"),
        ("random", random.clone(), 400, "malformed_body"),
        ("random after a gzip header", gz_random, 400, "malformed_body"),
        ("gzip of junk", not_cbor, 400, "malformed_body"),
        ("oversized", vec![0u8; MAX_BODY_BYTES + 1], 413, "body_too_large"),
    ];
    for (what, body, status, code) in cases {
        let (got, body) = server.post_sync_raw(Some(&token), body);
        assert_eq!((got, api_error(&body).code.as_str()), (status, code), "{what}");
    }

    let junk_message =
        |doc_id: &str, message: Vec<u8>| DocMessage { doc_id: doc_id.into(), message, signatures: vec![] };
    let mut sync_msgs = vec![];
    {
        // A real message for the log whose bytes are flipped in the middle.
        let doc = a.doc(&log);
        let mut state = automerge::sync::State::new();
        let m = automerge::sync::SyncDoc::generate_sync_message(&doc.sync(), &mut state).expect("msg").encode();
        for i in [m.len() / 2, m.len() - 1] {
            let mut bad = m.clone();
            bad[i] ^= 0xff;
            sync_msgs.push(bad);
        }
        sync_msgs.push(m[..m.len() / 2].to_vec());
    }
    let requests: Vec<(&str, SyncRequest, u16, &str)> = vec![
        ("protocol", SyncRequest { protocol: 99, cursor: 0, docs: vec![] }, 400, "protocol_unsupported"),
        (
            "bad doc id",
            SyncRequest { protocol: 1, cursor: 0, docs: vec![junk_message("roster:../../etc", vec![])] },
            400,
            "invalid_doc_id",
        ),
        (
            "random sync message",
            SyncRequest { protocol: 1, cursor: 0, docs: vec![junk_message(&log.to_string(), random.clone())] },
            400,
            "malformed_sync_message",
        ),
        (
            "too many documents",
            SyncRequest {
                protocol: 1,
                cursor: 0,
                docs: (0..=gridline_core::sync::protocol::MAX_DOCS_PER_REQUEST)
                    .map(|n| junk_message(&format!("roster:{community}:G{n}"), vec![]))
                    .collect(),
            },
            400,
            "too_many_documents",
        ),
        (
            "duplicate",
            SyncRequest {
                protocol: 1,
                cursor: 0,
                docs: vec![junk_message(&log.to_string(), vec![]), junk_message(&log.to_string(), vec![])],
            },
            400,
            "duplicate_document",
        ),
    ];
    for (what, req, status, code) in requests {
        let (got, body) = server.post_sync_raw(Some(&token), encode_body(&req).expect("enc"));
        assert_eq!((got, api_error(&body).code.as_str()), (status, code), "{what}");
    }
    for bad in sync_msgs {
        let req = SyncRequest { protocol: 1, cursor: 0, docs: vec![junk_message(&log.to_string(), bad)] };
        let (got, body) = server.post_sync_raw(Some(&token), encode_body(&req).expect("enc"));
        // A flipped byte may still decode into a message that asks for nothing new: never a 5xx.
        assert!(got == 200 || (got == 400 && api_error(&body).code == "malformed_sync_message"), "{got}");
    }
    let res = server.http.post(server.url("/v1/enroll")).body("{not json").send().expect("send");
    assert_eq!(res.status().as_u16(), 400);
    assert_eq!(api_error(&res.bytes().expect("body")).code, "malformed_body");

    assert!(server.healthy());
    let mut observer = server.enroll(&community, "O", "committee", &[]);
    observer.sync().expect("observer syncs");
    assert_eq!(observer.notes(&log.to_string()), vec![("checkin/1".to_string(), "before the attack".to_string())]);
}
