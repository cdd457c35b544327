//! The server's projection of one building of a grid (`building:<community>:<grid>:<building key>`): the
//! building's households and residents in the roster's own entity layout (`household/<code>`,
//! `resident/<household>/<name>`), and the check-ins (`checkin/<id>`, the log's fields plus its `day`) and
//! visits (`visit/<id>`) of those households from the grid's recent logs. A building lead (楼栋长) receives
//! this document instead of the grid's roster and logs, which hold every building's households; its store
//! materialises it into the same tables, so rounds, household detail and visits due run unchanged.
//!
//! Only the server writes it. Photos are left out: a photo is served to those who may read a document naming
//! it that one of its uploaders may write, and nobody writes a projection.

use std::collections::{BTreeMap, HashSet};

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ReadDoc, ScalarValue, Value, ROOT};
use chrono::NaiveDate;

use super::{checkin_log, entities, get_entity, put_entity, roster, visit_log, Fields};
use crate::error::{Error, Result};
use crate::model::{CheckIn, Household, Resident, Visit};

/// Root key of the building's name.
pub const NAME_KEY: &str = "building";
/// Root key of the grid's catalogue version the projection was last made at: a later write of a source (the
/// roster, a recent log) is what makes it stale.
pub const SOURCE_VERSION_KEY: &str = "source_version";
/// Days of check-ins a projection carries (today and the 61 before): two months of rounds.
pub const CHECK_IN_DAYS: i64 = 62;
/// Months of visits a projection carries (this month and the two before): what visits due look back on.
pub const VISIT_MONTHS: u32 = 3;

/// Fields left out of the projected records.
const LEFT_OUT: &[&str] = &["photos"];

/// The grid's documents a projection is made from.
pub struct Sources<'a> {
    /// The grid's roster.
    pub roster: &'a AutoCommit,
    /// The grid-level check-in logs of the recent days, with their day.
    pub check_in_logs: Vec<(NaiveDate, &'a AutoCommit)>,
    /// The grid's visit logs of the recent months.
    pub visit_logs: Vec<&'a AutoCommit>,
}

/// The first and last days whose check-in logs a projection made on `today` carries.
pub fn check_in_window(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    (today - chrono::TimeDelta::days(CHECK_IN_DAYS - 1), today)
}

/// The months (`YYYY-MM`) whose visit logs a projection made on `today` carries, oldest first.
pub fn visit_months(today: NaiveDate) -> Vec<String> {
    use chrono::Datelike;
    let mut months = Vec::new();
    let (mut y, mut m) = (today.year(), today.month());
    for _ in 0..VISIT_MONTHS {
        months.push(format!("{y:04}-{m:02}"));
        if m == 1 {
            y -= 1;
            m = 12;
        } else {
            m -= 1;
        }
    }
    months.reverse();
    months
}

fn owned_fields(e: &super::Entity, extra: &[(&str, ScalarValue)]) -> BTreeMap<String, ScalarValue> {
    let mut out: BTreeMap<String, ScalarValue> =
        e.fields.iter().filter(|(k, _)| !LEFT_OUT.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    out.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    out
}

/// Writes into `doc` the projection of building `name` from `sources`: every record of its households is put
/// (only fields that differ), every record no longer wanted removed, and the building's name and the
/// sources' catalogue version noted. Returns whether anything changed.
pub fn project(doc: &mut AutoCommit, name: &str, sources: &Sources<'_>, source_version: u64) -> Result<bool> {
    let mut wanted: BTreeMap<String, BTreeMap<String, ScalarValue>> = BTreeMap::new();
    let mut codes = HashSet::new();
    for (code, e) in entities(sources.roster, roster::HOUSEHOLD_PREFIX) {
        if e.str("building") == name {
            wanted.insert(roster::household_key(&code), owned_fields(&e, &[]));
            codes.insert(code);
        }
    }
    for (key, e) in entities(sources.roster, roster::RESIDENT_PREFIX) {
        if key.split_once('/').is_some_and(|(h, _)| codes.contains(h)) {
            wanted.insert(format!("{}{key}", roster::RESIDENT_PREFIX), owned_fields(&e, &[]));
        }
    }
    for (day, log) in &sources.check_in_logs {
        for (id, e) in entities(log, checkin_log::CHECK_IN_PREFIX) {
            if codes.contains(&e.str("household")) {
                let day = ScalarValue::Str(day.to_string().into());
                wanted.insert(checkin_log::check_in_key(&id), owned_fields(&e, &[("day", day)]));
            }
        }
    }
    for log in &sources.visit_logs {
        for (id, e) in entities(log, visit_log::VISIT_PREFIX) {
            if codes.contains(&e.str("household")) {
                wanted.insert(visit_log::visit_key(&id), owned_fields(&e, &[]));
            }
        }
    }
    let mut changed = false;
    let prefixes =
        [roster::HOUSEHOLD_PREFIX, roster::RESIDENT_PREFIX, checkin_log::CHECK_IN_PREFIX, visit_log::VISIT_PREFIX];
    let present: Vec<String> = doc
        .map_range(ROOT, ..)
        .map(|item| item.key.to_string())
        .filter(|k| prefixes.iter().any(|p| k.starts_with(p)))
        .collect();
    for key in present.iter().filter(|k| !wanted.contains_key(*k)) {
        doc.delete(ROOT, key.as_str()).map_err(|e| Error::document(key, e))?;
        changed = true;
    }
    for (key, fields) in &wanted {
        let stale: Vec<String> = get_entity(doc, key)
            .map(|e| e.fields.into_keys().filter(|k| !fields.contains_key(k)).collect())
            .unwrap_or_default();
        let mut put: Fields<'_> = fields.iter().map(|(k, v)| (k.as_str(), Some(v.clone()))).collect();
        put.extend(stale.iter().map(|k| (k.as_str(), None)));
        changed |= put_entity(doc, key, &put)?;
    }
    changed |= put_root(doc, NAME_KEY, ScalarValue::Str(name.into()))?;
    let version = ScalarValue::Uint(source_version);
    put_root(doc, SOURCE_VERSION_KEY, version)?;
    Ok(changed)
}

fn put_root(doc: &mut AutoCommit, key: &str, value: ScalarValue) -> Result<bool> {
    if matches!(doc.get(ROOT, key), Ok(Some((Value::Scalar(v), _))) if *v == value) {
        return Ok(false);
    }
    doc.put(ROOT, key, value).map_err(|e| Error::document(key, e))?;
    Ok(true)
}

/// The building's name, as the projection notes it.
pub fn name(doc: &AutoCommit) -> Option<String> {
    match doc.get(ROOT, NAME_KEY) {
        Ok(Some((Value::Scalar(v), _))) => v.as_str().map(str::to_string),
        _ => None,
    }
}

/// The grid's catalogue version the projection was made at (0 for a projection never made).
pub fn source_version(doc: &AutoCommit) -> u64 {
    match doc.get(ROOT, SOURCE_VERSION_KEY) {
        Ok(Some((Value::Scalar(v), _))) => match v.as_ref() {
            ScalarValue::Uint(n) => *n,
            ScalarValue::Int(n) => u64::try_from(*n).unwrap_or(0),
            _ => 0,
        },
        _ => 0,
    }
}

/// The building's households (the grid is the document's).
pub fn households(doc: &AutoCommit, grid: &str) -> Vec<Household> {
    roster::households(doc, grid)
}

/// The residents of the building's households.
pub fn residents(doc: &AutoCommit) -> Vec<Resident> {
    roster::residents(doc)
}

/// The projected check-ins with the day of the log each came from.
pub fn check_ins(doc: &AutoCommit) -> Vec<(NaiveDate, CheckIn)> {
    let days: BTreeMap<String, NaiveDate> = entities(doc, checkin_log::CHECK_IN_PREFIX)
        .filter_map(|(id, e)| NaiveDate::parse_from_str(&e.str("day"), crate::model::DAY_FORMAT).ok().map(|d| (id, d)))
        .collect();
    checkin_log::check_ins(doc).into_iter().filter_map(|c| days.get(&c.check_in_id).map(|d| (*d, c))).collect()
}

/// The projected visits.
pub fn visits(doc: &AutoCommit) -> Vec<Visit> {
    visit_log::visits(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::s;

    fn roster() -> AutoCommit {
        let mut doc = AutoCommit::new();
        for (code, building) in [("H1", "1号楼"), ("H2", "1号楼"), ("H3", "2号楼")] {
            put_entity(&mut doc, &roster::household_key(code), &vec![("building", s(building)), ("room", s("101"))])
                .expect("household");
            put_entity(&mut doc, &format!("resident/{code}/张{code}"), &vec![("name", s(&format!("张{code}")))])
                .expect("resident");
        }
        doc
    }

    fn check_in(doc: &mut AutoCommit, id: &str, household: &str) {
        put_entity(
            doc,
            &checkin_log::check_in_key(id),
            &vec![
                ("household", s(household)),
                ("grid", s("G01")),
                ("kind", s("door")),
                ("outcome", s("well")),
                ("at", s("2026-11-24T09:00:00+08:00")),
                ("photos", s(&"a".repeat(64))),
            ],
        )
        .expect("check-in");
    }

    #[test]
    fn a_projection_holds_only_its_buildings_households_and_follows_the_roster() {
        let mut roster = roster();
        let mut log = AutoCommit::new();
        check_in(&mut log, "c1", "H1");
        check_in(&mut log, "c3", "H3");
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).expect("day");
        let mut doc = AutoCommit::new();
        let sources = Sources { roster: &roster, check_in_logs: vec![(day, &log)], visit_logs: vec![] };
        assert!(project(&mut doc, "1号楼", &sources, 7).expect("project"));
        let codes: Vec<String> = households(&doc, "G01").into_iter().map(|h| h.household_code).collect();
        assert_eq!(codes, vec!["H1", "H2"]);
        assert_eq!(residents(&doc).len(), 2);
        let keys: Vec<String> = doc.map_range(ROOT, ..).map(|i| i.key.to_string()).collect();
        assert!(keys.iter().all(|k| !k.contains("H3") && k != "checkin/c3"), "{keys:?}");
        assert_eq!(source_version(&doc), 7);
        assert_eq!(name(&doc).as_deref(), Some("1号楼"));
        // Photos stay out; the check-in's day comes along.
        let entity = get_entity(&doc, "checkin/c1").expect("projected check-in");
        assert!(!entity.fields.contains_key("photos"));
        assert_eq!(entity.str("day"), "2026-11-24");
        // The same sources again change nothing; H2 moving to building 2 takes it and its records out.
        let sources = Sources { roster: &roster, check_in_logs: vec![(day, &log)], visit_logs: vec![] };
        assert!(!project(&mut doc, "1号楼", &sources, 7).expect("again"));
        put_entity(&mut roster, &roster::household_key("H2"), &vec![("building", s("2号楼")), ("room", s("101"))])
            .expect("move");
        let sources = Sources { roster: &roster, check_in_logs: vec![(day, &log)], visit_logs: vec![] };
        assert!(project(&mut doc, "1号楼", &sources, 9).expect("moved"));
        assert_eq!(households(&doc, "G01").len(), 1);
        assert_eq!(residents(&doc).len(), 1);
        assert_eq!(check_ins(&doc).len(), 1);
    }

    #[test]
    fn windows_cover_two_months_of_days_and_three_months_of_visits() {
        let today = NaiveDate::from_ymd_opt(2026, 1, 15).expect("day");
        assert_eq!(check_in_window(today).0, NaiveDate::from_ymd_opt(2025, 11, 15).expect("day"));
        assert_eq!(visit_months(today), vec!["2025-11", "2025-12", "2026-01"]);
    }

    /// A building lead of two buildings of one grid: each projection replaces its own building's households
    /// in the store, never the other's, and its check-ins go to the household's building's log.
    #[cfg(feature = "store")]
    #[test]
    fn two_buildings_of_one_grid_live_side_by_side_in_a_building_leads_store() {
        use crate::docs::{building_key, DocId};
        use crate::model::{NewCheckIn, Role};
        use crate::store::{InitOptions, Store};
        let dir = tempfile::tempdir().expect("dir");
        let mut opts = InitOptions::new("赵楼栋长", Role::BuildingLead);
        opts.grids = vec!["G01".into()];
        opts.buildings = vec!["1号楼".into(), "2号楼".into()];
        let clock = std::sync::Arc::new(crate::clock::SystemClock);
        let mut store = Store::init(dir.path(), &[4u8; 32], opts.clone(), clock.clone()).expect("init");
        let roster = roster();
        let project_one = |name: &str| {
            let id = DocId::building(&store.device().community_id, "G01", &building_key(name));
            let mut doc = crate::docs::new_document(&id, &automerge::ActorId::from(&[1u8; 16][..])).expect("doc");
            let sources = Sources { roster: &roster, check_in_logs: vec![], visit_logs: vec![] };
            project(&mut doc, name, &sources, 1).expect("project");
            doc.commit();
            (id, doc)
        };
        let (one, two) = (project_one("1号楼"), project_one("2号楼"));
        store.merge_documents(vec![one], 1).expect("merge building 1");
        store.merge_documents(vec![two], 2).expect("merge building 2");
        let mut codes: Vec<String> =
            store.households_in_scope().expect("households").into_iter().map(|h| h.household_code).collect();
        codes.sort();
        assert_eq!(codes, ["H1", "H2", "H3"], "both buildings' households are kept");
        let c = store
            .check_in(NewCheckIn {
                household_code: "H3".into(),
                kind: crate::model::CheckInKind::Door,
                outcome: crate::model::CheckInOutcome::Well,
                note: String::new(),
                photos: vec![],
                location: None,
                at: None,
            })
            .expect("check-in");
        let log =
            DocId::building_check_in_log(&store.device().community_id, "G01", store.today(), &building_key("2号楼"));
        let held: Vec<String> = store.documents().expect("documents").into_iter().map(|(id, _)| id).collect();
        assert!(held.contains(&log.to_string()), "{held:?}");
        assert_eq!(
            store.check_in_record(&c.check_in_id).expect("read back").map(|r| r.household_code),
            Some("H3".into())
        );
        // The grid's leader, whose roster names H3's building, reads it back from that log once sync brings it.
        let leader_dir = tempfile::tempdir().expect("dir");
        let mut leader_opts = InitOptions::new("王网格长", Role::GridLeader);
        leader_opts.grids = vec!["G01".into()];
        leader_opts.community_id = Some(store.device().community_id.clone());
        let mut leader = Store::init(leader_dir.path(), &[5u8; 32], leader_opts, clock.clone()).expect("leader");
        let csv = format!("{}\nG01,2号楼,1,1,101,H3,张H3,F,1950,,,,\n", crate::roster_csv::ROSTER_HEADER);
        leader.import_roster(csv.as_bytes()).expect("roster");
        let log_doc = store.load_doc(&log).expect("load").expect("the building's log");
        leader.merge_documents(vec![(log.clone(), log_doc)], 3).expect("merge the log");
        assert_eq!(
            leader.check_in_record(&c.check_in_id).expect("read back").map(|r| r.household_code),
            Some("H3".into())
        );
        // A building lead names its buildings, and other roles none.
        let other = tempfile::tempdir().expect("dir");
        let mut bad = opts.clone();
        bad.buildings.clear();
        assert!(Store::init(other.path(), &[4u8; 32], bad, clock.clone()).is_err());
        let mut bad = InitOptions::new("王", Role::GridLeader);
        bad.buildings = vec!["1号楼".into()];
        assert!(Store::init(other.path(), &[4u8; 32], bad, clock).is_err());
    }
}
