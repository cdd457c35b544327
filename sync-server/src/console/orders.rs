//! Service orders (服务订单): the queue of a community's orders by stage, with their service, household,
//! volunteer, due date and overdue mark, filtered by stage, grid and overdue and kept current by the live
//! updates; and one order with its request, its history (superseded events shown as such) and the actions
//! the staff member's role allows now — 派单 (dispatch to an enrolled volunteer, with a due date), 取消, 备注.
//! Every figure is the core's order list and detail read from the replica; an action is prepared by the
//! replica as the account's own change and stored by the engine after a phone's checks, like an incident's.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::NaiveDate;
use gridline_core::docs::DocId;
use gridline_core::model::community::ServiceOffer;
use gridline_core::model::Role;
use gridline_core::service_workflow::{OrderAction, OrderStage};
use gridline_core::store::{OrderAct, OrderDetail, OrderFilter, OrderListItem, MAX_NOTE_CHARS};
use serde::Deserialize;

use super::household::{mask, Secret};
use super::i18n::{Tr, Words};
use super::page::{error_page, local_time, local_time_text, paged, render, url_encode, Chrome};
use super::session::Staffer;
use super::Console;
use crate::error::Result;

/// The service-order routes.
pub fn routes() -> super::Routes {
    use axum::routing::{get, post};
    super::Routes::new()
        .route("/orders", get(page))
        .route("/orders/rows", get(rows))
        .route("/orders/{order_id}", get(detail))
        .route("/orders/{order_id}/act", post(act))
}

/// Rows per page.
pub const PAGE_ROWS: usize = 50;
/// Volunteers offered for a dispatch at most.
pub const MAX_VOLUNTEERS: usize = 500;

/// The words of the service-order pages.
pub const WORDS: Words = &[
    ("nav.orders", "服务订单", "Service orders"),
    ("orders.title", "服务订单", "Service orders"),
    ("orders.counts", "各阶段数量", "Per stage"),
    ("orders.empty", "没有符合条件的服务订单。", "No service order matches."),
    ("orders.total", "单", "orders"),
    ("orders.service", "服务项目", "Service"),
    ("orders.household", "户号", "Household"),
    ("orders.volunteer", "志愿者", "Volunteer"),
    ("orders.due", "完成期限", "Due"),
    ("orders.no_due", "无期限", "No due date"),
    ("orders.overdue", "已逾期", "Overdue"),
    ("orders.overdue_days", "逾期天数", "Days overdue"),
    ("orders.requested", "点单时间", "Requested"),
    ("orders.open", "进行中", "Open"),
    ("orders.fields", "订单信息", "Order"),
    ("orders.resident", "服务对象", "Resident"),
    ("orders.address", "地址", "Address"),
    ("orders.phone", "联系电话", "Phone"),
    (
        "orders.phone_masked",
        "完整号码见户详情（需说明理由）。",
        "The full number is on the household page (a reason is asked).",
    ),
    ("orders.request", "需求说明", "Request"),
    ("orders.requester", "点单人", "Requested by"),
    ("orders.from_visit", "来自走访", "From visit"),
    ("orders.rating", "居民评分", "Resident's rating"),
    ("orders.points", "服务积分", "Points"),
    ("orders.photos", "服务照片", "Photos"),
    ("orders.history", "办理记录", "History"),
    ("orders.actions", "可执行操作", "Actions"),
    ("orders.no_actions", "您的角色当前无可执行操作。", "Your role has no action on this order now."),
    ("orders.note", "说明", "Note"),
    ("orders.dispatch_to", "派给志愿者", "Dispatch to volunteer"),
    ("orders.pick_volunteer", "选择志愿者…", "Choose a volunteer…"),
    (
        "orders.no_volunteers",
        "本社区还没有登记志愿者的手机：请在“手机设备”页发放志愿者登记码。",
        "No volunteer's phone is enrolled in this community: issue a volunteer code on the Phones page.",
    ),
    ("orders.due_date", "完成期限（可不填）", "Due date (optional)"),
    ("orders.rating_pick", "评分（1–5）", "Rating (1–5)"),
    ("orders.back", "返回服务订单", "Back to the service orders"),
    ("orders.done", "操作已保存。", "Action saved."),
    ("orders.not_volunteer", "请选择本社区已登记的志愿者。", "Choose a volunteer enrolled in this community."),
    ("orders.bad_due", "完成期限的日期有误。", "The due date is not a date."),
    ("orders.bad_rating", "评分须为 1 到 5。", "The rating must be 1 to 5."),
    ("orders.bad_action", "未知的操作。", "Unknown action."),
    ("orders.note_rule", "说明最多 2000 个字符。", "A note has at most 2,000 characters."),
    ("orders.superseded", "已失效", "Superseded"),
    ("orders.dispatched_to", "派给", "to"),
];

/// The order queue's filters, as the query string carries them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OrdersQuery {
    /// A stage code, `open` (default: every stage but evaluated and cancelled) or `all`.
    #[serde(default)]
    pub stage: String,
    /// A grid code.
    #[serde(default)]
    pub grid: String,
    /// Only overdue (`1`).
    #[serde(default)]
    pub overdue: String,
    /// Page, from 1.
    #[serde(default)]
    pub page: Option<usize>,
}

impl OrdersQuery {
    /// The query string (without paging).
    pub fn query_string(&self) -> String {
        [("stage", &self.stage), ("grid", &self.grid), ("overdue", &self.overdue)]
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", url_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Whether the filter asks for the stage `code` (the stage selector's current option).
    pub fn is_stage(&self, code: &str) -> bool {
        self.stage == code
    }

    fn filter(&self) -> OrderFilter {
        OrderFilter {
            stage: self.stage.parse::<OrderStage>().ok(),
            mine: false,
            grid: Some(self.grid.clone()).filter(|g| !g.is_empty()),
            overdue: self.overdue == "1",
        }
    }

    /// Whether the queue keeps an order the core listed: `open` (the default) leaves out the finished ones.
    fn keeps(&self, item: &OrderListItem) -> bool {
        let open = self.stage.is_empty() || self.stage == "open";
        !(open && item.stage.is_final())
    }
}

/// One order as the queue shows it.
pub struct OrderRow {
    pub order_id: String,
    pub stage: String,
    pub stage_code: &'static str,
    pub service: String,
    pub grid: String,
    pub household: String,
    pub volunteer: String,
    pub due: String,
    pub overdue: bool,
    pub overdue_days: u32,
    pub requested: String,
}

/// The queue's data: rows of the current page, counts per stage, paging, the grids to filter by.
pub struct Orders {
    pub rows: Vec<OrderRow>,
    pub counts: Vec<(&'static str, String, u32)>,
    pub total: usize,
    pub page: usize,
    pub pages: usize,
    pub grids: Vec<String>,
}

/// A service's name in the page's language (its code when the catalogue no longer has it).
pub fn service_name(tr: &Tr, catalogue: &[ServiceOffer], code: &str) -> String {
    catalogue.iter().find(|s| s.code == code).map_or(code, |s| tr.name(&s.name_zh, &s.name_en)).to_string()
}

fn row(tr: &Tr, item: OrderListItem, catalogue: &[ServiceOffer], tz: &chrono_tz::Tz) -> OrderRow {
    OrderRow {
        stage: tr.order_stage(&item.stage).to_string(),
        stage_code: item.stage.code(),
        service: service_name(tr, catalogue, &item.service),
        grid: item.grid,
        household: item.household_code,
        volunteer: item.volunteer.unwrap_or_default(),
        due: item.due.map(|d| d.to_string()).unwrap_or_default(),
        overdue: item.overdue,
        overdue_days: item.overdue_days,
        requested: local_time(&item.requested_at, tz),
        order_id: item.order_id,
    }
}

/// Reads the order queue from the replica.
pub fn load(console: &Console, community_id: &str, tr: Tr, q: &OrdersQuery) -> Result<Orders> {
    console.replicas.with(community_id, |store| {
        let settings = store.settings().clone();
        let tz = settings.tz();
        let list = store.order_list(&q.filter())?;
        let matching: Vec<OrderListItem> = list.items.into_iter().filter(|i| q.keeps(i)).collect();
        let total = matching.len();
        let (shown, page, pages) = paged(matching, q.page, PAGE_ROWS);
        let rows = shown.into_iter().map(|i| row(&tr, i, &settings.service_catalogue, &tz)).collect();
        let counts: BTreeMap<String, u32> = list.counts;
        let counts = OrderStage::ALL
            .iter()
            .map(|s| (s.code(), tr.order_stage(s).to_string(), counts.get(s.code()).copied().unwrap_or(0)))
            .collect();
        let grids: BTreeSet<String> = store.grid_codes()?.into_iter().collect();
        Ok(Orders { rows, counts, total, page, pages, grids: grids.into_iter().collect() })
    })
}

#[derive(Template)]
#[template(path = "console/orders.html")]
struct OrdersPage {
    chrome: Chrome,
    q: OrdersQuery,
    query: String,
    orders: Orders,
    stages: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "console/orders_rows.html")]
struct OrdersRows {
    chrome: Chrome,
    query: String,
    orders: Orders,
}

async fn fetch(console: &Arc<Console>, staffer: &Staffer, q: &OrdersQuery) -> Result<Orders> {
    let (community, tr, q) = (staffer.staff.community_id.clone(), staffer.tr(), q.clone());
    console.blocking(move |c| load(c, &community, tr, &q)).await
}

/// `GET /console/orders`.
pub async fn page(State(console): State<Arc<Console>>, staffer: Staffer, Query(q): Query<OrdersQuery>) -> Response {
    let query = q.query_string();
    let chrome = Chrome::of(&staffer, "orders", format!("/console/orders?{query}"));
    match fetch(&console, &staffer, &q).await {
        Ok(orders) => {
            let tr = staffer.tr();
            let stages = OrderStage::ALL.iter().map(|s| (s.code(), tr.order_stage(s).to_string())).collect();
            render(&OrdersPage { chrome, q, query, orders, stages })
        }
        Err(e) => error_page(chrome, &e),
    }
}

/// `GET /console/orders/rows`: the table alone (live updates and paging).
pub async fn rows(State(console): State<Arc<Console>>, staffer: Staffer, Query(q): Query<OrdersQuery>) -> Response {
    let query = q.query_string();
    let chrome = Chrome::of(&staffer, "orders", format!("/console/orders?{query}"));
    match fetch(&console, &staffer, &q).await {
        Ok(orders) => render(&OrdersRows { chrome, query, orders }),
        Err(e) => e.into_response(),
    }
}

/// One history row as shown.
pub struct EventRow {
    pub action: String,
    pub actor: String,
    pub role: String,
    pub at: String,
    pub applied: bool,
    /// Why a superseded event no longer applies, in words.
    pub superseded_reason: String,
    /// Its stable code (shown on hover, for support).
    pub superseded_code: String,
    pub stage_after: String,
    pub volunteer: String,
    pub due: String,
    pub rating: String,
    pub note: String,
    pub photos: Vec<String>,
}

#[derive(Template)]
#[template(path = "console/order.html")]
struct OrderPage {
    chrome: Chrome,
    d: OrderDetail,
    stage: String,
    service: String,
    phone: String,
    requested: String,
    due: String,
    events: Vec<EventRow>,
    actions: Vec<(&'static str, &'static str)>,
    wants_volunteer: bool,
    wants_rating: bool,
    volunteers: Vec<String>,
    message: Option<String>,
    error: Option<String>,
}

/// What the order page reads: the order as the viewer sees it, the community's settings, and the volunteers
/// an order may be dispatched to.
struct Loaded {
    d: OrderDetail,
    settings: gridline_core::model::CommunitySettings,
    volunteers: Vec<String>,
}

/// The users of the community's enrolled, unrevoked volunteer phones, by name (a user with two phones once).
pub fn volunteers(console: &Console, community_id: &str) -> Result<Vec<String>> {
    let names: BTreeSet<String> = console
        .app
        .engine
        .storage()
        .devices()?
        .into_iter()
        .filter(|d| d.community_id == community_id && d.role == Role::Volunteer && !d.revoked)
        .map(|d| d.user)
        .collect();
    Ok(names.into_iter().take(MAX_VOLUNTEERS).collect())
}

fn load_detail(console: &Console, identity: &gridline_core::store::DeviceInfo, order_id: &str) -> Result<Loaded> {
    let (d, settings) = console.replicas.with(&identity.community_id, |store| {
        Ok((store.order_detail_as(identity, order_id)?, store.settings().clone()))
    })?;
    let volunteers = volunteers(console, &identity.community_id)?;
    Ok(Loaded { d, settings, volunteers })
}

fn build(chrome: Chrome, loaded: Loaded) -> OrderPage {
    let Loaded { d, settings, volunteers } = loaded;
    let tr = chrome.tr;
    let tz = settings.tz();
    let events = d
        .events
        .iter()
        .map(|e| EventRow {
            action: tr.order_action_code(&e.action),
            actor: e.actor.clone(),
            role: tr.role_code(&e.role),
            at: local_time_text(&e.at, &tz),
            applied: e.applied,
            superseded_reason: e.superseded_reason.map(|r| tr.superseded(&r).to_string()).unwrap_or_default(),
            superseded_code: e.superseded_reason.map(|r| r.code().to_string()).unwrap_or_default(),
            stage_after: e.stage_after.map(|s| tr.order_stage(&s).to_string()).unwrap_or_default(),
            volunteer: e.volunteer.clone().unwrap_or_default(),
            due: e.due.clone().unwrap_or_default(),
            rating: e.rating.map(|r| r.to_string()).unwrap_or_default(),
            note: e.note.clone(),
            photos: e.photos.clone(),
        })
        .collect();
    let actions = d.allowed_actions.iter().map(|a| (a.code(), tr.order_action(a))).collect();
    OrderPage {
        stage: tr.order_stage(&d.stage).to_string(),
        service: service_name(&tr, &settings.service_catalogue, &d.service),
        phone: d.phone.as_deref().map(|p| mask(p, Secret::Phone)).unwrap_or_default(),
        requested: local_time(&d.requested_at, &tz),
        due: d.due.map(|t| t.to_string()).unwrap_or_default(),
        wants_volunteer: d.allowed_actions.contains(&OrderAction::Dispatch),
        wants_rating: d.allowed_actions.contains(&OrderAction::Evaluate),
        volunteers,
        events,
        actions,
        d,
        chrome,
        message: None,
        error: None,
    }
}

#[derive(Deserialize)]
pub struct DetailQuery {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /console/orders/{id}`.
pub async fn detail(
    State(console): State<Arc<Console>>,
    staffer: Staffer,
    Path(order_id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Response {
    let chrome = Chrome::of(&staffer, "orders", format!("/console/orders/{order_id}"));
    let identity = staffer.identity();
    let id = order_id.clone();
    match console.blocking(move |c| load_detail(c, &identity, &id)).await {
        Ok(loaded) => {
            let mut p = build(chrome, loaded);
            if q.done.is_some() {
                p.message = Some(p.chrome.tr.t("orders.done").to_string());
            }
            render(&p)
        }
        Err(e) => error_page(chrome, &e),
    }
}

#[derive(Deserialize)]
pub struct ActForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    volunteer: String,
    #[serde(default)]
    due: String,
    #[serde(default)]
    rating: String,
}

/// Why the form is refused before the core sees it: the key of its words.
type Refusal = &'static str;

/// What a form asks for, read and bounded: the action, or the key of the words saying what is wrong.
fn read_act(f: &ActForm) -> std::result::Result<OrderAct, Refusal> {
    let action: OrderAction = f.action.parse().map_err(|_| "orders.bad_action")?;
    let note = f.note.trim();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err("orders.note_rule");
    }
    let volunteer = Some(f.volunteer.trim().to_string()).filter(|v| !v.is_empty() && action == OrderAction::Dispatch);
    let due = match f.due.trim() {
        "" => None,
        text if action == OrderAction::Dispatch => {
            Some(NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| "orders.bad_due")?)
        }
        _ => None,
    };
    let rating = match f.rating.trim() {
        "" => None,
        text if action == OrderAction::Evaluate => {
            Some(text.parse::<u8>().ok().filter(|r| (1..=5).contains(r)).ok_or("orders.bad_rating")?)
        }
        _ => None,
    };
    Ok(OrderAct { action, note: note.to_string(), volunteer, due, rating, photos: vec![] })
}

/// Takes `act` on a service order as `staffer`: a dispatch must name one of the community's enrolled
/// volunteers (else the refusal's words); the replica prepares the account's change (the order workflow's
/// checks on the stage it holds), the engine checks and stores it like a phone's, the replica is fed, and the
/// change is announced to open pages.
pub fn take_action(
    console: &Console,
    staffer: &Staffer,
    order_id: &str,
    act: OrderAct,
) -> Result<std::result::Result<(), Refusal>> {
    let identity = staffer.identity();
    let community = identity.community_id.clone();
    if let Some(v) = &act.volunteer {
        if !volunteers(console, &community)?.contains(v) {
            return Ok(Err("orders.not_volunteer"));
        }
    }
    let mut detail = act.action.code().to_string();
    if let Some(v) = &act.volunteer {
        detail.push_str(&format!(" {v}"));
    }
    if let Some(d) = act.due {
        detail.push_str(&format!(" {d}"));
    }
    detail.push_str(&format!(" {}", act.note.chars().take(200).collect::<String>()));
    let (doc_id, change): (DocId, Vec<u8>) =
        console.replicas.with(&community, |store| Ok(store.order_act_change(&identity, order_id, act)?))?;
    console.app.engine.submit(&staffer.device(), &doc_id, &change, console.app.clock.now())?;
    console.app.engine.storage().append_audit(&staffer.audit("order_act", order_id, detail.trim()))?;
    super::replica::announce(console, super::replica::feed(console, &community)?);
    Ok(Ok(()))
}

/// `POST /console/orders/{id}/act`.
pub async fn act(
    State(console): State<Arc<Console>>,
    staffer: Staffer,
    Path(order_id): Path<String>,
    Form(f): Form<ActForm>,
) -> Response {
    if let Err(e) = staffer.check_csrf(&f.csrf) {
        return error_page(Chrome::of(&staffer, "orders", "/console/orders"), &e);
    }
    let tr = staffer.tr();
    let act = match read_act(&f) {
        Ok(act) => act,
        Err(key) => return refused(&console, &staffer, &order_id, StatusCode::BAD_REQUEST, tr.t(key).into()).await,
    };
    let staffer = Arc::new(staffer);
    let (s, id) = (staffer.clone(), order_id.clone());
    match console.blocking(move |c| take_action(c, &s, &id, act)).await {
        Ok(Ok(())) => Redirect::to(&format!("/console/orders/{order_id}?done=1")).into_response(),
        Ok(Err(key)) => refused(&console, &staffer, &order_id, StatusCode::BAD_REQUEST, tr.t(key).into()).await,
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            error_page(Chrome::of(&staffer, "orders", "/console/orders"), &e)
        }
        Err(e) => {
            let words = format!("{} ({})", tr.error(e.code), e.code.code());
            refused(&console, &staffer, &order_id, e.status, words).await
        }
    }
}

/// The order page again, with the refusal in words and its status.
async fn refused(
    console: &Arc<Console>,
    staffer: &Staffer,
    order_id: &str,
    status: StatusCode,
    words: String,
) -> Response {
    let chrome = Chrome::of(staffer, "orders", format!("/console/orders/{order_id}"));
    let identity = staffer.identity();
    let id = order_id.to_string();
    match console.blocking(move |c| load_detail(c, &identity, &id)).await {
        Ok(loaded) => {
            let mut p = build(chrome, loaded);
            p.error = Some(words);
            (status, render(&p)).into_response()
        }
        Err(e) => error_page(chrome, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(action: &str, volunteer: &str, due: &str, rating: &str) -> ActForm {
        ActForm {
            csrf: String::new(),
            action: action.into(),
            note: " 周三上午送餐 ".into(),
            volunteer: volunteer.into(),
            due: due.into(),
            rating: rating.into(),
        }
    }

    #[test]
    fn the_act_form_is_read_and_bounded() {
        let act = read_act(&form("dispatch", " 李志愿 ", "2026-05-06", "")).expect("a dispatch");
        assert_eq!(act.action, OrderAction::Dispatch);
        assert_eq!(act.volunteer.as_deref(), Some("李志愿"));
        assert_eq!(act.due, NaiveDate::from_ymd_opt(2026, 5, 6));
        assert_eq!(act.note, "周三上午送餐");
        // A volunteer and a due date mean something only to a dispatch.
        let cancel = read_act(&form("cancel", "李志愿", "2026-05-06", "")).expect("a cancel");
        assert_eq!((cancel.volunteer, cancel.due), (None, None));
        assert_eq!(read_act(&form("dispatch", "李志愿", "06/05/2026", "")).err(), Some("orders.bad_due"));
        assert_eq!(read_act(&form("evaluate", "", "", "6")).err(), Some("orders.bad_rating"));
        assert_eq!(read_act(&form("evaluate", "", "", "4")).map(|a| a.rating), Ok(Some(4)));
        assert_eq!(read_act(&form("fly", "", "", "")).err(), Some("orders.bad_action"));
        let mut long = form("comment", "", "", "");
        long.note = "字".repeat(MAX_NOTE_CHARS + 1);
        assert_eq!(read_act(&long).err(), Some("orders.note_rule"));
        for key in
            ["orders.bad_action", "orders.note_rule", "orders.bad_due", "orders.bad_rating", "orders.not_volunteer"]
        {
            assert!(WORDS.iter().any(|(k, _, _)| *k == key), "{key}");
        }
    }

    #[test]
    fn the_open_queue_leaves_out_finished_orders() {
        let q = |stage: &str| OrdersQuery { stage: stage.into(), ..OrdersQuery::default() };
        assert_eq!(q("").query_string(), "");
        assert_eq!(
            OrdersQuery { stage: "dispatched".into(), grid: "G 1".into(), overdue: "1".into(), page: Some(3) }
                .query_string(),
            "stage=dispatched&grid=G%201&overdue=1"
        );
        assert_eq!(q("dispatched").filter().stage, Some(OrderStage::Dispatched));
        assert_eq!(q("open").filter().stage, None);
    }
}
