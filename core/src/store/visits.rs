//! Home visits on the device store: recording a visit, the social worker's "visits due" list and the monthly
//! assessment per social worker. Lists read the materialised tables only; the rules are in `schedule.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use serde::Serialize;

use super::db::columns::parse_day;
use super::db::{checkins, roster, visits};
use super::{index, too_long, Store, MAX_NOTE_CHARS};
use crate::docs::{self, split_list, DocId};
use crate::error::{Error, Result};
use crate::model::{Household, NewVisit, Resident, Visit, VisitKind, SATISFACTION_RANGE};
use crate::schedule::{self, CareTally, ContactHistory, DatedContact, DueContact, FollowUp, Month};

/// Longest visit accepted, in minutes (a day of accompanying a resident to hospital).
pub const MAX_VISIT_MINUTES: u32 = 24 * 60;
/// Most residents named on one visit.
pub const MAX_VISIT_RESIDENTS: usize = 20;
/// Furthest ahead a follow-up may be set, in days.
pub const MAX_FOLLOW_UP_DAYS: u64 = 366;

/// One item of a social worker's "visits due" list (PRODUCT.md §9 `visits due`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct VisitDueItem {
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
    /// The resident it is for (`None`: a follow-up for the whole household).
    pub resident: Option<String>,
    /// Phone, door or home.
    pub contact: DueContact,
    /// The special-care tag asking for it (`None` for follow-ups).
    pub tag: Option<String>,
    /// Due day.
    pub due_date: NaiveDate,
    /// Days overdue.
    pub overdue_days: u32,
    /// True when a visit's follow-up date asks for it.
    pub follow_up: bool,
}

/// The visits due on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct VisitsDue {
    /// The day, in the community's time zone.
    pub date: NaiveDate,
    /// Most overdue first, then in walking order.
    pub items: Vec<VisitDueItem>,
}

/// Special-care contacts done vs required.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ContactsDone {
    /// Periods required (see `schedule::assessment_periods`).
    pub required: u32,
    /// Periods satisfied.
    pub done: u32,
    /// done / required (1.0 when nothing was required).
    pub rate: f64,
}

impl Default for ContactsDone {
    fn default() -> Self {
        ContactsDone { required: 0, done: 0, rate: 1.0 }
    }
}

impl ContactsDone {
    /// Adds one tally.
    pub fn add(&mut self, t: &CareTally) {
        self.required += t.required;
        self.done += t.done;
        self.rate = rate(self.done, self.required);
    }
}

/// `part / whole` rounded to 4 places; 1.0 when `whole` is 0 (nothing was asked for, nothing is missing).
pub fn rate(part: u32, whole: u32) -> f64 {
    if whole == 0 {
        return 1.0;
    }
    (f64::from(part) / f64::from(whole) * 10_000.0).round() / 10_000.0
}

/// A social worker's monthly assessment figures (`report worker`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerReport {
    /// `YYYY-MM`.
    pub month: String,
    /// The social worker (author of the visits and check-ins counted).
    pub user: String,
    /// Grids assessed (the device's scope, or the one asked for).
    pub grids: Vec<String>,
    /// Visits the worker recorded in the month.
    pub visits: u32,
    /// Those visits by kind code (every kind present, zeros included).
    pub visits_by_kind: BTreeMap<String, u32>,
    /// Home visits among them: visits whose contact is a home visit (月访视, and accompanying a resident,
    /// which counts as one; see `VisitKind::contact`).
    pub home_visits: u32,
    /// Home visits a social worker owes a month ([`schedule::HOME_VISITS_PER_MONTH`], 包片联户).
    pub home_visit_target: u32,
    /// True when `home_visits` reached `home_visit_target`.
    pub home_visit_target_met: bool,
    /// Services delivered on those visits (one per service code per visit).
    pub services_delivered: u32,
    /// Special-care contacts: required of the residents in the grids, done by this worker.
    pub special_care: ContactsDone,
    /// Special-care residents in the grids.
    pub special_care_residents: u32,
    /// Of those, residents overdue at the end of the month (or today for the month in progress), counting
    /// everybody's contacts (see `schedule::resident_overdue`).
    pub residents_overdue: u32,
    /// Average resident satisfaction over the worker's visits that carry one (`None`: none did).
    pub average_satisfaction: Option<f64>,
    /// Visits with a satisfaction score.
    pub satisfaction_count: u32,
}

/// A visit row as the ledger and the assessment read it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VisitRow {
    pub visit_id: String,
    pub grid: String,
    pub household_code: String,
    pub residents: Vec<String>,
    pub kind: String,
    pub at: String,
    pub day: NaiveDate,
    pub duration_min: Option<u32>,
    pub services: Vec<String>,
    pub needs: String,
    pub need_tags: Vec<String>,
    pub follow_up: Option<String>,
    pub satisfaction: Option<u8>,
    pub author: String,
}

impl Store {
    /// Records a visit: appends it to the grid's log of that month and indexes it (visit row, contacts,
    /// follow-up), durably. Services and need tags must be codes of the community's `visit_services`
    /// catalogue; residents must live in the household.
    pub fn record_visit(&mut self, input: NewVisit) -> Result<Visit> {
        let household = self.household_to_record(&input.household_code)?;
        self.check_visit_input(&input)?;
        let at = self.event_time(input.at)?;
        let day = self.day_of(&at);
        if let Some(f) = input.follow_up {
            if f <= day || f > day + chrono::Days::new(MAX_FOLLOW_UP_DAYS) {
                return Err(Error::invalid("follow_up", "the follow-up date must fall within a year after the visit"));
            }
        }
        let mut residents: Vec<String> = Vec::with_capacity(input.residents.len());
        for r in input.residents {
            if !residents.contains(&r) {
                residents.push(r);
            }
        }
        let visit = Visit {
            visit_id: uuid::Uuid::now_v7().to_string(),
            household_code: household.household_code.clone(),
            grid: household.grid.clone(),
            residents,
            kind: input.kind,
            at,
            day,
            duration_min: input.duration_min,
            services: input.services,
            needs: input.needs,
            need_tags: input.need_tags,
            follow_up: input.follow_up,
            satisfaction: input.satisfaction,
            photos: input.photos,
            author: self.device.user.clone(),
            device_id: self.device.device_id.clone(),
        };
        let id = DocId::visit_log(&self.device.community_id, &household.grid, &Month::of(day).code());
        let mut doc = self.checkout(&id)?;
        docs::visit_log::append(&mut doc, &visit)?;
        self.persist(vec![(id, doc)], |tx, _| index::insert_visit(tx, &visit))?;
        Ok(visit)
    }

    fn check_visit_input(&self, input: &NewVisit) -> Result<()> {
        if input.residents.len() > MAX_VISIT_RESIDENTS {
            return Err(Error::invalid("residents", format!("at most {MAX_VISIT_RESIDENTS} residents")));
        }
        let living: BTreeSet<String> =
            self.residents(Some(&input.household_code))?.into_iter().filter(|r| !r.moved_out).map(|r| r.name).collect();
        if let Some(r) = input.residents.iter().find(|r| !living.contains(*r)) {
            return Err(Error::ResidentNotFound { household: input.household_code.clone(), resident: r.clone() });
        }
        for (field, codes) in [("services", &input.services), ("need_tags", &input.need_tags)] {
            if let Some(bad) = codes.iter().find(|c| !self.settings.visit_services.iter().any(|e| e.code == **c)) {
                return Err(Error::UnknownCode { field: field.into(), code: bad.clone() });
            }
        }
        too_long("needs", &input.needs, MAX_NOTE_CHARS)?;
        if input.duration_min.is_some_and(|d| d == 0 || d > MAX_VISIT_MINUTES) {
            return Err(Error::invalid("duration_min", format!("between 1 and {MAX_VISIT_MINUTES} minutes")));
        }
        if input.satisfaction.is_some_and(|n| !SATISFACTION_RANGE.contains(&n)) {
            return Err(Error::invalid("satisfaction", "a score from 1 to 5"));
        }
        self.check_photos(&input.photos)
    }

    /// The grids a query covers: `grid` (which must be in scope), or the device's scope (`None`: every grid).
    pub(crate) fn grids_for(&self, grid: Option<&str>) -> Result<Option<Vec<String>>> {
        match grid {
            Some(g) if !self.in_scope(g) => {
                Err(Error::ActionNotAllowed(format!("grid {g} is outside this device's grids")))
            }
            Some(g) => Ok(Some(vec![g.to_string()])),
            None => Ok(self.device.scope().grid_filter().map(<[String]>::to_vec)),
        }
    }

    /// Runs `f` once per grid of `grids`, or once with `None` (every grid).
    pub(crate) fn per_grid<T>(
        grids: &Option<Vec<String>>,
        mut f: impl FnMut(Option<&str>) -> Result<Vec<T>>,
    ) -> Result<Vec<T>> {
        match grids {
            None => f(None),
            Some(list) => {
                let mut out = Vec::new();
                for g in list {
                    out.extend(f(Some(g))?);
                }
                Ok(out)
            }
        }
    }

    /// Current households of `grids`.
    pub(crate) fn households_of(&self, grids: &Option<Vec<String>>) -> Result<Vec<Household>> {
        Store::per_grid(grids, |g| roster::current_households_in(self.conn(), g))
    }

    /// Current residents with special-care tags in `grids`, by household.
    pub(crate) fn tagged_residents_of(&self, grids: &Option<Vec<String>>) -> Result<HashMap<String, Vec<Resident>>> {
        let list = Store::per_grid(grids, |g| roster::tagged_residents_in(self.conn(), g))?;
        let mut out: HashMap<String, Vec<Resident>> = HashMap::new();
        for r in list {
            out.entry(r.household_code.clone()).or_default().push(r);
        }
        Ok(out)
    }

    fn histories_of(&self, grids: &Option<Vec<String>>) -> Result<HashMap<String, ContactHistory>> {
        let rows = Store::per_grid(grids, |g| roster::last_contacts_in(self.conn(), g))?;
        let mut out: HashMap<String, ContactHistory> = HashMap::new();
        for (code, resident, level, day) in rows {
            let Some(day) = parse_day(&day) else { continue };
            out.entry(code).or_default().record((!resident.is_empty()).then_some(resident.as_str()), level, day);
        }
        Ok(out)
    }

    fn follow_ups_of(&self, grids: &Option<Vec<String>>, date: NaiveDate) -> Result<HashMap<String, Vec<FollowUp>>> {
        let rows = Store::per_grid(grids, |g| visits::follow_ups_due(self.conn(), g, date))?;
        let mut out: HashMap<String, Vec<FollowUp>> = HashMap::new();
        for (code, resident, level, due, set_on) in rows {
            let (Some(due), Some(set_on)) = (parse_day(&due), parse_day(&set_on)) else { continue };
            let Some(contact) = crate::model::ContactKind::ALL.into_iter().find(|k| k.level() == level) else {
                continue;
            };
            let resident = (!resident.is_empty()).then_some(resident);
            out.entry(code).or_default().push(FollowUp { resident, contact, due, set_on });
        }
        Ok(out)
    }

    /// The social worker's "visits due" on `date` (default today) for the device's grids: phone, door and home
    /// contacts per special-care resident, plus open follow-ups; most overdue first, then walking order.
    pub fn visits_due(&self, date: Option<NaiveDate>) -> Result<VisitsDue> {
        self.visits_due_in(None, date)
    }

    /// [`Store::visits_due`] for one grid in scope (`None`: the device's grids).
    pub fn visits_due_in(&self, grid: Option<&str>, date: Option<NaiveDate>) -> Result<VisitsDue> {
        let date = date.unwrap_or_else(|| self.today());
        let grids = self.grids_for(grid)?;
        let residents = self.tagged_residents_of(&grids)?;
        let follow_ups = self.follow_ups_of(&grids, date)?;
        let histories = self.histories_of(&grids)?;
        let mut households = self.households_of(&grids)?;
        households.retain(|h| residents.contains_key(&h.household_code) || follow_ups.contains_key(&h.household_code));
        households.sort_by(schedule::walking_order);
        let empty = ContactHistory::default();
        let mut items = Vec::new();
        for h in households {
            let rs = residents.get(&h.household_code).map(Vec::as_slice).unwrap_or(&[]);
            let fs = follow_ups.get(&h.household_code).map(Vec::as_slice).unwrap_or(&[]);
            let history = histories.get(&h.household_code).unwrap_or(&empty);
            for r in schedule::residents_due_for_visits(&self.settings, rs, history, fs, date) {
                items.push(VisitDueItem {
                    household_code: h.household_code.clone(),
                    grid: h.grid.clone(),
                    building: h.building.clone(),
                    unit: h.unit.clone(),
                    floor: h.floor,
                    room: h.room.clone(),
                    resident: r.resident,
                    contact: r.contact,
                    tag: r.tag,
                    due_date: r.due_date,
                    overdue_days: r.overdue_days,
                    follow_up: r.follow_up,
                });
            }
        }
        // Stable: walking order is kept among items equally overdue.
        items.sort_by_key(|i| std::cmp::Reverse(i.overdue_days));
        Ok(VisitsDue { date, items })
    }

    /// Visits of `grids` in `month`, oldest first.
    pub(crate) fn visits_in_month(&self, grids: &Option<Vec<String>>, month: &Month) -> Result<Vec<VisitRow>> {
        let mut out = Store::per_grid(grids, |g| visits::in_month(self.conn(), g, month))?;
        out.sort_by(|a, b| (a.day, &a.at, &a.visit_id).cmp(&(b.day, &b.at, &b.visit_id)));
        Ok(out)
    }

    /// Care-plan contacts (check-ins other than `absent`/`observed`, and `visits`) of `grids` in `month`
    /// recorded by `author`, by household.
    pub(crate) fn contacts_in_month(
        &self,
        grids: &Option<Vec<String>>,
        month: &Month,
        visits: &[VisitRow],
        author: &str,
    ) -> Result<HashMap<String, Vec<DatedContact>>> {
        let rows = Store::per_grid(grids, |g| checkins::door_and_phone_in_month(self.conn(), g, month, author))?;
        let mut out: HashMap<String, Vec<DatedContact>> = HashMap::new();
        for (code, kind, day) in rows {
            let (Some(day), Ok(kind)) = (parse_day(&day), kind.parse::<crate::model::CheckInKind>()) else { continue };
            let Some(contact) = kind.contact() else { continue };
            out.entry(code).or_default().push(DatedContact { resident: None, level: contact.level(), day });
        }
        add_visit_contacts(&mut out, visits);
        Ok(out)
    }

    /// Contact histories of `grids` as they stood at the end of `until` (from the check-in and visit tables,
    /// so that a past month is judged by what was known then).
    pub(crate) fn histories_until(
        &self,
        grids: &Option<Vec<String>>,
        until: NaiveDate,
    ) -> Result<HashMap<String, ContactHistory>> {
        let rows = Store::per_grid(grids, |g| visits::latest_contacts_until(self.conn(), g, until))?;
        let mut out: HashMap<String, ContactHistory> = HashMap::new();
        for (source, code, residents, kind, day) in rows {
            let Some(day) = parse_day(&day) else { continue };
            let level = if source == "visit" {
                let Ok(v) = kind.parse::<VisitKind>() else { continue };
                v.contact().level()
            } else {
                let Ok(c) = kind.parse::<crate::model::CheckInKind>() else { continue };
                c.contact().map_or(schedule::LEVEL_SEEN, |k| k.level())
            };
            let history = out.entry(code).or_default();
            let names = split_list(&residents);
            if names.is_empty() {
                history.record(None, level, day);
            }
            for n in &names {
                history.record(Some(n), level, day);
            }
        }
        Ok(out)
    }

    /// The day a month is assessed up to: its last day, or today while it is in progress.
    pub(crate) fn cut_off(&self, month: &Month) -> NaiveDate {
        month.last().min(self.today())
    }

    /// A social worker's monthly assessment (`report worker`): visits by kind, home visits against the monthly
    /// target, special-care contacts done vs required, residents overdue at month end, average satisfaction.
    /// `user` defaults to this device's user; `grid` to the device's grids.
    pub fn worker_report(&self, month: &Month, user: Option<&str>, grid: Option<&str>) -> Result<WorkerReport> {
        let user = user.unwrap_or(&self.device.user).to_string();
        let grids = self.grids_for(grid)?;
        self.worker_report_over(month, user, grids)
    }

    /// [`Store::worker_report`] of `user` over several grids at once (the grids a social worker's phone is
    /// enrolled for, 包片): every grid must be in scope; none means the device's grids.
    pub fn worker_report_in(&self, month: &Month, user: &str, grids: &[String]) -> Result<WorkerReport> {
        if grids.is_empty() {
            return self.worker_report(month, Some(user), None);
        }
        let mut list = Vec::with_capacity(grids.len());
        for g in grids {
            if let Some(mut one) = self.grids_for(Some(g))? {
                list.append(&mut one);
            }
        }
        list.sort();
        list.dedup();
        self.worker_report_over(month, user.to_string(), Some(list))
    }

    fn worker_report_over(&self, month: &Month, user: String, grids: Option<Vec<String>>) -> Result<WorkerReport> {
        let until = self.cut_off(month);
        let all_visits = self.visits_in_month(&grids, month)?;
        let visits: Vec<VisitRow> = all_visits.into_iter().filter(|v| v.author == user).collect();
        let mut by_kind: BTreeMap<String, u32> = VisitKind::ALL.iter().map(|k| (k.code().to_string(), 0)).collect();
        for v in &visits {
            *by_kind.entry(v.kind.clone()).or_default() += 1;
        }
        let home_visits = visits
            .iter()
            .filter(|v| v.kind.parse::<VisitKind>().is_ok_and(|k| k.contact() == crate::model::ContactKind::Home))
            .count() as u32;
        let scores: Vec<u8> = visits.iter().filter_map(|v| v.satisfaction).collect();
        let contacts = self.contacts_in_month(&grids, month, &visits, &user)?;
        let residents = self.tagged_residents_of(&grids)?;
        let histories = self.histories_until(&grids, until)?;
        let (mut special_care, mut in_care, mut overdue) = (ContactsDone::default(), 0, 0);
        let (no_contacts, no_history) = (Vec::new(), ContactHistory::default());
        for (household, rs) in &residents {
            let cs = contacts.get(household).unwrap_or(&no_contacts);
            let history = histories.get(household).unwrap_or(&no_history);
            for r in rs {
                let tallies = schedule::care_tallies(&self.settings, r, cs, month, until);
                if tallies.is_empty() {
                    continue;
                }
                in_care += 1;
                tallies.iter().for_each(|t| special_care.add(t));
                overdue += u32::from(schedule::resident_overdue(&self.settings, r, history, until));
            }
        }
        Ok(WorkerReport {
            month: month.code(),
            user,
            grids: grids.unwrap_or_default(),
            visits: visits.len() as u32,
            visits_by_kind: by_kind,
            home_visits,
            home_visit_target: schedule::HOME_VISITS_PER_MONTH,
            home_visit_target_met: home_visits >= schedule::HOME_VISITS_PER_MONTH,
            services_delivered: visits.iter().map(|v| v.services.len() as u32).sum(),
            special_care,
            special_care_residents: in_care,
            residents_overdue: overdue,
            average_satisfaction: average(&scores),
            satisfaction_count: scores.len() as u32,
        })
    }
}

/// Adds the contacts `visits` made to per-household contact lists.
pub(crate) fn add_visit_contacts(out: &mut HashMap<String, Vec<DatedContact>>, visits: &[VisitRow]) {
    for v in visits {
        let Ok(kind) = v.kind.parse::<VisitKind>() else { continue };
        let level = kind.contact().level();
        let entry = out.entry(v.household_code.clone()).or_default();
        if v.residents.is_empty() {
            entry.push(DatedContact { resident: None, level, day: v.day });
        }
        for r in &v.residents {
            entry.push(DatedContact { resident: Some(r.clone()), level, day: v.day });
        }
    }
}

/// Mean of satisfaction scores, rounded to 2 places (`None` when there are none).
pub fn average(scores: &[u8]) -> Option<f64> {
    if scores.is_empty() {
        return None;
    }
    let sum: u32 = scores.iter().map(|&n| u32::from(n)).sum();
    Some((f64::from(sum) / scores.len() as f64 * 100.0).round() / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Home visits are the visits whose contact is a home visit (accompanying counts, a door visit does not),
    /// reported against the monthly target; a report over several grids refuses a grid out of scope.
    #[test]
    fn worker_report_counts_home_visits_against_the_monthly_target() {
        use std::sync::Arc;

        use chrono::{DateTime, Utc};

        use crate::model::{NewVisit, Role};
        use crate::store::InitOptions;

        let dir = tempfile::tempdir().expect("dir");
        let now = DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00").expect("time").with_timezone(&Utc);
        let mut opts = InitOptions::new("李社工", Role::SocialWorker);
        opts.grids = vec!["G01".into(), "G02".into()];
        let mut s = Store::init(dir.path(), &[4u8; 32], opts, Arc::new(crate::clock::FixedClock(now))).expect("init");
        let roster = format!(
            "{}\nG01,1,1,3,301,H001,王秀英,F,1942,,,elderly_alone,\nG02,1,1,1,101,H002,李四,M,1960,,,,\n",
            crate::roster_csv::ROSTER_HEADER
        );
        s.import_roster(roster.as_bytes()).expect("roster");
        let visit = |household: &str, kind: VisitKind| NewVisit {
            household_code: household.into(),
            residents: vec![],
            kind,
            at: None,
            duration_min: None,
            services: vec![],
            needs: String::new(),
            need_tags: vec![],
            follow_up: None,
            satisfaction: None,
            photos: vec![],
        };
        for (h, k) in [("H001", VisitKind::Home), ("H001", VisitKind::Door), ("H002", VisitKind::Accompany)] {
            s.record_visit(visit(h, k)).expect("visit");
        }
        let month = Month::parse("2026-11").expect("month");
        let both = s.worker_report_in(&month, "李社工", &["G02".into(), "G01".into()]).expect("report");
        assert_eq!((both.visits, both.home_visits), (3, 2));
        assert_eq!((both.home_visit_target, both.home_visit_target_met), (schedule::HOME_VISITS_PER_MONTH, false));
        assert_eq!(both.grids, ["G01", "G02"]);
        let one = s.worker_report_in(&month, "李社工", &["G02".into()]).expect("G02");
        assert_eq!((one.visits, one.home_visits, one.special_care_residents), (1, 1, 0));
        assert!(s.worker_report_in(&month, "李社工", &["G03".into()]).is_err(), "G03 is out of scope");
    }

    #[test]
    fn rate_and_average_math() {
        assert_eq!(rate(0, 0), 1.0);
        assert_eq!(rate(1, 3), 0.3333);
        assert_eq!(rate(2, 2), 1.0);
        assert_eq!(average(&[]), None);
        assert_eq!(average(&[5, 4, 4]), Some(4.33));
    }
}
