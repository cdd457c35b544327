//! `GET /v1/keys`: a device learns the public keys of its own community's devices (revoked ones flagged),
//! nothing of another community's, and an unchanged list costs a 304.

use gridline_core::sync::protocol::KeysResponse;
use gridline_testkit::Server;

#[test]
fn a_device_lists_its_communitys_keys_and_an_unchanged_list_is_304() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    let a = server.enroll(&community, "A", "grid_leader", &["G01"]);
    let b = server.enroll(&community, "B", "grid_leader", &["G02"]);
    let other = server.community_with_roster();
    let stranger = server.enroll(&other, "X", "grid_leader", &["G01"]);
    let get = |etag: Option<&str>| {
        let mut req = a.http.get(format!("{}/v1/keys", a.base)).bearer_auth(&a.info.token);
        if let Some(etag) = etag {
            req = req.header("if-none-match", etag);
        }
        req.send().expect("keys")
    };
    let res = get(None);
    assert_eq!(res.status().as_u16(), 200);
    let etag = res.headers().get("etag").and_then(|v| v.to_str().ok()).expect("etag").to_string();
    let keys: KeysResponse = res.json().expect("json");
    let mut ids: Vec<&str> = keys.devices.iter().map(|d| d.device_id.as_str()).collect();
    ids.sort();
    let mut want = vec![a.info.device_id.as_str(), b.info.device_id.as_str()];
    want.sort();
    assert_eq!(ids, want, "its community only, not {}", stranger.info.device_id);
    assert!(keys.devices.iter().all(|d| !d.revoked && d.public_key.len() == 64));
    assert_eq!(get(Some(&etag)).status().as_u16(), 304);
    let (ok, out) = server.admin(&["device", "revoke", &b.info.device_id]);
    assert!(ok, "{out}");
    let changed = get(Some(&etag));
    assert_eq!(changed.status().as_u16(), 200, "the list changed");
    let keys: KeysResponse = changed.json().expect("json");
    assert!(keys.devices.iter().any(|d| d.device_id == b.info.device_id && d.revoked));
    let anonymous = a.http.get(format!("{}/v1/keys", a.base)).send().expect("keys");
    assert_eq!(anonymous.status().as_u16(), 401);
}
