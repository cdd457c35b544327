//! The love supermarket's counter (爱心超市): each item with its point price and the stock left, each
//! volunteer's balance (earned, redeemed, pending), the recent redemptions with their status, and the
//! month's honour roll (荣誉墙: hours and points per volunteer) — every figure the core's points ledger as
//! the replica holds it. Committee and station staff record a redemption here: the replica prepares it as the
//! account's change to the ledger, the engine checks and stores it, and the server decides it as it stores
//! it (`points::decide_pending`), so the page that follows shows the outcome: confirmed with the new
//! balance, or refused (`points_insufficient`, `out_of_stock`) with nothing lost.

use std::collections::BTreeSet;
use std::sync::Arc;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gridline_core::model::{CommunitySettings, Role};
use gridline_core::points::{self, RedemptionStatus, MAX_QUANTITY, MIN_QUANTITY};
use gridline_core::schedule::Month;
use gridline_core::store::Redemption;
use gridline_core::ErrorCode;
use serde::Deserialize;

use super::i18n::{Tr, Words};
use super::page::{error_page, local_time, month_or, render, Chrome};
use super::session::Staffer;
use super::Console;
use crate::error::{Result, ServerError};

/// The supermarket routes.
pub fn routes() -> super::Routes {
    use axum::routing::get;
    super::Routes::new()
        .route("/shop", get(page).post(redeem).layer(DefaultBodyLimit::max(BODY_LIMIT)))
        .route("/shop/figures", get(figures))
}

/// Recent redemptions listed.
pub const RECENT: usize = 30;
const BODY_LIMIT: usize = 8 * 1024;

/// The words of the supermarket counter.
pub const WORDS: Words = &[
    ("nav.shop", "爱心超市", "Love supermarket"),
    ("shop.title", "爱心超市", "Love supermarket"),
    ("shop.items", "兑换商品", "Items"),
    ("shop.item", "商品", "Item"),
    ("shop.price", "所需积分", "Points"),
    ("shop.stock_left", "剩余库存", "In stock"),
    ("shop.no_items", "还没有兑换商品：请在“配置”页添加。", "No item yet: add some on the Configuration page."),
    ("shop.balances", "志愿者积分", "Volunteers' points"),
    ("shop.volunteer", "志愿者", "Volunteer"),
    ("shop.earned", "累计获得", "Earned"),
    ("shop.redeemed", "已兑换", "Redeemed"),
    ("shop.pending", "待确认", "Pending"),
    ("shop.balance", "可用积分", "Balance"),
    ("shop.no_balances", "还没有志愿者获得积分。", "No volunteer has earned points yet."),
    ("shop.redeem", "积分兑换", "Redeem points"),
    ("shop.pick_volunteer", "选择志愿者…", "Choose a volunteer…"),
    ("shop.pick_item", "选择商品…", "Choose an item…"),
    ("shop.quantity", "数量", "Quantity"),
    ("shop.redeem_submit", "兑换", "Redeem"),
    (
        "shop.read_only",
        "只有社居委和社区工作站可以登记兑换。",
        "Only the residents' committee and the work station record redemptions.",
    ),
    ("shop.recent", "最近兑换", "Recent redemptions"),
    ("shop.no_recent", "还没有兑换记录。", "No redemption yet."),
    ("shop.at", "时间", "Time"),
    ("shop.points", "积分", "Points"),
    ("shop.status", "状态", "Status"),
    ("shop.recorded_by", "登记人", "Recorded by"),
    ("shop.honour", "荣誉墙", "Honour roll"),
    ("shop.month", "月份", "Month"),
    ("shop.show_month", "查看", "Show"),
    ("shop.orders", "服务单数", "Orders"),
    ("shop.hours", "服务时长（小时）", "Hours"),
    ("shop.no_honour", "本月还没有完成评价的服务。", "No order was evaluated this month."),
    (
        "shop.confirmed",
        "兑换成功：{volunteer} 兑换 {item} × {quantity}，扣除 {points} 积分，剩余 {balance} 积分。",
        "Redeemed: {volunteer} took {item} × {quantity} for {points} points; {balance} points left.",
    ),
    (
        "shop.pending_outcome",
        "兑换已登记，等待服务器确认。",
        "The redemption is recorded and waits for the server's decision.",
    ),
    (
        "shop.refused",
        "未兑换：{reason}（{volunteer}，{item} × {quantity}）。兑换记录已保留。",
        "Not redeemed: {reason} ({volunteer}, {item} × {quantity}). The request is kept.",
    ),
    (
        "shop.refused_now",
        "未兑换：{reason}（{volunteer}，{item} × {quantity}），未登记任何兑换。",
        "Not redeemed: {reason} ({volunteer}, {item} × {quantity}); nothing was recorded.",
    ),
    ("shop.bad_quantity", "数量须为 1 到 99。", "The quantity must be 1 to 99."),
    ("shop.bad_volunteer", "请选择志愿者。", "Choose a volunteer."),
    ("shop.bad_item", "请选择本社区的兑换商品。", "Choose one of the community's items."),
    ("shop.status.pending", "待确认", "Pending"),
    ("shop.status.confirmed", "已兑换", "Confirmed"),
    ("shop.status.points_insufficient", "积分不足", "Not enough points"),
    ("shop.status.out_of_stock", "库存不足", "Out of stock"),
    ("shop.status.unknown_item", "商品已下架", "Item no longer offered"),
];

/// Whether a role records redemptions (the points ledger's writers).
pub fn may_redeem(role: Role) -> bool {
    matches!(role, Role::Committee | Role::Station)
}

/// A status in words.
pub fn status_words(tr: &Tr, status: &RedemptionStatus) -> &'static str {
    tr.t(match status {
        RedemptionStatus::Pending => "shop.status.pending",
        RedemptionStatus::Confirmed => "shop.status.confirmed",
        RedemptionStatus::PointsInsufficient => "shop.status.points_insufficient",
        RedemptionStatus::OutOfStock => "shop.status.out_of_stock",
        RedemptionStatus::UnknownItem => "shop.status.unknown_item",
    })
}

/// An item's name in the page's language (its code when the configuration no longer has it).
pub fn item_name(tr: &Tr, settings: &CommunitySettings, code: &str) -> String {
    settings.shop_item(code).map_or(code, |i| tr.name(&i.name_zh, &i.name_en)).to_string()
}

/// One item as listed.
pub struct ItemRow {
    pub code: String,
    pub name: String,
    pub price: u32,
    pub left: u32,
}

/// One volunteer's points as listed.
pub struct BalanceRow {
    pub volunteer: String,
    pub earned: u64,
    pub redeemed: u64,
    pub pending: u64,
    pub balance: u64,
}

/// One redemption as listed.
pub struct RedemptionRow {
    pub redemption_id: String,
    pub at: String,
    pub volunteer: String,
    pub item: String,
    pub quantity: u32,
    pub points: u64,
    pub status: String,
    pub status_code: &'static str,
    pub actor: String,
}

/// One row of the honour roll.
pub struct HonourRow {
    pub volunteer: String,
    pub orders: u32,
    pub hours: String,
    pub points: u64,
}

/// What the counter shows, all from the ledger the replica holds.
pub struct Figures {
    pub items: Vec<ItemRow>,
    pub balances: Vec<BalanceRow>,
    pub recent: Vec<RedemptionRow>,
    pub honour: Vec<HonourRow>,
    pub month: String,
    /// Who may be chosen at the counter: the volunteers with points and the enrolled volunteers.
    pub volunteers: Vec<String>,
}

/// Minutes as hours with one decimal.
fn hours(minutes: u64) -> String {
    format!("{}.{}", minutes / 60, (minutes % 60) * 10 / 60)
}

/// Reads the counter's figures from the replica of `community_id` for `month` (`YYYY-MM`, or the current).
pub fn load(console: &Console, community_id: &str, tr: Tr, month: &str) -> Result<Figures> {
    let enrolled = super::orders::volunteers(console, community_id)?;
    console.replicas.with(community_id, |store| {
        let settings = store.settings().clone();
        let tz = settings.tz();
        let month = month_or(month, Month::of(store.today()))?;
        let ledger = store.points_ledger()?;
        let items = settings
            .shop_items
            .iter()
            .map(|i| ItemRow {
                code: i.code.clone(),
                name: tr.name(&i.name_zh, &i.name_en).to_string(),
                price: i.price_points,
                left: points::stock_left(&ledger, &settings, &i.code),
            })
            .collect();
        // Every volunteer the ledger names or the community enrolled, each with the core's balance.
        let named: BTreeSet<String> = ledger
            .credits
            .iter()
            .map(|c| c.volunteer.clone())
            .chain(ledger.requests.iter().map(|r| r.volunteer.clone()))
            .collect();
        let balances: Vec<BalanceRow> = named
            .iter()
            .map(|v| points::balance(&ledger, v))
            .map(|b| BalanceRow {
                volunteer: b.volunteer,
                earned: b.earned,
                redeemed: b.redeemed,
                pending: b.pending,
                balance: b.balance,
            })
            .collect();
        let mut requests: Vec<&gridline_core::points::RedemptionRequest> = ledger.requests.iter().collect();
        requests.sort_by(|a, b| (b.at, &b.redemption_id).cmp(&(a.at, &a.redemption_id)));
        let recent = requests
            .into_iter()
            .take(RECENT)
            .map(|r| {
                let (status, points) = points::status_of(&ledger, r);
                RedemptionRow {
                    redemption_id: r.redemption_id.clone(),
                    at: local_time(&r.at, &tz),
                    volunteer: r.volunteer.clone(),
                    item: item_name(&tr, &settings, &r.item),
                    quantity: r.quantity,
                    points,
                    status: status_words(&tr, &status).to_string(),
                    status_code: status.code(),
                    actor: r.actor.clone(),
                }
            })
            .collect();
        let honour = points::honour_roll(&ledger, &month, tz)
            .into_iter()
            .map(|h| HonourRow {
                volunteer: h.volunteer,
                orders: h.orders,
                hours: hours(u64::from(h.minutes)),
                points: h.points,
            })
            .collect();
        let volunteers: BTreeSet<String> = named.into_iter().chain(enrolled).collect();
        Ok(Figures {
            items,
            balances,
            recent,
            honour,
            month: month.code(),
            volunteers: volunteers.into_iter().collect(),
        })
    })
}

/// The outcome of a redemption, in words, and whether it stands.
pub struct Outcome {
    pub words: String,
    pub confirmed: bool,
}

/// A redemption's outcome in words: confirmed with the new balance, refused with its reason, or pending.
pub fn outcome(tr: &Tr, settings: &CommunitySettings, r: &Redemption) -> Outcome {
    let fill = |template: &str, reason: &str| {
        template
            .replace("{volunteer}", &r.volunteer)
            .replace("{item}", &item_name(tr, settings, &r.item))
            .replace("{quantity}", &r.quantity.to_string())
            .replace("{points}", &r.points.to_string())
            .replace("{balance}", &r.balance.to_string())
            .replace("{reason}", reason)
    };
    match r.status {
        RedemptionStatus::Confirmed => Outcome { words: fill(tr.t("shop.confirmed"), ""), confirmed: true },
        RedemptionStatus::Pending => Outcome { words: tr.t("shop.pending_outcome").to_string(), confirmed: false },
        ref refused => Outcome { words: fill(tr.t("shop.refused"), status_words(tr, refused)), confirmed: false },
    }
}

#[derive(Template)]
#[template(path = "console/shop.html")]
struct ShopPage {
    chrome: Chrome,
    f: Figures,
    may_redeem: bool,
    outcome: Option<Outcome>,
    /// The outcome's stable code (for support and tests).
    outcome_code: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/shop_figures.html")]
struct FiguresPart {
    chrome: Chrome,
    f: Figures,
}

#[derive(Deserialize, Default)]
pub struct ShopQuery {
    /// The honour roll's month, `YYYY-MM`.
    #[serde(default)]
    month: String,
    /// A redemption just recorded: its outcome is shown.
    #[serde(default)]
    redemption: String,
}

/// The page, with a redemption's outcome or an error in words, answered with `status`.
async fn view(
    console: &Arc<Console>,
    staffer: &Staffer,
    month: String,
    redemption: Option<String>,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let chrome = Chrome::of(staffer, "shop", "/console/shop");
    let (community, tr) = (staffer.staff.community_id.clone(), staffer.tr());
    let loaded = console
        .blocking(move |c| {
            let f = load(c, &community, tr, &month)?;
            let outcome = match redemption {
                Some(id) => c.replicas.with(&community, |store| {
                    let settings = store.settings().clone();
                    // An id the ledger does not hold (a link from elsewhere) shows no outcome.
                    Ok(store.redemption(&id).ok().map(|r| (outcome(&tr, &settings, &r), r.status.code())))
                })?,
                None => None,
            };
            Ok((f, outcome))
        })
        .await;
    match loaded {
        Ok((f, outcome)) => {
            let outcome_code = outcome.as_ref().map(|(_, code)| code.to_string()).unwrap_or_default();
            let outcome = outcome.map(|(o, _)| o);
            let page = ShopPage { may_redeem: may_redeem(staffer.staff.role), chrome, f, outcome, outcome_code, error };
            (status, render(&page)).into_response()
        }
        Err(e) => error_page(chrome, &e),
    }
}

/// `GET /console/shop`.
pub async fn page(State(console): State<Arc<Console>>, staffer: Staffer, Query(q): Query<ShopQuery>) -> Response {
    let redemption = Some(q.redemption).filter(|r| uuid::Uuid::parse_str(r).is_ok());
    view(&console, &staffer, q.month, redemption, StatusCode::OK, None).await
}

/// `GET /console/shop/figures`: the figures alone (live updates).
pub async fn figures(State(console): State<Arc<Console>>, staffer: Staffer, Query(q): Query<ShopQuery>) -> Response {
    let chrome = Chrome::of(&staffer, "shop", "/console/shop");
    let (community, tr) = (staffer.staff.community_id.clone(), staffer.tr());
    match console.blocking(move |c| load(c, &community, tr, &q.month)).await {
        Ok(f) => render(&FiguresPart { chrome, f }),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub struct RedeemForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    volunteer: String,
    #[serde(default)]
    item: String,
    #[serde(default)]
    quantity: String,
}

/// Why a redemption is refused before the core sees it: the key of its words.
type Refusal = &'static str;

/// Reads and bounds the form: (volunteer, item, quantity).
fn read_redeem(f: &RedeemForm) -> std::result::Result<(String, String, u32), Refusal> {
    let volunteer = f.volunteer.trim();
    if volunteer.is_empty() || volunteer.chars().count() > 100 || volunteer.chars().any(char::is_control) {
        return Err("shop.bad_volunteer");
    }
    let item = f.item.trim();
    if item.is_empty() || item.len() > 64 {
        return Err("shop.bad_item");
    }
    let quantity = f.quantity.trim().parse::<u32>().ok().filter(|q| (MIN_QUANTITY..=MAX_QUANTITY).contains(q));
    let quantity = quantity.ok_or("shop.bad_quantity")?;
    Ok((volunteer.to_string(), item.to_string(), quantity))
}

/// Records a redemption as `staffer`: the replica prepares the account's change to the points ledger (refusing
/// at once what its own view already says is short), the engine checks and stores it — the server decides it
/// as it stores it — and the replica is fed, so the decision is in it. Returns the redemption's id.
pub fn record(console: &Console, staffer: &Staffer, volunteer: &str, item: &str, quantity: u32) -> Result<String> {
    let by = staffer.identity();
    let community = by.community_id.clone();
    if console.replicas.with(&community, |store| Ok(store.settings().shop_item(item).is_none()))? {
        return Err(ServerError::bad_request(ErrorCode::UnknownCode, format!("no shop item {item:?}")));
    }
    let (doc_id, change, redemption_id) =
        console.replicas.with(&community, |store| Ok(store.redeem_change(&by, volunteer, item, quantity)?))?;
    console.app.engine.submit(&staffer.device(), &doc_id, &change, console.app.clock.now())?;
    let detail = format!("{volunteer} {item} {quantity}");
    console.app.engine.storage().append_audit(&staffer.audit("points_redeem", &redemption_id, &detail))?;
    super::replica::announce(console, super::replica::feed(console, &community)?);
    Ok(redemption_id)
}

/// `POST /console/shop`: records a redemption and shows its outcome.
pub async fn redeem(State(console): State<Arc<Console>>, staffer: Staffer, Form(f): Form<RedeemForm>) -> Response {
    let chrome = Chrome::of(&staffer, "shop", "/console/shop");
    if let Err(e) = staffer.check_csrf(&f.csrf) {
        return error_page(chrome, &e);
    }
    if !may_redeem(staffer.staff.role) {
        let e =
            ServerError::new(StatusCode::FORBIDDEN, ErrorCode::ForbiddenChange, "only committee and station redeem");
        return error_page(chrome, &e);
    }
    let tr = staffer.tr();
    let (volunteer, item, quantity) = match read_redeem(&f) {
        Ok(v) => v,
        Err(key) => {
            return view(&console, &staffer, String::new(), None, StatusCode::BAD_REQUEST, Some(tr.t(key).into())).await
        }
    };
    let staffer = Arc::new(staffer);
    let s = staffer.clone();
    let done = console
        .blocking(move |c| match record(c, &s, &volunteer, &item, quantity) {
            Ok(id) => Ok(Recorded::Id(id)),
            Err(e) => Ok(Recorded::Refused(refusal_words(c, &s, &e, &volunteer, &item, quantity)?, e)),
        })
        .await;
    match done {
        Ok(Recorded::Id(id)) => Redirect::to(&format!("/console/shop?redemption={id}")).into_response(),
        Ok(Recorded::Refused(words, e)) => view(&console, &staffer, String::new(), None, e.status, Some(words)).await,
        Err(e) => error_page(Chrome::of(&staffer, "shop", "/console/shop"), &e),
    }
}

/// What recording a redemption came to.
enum Recorded {
    /// Recorded (and decided): its id.
    Id(String),
    /// Refused before anything was recorded: the words, and the error (its status).
    Refused(String, ServerError),
}

/// The words of a redemption refused at once: the core's refusal (`points_insufficient`, `out_of_stock`,
/// `unknown_item`) as the counter says it, else the error's words and code.
fn refusal_words(
    console: &Console,
    staffer: &Staffer,
    e: &ServerError,
    volunteer: &str,
    item: &str,
    quantity: u32,
) -> Result<String> {
    let tr = staffer.tr();
    if e.code == ErrorCode::UnknownCode {
        return Ok(tr.t("shop.bad_item").to_string());
    }
    let Some(status) = e.code.code().parse::<RedemptionStatus>().ok().filter(|s| *s != RedemptionStatus::Pending)
    else {
        return Ok(format!("{} ({})", tr.error(e.code), e.code.code()));
    };
    let name =
        console.replicas.with(&staffer.staff.community_id, |store| Ok(item_name(&tr, store.settings(), item)))?;
    Ok(tr
        .t("shop.refused_now")
        .replace("{reason}", status_words(&tr, &status))
        .replace("{volunteer}", volunteer)
        .replace("{item}", &name)
        .replace("{quantity}", &quantity.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(volunteer: &str, item: &str, quantity: &str) -> RedeemForm {
        RedeemForm { csrf: String::new(), volunteer: volunteer.into(), item: item.into(), quantity: quantity.into() }
    }

    #[test]
    fn the_redemption_form_is_read_and_bounded() {
        assert_eq!(read_redeem(&form(" 李志愿 ", "rice_5kg", "2")), Ok(("李志愿".into(), "rice_5kg".into(), 2)));
        assert_eq!(read_redeem(&form("", "rice_5kg", "1")), Err("shop.bad_volunteer"));
        assert_eq!(read_redeem(&form("李", "", "1")), Err("shop.bad_item"));
        for bad in ["0", "100", "-1", "two", ""] {
            assert_eq!(read_redeem(&form("李", "rice_5kg", bad)), Err("shop.bad_quantity"), "{bad}");
        }
        for key in ["shop.bad_volunteer", "shop.bad_item", "shop.bad_quantity"] {
            assert!(WORDS.iter().any(|(k, _, _)| *k == key), "{key}");
        }
    }

    #[test]
    fn an_outcome_says_the_servers_decision() {
        let settings = CommunitySettings::defaults("c1", "幸福社区", "Asia/Shanghai");
        let zh = Tr::new(super::super::i18n::Lang::Zh);
        let mut r = Redemption {
            redemption_id: "r1".into(),
            volunteer: "李志愿".into(),
            item: "towel".into(),
            quantity: 2,
            points: 40,
            status: RedemptionStatus::Confirmed,
            balance: 5,
        };
        let confirmed = outcome(&zh, &settings, &r);
        assert!(confirmed.confirmed);
        assert_eq!(confirmed.words, "兑换成功：李志愿 兑换 毛巾 × 2，扣除 40 积分，剩余 5 积分。");
        // Recorded, then refused by the server (another counter's redemption was decided first).
        r.status = RedemptionStatus::PointsInsufficient;
        let refused = outcome(&zh, &settings, &r);
        assert!(!refused.confirmed);
        assert_eq!(refused.words, "未兑换：积分不足（李志愿，毛巾 × 2）。兑换记录已保留。");
        r.status = RedemptionStatus::OutOfStock;
        assert!(outcome(&zh, &settings, &r).words.contains("库存不足"));
        r.status = RedemptionStatus::Pending;
        assert_eq!(outcome(&zh, &settings, &r).words, "兑换已登记，等待服务器确认。");
    }

    #[test]
    fn hours_have_one_decimal() {
        assert_eq!(hours(0), "0.0");
        assert_eq!(hours(90), "1.5");
        assert_eq!(hours(125), "2.0");
    }
}
