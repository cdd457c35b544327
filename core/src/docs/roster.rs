//! The roster document of one grid: households at `household/<code>`, residents at
//! `resident/<household>/<name>`. Residents and households that leave the ledger are marked moved out,
//! never deleted: their history stays readable. A roster holds thousands of entities, so fields that the
//! key or the document already say (grid, household) are not repeated and default values are not written.

use std::collections::{BTreeMap, HashSet};

use automerge::AutoCommit;
use serde::Serialize;

use super::{
    entities, entity_records, flag, get_entity, i, label, list, ne, os, put_entity, s, Claims, Entity, Fields, Record,
    RecordKind,
};
use crate::error::Result;
use crate::model::roster::resident_key;
use crate::model::{Household, Resident};
use crate::roster_csv::RosterRow;

/// Added / updated / moved-out counts for one kind of roster record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ImportCounts {
    /// New records.
    pub added: u32,
    /// Records whose fields changed (or that came back after moving out).
    pub updated: u32,
    /// Records no longer in the ledger, now marked moved out.
    pub moved_out: u32,
}

/// What a roster import changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ImportSummary {
    /// Household counts.
    pub households: ImportCounts,
    /// Resident counts.
    pub residents: ImportCounts,
}

impl ImportSummary {
    /// Adds another grid's counts.
    pub fn add(&mut self, other: &ImportSummary) {
        for (a, b) in [(&mut self.households, &other.households), (&mut self.residents, &other.residents)] {
            a.added += b.added;
            a.updated += b.updated;
            a.moved_out += b.moved_out;
        }
    }
}

fn household_fields(h: &Household) -> Fields<'static> {
    vec![
        ("building", s(&h.building)),
        ("unit", s(&h.unit)),
        ("floor", i(h.floor.into())),
        ("room", s(&h.room)),
        ("moved_out", flag(h.moved_out)),
    ]
}

fn resident_fields(r: &Resident) -> Fields<'static> {
    vec![
        ("name", s(&r.name)),
        ("gender", s(&r.gender)),
        ("birth_year", i(r.birth_year.into())),
        ("phone", os(&r.phone)),
        ("id_number", os(&r.id_number)),
        ("tags", list(&r.tags)),
        ("notes", ne(&r.notes)),
        ("moved_out", flag(r.moved_out)),
    ]
}

fn household_from(code: String, grid: &str, e: &Entity) -> Household {
    Household {
        household_code: code,
        grid: grid.to_string(),
        building: e.str("building"),
        unit: e.str("unit"),
        floor: e.opt_i64("floor").and_then(|f| i32::try_from(f).ok()).unwrap_or(0),
        room: e.str("room"),
        moved_out: e.bool("moved_out"),
    }
}

fn resident_from(key: &str, e: &Entity) -> Resident {
    Resident {
        household_code: key.split_once('/').map(|(h, _)| h).unwrap_or_default().to_string(),
        name: e.str("name"),
        gender: e.str("gender"),
        birth_year: e.opt_i64("birth_year").and_then(|y| u16::try_from(y).ok()).unwrap_or(0),
        phone: e.opt_str("phone"),
        id_number: e.opt_str("id_number"),
        tags: e.list("tags"),
        notes: e.str("notes"),
        moved_out: e.bool("moved_out"),
    }
}

/// Every household of the roster document of `grid` (the grid is the document's scope, not a field).
pub fn households(doc: &AutoCommit, grid: &str) -> Vec<Household> {
    entities(doc, "household/").map(|(code, e)| household_from(code, grid, &e)).collect()
}

/// Every resident of the roster document.
pub fn residents(doc: &AutoCommit) -> Vec<Resident> {
    entities(doc, "resident/").map(|(key, e)| resident_from(&key, &e)).collect()
}

/// True when the roster holds household `code` (moved out or not: records made before a move stay valid).
pub fn has_household(doc: &AutoCommit, code: &str) -> bool {
    get_entity(doc, &format!("household/{code}")).is_some()
}

/// Every household and resident of the roster as a record: a resident claims its household (the key's
/// first part); the grid is the document's.
pub fn records(doc: &AutoCommit) -> Vec<Record> {
    let mut out = entity_records(doc, "household/", RecordKind::Household, |code, _| {
        (label("household", code), Claims::default())
    });
    out.extend(entity_records(doc, "resident/", RecordKind::Resident, |key, _| {
        let household = key.split_once('/').map(|(h, _)| h).unwrap_or_default();
        (
            label("a resident of household", household),
            Claims { household: Some(household.to_string()), ..Claims::default() },
        )
    }));
    out
}

/// Writes one household (only differing fields become operations). Returns whether anything changed.
pub fn put_household(doc: &mut AutoCommit, h: &Household) -> Result<bool> {
    put_entity(doc, &format!("household/{}", h.household_code), &household_fields(h))
}

/// Writes one resident. Returns whether anything changed.
pub fn put_resident(doc: &mut AutoCommit, r: &Resident) -> Result<bool> {
    put_entity(doc, &format!("resident/{}", r.key()), &resident_fields(r))
}

fn count(c: &mut ImportCounts, existed: bool, changed: bool) {
    match (existed, changed) {
        (false, _) => c.added += 1,
        (true, true) => c.updated += 1,
        (true, false) => {}
    }
}

/// Applies the rows of one grid from a validated roster file: adds and updates what is in the file, marks
/// moved out what is no longer there. Applying the same rows twice changes nothing.
pub fn apply_import(doc: &mut AutoCommit, grid: &str, rows: &[&RosterRow]) -> Result<ImportSummary> {
    let mut summary = ImportSummary::default();
    let existing_h: BTreeMap<String, Household> =
        households(doc, grid).into_iter().map(|h| (h.household_code.clone(), h)).collect();
    let existing_r: BTreeMap<String, Resident> = residents(doc).into_iter().map(|r| (r.key(), r)).collect();
    let mut seen_h = HashSet::new();
    let mut seen_r = HashSet::new();
    for row in rows {
        if seen_h.insert(row.household_code.clone()) {
            let h = Household {
                household_code: row.household_code.clone(),
                grid: grid.to_string(),
                building: row.building.clone(),
                unit: row.unit.clone(),
                floor: row.floor,
                room: row.room.clone(),
                moved_out: false,
            };
            let existed = existing_h.contains_key(&h.household_code);
            let changed = put_household(doc, &h)?;
            count(&mut summary.households, existed, changed);
        }
        let r = Resident {
            household_code: row.household_code.clone(),
            name: row.resident_name.clone(),
            gender: row.gender.code().to_string(),
            birth_year: row.birth_year,
            phone: row.phone.clone(),
            id_number: row.id_number.clone(),
            tags: row.tags.clone(),
            notes: row.notes.clone(),
            moved_out: false,
        };
        seen_r.insert(resident_key(&r.household_code, &r.name));
        let existed = existing_r.contains_key(&r.key());
        let changed = put_resident(doc, &r)?;
        count(&mut summary.residents, existed, changed);
    }
    for h in existing_h.values().filter(|h| !h.moved_out && !seen_h.contains(&h.household_code)) {
        put_household(doc, &Household { moved_out: true, ..h.clone() })?;
        summary.households.moved_out += 1;
    }
    for (key, r) in existing_r.iter().filter(|(k, r)| !r.moved_out && !seen_r.contains(*k)) {
        let _ = key;
        put_resident(doc, &Resident { moved_out: true, ..r.clone() })?;
        summary.residents.moved_out += 1;
    }
    Ok(summary)
}
