//! Working the queue in the console, over a real server and a real browser-like client (cookies, forms):
//! bulk actions through the same checks as single ones, saved views shared in the community, response
//! templates offered on the incident page, duplicate suggestions and the links a rejection as duplicate
//! makes, residents' numbers masked until revealed with a reason (audited), the admin pages for admins only,
//! and state-changing requests refused without the session's CSRF token.

use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, Utc};
use gridline_core::docs::{incident, DocId};
use gridline_core::model::{IncidentEvent, IncidentFields, Severity};
use gridline_testkit::roster::csv;
use gridline_testkit::{Device, Server};

const PASSWORD: &str = "correct horse battery";
/// How long a change may take to reach the console's replica.
const FEED_WITHIN: Duration = Duration::from_secs(15);

/// A signed-in browser: a cookie jar, and the session's CSRF token read from the page.
struct Browser {
    http: reqwest::blocking::Client,
    base: String,
    csrf: String,
}

impl Browser {
    fn new(server: &Server) -> Browser {
        let http = reqwest::blocking::Client::builder()
            .cookie_store(true)
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Browser { http, base: server.url(""), csrf: String::new() }
    }

    /// Signs in as `user`; panics unless the queue opens.
    fn sign_in(server: &Server, user: &str) -> Browser {
        let mut b = Browser::new(server);
        let res = b
            .http
            .post(format!("{}/console/login", b.base))
            .form(&[("user", user), ("password", PASSWORD)])
            .send()
            .expect("sign in");
        assert_eq!(res.status(), 200, "{user} signs in");
        assert!(res.url().path().ends_with("/console/queue"), "{user} lands on the queue: {}", res.url());
        let body = res.text().expect("body");
        b.csrf = between(&body, "data-csrf=\"", "\"").expect("csrf token on the page").to_string();
        b
    }

    fn get(&self, path: &str) -> (u16, String) {
        let res = self.http.get(format!("{}{path}", self.base)).send().expect("get");
        (res.status().as_u16(), res.text().expect("body"))
    }

    /// POSTs a form as given (no CSRF token added).
    fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> reqwest::blocking::Response {
        self.http.post(format!("{}{path}", self.base)).form(form).send().expect("post")
    }

    /// POSTs a form with the session's CSRF token.
    fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(form);
        let res = self.post_raw(path, &all);
        (res.status().as_u16(), res.text().expect("body"))
    }

    /// Polls a page until `ready` holds for its body (the replica is fed within [`FEED_WITHIN`]).
    fn wait_for(&self, path: &str, ready: impl Fn(u16, &str) -> bool) -> String {
        let deadline = Instant::now() + FEED_WITHIN;
        loop {
            let (status, body) = self.get(path);
            if ready(status, &body) {
                return body;
            }
            assert!(Instant::now() < deadline, "{path} not ready within {FEED_WITHIN:?}: {status}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The incident page once the replica holds the incident at `stage`.
    fn incident_at(&self, id: &str, stage: &str) -> String {
        let marker = format!("<dd><span class=\"stage stage-{stage}\">");
        self.wait_for(&format!("/console/incidents/{id}"), |s, b| s == 200 && b.contains(&marker))
    }
}

/// The text between `start` and the next `end`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// The stage an incident page shows.
fn stage_of(page: &str) -> &str {
    between(page, "<dd><span class=\"stage stage-", "\"").unwrap_or("")
}

/// Whether an incident page's history holds an applied or superseded event of `action_word`.
fn history_has(page: &str, action_word: &str) -> bool {
    page.split("<ol class=\"history\">").nth(1).is_some_and(|h| h.contains(&format!("<strong>{action_word}</strong>")))
}

fn local_now(minutes_ago: i64) -> DateTime<FixedOffset> {
    let shanghai = FixedOffset::east_opt(8 * 3600).expect("offset");
    (Utc::now() - chrono::Duration::minutes(minutes_ago)).with_timezone(&shanghai)
}

/// What a grid leader reports.
struct Report<'a> {
    household: &'a str,
    category: &'a str,
    severity: Severity,
    title: &'a str,
    minutes_ago: i64,
}

impl Report<'_> {
    fn of<'a>(household: &'a str, title: &'a str) -> Report<'a> {
        Report { household, category: "facility_repair", severity: Severity::Normal, title, minutes_ago: 5 }
    }
}

/// Reports an incident from `leader`'s phone in G01 (synced at once); returns its id.
fn report(leader: &mut Device, r: Report<'_>) -> String {
    let incident_id = uuid::Uuid::now_v7().to_string();
    let id = DocId::incident(leader.community(), "G01", &incident_id);
    let at = local_now(r.minutes_ago);
    let fields = IncidentFields {
        incident_id: incident_id.clone(),
        grid: "G01".into(),
        category: r.category.into(),
        severity: r.severity,
        title: r.title.into(),
        description: format!("{} (reported by the grid leader)", r.title),
        household_code: Some(r.household.into()),
        location: None,
        photos: vec![],
        check_in_id: None,
        reporter: leader.info.user.clone(),
        reporter_device: leader.info.device_id.clone(),
        at,
    };
    let event = IncidentEvent::new("report", &leader.info.user, &leader.info.device_id, "grid_leader", at.to_rfc3339());
    let doc = leader.doc(&id);
    incident::create(doc, &fields, &event).expect("create");
    doc.commit();
    leader.sync().expect("report synced");
    incident_id
}

/// A server with the kit's roster (G01-H0… in G01 and G02), a grid leader's phone in G01, and accounts:
/// 委员李 (committee), 站员赵 (station), 管理员 (admin), 街道王 (street).
fn setup(dir: &std::path::Path) -> (Server, String, Device) {
    let server = Server::start(dir);
    let community = server.community_with_roster();
    for (user, role) in [("委员李", "committee"), ("站员赵", "station"), ("管理员", "admin"), ("街道王", "street")]
    {
        server.staff(&community, user, role, PASSWORD);
    }
    let leader = server.enroll(&community, "王网格长", "grid_leader", &["G01"]);
    (server, community, leader)
}

#[test]
fn bulk_dispatch_moves_every_incident_and_reports_the_one_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _, mut leader) = setup(dir.path());
    let normal: Vec<String> =
        (1..=3).map(|i| report(&mut leader, Report::of(&format!("G01-H{i}"), &format!("楼道灯不亮 {i}")))).collect();
    let urgent = report(&mut leader, Report { severity: Severity::Urgent, ..Report::of("G01-H4", "燃气泄漏") });
    let committee = Browser::sign_in(&server, "委员李");
    for id in &normal {
        committee.incident_at(id, "committee_review");
    }
    committee.incident_at(&urgent, "at_station");

    // Every queue row has its own labelled checkbox, and the bulk bar its action buttons.
    let (_, queue) = committee.get("/console/queue");
    for id in normal.iter().chain([&urgent]) {
        assert!(queue.contains(&format!("id=\"pick-{id}\"")), "a checkbox for {id}");
        assert!(queue.contains(&format!("<label for=\"pick-{id}\"")), "a label for {id}'s checkbox");
    }
    assert!(queue.contains("name=\"act\" value=\"dispatch\">分流</button>"));

    // Dispatch all four: the three in committee review move, the urgent one (already at the station) is
    // refused in words with its code, and the others are not held back by it.
    let mut form = vec![("act", "dispatch"), ("note", "请工作站处理"), ("back", "stage=open")];
    form.extend(normal.iter().chain([&urgent]).map(|id| ("incident", id.as_str())));
    let (status, result) = committee.post("/console/queue/bulk", &form);
    assert_eq!(status, 200, "{result}");
    for id in &normal {
        assert!(result.contains(&format!("<tr data-incident=\"{id}\" class=\"done\">")), "{id} done: {result}");
    }
    let refused = between(&result, &format!("<tr data-incident=\"{urgent}\" class=\"refused\">"), "</tr>")
        .expect("the urgent one is refused");
    assert!(
        refused.contains("action_not_allowed") && refused.contains("您的角色在当前阶段不能执行此操作"),
        "{refused}"
    );
    for id in &normal {
        let page = committee.incident_at(id, "at_station");
        assert!(history_has(&page, "分流"), "{id} was dispatched");
    }
    assert!(
        !history_has(&committee.incident_at(&urgent, "at_station"), "分流"),
        "nothing was written to the refused one"
    );

    // The station verifies two and assigns both to one assignee; without an assignee nothing happens.
    let station = Browser::sign_in(&server, "站员赵");
    let (status, page) =
        station.post("/console/queue/bulk", &[("act", "verify"), ("incident", &normal[2]), ("assignee", " ")]);
    assert_eq!(status, 400);
    assert!(page.contains("核准并指派需要填写承办人"), "{page}");
    assert_eq!(stage_of(&station.incident_at(&normal[2], "at_station")), "at_station");
    let (status, result) = station.post(
        "/console/queue/bulk",
        &[("act", "verify"), ("incident", &normal[0]), ("incident", &normal[1]), ("assignee", "钱师傅")],
    );
    assert_eq!(status, 200, "{result}");
    for id in &normal[..2] {
        let page = station.incident_at(id, "in_progress");
        assert!(page.contains("<dd>钱师傅</dd>"), "{id} is assigned");
    }

    // More than 200 incidents in one request: refused whole, in words.
    let many: Vec<String> = (0..201).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let mut form = vec![("act", "dispatch")];
    form.extend(many.iter().map(|id| ("incident", id.as_str())));
    let (status, page) = committee.post("/console/queue/bulk", &form);
    assert_eq!(status, 400);
    assert!(page.contains("一次最多处理 200 个事件"), "{page}");
}

#[test]
fn saved_views_are_shared_in_the_community_and_deleted_by_their_author() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _, _) = setup(dir.path());
    let committee = Browser::sign_in(&server, "委员李");
    let (_, queue) = committee.get("/console/queue");
    assert!(queue.contains("还没有保存的筛选"));

    // Saved with a page number and a field the queue does not know: only the filters are kept.
    let (status, page) = committee
        .post("/console/views", &[("name", "G01 报修"), ("query", "grid=G01&category=facility_repair&page=3&x=1")]);
    assert_eq!(status, 200, "{page}");
    // Askama writes `&` in an attribute as `&#38;`.
    let link = "<a href=\"/console/queue?grid=G01&#38;category=facility_repair\" class=\"view-link\">G01 报修</a>";
    assert!(page.contains(link), "the view is listed as a link: {page}");
    let view_id = between(&page, "action=\"/console/views/", "/delete\"").expect("a delete form").to_string();

    // Shared: the station sees it too, but may not delete what the committee saved.
    let station = Browser::sign_in(&server, "站员赵");
    assert!(station.get("/console/queue").1.contains(link));
    let (status, _) = station.post(&format!("/console/views/{view_id}/delete"), &[]);
    assert_eq!(status, 403);
    let (status, _) = station.post("/console/views", &[("name", "G01 报修"), ("query", "grid=G02")]);
    assert_eq!(status, 409, "nor overwrite it under the same name");
    assert!(station.get("/console/queue").1.contains(link), "still there, as saved");

    // Its author saves the name again: the filters are replaced, still one view.
    let (status, page) = committee
        .post("/console/views", &[("name", "G01 报修"), ("query", "grid=G01&category=facility_repair&overdue=1")]);
    assert_eq!(status, 200);
    assert_eq!(page.matches("class=\"view-link\"").count(), 1);
    assert!(page.contains("grid=G01&#38;category=facility_repair&#38;overdue=1\" class=\"view-link\">G01 报修</a>"));

    // A name is required.
    let (status, page) = committee.post("/console/views", &[("name", "  "), ("query", "grid=G01")]);
    assert_eq!(status, 400);
    assert!(page.contains("名称需 1 到 60 个字符"));

    let (status, page) = committee.post(&format!("/console/views/{view_id}/delete"), &[]);
    assert_eq!(status, 200);
    assert!(!page.contains(link) && page.contains("还没有保存的筛选"), "deleted");
}

#[test]
fn response_templates_matching_the_category_and_an_allowed_action_are_offered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _, mut leader) = setup(dir.path());
    let id = report(&mut leader, Report::of("G01-H1", "单元门禁坏了"));
    let admin = Browser::sign_in(&server, "管理员");
    let templates = [
        ("facility_repair", "dispatch", "已转社区工作站维修，请耐心等待。"),
        ("", "return", "请补充现场照片。"),
        ("environment", "dispatch", "已通知保洁公司清理。"),
        ("facility_repair", "verify", "已核准，安排师傅上门。"),
    ];
    for (category, action, text) in templates {
        let (status, page) =
            admin.post("/console/responses", &[("category", category), ("action", action), ("text", text)]);
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("常用回复已保存"));
    }
    let (status, page) =
        admin.post("/console/responses", &[("category", "ufo"), ("action", "dispatch"), ("text", "x")]);
    assert_eq!(status, 400);
    assert!(page.contains("该类别不在本社区的类别目录中"));

    // The committee, on a facility repair in review: the repair dispatch and the any-category return, not
    // the environment one nor the verify one (not the committee's action).
    let committee = Browser::sign_in(&server, "委员李");
    let page = committee.incident_at(&id, "committee_review");
    assert!(page.contains("data-text=\"已转社区工作站维修，请耐心等待。\""), "{page}");
    assert!(page.contains("data-text=\"请补充现场照片。\""));
    assert!(!page.contains("已通知保洁公司清理"));
    assert!(!page.contains("已核准，安排师傅上门"));
    assert!(page.contains("<label for=\"response\">"), "the choice is labelled");

    // Choosing one without script: the page comes back with the note filled.
    let template_id = between(&page, "<option value=\"", "\" data-text=\"已转社区工作站维修")
        .and_then(|s| s.rsplit("<option value=\"").next())
        .expect("the template's option")
        .to_string();
    let (status, filled) = committee.get(&format!("/console/incidents/{id}?response={template_id}"));
    assert_eq!(status, 200);
    assert!(filled.contains(">已转社区工作站维修，请耐心等待。</textarea>"), "the note is filled");

    // Only an admin keeps the templates.
    assert_eq!(committee.get("/console/responses").0, 403);
    let (status, _) = committee.post("/console/responses", &[("action", "dispatch"), ("text", "x")]);
    assert_eq!(status, 403);
}

#[test]
fn duplicates_are_suggested_and_a_rejection_as_duplicate_links_both_ways() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _, mut leader) = setup(dir.path());
    let first = report(&mut leader, Report { minutes_ago: 120, ..Report::of("G01-H2", "楼顶漏水") });
    let second = report(&mut leader, Report::of("G01-H2", "楼顶还在漏水"));
    let other_category =
        report(&mut leader, Report { category: "environment", ..Report::of("G01-H2", "楼道堆放杂物") });
    let other_household = report(&mut leader, Report::of("G01-H3", "楼顶漏水"));
    let committee = Browser::sign_in(&server, "委员李");
    for id in [&first, &second, &other_category, &other_household] {
        committee.incident_at(id, "committee_review");
    }

    let page = committee.incident_at(&second, "committee_review");
    let suggested = between(&page, "<ul class=\"candidates\">", "</ul>").expect("suggestions").to_string();
    assert!(suggested.contains(&format!("<li data-incident=\"{first}\">")), "{suggested}");
    assert!(!suggested.contains(&other_category) && !suggested.contains(&other_household));
    assert!(suggested.contains("驳回为重复"), "the committee may reject: one click");

    // The street office sees the suggestion but has no button: it may not reject.
    let street = Browser::sign_in(&server, "街道王");
    let page = street.incident_at(&second, "committee_review");
    assert!(page.contains(&format!("<li data-incident=\"{first}\">")));
    assert!(!page.contains("class=\"reject-duplicate\""));

    // One click: the one-click form posts the incident's own action.
    let (status, page) =
        committee.post(&format!("/console/incidents/{second}/act"), &[("action", "reject"), ("duplicate_of", &first)]);
    assert_eq!(status, 200, "{page}");
    let rejected = committee.incident_at(&second, "rejected");
    let original = between(&rejected, "<dd class=\"duplicate-of\">", "</dd>").expect("a link to the original");
    assert!(original.contains(&format!("href=\"/console/incidents/{first}\"")) && original.contains("楼顶漏水"));
    let page = committee.incident_at(&first, "committee_review");
    let pointing = between(&page, "<ul class=\"pointing\">", "</ul>").expect("the duplicates pointing here");
    assert!(pointing.contains(&format!("href=\"/console/incidents/{second}\"")), "{pointing}");
    assert!(!page.contains("<ul class=\"candidates\">"), "a rejected incident is no longer suggested");
}

#[test]
fn residents_numbers_are_masked_until_revealed_with_a_reason_that_is_audited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community("幸福社区");
    let roster = csv(&[
        "G01,1,1,3,301,H001,王秀英,F,1942,13812345678,340102194201011238,elderly_alone;disabled,糖尿病需定期测血糖",
        "G01,1,1,3,301,H001,李建国,M,1949,13987654321,11010519491231002X,,",
        "G01,1,1,2,201,H002,张三,M,1960,,,,",
    ]);
    server.import_roster(&community, "roster.csv", &roster);
    for (user, role) in [("委员李", "committee"), ("管理员", "admin")] {
        server.staff(&community, user, role, PASSWORD);
    }
    let mut leader = server.enroll(&community, "王网格长", "grid_leader", &["G01"]);
    let id = report(&mut leader, Report::of("H001", "老人家中水管爆裂"));
    let committee = Browser::sign_in(&server, "委员李");
    let page = committee.incident_at(&id, "committee_review");
    assert!(page.contains("href=\"/console/households/H001\""), "the incident links its household");
    let queue = committee.wait_for("/console/queue", |s, b| s == 200 && b.contains(&id));
    assert!(queue.contains("<a href=\"/console/households/H001\">H001</a>"), "the queue row links it too");

    let secrets =
        ["13812345678", "340102194201011238", "13987654321", "11010519491231002X", "糖尿病", "残疾人", "独居老人"];
    let masked = |page: &str| {
        for secret in secrets {
            assert!(!page.contains(secret), "{secret} shows on a masked page");
        }
        for shown in
            ["138****5678", "3401**********1238", "139****4321", "1101**********002X", "已登记 2 项", "已登记 0 项"]
        {
            assert!(page.contains(shown), "{shown} missing: {page}");
        }
    };
    let (status, page) = committee.get("/console/households/H001");
    assert_eq!(status, 200);
    masked(&page);
    assert!(page.contains("王秀英") && page.contains("301"), "names and the address show");

    // Without the CSRF token, or without a reason: refused, masked, and nothing is written to the audit log.
    let res = committee.post_raw("/console/households/H001/reveal", &[("reason", "核实")]);
    assert_eq!(res.status(), 403);
    masked_nothing(&res.text().expect("body"), &secrets);
    let (status, page) = committee.post("/console/households/H001/reveal", &[("reason", "   ")]);
    assert_eq!(status, 400);
    masked(&page);
    assert!(page.contains("请填写查看原因"));
    let too_long = "因".repeat(201);
    assert_eq!(committee.post("/console/households/H001/reveal", &[("reason", &too_long)]).0, 400);
    let admin = Browser::sign_in(&server, "管理员");
    assert_eq!(admin.get("/console/admin/audit").1.matches("class=\"audit-action\">reveal<").count(), 0);

    // With a reason: the full values on this response only, never cached, and the reveal is audited.
    let res = committee.post_raw(
        "/console/households/H001/reveal",
        &[("csrf", committee.csrf.as_str()), ("reason", "核实低保申请材料")],
    );
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let page = res.text().expect("body");
    for secret in secrets {
        assert!(page.contains(secret), "{secret} revealed");
    }
    assert!(page.contains("核实低保申请材料"));
    masked(&committee.get("/console/households/H001").1);

    let audit = admin.get("/console/admin/audit").1;
    assert_eq!(audit.matches("class=\"audit-action\">reveal<").count(), 1, "{audit}");
    let row = between(&audit, "class=\"audit-action\">reveal<", "</tr>").expect("the reveal row");
    assert!(row.contains(">H001<") && row.contains("核实低保申请材料"), "{row}");

    // An unknown household is not found, and a malformed code never reaches the store.
    assert_eq!(committee.get("/console/households/H999").0, 404);
    assert_eq!(committee.get("/console/households/%3Cscript%3E").0, 404);
}

/// A refused page shows none of the secrets.
fn masked_nothing(page: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!page.contains(secret), "{secret} shows on a refusal");
    }
}

#[test]
fn the_admin_pages_are_for_admins_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _, _) = setup(dir.path());
    let committee = Browser::sign_in(&server, "委员李");
    for path in ["/console/admin", "/console/admin/audit", "/console/responses"] {
        let (status, page) = committee.get(path);
        assert_eq!(status, 403, "{path}");
        assert!(page.contains("您无权查看此内容"), "{path}: {page}");
    }
    let form = [("user", "新人"), ("role", "station"), ("password", "long enough password")];
    assert_eq!(committee.post("/console/admin/staff", &form).0, 403);
    assert!(!committee.get("/console/queue").1.contains("href=\"/console/admin\""), "no admin entry in the nav");

    let admin = Browser::sign_in(&server, "管理员");
    let (status, page) = admin.get("/console/admin");
    assert_eq!(status, 200);
    assert!(page.contains("委员李") && page.contains("站员赵"));
    assert!(!page.contains("新人"), "the committee's attempt created nothing");

    // Adding: the rules in words, a name taken, then an account that signs in.
    let (status, page) =
        admin.post("/console/admin/staff", &[("user", "新人"), ("role", "station"), ("password", "short")]);
    assert_eq!(status, 400);
    assert!(page.contains("密码需 10 到 256 个字符"));
    let (status, page) =
        admin.post("/console/admin/staff", &[("user", "新人"), ("role", "grid_leader"), ("password", PASSWORD)]);
    assert_eq!(status, 400);
    assert!(page.contains("请选择工作台角色"));
    let (status, page) =
        admin.post("/console/admin/staff", &[("user", "委员李"), ("role", "station"), ("password", PASSWORD)]);
    assert_eq!(status, 409);
    assert!(page.contains("该用户名已有账号"));
    let (status, page) =
        admin.post("/console/admin/staff", &[("user", "新人"), ("role", "station"), ("password", PASSWORD)]);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("账号已创建") && page.contains("新人"));
    let newcomer = Browser::sign_in(&server, "新人");

    // Disabling: its session ends at once; nobody disables their own account.
    let row = between(&page, "<th scope=\"row\">新人</th>", "</tr>").expect("the new row");
    let staff_id = between(row, "/console/admin/staff/", "/disable").expect("a disable form").to_string();
    let (status, page) = admin.post(&format!("/console/admin/staff/{staff_id}/disable"), &[]);
    assert_eq!(status, 200);
    assert!(page.contains("账号已停用"));
    let res = newcomer.http.get(format!("{}/console/queue", newcomer.base)).send().expect("get");
    assert!(res.url().path().ends_with("/console/login"), "the disabled account is signed out: {}", res.url());
    let admin_id = page
        .split("<tr data-staff=\"")
        .skip(1)
        .find(|r| r.contains("管理员 （本人）"))
        .and_then(|r| r.split('"').next())
        .expect("the admin's own row")
        .to_string();
    let (status, page) = admin.post(&format!("/console/admin/staff/{admin_id}/disable"), &[]);
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("不能停用自己的账号"));

    // The audit log, newest first, paged back with `before`.
    for i in 0..55 {
        assert_eq!(admin.post("/console/views", &[("name", &format!("视图 {i}")), ("query", "")]).0, 200);
    }
    let (status, first) = admin.get("/console/admin/audit");
    assert_eq!(status, 200);
    let ids = |page: &str| -> Vec<i64> {
        page.split("<tr data-audit=\"").skip(1).filter_map(|r| r.split('"').next()?.parse().ok()).collect()
    };
    let newest = ids(&first);
    assert_eq!(newest.len(), 50);
    assert!(newest.windows(2).all(|w| w[0] > w[1]), "newest first");
    assert!(first.contains("class=\"audit-action\">view_save<"));
    let older = between(&first, "/console/admin/audit?before=", "\"").expect("an older page").to_string();
    let (_, second) = admin.get(&format!("/console/admin/audit?before={older}"));
    let rest = ids(&second);
    assert!(!rest.is_empty() && rest.iter().all(|id| *id < newest[49]), "older entries follow");
    for action in ["staff_add", "staff_disable", "sign_in"] {
        assert!(second.contains(&format!("class=\"audit-action\">{action}<")), "{action} is in the log");
    }
}

/// A state-changing request: who sends it, where, with which fields.
type Attempt<'a> = (&'a Browser, &'a str, Vec<(&'a str, &'a str)>);

#[test]
fn a_post_without_the_csrf_token_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _, mut leader) = setup(dir.path());
    let id = report(&mut leader, Report::of("G01-H1", "路灯不亮"));
    let committee = Browser::sign_in(&server, "委员李");
    committee.incident_at(&id, "committee_review");
    let admin = Browser::sign_in(&server, "管理员");

    let attempts: [Attempt<'_>; 6] = [
        (&committee, "/console/queue/bulk", vec![("act", "dispatch"), ("incident", &id)]),
        (&committee, &format!("/console/incidents/{id}/act"), vec![("action", "dispatch")]),
        (&committee, "/console/views", vec![("name", "偷偷保存"), ("query", "grid=G01")]),
        (&admin, "/console/admin/staff", vec![("user", "偷偷加的"), ("role", "admin"), ("password", PASSWORD)]),
        (&admin, "/console/responses", vec![("action", "dispatch"), ("text", "偷偷的模板")]),
        (&committee, "/console/households/G01-H1/reveal", vec![("reason", "偷看")]),
    ];
    for (browser, path, form) in &attempts {
        for csrf in [None, Some("not-the-token")] {
            let mut form = form.clone();
            if let Some(token) = csrf {
                form.push(("csrf", token));
            }
            let res = browser.post_raw(path, &form);
            assert_eq!(res.status(), 403, "{path} with {csrf:?}");
            assert!(res.text().expect("body").contains("请求缺少有效的安全令牌"), "{path}: said in words");
        }
    }
    let page = committee.incident_at(&id, "committee_review");
    assert!(!history_has(&page, "分流"), "nothing was dispatched");
    assert!(!committee.get("/console/queue").1.contains("偷偷保存"));
    assert!(!admin.get("/console/admin").1.contains("偷偷加的"));
    assert!(!admin.get("/console/responses").1.contains("偷偷的模板"));
    let audit = admin.get("/console/admin/audit").1;
    for action in ["bulk_act", "incident_act", "view_save", "staff_add", "response_save", "reveal"] {
        assert!(!audit.contains(&format!("class=\"audit-action\">{action}<")), "{action} was audited");
    }
}
