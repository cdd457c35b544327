//! The console's coverage dashboard, roster, phones and ledger pages, through a real server over loopback: a
//! staff member signs in with a cookie jar and uses the pages as a browser would; phones are the test kit's
//! protocol devices.

use std::io::Read;
use std::time::{Duration, Instant};

use gridline_core::docs::{incident, DocId};
use gridline_core::model::{IncidentEvent, IncidentFields, Severity};
use gridline_testkit::{log_id, roster, Device, Server};
use reqwest::blocking::{multipart, Client};

const PASSWORD: &str = "correct horse battery";
/// How long the replica may take to show what a phone synced.
const FEED_WITHIN: Duration = Duration::from_secs(20);

/// A signed-in browser: its cookie jar holds the session.
struct Browser<'a> {
    server: &'a Server,
    http: Client,
}

impl Browser<'_> {
    fn sign_in<'a>(server: &'a Server, user: &str) -> Browser<'a> {
        let http = Client::builder().cookie_store(true).timeout(Duration::from_secs(60)).build().expect("client");
        let res = http
            .post(server.url("/console/login"))
            .form(&[("user", user), ("password", PASSWORD)])
            .send()
            .expect("sign in");
        assert!(res.status().is_success(), "sign-in answered {}", res.status());
        assert!(res.url().path().starts_with("/console/queue"), "signed in lands on the queue: {}", res.url());
        Browser { server, http }
    }

    fn get(&self, path: &str) -> (u16, String) {
        let res = self.http.get(self.server.url(path)).send().expect("get");
        (res.status().as_u16(), res.text().expect("body"))
    }

    fn page(&self, path: &str) -> String {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    fn csrf(&self) -> String {
        attr(&self.page("/console/roster"), "data-csrf=\"").expect("csrf token in the page")
    }

    fn post_form(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let res = self.http.post(self.server.url(path)).form(form).send().expect("post");
        (res.status().as_u16(), res.text().expect("body"))
    }

    fn upload(&self, csv: &str) -> (u16, String) {
        let form = multipart::Form::new().text("csrf", self.csrf()).part(
            "file",
            multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("roster.csv").mime_str("text/csv").expect("mime"),
        );
        let res = self.http.post(self.server.url("/console/roster/upload")).multipart(form).send().expect("upload");
        (res.status().as_u16(), res.text().expect("body"))
    }
}

/// The value of the first attribute starting with `prefix` (which ends in `="`).
fn attr(html: &str, prefix: &str) -> Option<String> {
    let start = html.find(prefix)? + prefix.len();
    Some(html[start..].split('"').next()?.to_string())
}

/// The `data-rate` of the row `data-grid="grid"`.
fn row_rate(html: &str, grid: &str) -> Option<f64> {
    let row = &html[html.find(&format!("data-grid=\"{grid}\" data-rate=\""))?..];
    attr(row, "data-rate=\"")?.parse().ok()
}

/// The figure of a summary row (`label,value`) of a ledger CSV.
fn csv_value(csv: &str, label: &str) -> Option<String> {
    csv.lines().find_map(|l| l.strip_prefix(&format!("{label},")).map(str::to_string))
}

/// Polls `f` until it answers, for at most [`FEED_WITHIN`].
fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + FEED_WITHIN;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {FEED_WITHIN:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Reports an incident in `grid` as `device` and syncs it.
fn report_incident(device: &mut Device, grid: &str) {
    let incident_id = uuid::Uuid::now_v7().to_string();
    let id = DocId::incident(device.community(), grid, &incident_id);
    let at = "2026-11-24T09:00:00+08:00";
    let fields = IncidentFields {
        incident_id,
        grid: grid.into(),
        category: "facility_repair".into(),
        severity: Severity::Normal,
        title: "楼道灯坏".into(),
        description: "三楼".into(),
        household_code: None,
        location: None,
        photos: vec![],
        check_in_id: None,
        reporter: device.info.user.clone(),
        reporter_device: device.info.device_id.clone(),
        at: chrono::DateTime::parse_from_rfc3339(at).expect("time"),
    };
    let report = IncidentEvent::new("report", &device.info.user, &device.info.device_id, "grid_leader", at);
    let doc = device.doc(&id);
    incident::create(doc, &fields, &report).expect("create");
    doc.commit();
    device.sync().expect("incident synced");
}

/// The dashboard shows, per grid and for the community, the 入户率 the core's ledger computes (the ledger
/// downloaded from the same console for the same month and scope), with charts and their tables, the month's
/// incidents by stage, and the social workers' assessment.
#[test]
fn the_dashboard_shows_the_rate_the_ledger_computes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    server.staff(&community, "站长", "station", PASSWORD);
    let browser = Browser::sign_in(&server, "站长");

    let mut leader = server.enroll(&community, "王网格长", "grid_leader", &["G01"]);
    leader.write(&log_id(&community, "G01"), &format!("checkin/{}", uuid::Uuid::now_v7()), "all well");
    leader.sync().expect("check-in synced");
    report_incident(&mut leader, "G01");
    server.enroll(&community, "李社工", "social_worker", &["G01", "G02"]);

    let page = until("the check-in reaches the dashboard", || {
        let page = browser.page("/console/dashboard?month=2026-11");
        (row_rate(&page, "G01")? > 0.0
            && page.contains("data-stage=\"committee_review\"><th scope=\"row\">")
            && stage_count(&page, "committee_review")? > 0)
            .then_some(page)
    });
    for (grid, scope) in [("G01", "G01"), ("G02", "G02")] {
        let csv = ledger_csv(&browser, &format!("month=2026-11&grid={scope}&format=csv"));
        let ledger: f64 = csv_value(&csv, "入户率").expect("the ledger's rate").parse().expect("a number");
        assert_eq!(row_rate(&page, grid), Some(ledger), "{grid}: the dashboard shows the ledger's rate");
    }
    let g01 = row_rate(&page, "G01").expect("G01");
    assert!(g01 > 0.0 && g01 < 1.0, "one household of five was seen: {g01}");
    let whole = ledger_csv(&browser, "month=2026-11&format=csv");
    let total: f64 = csv_value(&whole, "入户率").expect("community rate").parse().expect("number");
    assert_eq!(attr(&page, "id=\"summary\" data-rate=\"").and_then(|r| r.parse().ok()), Some(total));
    let reported: u32 = csv_value(&whole, "事件上报数").expect("reported").parse().expect("number");
    assert_eq!(stage_count(&page, "committee_review"), Some(reported), "the incident is in committee review");

    // Every chart is an image with a name, beside a table with a caption.
    let charts = page.matches("<svg role=\"img\" aria-label=\"").count();
    assert!(charts >= 5, "{charts} charts");
    assert_eq!(page.matches("<title>").count(), charts + 1, "each chart has a <title> (and so has the page)");
    assert!(page.matches("<caption>").count() >= charts);
    assert!(page.contains("入户率") && page.contains("各网格入户率"));
    // The social worker's assessment: no home visit yet, against the monthly target.
    let worker = &page[page.find("data-worker=\"李社工\"").expect("the social worker's row")..];
    assert!(worker.contains("0 / 30") && worker.contains("G01、G02"), "{}", &worker[..300.min(worker.len())]);

    // A bad month is refused in words; the English page says the same in English.
    let (status, body) = browser.get("/console/dashboard?month=2026-13");
    assert_eq!(status, 400, "{body}");
    browser.get("/console/lang?to=en&back=/console/dashboard");
    let english = browser.page("/console/dashboard?month=2026-11");
    assert!(english.contains("Check-in rate per grid") && english.contains("lang=\"en\""));
}

/// The `data-stage` row's count of the dashboard's stage table.
fn stage_count(html: &str, stage: &str) -> Option<u32> {
    let row = &html[html.find(&format!("data-stage=\"{stage}\">"))?..];
    let cell = row.split("<td>").nth(1)?;
    cell.split('<').next()?.trim().parse().ok()
}

fn ledger_csv(browser: &Browser<'_>, query: &str) -> String {
    let res = browser.http.get(browser.server.url(&format!("/console/ledger/download?{query}"))).send().expect("get");
    assert_eq!(res.status(), 200);
    let text = res.text().expect("csv");
    text.trim_start_matches('\u{feff}').to_string()
}

/// A roster upload adds households (shown with masked phone and ID numbers), and a malformed file reports its
/// line and applies nothing; a committee member sees the roster but may not upload.
#[test]
fn roster_upload_adds_households_and_a_malformed_file_applies_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community("东风社区");
    server.staff(&community, "管理员", "admin", PASSWORD);
    server.staff(&community, "社居委", "committee", PASSWORD);
    let admin = Browser::sign_in(&server, "管理员");

    let good = roster::csv(&[
        "G03,1,1,3,301,G03-H1,王秀英,F,1942,13812345678,11010519491231002X,elderly_alone,",
        "G03,1,1,3,301,G03-H1,张三,M,1940,,,,",
        "G03,1,2,1,101,G03-H2,李四,M,1960,13900001111,,,",
    ]);
    let (status, body) = admin.upload(&good);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("data-kind=\"households\"><th scope=\"row\">户数</th><td>2</td>"), "two households added");
    assert!(body.contains("data-grid=\"G03\""), "the grid is listed at once");

    let grid = admin.page("/console/roster/grids/G03");
    assert!(grid.contains("data-household=\"G03-H1\"") && grid.contains("data-household=\"G03-H2\""));
    let household = admin.page("/console/roster/households/G03-H1");
    let special = admin.page("/console/roster/grids/G03/special-care");
    for page in [&grid, &household, &special, &admin.page("/console/roster")] {
        assert!(!page.contains("13812345678") && !page.contains("13900001111"), "no phone number in full");
        assert!(!page.contains("19491231"), "no ID number's birth date");
    }
    assert!(household.contains("138****5678") && household.contains("1101**********002X"), "{household}");
    assert!(special.contains("王秀英") && special.contains("138****5678") && !special.contains("张三"));

    // Line 3 has a bad gender: the file is refused with its line, and its good first row is not applied.
    let bad = roster::csv(&["G04,1,1,1,101,G04-H1,赵六,F,1950,,,,", "G04,1,1,1,102,G04-H2,钱七,X,1950,,,,"]);
    let (status, body) = admin.upload(&bad);
    assert_eq!(status, 400, "{body}");
    let error = &body[body.find("id=\"roster-error\"").expect("the error")..];
    assert!(error.contains("第 3 行") && error.contains("未导入任何内容"), "{}", &error[..200.min(error.len())]);
    assert!(!admin.page("/console/roster").contains("data-grid=\"G04\""), "nothing from the file applied");
    let (status, _) = admin.get("/console/roster/grids/G04");
    assert_eq!(status, 200);
    assert!(!admin.page("/console/roster/grids/G04").contains("G04-H1"));

    // Without the CSRF token nothing is read; a committee member reads but may not upload.
    let res = admin
        .http
        .post(server.url("/console/roster/upload"))
        .multipart(multipart::Form::new().part("file", multipart::Part::bytes(bad.into_bytes()).file_name("r.csv")))
        .send()
        .expect("post");
    assert_eq!(res.status(), 403);
    let committee = Browser::sign_in(&server, "社居委");
    assert!(committee.page("/console/roster").contains("只有管理员和社区工作站可以导入名册"));
    let (status, _) = committee.upload(&good);
    assert_eq!(status, 403);
}

/// An enrollment code issued in the console (text and QR) redeems with `/v1/enroll`; revoking the phone in the
/// console makes its next sync answer `device_revoked`; a committee member may do neither.
#[test]
fn phones_enroll_with_a_console_code_and_revoked_phones_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    server.staff(&community, "站长", "station", PASSWORD);
    server.staff(&community, "社居委", "committee", PASSWORD);
    let station = Browser::sign_in(&server, "站长");
    let csrf = station.csrf();

    let (status, page) = station.post_form(
        "/console/phones/enroll",
        &[("csrf", &csrf), ("user", "陈网格长"), ("role", "grid_leader"), ("grid", "G01")],
    );
    assert_eq!(status, 200, "{page}");
    let code = attr(&page, "data-code=\"").expect("the code");
    assert!(page.contains(&format!(">{code}<")), "the code as text");
    assert!(page.contains("<svg role=\"img\""), "and as a QR code");
    let mut phone = Device::enroll(&server, &code).expect("the console's code enrolls");
    assert_eq!((phone.info.role.as_str(), phone.info.grids.as_slice()), ("grid_leader", &["G01".to_string()][..]));
    phone.sync().expect("an enrolled phone syncs");
    assert!(Device::enroll(&server, &code).is_err(), "a code works once");

    // A volunteer's code names no grid (a grid ticked by habit is left out): the phone reaches only the
    // service orders dispatched to it, and the page and the list say so.
    let (status, page) = station.post_form(
        "/console/phones/enroll",
        &[("csrf", &csrf), ("user", "刘志愿者"), ("role", "volunteer"), ("grid", "G01")],
    );
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("派给本人的服务单"), "{page}");
    let code = attr(&page, "data-code=\"").expect("the volunteer's code");
    let mut volunteer = Device::enroll(&server, &code).expect("the volunteer enrolls");
    assert_eq!((volunteer.info.role.as_str(), volunteer.info.grids.len()), ("volunteer", 0));
    volunteer.sync().expect("a volunteer syncs");
    assert_eq!(
        volunteer.ids(),
        [format!("community:{community}"), format!("points:{community}")].into_iter().collect(),
        "a volunteer holds no grid's documents"
    );
    let list = station.page("/console/phones");
    assert!(list.contains("刘志愿者") && list.contains("派给本人的服务单"), "{list}");

    // A grid role without a grid is refused in words; so is a forged token.
    let (status, page) =
        station.post_form("/console/phones/enroll", &[("csrf", &csrf), ("user", "X"), ("role", "grid_worker")]);
    assert_eq!(status, 400);
    assert!(page.contains("至少一个网格"), "{page}");
    let (status, _) = station.post_form(
        "/console/phones/enroll",
        &[("csrf", "forged"), ("user", "X"), ("role", "grid_worker"), ("grid", "G01")],
    );
    assert_eq!(status, 403);

    let list = station.page("/console/phones");
    assert!(list.contains(&format!("data-device=\"{}\" data-revoked=\"false\"", phone.info.device_id)));
    assert!(list.contains("陈网格长"));

    let committee = Browser::sign_in(&server, "社居委");
    let revoke = format!("/console/phones/{}/revoke", phone.info.device_id);
    let committee_csrf = committee.csrf();
    let (status, _) = committee.post_form(&revoke, &[("csrf", &committee_csrf)]);
    assert_eq!(status, 403, "a committee member may not revoke");
    phone.sync().expect("still enrolled");

    let (status, page) = station.post_form(&revoke, &[("csrf", &csrf)]);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&format!("data-device=\"{}\" data-revoked=\"true\"", phone.info.device_id)));
    let (status, err) = phone.sync().expect_err("a revoked phone is refused");
    assert_eq!(err.code, "device_revoked", "{status}: {}", err.message);
}

/// The ledger downloads as CSV and as XLSX, with zh-Hans headers, a file name and the right content type.
#[test]
fn the_ledger_downloads_as_csv_and_xlsx_with_chinese_headers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    server.staff(&community, "站长", "station", PASSWORD);
    let browser = Browser::sign_in(&server, "站长");
    until("the roster reaches the replica", || {
        browser.page("/console/ledger").contains("<option value=\"G01\">G01</option>").then_some(())
    });

    let res =
        browser.http.get(server.url("/console/ledger/download?month=2026-11&grid=G01&format=csv")).send().expect("csv");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(res.headers()["content-disposition"], "attachment; filename=\"ledger-2026-11-G01.csv\"");
    let bytes = res.bytes().expect("body");
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a BOM for Excel");
    let csv = String::from_utf8(bytes[3..].to_vec()).expect("utf-8");
    assert!(csv.starts_with("概况\n项目,数值\n月份,2026-11\n网格,G01\n"), "{}", &csv[..120.min(csv.len())]);
    assert!(csv.contains("入户记录\n日期,时间,网格,户号"));

    let res = browser.http.get(server.url("/console/ledger/download?month=2026-11&format=xlsx")).send().expect("xlsx");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    assert_eq!(res.headers()["content-disposition"], "attachment; filename=\"ledger-2026-11-community.xlsx\"");
    let mut book = zip::ZipArchive::new(std::io::Cursor::new(res.bytes().expect("body").to_vec())).expect("a zip");
    let mut workbook = String::new();
    book.by_name("xl/workbook.xml").expect("workbook").read_to_string(&mut workbook).expect("xml");
    assert!(workbook.contains("name=\"概况\"") && workbook.contains("name=\"入户记录\""), "{workbook}");
    let mut first = String::new();
    book.by_name("xl/worksheets/sheet1.xml").expect("sheet").read_to_string(&mut first).expect("xml");
    assert!(first.contains("项目") && first.contains("入户率"), "zh-Hans headers and rows");

    // In English the headers are English; a bad format or month is refused.
    browser.get("/console/lang?to=en&back=/console/ledger");
    let res = browser.http.get(server.url("/console/ledger/download?month=2026-11&format=csv")).send().expect("csv");
    let csv = res.text().expect("text");
    assert!(csv.trim_start_matches('\u{feff}').starts_with("Summary\nItem,Value\n"));
    assert_eq!(browser.get("/console/ledger/download?month=2026-11&format=pdf").0, 400);
    assert_eq!(browser.get("/console/ledger/download?month=11-2026").0, 400);
}
