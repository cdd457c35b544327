//! The grid leader's field day through the `gridline` binary: init, roster import (idempotent, edited,
//! malformed), rounds, check-ins, household detail, and the error contract (`--json` error documents,
//! `code: message` on stderr, non-zero exit).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

struct Run {
    code: i32,
    json: Value,
    stderr: String,
}

fn gridline(store: &Path, args: &[&str], json: bool) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gridline"));
    cmd.arg("--store").arg(store).env("GRIDLINE_NOW", "2026-11-24T09:00:00+08:00");
    if json {
        cmd.arg("--json");
    }
    let out = cmd.args(args).output().expect("run gridline");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = if json { serde_json::from_str(stdout.trim()).unwrap_or(Value::Null) } else { Value::Null };
    Run { code: out.status.code().unwrap_or(-1), json, stderr: String::from_utf8_lossy(&out.stderr).to_string() }
}

fn ok(store: &Path, args: &[&str]) -> Value {
    let r = gridline(store, args, true);
    assert_eq!(r.code, 0, "{args:?} failed: {} {}", r.json, r.stderr);
    r.json
}

fn write(dir: &Path, name: &str, rows: &[&str]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, gridline_testkit::roster::csv_with_bom(rows)).expect("write csv");
    path.display().to_string()
}

const ROWS: &[&str] = &[
    "G01,1,1,3,301,H001,王秀英,F,1942,13800000000,,elderly_alone,",
    "G01,1,1,2,201,H002,李建国,M,1950,,,disabled,needs ramp",
    "G01,1,1,2,201,H002,李梅,女,1953,,,,",
    "G01,10,2,1,101,H003,张三,M,1980,,,,",
    "G01,2,1,-1,B01,H004,赵四,男,1970,,,,",
];

fn counts(v: &Value, what: &str) -> (u64, u64, u64) {
    let c = &v[what];
    (c["added"].as_u64().unwrap_or(99), c["updated"].as_u64().unwrap_or(99), c["moved_out"].as_u64().unwrap_or(99))
}

#[test]
fn grid_leader_field_day() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("store");
    let init = ok(&store, &["init", "--user", "王网格长", "--role", "grid_leader"]);
    assert_eq!(init["role"], "grid_leader");
    assert_eq!(init["user"], "王网格长");
    assert!(init["device_id"].as_str().is_some_and(|s| s.len() == 36));

    // Import, then the same file again: nothing changes.
    let file = write(dir.path(), "roster.csv", ROWS);
    let first = ok(&store, &["roster", "import", &file]);
    assert_eq!(counts(&first, "households"), (4, 0, 0));
    assert_eq!(counts(&first, "residents"), (5, 0, 0));
    let again = ok(&store, &["roster", "import", &file]);
    assert_eq!(counts(&again, "households"), (0, 0, 0));
    assert_eq!(counts(&again, "residents"), (0, 0, 0));

    // Rounds: care-plan households first, then rotation, each in walking order (building 2 before 10).
    let rounds = ok(&store, &["rounds", "--date", "2026-11-24"]);
    assert_eq!(rounds["date"], "2026-11-24");
    let codes: Vec<&str> =
        rounds["items"].as_array().expect("items").iter().filter_map(|i| i["household_code"].as_str()).collect();
    assert_eq!(codes, ["H002", "H001", "H004", "H003"]);
    let h001 = &rounds["items"][1];
    assert_eq!(h001["building"], "1");
    assert_eq!(h001["floor"], 3);
    let contacts: Vec<&str> =
        h001["reasons"].as_array().expect("reasons").iter().filter_map(|r| r["contact"].as_str()).collect();
    assert_eq!(contacts, ["phone", "door", "rotation"]);
    assert_eq!(h001["reasons"][0]["tag"], "elderly_alone");
    assert_eq!(h001["reasons"][0]["due_date"], "2026-11-24");
    assert_eq!(h001["last_contact"], Value::Null);

    // A door visit back-filled for two days ago: phone due yesterday (1 day overdue), door not yet due.
    let c = ok(
        &store,
        &[
            "checkin",
            "H001",
            "--kind",
            "door",
            "--outcome",
            "well",
            "--note",
            "精神很好",
            "--at",
            "2026-11-22T10:00:00+08:00",
        ],
    );
    let id = c["check_in_id"].as_str().expect("id").to_string();
    let rounds = ok(&store, &["rounds", "--date", "2026-11-24"]);
    let h001 = rounds["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["household_code"] == "H001")
        .expect("H001 still due")
        .clone();
    assert_eq!(h001["reasons"].as_array().map(Vec::len), Some(1));
    assert_eq!(h001["reasons"][0]["contact"], "phone");
    assert_eq!(h001["reasons"][0]["due_date"], "2026-11-23");
    assert_eq!(h001["overdue_days"], 1);
    assert_eq!(h001["last_contact"], "2026-11-22");

    // Nobody home counts for nothing; observed counts for rotation only.
    ok(&store, &["checkin", "H003", "--kind", "absent", "--outcome", "well"]);
    ok(&store, &["checkin", "H004", "--kind", "observed", "--outcome", "attention"]);
    let rounds = ok(&store, &["rounds", "--date", "2026-11-24"]);
    let codes: Vec<&str> =
        rounds["items"].as_array().expect("items").iter().filter_map(|i| i["household_code"].as_str()).collect();
    assert_eq!(codes, ["H002", "H001", "H003"]);

    let show = ok(&store, &["household", "show", "H001"]);
    assert_eq!(show["household_code"], "H001");
    assert_eq!(show["residents"][0]["name"], "王秀英");
    assert_eq!(show["residents"][0]["tags"][0], "elderly_alone");
    assert_eq!(show["check_ins"][0]["check_in_id"], id.as_str());
    assert_eq!(show["check_ins"][0]["kind"], "door");
    assert_eq!(show["due"][0]["contact"], "phone");

    // An edited ledger: H004 gone, 李梅 gone, H001's resident gains a tag, a new household H005.
    let edited = write(
        dir.path(),
        "edited.csv",
        &[
            "G01,1,1,3,301,H001,王秀英,F,1942,13800000000,,elderly_alone;disabled,",
            "G01,1,1,2,201,H002,李建国,M,1950,,,disabled,needs ramp",
            "G01,10,2,1,101,H003,张三,M,1980,,,,",
            "G01,3,1,5,502,H005,孙七,F,1939,,,empty_nest,",
        ],
    );
    let diff = ok(&store, &["roster", "import", &edited]);
    assert_eq!(counts(&diff, "households"), (1, 0, 1));
    assert_eq!(counts(&diff, "residents"), (1, 1, 2));
    let show = ok(&store, &["household", "show", "H002"]);
    let moved: Vec<(String, bool)> = show["residents"]
        .as_array()
        .expect("residents")
        .iter()
        .map(|r| (r["name"].as_str().unwrap_or_default().to_string(), r["moved_out"].as_bool().unwrap_or(false)))
        .collect();
    assert!(moved.contains(&("李梅".to_string(), true)), "moved-out resident kept and marked: {moved:?}");

    // A malformed file is refused whole, with its line number; nothing from it is applied.
    let bad = write(
        dir.path(),
        "bad.csv",
        &[
            "G01,1,1,3,301,H001,王秀英,F,1942,,,elderly_alone,",
            "G01,9,9,9,909,H009,新人,F,1950,,,,",
            "G01,1,1,2,201,H002,李建国,M,1950,,,eldery_alone,",
        ],
    );
    let r = gridline(&store, &["roster", "import", &bad], true);
    assert_ne!(r.code, 0);
    assert_eq!(r.json["error"]["code"], "roster_invalid");
    assert!(
        r.json["error"]["message"].as_str().is_some_and(|m| m.contains("line 4") && m.contains("eldery_alone")),
        "{}",
        r.json
    );
    let r = gridline(&store, &["household", "show", "H009"], true);
    assert_eq!(r.json["error"]["code"], "household_not_found", "nothing from the bad file applied");
    let r = gridline(&store, &["roster", "import", &bad], false);
    assert!(r.stderr.starts_with("roster_invalid: line 4"), "human error on stderr: {}", r.stderr);
}

#[test]
fn errors_have_stable_codes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("store");
    let r = gridline(&store, &["rounds"], true);
    assert_ne!(r.code, 0);
    assert_eq!(r.json["error"]["code"], "store_not_initialised");
    ok(&store, &["init", "--user", "w", "--role", "grid_leader"]);
    let r = gridline(&store, &["init", "--user", "w", "--role", "grid_leader"], true);
    assert_eq!(r.json["error"]["code"], "store_exists");
    let r = gridline(&store, &["checkin", "H404", "--kind", "door", "--outcome", "well"], true);
    assert_eq!(r.json["error"]["code"], "household_not_found");
    let r = gridline(&store, &["rounds", "--date", "2026-02-30"], true);
    assert_eq!(r.json["error"]["code"], "invalid_input");
    let r = gridline(&store, &["init", "--user", "w", "--role", "mayor"], true);
    assert_eq!(r.json["error"]["code"], "invalid_input");
    // A wrong key file: refused, and the store still opens with the right one.
    let wrong = dir.path().join("wrong.key");
    std::fs::write(&wrong, "11".repeat(32)).expect("write key");
    let r = gridline(&store, &["--key-file", wrong.to_str().expect("utf-8"), "rounds"], true);
    assert_eq!(r.json["error"]["code"], "store_key_invalid");
    let r = gridline(&store, &["--key-file", wrong.to_str().expect("utf-8"), "rounds"], false);
    assert_eq!(r.stderr.lines().collect::<Vec<_>>(), ["store_key_invalid: the store key does not open this store"]);
    ok(&store, &["rounds"]);
    // A photo that is not an image is refused before anything is stored.
    let file = write(dir.path(), "r.csv", &["G01,1,1,1,101,H001,甲,F,1950,,,,"]);
    ok(&store, &["roster", "import", &file]);
    let fake = dir.path().join("photo.jpg");
    std::fs::write(&fake, b"not an image").expect("write");
    let r = gridline(
        &store,
        &["checkin", "H001", "--kind", "door", "--outcome", "well", "--photo", fake.to_str().expect("utf-8")],
        true,
    );
    assert_eq!(r.json["error"]["code"], "photo_invalid");
    let show = ok(&store, &["household", "show", "H001"]);
    assert_eq!(show["check_ins"].as_array().map(Vec::len), Some(0));
    // A real JPEG header is accepted and stored by its SHA-256.
    let jpeg = dir.path().join("door.jpg");
    std::fs::write(&jpeg, [0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 2, 3]).expect("write");
    let c = ok(
        &store,
        &["checkin", "H001", "--kind", "door", "--outcome", "problem", "--photo", jpeg.to_str().expect("utf-8")],
    );
    assert_eq!(c["photos"][0].as_str().map(str::len), Some(64));
    let show = ok(&store, &["household", "show", "H001"]);
    assert_eq!(show["check_ins"][0]["photos"][0], c["photos"][0]);
    // Usage errors with --json still print one JSON error document.
    let r = gridline(&store, &["checkin"], true);
    assert_eq!(r.code, 2);
    assert_eq!(r.json["error"]["code"], "usage");
}
