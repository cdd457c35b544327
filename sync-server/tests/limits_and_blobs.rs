//! Per-device limits and blob scope against the real server: a device past its request rate or its daily
//! quota gets 429 with `Retry-After` while others go on; a blob is readable only within its uploader's scope,
//! and naming its hash in another grid's document grants nothing.

use chrono::NaiveDate;
use gridline_core::docs;
use gridline_testkit::{log_id, Server, ServerOptions};
use sha2::{Digest, Sha256};

fn blob_url(server: &Server, hash: &str) -> String {
    server.url(&format!("/v1/blobs/{hash}"))
}

fn status(res: reqwest::blocking::Response) -> u16 {
    res.status().as_u16()
}

#[test]
fn a_photo_hash_written_into_another_grid_grants_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    let mut a = server.enroll(&community, "A", "grid_leader", &["G01"]);
    let mut a2 = server.enroll(&community, "A2", "grid_worker", &["G01"]);
    let mut b = server.enroll(&community, "B", "grid_leader", &["G02"]);
    let station = server.enroll(&community, "S", "station", &[]);
    let photo = b"a photo of a broken stair rail in building 3".to_vec();
    let hash = hex::encode(Sha256::digest(&photo));
    let put = |token: &str, body: Vec<u8>| {
        status(server.http.put(blob_url(&server, &hash)).bearer_auth(token).body(body).send().expect("put"))
    };
    let get = |token: &str| status(server.http.get(blob_url(&server, &hash)).bearer_auth(token).send().expect("get"));
    let head =
        |token: &str| status(server.http.head(blob_url(&server, &hash)).bearer_auth(token).send().expect("head"));

    assert_eq!(head(&b.info.token), 404, "nothing there yet");
    assert_eq!(put(&a.info.token, photo.clone()), 201);
    assert_eq!(put(&a.info.token, photo.clone()), 200, "a retry of one's own upload");
    let log_a = log_id(&community, "G01");
    let mut with_photo = a.check_in(&log_a, "p", "the stair rail");
    with_photo.photos = vec![hash.clone()];
    a.append_check_in(&log_a, &with_photo);
    a.sync().expect("a syncs");
    // B copies the hash into an honest check-in of its own grid's log.
    let log_b = log_id(&community, "G02");
    let mut copied = b.check_in(&log_b, "q", "someone else's photo");
    copied.photos = vec![hash.clone()];
    b.append_check_in(&log_b, &copied);
    b.sync().expect("b syncs");

    assert_eq!(get(&b.info.token), 404, "another grid's photo stays out of reach");
    assert_eq!(head(&b.info.token), 404, "HEAD reveals nothing outside the scope");
    assert_eq!(put(&b.info.token, b"not the photo".to_vec()), 400, "an upload must hash to its name");
    a2.sync().expect("a2 syncs");
    assert_eq!(get(&a2.info.token), 200, "the same grid reads it");
    assert_eq!(get(&station.info.token), 200, "the station reads the whole community");
    assert_eq!(get(&a.info.token), 200);
    let body = server.http.get(blob_url(&server, &hash)).bearer_auth(&a2.info.token).send().expect("get");
    assert_eq!(body.bytes().expect("bytes").to_vec(), photo);
}

#[test]
fn a_device_past_its_rate_gets_429_with_retry_after_and_others_go_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server =
        Server::start_with(dir.path(), &ServerOptions::args(&["--rate-per-second", "5", "--rate-burst", "10"]));
    let community = server.community_with_roster();
    let a = server.enroll(&community, "A", "grid_leader", &["G01"]);
    let b = server.enroll(&community, "B", "grid_leader", &["G01"]);
    let hash = "0".repeat(64);
    let mut refused = None;
    for _ in 0..40 {
        let res = server.http.head(blob_url(&server, &hash)).bearer_auth(&a.info.token).send().expect("head");
        if res.status().as_u16() == 429 {
            refused = res.headers().get("retry-after").map(|v| v.to_str().expect("ascii").to_string());
            break;
        }
    }
    let retry: u64 = refused.expect("the burst runs out").parse().expect("seconds");
    assert!((1..=2).contains(&retry), "{retry}");
    let res = server.http.head(blob_url(&server, &hash)).bearer_auth(&b.info.token).send().expect("head");
    assert_eq!(res.status().as_u16(), 404, "another device is not slowed");
}

#[test]
fn daily_quotas_answer_429_until_midnight_and_store_nothing_past_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_with(
        dir.path(),
        &ServerOptions::args(&[
            "--quota-new-documents",
            "2",
            "--quota-blob-bytes",
            "1000",
            "--quota-document-bytes",
            "20000",
        ]),
    );
    let community = server.community_with_roster();
    let mut a = server.enroll(&community, "A", "grid_leader", &["G01"]);
    let day_log =
        |d: u32| docs::DocId::check_in_log(&community, "G01", NaiveDate::from_ymd_opt(2026, 11, d).expect("day"));
    for d in 1..=2 {
        a.write(&day_log(d), "checkin/1", "within the quota");
    }
    a.sync().expect("two new documents pass");
    let third = day_log(3);
    a.write(&third, "checkin/1", "one too many");
    let (status, err) = a.sync().expect_err("the third new document is refused");
    assert_eq!((status, err.code.as_str()), (429, "quota_exceeded"), "{}", err.message);

    // Photo bytes per day.
    let big = vec![7u8; 800];
    let hash = hex::encode(Sha256::digest(&big));
    let res = server.http.put(blob_url(&server, &hash)).bearer_auth(&a.info.token).body(big).send().expect("put");
    assert_eq!(res.status().as_u16(), 201);
    let more = vec![8u8; 800];
    let hash2 = hex::encode(Sha256::digest(&more));
    let res = server.http.put(blob_url(&server, &hash2)).bearer_auth(&a.info.token).body(more).send().expect("put");
    assert_eq!(res.status().as_u16(), 429);
    let retry: u64 = res.headers()["retry-after"].to_str().expect("ascii").parse().expect("secs");
    assert!((1..=86_400).contains(&retry));
    let res = server.http.get(blob_url(&server, &hash2)).bearer_auth(&a.info.token).send().expect("get");
    assert_eq!(res.status().as_u16(), 404, "the refused upload was not stored");

    // Bytes added to one document per day.
    let log = day_log(1);
    for n in 2..40 {
        a.write(&log, &format!("checkin/{n}"), &"x".repeat(800));
    }
    a.docs.remove(&third.to_string());
    let (status, err) = a.sync().expect_err("the log grows past its daily bytes");
    assert_eq!((status, err.code.as_str()), (429, "quota_exceeded"), "{}", err.message);
}

/// A crowd past what the server takes on at once is shed with 429 and `Retry-After` — never a 5xx, never an
/// unbounded queue — and every device that comes back after its wait has its work stored, once.
#[test]
fn a_crowd_past_the_servers_capacity_is_shed_with_429_and_nothing_is_lost() {
    const DEVICES: usize = 16;
    const CHECK_INS: usize = 150;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_with(
        dir.path(),
        &ServerOptions::args(&["--max-in-flight", "1", "--max-waiting", "2", "--max-wait-ms", "50"]),
    );
    let community = server.community_with_roster();
    let grids = ["G01", "G02"];
    let mut devices: Vec<_> = (0..DEVICES)
        .map(|n| {
            let grid = grids[n % 2];
            let mut d = server.enroll(&community, &format!("leader{n}"), "grid_leader", &[grid]);
            let log = log_id(&community, grid);
            for i in 0..CHECK_INS {
                let c = d.check_in(&log, &format!("{n}-{i}"), "all well");
                d.append_check_in(&log, &c);
            }
            d
        })
        .collect();
    let start = std::sync::Barrier::new(DEVICES);
    let outcomes: Vec<(u16, Option<String>, Option<u64>)> = std::thread::scope(|s| {
        let handles: Vec<_> = devices
            .iter_mut()
            .map(|d| {
                let start = &start;
                s.spawn(move || {
                    start.wait();
                    match d.sync() {
                        Ok(_) => (200, None, None),
                        Err((status, e)) => (status, Some(e.code), d.last_retry_after),
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("device thread")).collect()
    });
    let shed: Vec<_> = outcomes.iter().filter(|(status, _, _)| *status == 429).collect();
    assert!(!shed.is_empty(), "one slot and two waiting places: some of {DEVICES} at once are shed: {outcomes:?}");
    for (status, code, retry) in &outcomes {
        assert!(*status == 200 || *status == 429, "only served or shed: {outcomes:?}");
        if *status == 429 {
            assert_eq!(code.as_deref(), Some("rate_limited"));
            assert!(retry.is_some_and(|r| (1..=30).contains(&r)), "Retry-After: {retry:?}");
        }
    }
    // Each shed device comes back after its wait (one at a time here) and is served. Like a phone, whose sync
    // states are kept only from rounds that succeeded, it starts again from the states it had.
    for d in &mut devices {
        for attempt in 0.. {
            d.states.clear();
            match d.sync() {
                Ok(_) => break,
                Err((429, _)) if attempt < 50 => std::thread::sleep(std::time::Duration::from_millis(100)),
                Err(e) => panic!("sync after the crowd: {e:?}"),
            }
        }
    }
    // A committee phone sees every check-in of the crowd, each once.
    let mut committee = server.enroll(&community, "Committee", "committee", &[]);
    committee.sync().expect("committee syncs");
    let held_ids: Vec<String> = committee.docs.keys().cloned().collect();
    for grid in grids {
        let log = log_id(&community, grid).to_string();
        let doc = committee.docs.get(&log).unwrap_or_else(|| panic!("{log} not in {held_ids:?} after {outcomes:?}"));
        let held = gridline_core::docs::checkin_log::check_ins(doc);
        let ids: std::collections::BTreeSet<_> = held.iter().map(|c| c.check_in_id.clone()).collect();
        assert_eq!((held.len(), ids.len()), (DEVICES / 2 * CHECK_INS, DEVICES / 2 * CHECK_INS), "{grid}");
    }
}
