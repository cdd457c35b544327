//! The CLI's JSON contract (PRODUCT.md §9), pinned byte for byte: a scripted field day over two devices of
//! one community — a grid leader and the work station handing documents over by bundle — runs every
//! command group, and each JSON document (successes and error documents alike) must equal the one
//! recorded in `tests/golden/field_day.jsonl`. Random ids, hashes and device keys are replaced by
//! numbered placeholders in order of first appearance (and a bundle's byte size, which depends on how
//! its random ids compress, by `<bytes>`), so the comparison is exact everywhere else.
//!
//! After a deliberate change to the contract, re-record with `GRIDLINE_BLESS=1 cargo test -p gridline
//! --test golden` and review the diff like code.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use gridline_testkit::roster;
use serde_json::Value;

/// The grid leader's roster (written with a byte order mark, as spreadsheets save it).
const ROSTER: &[&str] = &[
    "G01,1,1,3,301,H001,王秀英,F,1942,13800000000,,elderly_alone,",
    "G01,1,1,2,201,H002,李建国,M,1950,,,disabled,needs ramp",
    "G01,1,1,2,201,H002,李梅,女,1953,,,,",
    "G01,10,2,1,101,H003,张三,M,1980,,,,",
    "G01,2,1,-1,B01,H004,赵四,男,1970,,,low_income,",
];

const OUTSIDE_ROSTER: &[&str] = &["G02,5,1,1,101,H101,钱七,F,1939,,,elderly_alone,"];

const BAD_ROSTER: &[&str] =
    &["G01,1,1,3,301,H001,王秀英,F,1942,13800000000,,elderly_alone,", "G01,1,1,3,302,,无名,F,1942,,,,"];

/// Replaces what differs between runs (uuid v7 ids, SHA-256 hashes, base64 keys) by numbered placeholders.
struct Normaliser {
    /// The temporary directory the day runs in, shown as `<root>`.
    root: String,
    seen: HashMap<String, String>,
}

impl Normaliser {
    fn token(&mut self, kind: &str, text: &str) -> String {
        let next = self.seen.len() + 1;
        self.seen.entry(text.to_string()).or_insert_with(|| format!("<{kind}{next}>")).clone()
    }

    fn value(&mut self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|i| self.value(i)).collect()),
            // A bundle's size depends on how well its random ids compress.
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), if k == "bytes" { Value::from("<bytes>") } else { self.value(v) }))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Rewrites every uuid and 64-hex run inside a string (ids also appear inside document ids and messages).
    fn text(&mut self, s: &str) -> String {
        let s = &s.replace(&self.root, "<root>");
        let bytes = s.as_bytes();
        let mut out = String::new();
        let mut i = 0;
        while i < s.len() {
            if let Some(len) = uuid_at(bytes, i) {
                out.push_str(&self.token("id", &s[i..i + len]));
                i += len;
            } else if let Some(len) = hex_run_at(bytes, i, 64) {
                out.push_str(&self.token("hash", &s[i..i + len]));
                i += len;
            } else {
                let ch = s[i..].chars().next().expect("a char at a char boundary");
                out.push(ch);
                i += ch.len_utf8();
            }
        }
        out
    }
}

fn uuid_at(b: &[u8], i: usize) -> Option<usize> {
    let groups = [8, 4, 4, 4, 12];
    let mut at = i;
    for (n, len) in groups.iter().enumerate() {
        hex_run_at(b, at, *len)?;
        at += len;
        if n < 4 {
            (b.get(at) == Some(&b'-')).then_some(())?;
            at += 1;
        }
    }
    (i == 0 || !b[i - 1].is_ascii_hexdigit()).then_some(at - i)
}

fn hex_run_at(b: &[u8], i: usize, len: usize) -> Option<usize> {
    let run = b.get(i..i + len)?;
    let boundary = b.get(i + len).is_none_or(|c| !c.is_ascii_hexdigit());
    (run.iter().all(u8::is_ascii_hexdigit) && boundary && (i == 0 || !b[i - 1].is_ascii_hexdigit())).then_some(len)
}

struct Day {
    root: PathBuf,
    norm: Normaliser,
    lines: Vec<String>,
}

impl Day {
    /// Runs one command on one device at `now` and records `{device, args, exit, json}`.
    fn run(&mut self, device: &str, now: &str, args: &[&str]) -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_gridline"))
            .arg("--store")
            .arg(self.root.join(device))
            .arg("--json")
            .args(args)
            .env("GRIDLINE_NOW", now)
            .current_dir(&self.root)
            .output()
            .expect("run gridline");
        let json: Value = serde_json::from_slice(&out.stdout).expect("one JSON document on stdout");
        let shown: Vec<Value> = args.iter().map(|a| Value::String(self.norm.text(a))).collect();
        let record = serde_json::json!({
            "device": device,
            "args": shown,
            "exit": out.status.code(),
            "json": self.norm.value(&json),
        });
        self.lines.push(serde_json::to_string(&record).expect("serialise"));
        json
    }

    fn path(&self, name: &str) -> String {
        self.root.join(name).to_str().expect("utf-8 path").to_string()
    }
}

fn id(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or_else(|| panic!("{field} in {v}")).to_string()
}

#[test]
fn cli_json_of_a_field_day_is_unchanged() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("roster.csv"), roster::csv_with_bom(ROSTER)).expect("roster");
    std::fs::write(dir.path().join("bad.csv"), roster::csv(BAD_ROSTER)).expect("bad roster");
    std::fs::write(dir.path().join("outside.csv"), roster::csv(OUTSIDE_ROSTER)).expect("roster of another grid");
    std::fs::write(dir.path().join("door.jpg"), [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4]).expect("photo");
    let mut day = Day {
        root: dir.path().to_path_buf(),
        norm: Normaliser { root: dir.path().display().to_string(), seen: HashMap::new() },
        lines: vec![],
    };
    let morning = "2026-11-24T09:00:00+08:00";
    let noon = "2026-11-24T12:00:00+08:00";
    let later = "2026-11-26T15:00:00+08:00";

    // The grid leader's device: roster, rounds, check-ins, a household, an incident from a check-in.
    let leader = day.run("leader", morning, &["init", "--user", "王网格长", "--role", "grid_leader", "--grid", "G01"]);
    let community = id(&leader, "community_id");
    let (roster, bad) = (day.path("roster.csv"), day.path("bad.csv"));
    day.run("leader", morning, &["roster", "import", &roster]);
    day.run("leader", morning, &["roster", "import", &bad]);
    let outside = day.path("outside.csv");
    day.run("leader", morning, &["roster", "import", &outside]);
    day.run("leader", morning, &["rounds"]);
    day.run("leader", morning, &["checkin", "H001", "--kind", "door", "--outcome", "well", "--note", "精神不错"]);
    let problem = day.run(
        "leader",
        morning,
        &["checkin", "H002", "--kind", "door", "--outcome", "problem", "--photo", "door.jpg"],
    );
    day.run("leader", morning, &["checkin", "H003", "--kind", "absent", "--outcome", "well"]);
    day.run("leader", morning, &["checkin", "H999", "--kind", "door", "--outcome", "well"]);
    day.run("leader", morning, &["rounds"]);
    day.run("leader", morning, &["rounds", "--date", "2026-11-30"]);
    day.run("leader", morning, &["household", "show", "H002"]);
    let checkin = id(&problem, "check_in_id");
    let incident = day.run(
        "leader",
        noon,
        &[
            "incident",
            "report",
            "--from-checkin",
            &checkin,
            "--category",
            "facility_repair",
            "--severity",
            "urgent",
            "--title",
            "楼道灯不亮",
            "--description",
            "二楼楼道灯坏了",
        ],
    );
    let incident_id = id(&incident, "incident_id");
    day.run("leader", noon, &["incident", "list"]);
    day.run("leader", noon, &["incident", "list", "--waiting-for-me"]);
    day.run("leader", noon, &["incident", "show", &incident_id]);
    day.run("leader", noon, &["incident", "act", &incident_id, "verify"]);
    day.run("leader", noon, &["incident", "act", &incident_id, "comment", "--note", "居民很着急"]);

    // The work station's device in the same community, handed the leader's documents by bundle.
    let join = ["--community-id", community.as_str()];
    let mut init = vec!["init", "--user", "赵站长", "--role", "station"];
    init.extend_from_slice(&join);
    day.run("station", noon, &init);
    let to_station = day.path("to-station.bundle");
    day.run("leader", noon, &["bundle", "export", "--out", &to_station]);
    day.run("station", noon, &["bundle", "import", &to_station]);
    day.run("station", noon, &["incident", "list", "--waiting-for-me"]);
    day.run("station", noon, &["incident", "act", &incident_id, "dispatch", "--note", "转工作站"]);
    day.run("station", noon, &["incident", "act", &incident_id, "verify", "--assignee", "钱师傅"]);
    day.run("station", later, &["incident", "list", "--overdue"]);
    day.run("station", later, &["incident", "act", &incident_id, "resolve", "--note", "已更换灯泡"]);
    let to_leader = day.path("to-leader.bundle");
    day.run("station", later, &["bundle", "export", "--out", &to_leader, "--grid", "G01"]);
    day.run("leader", later, &["bundle", "import", &to_leader]);
    day.run("leader", later, &["incident", "act", &incident_id, "evaluate", "--satisfied", "yes"]);
    day.run("leader", later, &["incident", "list", "--stage", "closed"]);

    // Visits and the month's reports, on the leader's device.
    day.run(
        "leader",
        later,
        &[
            "visit",
            "record",
            "--household",
            "H001",
            "--resident",
            "王秀英",
            "--kind",
            "home",
            "--services",
            "life_care,companionship",
            "--need-tags",
            "rehabilitation",
            "--satisfaction",
            "4",
            "--follow-up",
            "2026-11-28",
            "--duration-min",
            "45",
        ],
    );
    day.run("leader", later, &["visit", "record", "--household", "H001", "--kind", "home", "--satisfaction", "6"]);
    day.run("leader", later, &["visits", "due"]);
    day.run("leader", later, &["visits", "due", "--date", "2026-11-29"]);
    day.run("leader", later, &["report", "worker", "--month", "2026-11"]);
    day.run("leader", later, &["ledger", "--month", "2026-11", "--format", "json"]);
    day.run("station", later, &["ledger", "--month", "2026-11", "--format", "json", "--grid", "G01"]);
    day.run("leader", later, &["ledger", "--month", "2026-13", "--format", "json"]);
    day.run("leader", later, &["sync"]);

    // A service order for H001, dispatched by the station to a volunteer; points and the honour roll.
    let order = day.run(
        "leader",
        later,
        &["service", "request", "--household", "H001", "--service", "meal_delivery", "--note", "午餐送到家"],
    );
    let order_id = id(&order, "order_id");
    day.run("leader", later, &["service", "request", "--household", "H001", "--service", "skydiving"]);
    day.run("leader", later, &["service", "list"]);
    day.run("leader", later, &["service", "show", &order_id]);
    let orders_to_station = day.path("orders-to-station.bundle");
    day.run("leader", later, &["bundle", "export", "--out", &orders_to_station]);
    day.run("station", later, &["bundle", "import", &orders_to_station]);
    day.run("station", later, &["service", "dispatch", &order_id, "--volunteer", "陈志愿", "--due", "2026-11-27"]);
    day.run("station", later, &["service", "accept", &order_id]);
    day.run("station", later, &["service", "list", "--stage", "dispatched"]);
    day.run("station", later, &["points", "balance", "--volunteer", "陈志愿"]);
    day.run("station", later, &["points", "redeem", "--volunteer", "陈志愿", "--item", "towel"]);
    day.run("station", later, &["points", "honour-roll", "--month", "2026-11"]);
    day.run("station", later, &["ledger", "--month", "2026-11", "--format", "json", "--grid", "G01"]);

    let got = day.lines.join("\n") + "\n";
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/field_day.jsonl");
    if std::env::var_os("GRIDLINE_BLESS").is_some() {
        std::fs::write(&golden, &got).expect("write golden file");
        return;
    }
    let want =
        std::fs::read_to_string(&golden).expect("tests/golden/field_day.jsonl (record it with GRIDLINE_BLESS=1)");
    for (n, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "command {} of the field day prints different JSON", n + 1);
    }
    assert_eq!(got.lines().count(), want.lines().count(), "the field day ran a different number of commands");
}
