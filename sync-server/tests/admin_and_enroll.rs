//! Admin commands, enrollment (once only), revocation and tokens, against the real server process.

use gridline_testkit::{admin, api_error, free_port, Device, Server, ServerOptions};

#[test]
fn admin_flow_and_one_time_enrollment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let server = Server::start_with(dir.path(), &ServerOptions::args(&["--metrics-listen", &metrics_addr]));
    let community = server.community_with_roster();

    // Re-importing the same roster changes nothing; the grids are registered in the community document.
    let csv = server.data.join("roster.csv");
    let (ok, out) = server.admin(&["roster", "import", "--community", &community, csv.to_str().expect("path")]);
    assert!(ok, "{out}");
    assert_eq!(out["households"]["added"], 0, "{out}");
    assert_eq!(out["residents"]["updated"], 0, "{out}");

    let (ok, out) = server.admin(&["enroll", "--community", &community, "--user", "Li", "--role", "grid_leader"]);
    assert!(!ok, "a grid leader needs a grid");
    assert_eq!(out["error"]["code"], "invalid_input");
    let (ok, out) = server.admin(&["enroll", "--community", "nope", "--user", "Li", "--role", "station"]);
    assert!(!ok);
    assert_eq!(out["error"]["code"], "not_found");

    let (ok, out) =
        server.admin(&["enroll", "--community", &community, "--user", "Li", "--role", "grid_leader", "--grid", "G01"]);
    assert!(ok, "{out}");
    let code = out["code"].as_str().expect("code").to_string();
    assert!(out["expires_at"].as_str().is_some_and(|t| t.ends_with('Z')));

    let mut leader = Device::enroll(&server, &code).expect("enroll");
    assert_eq!(leader.info.role, "grid_leader");
    assert_eq!(leader.info.grids, vec!["G01".to_string()]);
    assert_eq!(leader.info.community_id, community);

    // A code works once; an unknown code is invalid.
    assert_eq!(Device::enroll(&server, &code).expect_err("replay refused").code, "enroll_code_used");
    assert_eq!(Device::enroll(&server, "ZZZZ-ZZZZ-ZZZZ").expect_err("unknown").code, "enroll_code_invalid");

    // The device receives its grid's roster and the community document.
    leader.sync().expect("sync");
    let ids = leader.ids();
    assert!(ids.contains(&format!("community:{community}")), "{ids:?}");
    assert!(ids.contains(&format!("roster:{community}:G01")), "{ids:?}");
    assert!(!ids.iter().any(|i| i.contains("G02")), "{ids:?}");

    let (ok, list) = server.admin(&["device", "list"]);
    assert!(ok);
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["device_id"], leader.info.device_id.as_str());
    assert_eq!(items[0]["user"], "Li");
    assert_eq!(items[0]["revoked"], false);

    let (ok, _) = server.admin(&["device", "revoke", &leader.info.device_id]);
    assert!(ok);
    let (_, list) = server.admin(&["device", "list"]);
    assert_eq!(list["items"][0]["revoked"], true);
    let (status, err) = leader.round(vec![]).expect_err("revoked device refused");
    assert_eq!((status, err.code.as_str()), (403, "device_revoked"));
    let (ok, out) = server.admin(&["device", "revoke", "no-such-device"]);
    assert!(!ok);
    assert_eq!(out["error"]["code"], "not_found");

    // Wrong and absent tokens.
    let (status, body) = server.post_sync_raw(Some("not-a-token"), vec![]);
    assert_eq!((status, api_error(&body).code.as_str()), (401, "unauthorized"));
    let (status, body) = server.post_sync_raw(None, vec![]);
    assert_eq!((status, api_error(&body).code.as_str()), (401, "unauthorized"));
    assert!(server.healthy());

    let metrics =
        server.http.get(format!("http://{metrics_addr}/metrics")).send().expect("metrics").text().expect("text");
    assert!(metrics.contains("gridline_sync_rounds_total"), "{metrics}");
    assert!(metrics.contains("gridline_documents 4"), "{metrics}");
}

#[test]
fn an_expired_code_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let (ok, out) = server.admin(&["community", "create", "--name", "C", "--timezone", "Asia/Shanghai"]);
    assert!(ok, "{out}");
    let community = out["community_id"].as_str().expect("id").to_string();
    let out = server
        .admin_command()
        .env("GRIDLINE_NOW", "2020-01-01T00:00:00Z")
        .args(["--json", "enroll", "--community", &community, "--user", "Wang", "--role", "station"])
        .output()
        .expect("admin");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["expires_at"], "2020-01-04T00:00:00Z");
    let err = Device::enroll(&server, doc["code"].as_str().expect("code")).expect_err("expired");
    assert_eq!(err.code, "enroll_code_expired");
    let (ok, out) = admin(dir.path(), &["community", "create", "--name", "C", "--timezone", "Mars/Base"]);
    assert!(!ok);
    assert_eq!(out["error"]["code"], "invalid_input");
}
