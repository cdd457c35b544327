//! SQL of the materialised `incident` and `incident_event` tables: rewriting an incident's rows from what
//! `workflow::replay` derived, moving deadlines, and the list, counts and detail reads. Stages and deadlines
//! are decided in `workflow`; this file only stores and reads them.

use chrono::{DateTime, FixedOffset};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::columns::{code_column, optional_code_column, optional_time_column, time_column};
use crate::docs::{self, split_list, DocId};
use crate::error::Result;
use crate::model::{Location, Role};
use crate::store::{IncidentDetail, IncidentEventView, IncidentListItem};
use crate::workflow::{Derivation, Stage};

const LIST_COLUMNS: &str = "incident_id, grid, household_code, stage, severity, category, title, reported_at, \
                            stage_since, deadline, waiting_for";

/// One row of [`deadline_inputs`]: incident id, stage and severity codes, and when the deadline's clock
/// started (RFC 3339).
pub(crate) type DeadlineInput = (String, String, String, Option<String>);

/// A WHERE clause built from only the conditions in use, with its parameters.
#[derive(Default, Clone)]
pub(crate) struct Conditions {
    sql: Vec<String>,
    args: Vec<rusqlite::types::Value>,
}

impl Conditions {
    /// Adds a condition with its parameters (text).
    pub(crate) fn add(&mut self, sql: &str, args: impl IntoIterator<Item = String>) {
        self.sql.push(sql.to_string());
        self.args.extend(args.into_iter().map(rusqlite::types::Value::Text));
    }

    /// The parameters of the conditions, in order.
    pub(crate) fn args(&self) -> &[rusqlite::types::Value] {
        &self.args
    }

    /// `WHERE …` for the conditions in use (empty when none).
    pub(crate) fn clause(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.sql.join(" AND "))
        }
    }
}

/// The role code the `incident` table keeps (empty: waiting for nobody) as a role.
fn waiting_for_column(r: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Option<Role>> {
    let code: String = r.get(idx)?;
    if code.is_empty() {
        return Ok(None);
    }
    code_column(r, idx).map(Some)
}

/// Deletes an incident's rows.
pub(crate) fn delete(tx: &Transaction<'_>, id: &DocId) -> Result<()> {
    let incident_id = id.key.as_deref().unwrap_or_default();
    tx.prepare_cached("DELETE FROM incident_event WHERE incident_id = ?1")?.execute([incident_id])?;
    tx.prepare_cached("DELETE FROM incident WHERE incident_id = ?1")?.execute([incident_id])?;
    Ok(())
}

/// Writes the rows of an incident that has none: its `incident` row at `stage` since `since` with
/// `deadline` (UTC text), and one `incident_event` row per event with its outcome in `d`.
pub(crate) fn insert(
    tx: &Transaction<'_>,
    id: &DocId,
    incident: &docs::incident::Incident,
    d: &Derivation,
    stage: Stage,
    since: DateTime<FixedOffset>,
    deadline: Option<String>,
) -> Result<()> {
    let incident_id = id.key.as_deref().unwrap_or_default();
    let f = &incident.fields;
    let updated_at = incident.events.last().map(|e| e.at.clone()).unwrap_or_default();
    tx.prepare_cached(
        "INSERT INTO incident (incident_id, doc_id, grid, household_code, category, severity, title, description,
             photos, lat, lon, check_in_id, stage, reporter, reporter_role, reported_at, stage_since, deadline_from,
             deadline, waiting_for, reopen_count, satisfied, assignee, duplicate_of, committee_notified, delivered,
             event_count, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21,
             ?22, ?23, ?24, ?25, ?26, ?27, ?28)",
    )?
    .execute(params![
        incident_id,
        id.to_string(),
        id.grid,
        f.household_code,
        f.category,
        f.severity.code(),
        f.title,
        f.description,
        f.photos.join(";"),
        f.location.map(|l| l.lat),
        f.location.map(|l| l.lon),
        f.check_in_id,
        stage.code(),
        d.reporter,
        d.reporter_role.map(|r| r.code()),
        d.reported_at.map(|t| t.to_rfc3339()),
        since.to_rfc3339(),
        d.deadline_from.map(|t| t.to_rfc3339()),
        deadline,
        d.waiting_for().map(|r| r.code()).unwrap_or_default(),
        d.reopen_count,
        d.satisfied,
        d.assignee,
        d.duplicate_of,
        d.committee_notified,
        d.delivered,
        incident.events.len() as i64,
        updated_at,
    ])?;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO incident_event (incident_id, seq, event_id, action, actor, device, role, at, applied,
             stage_after, superseded_reason, note, assignee, duplicate_of, satisfied, photos)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?;
    for (seq, (e, o)) in incident.events.iter().zip(&d.outcomes).enumerate() {
        stmt.execute(params![
            incident_id,
            seq as i64,
            e.event_id,
            e.action,
            e.actor,
            e.device,
            e.role,
            e.at,
            o.applied,
            o.stage_after.map(|s| s.code()),
            o.superseded_reason.map(|r| r.code()),
            e.note,
            e.assignee,
            e.duplicate_of,
            e.satisfied,
            e.photos.join(";"),
        ])?;
    }
    Ok(())
}

/// What every incident's deadline is computed from.
pub(crate) fn deadline_inputs(tx: &Transaction<'_>) -> Result<Vec<DeadlineInput>> {
    let rows = tx
        .prepare("SELECT incident_id, stage, severity, deadline_from FROM incident")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Sets incidents' deadlines (UTC text, `None`: no deadline), by incident id.
pub(crate) fn set_deadlines(tx: &Transaction<'_>, deadlines: &[(String, Option<String>)]) -> Result<()> {
    let mut update = tx.prepare_cached("UPDATE incident SET deadline = ?2 WHERE incident_id = ?1")?;
    for (incident_id, deadline) in deadlines {
        update.execute(params![incident_id, deadline])?;
    }
    Ok(())
}

/// The household, outcome code, note and photos (`;`-joined) of a check-in, when it is indexed.
pub(crate) fn check_in_for_report(
    conn: &Connection,
    check_in_id: &str,
) -> Result<Option<(String, String, String, String)>> {
    Ok(conn
        .query_row(
            "SELECT household_code, outcome, note, photos FROM check_in WHERE check_in_id = ?1",
            [check_in_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?)
}

/// The document id of an incident, when it is indexed.
pub(crate) fn doc_id(conn: &Connection, incident_id: &str) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT doc_id FROM incident WHERE incident_id = ?1", [incident_id], |r| r.get(0)).optional()?)
}

/// Incidents matching `wanted`, soonest deadline first, each with its deadline as stored (UTC text); their
/// overdue fields are left for the caller.
pub(crate) fn list(conn: &Connection, wanted: &Conditions) -> Result<Vec<(IncidentListItem, Option<String>)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {LIST_COLUMNS} FROM incident {} ORDER BY deadline IS NULL, deadline, reported_at, incident_id",
        wanted.clause()
    ))?;
    let rows = stmt.query_map(rusqlite::params_from_iter(&wanted.args), |r| {
        let deadline_text: Option<String> = r.get(9)?;
        let item = IncidentListItem {
            incident_id: r.get(0)?,
            grid: r.get(1)?,
            household_code: r.get(2)?,
            stage: code_column(r, 3)?,
            severity: code_column(r, 4)?,
            category: r.get(5)?,
            title: r.get(6)?,
            reported_at: time_column(r, 7)?,
            stage_since: time_column(r, 8)?,
            deadline: optional_time_column(r, 9)?,
            overdue: false,
            overdue_minutes: 0,
            waiting_for: waiting_for_column(r, 10)?,
        };
        Ok((item, deadline_text))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// How many incidents matching `scope` are at each stage (stage code, count).
pub(crate) fn count_by_stage(conn: &Connection, scope: &Conditions) -> Result<Vec<(String, u32)>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT stage, count(*) FROM incident {} GROUP BY stage", scope.clause()))?;
    let rows = stmt.query_map(rusqlite::params_from_iter(&scope.args), |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// One incident's row, without its events, allowed actions and overdue fields (left for the caller).
pub(crate) fn detail(conn: &Connection, incident_id: &str) -> Result<IncidentDetail> {
    Ok(conn.query_row(
        "SELECT incident_id, doc_id, grid, household_code, stage, severity, category, title, description, photos,
                lat, lon, check_in_id, reporter, reported_at, stage_since, waiting_for, reopen_count, satisfied,
                assignee, duplicate_of, committee_notified, delivered, deadline
         FROM incident WHERE incident_id = ?1",
        [incident_id],
        |r| {
            let location = match (r.get::<_, Option<f64>>(10)?, r.get::<_, Option<f64>>(11)?) {
                (Some(lat), Some(lon)) => Some(Location { lat, lon, accuracy_m: None }),
                _ => None,
            };
            Ok(IncidentDetail {
                incident_id: r.get(0)?,
                doc_id: r.get(1)?,
                grid: r.get(2)?,
                household_code: r.get(3)?,
                stage: code_column(r, 4)?,
                severity: code_column(r, 5)?,
                category: r.get(6)?,
                title: r.get(7)?,
                description: r.get(8)?,
                photos: split_list(&r.get::<_, String>(9)?),
                location,
                check_in_id: r.get(12)?,
                reporter: r.get(13)?,
                reported_at: time_column(r, 14)?,
                stage_since: time_column(r, 15)?,
                waiting_for: waiting_for_column(r, 16)?,
                reopen_count: r.get(17)?,
                satisfied: r.get(18)?,
                assignee: r.get(19)?,
                duplicate_of: r.get(20)?,
                committee_notified: r.get(21)?,
                delivered: r.get(22)?,
                events: Vec::new(),
                deadline: optional_time_column(r, 23)?,
                overdue: false,
                overdue_minutes: 0,
                allowed_actions: Vec::new(),
            })
        },
    )?)
}

/// An incident's events in order, superseded ones included.
pub(crate) fn events(conn: &Connection, incident_id: &str) -> Result<Vec<IncidentEventView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT event_id, action, actor, role, at, applied, superseded_reason, stage_after, note, assignee,
                duplicate_of, satisfied, photos
         FROM incident_event WHERE incident_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map([incident_id], |r| {
        Ok(IncidentEventView {
            event_id: r.get(0)?,
            action: r.get(1)?,
            actor: r.get(2)?,
            role: r.get(3)?,
            at: r.get(4)?,
            applied: r.get(5)?,
            superseded_reason: optional_code_column(r, 6)?,
            stage_after: optional_code_column(r, 7)?,
            note: r.get(8)?,
            assignee: r.get(9)?,
            duplicate_of: r.get(10)?,
            satisfied: r.get(11)?,
            photos: split_list(&r.get::<_, String>(12)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
