//! SQL of the `check_in` table: inserting the rows a check-in log's document derives and reading them back.

use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::columns::{code_column, day_text, time_column};
use super::roster::grid_filter;
use crate::docs::split_list;
use crate::error::Result;
use crate::model::CheckIn;
use crate::schedule::Month;
use crate::store::CheckInSummary;

/// Inserts a check-in's row; false when it was already there (indexing is idempotent).
pub(crate) fn insert(tx: &Transaction<'_>, c: &CheckIn, day: NaiveDate) -> Result<bool> {
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO check_in (check_in_id, grid, household_code, kind, outcome, at, day, note, photos, author, device_id, lat, lon)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?
        .execute(params![
            c.check_in_id,
            c.grid,
            c.household_code,
            c.kind.code(),
            c.outcome.code(),
            c.at.to_rfc3339(),
            day.to_string(),
            c.note,
            c.photos.join(";"),
            c.author,
            c.device_id,
            c.location.map(|l| l.lat),
            c.location.map(|l| l.lon),
        ])?;
    Ok(inserted > 0)
}

/// The grid, day (`YYYY-MM-DD`) and household of a check-in, when it is indexed.
pub(crate) fn locate(conn: &Connection, check_in_id: &str) -> Result<Option<(String, String, String)>> {
    Ok(conn
        .query_row("SELECT grid, day, household_code FROM check_in WHERE check_in_id = ?1", [check_in_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?)
}

/// A household's most recent check-ins, newest first (at most 20).
pub(crate) fn recent_for_household(conn: &Connection, code: &str) -> Result<Vec<CheckInSummary>> {
    let mut stmt = conn.prepare_cached(
        "SELECT check_in_id, kind, outcome, at, note, author, photos FROM check_in
         WHERE household_code = ?1 ORDER BY at DESC, check_in_id DESC LIMIT 20",
    )?;
    let rows = stmt.query_map([code], |r| {
        Ok(CheckInSummary {
            check_in_id: r.get(0)?,
            kind: code_column(r, 1)?,
            outcome: code_column(r, 2)?,
            at: time_column(r, 3)?,
            note: r.get(4)?,
            author: r.get(5)?,
            photos: split_list(&r.get::<_, String>(6)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Door and phone check-ins of one grid (`None`: every grid) in `month` by `author`: household, kind code
/// and day (`YYYY-MM-DD`).
pub(crate) fn door_and_phone_in_month(
    conn: &Connection,
    grid: Option<&str>,
    month: &Month,
    author: &str,
) -> Result<Vec<(String, String, String)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT household_code, kind, day FROM check_in
         WHERE day >= ?2 AND day < ?3 AND kind IN ('door', 'phone') AND {} AND author = ?4",
        grid_filter("grid", grid)
    ))?;
    let rows = stmt.query_map(params![grid, day_text(month.first), day_text(month.next_first()), author], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
