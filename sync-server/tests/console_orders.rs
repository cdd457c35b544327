//! Service orders, the love supermarket and their configuration in the console, over a real server and real
//! phones: a dispatch names one of the community's enrolled volunteers (any other name is refused in words)
//! and reaches that volunteer's phone; who may dispatch, redeem and configure is the role's; a redemption's
//! outcome is the server's decision (confirmed with the new balance, or `points_insufficient` with the
//! balance unchanged); a configuration page opened before someone else saved is refused as stale.

use std::time::{Duration, Instant};

use chrono::{FixedOffset, Utc};
use gridline_core::docs::{service_order, DocId};
use gridline_core::model::{OrderEvent, ServiceOrderFields};
use gridline_testkit::{Device, Server, StaffClient};

/// How long a change may take to reach the console's replica.
const FEED_WITHIN: Duration = Duration::from_secs(15);

fn now() -> chrono::DateTime<FixedOffset> {
    Utc::now().with_timezone(&FixedOffset::east_opt(8 * 3600).expect("offset"))
}

/// Requests meal delivery for household G01-H1 from `leader`'s phone (synced at once); returns the order's id.
fn request(leader: &mut Device) -> (String, DocId) {
    let order_id = uuid::Uuid::now_v7().to_string();
    let id = DocId::service_order(leader.community(), "G01", &order_id);
    let at = now();
    let fields = ServiceOrderFields {
        order_id: order_id.clone(),
        grid: "G01".into(),
        household_code: "G01-H1".into(),
        resident: Some("王秀英".into()),
        address: "1-1-101".into(),
        phone: None,
        service: "meal_delivery".into(),
        note: "老人行动不便，请中午送餐上门。".into(),
        due: None,
        from_visit: None,
        requester: leader.info.user.clone(),
        requester_device: leader.info.device_id.clone(),
        at,
    };
    let event = OrderEvent::new("request", &leader.info.user, &leader.info.device_id, "grid_leader", at.to_rfc3339());
    let doc = leader.doc(&id);
    service_order::create(doc, &fields, &event).expect("create");
    doc.commit();
    leader.sync().expect("request synced");
    (order_id, id)
}

/// Appends `action` (with `rating`) to an order on `device`, as its user in `role`, and syncs.
fn act(device: &mut Device, id: &DocId, action: &str, role: &str, rating: Option<u8>) {
    device.sync().expect("sync first");
    let mut event = OrderEvent::new(action, &device.info.user, &device.info.device_id, role, now().to_rfc3339());
    event.rating = rating;
    let doc = device.doc(id);
    service_order::append_event(doc, &event).expect("append");
    doc.commit();
    device.sync().expect("synced");
}

/// Polls a console page until `ready` holds for its body.
fn wait_for(staff: &StaffClient, path: &str, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + FEED_WITHIN;
    loop {
        let res = staff.get(path);
        let status = res.status().as_u16();
        let body = res.text().unwrap_or_default();
        if status == 200 && ready(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{path} not ready within {FEED_WITHIN:?}: {status}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The text between `start` and the next `end`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// A server with the kit's roster, a grid leader's phone in G01, two volunteers' phones (one revoked), and
/// accounts 委员李 (committee), 站员赵 (station), 管理员 (admin), 街道王 (street).
struct Setup {
    server: Server,
    community: String,
    leader: Device,
    volunteer: Device,
}

fn setup(dir: &std::path::Path) -> Setup {
    let server = Server::start(dir);
    let community = server.community_with_roster();
    let leader = server.enroll(&community, "王网格长", "grid_leader", &["G01"]);
    let volunteer = server.enroll(&community, "李志愿", "volunteer", &[]);
    let gone = server.enroll(&community, "赵离职", "volunteer", &[]);
    server.admin_ok(&["device", "revoke", &gone.info.device_id]);
    Setup { server, community, leader, volunteer }
}

#[test]
fn a_dispatch_names_an_enrolled_volunteer_and_reaches_only_that_phone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Setup { server, community, mut leader, mut volunteer } = setup(dir.path());
    let (order_id, doc_id) = request(&mut leader);
    let committee = server.signed_in_staff(&community, "委员李", "committee");
    let street = server.signed_in_staff(&community, "街道王", "street");

    let queue = wait_for(&committee, "/console/orders", |b| b.contains(&order_id));
    assert!(queue.contains("<span class=\"stage stage-requested\">已点单</span>"), "{queue}");
    assert!(queue.contains("上门送餐"), "the service by its catalogue name");
    let path = format!("/console/orders/{order_id}");
    let page = committee.page(&path);
    for (code, word) in [("dispatch", "派单"), ("cancel", "取消"), ("comment", "备注")] {
        assert!(page.contains(&format!("value=\"{code}\" class=\"action action-{code}\">{word}</button>")), "{word}");
    }
    let offered = between(&page, "<select id=\"volunteer\" name=\"volunteer\">", "</select>").expect("the choice");
    assert!(offered.contains(">李志愿</option>"), "{offered}");
    assert!(!offered.contains("赵离职"), "a revoked volunteer is not offered: {offered}");
    // The street office reads the order but takes no action on it.
    let seen = street.page(&path);
    assert!(seen.contains("王秀英") && !seen.contains("class=\"action action-dispatch\""));
    let res = street.post(&format!("{path}/act"), &[("action", "dispatch"), ("volunteer", "李志愿")]);
    assert_eq!(res.status().as_u16(), 409, "the street may not dispatch");

    // A name that is not an enrolled volunteer (or no longer is) is refused in words; nothing is written.
    for name in ["王五", "赵离职"] {
        let res = committee.post(&format!("{path}/act"), &[("action", "dispatch"), ("volunteer", name)]);
        assert_eq!(res.status().as_u16(), 400, "{name}");
        assert!(res.text().expect("page").contains("请选择本社区已登记的志愿者。"));
    }
    let due = (now() + chrono::Duration::days(2)).date_naive().to_string();
    let res = committee.post(&format!("{path}/act"), &[("action", "dispatch"), ("volunteer", "李志愿"), ("due", &due)]);
    assert_eq!(res.status().as_u16(), 303, "dispatched: {}", res.text().unwrap_or_default());
    assert_eq!(StaffClient::location(&res), format!("{path}?done=1"));
    let page = committee.page(&path);
    assert!(page.contains("<span class=\"stage stage-dispatched\">已派单</span>"), "{page}");
    assert!(page.contains("<dd class=\"volunteer\">李志愿</dd>"));
    assert!(page.contains(&format!("<time datetime=\"{due}\">{due}</time>")), "{page}");

    // The volunteer's phone receives the order.
    volunteer.sync().expect("sync");
    assert!(volunteer.ids().contains(&doc_id.to_string()), "the order reached the volunteer it was dispatched to");
}

#[test]
fn the_counter_shows_the_servers_decision_and_the_roles_that_may_redeem_and_configure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Setup { server, community, mut leader, mut volunteer } = setup(dir.path());
    let committee = server.signed_in_staff(&community, "委员李", "committee");
    let station = server.signed_in_staff(&community, "站员赵", "station");
    let admin = server.signed_in_staff(&community, "管理员", "admin");

    // Configuration: admin and station only; a cheap item added by the station.
    assert_eq!(committee.get("/console/config").status().as_u16(), 403);
    assert_eq!(admin.get("/console/config").status().as_u16(), 200);
    let page = station.page("/console/config");
    let revision = between(&page, "name=\"revision\" value=\"", "\"").expect("revision").to_string();
    let mut form: Vec<(String, String)> = vec![("revision".into(), revision.clone())];
    // Six fields a row, five in the blank row for adding: the blank row's index is the rows' count.
    let n = page.matches("name=\"item-").count() / 6;
    assert!(n >= 1, "the form's rows");
    form.extend(fields(&page));
    for (field, value) in [("code", "soap"), ("name_zh", "香皂"), ("name_en", "Soap"), ("price", "4"), ("stock", "10")]
    {
        form.push((format!("item-{n}-{field}"), value.into()));
    }
    let borrowed: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let res = station.post("/console/config", &borrowed);
    assert_eq!(res.status().as_u16(), 303, "saved: {}", res.text().unwrap_or_default());
    // The same page again, from before that save: stale.
    let res = station.post("/console/config", &borrowed);
    assert_eq!(res.status().as_u16(), 409);
    assert!(res.text().expect("page").contains("已被他人修改"));
    // A price that is not a number, and one the shared validation refuses: nothing saved, the field named.
    let page = station.page("/console/config");
    let revision = between(&page, "name=\"revision\" value=\"", "\"").expect("revision").to_string();
    for (price, words) in [("四", "“所需积分”须为不小于 0 的整数：四"), ("0", "爱心超市商品「soap」price_points")]
    {
        let mut bad: Vec<(String, String)> = fields(&page);
        bad.push(("revision".into(), revision.clone()));
        for (k, v) in bad.iter_mut() {
            if k.ends_with("-price") && *v == "4" {
                *v = price.into();
            }
        }
        let borrowed: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let res = station.post("/console/config", &borrowed);
        assert_eq!(res.status().as_u16(), 400, "{price}");
        let body = res.text().expect("page");
        assert!(body.contains(words), "{price}: {body}");
    }
    let page = station.page("/console/config");
    assert_eq!(between(&page, "name=\"revision\" value=\"", "\""), Some(revision.as_str()), "nothing saved");

    // An order done and rated: the server credits the volunteer 10 points (meal delivery).
    let (order_id, doc_id) = request(&mut leader);
    wait_for(&committee, &format!("/console/orders/{order_id}"), |b| b.contains("stage-requested"));
    let res =
        committee.post(&format!("/console/orders/{order_id}/act"), &[("action", "dispatch"), ("volunteer", "李志愿")]);
    assert_eq!(res.status().as_u16(), 303);
    volunteer.sync().expect("sync");
    act(&mut volunteer, &doc_id, "accept", "volunteer", None);
    act(&mut volunteer, &doc_id, "done", "volunteer", None);
    act(&mut leader, &doc_id, "evaluate", "grid_leader", Some(5));
    let balance = |page: &str| {
        between(page, "<tr data-volunteer=\"李志愿\">", "</tr>")
            .and_then(|row| between(row, "<td class=\"balance\"><strong>", "</strong>"))
            .map(str::to_string)
    };
    wait_for(&station, "/console/shop", |b| balance(b).as_deref() == Some("10"));

    // Only the committee and the station redeem.
    let res = admin.post("/console/shop", &[("volunteer", "李志愿"), ("item", "soap"), ("quantity", "1")]);
    assert_eq!(res.status().as_u16(), 403);
    // Two soaps: confirmed at once, 2 points left.
    let res = station.post("/console/shop", &[("volunteer", "李志愿"), ("item", "soap"), ("quantity", "2")]);
    assert_eq!(res.status().as_u16(), 303);
    let outcome = station.page(&StaffClient::location(&res));
    assert!(outcome.contains("data-outcome=\"confirmed\""), "{outcome}");
    assert!(outcome.contains("剩余 2 积分"));
    assert_eq!(balance(&outcome).as_deref(), Some("2"));
    assert!(
        outcome.contains("<tr data-item=\"soap\"><th scope=\"row\">香皂</th><td>4</td><td class=\"left\">8</td></tr>")
    );
    // One more would overdraw: refused in words, nothing charged.
    let res = committee.post("/console/shop", &[("volunteer", "李志愿"), ("item", "soap"), ("quantity", "1")]);
    let status = res.status().as_u16();
    let refused = if status == 303 { committee.page(&StaffClient::location(&res)) } else { res.text().expect("page") };
    assert!(refused.contains("积分不足"), "{status}: {refused}");
    assert_eq!(balance(&refused).as_deref(), Some("2"));
    // Every redemption is audited.
    let audit = admin.page("/console/admin/audit");
    assert!(audit.contains("points_redeem") && audit.contains("config_set") && audit.contains("order_act"));
}

/// The configuration form's text fields as a page shows them (name, value).
fn fields(page: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for part in page.split("<input ").skip(1) {
        let Some(name) = between(part, "name=\"", "\"") else { continue };
        if !(name.starts_with("service-") || name.starts_with("item-") || name == "order_due_days") {
            continue;
        }
        if part.contains("type=\"checkbox\"") {
            continue;
        }
        let value = between(part, "value=\"", "\"").unwrap_or_default();
        out.push((name.to_string(), value.to_string()));
    }
    out
}
