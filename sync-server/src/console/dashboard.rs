//! The coverage dashboard (`GET /console/dashboard?month=YYYY-MM`, default the current month in the
//! community's time zone): per grid the households, the check-in rate (入户率) and the check-ins by kind;
//! special-care residents overdue per grid and per social worker; the month's incidents by current stage and
//! the median handling time per stage; each social worker's monthly assessment (home visits against the
//! monthly target of 包片联户). Every chart has its numbers in a table beside it.
//!
//! Every figure is the core's, run on the community's replica: one ledger per grid
//! (`Store::ledger_figures(month, Some(grid))`: the ledger's figures without its row sheets) for the grid
//! rows, one for the whole community (totals, incidents, handling times), and `Store::worker_report_in` per
//! social worker. Nothing is added up or re-derived here.
//!
//! Who a social worker is, and whose overdue residents are theirs: a social worker is a user with an enrolled,
//! unrevoked phone of role `social_worker` in this community, and their grids are the grids their phones are
//! enrolled for (包片: each social worker looks after the households of their grids). Their overdue residents
//! are the special-care residents of those grids who are overdue at the month's cut-off, whoever's contact
//! last satisfied them (the core's `WorkerReport::residents_overdue`): the worker answers for the residents
//! of their grids, not only for those they happened to visit.
//!
//! Speed: the replica's lock is taken once per grid and once per worker, never across the whole page, so the
//! feed and other pages go on between them; nothing is read per household, and the ledgers skip addressing
//! and ordering their rows. On this 2-core machine, 10 grids × 300 households with 60,000 check-ins, 1,500
//! visits and 300 incidents in the month take about 0.7 s in a debug build (opt-level 0) and about 0.35 s
//! with opt-level 1, three social workers included; each further worker adds a few tens of milliseconds.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use gridline_core::ledger::{LedgerSummary, StageTime};
use gridline_core::model::{CheckInKind, Role};
use gridline_core::schedule::{Month, HOME_VISITS_PER_MONTH};
use gridline_core::store::WorkerReport;
use gridline_core::workflow::Stage;
use serde::Deserialize;

use super::chart::{Axis, Bar, BarChart};
use super::i18n::{Lang, Tr};
use super::page::{error_page, month_or, percent, render, url_encode, Chrome};
use super::session::Staffer;
use super::Console;
use crate::error::Result;

/// The dashboard's words.
pub const WORDS: super::i18n::Words = &[
    ("dashboard.title", "工作概况", "Coverage dashboard"),
    ("dashboard.month", "月份", "Month"),
    ("dashboard.show", "查看", "Show"),
    ("dashboard.figures_up_to", "统计截至", "Figures up to"),
    ("dashboard.community", "全社区", "Whole community"),
    ("dashboard.grid", "网格", "Grid"),
    ("dashboard.households", "户数", "Households"),
    ("dashboard.contacted", "已入户户数", "Households contacted"),
    ("dashboard.rate", "入户率", "Check-in rate"),
    ("dashboard.check_ins", "入户记录", "Check-ins"),
    ("dashboard.coverage", "入户情况", "Household coverage"),
    ("dashboard.rate_chart", "各网格入户率", "Check-in rate per grid"),
    ("dashboard.kind_chart", "全社区各方式入户记录", "Check-ins by kind, whole community"),
    ("dashboard.kind", "方式", "Kind"),
    ("dashboard.special_care", "特殊人群关爱", "Special-care contacts"),
    ("dashboard.overdue_residents", "逾期未联系人数", "Residents overdue"),
    ("dashboard.overdue_chart", "各网格逾期未联系的特殊人群", "Special-care residents overdue per grid"),
    ("dashboard.care_done", "已联系 / 应联系", "Contacts done / required"),
    ("dashboard.care_rate", "联系完成率", "Completion rate"),
    ("dashboard.incidents", "事件办理", "Incidents"),
    ("dashboard.incidents_reported", "本月上报事件", "Incidents reported this month"),
    ("dashboard.incidents_overdue", "逾期事件", "Incidents overdue"),
    ("dashboard.stage_chart", "本月上报事件的当前阶段", "Incidents reported this month, by current stage"),
    ("dashboard.stage", "阶段", "Stage"),
    ("dashboard.count", "数量", "Count"),
    ("dashboard.times_chart", "各阶段办理时长中位数（小时）", "Median handling time per stage (hours)"),
    ("dashboard.handled", "办理次数", "Times handled"),
    ("dashboard.median", "中位时长", "Median time"),
    ("dashboard.overdue_now", "逾期", "Overdue"),
    ("dashboard.no_times", "本月没有阶段办理记录。", "No stage was handled this month."),
    ("dashboard.workers", "社工月度考核", "Social workers' monthly assessment"),
    ("dashboard.worker", "社工", "Social worker"),
    ("dashboard.grids", "负责网格", "Grids"),
    ("dashboard.visits", "访视次数", "Visits"),
    ("dashboard.home_visits", "入户走访", "Home visits"),
    ("dashboard.target", "目标", "Target"),
    ("dashboard.target_met", "达标", "Met"),
    ("dashboard.target_missed", "未达标", "Not met"),
    ("dashboard.home_chart", "各社工本月入户走访次数", "Home visits per social worker this month"),
    ("dashboard.in_care", "负责特殊人群", "Special-care residents"),
    ("dashboard.satisfaction", "平均满意度", "Average satisfaction"),
    (
        "dashboard.no_workers",
        "本社区还没有登记手机的社工。",
        "No social worker has an enrolled phone in this community.",
    ),
    ("dashboard.no_grids", "名册为空：请先导入居民名册。", "The roster is empty: import a roster first."),
    (
        "dashboard.worker_rule",
        "社工的逾期人数：其手机所负责网格内、截至统计日逾期未联系的特殊人群（任何人的联系都计入）。",
        "A social worker's overdue residents: the special-care residents of the grids their phone is enrolled for \
         who are overdue at the cut-off (anyone's contact counts).",
    ),
    ("dashboard.hours", "小时", "h"),
    ("dashboard.minutes", "分钟", "min"),
    ("checkin_kind.door", "上门", "Door visit"),
    ("checkin_kind.phone", "电话", "Phone call"),
    ("checkin_kind.observed", "路遇", "Observed"),
    ("checkin_kind.absent", "无人在家", "Nobody home"),
];

/// Grids shown at most (a community has tens; the bound keeps one request's work bounded).
pub const MAX_GRIDS: usize = 200;
/// Social workers shown at most.
pub const MAX_WORKERS: usize = 200;

/// The dashboard's routes.
pub fn routes() -> super::Routes {
    use axum::routing::get;
    super::Routes::new().route("/dashboard", get(page))
}

/// The dashboard's query.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DashboardQuery {
    /// `YYYY-MM`; empty for the current month.
    #[serde(default)]
    pub month: String,
}

/// One row of the coverage table: a grid, or the whole community.
pub struct GridRow {
    pub grid: String,
    pub households: u32,
    pub contacted: u32,
    /// The ledger's 入户率 (0–1), as computed by the core.
    pub rate: f64,
    pub rate_text: String,
    pub check_ins: u32,
    /// Check-ins per kind, in [`CheckInKind::ALL`] order.
    pub kinds: Vec<u32>,
    pub overdue: u32,
    pub care_done: u32,
    pub care_required: u32,
    pub care_rate_text: String,
}

impl GridRow {
    fn of(grid: String, s: &LedgerSummary) -> GridRow {
        GridRow {
            grid,
            households: s.households,
            contacted: s.households_contacted,
            rate: s.checkin_rate,
            rate_text: percent(s.checkin_rate),
            check_ins: s.check_ins,
            kinds: CheckInKind::ALL.iter().map(|k| s.check_ins_by_kind.get(k.code()).copied().unwrap_or(0)).collect(),
            overdue: s.residents_overdue,
            care_done: s.special_care.done,
            care_required: s.special_care.required,
            care_rate_text: percent(s.special_care.rate),
        }
    }
}

/// Incidents of the month in one stage.
pub struct StageRow {
    pub code: &'static str,
    pub name: String,
    pub count: u32,
}

/// Handling time of one stage.
pub struct TimeRow {
    pub name: String,
    pub handled: u32,
    pub median: String,
    pub overdue: u32,
}

/// One social worker's assessment.
pub struct WorkerRow {
    pub user: String,
    pub grids: String,
    pub visits: u32,
    pub home_visits: u32,
    pub target: u32,
    pub met: bool,
    pub in_care: u32,
    pub care_done: u32,
    pub care_required: u32,
    pub care_rate_text: String,
    pub overdue: u32,
    pub satisfaction: String,
}

impl WorkerRow {
    fn of(r: WorkerReport) -> WorkerRow {
        WorkerRow {
            grids: r.grids.join("、"),
            visits: r.visits,
            home_visits: r.home_visits,
            target: r.home_visit_target,
            met: r.home_visit_target_met,
            in_care: r.special_care_residents,
            care_done: r.special_care.done,
            care_required: r.special_care.required,
            care_rate_text: percent(r.special_care.rate),
            overdue: r.residents_overdue,
            satisfaction: r.average_satisfaction.map_or_else(|| "—".to_string(), |a| format!("{a:.2}")),
            user: r.user,
        }
    }
}

/// A chart, as inline SVG.
pub struct Chart {
    pub svg: String,
}

/// Everything the page shows.
pub struct Coverage {
    pub month: String,
    pub cut_off: String,
    pub total: GridRow,
    pub grids: Vec<GridRow>,
    pub kinds: Vec<(&'static str, String, u32)>,
    pub reported: u32,
    pub incidents_overdue: u32,
    pub stages: Vec<StageRow>,
    pub times: Vec<TimeRow>,
    pub workers: Vec<WorkerRow>,
    pub rate_chart: Chart,
    pub overdue_chart: Chart,
    pub kind_chart: Chart,
    pub stage_chart: Chart,
    pub times_chart: Chart,
    pub home_chart: Chart,
}

/// Minutes as the page writes them: "2 小时 5 分钟", "2 h 5 min".
fn duration(tr: &Tr, minutes: f64) -> String {
    let total = minutes.round().max(0.0) as u64;
    let (h, m) = (total / 60, total % 60);
    let (hours, mins) = (tr.t("dashboard.hours"), tr.t("dashboard.minutes"));
    if h == 0 {
        format!("{m} {mins}")
    } else {
        format!("{h} {hours} {m} {mins}")
    }
}

/// The social workers of a community and their grids (see the module docs).
fn social_workers(console: &Console, community_id: &str) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for d in console.app.engine.storage().devices()? {
        if d.community_id != community_id || d.role != Role::SocialWorker || d.revoked {
            continue;
        }
        if out.len() >= MAX_WORKERS && !out.contains_key(&d.user) {
            continue;
        }
        out.entry(d.user).or_default().extend(d.grids);
    }
    Ok(out)
}

fn bars(rows: impl Iterator<Item = (String, f64, String)>) -> Vec<Bar> {
    rows.map(|(label, value, text)| Bar { label, value, text }).collect()
}

fn chart(title: &str, bars: Vec<Bar>, axis: Axis, target: Option<f64>) -> Result<Chart> {
    let max = if axis == Axis::Percent { 1.0 } else { 0.0 };
    Ok(Chart { svg: BarChart { title, bars, max, target, axis }.svg()? })
}

fn stage_rows(tr: &Tr, summary: &LedgerSummary) -> Vec<StageRow> {
    Stage::ALL
        .iter()
        .map(|s| StageRow {
            code: s.code(),
            name: tr.stage(s).to_string(),
            count: summary.incidents.by_stage.get(s.code()).copied().unwrap_or(0),
        })
        .collect()
}

fn time_rows(tr: &Tr, times: &[StageTime]) -> Vec<TimeRow> {
    times
        .iter()
        .map(|t| TimeRow {
            name: tr.stage(&t.stage).to_string(),
            handled: t.handled,
            median: t.median_minutes.map_or_else(|| "—".to_string(), |m| duration(tr, m)),
            overdue: t.overdue,
        })
        .collect()
}

/// Reads the dashboard of `month` (empty: the current month) from the replica.
pub fn load(console: &Console, community_id: &str, tr: Tr, month: &str) -> Result<Coverage> {
    let replicas = &console.replicas;
    let (current, grid_codes) = replicas.with(community_id, |s| Ok((Month::of(s.today()), s.grid_codes()?)))?;
    let month = month_or(month, current)?;
    let mut grids = Vec::with_capacity(grid_codes.len().min(MAX_GRIDS));
    for g in grid_codes.into_iter().take(MAX_GRIDS) {
        let summary = replicas.with(community_id, |s| Ok(s.ledger_figures(&month, Some(&g))?.summary))?;
        grids.push(GridRow::of(g, &summary));
    }
    let (whole, times) = replicas.with(community_id, |s| {
        let figures = s.ledger_figures(&month, None)?;
        Ok((figures.summary, figures.stage_times))
    })?;
    let mut workers = Vec::new();
    for (user, grids) in social_workers(console, community_id)? {
        let grids: Vec<String> = grids.into_iter().collect();
        let report = replicas.with(community_id, |s| Ok(s.worker_report_in(&month, &user, &grids)?))?;
        workers.push(WorkerRow::of(report));
    }
    let total = GridRow::of(tr.t("dashboard.community").to_string(), &whole);
    let kinds: Vec<(&'static str, String, u32)> =
        CheckInKind::ALL.iter().zip(&total.kinds).map(|(k, n)| (k.code(), kind_name(&tr, k).to_string(), *n)).collect();
    let stages = stage_rows(&tr, &whole);
    let time_bars = bars(times.iter().filter_map(|t| {
        let m = t.median_minutes?;
        Some((tr.stage(&t.stage).to_string(), m / 60.0, duration(&tr, m)))
    }));
    let times = time_rows(&tr, &times);
    let home_title = format!("{} (≥ {HOME_VISITS_PER_MONTH})", tr.t("dashboard.home_chart"));
    Ok(Coverage {
        rate_chart: chart(
            tr.t("dashboard.rate_chart"),
            bars(grids.iter().map(|g| (g.grid.clone(), g.rate, g.rate_text.clone()))),
            Axis::Percent,
            None,
        )?,
        overdue_chart: chart(
            tr.t("dashboard.overdue_chart"),
            bars(grids.iter().map(|g| (g.grid.clone(), f64::from(g.overdue), g.overdue.to_string()))),
            Axis::Count,
            None,
        )?,
        kind_chart: chart(
            tr.t("dashboard.kind_chart"),
            bars(kinds.iter().map(|(_, name, n)| (name.clone(), f64::from(*n), n.to_string()))),
            Axis::Count,
            None,
        )?,
        stage_chart: chart(
            tr.t("dashboard.stage_chart"),
            bars(stages.iter().map(|s| (s.name.clone(), f64::from(s.count), s.count.to_string()))),
            Axis::Count,
            None,
        )?,
        times_chart: chart(tr.t("dashboard.times_chart"), time_bars, Axis::Decimal, None)?,
        home_chart: chart(
            &home_title,
            bars(workers.iter().map(|w| (w.user.clone(), f64::from(w.home_visits), w.home_visits.to_string()))),
            Axis::Count,
            Some(f64::from(HOME_VISITS_PER_MONTH)),
        )?,
        month: month.code(),
        cut_off: whole.cut_off.to_string(),
        reported: whole.incidents.reported,
        incidents_overdue: whole.incidents.overdue,
        total,
        grids,
        kinds,
        stages,
        times,
        workers,
    })
}

/// A check-in kind's name.
fn kind_name(tr: &Tr, kind: &CheckInKind) -> &'static str {
    match kind {
        CheckInKind::Door => tr.t("checkin_kind.door"),
        CheckInKind::Phone => tr.t("checkin_kind.phone"),
        CheckInKind::Observed => tr.t("checkin_kind.observed"),
        CheckInKind::Absent => tr.t("checkin_kind.absent"),
    }
}

#[derive(Template)]
#[template(path = "console/dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    d: Arc<Coverage>,
    kind_names: Vec<String>,
}

/// What a dashboard was computed from: the replica's state (its catalogue cursor) and the day (the current
/// month's cut-off moves with it).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Computed {
    cursor: u64,
    today: chrono::NaiveDate,
}

/// Dashboards already computed, by community, requested month and language: a page asked for again while
/// the replica has merged nothing new is the same page, so it is not computed again (the figures are a
/// month's worth of the core's ledger per grid; a station opens the dashboard far more often than a phone
/// syncs into a quiet community). Bounded: the oldest entries go first past [`CACHED_DASHBOARDS`].
#[derive(Default)]
pub struct DashboardCache {
    entries: std::sync::Mutex<Vec<(DashboardKey, Computed, Arc<Coverage>)>>,
}

/// A cached dashboard's key: community, the month as asked for, language.
type DashboardKey = (String, String, Lang);

/// Dashboards kept at most.
const CACHED_DASHBOARDS: usize = 64;

impl DashboardCache {
    fn get(&self, key: &DashboardKey, at: Computed) -> Option<Arc<Coverage>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.iter().find(|(k, c, _)| k == key && *c == at).map(|(_, _, d)| d.clone())
    }

    fn put(&self, key: DashboardKey, at: Computed, coverage: Arc<Coverage>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|(k, _, _)| *k != key);
        if entries.len() >= CACHED_DASHBOARDS {
            entries.remove(0);
        }
        entries.push((key, at, coverage));
    }
}

/// The dashboard, from the cache when the replica has not changed since it was computed.
fn cached(console: &Console, community_id: &str, tr: Tr, month: &str) -> Result<Arc<Coverage>> {
    let at = console.replicas.with(community_id, |s| Ok(Computed { cursor: s.replica_cursor()?, today: s.today() }))?;
    let key = (community_id.to_string(), month.to_string(), tr.lang);
    if let Some(hit) = console.dashboards.get(&key, at) {
        return Ok(hit);
    }
    let coverage = Arc::new(load(console, community_id, tr, month)?);
    console.dashboards.put(key, at, coverage.clone());
    Ok(coverage)
}

/// `GET /console/dashboard?month=YYYY-MM`.
pub async fn page(State(console): State<Arc<Console>>, staffer: Staffer, Query(q): Query<DashboardQuery>) -> Response {
    let month: String = q.month.chars().take(16).collect();
    let here = if month.is_empty() {
        "/console/dashboard".to_string()
    } else {
        format!("/console/dashboard?month={}", url_encode(&month))
    };
    let chrome = Chrome::of(&staffer, "dashboard", here);
    let (community, tr) = (staffer.staff.community_id.clone(), staffer.tr());
    match console.blocking(move |c| cached(c, &community, tr, &month)).await {
        Ok(d) => {
            let kind_names = CheckInKind::ALL.iter().map(|k| kind_name(&tr, k).to_string()).collect();
            render(&DashboardPage { chrome, d, kind_names })
        }
        Err(e) => error_page(chrome, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_hours_and_minutes() {
        let zh = Tr::new(Lang::Zh);
        assert_eq!(duration(&zh, 45.4), "45 分钟");
        assert_eq!(duration(&zh, 125.0), "2 小时 5 分钟");
        assert_eq!(duration(&Tr::new(Lang::En), 1440.0), "24 h 0 min");
    }
}
