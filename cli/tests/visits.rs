//! A social worker's month through the `gridline` binary: visits due, recording visits (and the errors a
//! bad visit gets), how the due list changes, the worker's assessment, and the ledger as JSON, CSV (with BOM)
//! and XLSX (read back with calamine: sheet names, headers, a few cells).

use std::path::Path;
use std::process::Command;

use calamine::{open_workbook, Data, Reader, Xlsx};
use serde_json::Value;

const ROSTER: &[&str] = &[
    "G01,1,1,3,301,H001,王秀英,F,1942,13800000000,,elderly_alone,",
    "G01,1,1,2,201,H002,李建国,M,1950,,,disabled,needs ramp",
    "G01,1,1,2,201,H002,李梅,F,1953,,,,",
    "G01,10,2,1,101,H003,张三,M,1980,,,,",
    "G02,2,1,1,101,H004,赵四,M,1940,,,low_income,",
];

fn gridline(store: &Path, now: &str, args: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_gridline"))
        .arg("--store")
        .arg(store)
        .arg("--json")
        .env("GRIDLINE_NOW", now)
        .args(args)
        .output()
        .expect("run gridline");
    let json = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json)
}

const NOV_24: &str = "2026-11-24T18:00:00+08:00";

fn ok(store: &Path, args: &[&str]) -> Value {
    let (code, json) = gridline(store, NOV_24, args);
    assert_eq!(code, 0, "{args:?} failed: {json}");
    json
}

fn err_code(store: &Path, args: &[&str]) -> String {
    let (code, json) = gridline(store, NOV_24, args);
    assert_ne!(code, 0, "{args:?} should fail");
    json["error"]["code"].as_str().unwrap_or_default().to_string()
}

/// (household, resident, contact, overdue_days, follow_up) of each due item.
fn due(v: &Value) -> Vec<(String, String, String, u64, bool)> {
    v["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| {
                    (
                        i["household_code"].as_str().unwrap_or_default().to_string(),
                        i["resident"].as_str().unwrap_or("-").to_string(),
                        i["contact"].as_str().unwrap_or_default().to_string(),
                        i["overdue_days"].as_u64().unwrap_or(99),
                        i["follow_up"].as_bool().unwrap_or(false),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn item(h: &str, r: &str, c: &str, overdue: u64, follow_up: bool) -> (String, String, String, u64, bool) {
    (h.into(), r.into(), c.into(), overdue, follow_up)
}

fn cell(range: &calamine::Range<Data>, row: u32, col: u32) -> String {
    match range.get_value((row, col)) {
        Some(Data::String(s)) => s.clone(),
        Some(Data::Float(f)) => f.to_string(),
        Some(Data::Int(i)) => i.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

#[test]
fn social_worker_month_and_ledger() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("store");
    ok(&store, &["init", "--user", "李社工", "--role", "social_worker"]);
    let roster = dir.path().join("roster.csv");
    std::fs::write(&roster, gridline_testkit::roster::csv_with_bom(ROSTER)).expect("roster");
    ok(&store, &["roster", "import", roster.to_str().unwrap_or_default()]);

    // Nobody contacted yet: every care-plan contact is due today, only residents with tags, walking order.
    let before = ok(&store, &["visits", "due"]);
    assert_eq!(before["date"], "2026-11-24");
    assert_eq!(
        due(&before),
        vec![
            item("H002", "李建国", "door", 0, false),
            item("H002", "李建国", "home", 0, false),
            item("H001", "王秀英", "phone", 0, false),
            item("H001", "王秀英", "door", 0, false),
            item("H001", "王秀英", "home", 0, false),
            item("H004", "赵四", "home", 0, false),
        ]
    );

    // A home visit to 王秀英 on the 20th with a follow-up on the 28th; a door check-in at H002 today.
    let v = ok(
        &store,
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
            "--needs",
            "膝盖疼，需要康复",
            "--need-tags",
            "rehabilitation",
            "--satisfaction",
            "4",
            "--follow-up",
            "2026-11-28",
            "--duration-min",
            "45",
            "--at",
            "2026-11-20T10:00:00+08:00",
        ],
    );
    assert_eq!(v["visit_id"].as_str().map(str::len), Some(36));
    ok(&store, &["checkin", "H002", "--kind", "door", "--outcome", "well"]);
    // Accompanying 赵四 counts as his monthly home visit.
    ok(&store, &["visit", "record", "--household", "H004", "--kind", "accompany", "--satisfaction", "5"]);

    // Bad visits are refused with stable codes and store nothing.
    assert_eq!(
        err_code(&store, &["visit", "record", "--household", "H001", "--kind", "home", "--services", "massage"]),
        "unknown_code"
    );
    assert_eq!(
        err_code(&store, &["visit", "record", "--household", "H001", "--resident", "张三", "--kind", "home"]),
        "resident_not_found"
    );
    assert_eq!(
        err_code(&store, &["visit", "record", "--household", "H001", "--kind", "home", "--satisfaction", "6"]),
        "invalid_input"
    );
    assert_eq!(err_code(&store, &["visit", "record", "--household", "H001", "--kind", "chat"]), "invalid_input");
    assert_eq!(err_code(&store, &["visit", "record", "--household", "H999", "--kind", "home"]), "household_not_found");

    // Today: 王秀英's home and door contacts are satisfied (door until the 27th), her phone call is 3 days
    // overdue; 李建国's door visit is done by the check-in, his home visit is still due; 赵四 is done.
    let after = ok(&store, &["visits", "due"]);
    assert_eq!(due(&after), vec![item("H001", "王秀英", "phone", 3, false), item("H002", "李建国", "home", 0, false)]);
    // On the 29th the follow-up (a home contact asked for the 28th) is overdue too.
    let later = ok(&store, &["visits", "due", "--date", "2026-11-29"]);
    assert!(due(&later).contains(&item("H001", "王秀英", "home", 1, true)), "{later}");
    assert!(due(&later).contains(&item("H001", "王秀英", "door", 2, false)), "{later}");

    // The worker's assessment: 3 visits' worth of figures.
    let report = ok(&store, &["report", "worker", "--month", "2026-11"]);
    assert_eq!(report["user"], "李社工");
    assert_eq!(report["visits"], 2);
    assert_eq!(report["visits_by_kind"]["home"], 1);
    assert_eq!(report["visits_by_kind"]["accompany"], 1);
    assert_eq!(report["average_satisfaction"], 4.5);
    assert_eq!(report["special_care_residents"], 3);
    // Up to the 24th: 王秀英 phone 24 days (done: 20th) + door 4 weeks (done: week 3) + home 1 (done);
    // 李建国 door 4 (done: week 4, the check-in is the worker's own) + home 1; 赵四 home 1 (done).
    assert_eq!(report["special_care"]["required"], 24 + 4 + 1 + 4 + 1 + 1);
    assert_eq!(report["special_care"]["done"], 1 + 1 + 1 + 1 + 1);
    assert_eq!(report["residents_overdue"], 2, "王秀英 (phone) and 李建国 (never a home visit)");

    // An incident the social worker reports on the spot shows in the ledger (materialised by the incident
    // store, read back by the ledger).
    let reported = ok(
        &store,
        &["incident", "report", "--household", "H002", "--category", "facility_repair", "--title", "坡道损坏"],
    );
    assert!(reported["incident_id"].is_string(), "{reported}");

    // Ledger summary (PRODUCT.md §9 shape).
    let summary = ok(&store, &["ledger", "--month", "2026-11", "--format", "json"]);
    assert_eq!(summary["month"], "2026-11");
    assert_eq!(summary["grid"], Value::Null);
    assert_eq!(summary["households"], 4);
    assert_eq!(summary["households_contacted"], 3);
    assert_eq!(summary["checkin_rate"], 0.75);
    assert_eq!(summary["visits"], 2);
    assert_eq!(summary["incidents"]["reported"], 1);
    assert_eq!(summary["incidents"]["by_stage"]["reported"], 1, "{summary}");
    assert_eq!(summary["incidents"]["by_category"]["facility_repair"], 1);
    assert_eq!(summary["satisfaction_rate"], Value::Null);
    let g02 = ok(&store, &["ledger", "--month", "2026-11", "--grid", "G02", "--format", "json"]);
    assert_eq!((g02["households"].as_u64(), g02["checkin_rate"].as_f64()), (Some(1), Some(1.0)));
    assert_eq!(g02["incidents"]["reported"], 0);
    assert_eq!(err_code(&store, &["ledger", "--month", "2026-13", "--format", "json"]), "invalid_input");
    assert_eq!(err_code(&store, &["ledger", "--month", "2026-11", "--format", "pdf"]), "invalid_input");

    // CSV: one file, UTF-8 with BOM, every section.
    let csv_path = dir.path().join("ledger.csv");
    let out = ok(
        &store,
        &["ledger", "--month", "2026-11", "--format", "csv", "--out", csv_path.to_str().unwrap_or_default()],
    );
    assert_eq!(out["format"], "csv");
    let bytes = std::fs::read(&csv_path).expect("csv written");
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "BOM first");
    let text = String::from_utf8(bytes[3..].to_vec()).expect("utf-8");
    assert!(text.starts_with("概况\n项目,数值\n月份,2026-11\n"), "{text}");
    assert!(text.contains("入户率,0.75\n"));
    assert!(text.contains("\n入户记录\n日期,时间,网格,户号,"));
    assert!(text.contains("膝盖疼，需要康复"));

    // XLSX, Chinese headers by default and English with --lang en.
    let xlsx = dir.path().join("ledger.xlsx");
    ok(&store, &["ledger", "--month", "2026-11", "--format", "xlsx", "--out", xlsx.to_str().unwrap_or_default()]);
    let mut book: Xlsx<_> = open_workbook(&xlsx).expect("open xlsx");
    assert_eq!(
        book.sheet_names(),
        vec![
            "概况",
            "特殊人群联系",
            "服务项目",
            "事件统计",
            "办理时长",
            "入户记录",
            "访视记录",
            "事件流转",
            "服务订单",
            "志愿者积分",
            "荣誉墙",
            "问题清单",
            "项目化服务",
            "项目评价",
            "居民满意度测评",
            "部门评议"
        ]
    );
    let summary_sheet = book.worksheet_range("概况").expect("summary sheet");
    assert_eq!((cell(&summary_sheet, 0, 0), cell(&summary_sheet, 0, 1)), ("项目".into(), "数值".into()));
    assert_eq!((cell(&summary_sheet, 4, 0), cell(&summary_sheet, 4, 1)), ("户数".into(), "4".into()));
    assert_eq!((cell(&summary_sheet, 6, 0), cell(&summary_sheet, 6, 1)), ("入户率".into(), "0.75".into()));
    let visits = book.worksheet_range("访视记录").expect("visits sheet");
    assert_eq!(visits.height(), 3, "header + 2 visits");
    assert_eq!(cell(&visits, 1, 3), "H001");
    assert_eq!(cell(&visits, 1, 7), "life_care;companionship");
    let care = book.worksheet_range("特殊人群联系").expect("care sheet");
    let events = book.worksheet_range("事件流转").expect("incident events sheet");
    assert_eq!((cell(&events, 1, 4), cell(&events, 1, 6)), ("坡道损坏".into(), "report".into()));
    assert_eq!((cell(&care, 1, 0), cell(&care, 1, 1)), ("elderly_alone".into(), "孤寡/独居老人".into()));

    let xlsx_en = dir.path().join("ledger-en.xlsx");
    ok(
        &store,
        &[
            "ledger",
            "--month",
            "2026-11",
            "--format",
            "xlsx",
            "--lang",
            "en",
            "--out",
            xlsx_en.to_str().unwrap_or_default(),
        ],
    );
    let mut book: Xlsx<_> = open_workbook(&xlsx_en).expect("open xlsx");
    assert_eq!(book.sheet_names()[0], "Summary");
    let checkins = book.worksheet_range("Check-ins").expect("check-ins sheet");
    assert_eq!(cell(&checkins, 0, 0), "Day");
    assert_eq!((cell(&checkins, 1, 3), cell(&checkins, 1, 5)), ("H002".into(), "door".into()));
}
