//! The roster document of one grid: households at `household/<code>`, residents at
//! `resident/<household>/<name>`. Residents and households that leave the ledger are marked moved out,
//! never deleted: their history stays readable. A roster holds thousands of entities, so fields that the
//! key or the document already say (grid, household) are not repeated and default values are not written.

use std::collections::{BTreeMap, HashSet};

use automerge::AutoCommit;
use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;

use super::{
    entities, entity_records, flag, get_entity, i, label, list, ne, os, put_entity, s, Claims, Entity, Fields, Record,
    RecordKind,
};
use crate::error::{Error, Result};
use crate::model::roster::resident_key;
use crate::model::{CommunitySettings, Household, Resident};
use crate::roster_csv::{self, RosterError, RosterRow};

/// Root-key prefix of households: `household/<code>`.
pub const HOUSEHOLD_PREFIX: &str = "household/";
/// Root-key prefix of residents: `resident/<household>/<name>`.
pub const RESIDENT_PREFIX: &str = "resident/";

/// The root key of household `code`.
pub fn household_key(code: &str) -> String {
    format!("{HOUSEHOLD_PREFIX}{code}")
}

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
    entities(doc, HOUSEHOLD_PREFIX).map(|(code, e)| household_from(code, grid, &e)).collect()
}

/// Every resident of the roster document.
pub fn residents(doc: &AutoCommit) -> Vec<Resident> {
    entities(doc, RESIDENT_PREFIX).map(|(key, e)| resident_from(&key, &e)).collect()
}

/// True when the roster holds household `code` (moved out or not: records made before a move stay valid).
pub fn has_household(doc: &AutoCommit, code: &str) -> bool {
    get_entity(doc, &household_key(code)).is_some()
}

/// Every household and resident of the roster as a record: a resident claims its household (the key's
/// first part); the grid is the document's.
pub fn records(doc: &AutoCommit) -> Vec<Record> {
    let mut out = entity_records(doc, HOUSEHOLD_PREFIX, RecordKind::Household, |code, _| {
        (label("household", code), Claims::default())
    });
    out.extend(entity_records(doc, RESIDENT_PREFIX, RecordKind::Resident, |key, _| {
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
    put_entity(doc, &household_key(&h.household_code), &household_fields(h))
}

/// Writes one resident. Returns whether anything changed.
pub fn put_resident(doc: &mut AutoCommit, r: &Resident) -> Result<bool> {
    put_entity(doc, &format!("{RESIDENT_PREFIX}{}", r.key()), &resident_fields(r))
}

fn count(c: &mut ImportCounts, existed: bool, changed: bool) {
    match (existed, changed) {
        (false, _) => c.added += 1,
        (true, true) => c.updated += 1,
        (true, false) => {}
    }
}

/// A validated roster file (PRODUCT.md §7) for one community, ready to apply: the one roster import of the
/// device store and the server's admin command, which each keep their own storage and transaction.
#[derive(Debug, Clone)]
pub struct RosterImport {
    /// Rows in file order.
    rows: Vec<RosterRow>,
}

impl RosterImport {
    /// Parses and validates a roster file for a community: birth years up to the year of the community's
    /// local date at `now` (not UTC's: on 31 December evening in UTC it is already next year in Shanghai),
    /// category tags from its configuration. The first malformed row rejects the file.
    pub fn parse(
        bytes: &[u8],
        settings: &CommunitySettings,
        now: DateTime<Utc>,
    ) -> std::result::Result<RosterImport, RosterError> {
        let this_year = now.with_timezone(&settings.tz()).year();
        let rows = roster_csv::parse_roster_csv(bytes, this_year, &|t| settings.category(t).is_some())?;
        Ok(RosterImport { rows })
    }

    /// Refuses the file at the first row (in file order) whose grid `covers` does not accept.
    pub fn check_grids(&self, covers: impl Fn(&str) -> bool) -> std::result::Result<(), RosterError> {
        match self.rows.iter().find(|row| !covers(&row.grid_code)) {
            Some(row) => Err(RosterError {
                line: row.line,
                reason: format!("grid {:?} is outside this device's grids", row.grid_code),
            }),
            None => Ok(()),
        }
    }

    /// The grids the file names, sorted: the order [`RosterImport::apply`] takes their roster documents in.
    pub fn grids(&self) -> Vec<&str> {
        self.by_grid().into_keys().collect()
    }

    fn by_grid(&self) -> BTreeMap<&str, Vec<&RosterRow>> {
        let mut by_grid: BTreeMap<&str, Vec<&RosterRow>> = BTreeMap::new();
        for row in &self.rows {
            by_grid.entry(row.grid_code.as_str()).or_default().push(row);
        }
        by_grid
    }

    /// Registers every grid of the file in the community document and applies each grid's rows to its roster
    /// document (`rosters`, one per grid in the order of [`RosterImport::grids`]).
    pub fn apply(&self, community: &mut AutoCommit, rosters: &mut [AutoCommit]) -> Result<ImportSummary> {
        let by_grid = self.by_grid();
        if rosters.len() != by_grid.len() {
            return Err(Error::invalid(
                "rosters",
                format!("{} roster documents for {} grids", rosters.len(), by_grid.len()),
            ));
        }
        let mut summary = ImportSummary::default();
        for ((grid, rows), doc) in by_grid.iter().zip(rosters) {
            super::community::put_grid(community, grid, grid)?;
            summary.add(&apply_import(doc, grid, rows)?);
        }
        Ok(summary)
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

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::docs::{new_document, DocId};
    use crate::roster_csv::ROSTER_HEADER;

    /// 2026-12-31 17:00 UTC: already 2027-01-01 01:00 in Shanghai.
    fn new_years_night() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 31, 17, 0, 0).single().expect("valid time")
    }

    fn born_in(year: u16) -> String {
        format!("{ROSTER_HEADER}\nA,1,1,1,101,A001,新生,F,{year},,,,\nB,2,1,1,101,B001,居民,M,1950,,,,\n")
    }

    #[test]
    fn the_birth_year_bound_is_the_year_of_the_communitys_local_date() {
        let shanghai = CommunitySettings::defaults("c1", "", "Asia/Shanghai");
        assert!(RosterImport::parse(born_in(2027).as_bytes(), &shanghai, new_years_night()).is_ok());
        assert!(RosterImport::parse(born_in(2028).as_bytes(), &shanghai, new_years_night()).is_err());
        let utc = CommunitySettings::defaults("c1", "", "UTC");
        let err = RosterImport::parse(born_in(2027).as_bytes(), &utc, new_years_night()).expect_err("2026 in UTC");
        assert_eq!(err.line, 2);
    }

    #[test]
    fn an_import_registers_its_grids_and_fills_one_roster_per_grid() {
        let settings = CommunitySettings::defaults("c1", "", "Asia/Shanghai");
        let import = RosterImport::parse(born_in(2000).as_bytes(), &settings, new_years_night()).expect("parses");
        assert_eq!(import.grids(), ["A", "B"]);
        assert_eq!(import.check_grids(|g| g == "A").map_err(|e| e.line), Err(3));
        let actor = automerge::ActorId::random();
        let mut community = new_document(&DocId::community("c1"), &actor).expect("community");
        let mut rosters: Vec<AutoCommit> = import
            .grids()
            .into_iter()
            .map(|g| new_document(&DocId::roster("c1", g), &actor).expect("roster"))
            .collect();
        let summary = import.apply(&mut community, &mut rosters).expect("applies");
        assert_eq!(summary.households.added, 2);
        assert_eq!(summary.residents.added, 2);
        assert_eq!(households(&rosters[1], "B").len(), 1);
        assert!(import.apply(&mut community, &mut rosters[..1]).is_err());
    }
}
