//! `gridline-server admin config show|set` against a running server: the whole configuration as JSON with its
//! revision; an edit (a service's points, a removed service, a new love-supermarket item) reaches every phone
//! at its next sync; a file based on a stale revision, a bad file, a typo and a wrong community are refused with
//! stable codes and nothing written.

use std::path::{Path, PathBuf};

use gridline_core::docs::{self, DocId};
use gridline_core::model::community::ShopItem;
use gridline_testkit::Server;
use serde_json::Value;

fn write_file(server: &Server, name: &str, bytes: &[u8]) -> PathBuf {
    let path = server.data.join(name);
    std::fs::write(&path, bytes).expect("write the file");
    path
}

fn set(server: &Server, community: &str, path: &Path) -> (bool, Value) {
    server.admin(&["config", "set", "--community", community, path.to_str().expect("utf-8 path")])
}

#[test]
fn the_configuration_is_shown_edited_and_set_with_its_revision() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    let mut station = server.enroll(&community, "站长", "station", &[]);
    station.sync().expect("station syncs");

    let shown = server.admin_ok(&["config", "show", "--community", &community]);
    assert_eq!(shown["revision"], 0, "{shown}");
    assert_eq!(shown["community_id"], community.as_str());
    assert_eq!(shown["service_catalogue"][0]["code"], "meal_delivery");
    assert!(shown["service_catalogue"].as_array().is_some_and(|s| s.iter().any(|o| o["code"] == "haircut")));

    // The edit: meal delivery is worth 20 points, haircuts are no longer offered, the supermarket stocks soap.
    let mut edited = shown.clone();
    edited["service_catalogue"][0]["points"] = 20.into();
    let services = edited["service_catalogue"].as_array_mut().expect("services");
    services.retain(|o| o["code"] != "haircut");
    let soap =
        ShopItem { code: "soap".into(), name_zh: "肥皂".into(), name_en: "Soap".into(), price_points: 15, stock: 60 };
    edited["shop_items"].as_array_mut().expect("items").push(serde_json::to_value(&soap).expect("json"));
    let file = write_file(&server, "config.json", &serde_json::to_vec_pretty(&edited).expect("json"));
    let (ok, out) = set(&server, &community, &file);
    assert!(ok, "{out}");
    assert_eq!((out["revision"].as_u64(), out["changed"].as_bool()), (Some(1), Some(true)), "{out}");

    let again = server.admin_ok(&["config", "show", "--community", &community]);
    assert_eq!(again["revision"], 1);
    let mut expected = edited.clone();
    expected["revision"] = 1.into();
    assert_eq!(again, expected, "what was set is what is shown");

    // The phones hold the new configuration after their next sync (the running server serves the admin's write).
    station.sync().expect("station syncs again");
    let doc = station.docs.get(&DocId::community(&community).to_string()).expect("community document");
    let settings = docs::community::read_settings(doc);
    assert_eq!(settings.service("meal_delivery").map(|o| o.points), Some(20));
    assert!(settings.service("haircut").is_none(), "a removed service is gone from the document too");
    assert_eq!(settings.shop_item("soap"), Some(&soap));

    // The same file again: based on revision 0, which is stale now; nothing written.
    let (ok, out) = set(&server, &community, &file);
    assert!(!ok);
    assert_eq!(out["error"]["code"], "action_not_allowed", "{out}");
    assert!(out["error"]["message"].as_str().is_some_and(|m| m.contains("revision 0") && m.contains("revision 1")));
    // The current revision unchanged: nothing to write, the revision kept.
    let same = write_file(&server, "same.json", &serde_json::to_vec(&again).expect("json"));
    let (ok, out) = set(&server, &community, &same);
    assert!(ok, "{out}");
    assert_eq!((out["revision"].as_u64(), out["changed"].as_bool()), (Some(1), Some(false)), "{out}");

    // Bad files: each refused with a stable code naming what is wrong, nothing written.
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = again.clone();
        f(&mut v);
        serde_json::to_vec(&v).expect("json")
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not json", b"{\"revision\": 1, ".to_vec(), "not JSON"),
        ("an array", b"[]".to_vec(), "no JSON object"),
        ("zero points", with(&|v| v["service_catalogue"][1]["points"] = 0.into()), "service_catalogue[1].points"),
        (
            "too many points",
            with(&|v| v["shop_items"][0]["price_points"] = 100_001.into()),
            "shop_items[0].price_points",
        ),
        ("negative stock", with(&|v| v["shop_items"][0]["stock"] = (-1).into()), "stock"),
        ("a long service", with(&|v| v["service_catalogue"][0]["minutes"] = 1441.into()), "minutes"),
        ("a twin code", with(&|v| v["shop_items"][1]["code"] = "rice_5kg".into()), "appears twice"),
        ("a bad code", with(&|v| v["service_catalogue"][0]["code"] = "meal delivery".into()), ".code"),
        ("an empty name", with(&|v| v["shop_items"][0]["name_zh"] = " ".into()), "name_zh"),
        ("an unknown zone", with(&|v| v["timezone"] = "Mars/Base".into()), "timezone"),
        ("no due days", with(&|v| v["order_due_days"] = 0.into()), "order_due_days"),
        ("a zero deadline", with(&|v| v["deadlines"]["resolve_minutes"] = 0.into()), "deadlines.resolve_minutes"),
        ("a zero period", with(&|v| v["categories"][0]["plan"][0]["period_days"] = 0.into()), "period_days"),
        ("a typo", with(&|v| v["service_catalogue"][0]["pionts"] = 3.into()), "pionts"),
        ("no revision", with(&|v| drop(v.as_object_mut().map(|o| o.remove("revision")))), "revision"),
        (
            "another community",
            with(&|v| v["community_id"] = "0190f6a4-0000-7000-8000-00000000dead".into()),
            "community_id",
        ),
        ("too big", vec![b' '; 300 * 1024], "larger than"),
    ];
    for (what, bytes, names) in cases {
        let file = write_file(&server, "bad.json", &bytes);
        let (ok, out) = set(&server, &community, &file);
        assert!(!ok, "{what}: {out}");
        assert_eq!(out["error"]["code"], "invalid_input", "{what}: {out}");
        let message = out["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(names), "{what}: {message}");
    }
    let missing = server.data.join("no-such-file.json");
    assert_eq!(set(&server, &community, &missing).1["error"]["code"], "io_error");
    let (ok, out) = server.admin(&["config", "show", "--community", "no-such-community"]);
    assert!(!ok);
    assert_eq!(out["error"]["code"], "not_found");
    assert_eq!(server.admin_ok(&["config", "show", "--community", &community]), again, "nothing was written");

    // Without --json: the configuration for a person to read and edit, and errors on standard error.
    let out = server.admin_command().args(["config", "show", "--community", &community]).output().expect("run");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("\n  \"revision\": 1"), "pretty JSON: {text}");
    assert_eq!(serde_json::from_str::<Value>(&text).expect("the file set takes"), again);
    let bad = write_file(&server, "bad.json", b"{");
    let out =
        server.admin_command().args(["config", "set", "--community", &community]).arg(&bad).output().expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("invalid_input: "), "{:?}", out.stderr);
}
