//! Read queries over the materialised tables: today's rounds and household detail. Nothing here loads a
//! document.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDate};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::Store;
use crate::docs::split_list;
use crate::error::{Error, Result};
use crate::model::{CheckInKind, CheckInOutcome, ContactKind, Household, Resident};
use crate::schedule::{self, ContactHistory, DueContact, DueReason};

/// One reason on the rounds (PRODUCT.md §9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RoundsReason {
    /// Phone, door, home or monthly rotation.
    pub contact: DueContact,
    /// The special-care tag asking for it, if any.
    pub tag: Option<String>,
    /// Due day.
    pub due_date: NaiveDate,
    /// Days overdue.
    pub overdue_days: u32,
}

impl From<&DueReason> for RoundsReason {
    fn from(r: &DueReason) -> Self {
        RoundsReason { contact: r.contact, tag: r.tag.clone(), due_date: r.due_date, overdue_days: r.overdue_days }
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
    /// True when monthly rotation is the only reason (no care-plan contact is due); such households come after
    /// the others on the rounds. Shown by the screens; not part of the CLI's JSON, which lists the reasons.
    #[serde(skip_serializing)]
    pub rotation_only: bool,
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
    /// Kind.
    pub kind: CheckInKind,
    /// Outcome.
    pub outcome: CheckInOutcome,
    /// When, with the offset the device recorded (RFC 3339 in JSON).
    pub at: DateTime<FixedOffset>,
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

/// A column holding a code the store wrote from one of the core's enums, parsed back; a code this build
/// does not know is a conversion error (the tables are written by this build only).
pub(crate) fn code_column<T: std::str::FromStr>(r: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<T> {
    let code: String = r.get(idx)?;
    code.parse().map_err(|_| conversion_error(idx, format!("unknown code {code:?}")))
}

/// A nullable column holding a code, parsed as [`code_column`] does.
pub(crate) fn optional_code_column<T: std::str::FromStr>(
    r: &rusqlite::Row<'_>,
    idx: usize,
) -> rusqlite::Result<Option<T>> {
    let code: Option<String> = r.get(idx)?;
    code.map(|c| c.parse().map_err(|_| conversion_error(idx, format!("unknown code {c:?}")))).transpose()
}

/// A column holding an RFC 3339 time, parsed with its offset.
pub(crate) fn time_column(r: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<DateTime<FixedOffset>> {
    let text: String = r.get(idx)?;
    parse_time(idx, &text)
}

/// A nullable column holding an RFC 3339 time.
pub(crate) fn optional_time_column(
    r: &rusqlite::Row<'_>,
    idx: usize,
) -> rusqlite::Result<Option<DateTime<FixedOffset>>> {
    let text: Option<String> = r.get(idx)?;
    text.map(|t| parse_time(idx, &t)).transpose()
}

fn parse_time(idx: usize, text: &str) -> rusqlite::Result<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text).map_err(|_| conversion_error(idx, format!("{text:?} is not an RFC 3339 time")))
}

fn conversion_error(idx: usize, why: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, why.into())
}

/// A column holding a day (`YYYY-MM-DD`).
pub(crate) fn day_column(r: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<NaiveDate> {
    let text: String = r.get(idx)?;
    parse_day(&text).ok_or_else(|| conversion_error(idx, format!("{text:?} is not a YYYY-MM-DD day")))
}

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
                rotation_only: reasons.iter().all(|r| r.contact == DueContact::Rotation),
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
            if item.rotation_only {
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
                    kind: code_column(r, 1)?,
                    outcome: code_column(r, 2)?,
                    at: time_column(r, 3)?,
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::Utc;

    use super::*;
    use crate::clock::FixedClock;
    use crate::model::{NewCheckIn, Role};
    use crate::store::InitOptions;

    const ROSTER: &str = "grid_code,building,unit,floor,room,household_code,resident_name,gender,birth_year,phone,id_number,tags,notes\n\
                          G01,1,1,3,301,H001,王秀英,F,1942,,,elderly_alone,\n\
                          G01,1,1,1,101,H002,李四,M,1960,,,,\n";

    fn store(dir: &tempfile::TempDir) -> Store {
        let now = DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00").expect("time").with_timezone(&Utc);
        let mut opts = InitOptions::new("王网格长", Role::GridLeader);
        opts.grids = vec!["G01".into()];
        let mut s = Store::init(dir.path(), &[3u8; 32], opts, Arc::new(FixedClock(now))).expect("init");
        s.import_roster(ROSTER.as_bytes()).expect("roster");
        s
    }

    /// `rotation_only` is worked out once here: the household with a care-plan contact due is not rotation-only
    /// and comes first; the one due for monthly rotation alone is, and comes after it.
    #[test]
    fn rounds_mark_rotation_only_households_and_type_their_reasons() {
        let dir = tempfile::tempdir().expect("dir");
        let s = store(&dir);
        let rounds = s.rounds(None).expect("rounds");
        let view: Vec<(&str, bool)> =
            rounds.items.iter().map(|i| (i.household_code.as_str(), i.rotation_only)).collect();
        assert_eq!(view, [("H001", false), ("H002", true)]);
        assert!(rounds.items[0].reasons.iter().any(|r| r.contact != DueContact::Rotation));
        assert!(rounds.items[1].reasons.iter().all(|r| r.contact == DueContact::Rotation));
    }

    /// A check-in reads back with its kind, outcome and time typed, the time with the offset it was recorded in.
    #[test]
    fn household_detail_types_its_check_ins() {
        let dir = tempfile::tempdir().expect("dir");
        let mut s = store(&dir);
        let at = DateTime::parse_from_rfc3339("2026-11-24T08:30:00+08:00").expect("time");
        s.check_in(NewCheckIn {
            household_code: "H002".into(),
            kind: CheckInKind::Phone,
            outcome: CheckInOutcome::Attention,
            note: String::new(),
            photos: Vec::new(),
            location: None,
            at: Some(at),
        })
        .expect("check-in");
        let d = s.household_detail("H002").expect("detail");
        let c = &d.check_ins[0];
        assert_eq!((c.kind, c.outcome, c.at), (CheckInKind::Phone, CheckInOutcome::Attention, at));
        let json = serde_json::to_value(c).expect("json");
        assert_eq!((&json["kind"], &json["at"]), (&"phone".into(), &"2026-11-24T08:30:00+08:00".into()));
    }
}
