//! Service projects (项目化) and residents' ratings (民事民评) on the device, and the needs list (问题清单):
//! creating and running a project, recording a household's rating once it is done, and the list, detail and
//! needs list read from the materialised tables (their SQL is `db/projects.rs`). Statuses and which ratings
//! stand come from `project.rs`, what counts as a need from `needs.rs`; this file stores what they derive, in
//! the same transaction as the document change.

use std::collections::BTreeMap;

use automerge::AutoCommit;
use chrono::{DateTime, FixedOffset, NaiveDate};
use rusqlite::Transaction;
use serde::Serialize;

use super::db;
use super::{too_long, DeviceInfo, Store, MAX_NOTE_CHARS};
use crate::docs::{self, project::Project, DocId};
use crate::error::{Error, Result};
use crate::model::{NewProject, NewProjectRating, ProjectFields, ProjectRatingEntry, ProjectStatusEvent, Role};
use crate::needs::{self, NeedItem, Sighting, SightingKind};
use crate::project::{self, ProjectStatus, RatingState, RATING_RANGE};
use crate::workflow::SupersededReason;

/// Longest project title.
pub const MAX_PROJECT_TITLE_CHARS: usize = 200;
/// Longest category.
pub const MAX_PROJECT_CATEGORY_CHARS: usize = 64;
/// Longest organisation name.
pub const MAX_PROJECT_ORGANISATION_CHARS: usize = 200;
/// Most needs one project answers.
pub const MAX_PROJECT_NEEDS: usize = 20;
/// Largest budget, in yuan (a billion: no community project comes near it).
pub const MAX_PROJECT_BUDGET_YUAN: u64 = 1_000_000_000;

/// Filters of `project list`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ProjectFilter {
    /// Only this status.
    pub status: Option<ProjectStatus>,
}

/// One project in a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ProjectListItem {
    /// Project id.
    pub project_id: String,
    /// Title.
    pub title: String,
    /// Category.
    pub category: String,
    /// The organisation running it.
    pub organisation: String,
    /// Budget in yuan.
    pub budget_yuan: Option<u64>,
    /// Need codes it answers.
    pub needs: Vec<String>,
    /// First day of its period.
    pub from: Option<NaiveDate>,
    /// Last day of its period.
    pub to: Option<NaiveDate>,
    /// Status.
    pub status: ProjectStatus,
    /// Households whose rating stands.
    pub rating_count: u32,
    /// Their average rating.
    pub rating_average: Option<f64>,
    /// When it was created.
    pub created_at: DateTime<FixedOffset>,
    /// When it was done.
    pub done_at: Option<DateTime<FixedOffset>>,
}

/// Projects with counts per status.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ProjectList {
    /// Matching projects, newest first.
    pub items: Vec<ProjectListItem>,
    /// Projects per status code (the status filter not applied), every status present.
    pub counts: BTreeMap<String, u32>,
}

/// One status event of a project's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ProjectEventView {
    /// Event id.
    pub event_id: String,
    /// Status code as written (text on purpose: a newer build's status is kept and shown, superseded).
    pub status: String,
    /// Who.
    pub actor: String,
    /// Role claimed.
    pub role: String,
    /// Device time as written.
    pub at: String,
    /// Whether it applied.
    pub applied: bool,
    /// Why not.
    pub superseded_reason: Option<SupersededReason>,
    /// Status after it.
    pub status_after: ProjectStatus,
    /// Note.
    pub note: String,
}

/// One resident's rating as it counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ProjectRatingView {
    /// The project rated.
    pub project_id: String,
    /// Rating id.
    pub rating_id: String,
    /// The household.
    pub household_code: String,
    /// Its grid.
    pub grid: String,
    /// Its building.
    pub building: String,
    /// The score as written (1–5 when valid).
    pub rating: i64,
    /// The resident's words.
    pub note: String,
    /// Who recorded it.
    pub actor: String,
    /// Their role.
    pub role: String,
    /// Device time as written.
    pub at: String,
    /// Whether it stands, was replaced, waits for the project to be done or is invalid.
    pub state: RatingState,
    /// The rating that replaced it.
    pub replaced_by: Option<String>,
}

/// The residents' ratings of a project.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ProjectRatings {
    /// Households whose rating stands.
    pub count: u32,
    /// Their average (two decimals).
    pub average: Option<f64>,
    /// Every rating recorded, replaced ones included.
    pub items: Vec<ProjectRatingView>,
}

/// Everything about one project (`project show`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ProjectDetail {
    /// Project id.
    pub project_id: String,
    /// Document id.
    pub doc_id: String,
    /// Title.
    pub title: String,
    /// Category.
    pub category: String,
    /// Organisation.
    pub organisation: String,
    /// Budget in yuan.
    pub budget_yuan: Option<u64>,
    /// Need codes it answers.
    pub needs: Vec<String>,
    /// First day of its period.
    pub from: Option<NaiveDate>,
    /// Last day of its period.
    pub to: Option<NaiveDate>,
    /// Status.
    pub status: ProjectStatus,
    /// When the status was entered (`None`: planned since creation).
    pub status_since: Option<DateTime<FixedOffset>>,
    /// When it was done.
    pub done_at: Option<DateTime<FixedOffset>>,
    /// Who created it.
    pub created_by: String,
    /// Their role, as written.
    pub created_role: String,
    /// When.
    pub created_at: DateTime<FixedOffset>,
    /// Residents' ratings.
    pub ratings: ProjectRatings,
    /// Status history, superseded events included.
    pub events: Vec<ProjectEventView>,
    /// Statuses this device's user may move it to now.
    pub allowed_statuses: Vec<ProjectStatus>,
    /// True when this device's user may record a resident's rating now (done, and a role that rates).
    pub may_evaluate: bool,
}

/// Filters of the needs list; both optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NeedsFilter {
    /// Only this grid.
    pub grid: Option<String>,
    /// Only this month, `YYYY-MM`.
    pub month: Option<String>,
}

/// The needs list (问题清单).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NeedsList {
    /// The grid it is limited to.
    pub grid: Option<String>,
    /// The month it is limited to.
    pub month: Option<String>,
    /// Needs, most households first.
    pub items: Vec<NeedItem>,
}

/// Re-derives one project document into its tables (idempotent: rewritten whole). A document without
/// readable fields is left out.
pub(crate) fn index_project(tx: &Transaction<'_>, id: &DocId, doc: &AutoCommit) -> Result<()> {
    match docs::project::read(doc) {
        Ok(p) => write_project_rows(tx, id, &p),
        Err(_) => db::projects::delete(tx, id.key.as_deref().unwrap_or_default()),
    }
}

fn write_project_rows(tx: &Transaction<'_>, id: &DocId, p: &Project) -> Result<()> {
    db::projects::delete(tx, id.key.as_deref().unwrap_or_default())?;
    let d = project::replay(&p.status_events);
    let r = project::ratings(&p.ratings, d.status);
    db::projects::insert(tx, id, p, &d, &r)
}

/// A required text of at most `max` characters, trimmed.
fn required(field: &str, text: &str, max: usize) -> Result<String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Error::invalid(field, "required"));
    }
    too_long(field, t, max)?;
    Ok(t.to_string())
}

impl Store {
    /// Checks a new project and turns it into its fields as `by` creates it.
    pub(crate) fn prepare_project(&self, by: &DeviceInfo, input: NewProject) -> Result<ProjectFields> {
        if !by.scope().may_run_projects() {
            return Err(Error::ActionNotAllowed(format!("role {} may not create projects", by.role.code())));
        }
        let title = required("title", &input.title, MAX_PROJECT_TITLE_CHARS)?;
        let category = required("category", &input.category, MAX_PROJECT_CATEGORY_CHARS)?;
        let organisation = required("organisation", &input.organisation, MAX_PROJECT_ORGANISATION_CHARS)?;
        if input.budget_yuan.is_some_and(|b| b > MAX_PROJECT_BUDGET_YUAN) {
            return Err(Error::invalid("budget", format!("at most {MAX_PROJECT_BUDGET_YUAN} yuan")));
        }
        if input.needs.len() > MAX_PROJECT_NEEDS {
            return Err(Error::invalid("needs", format!("at most {MAX_PROJECT_NEEDS} needs")));
        }
        let mut needs: Vec<String> = Vec::new();
        for code in input.needs.iter().map(|n| n.trim()) {
            if self.need_names(code).is_none() {
                return Err(Error::UnknownCode { field: "needs".into(), code: code.chars().take(64).collect() });
            }
            if !needs.iter().any(|n| n == code) {
                needs.push(code.to_string());
            }
        }
        if let (Some(from), Some(to)) = (input.from, input.to) {
            if to < from {
                return Err(Error::invalid("to", "the period ends before it starts"));
            }
        }
        Ok(ProjectFields {
            project_id: uuid::Uuid::now_v7().to_string(),
            title,
            category,
            organisation,
            budget_yuan: input.budget_yuan,
            needs,
            from: input.from,
            to: input.to,
            created_by: by.user.clone(),
            device: by.device_id.clone(),
            role: by.role.code().to_string(),
            at: self.now_local(),
        })
    }

    /// The Chinese and English names of a need code: from the visit services, else the service catalogue;
    /// `None` when neither lists it.
    fn need_names(&self, code: &str) -> Option<(String, String)> {
        let s = &self.settings;
        s.visit_services
            .iter()
            .find(|v| v.code == code)
            .map(|v| (v.name_zh.clone(), v.name_en.clone()))
            .or_else(|| s.service(code).map(|o| (o.name_zh.clone(), o.name_en.clone())))
    }

    /// Creates a service project (committee, station), durably: writes its document and indexes it in one
    /// transaction. It starts `planned`. Needs must be codes of the community's visit services or service
    /// catalogue (`unknown_code` otherwise).
    pub fn project_create(&mut self, input: NewProject) -> Result<ProjectFields> {
        let by = self.device.clone();
        let fields = self.prepare_project(&by, input)?;
        let id = DocId::project(&self.device.community_id, &fields.project_id);
        let mut doc = docs::new_document(&id, self.actor())?;
        docs::project::create(&mut doc, &fields)?;
        let p = Project { fields, status_events: Vec::new(), ratings: Vec::new() };
        self.persist(vec![(id.clone(), doc)], |tx, _| write_project_rows(tx, &id, &p))?;
        Ok(p.fields)
    }

    /// The document of a project this device may read; `not_found` otherwise.
    fn project_doc_id(&self, project_id: &str) -> Result<DocId> {
        let not_found = || Error::NotFound { kind: "project".into(), id: project_id.chars().take(64).collect() };
        let doc_id = db::projects::doc_id(self.conn(), project_id)?.ok_or_else(not_found)?;
        let id = DocId::parse(&doc_id)?;
        if !self.device.scope().may_read(&id) {
            return Err(not_found());
        }
        Ok(id)
    }

    /// Checks `by`'s move of a project to `status` from the status this store holds, and returns the document
    /// checked out, the project read from it and the event to add.
    pub(crate) fn prepare_project_update(
        &mut self,
        by: &DeviceInfo,
        project_id: &str,
        status: ProjectStatus,
        note: &str,
    ) -> Result<(DocId, AutoCommit, Project, ProjectStatusEvent)> {
        let id = self.project_doc_id(project_id)?;
        too_long("note", note, MAX_NOTE_CHARS)?;
        let doc = self.checkout(&id)?;
        let p = docs::project::read(&doc)?;
        let from = project::replay(&p.status_events).status;
        if let Err(reason) = project::check(status, by.role, from) {
            return Err(Error::ActionNotAllowed(format!(
                "{} → {} is not allowed for role {} ({})",
                from.code(),
                status.code(),
                by.role.code(),
                reason.code()
            )));
        }
        let event = ProjectStatusEvent {
            event_id: uuid::Uuid::now_v7().to_string(),
            status: status.code().to_string(),
            note: note.to_string(),
            actor: by.user.clone(),
            device: by.device_id.clone(),
            role: by.role.code().to_string(),
            at: self.now_local().to_rfc3339(),
        };
        Ok((id, doc, p, event))
    }

    /// Moves a project to `status` (committee, station: planned → active → done, active → planned), durably,
    /// and returns it after. A move the role may not make from the current status is refused with
    /// `action_not_allowed` and nothing is written.
    pub fn project_update(&mut self, project_id: &str, status: ProjectStatus, note: &str) -> Result<ProjectDetail> {
        let by = self.device.clone();
        let (id, mut doc, mut p, event) = self.prepare_project_update(&by, project_id, status, note)?;
        docs::project::add_status(&mut doc, &event)?;
        p.status_events.push(event);
        self.persist(vec![(id.clone(), doc)], |tx, _| write_project_rows(tx, &id, &p))?;
        self.project_detail(project_id)
    }

    /// Records a household's rating of a project (民事民评), durably, and returns the project after. Refused
    /// with `project_not_done` before the project is done, `household_not_found` for a household not on this
    /// device's roster, `action_not_allowed` for a role that does not rate or a household outside its scope.
    /// A second rating of the same household replaces the first (both are kept).
    pub fn project_evaluate(&mut self, project_id: &str, input: NewProjectRating) -> Result<ProjectDetail> {
        let by = self.device.clone();
        let id = self.project_doc_id(project_id)?;
        if !RATING_RANGE.contains(&input.rating) {
            return Err(Error::invalid("rating", "a rating is 1 to 5"));
        }
        too_long("note", &input.note, MAX_NOTE_CHARS)?;
        if !project::may_rate(by.role) {
            return Err(Error::ActionNotAllowed(format!("role {} may not record ratings", by.role.code())));
        }
        let household = self.household_row(input.household_code.trim())?;
        if household.moved_out {
            return Err(Error::invalid("household_code", "the household has moved out"));
        }
        if !by.scope().may_rate_household(&household.grid, &household.building) {
            return Err(Error::ActionNotAllowed(format!(
                "household {} is outside this device's scope",
                household.household_code
            )));
        }
        let mut doc = self.checkout(&id)?;
        let mut p = docs::project::read(&doc)?;
        let status = project::replay(&p.status_events).status;
        if status != ProjectStatus::Done {
            return Err(Error::ProjectNotDone { status: status.code().to_string() });
        }
        let entry = ProjectRatingEntry {
            rating_id: uuid::Uuid::now_v7().to_string(),
            household: household.household_code,
            grid: household.grid,
            building: household.building,
            rating: i64::from(input.rating),
            note: input.note,
            actor: by.user.clone(),
            device: by.device_id.clone(),
            role: by.role.code().to_string(),
            at: self.now_local().to_rfc3339(),
        };
        docs::project::add_rating(&mut doc, &entry)?;
        p.ratings.push(entry);
        self.persist(vec![(id.clone(), doc)], |tx, _| write_project_rows(tx, &id, &p))?;
        self.project_detail(project_id)
    }

    /// Projects (optionally of one status), newest first, with counts per status.
    pub fn project_list(&self, filter: &ProjectFilter) -> Result<ProjectList> {
        self.refuse_volunteer()?;
        let items = db::projects::list(self.conn(), filter.status.map(|s| s.code()))?;
        let mut counts: BTreeMap<String, u32> = ProjectStatus::ALL.iter().map(|s| (s.code().to_string(), 0)).collect();
        counts.extend(db::projects::count_by_status(self.conn())?);
        Ok(ProjectList { items, counts })
    }

    /// One project with its ratings (replaced ones flagged), its status history and what this device's user
    /// may do now.
    pub fn project_detail(&self, project_id: &str) -> Result<ProjectDetail> {
        self.project_detail_for(&self.device, project_id)
    }

    /// One project with what `by` may do now (the console's replica shows it for a staff account).
    pub(crate) fn project_detail_for(&self, by: &DeviceInfo, project_id: &str) -> Result<ProjectDetail> {
        self.project_doc_id(project_id)?;
        let mut d = db::projects::detail(self.conn(), project_id)?;
        d.events = db::projects::events(self.conn(), project_id)?;
        d.ratings.items = db::projects::ratings(self.conn(), Some(project_id))?;
        d.allowed_statuses = project::allowed_next(d.status, by.role);
        d.may_evaluate = d.status == ProjectStatus::Done && project::may_rate(by.role);
        Ok(d)
    }

    /// Every rating of every project this store holds, in project then replay order (the ledger).
    pub fn project_ratings(&self) -> Result<Vec<ProjectRatingView>> {
        self.refuse_volunteer()?;
        db::projects::ratings(self.conn(), None)
    }

    fn refuse_volunteer(&self) -> Result<()> {
        if self.device.role == Role::Volunteer {
            return Err(Error::ActionNotAllowed("a volunteer's device holds no projects or needs".into()));
        }
        Ok(())
    }

    /// The needs list (问题清单) of what this store holds, optionally of one grid and one month (`YYYY-MM`):
    /// see `needs.rs` for what counts.
    pub fn needs_list(&self, filter: &NeedsFilter) -> Result<NeedsList> {
        self.refuse_volunteer()?;
        let month = match filter.month.as_deref() {
            Some(m) => Some(needs::parse_month(m).ok_or_else(|| Error::invalid("month", "a month is YYYY-MM"))?),
            None => None,
        };
        if let Some(g) = filter.grid.as_deref() {
            if !docs::valid_code(g) {
                return Err(Error::invalid("grid", "not a grid code"));
            }
        }
        let rows = db::projects::need_rows(self.conn())?;
        let tz = self.settings.tz();
        let mut sightings = Vec::new();
        for (tags, household, grid, building, day) in rows.visits {
            let Some(day) = db::columns::parse_day(&day) else { continue };
            for need in docs::split_list(&tags) {
                sightings.push(Sighting {
                    need,
                    household: household.clone(),
                    grid: grid.clone(),
                    building: building.clone(),
                    day,
                    kind: SightingKind::Visit,
                });
            }
        }
        for (service, household, grid, building, at) in rows.requests {
            let Ok(at) = DateTime::parse_from_rfc3339(&at) else { continue };
            let day = at.with_timezone(&tz).date_naive();
            sightings.push(Sighting { need: service, household, grid, building, day, kind: SightingKind::Request });
        }
        let links = db::projects::links(self.conn())?;
        let window = needs::Window { grid: filter.grid.as_deref(), month };
        let items = needs::tally(&sightings, &links, window, |code| {
            self.need_names(code).unwrap_or_else(|| (code.to_string(), code.to_string()))
        });
        Ok(NeedsList { grid: filter.grid.clone(), month: filter.month.clone(), items })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::TestClock;
    use crate::model::{NewServiceOrder, NewVisit, VisitKind};
    use crate::store::fixtures::{self, COMMUNITY};
    use crate::ErrorCode;

    const ROSTER: &[&str] = &[
        "G01,1,1,3,301,H001,王秀英,F,1942,13800000001,,elderly_alone,",
        "G01,2,1,5,502,H002,李梅,F,1950,,,,",
        "G01,2,1,6,602,H003,赵云,M,1950,,,,",
        "G02,7,1,1,101,H101,李四,M,1960,,,,",
    ];

    fn store(dir: &tempfile::TempDir, user: &str, role: Role, grids: &[&str], clock: Arc<TestClock>) -> Store {
        fixtures::store_with_roster(dir.path(), user, user, role, grids, ROSTER, clock)
    }

    fn hand_over(from: &Store, to: &mut Store, project_id: &str) {
        fixtures::hand_over(from, to, &from.project_doc_id(project_id).expect("doc id"));
    }

    fn meals() -> NewProject {
        NewProject {
            title: "长者助餐".into(),
            category: "elderly_care".into(),
            organisation: "阳光社工中心".into(),
            budget_yuan: Some(50_000),
            needs: vec!["meal_delivery".into(), "companionship".into()],
            from: NaiveDate::from_ymd_opt(2026, 12, 1),
            to: NaiveDate::from_ymd_opt(2027, 2, 28),
        }
    }

    fn rate(household: &str, rating: u8) -> NewProjectRating {
        NewProjectRating { household_code: household.into(), rating, note: String::new() }
    }

    fn code<T: std::fmt::Debug>(r: Result<T>) -> ErrorCode {
        r.expect_err("refused").code()
    }

    #[test]
    fn create_run_to_done_and_rate_once_per_household() {
        let dir = tempfile::tempdir().expect("dir");
        let c = TestClock::morning();
        let mut committee = store(&dir, "李主任", Role::Committee, &[], c.clone());
        let mut leader = store(&dir, "王网格长", Role::GridLeader, &["G01"], c.clone());
        let f = committee.project_create(meals()).expect("create");
        let id = f.project_id.clone();
        let d = committee.project_detail(&id).expect("detail");
        assert_eq!(
            (d.status, d.allowed_statuses.clone(), d.may_evaluate),
            (ProjectStatus::Planned, vec![ProjectStatus::Active], false)
        );
        hand_over(&committee, &mut leader, &id);
        assert_eq!(code(leader.project_evaluate(&id, rate("H001", 5))), ErrorCode::ProjectNotDone);
        assert_eq!(code(leader.project_update(&id, ProjectStatus::Active, "")), ErrorCode::ActionNotAllowed);
        assert_eq!(code(committee.project_update(&id, ProjectStatus::Done, "")), ErrorCode::ActionNotAllowed);
        committee.project_update(&id, ProjectStatus::Active, "开始").expect("active");
        let d = committee.project_update(&id, ProjectStatus::Done, "结项").expect("done");
        assert_eq!((d.status, d.allowed_statuses.len()), (ProjectStatus::Done, 0));
        hand_over(&committee, &mut leader, &id);
        leader.project_evaluate(&id, rate("H001", 2)).expect("first");
        leader.project_evaluate(&id, rate("H002", 4)).expect("second household");
        c.advance(chrono::Duration::minutes(1));
        leader.project_evaluate(&id, rate("H001", 5)).expect("H001 again");
        assert_eq!(code(leader.project_evaluate(&id, rate("H101", 5))), ErrorCode::HouseholdNotFound);
        assert_eq!(code(leader.project_evaluate(&id, rate("H002", 6))), ErrorCode::InvalidInput);
        let d = leader.project_detail(&id).expect("detail");
        assert_eq!((d.ratings.count, d.ratings.average), (2, Some(4.5)));
        let states: Vec<(&str, RatingState)> =
            d.ratings.items.iter().map(|r| (r.household_code.as_str(), r.state)).collect();
        assert_eq!(
            states,
            [("H001", RatingState::Replaced), ("H002", RatingState::Stands), ("H001", RatingState::Stands)]
        );
        assert!(d.may_evaluate);
        hand_over(&leader, &mut committee, &id);
        let list = committee.project_list(&ProjectFilter::default()).expect("list");
        assert_eq!((list.items.len(), list.counts["done"], list.items[0].rating_count), (1, 1, 2));
        // The committee rates a household of any grid; a moved-out or unknown code is refused.
        committee.project_evaluate(&id, rate("H101", 3)).expect("any grid");
        assert_eq!(committee.project_detail(&id).expect("d").ratings.count, 3);
    }

    #[test]
    fn bad_projects_are_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().expect("dir");
        let mut committee = store(&dir, "李主任", Role::Committee, &[], TestClock::morning());
        let mut leader = store(&dir, "王网格长", Role::GridLeader, &["G01"], TestClock::morning());
        assert_eq!(code(leader.project_create(meals())), ErrorCode::ActionNotAllowed);
        let cases = [
            (NewProject { title: " ".into(), ..meals() }, ErrorCode::InvalidInput),
            (NewProject { needs: vec!["skydiving".into()], ..meals() }, ErrorCode::UnknownCode),
            (NewProject { budget_yuan: Some(MAX_PROJECT_BUDGET_YUAN + 1), ..meals() }, ErrorCode::InvalidInput),
            (NewProject { from: NaiveDate::from_ymd_opt(2027, 3, 1), ..meals() }, ErrorCode::InvalidInput),
            (NewProject { category: "x".repeat(65), ..meals() }, ErrorCode::InvalidInput),
        ];
        for (input, expected) in cases {
            assert_eq!(code(committee.project_create(input)), expected);
        }
        assert!(committee.project_list(&ProjectFilter::default()).expect("list").items.is_empty());
        let dup = NewProject { needs: vec!["cleaning".into(), "cleaning".into(), "meal_delivery".into()], ..meals() };
        assert_eq!(committee.project_create(dup).expect("ok").needs, ["cleaning", "meal_delivery"]);
        assert_eq!(code(committee.project_detail("nope")), ErrorCode::NotFound);
    }

    fn visit(household: &str, tags: &[&str]) -> NewVisit {
        NewVisit {
            household_code: household.into(),
            residents: vec![],
            kind: VisitKind::Home,
            duration_min: None,
            services: vec![],
            needs: String::new(),
            need_tags: tags.iter().map(|t| t.to_string()).collect(),
            follow_up: None,
            satisfaction: None,
            photos: vec![],
            at: None,
        }
    }

    #[test]
    fn the_needs_list_counts_visits_and_requests_per_building_and_links_projects() {
        let dir = tempfile::tempdir().expect("dir");
        let mut committee = store(&dir, "李主任", Role::Committee, &[], TestClock::morning());
        committee.record_visit(visit("H001", &["meal_delivery", "cleaning"])).expect("visit");
        committee.record_visit(visit("H002", &["meal_delivery"])).expect("visit");
        committee.record_visit(visit("H003", &["meal_delivery"])).expect("visit");
        committee.record_visit(visit("H101", &["cleaning"])).expect("visit");
        let order =
            NewServiceOrder { household_code: "H001".into(), service: "meal_delivery".into(), ..Default::default() };
        committee.request_service(order).expect("request");
        let list = committee.needs_list(&NeedsFilter::default()).expect("needs");
        let meal = &list.items[0];
        assert_eq!((meal.need.as_str(), meal.households, meal.requests, meal.visits), ("meal_delivery", 3, 1, 3));
        assert_eq!(meal.name_zh, "上门送餐");
        let places: Vec<(&str, &str, u32)> =
            meal.by_building.iter().map(|c| (c.grid.as_str(), c.building.as_str(), c.households)).collect();
        assert_eq!(places, [("G01", "1", 1), ("G01", "2", 2)]);
        assert_eq!(meal.project_id, None);
        let p = committee.project_create(meals()).expect("project");
        let list = committee.needs_list(&NeedsFilter { grid: Some("G02".into()), month: None }).expect("G02");
        assert_eq!(list.items.len(), 1);
        assert_eq!((list.items[0].need.as_str(), list.items[0].project_id.as_deref()), ("cleaning", None));
        let list = committee.needs_list(&NeedsFilter::default()).expect("needs");
        assert_eq!(list.items[0].project_id.as_deref(), Some(p.project_id.as_str()));
        let december = committee.needs_list(&NeedsFilter { grid: None, month: Some("2026-12".into()) }).expect("dec");
        assert!(december.items.is_empty());
        let bad = NeedsFilter { grid: None, month: Some("2026-13".into()) };
        assert_eq!(code(committee.needs_list(&bad)), ErrorCode::InvalidInput);
    }

    /// The console's replica prepares a staff member's project and status change as changes by the staff
    /// account's own actor, and leaves itself unchanged.
    #[test]
    fn the_replica_prepares_a_project_and_its_status_for_a_staff_account() {
        let dir = tempfile::tempdir().expect("dir");
        let c = TestClock::morning();
        let mut replica =
            Store::create_replica(&dir.path().join("replica"), &[7u8; 32], COMMUNITY, c).expect("replica");
        let staff = DeviceInfo {
            device_id: uuid::Uuid::now_v7().to_string(),
            user: "李主任".into(),
            role: Role::Committee,
            community_id: COMMUNITY.into(),
            grids: vec![],
            buildings: vec![],
        };
        let (id, bytes) = replica.project_create_change(&staff, meals()).expect("create");
        assert!(replica.project_list(&ProjectFilter::default()).expect("list").items.is_empty(), "unchanged");
        let mut doc = automerge::AutoCommit::new();
        doc.load_incremental(&bytes).expect("load");
        replica.merge_documents(vec![(id.clone(), doc)], 1).expect("merge");
        let project_id = id.key.clone().expect("key");
        let d = replica.project_detail_as(&staff, &project_id).expect("as staff");
        assert_eq!((d.status, d.created_by.as_str()), (ProjectStatus::Planned, "李主任"));
        assert_eq!(d.allowed_statuses, [ProjectStatus::Active]);
        let (same, bytes) = replica.project_update_change(&staff, &project_id, ProjectStatus::Active, "").expect("up");
        assert_eq!(same, id);
        let mut copy = replica.load_doc(&id).expect("load").expect("doc");
        copy.apply_changes([automerge::Change::from_bytes(bytes).expect("change")]).expect("apply");
        let p = docs::project::read(&copy).expect("read");
        assert_eq!(project::replay(&p.status_events).status, ProjectStatus::Active);
        assert_eq!(p.status_events[0].device, staff.device_id);
        let grid_staff = DeviceInfo { role: Role::GridLeader, ..staff };
        assert_eq!(code(replica.project_create_change(&grid_staff, meals())), ErrorCode::ActionNotAllowed);
    }
}
