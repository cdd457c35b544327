//! Materialisation: the tables the screens read, derived from documents inside the same transaction as the
//! document change. Local writes index just what they add; merged documents from elsewhere are reindexed
//! whole (every write here is an idempotent upsert, so reindexing twice changes nothing).

use automerge::AutoCommit;
use chrono::NaiveDate;
use rusqlite::{params, Transaction};

use crate::docs::{self, DocId, DocKind};
use crate::error::Result;
use crate::model::{CheckIn, Visit};
use crate::schedule::LEVEL_SEEN;

/// Reindexes every document in `changed` whole.
pub fn reindex(tx: &Transaction<'_>, changed: &[(DocId, AutoCommit)]) -> Result<()> {
    // Read once per batch, not once per incident: a sync can merge hundreds of incident documents.
    let mut policy = None;
    for (id, doc) in changed {
        match id.kind {
            DocKind::Roster => reindex_roster(tx, id, doc)?,
            DocKind::CheckInLog => {
                let day = NaiveDate::parse_from_str(id.key.as_deref().unwrap_or_default(), crate::model::DAY_FORMAT)
                    .unwrap_or_default();
                for c in docs::checkin_log::check_ins(doc) {
                    insert_check_in(tx, &c, day)?;
                }
            }
            DocKind::VisitLog => {
                for v in docs::visit_log::visits(doc) {
                    insert_visit(tx, &v)?;
                }
            }
            DocKind::Incident => {
                if policy.is_none() {
                    policy = Some(super::incidents::policy(tx)?);
                }
                super::incidents::index_incident(tx, id, doc, policy.as_ref().unwrap_or(&Default::default()))?
            }
            DocKind::Community => {}
        }
    }
    Ok(())
}

fn reindex_roster(tx: &Transaction<'_>, id: &DocId, doc: &AutoCommit) -> Result<()> {
    let grid = id.grid.as_deref().unwrap_or_default();
    tx.execute("DELETE FROM household WHERE grid = ?1", [grid])?;
    tx.execute("DELETE FROM resident WHERE grid = ?1", [grid])?;
    let mut h_stmt = tx.prepare_cached(
        "INSERT OR REPLACE INTO household (household_code, grid, building, unit, floor, room, moved_out)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for h in docs::roster::households(doc, grid) {
        h_stmt.execute(params![h.household_code, grid, h.building, h.unit, h.floor, h.room, h.moved_out])?;
    }
    let mut r_stmt = tx.prepare_cached(
        "INSERT OR REPLACE INTO resident (household_code, name, grid, gender, birth_year, phone, id_number, tags, notes, moved_out)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for r in docs::roster::residents(doc) {
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

/// Records a contact of `level` (0 seen, 1 phone, 2 door, 3 home) on `day` for a household (`resident` empty)
/// or one resident, keeping the latest day.
pub fn record_contact(tx: &Transaction<'_>, household: &str, resident: &str, level: i64, day: NaiveDate) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO last_contact (household_code, resident, level, day) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (household_code, resident, level) DO UPDATE SET day = max(day, excluded.day)",
    )?
    .execute(params![household, resident, level, day.to_string()])?;
    Ok(())
}

/// Indexes one check-in (idempotent): the check-in row and the contact it counts as.
pub fn insert_check_in(tx: &Transaction<'_>, c: &CheckIn, day: NaiveDate) -> Result<()> {
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
    if inserted == 0 || !c.kind.counts_for_rotation() {
        return Ok(());
    }
    let level = c.kind.contact().map(|k| k.level()).unwrap_or(LEVEL_SEEN);
    record_contact(tx, &c.household_code, "", level, day)
}

/// Indexes one visit (idempotent): the visit row, the contacts it counts as and the follow-up it asks for.
///
/// A visit is a contact at the level of its kind — `home` 3, `door` 2, `phone` 1, and `accompany` counts as a
/// home visit (3), see [`crate::model::VisitKind::contact`] — recorded for each listed resident, or for the
/// whole household when none is listed. Rounds and visits due therefore read one contact history.
pub fn insert_visit(tx: &Transaction<'_>, v: &Visit) -> Result<()> {
    let day = v.day.to_string();
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
            day,
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
    if inserted == 0 {
        return Ok(());
    }
    let level = v.kind.contact().level();
    let whole_household = [String::new()];
    let reached: &[String] = if v.residents.is_empty() { &whole_household } else { &v.residents };
    for resident in reached {
        record_contact(tx, &v.household_code, resident, level, v.day)?;
        if let Some(due) = v.follow_up {
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
                day
            ])?;
        }
    }
    Ok(())
}
