//! Service projects (项目化): the community's projects with their status and residents' average rating; one
//! project with its needs, status history and every resident's rating (民事民评, replaced ones shown as such);
//! and, for the committee and the station, creating a project and moving its status. Every figure is the
//! core's project list and detail read from the replica; a creation or a status change is prepared by the
//! replica as the account's own change and stored by the engine after a phone's checks.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::NaiveDate;
use gridline_core::docs::DocId;
use gridline_core::model::NewProject;
use gridline_core::project::{self, ProjectStatus, RatingState};
use gridline_core::store::{ProjectDetail, ProjectFilter, ProjectListItem, MAX_NOTE_CHARS};
use serde::Deserialize;

use super::i18n::{Tr, Words};
use super::page::{error_page, local_time, local_time_text, render, Chrome};
use super::session::Staffer;
use super::Console;
use crate::error::Result;

/// The project routes.
pub fn routes() -> super::Routes {
    use axum::routing::{get, post};
    super::Routes::new()
        .route("/projects", get(list).post(create))
        .route("/projects/{project_id}", get(detail))
        .route("/projects/{project_id}/status", post(update))
}

/// The words of the project pages.
pub const WORDS: Words = &[
    ("nav.projects", "服务项目", "Projects"),
    ("projects.title", "项目化服务", "Service projects"),
    ("projects.empty", "还没有服务项目。", "No service project yet."),
    ("projects.project", "项目", "Project"),
    ("projects.category", "类别", "Category"),
    ("projects.organisation", "承接机构", "Organisation"),
    ("projects.budget", "预算（元）", "Budget (yuan)"),
    ("projects.needs", "对应需求", "Needs"),
    ("projects.period", "实施期间", "Period"),
    ("projects.status", "状态", "Status"),
    ("projects.ratings", "居民评价（民事民评）", "Residents' ratings"),
    ("projects.rating_count", "评价户数", "Households rating"),
    ("projects.average", "平均评分", "Average"),
    ("projects.household", "户号", "Household"),
    ("projects.building", "楼栋", "Building"),
    ("projects.grid", "网格", "Grid"),
    ("projects.rating", "评分", "Rating"),
    ("projects.note", "说明", "Note"),
    ("projects.by", "记录人", "Recorded by"),
    ("projects.when", "时间", "When"),
    ("projects.counts", "是否计入", "Counts"),
    ("projects.no_ratings", "还没有居民评价。", "No resident has rated it yet."),
    ("projects.history", "状态记录", "Status history"),
    ("projects.created", "创建", "Created"),
    ("projects.create", "新建服务项目", "New service project"),
    ("projects.create_button", "创建", "Create"),
    ("projects.from", "开始日期", "From"),
    ("projects.to", "结束日期", "To"),
    ("projects.needs_pick", "对应需求（可多选）", "Needs it answers (several allowed)"),
    ("projects.move", "变更状态", "Change status"),
    ("projects.no_moves", "您的角色当前不能变更状态。", "Your role may not change the status now."),
    ("projects.back", "返回服务项目", "Back to the projects"),
    ("projects.done_msg", "已保存。", "Saved."),
    ("projects.bad_budget", "预算须为整数（元）。", "The budget is a whole number of yuan."),
    ("projects.bad_day", "日期有误。", "A date is not a date."),
    ("projects.bad_status", "未知的状态。", "Unknown status."),
    ("projects.note_rule", "说明最多 2000 个字符。", "A note has at most 2,000 characters."),
    ("projects.status_planned", "计划中", "Planned"),
    ("projects.status_active", "实施中", "Under way"),
    ("projects.status_done", "已结项", "Done"),
    ("projects.state_stands", "计入", "Counts"),
    ("projects.state_replaced", "已被该户新评价替换", "Replaced by the household's later rating"),
    ("projects.state_project_not_done", "项目未结项，不计入", "Not counted: the project was not done"),
    ("projects.state_invalid", "无效", "Invalid"),
    ("projects.superseded", "已失效", "Superseded"),
];

/// A status in words.
pub fn status_name(tr: &Tr, s: ProjectStatus) -> &'static str {
    tr.t(match s {
        ProjectStatus::Planned => "projects.status_planned",
        ProjectStatus::Active => "projects.status_active",
        ProjectStatus::Done => "projects.status_done",
    })
}

fn state_name(tr: &Tr, s: RatingState) -> &'static str {
    tr.t(match s {
        RatingState::Stands => "projects.state_stands",
        RatingState::Replaced => "projects.state_replaced",
        RatingState::ProjectNotDone => "projects.state_project_not_done",
        RatingState::Invalid => "projects.state_invalid",
    })
}

fn average_text(a: Option<f64>) -> String {
    a.map_or("—".to_string(), |a| format!("{a:.2}"))
}

/// One project as the list shows it.
pub struct ProjectRow {
    pub item: ProjectListItem,
    pub status: &'static str,
    pub average: String,
    pub created: String,
}

/// A need the creation form offers: its code and name.
pub struct NeedChoice {
    pub code: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "console/projects.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<ProjectRow>,
    runs: bool,
    needs: Vec<NeedChoice>,
    error: Option<String>,
}

fn load_list(console: &Console, community_id: &str, tr: Tr) -> Result<(Vec<ProjectRow>, Vec<NeedChoice>)> {
    console.replicas.with(community_id, |store| {
        let settings = store.settings().clone();
        let tz = settings.tz();
        let rows = store
            .project_list(&ProjectFilter::default())?
            .items
            .into_iter()
            .map(|item| ProjectRow {
                status: status_name(&tr, item.status),
                average: average_text(item.rating_average),
                created: local_time(&item.created_at, &tz),
                item,
            })
            .collect();
        let mut needs: Vec<NeedChoice> = settings
            .visit_services
            .iter()
            .map(|v| NeedChoice { code: v.code.clone(), name: tr.name(&v.name_zh, &v.name_en).to_string() })
            .collect();
        for s in &settings.service_catalogue {
            if !needs.iter().any(|n| n.code == s.code) {
                needs.push(NeedChoice { code: s.code.clone(), name: tr.name(&s.name_zh, &s.name_en).to_string() });
            }
        }
        Ok((rows, needs))
    })
}

async fn list_page(console: &Arc<Console>, staffer: &Staffer, error: Option<String>) -> Response {
    let chrome = Chrome::of(staffer, "projects", "/console/projects");
    let (community, tr) = (staffer.staff.community_id.clone(), staffer.tr());
    let runs = project::may_run(staffer.staff.role);
    match console.blocking(move |c| load_list(c, &community, tr)).await {
        Ok((rows, needs)) => {
            let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
            (status, render(&ListPage { chrome, rows, runs, needs, error })).into_response()
        }
        Err(e) => error_page(chrome, &e),
    }
}

/// `GET /console/projects`.
pub async fn list(State(console): State<Arc<Console>>, staffer: Staffer) -> Response {
    list_page(&console, &staffer, None).await
}

/// The creation form as its fields came (the needs are one checkbox each, so repeated `needs` fields).
type Fields = Vec<(String, String)>;

/// The first value of field `name`, empty when absent.
fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

type Refusal = &'static str;

fn day(text: &str) -> std::result::Result<Option<NaiveDate>, Refusal> {
    match text.trim() {
        "" => Ok(None),
        t => NaiveDate::parse_from_str(t, "%Y-%m-%d").map(Some).map_err(|_| "projects.bad_day"),
    }
}

/// The new project a form asks for; the core checks the rest (lengths, needs, period). The needs are every
/// `needs` field, at most the core's bound plus one (so that a longer list is refused by the core's rule).
fn read_create(f: &Fields) -> std::result::Result<NewProject, Refusal> {
    let budget_yuan = match field(f, "budget").trim() {
        "" => None,
        t => Some(t.parse::<u64>().map_err(|_| "projects.bad_budget")?),
    };
    let needs = f
        .iter()
        .filter(|(k, v)| k == "needs" && !v.is_empty())
        .map(|(_, v)| v.clone())
        .take(gridline_core::store::MAX_PROJECT_NEEDS + 1)
        .collect();
    Ok(NewProject {
        title: field(f, "title").to_string(),
        category: field(f, "category").to_string(),
        organisation: field(f, "organisation").to_string(),
        budget_yuan,
        needs,
        from: day(field(f, "from"))?,
        to: day(field(f, "to"))?,
    })
}

/// Stores a change the replica prepared for `staffer`, audits it and feeds the replica.
fn submit(console: &Console, staffer: &Staffer, doc_id: &DocId, change: &[u8], what: &str, detail: &str) -> Result<()> {
    console.app.engine.submit(&staffer.device(), doc_id, change, console.app.clock.now())?;
    let target = doc_id.key.clone().unwrap_or_default();
    console.app.engine.storage().append_audit(&staffer.audit(what, &target, detail))?;
    super::replica::announce(console, super::replica::feed(console, &staffer.staff.community_id)?);
    Ok(())
}

/// `POST /console/projects`: creates a project (committee, station).
pub async fn create(State(console): State<Arc<Console>>, staffer: Staffer, Form(f): Form<Fields>) -> Response {
    if let Err(e) = staffer.check_csrf(field(&f, "csrf")) {
        return error_page(Chrome::of(&staffer, "projects", "/console/projects"), &e);
    }
    let tr = staffer.tr();
    let input = match read_create(&f) {
        Ok(input) => input,
        Err(key) => return list_page(&console, &staffer, Some(tr.t(key).into())).await,
    };
    let staffer = Arc::new(staffer);
    let s = staffer.clone();
    let made = console
        .blocking(move |c| {
            let identity = s.identity();
            let (doc_id, change) =
                c.replicas.with(&identity.community_id, |store| Ok(store.project_create_change(&identity, input)?))?;
            submit(c, &s, &doc_id, &change, "project_create", "")?;
            Ok(doc_id.key.unwrap_or_default())
        })
        .await;
    match made {
        Ok(id) => Redirect::to(&format!("/console/projects/{id}?done=1")).into_response(),
        Err(e) => list_page(&console, &staffer, Some(format!("{} ({})", tr.error(e.code), e.code.code()))).await,
    }
}

/// One status event as shown.
pub struct EventRow {
    pub status: String,
    pub actor: String,
    pub role: String,
    pub at: String,
    pub applied: bool,
    pub superseded_code: String,
    pub superseded_reason: String,
    pub note: String,
}

/// One rating as shown.
pub struct RatingRow {
    pub household: String,
    pub grid: String,
    pub building: String,
    pub rating: i64,
    pub note: String,
    pub by: String,
    pub at: String,
    pub stands: bool,
    pub state: &'static str,
    pub state_code: &'static str,
}

#[derive(Template)]
#[template(path = "console/project.html")]
struct DetailPage {
    chrome: Chrome,
    d: ProjectDetail,
    status: &'static str,
    average: String,
    needs: Vec<String>,
    created: String,
    events: Vec<EventRow>,
    ratings: Vec<RatingRow>,
    moves: Vec<(&'static str, &'static str)>,
    message: Option<String>,
    error: Option<String>,
}

fn load_detail(console: &Console, staffer: &Staffer, project_id: &str) -> Result<DetailPage> {
    let identity = staffer.identity();
    let chrome = Chrome::of(staffer, "projects", format!("/console/projects/{project_id}"));
    let tr = chrome.tr;
    console.replicas.with(&identity.community_id, |store| {
        let d = store.project_detail_as(&identity, project_id)?;
        let settings = store.settings().clone();
        let tz = settings.tz();
        let needs = d
            .needs
            .iter()
            .map(|code| {
                let visit = tr.entry(&settings.visit_services, code).to_string();
                if visit != *code {
                    return visit;
                }
                settings.service(code).map_or(code.clone(), |s| tr.name(&s.name_zh, &s.name_en).to_string())
            })
            .collect();
        let events = d
            .events
            .iter()
            .map(|e| EventRow {
                status: e.status.parse::<ProjectStatus>().map_or(e.status.clone(), |s| status_name(&tr, s).into()),
                actor: e.actor.clone(),
                role: tr.role_code(&e.role),
                at: local_time_text(&e.at, &tz),
                applied: e.applied,
                superseded_code: e.superseded_reason.map(|r| r.code().to_string()).unwrap_or_default(),
                superseded_reason: e.superseded_reason.map(|r| tr.superseded(&r).to_string()).unwrap_or_default(),
                note: e.note.clone(),
            })
            .collect();
        let ratings = d
            .ratings
            .items
            .iter()
            .map(|r| RatingRow {
                household: r.household_code.clone(),
                grid: r.grid.clone(),
                building: r.building.clone(),
                rating: r.rating,
                note: r.note.clone(),
                by: r.actor.clone(),
                at: local_time_text(&r.at, &tz),
                stands: r.state == RatingState::Stands,
                state: state_name(&tr, r.state),
                state_code: r.state.code(),
            })
            .collect();
        let moves = d.allowed_statuses.iter().map(|s| (s.code(), status_name(&tr, *s))).collect();
        Ok(DetailPage {
            status: status_name(&tr, d.status),
            average: average_text(d.ratings.average),
            created: local_time(&d.created_at, &tz),
            needs,
            events,
            ratings,
            moves,
            d,
            chrome,
            message: None,
            error: None,
        })
    })
}

#[derive(Deserialize)]
pub struct DetailQuery {
    #[serde(default)]
    done: Option<String>,
}

async fn detail_page(
    console: &Arc<Console>,
    staffer: Arc<Staffer>,
    project_id: String,
    message: Option<String>,
    error: Option<(StatusCode, String)>,
) -> Response {
    let chrome = Chrome::of(&staffer, "projects", "/console/projects");
    match console.blocking(move |c| load_detail(c, &staffer, &project_id)).await {
        Ok(mut p) => {
            p.message = message;
            let status = error.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
            p.error = error.map(|(_, words)| words);
            (status, render(&p)).into_response()
        }
        Err(e) => error_page(chrome, &e),
    }
}

/// `GET /console/projects/{id}`.
pub async fn detail(
    State(console): State<Arc<Console>>,
    staffer: Staffer,
    Path(project_id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Response {
    let message = q.done.map(|_| staffer.tr().t("projects.done_msg").to_string());
    detail_page(&console, Arc::new(staffer), project_id, message, None).await
}

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    note: String,
}

/// `POST /console/projects/{id}/status`: moves a project (committee, station).
pub async fn update(
    State(console): State<Arc<Console>>,
    staffer: Staffer,
    Path(project_id): Path<String>,
    Form(f): Form<StatusForm>,
) -> Response {
    if let Err(e) = staffer.check_csrf(&f.csrf) {
        return error_page(Chrome::of(&staffer, "projects", "/console/projects"), &e);
    }
    let tr = staffer.tr();
    let staffer = Arc::new(staffer);
    let Ok(status) = f.status.parse::<ProjectStatus>() else {
        let words = tr.t("projects.bad_status").to_string();
        return detail_page(&console, staffer, project_id, None, Some((StatusCode::BAD_REQUEST, words))).await;
    };
    let note = f.note.trim().to_string();
    if note.chars().count() > MAX_NOTE_CHARS {
        let words = tr.t("projects.note_rule").to_string();
        return detail_page(&console, staffer, project_id, None, Some((StatusCode::BAD_REQUEST, words))).await;
    }
    let (s, id) = (staffer.clone(), project_id.clone());
    let done = console
        .blocking(move |c| {
            let identity = s.identity();
            let (doc_id, change) = c.replicas.with(&identity.community_id, |store| {
                Ok(store.project_update_change(&identity, &id, status, &note)?)
            })?;
            submit(c, &s, &doc_id, &change, "project_status", status.code())
        })
        .await;
    match done {
        Ok(()) => Redirect::to(&format!("/console/projects/{project_id}?done=1")).into_response(),
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            error_page(Chrome::of(&staffer, "projects", "/console/projects"), &e)
        }
        Err(e) => {
            let words = format!("{} ({})", tr.error(e.code), e.code.code());
            detail_page(&console, staffer, project_id, None, Some((e.status, words))).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_create_form_is_read_and_its_needs_bounded() {
        let f = form(&[
            ("csrf", "x"),
            ("title", "助餐"),
            ("category", "elderly_care"),
            ("organisation", "org"),
            ("budget", "5000"),
            ("needs", "meal_delivery"),
            ("needs", "companionship"),
            ("needs", ""),
            ("from", "2026-12-01"),
            ("to", ""),
        ]);
        let p = read_create(&f).expect("read");
        assert_eq!(p.needs, ["meal_delivery", "companionship"]);
        assert_eq!((p.title.as_str(), p.budget_yuan), ("助餐", Some(5000)));
        assert_eq!((p.from, p.to), (NaiveDate::from_ymd_opt(2026, 12, 1), None));
        assert_eq!(read_create(&form(&[("budget", "五千")])).err(), Some("projects.bad_budget"));
        assert_eq!(read_create(&form(&[("from", "01/12/2026")])).err(), Some("projects.bad_day"));
        let many: Vec<(String, String)> = (0..40).map(|n| ("needs".to_string(), format!("n{n}"))).collect();
        assert_eq!(read_create(&many).expect("read").needs.len(), gridline_core::store::MAX_PROJECT_NEEDS + 1);
        for key in ["projects.bad_budget", "projects.bad_day", "projects.bad_status", "projects.note_rule"] {
            assert!(WORDS.iter().any(|(k, _, _)| *k == key), "{key}");
        }
    }
}
