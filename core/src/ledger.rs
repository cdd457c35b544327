//! The monthly electronic ledger (电子台账), generated from the materialised tables — never typed: for a
//! month and one grid or the whole community (the device's scope), the household check-in rate (入户率),
//! special-care contacts done vs required per category, visits and services delivered, incidents by category
//! and stage with median handling time and overdue counts, the evaluation satisfaction rate, and row-level
//! sheets of every check-in, visit and incident event of the month; the service orders requested in the
//! month, the volunteers' points of the month and the honour roll (荣誉墙); the month's needs list (问题清单),
//! the community's service projects (项目化) and the residents' ratings of them recorded in the month (民事民评).
//! [`export`] writes it as CSV or XLSX.
//!
//! The two-way evaluation (双评议) of the year the month falls in: the residents' survey per grid and item
//! (居民满意度测评) and the community's department ratings (部门评议).
//!
//! Points are the community's, whatever the grid: the points ledger is one document per community, as
//! public as the honour roll, and a volunteer serves every grid.

pub mod export;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::Serialize;

use crate::error::Result;
use crate::model::{CheckInKind, CheckInOutcome, DepartmentReport, Severity, SurveyReport};
use crate::needs::NeedItem;
use crate::points::{self, HonourRow, VolunteerMonth};
use crate::schedule::{self, ContactHistory, DatedContact, Month};
use crate::service_workflow::OrderStage;
use crate::store::{
    add_visit_contacts, day_text, db, rate, ContactsDone, NeedsFilter, ProjectFilter, ProjectListItem,
    ProjectRatingView, Store, VisitRow,
};
use crate::workflow::{Action, Stage, SupersededReason};

/// Special-care contacts of one category in the month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryCare {
    /// Tag code.
    pub category: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Residents counted under this category.
    pub residents: u32,
    /// Contacts required / done (see `schedule::assessment_periods`).
    pub contacts: ContactsDone,
}

/// One service of the catalogue and how often it was delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceCount {
    /// Service code.
    pub service: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Visits that delivered it.
    pub delivered: u32,
    /// Visits that found a need for it.
    pub needed: u32,
}

/// Incidents of one category currently in one stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentCount {
    /// Category code.
    pub category: String,
    /// Stage.
    pub stage: Stage,
    /// Incidents.
    pub count: u32,
}

/// Handling time of one stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageTime {
    /// Stage.
    pub stage: Stage,
    /// Times an incident left this stage during the month.
    pub handled: u32,
    /// Median minutes spent in the stage, over those (`None` when none left it).
    pub median_minutes: Option<f64>,
    /// Incidents of the month now in this stage past their deadline at the cut-off.
    pub overdue: u32,
}

/// The incident figures of the summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct IncidentSummary {
    /// Incidents reported in the month.
    pub reported: u32,
    /// Those by current stage.
    pub by_stage: BTreeMap<String, u32>,
    /// Those by category.
    pub by_category: BTreeMap<String, u32>,
    /// Those past their current stage's deadline at the cut-off.
    pub overdue: u32,
    /// Workflow events recorded in the month.
    pub events: u32,
    /// Evaluations (居民评单) recorded in the month.
    pub evaluations: u32,
    /// Of those, satisfied.
    pub satisfied: u32,
}

/// The ledger's summary (PRODUCT.md §9 `ledger --format json`, plus more fields).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct LedgerSummary {
    /// `YYYY-MM`.
    pub month: String,
    /// The grid, or `None` for the whole community (the device's scope).
    pub grid: Option<String>,
    /// The day figures are taken up to: the month's last day, or today while it is in progress.
    pub cut_off: NaiveDate,
    /// Current households.
    pub households: u32,
    /// Households with at least one contact in the month (a check-in other than `absent`, or a visit).
    pub households_contacted: u32,
    /// 入户率: households_contacted / households (1.0 when there are no households).
    pub checkin_rate: f64,
    /// Check-ins in the month (all kinds).
    pub check_ins: u32,
    /// Those by kind code (every kind present, zeros included).
    pub check_ins_by_kind: BTreeMap<String, u32>,
    /// Visits in the month.
    pub visits: u32,
    /// Visits by kind code.
    pub visits_by_kind: BTreeMap<String, u32>,
    /// Services delivered (one per service per visit).
    pub services_delivered: u32,
    /// Average resident satisfaction of the month's visits (`None`: no scores).
    pub visit_satisfaction: Option<f64>,
    /// Special-care contacts done vs required, all categories.
    pub special_care: ContactsDone,
    /// Special-care residents overdue at the cut-off (see `schedule::resident_overdue`).
    pub residents_overdue: u32,
    /// Incidents.
    pub incidents: IncidentSummary,
    /// Evaluation satisfaction rate: satisfied / evaluations in the month (`None`: no evaluations).
    pub satisfaction_rate: Option<f64>,
    /// Service orders requested in the month, by current stage code (every stage listed, zeros included).
    pub orders: BTreeMap<String, u32>,
    /// Points credited to volunteers for orders evaluated in the month (the whole community's).
    pub points_credited: u64,
    /// Points of the love supermarket's confirmed redemptions recorded in the month (the whole community's).
    pub points_redeemed: u64,
    /// Needs on the month's needs list (问题清单).
    pub needs: u32,
    /// Service projects created up to the cut-off (the whole community's).
    pub projects: u32,
    /// Of those, done.
    pub projects_done: u32,
    /// Residents' ratings of projects recorded in the month (replaced ones included).
    pub project_ratings: u32,
    /// Households whose residents' survey of the month's year stands (双评议), in the ledger's grids.
    pub households_surveyed: u32,
    /// The average answer of those surveys, two decimals (`None`: no survey).
    pub survey_average: Option<f64>,
    /// Departments the community rated for the month's year (部门评议).
    pub departments_rated: u32,
}

/// A check-in row of the ledger.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckInLine {
    /// Day, in the community's time zone.
    pub day: NaiveDate,
    /// Time, with the offset the device recorded (RFC 3339 in JSON).
    pub at: DateTime<FixedOffset>,
    /// Grid.
    pub grid: String,
    /// Household.
    pub household_code: String,
    /// Address: building-unit room.
    pub address: String,
    /// Kind.
    pub kind: CheckInKind,
    /// Outcome.
    pub outcome: CheckInOutcome,
    /// Note.
    pub note: String,
    /// Who.
    pub author: String,
}

/// An incident event row of the ledger.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentEventLine {
    /// Incident id.
    pub incident_id: String,
    /// Grid.
    pub grid: String,
    /// Category code.
    pub category: String,
    /// Normal or urgent.
    pub severity: Severity,
    /// Title.
    pub title: String,
    /// Position in the incident's event list.
    pub seq: i64,
    /// Action code.
    pub action: String,
    /// Who.
    pub actor: String,
    /// Role claimed.
    pub role: String,
    /// When (RFC 3339).
    pub at: String,
    /// Applied (false: superseded).
    pub applied: bool,
    /// Stage after the event (`None` for superseded events).
    pub stage_after: Option<Stage>,
    /// Why it was superseded.
    pub superseded_reason: Option<SupersededReason>,
    /// Note.
    pub note: String,
}

/// A service order of the ledger: one requested in the month, as it stands at the cut-off.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderLine {
    /// Order id.
    pub order_id: String,
    /// Grid.
    pub grid: String,
    /// Service code.
    pub service: String,
    /// Household.
    pub household_code: String,
    /// The volunteer it is (or was last) dispatched to.
    pub volunteer: Option<String>,
    /// Current stage.
    pub stage: OrderStage,
    /// When it was requested.
    pub requested_at: DateTime<FixedOffset>,
    /// When the volunteer marked it done.
    pub done_at: Option<DateTime<FixedOffset>>,
    /// The resident's rating, 1–5.
    pub rating: Option<u8>,
}

/// The whole ledger of a month.
#[derive(Debug, Clone, PartialEq)]
pub struct Ledger {
    /// Summary figures.
    pub summary: LedgerSummary,
    /// Special-care contacts per category, in the community's category order.
    pub special_care: Vec<CategoryCare>,
    /// Services in catalogue order (plus codes no longer in the catalogue).
    pub services: Vec<ServiceCount>,
    /// Incidents of the month by category and current stage.
    pub incidents: Vec<IncidentCount>,
    /// Handling time and overdue counts per stage.
    pub stage_times: Vec<StageTime>,
    /// Every check-in of the month.
    pub check_ins: Vec<CheckInLine>,
    /// Every visit of the month.
    pub(crate) visits: Vec<VisitRow>,
    /// Every incident event of the month.
    pub incident_events: Vec<IncidentEventLine>,
    /// The service orders requested in the month, by request time.
    pub orders: Vec<OrderLine>,
    /// Every volunteer's points of the month and balance at the cut-off.
    pub volunteer_points: Vec<VolunteerMonth>,
    /// The month's honour roll (荣誉墙): orders, minutes and points per volunteer, most points first.
    pub honour_roll: Vec<HonourRow>,
    /// The month's needs list (问题清单), most households first.
    pub needs: Vec<NeedItem>,
    /// The service projects created up to the cut-off, newest first.
    pub projects: Vec<ProjectListItem>,
    /// The residents' ratings of projects recorded in the month, per project in replay order.
    pub project_ratings: Vec<ProjectRatingView>,
    /// The residents' survey of the month's year (居民满意度测评), per grid and in total.
    pub survey: SurveyReport,
    /// The community's department ratings of the month's year (部门评议).
    pub departments: DepartmentReport,
}

/// The ledger's figures without its row sheets (`Store::ledger_figures`): every section a screen shows, the
/// same numbers as the whole [`Ledger`].
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerFigures {
    /// Summary figures.
    pub summary: LedgerSummary,
    /// Special-care contacts per category, in the community's category order.
    pub special_care: Vec<CategoryCare>,
    /// Services in catalogue order (plus codes no longer in the catalogue).
    pub services: Vec<ServiceCount>,
    /// Incidents of the month by category and current stage.
    pub incidents: Vec<IncidentCount>,
    /// Handling time and overdue counts per stage.
    pub stage_times: Vec<StageTime>,
}

impl From<Ledger> for LedgerFigures {
    fn from(l: Ledger) -> LedgerFigures {
        LedgerFigures {
            summary: l.summary,
            special_care: l.special_care,
            services: l.services,
            incidents: l.incidents,
            stage_times: l.stage_times,
        }
    }
}

/// How much of the rows a ledger prepares: the files need every check-in addressed and in order; the
/// figures only count them (ordering and addressing 60,000 rows is most of a community ledger's time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rows {
    /// Rows addressed and ordered, for the sheets.
    Sheets,
    /// Rows as read, for the figures only.
    Counted,
}

/// The median of `values` (mean of the middle two for an even count; `None` when empty).
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) { (values[mid - 1] + values[mid]) / 2.0 } else { values[mid] })
}

/// The stage an event list had reached: one applied event of an incident, in document order.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedEvent {
    /// When.
    pub at: DateTime<FixedOffset>,
    /// Stage after it.
    pub stage_after: Stage,
}

/// Time spent per stage, from an incident's applied events in order: an event that changes the stage closes
/// the stage it leaves; events that leave the stage as it was (comments) do not split it. Returns (stage,
/// minutes, closing instant) for every stage left.
pub fn stage_intervals(events: &[AppliedEvent]) -> Vec<(Stage, f64, DateTime<FixedOffset>)> {
    let mut out = Vec::new();
    let Some(first) = events.first() else { return out };
    let (mut stage, mut since) = (first.stage_after, first.at);
    for e in &events[1..] {
        if e.stage_after == stage {
            continue;
        }
        out.push((stage, (e.at - since).num_seconds().max(0) as f64 / 60.0, e.at));
        (stage, since) = (e.stage_after, e.at);
    }
    out
}

struct IncidentRow {
    incident_id: String,
    grid: String,
    category: String,
    severity: Severity,
    title: String,
    stage: Stage,
    reported: Option<NaiveDate>,
    deadline: Option<DateTime<FixedOffset>>,
}

fn local_day(store: &Store, text: &str) -> Option<NaiveDate> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| store.day_of(&t))
}

/// The ledger of `month` for `grid` (in scope), or for the device's whole scope when `None`
/// (`Store::ledger`).
pub(crate) fn build(store: &Store, month: &Month, grid: Option<&str>, rows: Rows) -> Result<Ledger> {
    let grids = store.grids_for(grid)?;
    let until = store.cut_off(month);
    let households = store.households_of(&grids)?;
    let current: BTreeSet<&str> = households.iter().map(|h| h.household_code.as_str()).collect();
    let check_ins = ledger_check_ins(store, &grids, month, &households, rows)?;
    let visits = store.visits_in_month(&grids, month)?;

    let mut contacted: BTreeSet<&str> = BTreeSet::new();
    let mut contacts: HashMap<String, Vec<DatedContact>> = HashMap::new();
    for c in check_ins.iter().filter(|c| c.kind.counts_for_rotation()) {
        contacted.insert(c.household_code.as_str());
        if let Some(contact) = c.kind.contact() {
            contacts.entry(c.household_code.clone()).or_default().push(DatedContact {
                resident: None,
                level: contact.level(),
                day: c.day,
            });
        }
    }
    contacted.extend(visits.iter().map(|v| v.household_code.as_str()));
    add_visit_contacts(&mut contacts, &visits);
    let households_contacted = contacted.intersection(&current).count() as u32;

    let (special_care, total_care, residents_overdue) = ledger_special_care(store, &grids, month, until, &contacts)?;
    let services = ledger_services(store, &visits);
    let (incidents, stage_times, incident_events, incident_summary) = ledger_incidents(store, &grids, month, until)?;
    let orders = ledger_orders(store, &grids, month)?;
    let (volunteer_points, honour_roll) = ledger_points(store, month, until)?;
    let (needs, projects, project_ratings) = ledger_projects(store, grid, month, until)?;
    let (survey, departments) = ledger_evaluation(store, month, grid)?;
    let mut orders_by_stage: BTreeMap<String, u32> =
        OrderStage::ALL.iter().map(|s| (s.code().to_string(), 0)).collect();
    for o in &orders {
        *orders_by_stage.entry(o.stage.code().to_string()).or_default() += 1;
    }

    let mut check_ins_by_kind: BTreeMap<String, u32> =
        CheckInKind::ALL.iter().map(|k| (k.code().to_string(), 0)).collect();
    for c in &check_ins {
        *check_ins_by_kind.entry(c.kind.code().to_string()).or_default() += 1;
    }
    let mut visits_by_kind: BTreeMap<String, u32> =
        crate::model::VisitKind::ALL.iter().map(|k| (k.code().to_string(), 0)).collect();
    for v in &visits {
        *visits_by_kind.entry(v.kind.clone()).or_default() += 1;
    }
    let scores: Vec<u8> = visits.iter().filter_map(|v| v.satisfaction).collect();
    let summary = LedgerSummary {
        month: month.code(),
        grid: grid.map(str::to_string),
        cut_off: until,
        households: current.len() as u32,
        households_contacted,
        checkin_rate: rate(households_contacted, current.len() as u32),
        check_ins: check_ins.len() as u32,
        check_ins_by_kind,
        visits: visits.len() as u32,
        visits_by_kind,
        services_delivered: visits.iter().map(|v| v.services.len() as u32).sum(),
        visit_satisfaction: crate::store::average(&scores),
        special_care: total_care,
        residents_overdue,
        satisfaction_rate: (incident_summary.evaluations > 0)
            .then(|| rate(incident_summary.satisfied, incident_summary.evaluations)),
        incidents: incident_summary,
        orders: orders_by_stage,
        points_credited: volunteer_points.iter().map(|v| v.earned).sum(),
        points_redeemed: volunteer_points.iter().map(|v| v.redeemed).sum(),
        needs: needs.len() as u32,
        projects: projects.len() as u32,
        projects_done: projects.iter().filter(|p| p.status == crate::project::ProjectStatus::Done).count() as u32,
        project_ratings: project_ratings.len() as u32,
        households_surveyed: survey.total.households_surveyed,
        survey_average: survey.total.average,
        departments_rated: departments.departments.len() as u32,
    };
    Ok(Ledger {
        summary,
        special_care,
        services,
        incidents,
        stage_times,
        check_ins,
        visits,
        incident_events,
        orders,
        volunteer_points,
        honour_roll,
        needs,
        projects,
        project_ratings,
        survey,
        departments,
    })
}

/// The month's needs list (of `grid`, or the device's scope), the projects created up to `until` (the whole
/// community's: a project is community-level) and the ratings recorded in the month (of `grid`'s households
/// when one is named). A volunteer's device holds none of them.
fn ledger_projects(
    store: &Store,
    grid: Option<&str>,
    month: &Month,
    until: NaiveDate,
) -> Result<(Vec<NeedItem>, Vec<ProjectListItem>, Vec<ProjectRatingView>)> {
    if store.device().role == crate::model::Role::Volunteer {
        return Ok(Default::default());
    }
    let filter = NeedsFilter { grid: grid.map(str::to_string), month: Some(month.code()) };
    let needs = store.needs_list(&filter)?.items;
    let mut projects = store.project_list(&ProjectFilter::default())?.items;
    projects.retain(|p| store.day_of(&p.created_at) <= until);
    let mut ratings = store.project_ratings()?;
    ratings
        .retain(|r| grid.is_none_or(|g| r.grid == g) && local_day(store, &r.at).is_some_and(|day| month.contains(day)));
    Ok((needs, projects, ratings))
}

/// The residents' survey and the department ratings of the year `month` falls in: the survey of `grid` or
/// the device's scope, the department ratings when the device may read them.
fn ledger_evaluation(store: &Store, month: &Month, grid: Option<&str>) -> Result<(SurveyReport, DepartmentReport)> {
    use chrono::Datelike;
    let year = u32::try_from(month.first.year()).unwrap_or_default();
    let survey = store.survey_report(year, grid)?;
    let readable =
        store.device().scope().may_read(&crate::docs::DocId::departments(&store.device().community_id, year));
    let departments =
        if readable { store.department_report(year)? } else { DepartmentReport { year, departments: Vec::new() } };
    Ok((survey, departments))
}

/// The service orders of `grids` requested in `month` (in the community's time zone), by request time.
fn ledger_orders(store: &Store, grids: &Option<Vec<String>>, month: &Month) -> Result<Vec<OrderLine>> {
    // A day's margin on either side covers every UTC offset the devices may have recorded.
    let lo = day_text(month.first - chrono::Days::new(1));
    let hi = day_text(month.next_first() + chrono::Days::new(2));
    let mut orders = Store::per_grid(grids, |g| db::ledger::orders_requested_between(store.conn(), g, &lo, &hi))?;
    orders.retain(|o| month.contains(store.day_of(&o.requested_at)));
    orders.sort_by(|a, b| (a.requested_at, &a.order_id).cmp(&(b.requested_at, &b.order_id)));
    Ok(orders)
}

/// The volunteers' points of `month` with their balances at the end of `until`, and the month's honour roll,
/// from the community's points ledger as this device holds it.
fn ledger_points(store: &Store, month: &Month, until: NaiveDate) -> Result<(Vec<VolunteerMonth>, Vec<HonourRow>)> {
    let ledger = store.points_ledger()?;
    let tz = store.settings().tz();
    Ok((points::month_points(&ledger, month, until, tz), points::honour_roll(&ledger, month, tz)))
}

fn ledger_check_ins(
    store: &Store,
    grids: &Option<Vec<String>>,
    month: &Month,
    households: &[crate::model::Household],
    rows: Rows,
) -> Result<Vec<CheckInLine>> {
    if rows == Rows::Counted {
        return Store::per_grid(grids, |g| db::ledger::check_ins_in_month(store.conn(), g, month));
    }
    let address: HashMap<&str, String> = households
        .iter()
        .map(|h| (h.household_code.as_str(), format!("{}-{} {}", h.building, h.unit, h.room)))
        .collect();
    let mut out = Store::per_grid(grids, |g| db::ledger::check_ins_in_month(store.conn(), g, month))?;
    for c in &mut out {
        c.address = address.get(c.household_code.as_str()).cloned().unwrap_or_default();
    }
    // By the recorded time's text within a day, as the table orders it (not by instant).
    out.sort_by_cached_key(|c| (c.day, c.at.to_rfc3339(), c.household_code.clone()));
    Ok(out)
}

/// Per category tallies, the total, and residents overdue at the cut-off.
fn ledger_special_care(
    store: &Store,
    grids: &Option<Vec<String>>,
    month: &Month,
    until: NaiveDate,
    contacts: &HashMap<String, Vec<DatedContact>>,
) -> Result<(Vec<CategoryCare>, ContactsDone, u32)> {
    let residents = store.tagged_residents_of(grids)?;
    let histories = store.histories_until(grids, until)?;
    let mut per: BTreeMap<String, (BTreeSet<(String, String)>, ContactsDone)> = BTreeMap::new();
    let mut total = ContactsDone::default();
    let mut overdue = 0;
    let (no_contacts, no_history) = (Vec::new(), ContactHistory::default());
    for (household, rs) in &residents {
        let cs = contacts.get(household).unwrap_or(&no_contacts);
        for r in rs {
            let tallies = schedule::care_tallies(store.settings(), r, cs, month, until);
            if tallies.is_empty() {
                continue;
            }
            for t in &tallies {
                let (who, done) =
                    per.entry(t.tag.clone()).or_insert_with(|| (BTreeSet::new(), ContactsDone::default()));
                who.insert((household.clone(), r.name.clone()));
                done.add(t);
                total.add(t);
            }
            let history = histories.get(household).unwrap_or(&no_history);
            overdue += u32::from(schedule::resident_overdue(store.settings(), r, history, until));
        }
    }
    let categories = store
        .settings()
        .categories
        .iter()
        .map(|c| {
            let (who, contacts) = per.remove(&c.code).unwrap_or_default();
            CategoryCare {
                category: c.code.clone(),
                name_zh: c.name_zh.clone(),
                name_en: c.name_en.clone(),
                residents: who.len() as u32,
                contacts,
            }
        })
        .collect();
    Ok((categories, total, overdue))
}

fn ledger_services(store: &Store, visits: &[VisitRow]) -> Vec<ServiceCount> {
    let mut delivered: BTreeMap<&str, u32> = BTreeMap::new();
    let mut needed: BTreeMap<&str, u32> = BTreeMap::new();
    for v in visits {
        v.services.iter().for_each(|s| *delivered.entry(s).or_default() += 1);
        v.need_tags.iter().for_each(|s| *needed.entry(s).or_default() += 1);
    }
    let mut out: Vec<ServiceCount> = store
        .settings()
        .visit_services
        .iter()
        .map(|e| ServiceCount {
            service: e.code.clone(),
            name_zh: e.name_zh.clone(),
            name_en: e.name_en.clone(),
            delivered: delivered.remove(e.code.as_str()).unwrap_or(0),
            needed: needed.remove(e.code.as_str()).unwrap_or(0),
        })
        .collect();
    let retired: BTreeSet<&str> = delivered.keys().chain(needed.keys()).copied().collect();
    out.extend(retired.into_iter().map(|code| ServiceCount {
        service: code.to_string(),
        name_zh: code.to_string(),
        name_en: code.to_string(),
        delivered: delivered.get(code).copied().unwrap_or(0),
        needed: needed.get(code).copied().unwrap_or(0),
    }));
    out
}

fn ledger_incident_rows(store: &Store, grids: &Option<Vec<String>>) -> Result<Vec<IncidentRow>> {
    let rows = Store::per_grid(grids, |g| db::ledger::incidents(store.conn(), g))?;
    Ok(rows
        .into_iter()
        .map(|r| IncidentRow {
            reported: local_day(store, &r.reported_at),
            deadline: r.deadline.and_then(|d| DateTime::parse_from_rfc3339(&d).ok()),
            incident_id: r.incident_id,
            grid: r.grid,
            category: r.category,
            severity: r.severity,
            title: r.title,
            stage: r.stage,
        })
        .collect())
}

#[allow(clippy::type_complexity)]
fn ledger_incidents(
    store: &Store,
    grids: &Option<Vec<String>>,
    month: &Month,
    until: NaiveDate,
) -> Result<(Vec<IncidentCount>, Vec<StageTime>, Vec<IncidentEventLine>, IncidentSummary)> {
    let incidents = ledger_incident_rows(store, grids)?;
    let by_id: HashMap<&str, &IncidentRow> = incidents.iter().map(|i| (i.incident_id.as_str(), i)).collect();
    // The instant figures are judged at: the end of the cut-off day in the community's time zone, or now.
    let cut_off_instant = (until + chrono::Days::new(1))
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(store.settings().tz()).earliest())
        .map(|t| t.fixed_offset())
        .unwrap_or_else(|| store.now_local())
        .min(store.now_local());

    let mut summary = IncidentSummary::default();
    // Keyed by (category, stage code): the ledger lists stages of a category by code, as it always has.
    let mut matrix: BTreeMap<(String, &'static str), (Stage, u32)> = BTreeMap::new();
    let mut overdue_by_stage: BTreeMap<Stage, u32> = BTreeMap::new();
    for i in incidents.iter().filter(|i| i.reported.is_some_and(|d| month.contains(d))) {
        summary.reported += 1;
        *summary.by_stage.entry(i.stage.code().to_string()).or_default() += 1;
        *summary.by_category.entry(i.category.clone()).or_default() += 1;
        matrix.entry((i.category.clone(), i.stage.code())).or_insert((i.stage, 0)).1 += 1;
        if i.deadline.is_some_and(|d| d < cut_off_instant) {
            summary.overdue += 1;
            *overdue_by_stage.entry(i.stage).or_default() += 1;
        }
    }

    // Events of incidents that had any event near the month (a day's margin covers every UTC offset).
    let lo = day_text(month.first - chrono::Days::new(1));
    let hi = day_text(month.next_first() + chrono::Days::new(2));
    let mut lines = Vec::new();
    let mut applied: BTreeMap<String, Vec<AppliedEvent>> = BTreeMap::new();
    // A one-grid ledger reads only its grid's events (a community's other grids may hold thousands).
    let one_grid = grids.as_deref().and_then(|g| if let [only] = g { Some(only.as_str()) } else { None });
    for r in db::ledger::events_of_incidents_active_between(store.conn(), one_grid, &lo, &hi)? {
        let Some(incident) = by_id.get(r.incident_id.as_str()) else { continue };
        let Ok(at) = DateTime::parse_from_rfc3339(&r.at) else { continue };
        let line = IncidentEventLine {
            incident_id: r.incident_id,
            grid: incident.grid.clone(),
            category: incident.category.clone(),
            severity: incident.severity,
            title: incident.title.clone(),
            seq: r.seq,
            action: r.action,
            actor: r.actor,
            role: r.role,
            at: r.at,
            applied: r.applied,
            stage_after: r.stage_after,
            superseded_reason: r.superseded_reason,
            note: r.note,
        };
        let satisfied = r.satisfied;
        if let (true, Some(stage_after)) = (line.applied, &line.stage_after) {
            applied.entry(line.incident_id.clone()).or_default().push(AppliedEvent { at, stage_after: *stage_after });
        }
        if month.contains(store.day_of(&at)) {
            if line.applied && line.action.parse::<Action>().ok() == Some(Action::Evaluate) {
                summary.evaluations += 1;
                let closed = line.stage_after == Some(Stage::Closed);
                summary.satisfied += u32::from(satisfied.unwrap_or(closed));
            }
            lines.push(line);
        }
    }
    summary.events = lines.len() as u32;

    let mut minutes: BTreeMap<Stage, Vec<f64>> = BTreeMap::new();
    for events in applied.values() {
        for (stage, m, closed_at) in stage_intervals(events) {
            if month.contains(store.day_of(&closed_at)) {
                minutes.entry(stage).or_default().push(m);
            }
        }
    }
    // A stage's order is the workflow's (PRODUCT.md §4).
    let stages: BTreeSet<Stage> = minutes.keys().chain(overdue_by_stage.keys()).copied().collect();
    let stage_times = stages
        .into_iter()
        .map(|stage| {
            let mut m = minutes.remove(&stage).unwrap_or_default();
            StageTime {
                handled: m.len() as u32,
                median_minutes: median(&mut m).map(|v| (v * 10.0).round() / 10.0),
                overdue: overdue_by_stage.get(&stage).copied().unwrap_or(0),
                stage,
            }
        })
        .collect();
    let counts =
        matrix.into_iter().map(|((category, _), (stage, count))| IncidentCount { category, stage, count }).collect();
    Ok((counts, stage_times, lines, summary))
}

#[cfg(test)]
mod tests {
    use rusqlite::params;

    use super::*;

    fn t(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).expect("time")
    }

    fn store(dir: &std::path::Path) -> Store {
        use crate::store::InitOptions;
        let clock = std::sync::Arc::new(crate::FixedClock(t("2026-12-05T09:00:00+08:00").to_utc()));
        let opts = InitOptions {
            community_name: "幸福社区".into(),
            ..InitOptions::new("站长", crate::model::Role::Station)
        };
        let mut store = Store::init(dir, &[7; 32], opts, clock).expect("store");
        let roster = format!(
            "{}\nG01,1,1,1,101,H1,甲,F,1940,,,,\nG02,1,1,1,101,H2,乙,F,1940,,,,\n",
            crate::roster_csv::ROSTER_HEADER
        );
        store.import_roster(roster.as_bytes()).expect("roster");
        store
    }

    /// (incident, grid, category, stage, reported_at, deadline, [(action, at, applied, stage_after)])
    type Fixture<'a> =
        (&'a str, &'a str, &'a str, &'a str, &'a str, Option<&'a str>, Vec<(&'a str, &'a str, bool, &'a str)>);

    fn insert_incidents(store: &mut Store, incidents: &[Fixture<'_>]) {
        store
            .with_tx(|tx| {
                for (id, grid, category, stage, reported_at, deadline, events) in incidents {
                    tx.execute(
                        "INSERT INTO incident (incident_id, doc_id, grid, category, severity, title, description, photos,
                             stage, reporter, reported_at, stage_since, deadline, waiting_for, committee_notified,
                             delivered, event_count, updated_at)
                         VALUES (?1, '', ?2, ?3, 'normal', '楼道堆物', '', '', ?4, '王', ?5, ?5, ?6, '', 0, 1, 0, ?5)",
                        params![id, grid, category, stage, reported_at, deadline],
                    )?;
                    for (seq, (action, at, applied, after)) in events.iter().enumerate() {
                        tx.execute(
                            "INSERT INTO incident_event (incident_id, seq, event_id, action, actor, device, role, at,
                                 applied, stage_after, note, photos)
                             VALUES (?1, ?2, ?3, ?4, 'x', 'd', 'station', ?5, ?6, ?7, '', '')",
                            params![id, seq as i64, format!("{id}-{seq}"), action, at, applied, applied.then_some(*after)],
                        )?;
                    }
                }
                Ok(())
            })
            .expect("insert incidents");
    }

    #[test]
    fn incident_sections_from_the_materialised_tables() {
        let dir = tempfile::tempdir().expect("dir");
        let mut store = store(dir.path());
        insert_incidents(
            &mut store,
            &[
                // Closed in November after a satisfied evaluation.
                (
                    "i1",
                    "G01",
                    "environment",
                    "closed",
                    "2026-11-02T08:00:00+08:00",
                    None,
                    vec![
                        ("report", "2026-11-02T08:00:00+08:00", true, "reported"),
                        ("receive", "2026-11-02T08:10:00+08:00", true, "committee_review"),
                        ("dispatch", "2026-11-02T09:10:00+08:00", true, "at_station"),
                        ("verify", "2026-11-02T11:10:00+08:00", true, "in_progress"),
                        ("resolve", "2026-11-03T11:10:00+08:00", true, "resolved"),
                        ("evaluate", "2026-11-04T11:10:00+08:00", true, "closed"),
                    ],
                ),
                // Unsatisfied evaluation reopened it; a superseded dispatch is kept in the rows.
                (
                    "i2",
                    "G01",
                    "environment",
                    "at_station",
                    "2026-11-10T08:00:00+08:00",
                    Some("2026-11-12T08:00:00+08:00"),
                    vec![
                        ("report", "2026-11-10T08:00:00+08:00", true, "reported"),
                        ("receive", "2026-11-10T08:30:00+08:00", true, "committee_review"),
                        ("dispatch", "2026-11-10T11:30:00+08:00", true, "at_station"),
                        ("dispatch", "2026-11-10T11:31:00+08:00", false, "at_station"),
                        ("verify", "2026-11-10T13:30:00+08:00", true, "in_progress"),
                        ("resolve", "2026-11-11T13:30:00+08:00", true, "resolved"),
                        ("evaluate", "2026-11-11T15:30:00+08:00", true, "at_station"),
                    ],
                ),
                // Another grid; and an October incident whose only November event is its closing evaluation.
                (
                    "i3",
                    "G02",
                    "safety_hazard",
                    "committee_review",
                    "2026-11-30T23:30:00+08:00",
                    Some("2026-12-01T23:30:00+08:00"),
                    vec![
                        ("report", "2026-11-30T23:30:00+08:00", true, "reported"),
                        ("receive", "2026-11-30T23:40:00+08:00", true, "committee_review"),
                    ],
                ),
                (
                    "i0",
                    "G01",
                    "other",
                    "closed",
                    "2026-10-20T08:00:00+08:00",
                    None,
                    vec![
                        ("report", "2026-10-20T08:00:00+08:00", true, "reported"),
                        ("settle", "2026-10-21T08:00:00+08:00", true, "resolved"),
                        ("evaluate", "2026-11-01T00:30:00+08:00", true, "closed"),
                    ],
                ),
            ],
        );
        let nov = Month::parse("2026-11").expect("month");
        let all = store.ledger(&nov, None).expect("ledger");
        let inc = &all.summary.incidents;
        assert_eq!(inc.reported, 3, "i0 was reported in October");
        assert_eq!(inc.by_stage.get("closed"), Some(&1));
        assert_eq!(inc.by_stage.get("at_station"), Some(&1));
        assert_eq!(inc.by_category.get("environment"), Some(&2));
        assert_eq!(inc.overdue, 1, "i2 is past its deadline at the end of November; i3's runs into December");
        assert_eq!((inc.evaluations, inc.satisfied), (3, 2));
        assert_eq!(all.summary.satisfaction_rate, Some(0.6667));
        assert_eq!(inc.events, 6 + 7 + 2 + 1);
        assert_eq!(all.incident_events.iter().filter(|e| !e.applied).count(), 1);
        let stage = |s: &str| all.stage_times.iter().find(|t| t.stage.code() == s).cloned().expect(s);
        // committee_review: i1 60 min, i2 180 min → median 120; at_station: 120 (i1), 120 (i2, superseded
        // dispatch ignored); resolved: i1 1440, i2 120, i0 (October → November 1) 15,390.
        assert_eq!((stage("committee_review").handled, stage("committee_review").median_minutes), (2, Some(120.0)));
        assert_eq!(stage("at_station").median_minutes, Some(120.0));
        assert_eq!(stage("at_station").overdue, 1);
        assert_eq!((stage("resolved").handled, stage("resolved").median_minutes), (3, Some(1440.0)));
        assert_eq!(stage("reported").median_minutes, Some(10.0));

        assert_eq!(store.ledger_figures(&nov, None).expect("figures"), LedgerFigures::from(all.clone()));
        let g02 = store.ledger(&nov, Some("G02")).expect("G02");
        assert_eq!((g02.summary.incidents.reported, g02.summary.incidents.overdue), (1, 0));
        assert_eq!(g02.summary.satisfaction_rate, None);
        let sheets = g02.sheets(export::Lang::En);
        let events = sheets.iter().find(|s| s.name == "Incident events").expect("events sheet");
        assert_eq!(events.rows.len(), 2);
    }

    /// The check-ins of a grid's month are counted by kind (every kind listed), and only check-ins other than
    /// `absent` make a household contacted.
    #[test]
    fn check_ins_by_kind_and_the_rate_per_grid() {
        use crate::model::{CheckInOutcome, NewCheckIn};
        let dir = tempfile::tempdir().expect("dir");
        let mut store = store(dir.path());
        let check_in = |household: &str, kind: CheckInKind, at: &str| NewCheckIn {
            household_code: household.into(),
            kind,
            outcome: CheckInOutcome::Well,
            note: String::new(),
            photos: vec![],
            location: None,
            at: Some(t(at)),
        };
        store
            .check_in_batch(vec![
                check_in("H1", CheckInKind::Absent, "2026-11-03T09:00:00+08:00"),
                check_in("H1", CheckInKind::Absent, "2026-11-04T09:00:00+08:00"),
                check_in("H2", CheckInKind::Phone, "2026-11-05T09:00:00+08:00"),
                check_in("H2", CheckInKind::Door, "2026-10-31T09:00:00+08:00"),
            ])
            .expect("check-ins");
        let nov = Month::parse("2026-11").expect("month");
        let g01 = store.ledger(&nov, Some("G01")).expect("G01").summary;
        let kinds: Vec<(&str, u32)> = g01.check_ins_by_kind.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        assert_eq!(kinds, [("absent", 2), ("door", 0), ("observed", 0), ("phone", 0)]);
        assert_eq!((g01.households_contacted, g01.checkin_rate), (0, 0.0));
        let g02 = store.ledger(&nov, Some("G02")).expect("G02").summary;
        assert_eq!((g02.check_ins_by_kind["phone"], g02.check_ins_by_kind["door"]), (1, 0), "October's is not counted");
        assert_eq!(g02.checkin_rate, 1.0);
        let all = store.ledger(&nov, None).expect("all").summary;
        assert_eq!((all.check_ins, all.check_ins_by_kind["absent"], all.checkin_rate), (3, 2, 0.5));
        for grid in [Some("G01"), Some("G02"), None] {
            let whole = store.ledger(&nov, grid).expect("ledger");
            assert_eq!(store.ledger_figures(&nov, grid).expect("figures"), LedgerFigures::from(whole), "{grid:?}");
        }
    }

    /// The month's service orders come from the materialised table (requested in the month, in the community's
    /// time zone), the points from the community's ledger document: credits of orders evaluated in the month,
    /// confirmed redemptions, balances at the cut-off and the honour roll, whatever the grid.
    #[test]
    fn service_orders_and_points_of_the_month() {
        let dir = tempfile::tempdir().expect("dir");
        let mut store = store(dir.path());
        // (order, grid, stage, requested_at, volunteer, done_at, rating)
        let orders = [
            (
                "o1",
                "G01",
                "evaluated",
                "2026-11-02T08:00:00+08:00",
                Some("张"),
                Some("2026-11-02T12:00:00+08:00"),
                Some(5),
            ),
            ("o2", "G01", "dispatched", "2026-11-30T23:30:00+08:00", Some("李"), None, None),
            ("o3", "G02", "requested", "2026-11-10T08:00:00+08:00", None, None, None),
            // October; and December, after the cut-off.
            ("o0", "G01", "cancelled", "2026-10-31T23:30:00+08:00", None, None, None),
            ("o4", "G01", "requested", "2026-12-01T00:30:00+08:00", None, None, None),
        ];
        store
            .with_tx(|tx| {
                for (id, grid, stage, requested_at, volunteer, done_at, rating) in &orders {
                    tx.execute(
                        "INSERT INTO service_order (order_id, doc_id, grid, household_code, resident, address, phone,
                             service, note, from_visit, stage, stage_since, requester, requester_role, requested_at,
                             volunteer, due, rating, done_at, evaluated_at, event_count, updated_at)
                         VALUES (?1, '', ?2, 'H1', NULL, '1-1-101', NULL, 'meal_delivery', '', NULL, ?3, ?4, '王',
                             'grid_leader', ?4, ?5, NULL, ?6, ?7, NULL, 1, ?4)",
                        params![id, grid, stage, requested_at, volunteer, rating, done_at],
                    )?;
                }
                Ok(())
            })
            .expect("insert orders");
        let points_id = crate::docs::DocId::points(&store.device().community_id);
        let mut doc = store.checkout(&points_id).expect("points ledger");
        let settings = store.settings().clone();
        let now = t("2026-12-01T09:00:00+08:00");
        let ids: Vec<String> = (0..3).map(|n| format!("0190f5a4-2b3c-7d4e-8f00-1122334455{n:02}")).collect();
        for (id, volunteer, service, at) in [
            (&ids[0], "张", "meal_delivery", "2026-11-02T13:00:00+08:00"), // 10 points, 60 minutes
            (&ids[1], "张", "cleaning", "2026-11-20T13:00:00+08:00"),      // 12 points, 120 minutes
            (&ids[2], "李", "haircut", "2026-10-20T13:00:00+08:00"),       // 6 points in October
        ] {
            crate::points::credit_evaluated(&mut doc, id, volunteer, service, t(at), &settings, now).expect("credit");
        }
        let towel = crate::points::RedemptionRequest {
            redemption_id: "0190f5a4-2b3c-7d4e-8f00-1122334455aa".into(),
            volunteer: "张".into(),
            item: "towel".into(),
            quantity: 1,
            points: 20,
            actor: "站长".into(),
            device: "d1".into(),
            role: "station".into(),
            at: t("2026-11-25T09:00:00+08:00"),
            note: String::new(),
        };
        crate::docs::points::record_redemption(&mut doc, &towel).expect("towel");
        crate::points::decide_pending(&mut doc, &settings, now).expect("decide");
        store.persist(vec![(points_id, doc)], |_, _| Ok(())).expect("persist the points ledger");

        let nov = Month::parse("2026-11").expect("month");
        let all = store.ledger(&nov, None).expect("ledger");
        let ids_of = |l: &Ledger| l.orders.iter().map(|o| o.order_id.clone()).collect::<Vec<_>>();
        assert_eq!(ids_of(&all), ["o1", "o3", "o2"], "requested in November, by request time");
        let by_stage: Vec<(&str, u32)> = all.summary.orders.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        assert_eq!(
            by_stage,
            [("accepted", 0), ("cancelled", 0), ("dispatched", 1), ("done", 0), ("evaluated", 1), ("requested", 1)]
        );
        assert_eq!((all.summary.points_credited, all.summary.points_redeemed), (22, 20));
        let points: Vec<(&str, u64, u64, u64)> =
            all.volunteer_points.iter().map(|v| (v.volunteer.as_str(), v.earned, v.redeemed, v.balance)).collect();
        assert_eq!(points, [("张", 22, 20, 2), ("李", 0, 0, 6)]);
        let roll: Vec<(&str, u32, u32, u64)> =
            all.honour_roll.iter().map(|r| (r.volunteer.as_str(), r.orders, r.minutes, r.points)).collect();
        assert_eq!(roll, [("张", 2, 180, 22)]);
        assert_eq!(store.ledger_figures(&nov, None).expect("figures"), LedgerFigures::from(all.clone()));

        let g02 = store.ledger(&nov, Some("G02")).expect("G02");
        assert_eq!(ids_of(&g02), ["o3"]);
        assert_eq!(g02.summary.points_credited, 22, "points are the community's");

        let zh = all.sheets(export::Lang::Zh);
        let sheet = |name: &str| zh.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("sheet {name}")).clone();
        let orders = sheet("服务订单");
        assert_eq!(orders.headers[..3], ["订单编号", "网格", "服务"]);
        assert_eq!(orders.rows.len(), 3);
        assert_eq!(orders.rows[0][8], export::Cell::Num(5.0), "o1's rating");
        assert_eq!(orders.rows[0][7], export::Cell::Text("2026-11-02T12:00:00+08:00".into()), "done");
        assert_eq!(orders.rows[1][7], export::Cell::Empty, "o3 is not done");
        assert_eq!(sheet("志愿者积分").rows[0], vec!["张".into(), 22u32.into(), 20u32.into(), 2u32.into()]);
        let honour = sheet("荣誉墙");
        assert_eq!(honour.headers, ["排名", "志愿者", "服务单数", "服务时长(小时)", "积分"]);
        assert_eq!(honour.rows[0], vec![1u32.into(), "张".into(), 2u32.into(), 3.0.into(), 22u32.into()]);
        let en = all.sheets(export::Lang::En);
        assert!(["Service orders", "Volunteer points", "Honour roll"].iter().all(|n| en.iter().any(|s| s.name == *n)));
    }

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn stage_intervals_run_from_one_applied_event_to_the_next() {
        let ev = |at: &str, stage: Stage| AppliedEvent { at: t(at), stage_after: stage };
        let got = stage_intervals(&[
            ev("2026-11-01T08:00:00+08:00", Stage::Reported),
            ev("2026-11-01T08:30:00+08:00", Stage::CommitteeReview),
            ev("2026-11-01T09:00:00+08:00", Stage::CommitteeReview),
            ev("2026-11-01T10:30:00+08:00", Stage::AtStation),
        ]);
        let view: Vec<(&str, f64)> = got.iter().map(|(s, m, _)| (s.code(), *m)).collect();
        assert_eq!(view, vec![("reported", 30.0), ("committee_review", 120.0)]);
    }
}
