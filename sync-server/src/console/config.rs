//! The community's configuration of service orders, the love supermarket and the two-way evaluation, for admin
//! and station staff: the service catalogue (names, points, minutes; add, remove), the supermarket's items
//! (names, point price, stock; add, remove), the days an order is due in, and the items of the residents'
//! survey and the aspects departments are rated on (双评议; names; add, remove). The form is read into the whole configuration and
//! saved through the same validation and revision check as `gridline-server admin config set`
//! (`crate::config`), so the console and the command refuse the same files alike: a bad value is named in
//! words, and a page opened before someone else saved is refused as stale rather than overwriting them.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gridline_core::model::community::{CatalogueEntry, ServiceOffer, ShopItem};
use gridline_core::model::CommunitySettings;
use gridline_core::ErrorCode;
use serde::Deserialize;

use super::i18n::Words;
use super::page::{error_page, may_administer, render, Chrome};
use super::session::Staffer;
use super::Console;
use crate::error::{Result, ServerError};

/// The configuration routes.
pub fn routes() -> super::Routes {
    use axum::routing::get;
    super::Routes::new().route("/config", get(page).post(save).layer(DefaultBodyLimit::max(BODY_LIMIT)))
}

/// Form fields read at most (a catalogue and a shop of a few hundred rows each).
const MAX_FORM_FIELDS: usize = 4_000;
/// Rows of one table read at most (the indexes a form may name).
const MAX_ROWS: usize = 500;
const BODY_LIMIT: usize = 256 * 1024;

/// The words of the configuration page.
pub const WORDS: Words = &[
    ("nav.config", "配置", "Configuration"),
    ("config.title", "服务与积分配置", "Services and points configuration"),
    ("config.services", "服务目录", "Service catalogue"),
    ("config.items", "爱心超市商品", "Love supermarket items"),
    ("config.code", "编码", "Code"),
    ("config.name_zh", "中文名称", "Chinese name"),
    ("config.name_en", "英文名称", "English name"),
    ("config.points", "积分", "Points"),
    ("config.minutes", "服务时长（分钟）", "Minutes"),
    ("config.price", "所需积分", "Price (points)"),
    ("config.stock", "累计入库", "Stock taken in"),
    (
        "config.stock_hint",
        "补货时调高累计入库数量；剩余库存 = 累计入库 − 已兑换数量。",
        "Raise the stock taken in when restocking; what is left is that less the units redeemed.",
    ),
    ("config.remove", "删除", "Remove"),
    ("config.add_service", "新增服务", "Add a service"),
    ("config.add_item", "新增商品", "Add an item"),
    ("config.order_due_days", "订单默认完成期限（天）", "Days an order is due in"),
    ("config.save", "保存配置", "Save the configuration"),
    ("config.saved", "配置已保存。", "Configuration saved."),
    ("config.revision", "版本", "Revision"),
    (
        "config.read_only",
        "只有管理员和社区工作站可以修改配置。",
        "Only administrators and the work station change the configuration.",
    ),
    (
        "config.stale",
        "配置在您打开此页后已被他人修改，未保存。请重新打开此页后再修改。",
        "Someone changed the configuration after you opened this page; nothing was saved. Open the page again \
         and redo your change.",
    ),
    (
        "config.bad_number",
        "“{field}”须为不小于 0 的整数：{value}",
        "“{field}” must be a whole number, 0 or more: {value}",
    ),
    ("config.invalid", "配置有误，未保存：{reason}", "The configuration is not valid; nothing was saved: {reason}"),
    ("config.empty_row", "（留空则不新增）", "(leave empty to add nothing)"),
    ("config.survey_items", "居民满意度测评项目", "Residents' survey items"),
    ("config.department_aspects", "部门评议项目", "Department rating aspects"),
    ("config.add_survey_item", "新增测评项目", "Add a survey item"),
    ("config.add_aspect", "新增评议项目", "Add an aspect"),
    (
        "config.evaluation_hint",
        "每项按 1–5 分作答；调整项目会影响本年度之后的测评。",
        "Each is answered 1 to 5; a change applies to the surveys and ratings recorded after it.",
    ),
];

/// 403 for anyone but admin and station staff.
fn forbidden() -> ServerError {
    ServerError::new(StatusCode::FORBIDDEN, ErrorCode::ForbiddenDocument, "only admin and station staff configure")
}

/// One service as the form shows it (text, so a refused value comes back as typed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceRow {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub points: String,
    pub minutes: String,
    pub remove: bool,
}

/// One item as the form shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemRow {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub price: String,
    pub stock: String,
    pub remove: bool,
}

/// One survey item or department aspect as the form shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntryRow {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub remove: bool,
}

impl EntryRow {
    fn of(e: &CatalogueEntry) -> EntryRow {
        EntryRow { code: e.code.clone(), name_zh: e.name_zh.clone(), name_en: e.name_en.clone(), remove: false }
    }

    fn set(&mut self, field: &str, v: String) {
        match field {
            "code" => self.code = v,
            "name_zh" => self.name_zh = v,
            "name_en" => self.name_en = v,
            "remove" => self.remove = true,
            _ => {}
        }
    }

    fn is_blank(&self) -> bool {
        self.code.is_empty() && self.name_zh.is_empty() && self.name_en.is_empty()
    }

    /// The entries of `rows` not marked for removal; `base` when the form posted no row of the table (a form
    /// from before the table existed).
    fn entries(rows: &[EntryRow], base: &[CatalogueEntry]) -> Vec<CatalogueEntry> {
        if rows.is_empty() {
            return base.to_vec();
        }
        rows.iter()
            .filter(|r| !r.remove)
            .map(|r| CatalogueEntry { code: r.code.clone(), name_zh: r.name_zh.clone(), name_en: r.name_en.clone() })
            .collect()
    }
}

/// The form's values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filled {
    pub csrf: String,
    pub revision: String,
    pub services: Vec<ServiceRow>,
    pub items: Vec<ItemRow>,
    pub order_due_days: String,
    pub survey_items: Vec<EntryRow>,
    pub department_aspects: Vec<EntryRow>,
}

impl Filled {
    /// The form as it shows `settings` at `revision`.
    pub fn of(settings: &CommunitySettings, revision: u64) -> Filled {
        Filled {
            csrf: String::new(),
            revision: revision.to_string(),
            services: settings
                .service_catalogue
                .iter()
                .map(|s| ServiceRow {
                    code: s.code.clone(),
                    name_zh: s.name_zh.clone(),
                    name_en: s.name_en.clone(),
                    points: s.points.to_string(),
                    minutes: s.minutes.to_string(),
                    remove: false,
                })
                .collect(),
            items: settings
                .shop_items
                .iter()
                .map(|i| ItemRow {
                    code: i.code.clone(),
                    name_zh: i.name_zh.clone(),
                    name_en: i.name_en.clone(),
                    price: i.price_points.to_string(),
                    stock: i.stock.to_string(),
                    remove: false,
                })
                .collect(),
            order_due_days: settings.order_due_days.to_string(),
            survey_items: settings.survey_items.iter().map(EntryRow::of).collect(),
            department_aspects: settings.department_aspects.iter().map(EntryRow::of).collect(),
        }
    }

    /// Reads the posted form: `service-N-FIELD`, `item-N-FIELD`, `survey-N-FIELD`, `aspect-N-FIELD` (rows by
    /// index; the blank rows a page offers for adding are left out), `order_due_days`, `revision`, `csrf`.
    /// Bounded in fields and rows.
    pub fn read(pairs: Vec<(String, String)>) -> Filled {
        let mut f = Filled::default();
        let mut services: BTreeMap<usize, ServiceRow> = BTreeMap::new();
        let mut items: BTreeMap<usize, ItemRow> = BTreeMap::new();
        let mut survey_items: BTreeMap<usize, EntryRow> = BTreeMap::new();
        let mut aspects: BTreeMap<usize, EntryRow> = BTreeMap::new();
        for (k, v) in pairs.into_iter().take(MAX_FORM_FIELDS) {
            let v: String = v.chars().take(200).collect();
            match k.as_str() {
                "csrf" => f.csrf = v,
                "revision" => f.revision = v.trim().to_string(),
                "order_due_days" => f.order_due_days = v.trim().to_string(),
                _ => {
                    let mut parts = k.splitn(3, '-');
                    let (Some(table), Some(n), Some(field)) = (parts.next(), parts.next(), parts.next()) else {
                        continue;
                    };
                    let Some(n) = n.parse::<usize>().ok().filter(|n| *n < MAX_ROWS) else { continue };
                    let v = v.trim().to_string();
                    match table {
                        "service" => {
                            let r = services.entry(n).or_default();
                            match field {
                                "code" => r.code = v,
                                "name_zh" => r.name_zh = v,
                                "name_en" => r.name_en = v,
                                "points" => r.points = v,
                                "minutes" => r.minutes = v,
                                "remove" => r.remove = true,
                                _ => {}
                            }
                        }
                        "item" => {
                            let r = items.entry(n).or_default();
                            match field {
                                "code" => r.code = v,
                                "name_zh" => r.name_zh = v,
                                "name_en" => r.name_en = v,
                                "price" => r.price = v,
                                "stock" => r.stock = v,
                                "remove" => r.remove = true,
                                _ => {}
                            }
                        }
                        "survey" => survey_items.entry(n).or_default().set(field, v),
                        "aspect" => aspects.entry(n).or_default().set(field, v),
                        _ => {}
                    }
                }
            }
        }
        let blank_service = |r: &ServiceRow| {
            r.code.is_empty()
                && r.name_zh.is_empty()
                && r.name_en.is_empty()
                && r.points.is_empty()
                && r.minutes.is_empty()
        };
        let blank_item = |r: &ItemRow| {
            r.code.is_empty()
                && r.name_zh.is_empty()
                && r.name_en.is_empty()
                && r.price.is_empty()
                && r.stock.is_empty()
        };
        f.services = services.into_values().filter(|r| !blank_service(r)).collect();
        f.items = items.into_values().filter(|r| !blank_item(r)).collect();
        f.survey_items = survey_items.into_values().filter(|r| !r.is_blank()).collect();
        f.department_aspects = aspects.into_values().filter(|r| !r.is_blank()).collect();
        f
    }

    /// The whole configuration the form asks for: `base` with its catalogue, items and due days replaced (the
    /// rows marked for removal left out). A number that does not parse is refused with the field's key and
    /// the value; everything else is the shared validation's to judge.
    pub fn apply(&self, base: &CommunitySettings) -> std::result::Result<CommunitySettings, (&'static str, String)> {
        let number = |key: &'static str, text: &str| {
            text.parse::<u32>().map_err(|_| (key, text.chars().take(40).collect::<String>()))
        };
        let mut settings = base.clone();
        settings.service_catalogue = self
            .services
            .iter()
            .filter(|r| !r.remove)
            .map(|r| {
                Ok(ServiceOffer {
                    code: r.code.clone(),
                    name_zh: r.name_zh.clone(),
                    name_en: r.name_en.clone(),
                    points: number("config.points", &r.points)?,
                    minutes: number("config.minutes", &r.minutes)?,
                })
            })
            .collect::<std::result::Result<_, _>>()?;
        settings.shop_items = self
            .items
            .iter()
            .filter(|r| !r.remove)
            .map(|r| {
                Ok(ShopItem {
                    code: r.code.clone(),
                    name_zh: r.name_zh.clone(),
                    name_en: r.name_en.clone(),
                    price_points: number("config.price", &r.price)?,
                    stock: number("config.stock", &r.stock)?,
                })
            })
            .collect::<std::result::Result<_, _>>()?;
        settings.order_due_days = number("config.order_due_days", &self.order_due_days)?;
        settings.survey_items = EntryRow::entries(&self.survey_items, &base.survey_items);
        settings.department_aspects = EntryRow::entries(&self.department_aspects, &base.department_aspects);
        Ok(settings)
    }
}

/// The validation's problems (`shop_items[5].price_points: 1 to 100000`) with each row named by its table's
/// words and its code, as the page shows them (`爱心超市商品「soap」price_points: 1 to 100000`).
fn rows_named(problems: &str, settings: &CommunitySettings, tr: super::i18n::Tr) -> String {
    let mut text = problems.to_string();
    let tables = [
        (
            "service_catalogue",
            "config.services",
            settings.service_catalogue.iter().map(|s| s.code.as_str()).collect::<Vec<_>>(),
        ),
        ("shop_items", "config.items", settings.shop_items.iter().map(|i| i.code.as_str()).collect()),
        ("survey_items", "config.survey_items", settings.survey_items.iter().map(|e| e.code.as_str()).collect()),
        (
            "department_aspects",
            "config.department_aspects",
            settings.department_aspects.iter().map(|e| e.code.as_str()).collect(),
        ),
    ];
    for (field, key, codes) in tables {
        for (n, code) in codes.iter().enumerate().rev() {
            let code = if code.is_empty() { "—" } else { code };
            text = text.replace(&format!("{field}[{n}]."), &format!("{}「{code}」", tr.t(key)));
            text = text.replace(&format!("{field}[{n}]"), &format!("{}「{code}」", tr.t(key)));
        }
    }
    text
}

#[derive(Template)]
#[template(path = "console/config.html")]
struct ConfigPage {
    chrome: Chrome,
    f: Filled,
    message: Option<String>,
    error: Option<String>,
}

/// The configuration as stored and its revision.
fn current(console: &Console, community_id: &str) -> Result<(CommunitySettings, u64)> {
    let shown = crate::config::show(&console.app.engine, community_id)?;
    Ok((shown.settings, shown.revision))
}

async fn view(
    console: &Arc<Console>,
    staffer: &Staffer,
    status: StatusCode,
    filled: Option<Filled>,
    message: Option<String>,
    error: Option<String>,
) -> Response {
    let chrome = Chrome::of(staffer, "config", "/console/config");
    let f = match filled {
        Some(f) => f,
        None => {
            let community = staffer.staff.community_id.clone();
            match console.blocking(move |c| current(c, &community)).await {
                Ok((settings, revision)) => Filled::of(&settings, revision),
                Err(e) => return error_page(chrome, &e),
            }
        }
    };
    (status, render(&ConfigPage { chrome, f, message, error })).into_response()
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    saved: Option<String>,
}

/// `GET /console/config`.
pub async fn page(State(console): State<Arc<Console>>, staffer: Staffer, Query(q): Query<PageQuery>) -> Response {
    if !may_administer(staffer.staff.role) {
        return error_page(Chrome::of(&staffer, "config", "/console/config"), &forbidden());
    }
    let message = q.saved.map(|_| staffer.tr().t("config.saved").to_string());
    view(&console, &staffer, StatusCode::OK, None, message, None).await
}

/// What a save came to.
enum Saved {
    Ok,
    /// Refused: the words, the status.
    Refused(String, StatusCode),
}

/// `POST /console/config`: saves the form through the shared validation and revision check.
pub async fn save(
    State(console): State<Arc<Console>>,
    staffer: Staffer,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let chrome = Chrome::of(&staffer, "config", "/console/config");
    if !may_administer(staffer.staff.role) {
        return error_page(chrome, &forbidden());
    }
    let f = Filled::read(pairs);
    if let Err(e) = staffer.check_csrf(&f.csrf) {
        return error_page(chrome, &e);
    }
    let tr = staffer.tr();
    let staffer = Arc::new(staffer);
    let (s, form) = (staffer.clone(), f.clone());
    let saved = console
        .blocking(move |c| {
            let community = s.staff.community_id.clone();
            let (base, _) = current(c, &community)?;
            let settings = match form.apply(&base) {
                Ok(settings) => settings,
                Err((key, value)) => {
                    let words = tr.t("config.bad_number").replace("{field}", tr.t(key)).replace("{value}", &value);
                    return Ok(Saved::Refused(words, StatusCode::BAD_REQUEST));
                }
            };
            let Ok(revision) = form.revision.parse::<u64>() else {
                return Ok(Saved::Refused(tr.t("config.stale").to_string(), StatusCode::CONFLICT));
            };
            let config = crate::config::ConfigDocument { revision, settings };
            match crate::config::set(&c.app.engine, &community, &config) {
                Ok(_) => {}
                // The revision the page was read at is no longer the stored one.
                Err(e) if e.code == ErrorCode::ActionNotAllowed => {
                    return Ok(Saved::Refused(tr.t("config.stale").to_string(), StatusCode::CONFLICT));
                }
                Err(e) if e.code == ErrorCode::InvalidInput => {
                    let problems = e.message.strip_prefix("configuration: ").unwrap_or(&e.message);
                    let reason = rows_named(problems, &config.settings, tr);
                    let words = tr.t("config.invalid").replace("{reason}", &reason);
                    return Ok(Saved::Refused(words, StatusCode::BAD_REQUEST));
                }
                Err(e) => return Err(e),
            }
            let settings = &config.settings;
            let detail = format!(
                "services {} items {} due_days {} survey_items {} department_aspects {}",
                settings.service_catalogue.len(),
                settings.shop_items.len(),
                settings.order_due_days,
                settings.survey_items.len(),
                settings.department_aspects.len()
            );
            c.app.engine.storage().append_audit(&s.audit("config_set", &community, &detail))?;
            super::replica::announce(c, super::replica::feed(c, &community)?);
            Ok(Saved::Ok)
        })
        .await;
    match saved {
        Ok(Saved::Ok) => Redirect::to("/console/config?saved=1").into_response(),
        Ok(Saved::Refused(words, status)) => view(&console, &staffer, status, Some(f), None, Some(words)).await,
        Err(e) => error_page(chrome, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// The survey's items and the departments' aspects (双评议) are read like the catalogues; a form that posts
    /// none of their rows keeps them as they were.
    #[test]
    fn the_evaluation_items_are_read_and_kept_when_not_posted() {
        let base = CommunitySettings::defaults("c1", "幸福社区", "Asia/Shanghai");
        let list = [
            ("order_due_days", "3"),
            ("survey-0-code", "environment"),
            ("survey-0-name_zh", "环境整治"),
            ("survey-0-name_en", "Environment"),
            ("survey-1-code", "public_order"),
            ("survey-1-name_zh", "治安秩序"),
            ("survey-1-name_en", "Public order"),
            ("survey-1-remove", "1"),
            ("survey-2-code", ""),
            ("aspect-0-code", "overall"),
            ("aspect-0-name_zh", "总体评价"),
            ("aspect-0-name_en", "Overall"),
        ];
        let f = Filled::read(pairs(&list));
        let settings = f.apply(&base).expect("applies");
        assert_eq!(settings.survey_items.len(), 1);
        assert_eq!(
            (settings.survey_items[0].code.as_str(), settings.survey_items[0].name_zh.as_str()),
            ("environment", "环境整治")
        );
        assert_eq!(settings.department_aspects.iter().map(|a| a.code.as_str()).collect::<Vec<_>>(), ["overall"]);
        let without = Filled::read(pairs(&[("order_due_days", "3")]));
        let kept = without.apply(&base).expect("applies");
        assert_eq!(
            (kept.survey_items.clone(), kept.department_aspects.clone()),
            (base.survey_items.clone(), base.department_aspects.clone())
        );
        assert_eq!(Filled::of(&base, 1).survey_items.len(), 10);
    }

    #[test]
    fn the_form_reads_into_the_whole_configuration() {
        let base = CommunitySettings::defaults("c1", "幸福社区", "Asia/Shanghai");
        let mut list = vec![("csrf", "t"), ("revision", "7"), ("order_due_days", " 5 ")];
        list.extend([
            ("service-0-code", "meal_delivery"),
            ("service-0-name_zh", "助餐送餐"),
            ("service-0-name_en", "Meal delivery"),
            ("service-0-points", "10"),
            ("service-0-minutes", "30"),
            ("service-1-code", "haircut"),
            ("service-1-name_zh", "理发"),
            ("service-1-name_en", "Haircut"),
            ("service-1-points", "8"),
            ("service-1-minutes", "40"),
            ("service-1-remove", "1"),
            // The blank row offered for adding.
            ("service-2-code", ""),
            ("service-2-name_zh", " "),
            ("item-0-code", "rice_5kg"),
            ("item-0-name_zh", "大米 5 公斤"),
            ("item-0-name_en", "Rice, 5 kg"),
            ("item-0-price", "50"),
            ("item-0-stock", "12"),
            ("item-999999-code", "beyond"),
        ]);
        let f = Filled::read(pairs(&list));
        assert_eq!((f.csrf.as_str(), f.revision.as_str()), ("t", "7"));
        assert_eq!(f.services.len(), 2);
        assert_eq!(f.items.len(), 1, "a row index beyond the bound is not read");
        let settings = f.apply(&base).expect("numbers parse");
        assert_eq!(settings.service_catalogue.iter().map(|s| s.code.as_str()).collect::<Vec<_>>(), ["meal_delivery"]);
        assert_eq!(settings.shop_items[0].stock, 12);
        assert_eq!(settings.order_due_days, 5);
        assert_eq!(settings.incident_categories, base.incident_categories, "the rest is kept as it was");

        let mut bad = f.clone();
        bad.items[0].stock = "-3".into();
        assert_eq!(bad.apply(&base).err(), Some(("config.stock", "-3".to_string())));
        // A removed row's bad number does not matter.
        let mut removed = bad.clone();
        removed.items[0].remove = true;
        assert!(removed.apply(&base).is_ok());
    }

    #[test]
    fn the_validations_rows_are_named_by_their_codes() {
        let settings = CommunitySettings::defaults("c1", "幸福社区", "Asia/Shanghai");
        let zh = super::super::i18n::Tr::new(super::super::i18n::Lang::Zh);
        let named = rows_named(
            "shop_items[1].price_points: 1 to 100000; service_catalogue[0].points: 1 to 100000",
            &settings,
            zh,
        );
        assert_eq!(
            named,
            "爱心超市商品「cooking_oil」price_points: 1 to 100000; 服务目录「meal_delivery」points: 1 to 100000"
        );
    }

    #[test]
    fn a_form_shows_the_configuration_it_saves() {
        let base = CommunitySettings::defaults("c1", "幸福社区", "Asia/Shanghai");
        let f = Filled::of(&base, 3);
        assert_eq!(f.revision, "3");
        assert_eq!(f.apply(&base).expect("the form of a configuration"), base);
        for key in ["config.points", "config.minutes", "config.price", "config.stock", "config.order_due_days"] {
            assert!(WORDS.iter().any(|(k, _, _)| *k == key), "{key}");
        }
    }
}
