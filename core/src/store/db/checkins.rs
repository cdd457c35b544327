//! SQL of the `check_in` table: inserting the rows a check-in log's document derives and reading them back.

use rusqlite::{Connection, OptionalExtension};

use crate::error::Result;

/// The grid and day (`%Y-%m-%d`) of a check-in, when it is indexed.
pub(crate) fn grid_and_day(conn: &Connection, check_in_id: &str) -> Result<Option<(String, String)>> {
    Ok(conn
        .query_row("SELECT grid, day FROM check_in WHERE check_in_id = ?1", [check_in_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?)
}
