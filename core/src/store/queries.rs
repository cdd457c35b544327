//! Read queries over the materialised tables: today's rounds and household detail. Nothing here loads a
//! document.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::Serialize;

use super::db::columns::parse_day;
use super::db::{checkins, roster};
use super::Store;
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

impl Store {
    /// One household from the roster tables.
    pub fn household_row(&self, code: &str) -> Result<Household> {
        roster::household(self.conn(), code)?.ok_or_else(|| Error::HouseholdNotFound(code.to_string()))
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
        let mut out = roster::current_households(self.conn())?;
        out.retain(|h| self.in_scope(&h.grid));
        Ok(out)
    }

    /// The grids in this device's scope that have current households, in natural order (G2 before G10).
    pub fn grid_codes(&self) -> Result<Vec<String>> {
        let mut grids = roster::grids_with_households(self.conn())?;
        grids.retain(|g| self.in_scope(g));
        grids.sort_by(|a, b| schedule::natural_cmp(a, b));
        Ok(grids)
    }

    /// Current households of one grid in scope, in walking order.
    pub fn households_in_grid(&self, grid: &str) -> Result<Vec<Household>> {
        let grids = self.grids_for(Some(grid))?;
        let mut out = self.households_of(&grids)?;
        out.sort_by(schedule::walking_order);
        Ok(out)
    }

    /// Current residents of one grid in scope, by household and name.
    pub fn residents_in_grid(&self, grid: &str) -> Result<Vec<Resident>> {
        self.grids_for(Some(grid))?;
        let mut out = roster::current_residents_in(self.conn(), grid)?;
        out.sort_by(|a, b| (&a.household_code, &a.name).cmp(&(&b.household_code, &b.name)));
        Ok(out)
    }

    /// Current special-care residents (with at least one tag) of one grid in scope, or of the whole scope
    /// when `grid` is `None`: by household and name.
    pub fn special_care_residents(&self, grid: Option<&str>) -> Result<Vec<Resident>> {
        let grids = self.grids_for(grid)?;
        let mut out: Vec<Resident> = self.tagged_residents_of(&grids)?.into_values().flatten().collect();
        out.sort_by(|a, b| (&a.household_code, &a.name).cmp(&(&b.household_code, &b.name)));
        Ok(out)
    }

    /// Residents of a household, or of every household when `household` is `None`.
    pub fn residents(&self, household: Option<&str>) -> Result<Vec<Resident>> {
        roster::residents(self.conn(), household)
    }

    /// Contact histories per household (from the `last_contact` table), for `household` or all.
    pub fn contact_histories(&self, household: Option<&str>) -> Result<HashMap<String, ContactHistory>> {
        let mut out: HashMap<String, ContactHistory> = HashMap::new();
        for (code, resident, level, day) in roster::last_contacts(self.conn(), household)? {
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
        let check_ins = checkins::recent_for_household(self.conn(), code)?;
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

    const ROWS: &str = "G01,1,1,3,301,H001,王秀英,F,1942,,,elderly_alone,\n\
                        G01,1,1,1,101,H002,李四,M,1960,,,,\n";

    fn store(dir: &tempfile::TempDir) -> Store {
        let now = DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00").expect("time").with_timezone(&Utc);
        let mut opts = InitOptions::new("王网格长", Role::GridLeader);
        opts.grids = vec!["G01".into()];
        let mut s = Store::init(dir.path(), &[3u8; 32], opts, Arc::new(FixedClock(now))).expect("init");
        s.import_roster(format!("{}\n{ROWS}", crate::roster_csv::ROSTER_HEADER).as_bytes()).expect("roster");
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

    /// The roster reads of one grid: its households in walking order, its current residents, its special-care
    /// residents; the grid list in natural order; a grid outside the device's scope is refused.
    #[test]
    fn roster_reads_by_grid() {
        let dir = tempfile::tempdir().expect("dir");
        let s = store(&dir);
        assert_eq!(s.grid_codes().expect("grids"), ["G01"]);
        let codes: Vec<String> =
            s.households_in_grid("G01").expect("households").into_iter().map(|h| h.household_code).collect();
        assert_eq!(codes, ["H002", "H001"], "walking order: floor 1 before floor 3");
        let names: Vec<String> = s.residents_in_grid("G01").expect("residents").into_iter().map(|r| r.name).collect();
        assert_eq!(names, ["王秀英", "李四"]);
        let care = s.special_care_residents(Some("G01")).expect("special care");
        assert_eq!((care.len(), care[0].tags.as_slice()), (1, ["elderly_alone".to_string()].as_slice()));
        assert!(s.residents_in_grid("G02").is_err(), "G02 is outside the grid leader's scope");
        assert!(s.households_in_grid("G02").is_err());
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
