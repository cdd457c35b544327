//! SQL of the materialised `project`, `project_event` and `project_rating` tables: rewriting a project's rows
//! from what `project::replay` and `project::ratings` derived, and the list, detail, links and ledger reads.
//! Statuses and which ratings stand are decided in `project.rs`; this file only stores and reads them.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::columns::{code_column, optional_code_column, optional_time_column, parse_day, time_column};
use crate::docs::project::Project;
use crate::docs::{split_list, DocId};
use crate::error::Result;
use crate::needs::ProjectLink;
use crate::project::{ProjectDerivation, RatingsSummary};
use crate::store::{ProjectDetail, ProjectEventView, ProjectListItem, ProjectRatingView, ProjectRatings};

/// A nullable `YYYY-MM-DD` column.
fn optional_day(r: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Option<chrono::NaiveDate>> {
    Ok(r.get::<_, Option<String>>(idx)?.as_deref().and_then(parse_day))
}

/// Deletes a project's rows.
pub(crate) fn delete(tx: &Transaction<'_>, project_id: &str) -> Result<()> {
    for table in ["project_event", "project_rating", "project"] {
        tx.prepare_cached(&format!("DELETE FROM {table} WHERE project_id = ?1"))?.execute([project_id])?;
    }
    Ok(())
}

/// Writes the rows of a project that has none.
pub(crate) fn insert(
    tx: &Transaction<'_>,
    id: &DocId,
    p: &Project,
    d: &ProjectDerivation,
    r: &RatingsSummary,
) -> Result<()> {
    let project_id = id.key.as_deref().unwrap_or_default();
    let f = &p.fields;
    tx.prepare_cached(
        "INSERT INTO project (project_id, doc_id, title, category, organisation, budget_yuan, needs, from_day, to_day,
             status, status_since, done_at, created_by, created_role, created_at, rating_count, rating_average)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    )?
    .execute(params![
        project_id,
        id.to_string(),
        f.title,
        f.category,
        f.organisation,
        f.budget_yuan.and_then(|b| i64::try_from(b).ok()),
        f.needs.join(";"),
        f.from.map(|d| d.to_string()),
        f.to.map(|d| d.to_string()),
        d.status.code(),
        d.status_since.map(|t| t.to_rfc3339()),
        d.done_at.map(|t| t.to_rfc3339()),
        f.created_by,
        f.role,
        f.at.to_rfc3339(),
        i64::from(r.count),
        r.average,
    ])?;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO project_event (project_id, seq, event_id, status, actor, role, at, applied, status_after,
             superseded_reason, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for (seq, o) in d.outcomes.iter().enumerate() {
        let Some(e) = p.status_events.get(o.index) else { continue };
        stmt.execute(params![
            project_id,
            seq as i64,
            e.event_id,
            e.status,
            e.actor,
            e.role,
            e.at,
            o.applied,
            o.status_after.code(),
            o.superseded_reason.map(|r| r.code()),
            e.note,
        ])?;
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO project_rating (project_id, seq, rating_id, household_code, grid, building, rating, note, actor,
             role, at, state, replaced_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    for (seq, o) in r.outcomes.iter().enumerate() {
        let Some(e) = p.ratings.get(o.index) else { continue };
        stmt.execute(params![
            project_id,
            seq as i64,
            e.rating_id,
            e.household,
            e.grid,
            e.building,
            e.rating,
            e.note,
            e.actor,
            e.role,
            e.at,
            o.state.code(),
            o.replaced_by,
        ])?;
    }
    Ok(())
}

/// The document id of a project, if held.
pub(crate) fn doc_id(conn: &Connection, project_id: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT doc_id FROM project WHERE project_id = ?1")?
        .query_row([project_id], |r| r.get(0))
        .optional()?)
}

const LIST_COLUMNS: &str = "project_id, title, category, organisation, budget_yuan, needs, from_day, to_day, status,
    rating_count, rating_average, created_at, done_at";

fn list_item(r: &rusqlite::Row<'_>) -> rusqlite::Result<ProjectListItem> {
    Ok(ProjectListItem {
        project_id: r.get(0)?,
        title: r.get(1)?,
        category: r.get(2)?,
        organisation: r.get(3)?,
        budget_yuan: r.get::<_, Option<i64>>(4)?.and_then(|b| u64::try_from(b).ok()),
        needs: split_list(&r.get::<_, String>(5)?),
        from: optional_day(r, 6)?,
        to: optional_day(r, 7)?,
        status: code_column(r, 8)?,
        rating_count: u32::try_from(r.get::<_, i64>(9)?).unwrap_or(0),
        rating_average: r.get(10)?,
        created_at: time_column(r, 11)?,
        done_at: optional_time_column(r, 12)?,
    })
}

/// Every project, newest first (optionally of one status).
pub(crate) fn list(conn: &Connection, status: Option<&str>) -> Result<Vec<ProjectListItem>> {
    let sql = format!(
        "SELECT {LIST_COLUMNS} FROM project WHERE ?1 IS NULL OR status = ?1 ORDER BY created_at DESC, project_id DESC"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([status], list_item)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Projects per status code.
pub(crate) fn count_by_status(conn: &Connection) -> Result<Vec<(String, u32)>> {
    let mut stmt = conn.prepare_cached("SELECT status, count(*) FROM project GROUP BY status")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, u32::try_from(r.get::<_, i64>(1)?).unwrap_or(0))))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// One project's row as a detail, without its events and ratings (filled by the caller).
pub(crate) fn detail(conn: &Connection, project_id: &str) -> Result<ProjectDetail> {
    let sql = "SELECT project_id, doc_id, title, category, organisation, budget_yuan, needs, from_day, to_day, status,
            status_since, done_at, created_by, created_role, created_at, rating_count, rating_average
        FROM project WHERE project_id = ?1";
    Ok(conn.prepare_cached(sql)?.query_row([project_id], |r| {
        Ok(ProjectDetail {
            project_id: r.get(0)?,
            doc_id: r.get(1)?,
            title: r.get(2)?,
            category: r.get(3)?,
            organisation: r.get(4)?,
            budget_yuan: r.get::<_, Option<i64>>(5)?.and_then(|b| u64::try_from(b).ok()),
            needs: split_list(&r.get::<_, String>(6)?),
            from: optional_day(r, 7)?,
            to: optional_day(r, 8)?,
            status: code_column(r, 9)?,
            status_since: optional_time_column(r, 10)?,
            done_at: optional_time_column(r, 11)?,
            created_by: r.get(12)?,
            created_role: r.get(13)?,
            created_at: time_column(r, 14)?,
            ratings: ProjectRatings {
                count: u32::try_from(r.get::<_, i64>(15)?).unwrap_or(0),
                average: r.get(16)?,
                items: Vec::new(),
            },
            events: Vec::new(),
            allowed_statuses: Vec::new(),
            may_evaluate: false,
        })
    })?)
}

/// A project's status events in replay order.
pub(crate) fn events(conn: &Connection, project_id: &str) -> Result<Vec<ProjectEventView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT event_id, status, actor, role, at, applied, status_after, superseded_reason, note
         FROM project_event WHERE project_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map([project_id], |r| {
        Ok(ProjectEventView {
            event_id: r.get(0)?,
            status: r.get(1)?,
            actor: r.get(2)?,
            role: r.get(3)?,
            at: r.get(4)?,
            applied: r.get(5)?,
            status_after: code_column(r, 6)?,
            superseded_reason: optional_code_column(r, 7)?,
            note: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Ratings in replay order: of one project, or (`None`) of every project.
pub(crate) fn ratings(conn: &Connection, project_id: Option<&str>) -> Result<Vec<ProjectRatingView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT project_id, rating_id, household_code, grid, building, rating, note, actor, role, at, state,
             replaced_by
         FROM project_rating WHERE ?1 IS NULL OR project_id = ?1 ORDER BY project_id, seq",
    )?;
    let rows = stmt.query_map([project_id], |r| {
        Ok(ProjectRatingView {
            project_id: r.get(0)?,
            rating_id: r.get(1)?,
            household_code: r.get(2)?,
            grid: r.get(3)?,
            building: r.get(4)?,
            rating: r.get(5)?,
            note: r.get(6)?,
            actor: r.get(7)?,
            role: r.get(8)?,
            at: r.get(9)?,
            state: code_column(r, 10)?,
            replaced_by: r.get(11)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Every project as the needs list links it.
pub(crate) fn links(conn: &Connection) -> Result<Vec<ProjectLink>> {
    let mut stmt = conn.prepare_cached("SELECT project_id, needs, status, created_at FROM project")?;
    let rows = stmt.query_map([], |r| {
        Ok(ProjectLink {
            project_id: r.get(0)?,
            needs: split_list(&r.get::<_, String>(1)?),
            status: code_column(r, 2)?,
            created_at: time_column(r, 3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// What the needs list counts, as rows: each visit with need tags (`need_tags`, day) and each service order
/// not cancelled (`service`, request time), with the household's grid and building (empty when the roster no
/// longer holds it). Which of them count, and how, is `needs.rs`'s.
pub(crate) struct NeedRows {
    /// `(need_tags ;-joined, household, grid, building, day)` per visit.
    pub visits: Vec<(String, String, String, String, String)>,
    /// `(service, household, grid, building, requested_at)` per order.
    pub requests: Vec<(String, String, String, String, String)>,
}

/// Reads [`NeedRows`].
pub(crate) fn need_rows(conn: &Connection) -> Result<NeedRows> {
    let five = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?));
    let visits = conn
        .prepare_cached(
            "SELECT v.need_tags, v.household_code, v.grid, COALESCE(h.building, ''), v.day FROM visit v
             LEFT JOIN household h ON h.household_code = v.household_code WHERE v.need_tags != ''",
        )?
        .query_map([], five)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let requests = conn
        .prepare_cached(
            "SELECT o.service, o.household_code, o.grid, COALESCE(h.building, ''), o.requested_at
             FROM service_order o LEFT JOIN household h ON h.household_code = o.household_code
             WHERE o.stage != 'cancelled'",
        )?
        .query_map([], five)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(NeedRows { visits, requests })
}
