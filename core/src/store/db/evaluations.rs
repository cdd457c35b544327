//! SQL of the materialised `survey` and `department_rating` tables: every residents' survey and department
//! rating as recorded, added once (entries are append-only) and read back by year. Which one stands is
//! `evaluation`'s; this file only stores and reads them.

use rusqlite::{params, Connection, Transaction};

use super::columns::time_column;
use crate::error::Result;
use crate::evaluation::{codes_text, parse_codes, parse_scores, scores_text};
use crate::model::{DepartmentRating, Survey};

/// Adds a survey's row (idempotent); true when it was new.
pub(crate) fn insert_survey(tx: &Transaction<'_>, s: &Survey) -> Result<bool> {
    let n = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO survey (survey_id, year, grid, household_code, building, answers, items, visit_id,
               actor, device, role, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?
        .execute(params![
            s.survey_id,
            s.year,
            s.grid,
            s.household_code,
            s.building,
            scores_text(&s.answers),
            codes_text(&s.items),
            s.visit_id,
            s.actor,
            s.device,
            s.role,
            s.at.to_rfc3339()
        ])?;
    Ok(n > 0)
}

/// Adds a department rating's row (idempotent); true when it was new.
pub(crate) fn insert_rating(tx: &Transaction<'_>, r: &DepartmentRating) -> Result<bool> {
    let n = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO department_rating (rating_id, year, department, scores, aspects, actor, device,
               role, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            r.rating_id,
            r.year,
            r.department,
            scores_text(&r.scores),
            codes_text(&r.aspects),
            r.actor,
            r.device,
            r.role,
            r.at.to_rfc3339()
        ])?;
    Ok(n > 0)
}

fn scores_column(r: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Vec<u8>> {
    let text: String = r.get(idx)?;
    parse_scores(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, "scores are not 1 to 5".into())
    })
}

fn codes_column(r: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Vec<String>> {
    let text: String = r.get(idx)?;
    parse_codes(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, "codes are not distinct".into())
    })
}

/// The surveys of `year` in `grid` (`None`: every grid), optionally of one household.
pub(crate) fn surveys(
    conn: &Connection,
    year: u32,
    grid: Option<&str>,
    household: Option<&str>,
) -> Result<Vec<Survey>> {
    let mut stmt = conn.prepare_cached(
        "SELECT survey_id, year, grid, household_code, building, answers, items, visit_id, actor, device, role, at
         FROM survey WHERE year = ?1 AND (?2 IS NULL OR grid = ?2) AND (?3 IS NULL OR household_code = ?3)
         ORDER BY grid, household_code, at, survey_id",
    )?;
    let rows = stmt
        .query_map(params![year, grid, household], |r| {
            Ok(Survey {
                survey_id: r.get(0)?,
                year: r.get(1)?,
                grid: r.get(2)?,
                household_code: r.get(3)?,
                building: r.get(4)?,
                answers: scores_column(r, 5)?,
                items: codes_column(r, 6)?,
                visit_id: r.get(7)?,
                actor: r.get(8)?,
                device: r.get(9)?,
                role: r.get(10)?,
                at: time_column(r, 11)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The department ratings of `year`.
pub(crate) fn ratings(conn: &Connection, year: u32) -> Result<Vec<DepartmentRating>> {
    let mut stmt = conn.prepare_cached(
        "SELECT rating_id, year, department, scores, aspects, actor, device, role, at FROM department_rating
         WHERE year = ?1 ORDER BY department, at, rating_id",
    )?;
    let rows = stmt
        .query_map(params![year], |r| {
            Ok(DepartmentRating {
                rating_id: r.get(0)?,
                year: r.get(1)?,
                department: r.get(2)?,
                scores: scores_column(r, 3)?,
                aspects: codes_column(r, 4)?,
                actor: r.get(5)?,
                device: r.get(6)?,
                role: r.get(7)?,
                at: time_column(r, 8)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
