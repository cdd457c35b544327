//! SQL of the roster tables (`household`, `resident`) and of `last_contact`, the contact history check-ins
//! and visits write: replacing a grid's rows from its roster document, and the reads the lists start from.

use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::columns::day_text;
use crate::docs::split_list;
use crate::error::Result;
use crate::model::{Household, Resident};

const HOUSEHOLD_COLUMNS: &str = "household_code, grid, building, unit, floor, room, moved_out";
const RESIDENT_COLUMNS: &str = "household_code, name, gender, birth_year, phone, id_number, tags, notes, moved_out";

/// One `last_contact` row: household, resident (empty: the whole household), level and day (`YYYY-MM-DD`).
pub(crate) type ContactRow = (String, String, i64, String);

fn household_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Household> {
    Ok(Household {
        household_code: r.get(0)?,
        grid: r.get(1)?,
        building: r.get(2)?,
        unit: r.get(3)?,
        floor: r.get(4)?,
        room: r.get(5)?,
        moved_out: r.get(6)?,
    })
}

fn resident_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Resident> {
    Ok(Resident {
        household_code: r.get(0)?,
        name: r.get(1)?,
        gender: r.get(2)?,
        birth_year: r.get(3)?,
        phone: r.get(4)?,
        id_number: r.get(5)?,
        tags: split_list(&r.get::<_, String>(6)?),
        notes: r.get(7)?,
        moved_out: r.get(8)?,
    })
}

/// The SQL condition restricting `column` to grid `?1`, or nothing when every grid is asked for. A literal
/// `?1 IS NULL OR grid = ?1` would keep SQLite from using the grid indexes.
pub(crate) fn grid_filter(column: &str, grid: Option<&str>) -> String {
    match grid {
        Some(_) => format!("{column} = ?1"),
        None => "?1 IS NULL".to_string(),
    }
}

/// Replaces a grid's households and residents with those of its roster document.
pub(crate) fn replace_grid(
    tx: &Transaction<'_>,
    grid: &str,
    households: &[Household],
    residents: &[Resident],
) -> Result<()> {
    tx.execute("DELETE FROM household WHERE grid = ?1", [grid])?;
    tx.execute("DELETE FROM resident WHERE grid = ?1", [grid])?;
    let mut h_stmt = tx.prepare_cached(
        "INSERT OR REPLACE INTO household (household_code, grid, building, unit, floor, room, moved_out)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for h in households {
        h_stmt.execute(params![h.household_code, grid, h.building, h.unit, h.floor, h.room, h.moved_out])?;
    }
    let mut r_stmt = tx.prepare_cached(
        "INSERT OR REPLACE INTO resident (household_code, name, grid, gender, birth_year, phone, id_number, tags, notes, moved_out)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for r in residents {
        r_stmt.execute(params![
            r.household_code,
            r.name,
            grid,
            r.gender,
            r.birth_year,
            r.phone,
            r.id_number,
            r.tags.join(";"),
            r.notes,
            r.moved_out
        ])?;
    }
    Ok(())
}

/// Replaces the households of one building of a grid and their residents (a building lead's store, from the
/// building's projection): the grid's other buildings are left alone.
pub(crate) fn replace_building(
    tx: &Transaction<'_>,
    grid: &str,
    building: &str,
    households: &[Household],
    residents: &[Resident],
) -> Result<()> {
    tx.execute(
        "DELETE FROM resident WHERE grid = ?1 AND household_code IN
           (SELECT household_code FROM household WHERE grid = ?1 AND building = ?2)",
        params![grid, building],
    )?;
    tx.execute("DELETE FROM household WHERE grid = ?1 AND building = ?2", params![grid, building])?;
    let mut h_stmt = tx.prepare_cached(
        "INSERT OR REPLACE INTO household (household_code, grid, building, unit, floor, room, moved_out)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for h in households.iter().filter(|h| h.building == building) {
        h_stmt.execute(params![h.household_code, grid, h.building, h.unit, h.floor, h.room, h.moved_out])?;
    }
    let codes: std::collections::HashSet<&str> =
        households.iter().filter(|h| h.building == building).map(|h| h.household_code.as_str()).collect();
    let mut r_stmt = tx.prepare_cached(
        "INSERT OR REPLACE INTO resident (household_code, name, grid, gender, birth_year, phone, id_number, tags, notes, moved_out)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for r in residents.iter().filter(|r| codes.contains(r.household_code.as_str())) {
        r_stmt.execute(params![
            r.household_code,
            r.name,
            grid,
            r.gender,
            r.birth_year,
            r.phone,
            r.id_number,
            r.tags.join(";"),
            r.notes,
            r.moved_out
        ])?;
    }
    Ok(())
}

/// The building of a household, if the store holds it.
pub(crate) fn household_building(conn: &Connection, household: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT building FROM household WHERE household_code = ?1", [household], |r| r.get(0))
        .optional()?)
}

/// Records a contact of `level` on `day` for a household (`resident` empty) or one resident, keeping the
/// latest day.
pub(crate) fn record_contact(
    tx: &Transaction<'_>,
    household: &str,
    resident: &str,
    level: i64,
    day: NaiveDate,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO last_contact (household_code, resident, level, day) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (household_code, resident, level) DO UPDATE SET day = max(day, excluded.day)",
    )?
    .execute(params![household, resident, level, day_text(day)])?;
    Ok(())
}

/// One household, `None` when the roster has no such code.
pub(crate) fn household(conn: &Connection, code: &str) -> Result<Option<Household>> {
    Ok(conn
        .query_row(
            &format!("SELECT {HOUSEHOLD_COLUMNS} FROM household WHERE household_code = ?1"),
            [code],
            household_from_row,
        )
        .optional()?)
}

/// Every current household (not moved out), of every grid.
pub(crate) fn current_households(conn: &Connection) -> Result<Vec<Household>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {HOUSEHOLD_COLUMNS} FROM household WHERE moved_out = 0"))?;
    let rows = stmt.query_map([], household_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Current households of one grid (`None`: every grid).
pub(crate) fn current_households_in(conn: &Connection, grid: Option<&str>) -> Result<Vec<Household>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {HOUSEHOLD_COLUMNS} FROM household WHERE moved_out = 0 AND {}",
        grid_filter("grid", grid)
    ))?;
    let rows = stmt.query_map(params![grid], household_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The grids with at least one current household.
pub(crate) fn grids_with_households(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT DISTINCT grid FROM household WHERE moved_out = 0")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Current residents of one grid.
pub(crate) fn current_residents_in(conn: &Connection, grid: &str) -> Result<Vec<Resident>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {RESIDENT_COLUMNS} FROM resident WHERE moved_out = 0 AND grid = ?1"))?;
    let rows = stmt.query_map(params![grid], resident_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Residents of a household (moved-out last, by name), or every current resident when `household` is `None`.
pub(crate) fn residents(conn: &Connection, household: Option<&str>) -> Result<Vec<Resident>> {
    let sql = match household {
        Some(_) => {
            format!("SELECT {RESIDENT_COLUMNS} FROM resident WHERE household_code = ?1 ORDER BY moved_out, name")
        }
        None => format!("SELECT {RESIDENT_COLUMNS} FROM resident WHERE moved_out = 0 AND ?1 IS NULL"),
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![household], resident_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Current residents with special-care tags in one grid (`None`: every grid).
pub(crate) fn tagged_residents_in(conn: &Connection, grid: Option<&str>) -> Result<Vec<Resident>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RESIDENT_COLUMNS} FROM resident WHERE moved_out = 0 AND tags != '' AND {}",
        grid_filter("grid", grid)
    ))?;
    let rows = stmt.query_map(params![grid], resident_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The `last_contact` rows of one household, or of all when `household` is `None`.
pub(crate) fn last_contacts(conn: &Connection, household: Option<&str>) -> Result<Vec<ContactRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT household_code, resident, level, day FROM last_contact WHERE ?1 IS NULL OR household_code = ?1",
    )?;
    let rows = stmt.query_map(params![household], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The `last_contact` rows of the households of one grid (`None`: every grid).
pub(crate) fn last_contacts_in(conn: &Connection, grid: Option<&str>) -> Result<Vec<ContactRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT c.household_code, c.resident, c.level, c.day FROM household h
         JOIN last_contact c ON c.household_code = h.household_code WHERE {}",
        grid_filter("h.grid", grid)
    ))?;
    let rows = stmt.query_map(params![grid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
