//! A household (linked from the queue and the incident page): its address, residents, recent check-ins and
//! what is due, from the core's `household_detail`. Residents' ID numbers, phone numbers, notes and
//! special-care tags (health conditions) are masked by default; a reveal is a CSRF-checked POST that must
//! give a reason, is written to the audit log before anything is shown, and shows the full values on that
//! response only (never cached): the next visit is masked again.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use gridline_core::model::community::SpecialCareCategory;
use gridline_core::model::{CommunitySettings, Resident};
use gridline_core::schedule::DueContact;
use gridline_core::store::HouseholdDetail;
use gridline_core::ErrorCode;
use serde::Deserialize;

use super::i18n::{Lang, Tr, Words};
use super::page::{error_page, local_time, render, Chrome};
use super::session::Staffer;
use super::Console;
use crate::error::{Result, ServerError};

/// The household routes.
pub fn routes() -> super::Routes {
    use axum::routing::{get, post};
    super::Routes::new()
        .route("/households/{code}", get(page))
        .route("/households/{code}/reveal", post(reveal).layer(DefaultBodyLimit::max(BODY_LIMIT)))
}

/// Longest reason for a reveal, in characters.
pub const MAX_REASON_CHARS: usize = 200;
const BODY_LIMIT: usize = 8 * 1024;

/// The words of the household page.
pub const WORDS: Words = &[
    ("household.title", "户详情", "Household"),
    ("household.address", "地址", "Address"),
    ("household.building", "楼栋", "Building"),
    ("household.unit", "单元", "Unit"),
    ("household.floor", "楼层", "Floor"),
    ("household.room", "室", "Room"),
    ("household.moved_out", "已迁出", "Moved out"),
    ("household.residents", "居民", "Residents"),
    ("household.name", "姓名", "Name"),
    ("household.gender", "性别", "Gender"),
    ("household.male", "男", "Male"),
    ("household.female", "女", "Female"),
    ("household.birth_year", "出生年份", "Born"),
    ("household.phone", "电话", "Phone"),
    ("household.id_number", "身份证号", "ID number"),
    ("household.tags", "特殊人群类别", "Special-care tags"),
    ("household.notes", "备注", "Notes"),
    ("household.tags_recorded", "已登记", "Recorded:"),
    ("household.tags_unit", "项", "tag(s)"),
    ("household.notes_hidden", "有备注（已隐藏）", "Has notes (hidden)"),
    (
        "household.masked",
        "身份证号、电话、特殊人群类别和备注已隐藏。",
        "ID numbers, phones, special-care tags and notes are hidden.",
    ),
    ("household.reveal", "显示完整信息", "Show full details"),
    ("household.reason", "查看原因（必填，将记入操作日志）", "Reason (required; written to the audit log)"),
    ("household.reason_rule", "请填写查看原因（1 到 200 个字符）。", "Give a reason (1 to 200 characters)."),
    (
        "household.revealed",
        "已显示完整信息，仅本页有效；查看原因已记入操作日志：",
        "Full details shown on this page only; the reason was written to the audit log:",
    ),
    ("household.hide", "重新隐藏", "Hide again"),
    ("household.check_ins", "最近走访", "Recent check-ins"),
    ("household.no_check_ins", "暂无走访记录。", "No check-in yet."),
    ("household.kind", "方式", "Kind"),
    ("household.outcome", "结果", "Outcome"),
    ("household.author", "记录人", "Recorded by"),
    ("household.due", "今日应办", "Due on today's rounds"),
    ("household.care_plan", "关爱计划", "Care plan"),
    ("household.nothing_due", "今日无应办事项。", "Nothing due today."),
    ("household.contact", "联系方式", "Contact"),
    ("household.due_date", "应办日期", "Due"),
    ("household.overdue_days", "逾期天数", "Days overdue"),
    ("household.resident", "居民", "Resident"),
    ("household.last_contact", "最近一次见到", "Last seen"),
    ("household.never", "从未", "Never"),
    ("household.kind.door", "上门", "Door visit"),
    ("household.kind.phone", "电话", "Phone call"),
    ("household.kind.observed", "路遇", "Seen in passing"),
    ("household.kind.absent", "无人在家", "Nobody home"),
    ("household.outcome.well", "一切正常", "All well"),
    ("household.outcome.attention", "需要关注", "Needs attention"),
    ("household.outcome.problem", "发现问题", "Problem found"),
    ("household.contact.phone", "电话问候", "Phone call"),
    ("household.contact.door", "上门探访", "Door visit"),
    ("household.contact.home", "入户访视", "Home visit"),
    ("household.contact.rotation", "轮访", "Rotation"),
];

/// Which personal number is masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    /// A resident ID number: its first 4 and last 4 characters show (`3401**********1234`).
    IdNumber,
    /// A phone number: its first 3 and last 4 characters show (`138****5678`).
    Phone,
}

/// A personal number with only its ends showing, every other character a `*`. A value too short to keep
/// anything hidden between its ends is masked whole, so a short value never shows in full.
pub fn mask(value: &str, kind: Secret) -> String {
    let (head, tail) = match kind {
        Secret::IdNumber => (4, 4),
        Secret::Phone => (3, 4),
    };
    let chars: Vec<char> = value.trim().chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let hidden = chars.len() - head - tail;
    let mut out: String = chars[..head].iter().collect();
    out.push_str(&"*".repeat(hidden));
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// One resident as shown (masked or not).
pub struct ResidentRow {
    pub name: String,
    pub gender: String,
    pub birth_year: u16,
    pub phone: String,
    pub id_number: String,
    pub tags: String,
    pub notes: String,
    pub moved_out: bool,
}

/// One check-in as shown.
pub struct CheckInRow {
    pub at: String,
    pub kind: String,
    pub outcome: String,
    pub author: String,
    pub note: String,
}

/// One due contact as shown; the tag only when revealed (a tag is a health condition).
pub struct DueRow {
    pub contact: String,
    pub resident: String,
    pub tag: String,
    pub due_date: String,
    pub overdue_days: u32,
}

#[derive(Template)]
#[template(path = "console/household.html")]
struct HouseholdPage {
    chrome: Chrome,
    d: HouseholdDetail,
    residents: Vec<ResidentRow>,
    check_ins: Vec<CheckInRow>,
    due: Vec<DueRow>,
    care_plan: Vec<DueRow>,
    last_contact: String,
    revealed: bool,
    reason: String,
    error: Option<String>,
}

fn tag_name<'a>(categories: &'a [SpecialCareCategory], code: &'a str, lang: Lang) -> &'a str {
    categories.iter().find(|c| c.code == code).map_or(code, |c| match lang {
        Lang::Zh => c.name_zh.as_str(),
        Lang::En => c.name_en.as_str(),
    })
}

fn contact_word(tr: &Tr, c: DueContact) -> &'static str {
    match c {
        DueContact::Phone => tr.t("household.contact.phone"),
        DueContact::Door => tr.t("household.contact.door"),
        DueContact::Home => tr.t("household.contact.home"),
        DueContact::Rotation => tr.t("household.contact.rotation"),
    }
}

/// A resident's row: the full values when revealed, else masked numbers, a count of tags and no notes.
fn resident_row(r: Resident, tr: &Tr, settings: &CommunitySettings, revealed: bool) -> ResidentRow {
    let gender = match r.gender.as_str() {
        "M" => tr.t("household.male").to_string(),
        "F" => tr.t("household.female").to_string(),
        other => other.to_string(),
    };
    let (phone, id_number, tags, notes) = if revealed {
        let tags: Vec<&str> = r.tags.iter().map(|t| tag_name(&settings.categories, t, tr.lang)).collect();
        (r.phone.unwrap_or_default(), r.id_number.unwrap_or_default(), tags.join("、"), r.notes)
    } else {
        let notes = if r.notes.trim().is_empty() { String::new() } else { tr.t("household.notes_hidden").to_string() };
        (
            r.phone.as_deref().map(|p| mask(p, Secret::Phone)).unwrap_or_default(),
            r.id_number.as_deref().map(|i| mask(i, Secret::IdNumber)).unwrap_or_default(),
            format!("{} {} {}", tr.t("household.tags_recorded"), r.tags.len(), tr.t("household.tags_unit")),
            notes,
        )
    };
    ResidentRow {
        name: r.name,
        gender,
        birth_year: r.birth_year,
        phone,
        id_number,
        tags,
        notes,
        moved_out: r.moved_out,
    }
}

/// The page from what the replica holds.
fn build(
    chrome: Chrome,
    d: HouseholdDetail,
    residents: Vec<Resident>,
    settings: &CommunitySettings,
    revealed: bool,
) -> HouseholdPage {
    let tr = chrome.tr;
    let tz = settings.tz();
    let tag = |t: &Option<String>| match (revealed, t) {
        (true, Some(code)) => tag_name(&settings.categories, code, tr.lang).to_string(),
        _ => String::new(),
    };
    // The core's detail orders residents current first; the full records follow the same order by name.
    let mut by_name: HashMap<String, Resident> = residents.into_iter().map(|r| (r.name.clone(), r)).collect();
    let residents = d
        .residents
        .iter()
        .filter_map(|s| by_name.remove(&s.name))
        .map(|r| resident_row(r, &tr, settings, revealed))
        .collect();
    let check_ins = d
        .check_ins
        .iter()
        .map(|c| CheckInRow {
            at: local_time(&c.at, &tz),
            kind: tr.t(&format!("household.kind.{}", c.kind.code())).to_string(),
            outcome: tr.t(&format!("household.outcome.{}", c.outcome.code())).to_string(),
            author: c.author.clone(),
            note: c.note.clone(),
        })
        .collect();
    let due = d
        .due
        .iter()
        .map(|r| DueRow {
            contact: contact_word(&tr, r.contact).to_string(),
            resident: String::new(),
            tag: tag(&r.tag),
            due_date: r.due_date.to_string(),
            overdue_days: r.overdue_days,
        })
        .collect();
    let care_plan = d
        .care_plan
        .iter()
        .map(|r| DueRow {
            contact: contact_word(&tr, r.contact).to_string(),
            resident: r.resident.clone().unwrap_or_default(),
            tag: tag(&r.tag),
            due_date: r.due_date.to_string(),
            overdue_days: r.overdue_days,
        })
        .collect();
    let last_contact = d.last_contact.map_or_else(|| tr.t("household.never").to_string(), |day| day.to_string());
    HouseholdPage {
        chrome,
        d,
        residents,
        check_ins,
        due,
        care_plan,
        last_contact,
        revealed,
        reason: String::new(),
        error: None,
    }
}

type Loaded = (HouseholdDetail, Vec<Resident>, CommunitySettings);

/// The household from the replica; an unknown (or malformed) code is not found.
fn load(console: &Console, community_id: &str, code: &str) -> Result<Loaded> {
    if !gridline_core::docs::valid_code(code) {
        return Err(ServerError::not_found("no such household"));
    }
    console.replicas.with(community_id, |store| {
        let d = match store.household_detail(code) {
            Ok(d) => d,
            Err(e) if e.code() == ErrorCode::HouseholdNotFound => {
                return Err(ServerError::not_found("no such household"));
            }
            Err(e) => return Err(e.into()),
        };
        Ok((d, store.residents(Some(code))?, store.settings().clone()))
    })
}

/// A page of residents' data: never kept by the browser or a proxy.
fn private(status: StatusCode, page: &HouseholdPage) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], render(page)).into_response()
}

/// `GET /console/households/{code}`: masked.
pub async fn page(State(console): State<Arc<Console>>, staffer: Staffer, Path(code): Path<String>) -> Response {
    let chrome = Chrome::of(&staffer, "queue", format!("/console/households/{}", super::page::url_encode(&code)));
    let community = staffer.staff.community_id.clone();
    match console.blocking(move |c| load(c, &community, &code)).await {
        Ok((d, residents, settings)) => private(StatusCode::OK, &build(chrome, d, residents, &settings, false)),
        Err(e) => error_page(chrome, &e),
    }
}

#[derive(Deserialize)]
pub struct RevealForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// A reveal's reason, trimmed: 1 to [`MAX_REASON_CHARS`] characters, no control characters.
fn check_reason(reason: &str) -> Option<String> {
    let reason = reason.trim();
    let fine =
        !reason.is_empty() && reason.chars().count() <= MAX_REASON_CHARS && !reason.chars().any(char::is_control);
    fine.then(|| reason.to_string())
}

/// `POST /console/households/{code}/reveal`: with the CSRF token and a reason, written to the audit log
/// (`reveal`, the household, the reason) before the unmasked page is answered.
pub async fn reveal(
    State(console): State<Arc<Console>>,
    staffer: Staffer,
    Path(code): Path<String>,
    Form(f): Form<RevealForm>,
) -> Response {
    let chrome = Chrome::of(&staffer, "queue", format!("/console/households/{}", super::page::url_encode(&code)));
    if let Err(e) = staffer.check_csrf(&f.csrf) {
        return error_page(chrome, &e);
    }
    let reason = check_reason(&f.reason);
    let entry = reason.as_ref().map(|r| staffer.audit("reveal", &code, r));
    let community = staffer.staff.community_id.clone();
    let loaded = console
        .blocking(move |c| {
            let loaded = load(c, &community, &code)?;
            if let Some(entry) = &entry {
                c.app.engine.storage().append_audit(entry)?;
            }
            Ok(loaded)
        })
        .await;
    let (d, residents, settings) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(chrome, &e),
    };
    match reason {
        Some(reason) => {
            let mut p = build(chrome, d, residents, &settings, true);
            p.reason = reason;
            private(StatusCode::OK, &p)
        }
        None => {
            let mut p = build(chrome, d, residents, &settings, false);
            p.error = Some(p.chrome.tr.t("household.reason_rule").to_string());
            private(StatusCode::BAD_REQUEST, &p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_show_only_their_ends() {
        assert_eq!(mask("340102194201011238", Secret::IdNumber), "3401**********1238");
        assert_eq!(mask("11010519491231002X", Secret::IdNumber), "1101**********002X");
        assert_eq!(mask("13812345678", Secret::Phone), "138****5678");
        assert_eq!(mask(" 0551-62345678 ", Secret::Phone), "055******5678");
    }

    #[test]
    fn short_values_are_masked_whole_and_nothing_leaks() {
        assert_eq!(mask("", Secret::Phone), "");
        assert_eq!(mask("1234567", Secret::Phone), "*******");
        assert_eq!(mask("12345678", Secret::IdNumber), "********");
        assert_eq!(mask("123456789", Secret::IdNumber), "1234*6789");
        // Characters, not bytes: a value in another script is cut on character boundaries.
        assert_eq!(mask("一二三四五六七八九", Secret::Phone), "一二三**六七八九");
        for value in ["13812345678", "340102194201011238"] {
            for kind in [Secret::Phone, Secret::IdNumber] {
                let masked = mask(value, kind);
                assert_eq!(masked.chars().count(), value.chars().count());
                assert_ne!(masked, value);
            }
        }
    }

    #[test]
    fn a_reveal_needs_a_reason_of_bounded_length() {
        assert_eq!(check_reason("  核实低保申请 ").as_deref(), Some("核实低保申请"));
        assert_eq!(check_reason("   "), None);
        assert_eq!(check_reason(&"因".repeat(MAX_REASON_CHARS + 1)), None);
        assert!(check_reason(&"因".repeat(MAX_REASON_CHARS)).is_some());
        assert_eq!(check_reason("a\u{0}b"), None);
    }
}
