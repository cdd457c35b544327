//! Incidents on the device: reporting, acting on the workflow, and the list and detail read from the
//! materialised `incident` / `incident_event` tables (their SQL is `db/incidents.rs`). Stages come from
//! `workflow::replay` only; this file stores what it derives, in the same transaction as the document change.

use std::collections::BTreeMap;

use automerge::AutoCommit;
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use rusqlite::Transaction;
use serde::Serialize;

use super::db::{self, incidents::Conditions};
use super::{meta_get, too_long, DeviceInfo, Store, MAX_NOTE_CHARS};
use crate::docs::{self, split_list, DocId};
use crate::error::{Error, Result};
use crate::model::{
    CommunitySettings, DeadlinePolicy, IncidentEvent, IncidentFields, Location, NewIncident, Role, Severity,
};
use crate::workflow::{self, Action, EventRole, Stage, SupersededReason};

/// Longest incident title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest incident description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 4000;
/// Longest assignee name, in characters.
pub const MAX_ASSIGNEE_CHARS: usize = 64;
/// How far apart two reports of the same household and category may be, in days before or after, and still
/// be offered as possible duplicates of each other (`Store::duplicate_candidates`).
pub const DUPLICATE_WINDOW_DAYS: i64 = 7;

/// What a user does to an incident (`incident act`).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct IncidentAct {
    /// The action.
    pub action: Action,
    /// Free note (≤ 2,000 characters).
    pub note: String,
    /// Who handles it (verify).
    pub assignee: Option<String>,
    /// The incident this one duplicates (reject).
    pub duplicate_of: Option<String>,
    /// The resident's evaluation (evaluate; required there).
    pub satisfied: Option<bool>,
    /// Photos added with the action (hashes from `Store::add_photo`).
    pub photos: Vec<String>,
}

impl IncidentAct {
    /// An action with nothing but a note.
    pub fn new(action: Action, note: &str) -> IncidentAct {
        IncidentAct {
            action,
            note: note.to_string(),
            assignee: None,
            duplicate_of: None,
            satisfied: None,
            photos: Vec::new(),
        }
    }
}

/// Filters of `incident list`; all optional, combined with AND.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct IncidentFilter {
    /// Only this stage.
    pub stage: Option<Stage>,
    /// Only this severity.
    pub severity: Option<Severity>,
    /// Only this grid.
    pub grid: Option<String>,
    /// Only incidents past their stage's deadline.
    pub overdue: bool,
    /// Only incidents waiting for this device's role (returned ones: only the reporter's).
    pub waiting_for_me: bool,
}

/// One incident in a list (PRODUCT.md §9 `incident list`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct IncidentListItem {
    /// Incident id.
    pub incident_id: String,
    /// Grid.
    pub grid: String,
    /// Household, if any.
    pub household_code: Option<String>,
    /// Stage.
    pub stage: Stage,
    /// Severity.
    pub severity: Severity,
    /// Category code.
    pub category: String,
    /// Title.
    pub title: String,
    /// When reported (device time).
    pub reported_at: DateTime<FixedOffset>,
    /// When the current stage was entered.
    pub stage_since: DateTime<FixedOffset>,
    /// Deadline of the current stage, if it has one (UTC; `Z` in JSON).
    #[serde(serialize_with = "utc_deadline")]
    pub deadline: Option<DateTime<FixedOffset>>,
    /// True when past the deadline.
    pub overdue: bool,
    /// Minutes past the deadline (0 when not overdue).
    pub overdue_minutes: i64,
    /// Role the incident waits for, if any.
    pub waiting_for: Option<Role>,
}

/// A list of incidents with counts per stage (PRODUCT.md §9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct IncidentList {
    /// Matching incidents, nearest deadline first, then oldest report first.
    pub items: Vec<IncidentListItem>,
    /// Incidents per stage code in scope (the stage, overdue and waiting filters not applied), every stage
    /// present.
    pub counts: BTreeMap<String, u32>,
}

/// One event of an incident's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct IncidentEventView {
    /// Event id.
    pub event_id: String,
    /// Action code as the document carries it: text on purpose, since a newer build's action is kept in the
    /// history (superseded as `unknown_action`) and must still be shown.
    pub action: String,
    /// Who.
    pub actor: String,
    /// Role claimed, as the document carries it (text for the same reason as `action`).
    pub role: String,
    /// Device time as the document carries it (text: a time that does not parse is kept, superseded as
    /// `invalid_time`).
    pub at: String,
    /// Whether it applied.
    pub applied: bool,
    /// Why not, when it did not.
    pub superseded_reason: Option<SupersededReason>,
    /// Stage after the event.
    pub stage_after: Option<Stage>,
    /// Note.
    pub note: String,
    /// Assignee (verify).
    pub assignee: Option<String>,
    /// Duplicated incident (reject).
    pub duplicate_of: Option<String>,
    /// Evaluation (evaluate).
    pub satisfied: Option<bool>,
    /// Photos added with the event.
    pub photos: Vec<String>,
}

/// Everything about one incident (PRODUCT.md §9 `incident show`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct IncidentDetail {
    /// Incident id.
    pub incident_id: String,
    /// Document id.
    pub doc_id: String,
    /// Grid.
    pub grid: String,
    /// Household, if any.
    pub household_code: Option<String>,
    /// Stage.
    pub stage: Stage,
    /// Severity.
    pub severity: Severity,
    /// Category code.
    pub category: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Every photo: the report's, then those added with events.
    pub photos: Vec<String>,
    /// Where, if known.
    pub location: Option<Location>,
    /// The check-in it was started from, if any.
    pub check_in_id: Option<String>,
    /// Reporter.
    pub reporter: String,
    /// When reported.
    pub reported_at: DateTime<FixedOffset>,
    /// When the current stage was entered.
    pub stage_since: DateTime<FixedOffset>,
    /// Role the incident waits for.
    pub waiting_for: Option<Role>,
    /// Times reopened by an unsatisfied evaluation.
    pub reopen_count: u32,
    /// Latest evaluation.
    pub satisfied: Option<bool>,
    /// Assignee.
    pub assignee: Option<String>,
    /// Duplicated incident, when rejected as a duplicate.
    pub duplicate_of: Option<String>,
    /// Urgent: the committee was notified at once.
    pub committee_notified: bool,
    /// The server's receipt is in.
    pub delivered: bool,
    /// Full history, superseded events included.
    pub events: Vec<IncidentEventView>,
    /// Deadline of the current stage (UTC; `Z` in JSON).
    #[serde(serialize_with = "utc_deadline")]
    pub deadline: Option<DateTime<FixedOffset>>,
    /// True when past the deadline.
    pub overdue: bool,
    /// Minutes past the deadline.
    pub overdue_minutes: i64,
    /// Actions this device's role may take now (see `workflow::allowed_at`).
    pub allowed_actions: Vec<Action>,
}

/// A deadline as the `incident` table stores it and the JSON shows it: UTC, whole seconds, `Z`.
fn utc_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Serialises a deadline as [`utc_text`] (chrono's own serde form would write `+00:00`).
fn utc_deadline<S: serde::Serializer>(
    deadline: &Option<DateTime<FixedOffset>>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match deadline {
        Some(d) => s.serialize_some(&utc_text(d.with_timezone(&Utc))),
        None => s.serialize_none(),
    }
}

fn overdue_minutes(deadline: Option<DateTime<FixedOffset>>, now: DateTime<Utc>) -> i64 {
    workflow::overdue_by(deadline.map(|d| d.with_timezone(&Utc)), now).map(|d| d.num_minutes().max(1)).unwrap_or(0)
}

/// The deadline policy as last written to the store's settings.
pub(crate) fn policy(tx: &Transaction<'_>) -> Result<DeadlinePolicy> {
    Ok(meta_get(tx, "settings")?
        .and_then(|json| serde_json::from_str::<CommunitySettings>(&json).ok())
        .map(|s| s.deadlines)
        .unwrap_or_default())
}

/// Re-derives one incident document into the `incident` and `incident_event` tables (idempotent: the rows
/// are rewritten whole). A document without fields or a valid report is left out of the tables.
pub(crate) fn index_incident(
    tx: &Transaction<'_>,
    id: &DocId,
    doc: &AutoCommit,
    policy: &DeadlinePolicy,
) -> Result<()> {
    let Ok(incident) = docs::incident::read(doc) else { return db::incidents::delete(tx, id) };
    write_incident_rows(tx, id, &incident, policy)
}

/// Rewrites one incident's rows from an incident already in memory (a local report or action indexes what it
/// just wrote, without reading its document back). An incident without a valid report gets no rows.
fn write_incident_rows(
    tx: &Transaction<'_>,
    id: &DocId,
    incident: &docs::incident::Incident,
    policy: &DeadlinePolicy,
) -> Result<()> {
    db::incidents::delete(tx, id)?;
    insert_incident_rows(tx, id, incident, policy)
}

/// Writes the rows of an incident that has none yet (a report just made on this device).
fn insert_incident_rows(
    tx: &Transaction<'_>,
    id: &DocId,
    incident: &docs::incident::Incident,
    policy: &DeadlinePolicy,
) -> Result<()> {
    let d = workflow::replay(incident.fields.severity, &incident.events);
    let (Some(stage), Some(since)) = (d.stage, d.stage_since) else { return Ok(()) };
    let deadline = workflow::deadline(&d, incident.fields.severity, policy).map(utc_text);
    db::incidents::insert(tx, id, incident, &d, stage, since, deadline)
}

/// Recomputes every incident's deadline after the community's deadline policy changed (the stage and the time
/// its clock started are already in the table, so no document is loaded).
pub(crate) fn refresh_deadlines(tx: &Transaction<'_>, policy: &DeadlinePolicy) -> Result<()> {
    let mut deadlines = Vec::new();
    for (incident_id, stage, severity, from) in db::incidents::deadline_inputs(tx)? {
        let deadline = match (
            stage.parse::<Stage>().ok(),
            severity.parse::<Severity>(),
            from.as_deref().map(DateTime::parse_from_rfc3339),
        ) {
            (Some(stage), Ok(severity), Some(Ok(from))) => {
                workflow::deadline_at(stage, severity, from, policy).map(utc_text)
            }
            _ => None,
        };
        deadlines.push((incident_id, deadline));
    }
    db::incidents::set_deadlines(tx, &deadlines)
}

/// A check-in that starts an incident: its household, note and photos.
struct ProblemCheckIn {
    household_code: String,
    note: String,
    photos: Vec<String>,
}

impl Store {
    /// The event `d` writes for `act`, taken at `at`.
    fn event_by(d: &DeviceInfo, act: &IncidentAct, at: DateTime<FixedOffset>) -> IncidentEvent {
        IncidentEvent {
            note: act.note.clone(),
            assignee: act.assignee.clone(),
            duplicate_of: act.duplicate_of.clone(),
            satisfied: act.satisfied,
            photos: act.photos.clone(),
            ..IncidentEvent::new(act.action.code(), &d.user, &d.device_id, d.role.code(), at.to_rfc3339())
        }
    }

    fn problem_check_in(&self, check_in_id: &str) -> Result<ProblemCheckIn> {
        let row = db::incidents::check_in_for_report(self.conn(), check_in_id)?;
        let (household_code, outcome, note, photos) =
            row.ok_or_else(|| Error::NotFound { kind: "check-in".into(), id: check_in_id.into() })?;
        if outcome != "problem" {
            return Err(Error::invalid("check_in", "only a check-in with outcome problem starts an incident"));
        }
        Ok(ProblemCheckIn { household_code, note, photos: split_list(&photos) })
    }

    /// Reports an incident, durably: writes its document (fields + the `report` event) and indexes it in one
    /// transaction. Only grid leaders, grid workers and social workers report. A check-in with outcome
    /// `problem` may start it: its household, note (as description, and title when none is given) and photos
    /// prefill the report.
    pub fn report_incident(&mut self, mut input: NewIncident) -> Result<IncidentFields> {
        let role = EventRole::Device(self.device.role);
        if let Err(reason) = workflow::check(Action::Report, role, &self.device.user, None, None) {
            return Err(Error::ActionNotAllowed(format!(
                "role {} may not report incidents ({})",
                self.device.role.code(),
                reason.code()
            )));
        }
        if let Some(check_in_id) = input.check_in_id.clone() {
            let c = self.problem_check_in(&check_in_id)?;
            input.household_code.get_or_insert(c.household_code);
            if input.description.trim().is_empty() {
                input.description = c.note.clone();
            }
            if input.title.trim().is_empty() {
                input.title = c.note.lines().next().unwrap_or_default().chars().take(60).collect();
            }
            let mut photos = c.photos;
            for p in input.photos.drain(..) {
                if !photos.contains(&p) {
                    photos.push(p);
                }
            }
            input.photos = photos;
        }
        let grid = self.incident_grid(&input)?;
        if !self.in_scope(&grid) {
            return Err(Error::ActionNotAllowed(format!("grid {grid} is outside this device's grids")));
        }
        if !self.settings.incident_categories.iter().any(|c| c.code == input.category) {
            return Err(Error::invalid(
                "category",
                format!("{:?} is not in the community's catalogue", input.category),
            ));
        }
        let title = input.title.trim().to_string();
        if title.is_empty() {
            return Err(Error::invalid("title", "a title is required"));
        }
        too_long("title", &title, MAX_TITLE_CHARS)?;
        too_long("description", &input.description, MAX_DESCRIPTION_CHARS)?;
        self.check_attachments(&input.photos, input.location.as_ref())?;
        let at = self.event_time(input.at)?;
        let fields = IncidentFields {
            incident_id: uuid::Uuid::now_v7().to_string(),
            grid,
            category: input.category,
            severity: input.severity.unwrap_or(Severity::Normal),
            title,
            description: input.description,
            household_code: input.household_code,
            location: input.location,
            photos: input.photos,
            check_in_id: input.check_in_id,
            reporter: self.device.user.clone(),
            reporter_device: self.device.device_id.clone(),
            at,
        };
        let report = Store::event_by(&self.device, &IncidentAct::new(Action::Report, ""), at);
        let id = DocId::incident(&self.device.community_id, &fields.grid, &fields.incident_id);
        // A fresh UUID v7: there is nothing to load.
        let mut doc = docs::new_document(&id, self.actor())?;
        docs::incident::create(&mut doc, &fields, &report)?;
        let incident = docs::incident::Incident { fields, events: vec![report] };
        let policy = self.settings().deadlines.clone();
        self.persist(vec![(id.clone(), doc)], |tx, _| insert_incident_rows(tx, &id, &incident, &policy))?;
        Ok(incident.fields)
    }

    fn incident_grid(&self, input: &NewIncident) -> Result<String> {
        if let Some(code) = &input.household_code {
            let h = self.household_row(code)?;
            if input.grid.as_ref().is_some_and(|g| *g != h.grid) {
                return Err(Error::invalid("grid", format!("household {code} is in grid {}", h.grid)));
            }
            return Ok(h.grid);
        }
        if let Some(g) = &input.grid {
            if !docs::valid_code(g) {
                return Err(Error::invalid("grid", format!("bad grid code {g:?}")));
            }
            return Ok(g.clone());
        }
        match self.device.grids.as_slice() {
            [only] => Ok(only.clone()),
            _ => Err(Error::invalid("grid", "give a household or a grid")),
        }
    }

    fn incident_doc_id(&self, incident_id: &str) -> Result<DocId> {
        let not_found = || Error::NotFound { kind: "incident".into(), id: incident_id.into() };
        let doc_id = db::incidents::doc_id(self.conn(), incident_id)?.ok_or_else(not_found)?;
        let id = DocId::parse(&doc_id)?;
        if !self.in_scope(id.grid.as_deref().unwrap_or_default()) {
            return Err(not_found());
        }
        Ok(id)
    }

    /// Takes an action on an incident as this device's user and role, durably, and returns the incident
    /// after it. An action the role may not take from the current stage is refused with
    /// `action_not_allowed` and nothing is written.
    pub fn incident_act(&mut self, incident_id: &str, act: IncidentAct) -> Result<IncidentDetail> {
        let by = self.device.clone();
        let (id, mut doc, mut incident, event) = self.prepare_act(&by, incident_id, &act)?;
        docs::incident::append_event(&mut doc, &event)?;
        incident.events.push(event);
        let policy = self.settings().deadlines.clone();
        self.persist(vec![(id.clone(), doc)], |tx, _| write_incident_rows(tx, &id, &incident, &policy))?;
        self.incident_detail(incident_id)
    }

    /// Checks `by`'s action on an incident (the fields, then the workflow from the stage this store holds)
    /// and returns the document checked out, the incident read from it and the event to append.
    pub(crate) fn prepare_act(
        &mut self,
        by: &DeviceInfo,
        incident_id: &str,
        act: &IncidentAct,
    ) -> Result<(DocId, AutoCommit, docs::incident::Incident, IncidentEvent)> {
        let id = self.incident_doc_id(incident_id)?;
        too_long("note", &act.note, MAX_NOTE_CHARS)?;
        self.check_photos(&act.photos)?;
        if let Some(a) = &act.assignee {
            too_long("assignee", a, MAX_ASSIGNEE_CHARS)?;
        }
        if let Some(dup) = &act.duplicate_of {
            if uuid::Uuid::parse_str(dup).is_err() || dup == incident_id {
                return Err(Error::invalid("duplicate_of", "the id of another incident is required"));
            }
        }
        if act.action == Action::Evaluate && act.satisfied.is_none() {
            return Err(Error::invalid("satisfied", "an evaluation says whether the resident is satisfied"));
        }
        let doc = self.checkout(&id)?;
        let incident = docs::incident::read(&doc)?;
        let d = workflow::replay(incident.fields.severity, &incident.events);
        let role = EventRole::Device(by.role);
        let refused = match act.action {
            Action::Report | Action::Receive => Some(SupersededReason::RoleNotAllowed),
            a => workflow::check(a, role, &by.user, d.stage, d.reporter.as_deref()).err(),
        };
        if let Some(reason) = refused {
            let reason = reason.code();
            let stage = d.stage.map(|s| s.code()).unwrap_or("none");
            return Err(Error::ActionNotAllowed(format!(
                "{} is not allowed for role {} at stage {stage} ({reason})",
                act.action.code(),
                by.role.code()
            )));
        }
        let event = Store::event_by(by, act, self.now_local());
        Ok((id, doc, incident, event))
    }

    /// The device's scope as list conditions: its grids, when it has any.
    fn scope_conditions(&self) -> Conditions {
        let mut scope = Conditions::default();
        if let Some(grids) = self.device.scope().grid_filter() {
            let marks = vec!["?"; grids.len()].join(", ");
            scope.add(&format!("grid IN ({marks})"), grids.iter().cloned());
        }
        scope
    }

    /// The incidents matching `wanted`, soonest deadline first, with their overdue fields worked out at `now`.
    fn listed(&self, wanted: &Conditions, now: DateTime<Utc>) -> Result<Vec<IncidentListItem>> {
        let now_text = utc_text(now);
        let mut items = Vec::new();
        for (mut item, deadline_text) in db::incidents::list(self.conn(), wanted)? {
            // Text order is time order for these UTC stamps: compute minutes only for the deadlines already past.
            let minutes = match &deadline_text {
                Some(d) if *d < now_text => overdue_minutes(item.deadline, now),
                _ => 0,
            };
            item.overdue = minutes > 0;
            item.overdue_minutes = minutes;
            items.push(item);
        }
        Ok(items)
    }

    /// Incidents in scope matching `filter`, with counts per stage; read from the materialised tables only.
    pub fn incident_list(&self, filter: &IncidentFilter) -> Result<IncidentList> {
        let now = self.clock.now();
        // Scope, grid and severity: shared by the list and its counts.
        let mut scope = self.scope_conditions();
        if let Some(g) = &filter.grid {
            scope.add("grid = ?", [g.clone()]);
        }
        if let Some(sev) = filter.severity {
            scope.add("severity = ?", [sev.code().to_string()]);
        }
        let mut wanted = scope.clone();
        if let Some(stage) = filter.stage {
            wanted.add("stage = ?", [stage.code().to_string()]);
        }
        if filter.overdue {
            wanted.add("deadline < ?", [utc_text(now)]);
        }
        if filter.waiting_for_me {
            wanted.add(
                "waiting_for = ? AND (stage <> ? OR reporter = ?)",
                [self.device.role.code().to_string(), Stage::Returned.code().to_string(), self.device.user.clone()],
            );
        }
        let items = self.listed(&wanted, now)?;
        let mut counts: BTreeMap<String, u32> = Stage::ALL.iter().map(|s| (s.code().to_string(), 0)).collect();
        counts.extend(db::incidents::count_by_stage(self.conn(), &scope)?);
        Ok(IncidentList { items, counts })
    }

    /// The other open incidents (stage not final) in scope of the same household and category as
    /// `incident_id`, reported within [`DUPLICATE_WINDOW_DAYS`] before or after it: the same matter possibly
    /// reported twice. Nearest report first; none for an incident without a household.
    pub fn duplicate_candidates(&self, incident_id: &str) -> Result<Vec<IncidentListItem>> {
        self.incident_doc_id(incident_id)?;
        let this = db::incidents::detail(self.conn(), incident_id)?;
        let Some(household) = this.household_code else { return Ok(Vec::new()) };
        let mut wanted = self.scope_conditions();
        wanted.add(
            "household_code = ? AND category = ? AND incident_id <> ?",
            [household, this.category, incident_id.to_string()],
        );
        let finals = Stage::ALL.iter().filter(|s| s.is_final()).map(|s| s.code().to_string()).collect::<Vec<_>>();
        let marks = vec!["?"; finals.len()].join(", ");
        wanted.add(&format!("stage NOT IN ({marks})"), finals);
        let window = chrono::Duration::days(DUPLICATE_WINDOW_DAYS);
        let apart = |i: &IncidentListItem| (i.reported_at - this.reported_at).abs();
        let mut near: Vec<IncidentListItem> =
            self.listed(&wanted, self.clock.now())?.into_iter().filter(|i| apart(i) <= window).collect();
        near.sort_by_key(|i| (apart(i), i.incident_id.clone()));
        Ok(near)
    }

    /// The incidents in scope rejected as duplicates of `incident_id` (their applied rejection names it),
    /// oldest report first.
    pub fn duplicates_of(&self, incident_id: &str) -> Result<Vec<IncidentListItem>> {
        self.incident_doc_id(incident_id)?;
        let mut wanted = self.scope_conditions();
        wanted.add("duplicate_of = ? AND stage = ?", [incident_id.to_string(), Stage::Rejected.code().to_string()]);
        let mut items = self.listed(&wanted, self.clock.now())?;
        items.sort_by_key(|i| (i.reported_at, i.incident_id.clone()));
        Ok(items)
    }

    /// One incident with its full history (superseded events flagged), deadline and the actions this device
    /// may take; read from the materialised tables only.
    pub fn incident_detail(&self, incident_id: &str) -> Result<IncidentDetail> {
        self.incident_doc_id(incident_id)?;
        let events = self.incident_events(incident_id)?;
        let now = self.clock.now();
        let mut detail = db::incidents::detail(self.conn(), incident_id)?;
        let minutes = overdue_minutes(detail.deadline, now);
        detail.overdue = minutes > 0;
        detail.overdue_minutes = minutes;
        for e in &events {
            for p in &e.photos {
                if !detail.photos.contains(p) {
                    detail.photos.push(p.clone());
                }
            }
        }
        detail.allowed_actions =
            workflow::allowed_at(Some(detail.stage), Some(&detail.reporter), self.device.role, &self.device.user);
        detail.events = events;
        Ok(detail)
    }

    fn incident_events(&self, incident_id: &str) -> Result<Vec<IncidentEventView>> {
        db::incidents::events(self.conn(), incident_id)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::TestClock;
    use crate::model::{CheckInKind, CheckInOutcome, NewCheckIn, Role};
    use crate::store::fixtures::{self, COMMUNITY};

    const ROSTER: &[&str] =
        &["G01,1,1,3,301,H001,王秀英,F,1942,,,elderly_alone,", "G02,2,1,1,101,H101,李四,M,1960,,,,"];

    fn store(
        dir: &tempfile::TempDir,
        name: &str,
        user: &str,
        role: Role,
        grids: &[&str],
        clock: Arc<TestClock>,
    ) -> Store {
        fixtures::store_with_roster(dir.path(), name, user, role, grids, ROSTER, clock)
    }

    /// Hands one document from `from` to `to` (what sync will do), merging and reindexing it.
    fn hand_over(from: &Store, to: &mut Store, incident_id: &str) {
        fixtures::hand_over(from, to, &from.incident_doc_id(incident_id).expect("doc id"));
    }

    fn new_incident(severity: Severity) -> NewIncident {
        NewIncident {
            household_code: Some("H001".into()),
            category: "facility_repair".into(),
            severity: Some(severity),
            title: "楼道灯坏了".into(),
            ..NewIncident::default()
        }
    }

    fn stage(s: &Store, id: &str) -> String {
        s.incident_detail(id).expect("detail").stage.code().to_string()
    }

    #[test]
    fn report_list_and_show() {
        let dir = tempfile::tempdir().expect("dir");
        let mut leader = store(&dir, "a", "王网格长", Role::GridLeader, &["G01"], TestClock::morning());
        let f = leader.report_incident(new_incident(Severity::Normal)).expect("report");
        assert_eq!(f.grid, "G01");
        let list = leader.incident_list(&IncidentFilter::default()).expect("list");
        assert_eq!(list.items.len(), 1);
        assert_eq!(list.items[0].stage, Stage::Reported);
        assert_eq!(list.counts["reported"], 1);
        assert_eq!(list.counts["closed"], 0);
        let d = leader.incident_detail(&f.incident_id).expect("detail");
        assert_eq!(d.events.len(), 1);
        assert_eq!((d.events[0].action.as_str(), d.events[0].applied), ("report", true));
        assert_eq!(d.waiting_for, Some(Role::Committee));
        assert_eq!(d.deadline.map(|t| utc_text(t.with_timezone(&Utc))).as_deref(), Some("2026-11-25T01:00:00Z"));
        assert_eq!(d.allowed_actions, [Action::Comment]);
        // Out of scope, unknown category, empty title: refused with stable codes.
        let mut other = new_incident(Severity::Normal);
        other.household_code = None;
        other.grid = Some("G02".into());
        assert_eq!(leader.report_incident(other).expect_err("scope").code(), crate::ErrorCode::ActionNotAllowed);
        let mut bad = new_incident(Severity::Normal);
        bad.category = "ufo".into();
        assert_eq!(leader.report_incident(bad).expect_err("category").code(), crate::ErrorCode::InvalidInput);
        let mut bad = new_incident(Severity::Normal);
        bad.title = " ".into();
        assert_eq!(leader.report_incident(bad).expect_err("title").code(), crate::ErrorCode::InvalidInput);
    }

    #[test]
    fn roles_that_may_not_act_are_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().expect("dir");
        let c = TestClock::morning();
        let mut leader = store(&dir, "a", "王网格长", Role::GridLeader, &["G01"], c.clone());
        let mut committee = store(&dir, "b", "李主任", Role::Committee, &[], c);
        assert_eq!(
            committee.report_incident(new_incident(Severity::Normal)).expect_err("report").code(),
            crate::ErrorCode::ActionNotAllowed
        );
        let f = leader.report_incident(new_incident(Severity::Normal)).expect("report");
        let err = leader.incident_act(&f.incident_id, IncidentAct::new(Action::Dispatch, "")).expect_err("dispatch");
        assert_eq!(err.code(), crate::ErrorCode::ActionNotAllowed);
        hand_over(&leader, &mut committee, &f.incident_id);
        let err = committee.incident_act(&f.incident_id, IncidentAct::new(Action::Verify, "")).expect_err("verify");
        assert_eq!(err.code(), crate::ErrorCode::ActionNotAllowed);
        let err = committee.incident_act(&f.incident_id, IncidentAct::new(Action::Receive, "")).expect_err("receive");
        assert_eq!(err.code(), crate::ErrorCode::ActionNotAllowed);
        assert_eq!(committee.incident_detail(&f.incident_id).expect("detail").events.len(), 1);
    }

    #[test]
    fn the_whole_loop_across_grid_leader_committee_and_station() {
        let dir = tempfile::tempdir().expect("dir");
        let c = TestClock::morning();
        let mut leader = store(&dir, "a", "王网格长", Role::GridLeader, &["G01"], c.clone());
        let mut committee = store(&dir, "b", "李主任", Role::Committee, &[], c.clone());
        let mut station = store(&dir, "c", "赵站长", Role::Station, &[], c.clone());
        let id = leader.report_incident(new_incident(Severity::Normal)).expect("report").incident_id;
        hand_over(&leader, &mut committee, &id);
        assert_eq!(stage(&committee, &id), "reported");
        let waiting = IncidentFilter { waiting_for_me: true, ..IncidentFilter::default() };
        assert_eq!(committee.incident_list(&waiting).expect("list").items.len(), 1);
        assert_eq!(station.incident_list(&waiting).expect("list").items.len(), 0);
        committee.incident_act(&id, IncidentAct::new(Action::Dispatch, "请工作站处理")).expect("dispatch");
        hand_over(&committee, &mut station, &id);
        assert_eq!(station.incident_list(&waiting).expect("list").items.len(), 1);
        let mut verify = IncidentAct::new(Action::Verify, "");
        verify.assignee = Some("钱师傅".into());
        station.incident_act(&id, verify).expect("verify");
        c.advance(chrono::Duration::minutes(4 * 24 * 60));
        let overdue = IncidentFilter { overdue: true, ..IncidentFilter::default() };
        let late = station.incident_list(&overdue).expect("overdue");
        assert_eq!(late.items.len(), 1);
        assert_eq!(late.items[0].overdue_minutes, 24 * 60);
        let d = station.incident_act(&id, IncidentAct::new(Action::Resolve, "已更换灯泡")).expect("resolve");
        assert_eq!((d.stage.code(), d.overdue), ("resolved", false));
        hand_over(&station, &mut leader, &id);
        let mut unhappy = IncidentAct::new(Action::Evaluate, "还是不亮");
        unhappy.satisfied = Some(false);
        let d = leader.incident_act(&id, unhappy).expect("evaluate");
        assert_eq!((d.stage.code(), d.reopen_count), ("at_station", 1));
        hand_over(&leader, &mut station, &id);
        station.incident_act(&id, IncidentAct::new(Action::Verify, "")).expect("verify again");
        station.incident_act(&id, IncidentAct::new(Action::Resolve, "换了线路")).expect("resolve again");
        hand_over(&station, &mut leader, &id);
        let mut happy = IncidentAct::new(Action::Evaluate, "满意");
        happy.satisfied = Some(true);
        let d = leader.incident_act(&id, happy).expect("evaluate");
        assert_eq!((d.stage.code(), d.satisfied, d.assignee.as_deref()), ("closed", Some(true), Some("钱师傅")));
        assert_eq!(d.events.len(), 8);
        assert!(d.events.iter().all(|e| e.applied));
        assert_eq!(d.deadline, None);
    }

    #[test]
    fn concurrent_committee_actions_merge_with_one_superseded() {
        let dir = tempfile::tempdir().expect("dir");
        let c = TestClock::morning();
        let mut leader = store(&dir, "a", "王网格长", Role::GridLeader, &["G01"], c.clone());
        let mut li = store(&dir, "b", "李主任", Role::Committee, &[], c.clone());
        let mut zhang = store(&dir, "c", "张委员", Role::Committee, &[], c);
        let id = leader.report_incident(new_incident(Severity::Normal)).expect("report").incident_id;
        hand_over(&leader, &mut li, &id);
        hand_over(&leader, &mut zhang, &id);
        li.incident_act(&id, IncidentAct::new(Action::Dispatch, "")).expect("dispatch");
        let mut reject = IncidentAct::new(Action::Reject, "重复");
        reject.duplicate_of = Some("0190f5a4-2b3c-7d4e-8f00-112233445566".into());
        zhang.incident_act(&id, reject).expect("reject");
        hand_over(&zhang, &mut li, &id);
        hand_over(&li, &mut zhang, &id);
        let (a, b) = (li.incident_detail(&id).expect("li"), zhang.incident_detail(&id).expect("zhang"));
        assert_eq!(a.stage, b.stage);
        assert_eq!(a.events, b.events);
        let superseded: Vec<_> = a.events.iter().filter(|e| !e.applied).collect();
        assert_eq!(superseded.len(), 1);
        assert_eq!(superseded[0].superseded_reason, Some(SupersededReason::NotAllowedFromStage));
    }

    #[test]
    fn urgent_goes_to_the_station_and_receipt_moves_normal_ones_to_review() {
        let dir = tempfile::tempdir().expect("dir");
        let c = TestClock::morning();
        let mut leader = store(&dir, "a", "王网格长", Role::GridLeader, &["G01"], c.clone());
        let urgent = leader.report_incident(new_incident(Severity::Urgent)).expect("urgent");
        let d = leader.incident_detail(&urgent.incident_id).expect("detail");
        assert_eq!((d.stage.code(), d.committee_notified), ("at_station", true));
        assert_eq!(d.deadline.map(|t| utc_text(t.with_timezone(&Utc))).as_deref(), Some("2026-11-24T01:30:00Z"));
        c.advance(chrono::Duration::minutes(45));
        let d = leader.incident_detail(&urgent.incident_id).expect("detail");
        assert_eq!((d.overdue, d.overdue_minutes), (true, 15));
        // The server's receipt, merged in like any remote change.
        let normal = leader.report_incident(new_incident(Severity::Normal)).expect("normal");
        let id = leader.incident_doc_id(&normal.incident_id).expect("id");
        let mut server_copy = leader.load_doc(&id).expect("load").expect("doc");
        docs::incident::append_receipt(&mut server_copy, leader.now_local()).expect("receipt");
        server_copy.commit();
        let mut mine = leader.checkout(&id).expect("checkout");
        mine.merge(&mut server_copy).expect("merge");
        leader.persist(vec![(id, mine)], crate::store::index::reindex).expect("persist");
        let d = leader.incident_detail(&normal.incident_id).expect("detail");
        assert_eq!((d.stage.code(), d.delivered), ("committee_review", true));
        assert_eq!(d.events[1].role, "server");
    }

    #[test]
    fn a_new_deadline_policy_moves_existing_deadlines() {
        let dir = tempfile::tempdir().expect("dir");
        let mut leader = store(&dir, "a", "王网格长", Role::GridLeader, &["G01"], TestClock::morning());
        let f = leader.report_incident(new_incident(Severity::Urgent)).expect("report");
        let mut settings = leader.settings().clone();
        settings.deadlines.urgent_ack_minutes = 15;
        let id = DocId::community(COMMUNITY);
        let mut doc = leader.checkout(&id).expect("community");
        docs::community::write_settings(&mut doc, &settings).expect("write");
        leader.persist(vec![(id, doc)], crate::store::index::reindex).expect("persist");
        let d = leader.incident_detail(&f.incident_id).expect("detail");
        assert_eq!(d.deadline.map(|t| utc_text(t.with_timezone(&Utc))).as_deref(), Some("2026-11-24T01:15:00Z"));
    }

    /// Possible duplicates: same household and category, open, reported within the window either side; once
    /// one is rejected as a duplicate it leaves the suggestions and is listed under the one it duplicates.
    #[test]
    fn duplicate_candidates_and_the_duplicates_pointing_to_an_incident() {
        let dir = tempfile::tempdir().expect("dir");
        let c = TestClock::morning();
        let mut leader = store(&dir, "a", "王网格长", Role::GridLeader, &["G01"], c.clone());
        let mut committee = store(&dir, "b", "李主任", Role::Committee, &[], c.clone());
        let first = leader.report_incident(new_incident(Severity::Normal)).expect("first").incident_id;
        let mut other_category = new_incident(Severity::Normal);
        other_category.category = "environment".into();
        let other = leader.report_incident(other_category).expect("other").incident_id;
        c.advance(chrono::Duration::minutes(24 * 60));
        let second = leader.report_incident(new_incident(Severity::Normal)).expect("second").incident_id;
        // Eight days after the second (nine after the first): outside the window of both.
        c.advance(chrono::Duration::minutes(8 * 24 * 60 + 1));
        let late = leader.report_incident(new_incident(Severity::Normal)).expect("late").incident_id;
        let ids = |items: Vec<IncidentListItem>| items.into_iter().map(|i| i.incident_id).collect::<Vec<_>>();
        assert_eq!(ids(leader.duplicate_candidates(&first).expect("first")), vec![second.clone()]);
        assert_eq!(ids(leader.duplicate_candidates(&second).expect("second")), vec![first.clone()]);
        assert!(leader.duplicate_candidates(&late).expect("late").is_empty());
        assert!(leader.duplicate_candidates(&other).expect("other").is_empty());
        assert_eq!(
            leader.duplicate_candidates("0190f5a4-0000-7000-8000-00000000ffff").expect_err("unknown").code(),
            crate::ErrorCode::NotFound
        );

        for id in [&first, &second] {
            hand_over(&leader, &mut committee, id);
        }
        let mut reject = IncidentAct::new(Action::Reject, "重复上报");
        reject.duplicate_of = Some(first.clone());
        committee.incident_act(&second, reject).expect("reject as duplicate");
        assert_eq!(ids(committee.duplicates_of(&first).expect("duplicates")), vec![second.clone()]);
        assert!(committee.duplicates_of(&second).expect("none").is_empty());
        assert!(committee.duplicate_candidates(&first).expect("first").is_empty(), "a rejected one is not open");
        assert_eq!(committee.incident_detail(&second).expect("detail").duplicate_of, Some(first));
    }

    #[test]
    fn a_problem_check_in_starts_a_prefilled_incident() {
        let dir = tempfile::tempdir().expect("dir");
        let mut leader = store(&dir, "a", "王网格长", Role::GridLeader, &["G01"], TestClock::morning());
        let photo = leader.add_photo(b"\xFF\xD8\xFFjpeg bytes").expect("photo");
        let check_in = leader
            .check_in(NewCheckIn {
                household_code: "H001".into(),
                kind: CheckInKind::Door,
                outcome: CheckInOutcome::Problem,
                note: "老人摔倒，膝盖受伤".into(),
                photos: vec![photo.clone()],
                location: None,
                at: None,
            })
            .expect("check-in");
        let f = leader
            .report_incident(NewIncident {
                category: "vulnerable_resident".into(),
                check_in_id: Some(check_in.check_in_id.clone()),
                ..NewIncident::default()
            })
            .expect("report");
        assert_eq!(f.household_code.as_deref(), Some("H001"));
        assert_eq!((f.title.as_str(), f.description.as_str()), ("老人摔倒，膝盖受伤", "老人摔倒，膝盖受伤"));
        assert_eq!(f.photos, vec![photo]);
        let d = leader.incident_detail(&f.incident_id).expect("detail");
        assert_eq!(d.check_in_id, Some(check_in.check_in_id));
    }
}
