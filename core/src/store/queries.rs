//! Read queries over the materialised tables: today's rounds and household detail. Nothing here loads a
//! document.

use std::collections::HashMap;

use chrono::NaiveDate;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::Store;
use crate::docs::split_list;
use crate::error::{Error, Result};
use crate::model::{ContactKind, Household, Resident};
use crate::schedule::{self, ContactHistory, DueReason};

/// One reason on the rounds (PRODUCT.md §9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RoundsReason {
    /// `phone`, `door`, `home` or `rotation`.
    pub contact: String,
    /// The special-care tag asking for it, if any.
    pub tag: Option<String>,
    /// Due day.
    pub due_date: NaiveDate,
    /// Days overdue.
    pub overdue_days: u32,
}

impl From<&DueReason> for RoundsReason {
    fn from(r: &DueReason) -> Self {
        RoundsReason {
            contact: r.contact.code().to_string(),
            tag: r.tag.clone(),
            due_date: r.due_date,
            overdue_days: r.overdue_days,
        }
    }
}

/// A household on today's rounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RoundsItem {
    /// Household code.
    pub household_code: String,
    /// Grid.
    pub grid: String,
    /// Building.
    pub building: String,
    /// Unit.
    pub unit: String,
    /// Floor.
    pub floor: i32,
    /// Room.
    pub room: String,
    /// Why it is due: care-plan contacts first, then rotation.
    pub reasons: Vec<RoundsReason>,
    /// The most days any reason is overdue.
    pub overdue_days: u32,
    /// The last day anybody saw the household (any contact but `absent`), if ever.
    pub last_contact: Option<NaiveDate>,
}

/// The rounds of one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Rounds {
    /// The day, in the community's time zone.
    pub date: NaiveDate,
    /// Households due: those with care-plan contacts first, then rotation only; each group in walking order.
    pub items: Vec<RoundsItem>,
}

/// A resident as shown in household detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ResidentSummary {
    /// Name.
    pub name: String,
    /// `M` / `F`.
    pub gender: String,
    /// Birth year.
    pub birth_year: u16,
    /// Special-care tags.
    pub tags: Vec<String>,
    /// Moved out of the household.
    pub moved_out: bool,
}

/// A check-in as listed in household detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CheckInSummary {
    /// Check-in id.
    pub check_in_id: String,
    /// Kind code.
    pub kind: String,
    /// Outcome code.
    pub outcome: String,
    /// When (RFC 3339).
    pub at: String,
    /// Note.
    pub note: String,
    /// Who recorded it.
    pub author: String,
    /// Photo hashes.
    pub photos: Vec<String>,
}

/// Everything about one household (PRODUCT.md §9 `household show`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct HouseholdDetail {
    /// Household code.
    pub household_code: String,
    /// Grid.
    pub grid: String,
    /// Building.
    pub building: String,
    /// Unit.
    pub unit: String,
    /// Floor.
    pub floor: i32,
    /// Room.
    pub room: String,
    /// Moved out.
    pub moved_out: bool,
    /// Residents, current first.
    pub residents: Vec<ResidentSummary>,
    /// Most recent check-ins, newest first (at most 20).
    pub check_ins: Vec<CheckInSummary>,
    /// What is due today on the rounds (phone, door, rotation).
    pub due: Vec<RoundsReason>,
    /// Every care-plan contact of every resident with its next due day (home visits included).
    pub care_plan: Vec<DueReason>,
    /// Last day anybody saw the household.
    pub last_contact: Option<NaiveDate>,
}

pub(super) fn household_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Household> {
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

pub(super) fn resident_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Resident> {
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

pub(super) const HOUSEHOLD_COLUMNS: &str = "household_code, grid, building, unit, floor, room, moved_out";
pub(super) const RESIDENT_COLUMNS: &str =
    "household_code, name, gender, birth_year, phone, id_number, tags, notes, moved_out";

/// A day as the tables store it (`YYYY-MM-DD`).
pub(crate) fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, crate::model::DAY_FORMAT).ok()
}

/// A day as the tables store it (`YYYY-MM-DD`).
pub(crate) fn day_text(d: NaiveDate) -> String {
    d.to_string()
}

impl Store {
    /// One household from the roster tables.
    pub fn household_row(&self, code: &str) -> Result<Household> {
        self.conn()
            .query_row(
                &format!("SELECT {HOUSEHOLD_COLUMNS} FROM household WHERE household_code = ?1"),
                [code],
                household_from_row,
            )
            .optional()?
            .ok_or_else(|| Error::HouseholdNotFound(code.to_string()))
    }

    /// One household this device may record work for: `action_not_allowed` when it is in another grid.
    pub(crate) fn household_to_record(&self, code: &str) -> Result<Household> {
        let household = self.household_row(code)?;
        if !self.in_scope(&household.grid) {
            return Err(Error::ActionNotAllowed(format!("household {code} is outside this device's grids")));
        }
        Ok(household)
    }

    /// Current households in this device's scope.
    pub fn households_in_scope(&self) -> Result<Vec<Household>> {
        let mut stmt =
            self.conn().prepare_cached(&format!("SELECT {HOUSEHOLD_COLUMNS} FROM household WHERE moved_out = 0"))?;
        let rows = stmt.query_map([], household_from_row)?;
        let mut out = Vec::new();
        for h in rows {
            let h = h?;
            if self.in_scope(&h.grid) {
                out.push(h);
            }
        }
        Ok(out)
    }

    /// Residents of a household, or of every household when `household` is `None`.
    pub fn residents(&self, household: Option<&str>) -> Result<Vec<Resident>> {
        let sql = match household {
            Some(_) => {
                format!("SELECT {RESIDENT_COLUMNS} FROM resident WHERE household_code = ?1 ORDER BY moved_out, name")
            }
            None => format!("SELECT {RESIDENT_COLUMNS} FROM resident WHERE moved_out = 0 AND ?1 IS NULL"),
        };
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(params![household], resident_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Contact histories per household (from the `last_contact` table), for `household` or all.
    pub fn contact_histories(&self, household: Option<&str>) -> Result<HashMap<String, ContactHistory>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT household_code, resident, level, day FROM last_contact WHERE ?1 IS NULL OR household_code = ?1",
        )?;
        let mut rows = stmt.query(params![household])?;
        let mut out: HashMap<String, ContactHistory> = HashMap::new();
        while let Some(r) = rows.next()? {
            let (code, resident, level, day): (String, String, i64, String) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
            let Some(day) = parse_day(&day) else { continue };
            let resident = (!resident.is_empty()).then_some(resident.as_str());
            out.entry(code).or_default().record(resident, level, day);
        }
        Ok(out)
    }

    /// The rounds of `date` (default today): every household in scope with something due, care-plan
    /// households first, then rotation-only, each group in walking order.
    pub fn rounds(&self, date: Option<NaiveDate>) -> Result<Rounds> {
        let date = date.unwrap_or_else(|| self.today());
        let mut households = self.households_in_scope()?;
        households.sort_by(schedule::walking_order);
        let mut residents: HashMap<String, Vec<Resident>> = HashMap::new();
        for r in self.residents(None)? {
            residents.entry(r.household_code.clone()).or_default().push(r);
        }
        let histories = self.contact_histories(None)?;
        let empty = ContactHistory::default();
        let (mut care, mut rotation_only) = (Vec::new(), Vec::new());
        for h in households {
            let history = histories.get(&h.household_code).unwrap_or(&empty);
            let rs = residents.get(&h.household_code).map(Vec::as_slice).unwrap_or(&[]);
            let reasons = schedule::household_due_on_rounds(&self.settings, rs, history, date);
            if reasons.is_empty() {
                continue;
            }
            let item = RoundsItem {
                overdue_days: reasons.iter().map(|r| r.overdue_days).max().unwrap_or(0),
                reasons: reasons.iter().map(RoundsReason::from).collect(),
                last_contact: history.last_seen(),
                household_code: h.household_code,
                grid: h.grid,
                building: h.building,
                unit: h.unit,
                floor: h.floor,
                room: h.room,
            };
            if item.reasons.iter().all(|r| r.contact == "rotation") {
                rotation_only.push(item);
            } else {
                care.push(item);
            }
        }
        care.extend(rotation_only);
        Ok(Rounds { date, items: care })
    }

    /// Everything about one household: residents, recent check-ins, what is due.
    pub fn household_detail(&self, code: &str) -> Result<HouseholdDetail> {
        let h = self.household_row(code)?;
        if !self.in_scope(&h.grid) {
            return Err(Error::HouseholdNotFound(code.to_string()));
        }
        let residents = self.residents(Some(code))?;
        let history = self.contact_histories(Some(code))?.remove(code).unwrap_or_default();
        let date = self.today();
        let due = schedule::household_due_on_rounds(&self.settings, &residents, &history, date);
        let care_plan = residents
            .iter()
            .filter(|r| !r.moved_out)
            .flat_map(|r| schedule::resident_plan(&self.settings, r, &history, &ContactKind::ALL, date))
            .collect();
        let mut stmt = self.conn().prepare_cached(
            "SELECT check_in_id, kind, outcome, at, note, author, photos FROM check_in
             WHERE household_code = ?1 ORDER BY at DESC, check_in_id DESC LIMIT 20",
        )?;
        let check_ins = stmt
            .query_map([code], |r| {
                Ok(CheckInSummary {
                    check_in_id: r.get(0)?,
                    kind: r.get(1)?,
                    outcome: r.get(2)?,
                    at: r.get(3)?,
                    note: r.get(4)?,
                    author: r.get(5)?,
                    photos: split_list(&r.get::<_, String>(6)?),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(HouseholdDetail {
            household_code: h.household_code,
            grid: h.grid,
            building: h.building,
            unit: h.unit,
            floor: h.floor,
            room: h.room,
            moved_out: h.moved_out,
            residents: residents
                .into_iter()
                .map(|r| ResidentSummary {
                    name: r.name,
                    gender: r.gender,
                    birth_year: r.birth_year,
                    tags: r.tags,
                    moved_out: r.moved_out,
                })
                .collect(),
            check_ins,
            due: due.iter().map(RoundsReason::from).collect(),
            care_plan,
            last_contact: history.last_seen(),
        })
    }
}
