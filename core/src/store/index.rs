//! Materialisation: the tables the screens read, derived from documents inside the same transaction as the
//! document change. Local writes index just what they add; merged documents from elsewhere are reindexed
//! whole (every write here is an idempotent upsert, so reindexing twice changes nothing). The SQL is in
//! `store::db`; what a record counts as (which contact, which follow-up) is decided here.

use automerge::AutoCommit;
use chrono::NaiveDate;
use rusqlite::Transaction;

use super::db::{checkins, evaluations, roster, visits};
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
                // A grid-level log's key is its day; a building-level log's its day and building key.
                let day = id.day().unwrap_or_default();
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
            DocKind::ServiceOrder => super::orders::index_order(tx, id, doc)?,
            DocKind::Project => super::projects::index_project(tx, id, doc)?,
            DocKind::Survey => {
                for s in docs::survey::surveys(doc, id.year().unwrap_or_default()) {
                    evaluations::insert_survey(tx, &s)?;
                }
            }
            DocKind::DepartmentRating => {
                for r in docs::department::ratings(doc, id.year().unwrap_or_default()) {
                    evaluations::insert_rating(tx, &r)?;
                }
            }
            DocKind::Building => reindex_building(tx, id, doc)?,
            DocKind::Community | DocKind::Points => {}
        }
    }
    Ok(())
}

fn reindex_roster(tx: &Transaction<'_>, id: &DocId, doc: &AutoCommit) -> Result<()> {
    let grid = id.grid.as_deref().unwrap_or_default();
    roster::replace_grid(tx, grid, &docs::roster::households(doc, grid), &docs::roster::residents(doc))
}

/// A building's projection (a building lead's store): its households and residents replace that building's
/// alone (a grid may have several buildings, each with its own projection), and its check-ins and visits are
/// indexed like the logs' own.
fn reindex_building(tx: &Transaction<'_>, id: &DocId, doc: &AutoCommit) -> Result<()> {
    let grid = id.grid.as_deref().unwrap_or_default();
    let Some(name) = docs::building::name(doc) else { return Ok(()) };
    roster::replace_building(tx, grid, &name, &docs::building::households(doc, grid), &docs::building::residents(doc))?;
    for (day, c) in docs::building::check_ins(doc) {
        insert_check_in(tx, &c, day)?;
    }
    for v in docs::building::visits(doc) {
        insert_visit(tx, &v)?;
    }
    Ok(())
}

/// Records a contact of `level` (0 seen, 1 phone, 2 door, 3 home) on `day` for a household (`resident` empty)
/// or one resident, keeping the latest day.
pub fn record_contact(tx: &Transaction<'_>, household: &str, resident: &str, level: i64, day: NaiveDate) -> Result<()> {
    roster::record_contact(tx, household, resident, level, day)
}

/// Indexes one check-in (idempotent): the check-in row and the contact it counts as.
pub fn insert_check_in(tx: &Transaction<'_>, c: &CheckIn, day: NaiveDate) -> Result<()> {
    if !checkins::insert(tx, c, day)? || !c.kind.counts_for_rotation() {
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
    if !visits::insert(tx, v)? {
        return Ok(());
    }
    let level = v.kind.contact().level();
    let whole_household = [String::new()];
    let reached: &[String] = if v.residents.is_empty() { &whole_household } else { &v.residents };
    for resident in reached {
        record_contact(tx, &v.household_code, resident, level, v.day)?;
        if let Some(due) = v.follow_up {
            visits::insert_follow_up(tx, v, resident, level, due)?;
        }
    }
    Ok(())
}
