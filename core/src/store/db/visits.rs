//! SQL of the `visit` and `follow_up` tables: inserting what a visit log's document derives, and the month
//! and history reads the visits-due list, the assessment and the ledger start from.

use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::columns::{day_text, parse_day};
use super::roster::grid_filter;
use crate::docs::split_list;
use crate::error::Result;
use crate::model::Visit;
use crate::schedule::Month;
use crate::store::VisitRow;

/// One open follow-up row: household, resident (empty: the whole household), level, due day and the day it
/// was set (both `YYYY-MM-DD`).
pub(crate) type FollowUpRow = (String, String, i64, String, String);

/// One latest-contact row of [`latest_contacts_until`]: source (`check_in` or `visit`), household, residents
/// (`;`-joined, empty for a check-in), kind code and day (`YYYY-MM-DD`).
pub(crate) type LatestContactRow = (String, String, String, String, String);

/// The household and grid of a visit, when it is indexed.
pub(crate) fn household_of(conn: &Connection, visit_id: &str) -> Result<Option<(String, String)>> {
    Ok(conn
        .query_row("SELECT household_code, grid FROM visit WHERE visit_id = ?1", [visit_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?)
}

/// Inserts a visit's row; false when it was already there (indexing is idempotent).
pub(crate) fn insert(tx: &Transaction<'_>, v: &Visit) -> Result<bool> {
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO visit (visit_id, grid, household_code, residents, kind, at, day, duration_min,
                 services, needs, need_tags, follow_up, satisfaction, photos, author, device_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )?
        .execute(params![
            v.visit_id,
            v.grid,
            v.household_code,
            v.residents.join(";"),
            v.kind.code(),
            v.at.to_rfc3339(),
            v.day.to_string(),
            v.duration_min,
            v.services.join(";"),
            v.needs,
            v.need_tags.join(";"),
            v.follow_up.map(|d| d.to_string()),
            v.satisfaction,
            v.photos.join(";"),
            v.author,
            v.device_id,
        ])?;
    Ok(inserted > 0)
}

/// Inserts the follow-up a visit asks for, for one resident (empty: the whole household).
pub(crate) fn insert_follow_up(
    tx: &Transaction<'_>,
    v: &Visit,
    resident: &str,
    level: i64,
    due: NaiveDate,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO follow_up (visit_id, resident, household_code, grid, level, due, set_on)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        v.visit_id,
        resident,
        v.household_code,
        v.grid,
        level,
        due.to_string(),
        v.day.to_string()
    ])?;
    Ok(())
}

/// Follow-ups of one grid (`None`: every grid) due on or before `date`.
pub(crate) fn follow_ups_due(conn: &Connection, grid: Option<&str>, date: NaiveDate) -> Result<Vec<FollowUpRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT household_code, resident, level, due, set_on FROM follow_up WHERE due <= ?2 AND {}",
        grid_filter("grid", grid)
    ))?;
    let rows = stmt.query_map(params![grid, day_text(date)], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Visits of one grid (`None`: every grid) in `month`, unordered.
pub(crate) fn in_month(conn: &Connection, grid: Option<&str>, month: &Month) -> Result<Vec<VisitRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT visit_id, grid, household_code, residents, kind, at, day, duration_min, services, needs,
                need_tags, follow_up, satisfaction, author
         FROM visit WHERE day >= ?2 AND day < ?3 AND {}",
        grid_filter("grid", grid)
    ))?;
    let rows = stmt.query_map(params![grid, day_text(month.first), day_text(month.next_first())], |r| {
        Ok(VisitRow {
            visit_id: r.get(0)?,
            grid: r.get(1)?,
            household_code: r.get(2)?,
            residents: split_list(&r.get::<_, String>(3)?),
            kind: r.get(4)?,
            at: r.get(5)?,
            day: parse_day(&r.get::<_, String>(6)?).unwrap_or(month.first),
            duration_min: r.get(7)?,
            services: split_list(&r.get::<_, String>(8)?),
            needs: r.get(9)?,
            need_tags: split_list(&r.get::<_, String>(10)?),
            follow_up: r.get(11)?,
            satisfaction: r.get(12)?,
            author: r.get(13)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The latest door/phone/observed check-in and the latest visit per household, resident list and kind, up
/// to `until`, for households of one grid (`None`: every grid) with special-care residents.
pub(crate) fn latest_contacts_until(
    conn: &Connection,
    grid: Option<&str>,
    until: NaiveDate,
) -> Result<Vec<LatestContactRow>> {
    let mut out = Vec::new();
    // Only households with special-care residents have care plans to judge.
    let tagged = "household_code IN (SELECT household_code FROM resident WHERE tags != '' AND moved_out = 0)";
    let grid_sql = grid_filter("grid", grid);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT 'check_in', household_code, '', kind, max(day) FROM check_in
         WHERE day <= ?2 AND kind IN ('door', 'phone', 'observed') AND {grid_sql} AND {tagged}
         GROUP BY household_code, kind
         UNION ALL
         SELECT 'visit', household_code, residents, kind, max(day) FROM visit
         WHERE day <= ?2 AND {grid_sql} AND {tagged} GROUP BY household_code, residents, kind"
    ))?;
    let mut rows = stmt.query(params![grid, day_text(until)])?;
    while let Some(r) = rows.next()? {
        let source: String = r.get(0)?;
        out.push((source, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?, r.get(4)?));
    }
    Ok(out)
}
