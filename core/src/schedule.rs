//! What is due, and when: the one module that owns the due-date rules (PRODUCT.md §1).
//!
//! Periods are rolling. A contact is due on (the day of the last contact that satisfies it + period); never
//! satisfied → due today. A more intensive contact satisfies a less intensive one (home ⊇ door ⊇ phone).
//! `observed` check-ins satisfy no care-plan contact but count for rotation; `absent` counts for nothing.
//! Every household is due for rotation when nobody has seen it for `rotation_days` (or ever).
//! Pure functions: the caller passes the date, the history and the plans.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::codes::coded_enum;
use crate::model::{CommunitySettings, ContactKind, Household, Resident};

/// Intensity level meaning "the household was seen, but no care-plan contact" (an `observed` check-in).
pub const LEVEL_SEEN: i64 = 0;

coded_enum! {
    #[codes(field = "contact", name = "due contact", list = false)]
    /// Why something is due.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
    pub enum DueContact {
        /// A phone call is due.
        Phone = "phone",
        /// A door visit is due.
        Door = "door",
        /// A home visit is due.
        Home = "home",
        /// Monthly rotation: nobody has seen the household for the rotation period.
        Rotation = "rotation",
    }
}

impl From<ContactKind> for DueContact {
    fn from(c: ContactKind) -> Self {
        match c {
            ContactKind::Phone => DueContact::Phone,
            ContactKind::Door => DueContact::Door,
            ContactKind::Home => DueContact::Home,
        }
    }
}

/// One reason a household or resident is due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DueReason {
    /// The contact due.
    pub contact: DueContact,
    /// The special-care tag that asks for it (`None` for rotation and follow-ups).
    pub tag: Option<String>,
    /// The resident it is for (`None` for rotation).
    pub resident: Option<String>,
    /// The day it is due.
    pub due_date: NaiveDate,
    /// Whole days past the due date (0 when due today or later).
    pub overdue_days: u32,
    /// True when the reason is a follow-up date set by an earlier visit.
    pub follow_up: bool,
}

/// A follow-up a visit asked for: a contact of at least `contact` due on `due`, settled by any such contact
/// after the day the follow-up was set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    /// Resident it is for (`None`: the whole household).
    pub resident: Option<String>,
    /// Contact asked for.
    pub contact: ContactKind,
    /// Day it is due.
    pub due: NaiveDate,
    /// Day the visit that asked for it took place.
    pub set_on: NaiveDate,
}

/// The latest contact days on record for one household, per resident and intensity level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactHistory {
    /// (resident or `None` for the whole household, level) → latest day.
    latest: BTreeMap<(Option<String>, i64), NaiveDate>,
}

impl ContactHistory {
    /// Records a contact of `level` on `day` (`resident: None` reaches every resident of the household).
    pub fn record(&mut self, resident: Option<&str>, level: i64, day: NaiveDate) {
        let slot = self.latest.entry((resident.map(str::to_string), level)).or_insert(day);
        if day > *slot {
            *slot = day;
        }
    }

    /// The latest day a contact of at least `level` reached `resident`.
    pub fn satisfied(&self, resident: Option<&str>, level: i64) -> Option<NaiveDate> {
        self.latest
            .iter()
            .filter(|((r, l), _)| *l >= level && (r.is_none() || r.as_deref() == resident))
            .map(|(_, d)| *d)
            .max()
    }

    /// The latest day anybody saw the household (any contact but `absent`).
    pub fn last_seen(&self) -> Option<NaiveDate> {
        self.latest.values().copied().max()
    }
}

fn days_between(from: NaiveDate, to: NaiveDate) -> i64 {
    (to - from).num_days()
}

fn reason(
    contact: DueContact,
    tag: Option<&str>,
    resident: Option<&str>,
    due: NaiveDate,
    date: NaiveDate,
) -> DueReason {
    DueReason {
        contact,
        tag: tag.map(str::to_string),
        resident: resident.map(str::to_string),
        due_date: due,
        overdue_days: days_between(due, date).max(0) as u32,
        follow_up: false,
    }
}

/// The care-plan reasons of one resident, each with its next due day (whether or not it is due by `date`),
/// for the contacts in `contacts`. One reason per contact: when several tags ask for the same contact,
/// the earliest due day wins (the first such tag names it).
pub fn resident_plan(
    settings: &CommunitySettings,
    resident: &Resident,
    history: &ContactHistory,
    contacts: &[ContactKind],
    date: NaiveDate,
) -> Vec<DueReason> {
    let mut by_contact: BTreeMap<ContactKind, DueReason> = BTreeMap::new();
    for tag in &resident.tags {
        let Some(category) = settings.category(tag) else { continue };
        for item in category.plan.iter().filter(|p| contacts.contains(&p.contact)) {
            let due = match history.satisfied(Some(&resident.name), item.contact.level()) {
                Some(last) => last + chrono::Days::new(u64::from(item.period_days)),
                None => date,
            };
            let candidate = reason(item.contact.into(), Some(tag), Some(&resident.name), due, date);
            match by_contact.get(&item.contact) {
                Some(existing) if existing.due_date <= due => {}
                _ => {
                    by_contact.insert(item.contact, candidate);
                }
            }
        }
    }
    by_contact.into_values().collect()
}

/// Follow-ups still open, with their due days.
pub fn open_follow_ups(follow_ups: &[FollowUp], history: &ContactHistory, date: NaiveDate) -> Vec<DueReason> {
    follow_ups
        .iter()
        .filter(|f| history.satisfied(f.resident.as_deref(), f.contact.level()).is_none_or(|d| d <= f.set_on))
        .map(|f| DueReason { follow_up: true, ..reason(f.contact.into(), None, f.resident.as_deref(), f.due, date) })
        .collect()
}

/// The rotation reason of a household: due `rotation_days` after it was last seen, or today if never.
pub fn rotation(settings: &CommunitySettings, history: &ContactHistory, date: NaiveDate) -> DueReason {
    let due = match history.last_seen() {
        Some(last) => last + chrono::Days::new(u64::from(settings.rotation_days)),
        None => date,
    };
    reason(DueContact::Rotation, None, None, due, date)
}

/// Everything one household is due for on `date` on a grid leader's rounds: phone and door contacts of its
/// residents (one reason per contact, earliest due first) and rotation. Empty when nothing is due.
pub fn household_due_on_rounds(
    settings: &CommunitySettings,
    residents: &[Resident],
    history: &ContactHistory,
    date: NaiveDate,
) -> Vec<DueReason> {
    let mut per_contact: BTreeMap<DueContact, DueReason> = BTreeMap::new();
    for resident in residents.iter().filter(|r| !r.moved_out) {
        for r in resident_plan(settings, resident, history, &[ContactKind::Phone, ContactKind::Door], date) {
            match per_contact.get(&r.contact) {
                Some(existing) if existing.due_date <= r.due_date => {}
                _ => {
                    per_contact.insert(r.contact, r);
                }
            }
        }
    }
    let mut reasons: Vec<DueReason> = per_contact.into_values().filter(|r| r.due_date <= date).collect();
    let rot = rotation(settings, history, date);
    if rot.due_date <= date {
        reasons.push(rot);
    }
    reasons
}

/// A social worker's due list for one household on `date`: phone, door and home contacts per resident plus
/// open follow-ups, due by `date`.
pub fn residents_due_for_visits(
    settings: &CommunitySettings,
    residents: &[Resident],
    history: &ContactHistory,
    follow_ups: &[FollowUp],
    date: NaiveDate,
) -> Vec<DueReason> {
    let mut out: Vec<DueReason> = residents
        .iter()
        .filter(|r| !r.moved_out)
        .flat_map(|r| resident_plan(settings, r, history, &ContactKind::ALL, date))
        .chain(open_follow_ups(follow_ups, history, date))
        .filter(|r| r.due_date <= date)
        .collect();
    out.sort_by(|a, b| {
        b.overdue_days.cmp(&a.overdue_days).then(a.resident.cmp(&b.resident)).then(a.contact.cmp(&b.contact))
    });
    out
}

/// A calendar month being assessed (the station assesses monthly; the ledger is monthly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Month {
    /// Its first day.
    pub first: NaiveDate,
}

impl Month {
    /// Parses `YYYY-MM`.
    pub fn parse(text: &str) -> crate::Result<Month> {
        let bad = || crate::Error::invalid("month", format!("{text:?} is not a YYYY-MM month"));
        if text.len() != 7 {
            return Err(bad());
        }
        let first = NaiveDate::parse_from_str(&format!("{text}-01"), crate::model::DAY_FORMAT).map_err(|_| bad())?;
        Ok(Month { first })
    }

    /// The month `day` falls in.
    pub fn of(day: NaiveDate) -> Month {
        Month { first: day.with_day(1).unwrap_or(day) }
    }

    /// `YYYY-MM`.
    pub fn code(&self) -> String {
        self.first.format("%Y-%m").to_string()
    }

    /// The first day of the next month.
    pub fn next_first(&self) -> NaiveDate {
        self.first + chrono::Months::new(1)
    }

    /// Its last day.
    pub fn last(&self) -> NaiveDate {
        self.next_first() - chrono::Days::new(1)
    }

    /// Number of days (28–31).
    pub fn days(&self) -> u32 {
        self.last().day()
    }

    /// True when `day` is in the month.
    pub fn contains(&self, day: NaiveDate) -> bool {
        day >= self.first && day < self.next_first()
    }
}

/// Care-plan periods of at least this many days are assessed once per calendar month (月访视: a monthly
/// cadence of 30 rolling days asks for one home visit in a 31-day month, not two).
pub const MONTHLY_PERIOD_DAYS: u32 = 28;

/// Home visits a social worker makes a month under 包片联户 (each social worker looks after the households of
/// their grids and visits at least this many homes a month): the target the monthly assessment reports
/// against. A visit counts when its contact is a home visit (see `VisitKind::contact`).
pub const HOME_VISITS_PER_MONTH: u32 = 30;

/// The assessment periods of a care-plan contact of `period_days` in `month`, as inclusive day ranges.
///
/// The counting rule (the station's monthly assessment and the ledger both use it):
/// - the month is cut into consecutive windows of `period_days` starting on the 1st; the last window may be
///   shorter (weekly in a 31-day month: 1–7, 8–14, 15–21, 22–28, 29–31 → 5 periods; daily → one per day);
/// - a period of [`MONTHLY_PERIOD_DAYS`] days or more is one window, the whole calendar month;
/// - only windows that have started by `until` count (the month in progress is assessed so far).
///
/// *Required* for one resident and one contact is the number of these windows; *done* is the number of
/// windows holding at least one contact that satisfies it (see [`care_tallies`]).
pub fn assessment_periods(month: &Month, period_days: u32, until: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
    let last = month.last();
    let step = if period_days >= MONTHLY_PERIOD_DAYS { month.days() } else { period_days.max(1) };
    let mut out = Vec::new();
    let mut start = month.first;
    while start <= last && start <= until {
        let end = (start + chrono::Days::new(u64::from(step) - 1)).min(last);
        out.push((start, end));
        start = end + chrono::Days::new(1);
    }
    out
}

/// One contact that reached a household or resident on a day: a check-in or a visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatedContact {
    /// The resident it reached (`None`: the whole household).
    pub resident: Option<String>,
    /// Intensity level (0 seen, 1 phone, 2 door, 3 home).
    pub level: i64,
    /// The day, in the community's time zone.
    pub day: NaiveDate,
}

/// Done vs required of one care-plan contact of one resident in one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CareTally {
    /// Resident's name.
    pub resident: String,
    /// The special-care tag the contact is counted under.
    pub tag: String,
    /// The contact.
    pub contact: ContactKind,
    /// Periods in the month (see [`assessment_periods`]).
    pub required: u32,
    /// Periods holding at least one satisfying contact.
    pub done: u32,
}

/// The monthly tallies of one resident: one per care-plan contact. When several of the resident's tags ask
/// for the same contact, it is counted once, under the tag with the shortest period (the first such tag on a
/// tie) — the same tag [`resident_plan`] names. A contact satisfies a period when it falls inside the window,
/// reached the resident (a household-wide contact reaches everybody) and is at least as intensive.
pub fn care_tallies(
    settings: &CommunitySettings,
    resident: &Resident,
    contacts: &[DatedContact],
    month: &Month,
    until: NaiveDate,
) -> Vec<CareTally> {
    let mut plan: BTreeMap<ContactKind, (&str, u32)> = BTreeMap::new();
    for tag in &resident.tags {
        let Some(category) = settings.category(tag) else { continue };
        for item in &category.plan {
            match plan.get(&item.contact) {
                Some((_, p)) if *p <= item.period_days => {}
                _ => {
                    plan.insert(item.contact, (tag.as_str(), item.period_days));
                }
            }
        }
    }
    let reached: Vec<&DatedContact> = contacts
        .iter()
        .filter(|c| month.contains(c.day) && c.resident.as_ref().is_none_or(|r| *r == resident.name))
        .collect();
    plan.into_iter()
        .map(|(contact, (tag, period))| {
            let periods = assessment_periods(month, period, until);
            let done = periods
                .iter()
                .filter(|(from, to)| {
                    reached.iter().any(|c| c.level >= contact.level() && c.day >= *from && c.day <= *to)
                })
                .count();
            CareTally {
                resident: resident.name.clone(),
                tag: tag.to_string(),
                contact,
                required: periods.len() as u32,
                done: done as u32,
            }
        })
        .collect()
}

/// True when the resident is overdue on `date`: some care-plan contact was due before `date`, or has never
/// been made at all (a resident nobody ever contacted is overdue, though the rolling rule shows them "due
/// today" on the rounds).
pub fn resident_overdue(
    settings: &CommunitySettings,
    resident: &Resident,
    history: &ContactHistory,
    date: NaiveDate,
) -> bool {
    let never = |c: DueContact| {
        let level = ContactKind::ALL.into_iter().find(|k| DueContact::from(*k) == c).map_or(0, |k| k.level());
        history.satisfied(Some(&resident.name), level).is_none()
    };
    resident_plan(settings, resident, history, &ContactKind::ALL, date)
        .iter()
        .any(|r| r.overdue_days > 0 || never(r.contact))
}

/// Compares two address parts the way people read them: digit runs as numbers ("2" < "10").
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.is_empty(), b.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        let (ra, rest_a) = split_run(a);
        let (rb, rest_b) = split_run(b);
        let ord = match (ra.parse::<u64>(), rb.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y).then(ra.len().cmp(&rb.len())),
            _ => ra.cmp(rb),
        };
        if ord != Ordering::Equal {
            return ord;
        }
        a = rest_a;
        b = rest_b;
    }
}

fn split_run(s: &str) -> (&str, &str) {
    let digit = s.starts_with(|c: char| c.is_ascii_digit());
    let end = s.find(|c: char| c.is_ascii_digit() != digit).unwrap_or(s.len());
    s.split_at(end)
}

/// Walking order for rounds: building, unit, floor, room.
pub fn walking_order(a: &Household, b: &Household) -> Ordering {
    natural_cmp(&a.building, &b.building)
        .then_with(|| natural_cmp(&a.unit, &b.unit))
        .then(a.floor.cmp(&b.floor))
        .then_with(|| natural_cmp(&a.room, &b.room))
        .then_with(|| a.household_code.cmp(&b.household_code))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, crate::model::DAY_FORMAT).expect("test date")
    }

    fn settings() -> CommunitySettings {
        CommunitySettings::defaults("c", "Test", "Asia/Shanghai")
    }

    fn resident(name: &str, tags: &[&str]) -> Resident {
        Resident {
            household_code: "H1".into(),
            name: name.into(),
            gender: "F".into(),
            birth_year: 1940,
            phone: None,
            id_number: None,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            notes: String::new(),
            moved_out: false,
        }
    }

    fn contacts(reasons: &[DueReason]) -> Vec<&'static str> {
        reasons.iter().map(|r| r.contact.code()).collect()
    }

    #[test]
    fn never_contacted_is_due_today_with_rotation() {
        let r = household_due_on_rounds(
            &settings(),
            &[resident("王", &["elderly_alone"])],
            &ContactHistory::default(),
            d("2026-11-24"),
        );
        assert_eq!(contacts(&r), vec!["phone", "door", "rotation"]);
        assert!(r.iter().all(|x| x.due_date == d("2026-11-24") && x.overdue_days == 0));
    }

    #[test]
    fn door_visit_satisfies_phone_but_phone_not_door() {
        let s = settings();
        let res = [resident("王", &["elderly_alone"])];
        let mut h = ContactHistory::default();
        h.record(None, ContactKind::Door.level(), d("2026-11-20"));
        let r = household_due_on_rounds(&s, &res, &h, d("2026-11-24"));
        // phone: 11-20 + 1 = 11-21, overdue 3; door: 11-27 not yet; rotation: 12-20 not yet.
        assert_eq!(contacts(&r), vec!["phone"]);
        assert_eq!(r[0].due_date, d("2026-11-21"));
        assert_eq!(r[0].overdue_days, 3);

        let mut h = ContactHistory::default();
        h.record(None, ContactKind::Phone.level(), d("2026-11-24"));
        let r = household_due_on_rounds(&s, &res, &h, d("2026-11-24"));
        assert_eq!(contacts(&r), vec!["door"], "a phone call does not satisfy the weekly door visit");
    }

    #[test]
    fn observed_counts_for_rotation_only_and_absent_for_nothing() {
        let s = settings();
        let res = [resident("李", &["low_income"])];
        let mut h = ContactHistory::default();
        h.record(None, LEVEL_SEEN, d("2026-11-01"));
        let r = household_due_on_rounds(&s, &res, &h, d("2026-11-24"));
        assert!(r.is_empty(), "low_income needs only home visits (not on rounds); seen 23 days ago: {r:?}");
        let r = household_due_on_rounds(&s, &res, &h, d("2026-12-03"));
        assert_eq!(contacts(&r), vec!["rotation"]);
        assert_eq!(r[0].overdue_days, 2);
    }

    #[test]
    fn resident_specific_contact_does_not_reach_housemate() {
        let s = settings();
        let res = [resident("王", &["elderly_alone"]), resident("张", &["disabled"])];
        let mut h = ContactHistory::default();
        h.record(Some("王"), ContactKind::Home.level(), d("2026-11-24"));
        let due = residents_due_for_visits(&s, &res, &h, &[], d("2026-11-24"));
        let names: Vec<_> = due.iter().map(|r| (r.resident.clone().unwrap_or_default(), r.contact.code())).collect();
        assert_eq!(names, vec![("张".to_string(), "door"), ("张".to_string(), "home")]);
    }

    #[test]
    fn intensive_tags_pick_the_earliest_due() {
        let s = settings();
        let mut h = ContactHistory::default();
        h.record(None, ContactKind::Door.level(), d("2026-11-01"));
        let res = [resident("王", &["disabled", "elderly_alone"])];
        let plan = resident_plan(&s, &res[0], &h, &[ContactKind::Door], d("2026-11-24"));
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].due_date, d("2026-11-08"));
        assert_eq!(plan[0].tag.as_deref(), Some("disabled"));
    }

    #[test]
    fn follow_up_is_due_until_a_later_contact() {
        let s = settings();
        let f = FollowUp {
            resident: Some("王".into()),
            contact: ContactKind::Home,
            due: d("2026-11-20"),
            set_on: d("2026-11-10"),
        };
        let mut h = ContactHistory::default();
        h.record(Some("王"), ContactKind::Home.level(), d("2026-11-10"));
        let due = residents_due_for_visits(&s, &[], &h, std::slice::from_ref(&f), d("2026-11-24"));
        assert_eq!(due.len(), 1);
        assert!(due[0].follow_up);
        assert_eq!(due[0].overdue_days, 4);
        h.record(None, ContactKind::Door.level(), d("2026-11-22"));
        assert_eq!(
            residents_due_for_visits(&s, &[], &h, std::slice::from_ref(&f), d("2026-11-24")).len(),
            1,
            "a door visit does not settle a home follow-up"
        );
        h.record(Some("王"), ContactKind::Home.level(), d("2026-11-23"));
        assert!(residents_due_for_visits(&s, &[], &h, &[f], d("2026-11-24")).is_empty());
    }

    #[test]
    fn moved_out_residents_are_not_due() {
        let mut r = resident("王", &["elderly_alone"]);
        r.moved_out = true;
        let got = household_due_on_rounds(&settings(), &[r], &ContactHistory::default(), d("2026-11-24"));
        assert_eq!(contacts(&got), vec!["rotation"]);
    }

    fn m(s: &str) -> Month {
        Month::parse(s).expect("month")
    }

    #[test]
    fn periods_follow_the_counting_rule() {
        let nov = m("2026-11");
        let dec = m("2026-12");
        let feb = m("2027-02");
        assert_eq!(nov.days(), 30);
        assert_eq!(assessment_periods(&nov, 1, nov.last()).len(), 30);
        assert_eq!(assessment_periods(&dec, 1, dec.last()).len(), 31);
        assert_eq!(assessment_periods(&dec, 7, dec.last()).len(), 5, "ceil(31/7)");
        assert_eq!(assessment_periods(&feb, 7, feb.last()).len(), 4, "ceil(28/7)");
        assert_eq!(assessment_periods(&dec, 30, dec.last()), vec![(d("2026-12-01"), d("2026-12-31"))]);
        assert_eq!(assessment_periods(&dec, 7, dec.last())[4], (d("2026-12-29"), d("2026-12-31")));
        assert_eq!(assessment_periods(&dec, 7, d("2026-12-08")).len(), 2, "only periods started so far");
        assert!(assessment_periods(&dec, 1, d("2026-11-30")).is_empty());
        assert!(Month::parse("2026-13").is_err() && Month::parse("2026-1").is_err());
    }

    #[test]
    fn tallies_count_satisfied_periods_with_intensity_and_reach() {
        let s = settings();
        let dec = m("2026-12");
        let wang = resident("王", &["elderly_alone", "disabled"]);
        let c = |who: Option<&str>, kind: ContactKind, day: &str| DatedContact {
            resident: who.map(str::to_string),
            level: kind.level(),
            day: d(day),
        };
        let contacts = vec![
            c(Some("王"), ContactKind::Home, "2026-12-02"), // phone day 2, door week 1, home month
            c(None, ContactKind::Door, "2026-12-03"),       // phone day 3, week 1 again
            c(Some("王"), ContactKind::Phone, "2026-12-10"), // phone day 10, not a door visit
            c(Some("张"), ContactKind::Door, "2026-12-16"), // another resident: nothing for 王
            c(None, ContactKind::Door, "2026-11-30"),       // last month: nothing
            c(None, ContactKind::Door, "2026-12-30"),       // phone day 30, week 5
        ];
        let got = care_tallies(&s, &wang, &contacts, &dec, dec.last());
        let view: Vec<(&str, &str, u32, u32)> =
            got.iter().map(|t| (t.contact.code(), t.tag.as_str(), t.required, t.done)).collect();
        assert_eq!(
            view,
            vec![("phone", "elderly_alone", 31, 4), ("door", "elderly_alone", 5, 2), ("home", "elderly_alone", 1, 1)]
        );
    }

    #[test]
    fn never_contacted_residents_are_overdue() {
        let s = settings();
        let r = resident("李", &["low_income"]);
        let mut h = ContactHistory::default();
        assert!(resident_overdue(&s, &r, &h, d("2026-11-30")));
        h.record(None, ContactKind::Home.level(), d("2026-11-20"));
        assert!(!resident_overdue(&s, &r, &h, d("2026-11-30")));
        assert!(resident_overdue(&s, &r, &h, d("2026-12-21")), "due 12-20");
    }

    #[test]
    fn natural_order_reads_numbers_as_numbers() {
        assert_eq!(natural_cmp("2", "10"), Ordering::Less);
        assert_eq!(natural_cmp("B2", "B10"), Ordering::Less);
        assert_eq!(natural_cmp("10栋", "9栋"), Ordering::Greater);
        assert_eq!(natural_cmp("A", "A"), Ordering::Equal);
        assert_eq!(natural_cmp("", "1"), Ordering::Less);
    }
}
