//! The community's needs list (问题清单): the one place that says what counts as a need and how needs are
//! counted. Pure: the store hands in what it holds, no I/O.
//!
//! Every need tag recorded on a home visit (`Visit::need_tags`, codes of the community's visit services) and
//! every service order's request (its `service`, a code of the service catalogue; a cancelled order is no
//! request) is a sighting of a need in a household, on a day, in a grid and a building. Per need the list
//! counts the households it was seen in, the requests and the visits, with the first and last day seen, and
//! the same per grid and building. A need is linked to a project when a project lists its code: a project not
//! yet done before a done one, then the newest (by creation time, then the larger id).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate};
use serde::Serialize;

use crate::project::ProjectStatus;

/// Where a need was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SightingKind {
    /// A need tag of a home visit.
    Visit,
    /// A service order's request.
    Request,
}

/// One need seen in one household.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    /// Need code.
    pub need: String,
    /// Household code.
    pub household: String,
    /// The household's grid.
    pub grid: String,
    /// The household's building (empty when the roster no longer holds the household).
    pub building: String,
    /// The day it was seen, in the community's time zone.
    pub day: NaiveDate,
    /// On a visit or as a request.
    pub kind: SightingKind,
}

/// A project as far as linking needs goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectLink {
    /// Project id.
    pub project_id: String,
    /// Need codes it answers.
    pub needs: Vec<String>,
    /// Its status.
    pub status: ProjectStatus,
    /// When it was created.
    pub created_at: DateTime<FixedOffset>,
}

/// A need's counts in one building of one grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NeedCount {
    /// Grid code.
    pub grid: String,
    /// Building (empty: a household the roster no longer holds).
    pub building: String,
    /// Households the need was seen in.
    pub households: u32,
    /// Service requests for it.
    pub requests: u32,
    /// Visits that recorded it.
    pub visits: u32,
}

/// One need of the needs list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NeedItem {
    /// Need code.
    pub need: String,
    /// Its Chinese name from the community's catalogues (the code when neither lists it).
    pub name_zh: String,
    /// Its English name.
    pub name_en: String,
    /// Households it was seen in.
    pub households: u32,
    /// Service requests for it.
    pub requests: u32,
    /// Visits that recorded it.
    pub visits: u32,
    /// First day seen.
    pub first_seen: NaiveDate,
    /// Last day seen.
    pub last_seen: NaiveDate,
    /// The project that answers it, if one lists it.
    pub project_id: Option<String>,
    /// Counts per grid and building, in grid then building order.
    pub by_building: Vec<NeedCount>,
}

/// Which sightings count: one grid, one month (`(year, month)`), or all.
#[derive(Debug, Clone, Copy, Default)]
pub struct Window<'a> {
    /// Only this grid.
    pub grid: Option<&'a str>,
    /// Only this month.
    pub month: Option<(i32, u32)>,
}

impl Window<'_> {
    fn admits(&self, s: &Sighting) -> bool {
        self.grid.is_none_or(|g| g == s.grid) && self.month.is_none_or(|(y, m)| s.day.year() == y && s.day.month() == m)
    }
}

/// Parses a `YYYY-MM` month.
pub fn parse_month(text: &str) -> Option<(i32, u32)> {
    let day = NaiveDate::parse_from_str(&format!("{text}-01"), crate::model::DAY_FORMAT).ok()?;
    (text.len() == 7).then(|| (day.year(), day.month()))
}

/// The project that answers `need`: one not yet done before a done one, then the newest, then the larger id.
pub fn linked_project<'a>(need: &str, projects: &'a [ProjectLink]) -> Option<&'a ProjectLink> {
    projects.iter().filter(|p| p.needs.iter().any(|n| n == need)).max_by(|a, b| {
        let open = |p: &ProjectLink| p.status != ProjectStatus::Done;
        open(a).cmp(&open(b)).then(a.created_at.cmp(&b.created_at)).then_with(|| a.project_id.cmp(&b.project_id))
    })
}

#[derive(Default)]
struct Tally<'a> {
    households: BTreeSet<&'a str>,
    requests: u32,
    visits: u32,
}

impl<'a> Tally<'a> {
    fn add(&mut self, s: &'a Sighting) {
        self.households.insert(&s.household);
        match s.kind {
            SightingKind::Visit => self.visits += 1,
            SightingKind::Request => self.requests += 1,
        }
    }
    fn households(&self) -> u32 {
        u32::try_from(self.households.len()).unwrap_or(u32::MAX)
    }
}

/// The needs list of `sightings` within `window`: most households first, then by need code. `name` gives a
/// need's Chinese and English names.
pub fn tally(
    sightings: &[Sighting],
    projects: &[ProjectLink],
    window: Window<'_>,
    name: impl Fn(&str) -> (String, String),
) -> Vec<NeedItem> {
    struct Need<'a> {
        all: Tally<'a>,
        first: NaiveDate,
        last: NaiveDate,
        places: BTreeMap<(&'a str, &'a str), Tally<'a>>,
    }
    let mut needs: BTreeMap<&str, Need> = BTreeMap::new();
    for s in sightings.iter().filter(|s| window.admits(s)) {
        let n = needs.entry(&s.need).or_insert_with(|| Need {
            all: Tally::default(),
            first: s.day,
            last: s.day,
            places: BTreeMap::new(),
        });
        n.all.add(s);
        n.first = n.first.min(s.day);
        n.last = n.last.max(s.day);
        n.places.entry((&s.grid, &s.building)).or_default().add(s);
    }
    let mut items: Vec<NeedItem> = needs
        .into_iter()
        .map(|(need, n)| {
            let (name_zh, name_en) = name(need);
            NeedItem {
                need: need.to_string(),
                name_zh,
                name_en,
                households: n.all.households(),
                requests: n.all.requests,
                visits: n.all.visits,
                first_seen: n.first,
                last_seen: n.last,
                project_id: linked_project(need, projects).map(|p| p.project_id.clone()),
                by_building: n
                    .places
                    .into_iter()
                    .map(|((grid, building), t)| NeedCount {
                        grid: grid.to_string(),
                        building: building.to_string(),
                        households: t.households(),
                        requests: t.requests,
                        visits: t.visits,
                    })
                    .collect(),
            }
        })
        .collect();
    items.sort_by(|a, b| b.households.cmp(&a.households).then_with(|| a.need.cmp(&b.need)));
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32, m: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).expect("day")
    }

    fn seen(need: &str, household: &str, grid: &str, building: &str, d: NaiveDate, kind: SightingKind) -> Sighting {
        Sighting {
            need: need.into(),
            household: household.into(),
            grid: grid.into(),
            building: building.into(),
            day: d,
            kind,
        }
    }

    fn project(id: &str, needs: &[&str], status: ProjectStatus, at: &str) -> ProjectLink {
        ProjectLink {
            project_id: id.into(),
            needs: needs.iter().map(|n| n.to_string()).collect(),
            status,
            created_at: DateTime::parse_from_rfc3339(at).expect("time"),
        }
    }

    fn names(code: &str) -> (String, String) {
        (format!("{code}-zh"), format!("{code}-en"))
    }

    #[test]
    fn needs_are_counted_per_household_building_grid_and_month() {
        use SightingKind::{Request, Visit};
        let s = vec![
            seen("meal_delivery", "H1", "G01", "1", day(3, 11), Visit),
            seen("meal_delivery", "H1", "G01", "1", day(9, 11), Request),
            seen("meal_delivery", "H2", "G01", "2", day(20, 11), Visit),
            seen("meal_delivery", "H9", "G02", "7", day(2, 12), Visit),
            seen("cleaning", "H2", "G01", "2", day(21, 11), Visit),
        ];
        let all = tally(&s, &[], Window::default(), names);
        assert_eq!(all.len(), 2);
        let meal = &all[0];
        assert_eq!((meal.need.as_str(), meal.households, meal.requests, meal.visits), ("meal_delivery", 3, 1, 3));
        assert_eq!((meal.first_seen, meal.last_seen), (day(3, 11), day(2, 12)));
        assert_eq!(meal.name_zh, "meal_delivery-zh");
        let places: Vec<(&str, &str, u32, u32)> =
            meal.by_building.iter().map(|c| (c.grid.as_str(), c.building.as_str(), c.households, c.requests)).collect();
        assert_eq!(places, [("G01", "1", 1, 1), ("G01", "2", 1, 0), ("G02", "7", 1, 0)]);
        let november = tally(&s, &[], Window { grid: None, month: parse_month("2026-11") }, names);
        assert_eq!((november[0].households, november[0].last_seen), (2, day(20, 11)));
        let g02 = tally(&s, &[], Window { grid: Some("G02"), month: None }, names);
        assert_eq!(g02.len(), 1);
        assert_eq!(g02[0].by_building.len(), 1);
        assert!(tally(&s, &[], Window { grid: Some("G03"), month: None }, names).is_empty());
        assert_eq!(parse_month("2026-13"), None);
        assert_eq!(parse_month("2026-1"), None);
        assert_eq!(parse_month("2026-02"), Some((2026, 2)));
    }

    #[test]
    fn a_need_links_to_the_open_project_first_then_the_newest() {
        let done = project("p1", &["meal_delivery"], ProjectStatus::Done, "2026-11-25T09:00:00+08:00");
        let older_open =
            project("p2", &["meal_delivery", "cleaning"], ProjectStatus::Active, "2026-10-01T09:00:00+08:00");
        let newer_open = project("p3", &["meal_delivery"], ProjectStatus::Planned, "2026-11-01T09:00:00+08:00");
        let projects = vec![done.clone(), older_open.clone(), newer_open.clone()];
        assert_eq!(linked_project("meal_delivery", &projects).map(|p| p.project_id.as_str()), Some("p3"));
        assert_eq!(linked_project("cleaning", &projects).map(|p| p.project_id.as_str()), Some("p2"));
        assert_eq!(linked_project("errands", &projects), None);
        assert_eq!(
            linked_project("meal_delivery", std::slice::from_ref(&done)).map(|p| p.project_id.as_str()),
            Some("p1")
        );
        // The same time: the larger id, whatever the order given.
        let twin = ProjectLink { project_id: "p4".into(), ..newer_open };
        let reversed = vec![twin.clone(), projects[2].clone()];
        assert_eq!(linked_project("meal_delivery", &reversed).map(|p| p.project_id.as_str()), Some("p4"));
    }
}
