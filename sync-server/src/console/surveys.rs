//! The two-way evaluation (双评议) in the console: the residents' survey of a year (居民满意度测评) — households
//! surveyed, duplicates left out and the average of each item, for the community and per grid — and the
//! community's department ratings (部门评议) with each aspect's score. Every figure is the core's
//! (`evaluation`) as the replica holds it. Committee and station staff record a department's rating here:
//! the replica prepares it as the account's change to the year's ratings document and the engine checks and
//! stores it like a phone's.

use std::sync::Arc;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Datelike;
use gridline_core::evaluation::{check_year, MAX_SCORE, MIN_SCORE};
use gridline_core::model::{Role, SurveySummary};
use gridline_core::ErrorCode;
use serde::Deserialize;

use super::i18n::{Tr, Words};
use super::page::{error_page, local_time, render, Chrome};
use super::session::Staffer;
use super::Console;
use crate::error::{Result, ServerError};

/// The surveys routes.
pub fn routes() -> super::Routes {
    use axum::routing::get;
    super::Routes::new().route("/surveys", get(page).post(rate).layer(DefaultBodyLimit::max(BODY_LIMIT)))
}

const BODY_LIMIT: usize = 8 * 1024;
/// Most form fields read (the department, the year, the CSRF token and the aspects' scores).
const MAX_FORM_FIELDS: usize = 64;

/// The words of the surveys page.
pub const WORDS: Words = &[
    ("nav.surveys", "双评议", "Evaluations"),
    ("surveys.title", "双评议", "Two-way evaluation"),
    ("surveys.year", "年度", "Year"),
    ("surveys.show", "查看", "Show"),
    ("surveys.survey", "居民满意度测评", "Residents' survey of the community"),
    ("surveys.grid", "网格", "Grid"),
    ("surveys.all", "全社区", "Whole community"),
    ("surveys.households", "测评户数", "Households surveyed"),
    ("surveys.duplicates", "重复测评（不计入）", "Duplicate surveys (not counted)"),
    ("surveys.average", "总平均分", "Average"),
    ("surveys.item", "测评项目", "Item"),
    ("surveys.no_survey", "本年度还没有居民满意度测评。", "No residents' survey recorded this year."),
    ("surveys.departments", "部门评议", "Department ratings"),
    ("surveys.department", "部门", "Department"),
    ("surveys.replaced", "被替换的评议", "Replaced ratings"),
    ("surveys.rated_by", "评议人", "Rated by"),
    ("surveys.rated_at", "评议时间", "Rated at"),
    ("surveys.no_departments", "本年度还没有部门评议。", "No department rated this year."),
    ("surveys.rate", "评议部门", "Rate a department"),
    ("surveys.rate_submit", "提交评议", "Record the rating"),
    (
        "surveys.rate_hint",
        "每项 1–5 分；同一部门本年度再次评议将替换之前的评议。",
        "Each aspect 1 to 5; rating a department again this year replaces the earlier rating.",
    ),
    (
        "surveys.read_only",
        "只有社居委和社区工作站可以评议部门。",
        "Only the residents' committee and the work station rate departments.",
    ),
    ("surveys.rated", "已记录对“{department}”的评议，平均 {average} 分。", "Rated “{department}”: average {average}."),
    ("surveys.bad_department", "请填写部门名称（1–64 个字）。", "Give the department's name (1 to 64 characters)."),
    ("surveys.bad_score", "每个评议项目须选 1–5 分。", "Choose a score from 1 to 5 for every aspect."),
    ("surveys.bad_year", "年度须在 2000–2100 之间。", "The year must be from 2000 to 2100."),
];

/// Whether a role rates departments (the ratings document's writers).
pub fn may_rate(role: Role) -> bool {
    matches!(role, Role::Committee | Role::Station)
}

/// One row of the survey table: a grid (or the whole community) and its figures.
pub struct SurveyRow {
    pub grid: String,
    pub households: u32,
    pub duplicates: u32,
    pub average: String,
    pub items: Vec<String>,
}

/// One department as listed.
pub struct DepartmentRow {
    pub department: String,
    pub average: String,
    pub replaced: u32,
    pub actor: String,
    pub at: String,
    pub scores: Vec<String>,
}

/// What the page shows, all from the replica.
pub struct Figures {
    pub year: u32,
    /// Item names (columns of the survey table).
    pub items: Vec<String>,
    /// Per grid, then the whole community.
    pub survey: Vec<SurveyRow>,
    pub surveyed: u32,
    /// Aspect names (columns of the department table and the form's fields).
    pub aspects: Vec<String>,
    pub departments: Vec<DepartmentRow>,
}

fn figure(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.2}"))
}

fn survey_row(tr: &Tr, s: &SurveySummary) -> SurveyRow {
    SurveyRow {
        grid: s.grid.clone().unwrap_or_else(|| tr.t("surveys.all").to_string()),
        households: s.households_surveyed,
        duplicates: s.duplicates,
        average: figure(s.average),
        items: s.items.iter().map(|i| figure(i.average)).collect(),
    }
}

/// Reads the page's figures of `year` from the replica of `community_id`.
pub fn load(console: &Console, community_id: &str, tr: Tr, year: u32) -> Result<Figures> {
    console.replicas.with(community_id, |store| {
        let settings = store.settings().clone();
        let report = store.survey_report(year, None)?;
        let departments = store.department_report(year)?;
        let tz = settings.tz();
        let mut survey: Vec<SurveyRow> = report.grids.iter().map(|g| survey_row(&tr, g)).collect();
        survey.push(survey_row(&tr, &report.total));
        Ok(Figures {
            year,
            items: settings.survey_items.iter().map(|i| tr.name(&i.name_zh, &i.name_en).to_string()).collect(),
            surveyed: report.total.households_surveyed,
            survey,
            aspects: settings.department_aspects.iter().map(|a| tr.name(&a.name_zh, &a.name_en).to_string()).collect(),
            departments: departments
                .departments
                .iter()
                .map(|d| DepartmentRow {
                    department: d.department.clone(),
                    average: figure(d.average),
                    replaced: d.replaced,
                    actor: d.actor.clone(),
                    at: local_time(&d.at, &tz),
                    scores: d.aspects.iter().map(|a| a.score.map_or("—".into(), |s| s.to_string())).collect(),
                })
                .collect(),
        })
    })
}

#[derive(Template)]
#[template(path = "console/surveys.html")]
struct SurveysPage {
    chrome: Chrome,
    f: Figures,
    may_rate: bool,
    message: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct SurveysQuery {
    /// The year shown (default: this year in the community's time zone).
    #[serde(default)]
    year: String,
    /// A department just rated: its result is said.
    #[serde(default)]
    rated: String,
}

/// The year asked for, or the replica's current year.
fn year_or(console: &Console, community: &str, text: &str) -> Result<u32> {
    if text.trim().is_empty() {
        return console.replicas.with(community, |store| Ok(u32::try_from(store.today().year()).unwrap_or_default()));
    }
    let year = text.trim().parse::<u32>().map_err(|_| ServerError::bad_request(ErrorCode::InvalidInput, "year"))?;
    check_year(year)?;
    Ok(year)
}

async fn view(
    console: &Arc<Console>,
    staffer: &Staffer,
    year: String,
    rated: Option<String>,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let chrome = Chrome::of(staffer, "surveys", "/console/surveys");
    let (community, tr) = (staffer.staff.community_id.clone(), staffer.tr());
    let loaded = console
        .blocking(move |c| {
            let year = year_or(c, &community, &year)?;
            let f = load(c, &community, tr, year)?;
            let message = rated.and_then(|name| {
                let d = f.departments.iter().find(|d| d.department == name)?;
                Some(tr.t("surveys.rated").replace("{department}", &d.department).replace("{average}", &d.average))
            });
            Ok((f, message))
        })
        .await;
    match loaded {
        Ok((f, message)) => {
            let page = SurveysPage { chrome, f, may_rate: may_rate(staffer.staff.role), message, error };
            (status, render(&page)).into_response()
        }
        Err(e) => error_page(chrome, &e),
    }
}

/// `GET /console/surveys`.
pub async fn page(State(console): State<Arc<Console>>, staffer: Staffer, Query(q): Query<SurveysQuery>) -> Response {
    let rated = Some(q.rated).filter(|r| !r.is_empty());
    view(&console, &staffer, q.year, rated, StatusCode::OK, None).await
}

/// The rating form as read: (csrf, department, year, scores).
#[derive(Debug, Default, PartialEq)]
pub struct RateForm {
    pub csrf: String,
    pub department: String,
    pub year: String,
    pub scores: Vec<(usize, String)>,
}

impl RateForm {
    /// Reads `csrf`, `department`, `year` and `score-N` (bounded in fields and in the indexes read).
    pub fn read(pairs: Vec<(String, String)>) -> RateForm {
        let mut f = RateForm::default();
        for (k, v) in pairs.into_iter().take(MAX_FORM_FIELDS) {
            let v: String = v.chars().take(100).collect();
            match k.as_str() {
                "csrf" => f.csrf = v,
                "department" => f.department = v,
                "year" => f.year = v,
                _ => {
                    let Some(n) = k.strip_prefix("score-").and_then(|n| n.parse::<usize>().ok()) else { continue };
                    if n < gridline_core::evaluation::MAX_ITEMS {
                        f.scores.push((n, v));
                    }
                }
            }
        }
        f.scores.sort();
        f
    }

    /// The department, the year and one score per aspect (`aspects` of them), or the key of the words of what
    /// is wrong.
    pub fn values(&self, aspects: usize) -> std::result::Result<(String, u32, Vec<u8>), &'static str> {
        let department =
            gridline_core::evaluation::check_department(&self.department).map_err(|_| "surveys.bad_department")?;
        let year = self.year.trim().parse::<u32>().ok().filter(|y| check_year(*y).is_ok()).ok_or("surveys.bad_year")?;
        let scores: Vec<u8> = self
            .scores
            .iter()
            .filter_map(|(_, v)| v.trim().parse::<u8>().ok().filter(|s| (MIN_SCORE..=MAX_SCORE).contains(s)))
            .collect();
        let indexes: Vec<usize> = self.scores.iter().map(|(n, _)| *n).collect();
        if scores.len() != aspects || indexes != (0..aspects).collect::<Vec<_>>() {
            return Err("surveys.bad_score");
        }
        Ok((department, year, scores))
    }
}

/// Records `staffer`'s rating of `department`: the replica prepares the account's change, the engine checks
/// and stores it, and the replica is fed so the page that follows shows it.
pub fn record(console: &Console, staffer: &Staffer, department: &str, year: u32, scores: &[u8]) -> Result<String> {
    let by = staffer.identity();
    let community = by.community_id.clone();
    let (doc_id, change, rating_id) =
        console.replicas.with(&community, |store| Ok(store.department_rate_change(&by, department, year, scores)?))?;
    console.app.engine.submit(&staffer.device(), &doc_id, &change, console.app.clock.now())?;
    let detail = format!("{department} {year} {}", gridline_core::evaluation::scores_text(scores));
    console.app.engine.storage().append_audit(&staffer.audit("department_rate", &rating_id, &detail))?;
    super::replica::announce(console, super::replica::feed(console, &community)?);
    Ok(rating_id)
}

/// `POST /console/surveys`: records a department's rating and shows the year's ratings.
pub async fn rate(
    State(console): State<Arc<Console>>,
    staffer: Staffer,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let chrome = Chrome::of(&staffer, "surveys", "/console/surveys");
    let form = RateForm::read(pairs);
    if let Err(e) = staffer.check_csrf(&form.csrf) {
        return error_page(chrome, &e);
    }
    if !may_rate(staffer.staff.role) {
        let e = ServerError::new(StatusCode::FORBIDDEN, ErrorCode::ForbiddenChange, "only committee and station rate");
        return error_page(chrome, &e);
    }
    let tr = staffer.tr();
    let community = staffer.staff.community_id.clone();
    let aspects = match console
        .blocking(move |c| c.replicas.with(&community, |s| Ok(s.settings().department_aspects.len())))
        .await
    {
        Ok(n) => n,
        Err(e) => return error_page(chrome, &e),
    };
    let (department, year, scores) = match form.values(aspects) {
        Ok(v) => v,
        Err(key) => {
            return view(&console, &staffer, form.year.clone(), None, StatusCode::BAD_REQUEST, Some(tr.t(key).into()))
                .await
        }
    };
    let staffer = Arc::new(staffer);
    let s = staffer.clone();
    let name = department.clone();
    match console.blocking(move |c| record(c, &s, &name, year, &scores)).await {
        Ok(_) => Redirect::to(&format!("/console/surveys?year={year}&rated={}", super::page::url_encode(&department)))
            .into_response(),
        Err(e) => {
            let words = format!("{} ({})", tr.error(e.code), e.code.code());
            view(&console, &staffer, year.to_string(), None, e.status, Some(words)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_rating_form_is_read_and_bounded() {
        let mut list = vec![("csrf", "t"), ("department", " 区民政局 "), ("year", "2026")];
        let keys: Vec<String> = (0..3).rev().map(|n| format!("score-{n}")).collect();
        for k in &keys {
            list.push((k.as_str(), "4"));
        }
        let f = RateForm::read(pairs(&list));
        assert_eq!(f.values(3), Ok(("区民政局".into(), 2026, vec![4, 4, 4])));
        assert_eq!(f.values(4), Err("surveys.bad_score"), "one score per aspect");
        let mut bad = RateForm::read(pairs(&list));
        bad.scores[1].1 = "6".into();
        assert_eq!(bad.values(3), Err("surveys.bad_score"));
        let mut gap = RateForm::read(pairs(&list));
        gap.scores[2].0 = 7;
        assert_eq!(gap.values(3), Err("surveys.bad_score"), "scores of the aspects, in order");
        let mut no_name = RateForm::read(pairs(&list));
        no_name.department = " ".into();
        assert_eq!(no_name.values(3), Err("surveys.bad_department"));
        let mut old = RateForm::read(pairs(&list));
        old.year = "1999".into();
        assert_eq!(old.values(3), Err("surveys.bad_year"));
        for key in ["surveys.bad_score", "surveys.bad_department", "surveys.bad_year"] {
            assert!(WORDS.iter().any(|(k, _, _)| *k == key), "{key}");
        }
        let many: Vec<(String, String)> = (0..1000).map(|n| (format!("score-{n}"), "5".to_string())).collect();
        assert!(RateForm::read(many).scores.len() <= gridline_core::evaluation::MAX_ITEMS);
    }
}
