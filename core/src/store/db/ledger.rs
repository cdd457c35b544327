//! SQL of the ledger's month queries: the check-ins of a month, the incidents of the grids and the events of
//! incidents near a month, the service orders requested near a month. What they add up to is built in `crate::ledger`.

use rusqlite::{params, Connection};

use super::columns::{code_column, day_column, day_text, optional_code_column, optional_time_column, time_column};
use super::roster::grid_filter;
use crate::error::Result;
use crate::ledger::{CheckInLine, OrderLine};
use crate::model::Severity;
use crate::schedule::Month;
use crate::workflow::{Stage, SupersededReason};

/// An incident row as the ledger reads it.
pub(crate) struct IncidentRow {
    pub incident_id: String,
    pub grid: String,
    pub category: String,
    pub severity: Severity,
    pub title: String,
    pub stage: Stage,
    /// When it was reported (RFC 3339).
    pub reported_at: String,
    /// Its deadline (RFC 3339), if any.
    pub deadline: Option<String>,
}

/// An incident event row as the ledger reads it.
pub(crate) struct EventRow {
    pub incident_id: String,
    pub seq: i64,
    pub action: String,
    pub actor: String,
    pub role: String,
    /// When (RFC 3339, as recorded).
    pub at: String,
    pub applied: bool,
    pub stage_after: Option<Stage>,
    pub superseded_reason: Option<SupersededReason>,
    pub note: String,
    pub satisfied: Option<bool>,
}

/// Check-ins of one grid (`None`: every grid) in `month`, unordered, without their addresses.
pub(crate) fn check_ins_in_month(conn: &Connection, grid: Option<&str>, month: &Month) -> Result<Vec<CheckInLine>> {
    let (from, to) = (day_text(month.first), day_text(month.next_first()));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT day, at, grid, household_code, kind, outcome, note, author FROM check_in
         WHERE day >= ?2 AND day < ?3 AND {}",
        grid_filter("grid", grid)
    ))?;
    let rows = stmt.query_map(params![grid, from, to], |r| {
        Ok(CheckInLine {
            day: day_column(r, 0)?,
            at: time_column(r, 1)?,
            grid: r.get(2)?,
            address: String::new(),
            household_code: r.get(3)?,
            kind: code_column(r, 4)?,
            outcome: code_column(r, 5)?,
            note: r.get(6)?,
            author: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Every incident of one grid (`None`: every grid).
pub(crate) fn incidents(conn: &Connection, grid: Option<&str>) -> Result<Vec<IncidentRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT incident_id, grid, category, severity, title, stage, reported_at, deadline FROM incident
         WHERE {}",
        grid_filter("grid", grid)
    ))?;
    let rows = stmt.query_map(params![grid], |r| {
        Ok(IncidentRow {
            incident_id: r.get(0)?,
            grid: r.get(1)?,
            category: r.get(2)?,
            severity: code_column(r, 3)?,
            title: r.get(4)?,
            stage: code_column(r, 5)?,
            reported_at: r.get(6)?,
            deadline: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Every event of the incidents (of `grid`, or every grid) that had an event recorded in `[from, to)` (RFC
/// 3339 text, compared as stored), by incident and sequence.
pub(crate) fn events_of_incidents_active_between(
    conn: &Connection,
    grid: Option<&str>,
    from: &str,
    to: &str,
) -> Result<Vec<EventRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT incident_id, seq, action, actor, role, at, applied, stage_after, superseded_reason, note, satisfied
         FROM incident_event
         WHERE incident_id IN (SELECT DISTINCT incident_id FROM incident_event WHERE at >= ?1 AND at < ?2)
           AND (?3 IS NULL OR incident_id IN (SELECT incident_id FROM incident WHERE grid = ?3))
         ORDER BY incident_id, seq",
    )?;
    let rows = stmt.query_map(params![from, to, grid], |r| {
        Ok(EventRow {
            incident_id: r.get(0)?,
            seq: r.get(1)?,
            action: r.get(2)?,
            actor: r.get(3)?,
            role: r.get(4)?,
            at: r.get(5)?,
            applied: r.get(6)?,
            stage_after: optional_code_column(r, 7)?,
            superseded_reason: optional_code_column(r, 8)?,
            note: r.get(9)?,
            satisfied: r.get(10)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Service orders of one grid (`None`: every grid) requested in `[from, to)` (RFC 3339 text, compared as
/// stored: the caller widens the range by a day and keeps the orders of its month), unordered.
pub(crate) fn orders_requested_between(
    conn: &Connection,
    grid: Option<&str>,
    from: &str,
    to: &str,
) -> Result<Vec<OrderLine>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT order_id, grid, service, household_code, volunteer, stage, requested_at, done_at, rating
         FROM service_order WHERE requested_at >= ?2 AND requested_at < ?3 AND {}",
        grid_filter("grid", grid)
    ))?;
    let rows = stmt.query_map(params![grid, from, to], |r| {
        Ok(OrderLine {
            order_id: r.get(0)?,
            grid: r.get(1)?,
            service: r.get(2)?,
            household_code: r.get(3)?,
            volunteer: r.get(4)?,
            stage: code_column(r, 5)?,
            requested_at: time_column(r, 6)?,
            done_at: optional_time_column(r, 7)?,
            rating: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
