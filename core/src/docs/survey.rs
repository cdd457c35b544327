//! The residents' survey of one grid and one year (双评议, 居民满意度测评): append-only entries at
//! `survey/<household>/<uuid>`, each one household's answers as a field worker recorded them, with the codes
//! of the items they answer (the configuration of that day, so a later change of the items never moves an
//! answer). Entries written on several phones offline all survive a merge; which one of a household counts is
//! `crate::evaluation`. A past year's document stops growing.

use automerge::AutoCommit;
use chrono::{DateTime, Datelike};

use super::{entities, entity_records, get_entity, label, os, put_entity, s, Claims, Entity, Record, RecordKind};
use crate::error::{Error, Result};
use crate::evaluation::{self, codes_fit, codes_text, parse_codes, parse_scores, scores_text};
use crate::model::Survey;

/// Root-key prefix of surveys: `survey/<household>/<uuid>`.
pub const SURVEY_PREFIX: &str = "survey/";

/// The root key of survey `id` of `household`.
pub fn survey_key(household: &str, id: &str) -> String {
    format!("{SURVEY_PREFIX}{household}/{id}")
}

/// Appends a survey. An id already in the document is refused (entries are never rewritten).
pub fn append(doc: &mut AutoCommit, v: &Survey) -> Result<()> {
    let key = survey_key(&v.household_code, &v.survey_id);
    if get_entity(doc, &key).is_some() {
        return Err(Error::document(&key, "the survey is already recorded"));
    }
    let fields = vec![
        ("household", s(&v.household_code)),
        ("grid", s(&v.grid)),
        ("building", s(&v.building)),
        ("answers", s(&scores_text(&v.answers))),
        ("items", s(&codes_text(&v.items))),
        ("visit_id", os(&v.visit_id)),
        ("actor", s(&v.actor)),
        ("device", s(&v.device)),
        ("role", s(&v.role)),
        ("at", s(&v.at.to_rfc3339())),
    ];
    put_entity(doc, &key, &fields)?;
    Ok(())
}

/// What is wrong with the entry at root key `rest` (after the prefix) of a `year`'s document, if anything:
/// its key's household must be the one it names, its id a UUID, its answers 1–5 (at most
/// `evaluation::MAX_ITEMS`), its time valid and in the document's year (as the device wrote it).
pub fn entry_problem(rest: &str, e: &Entity, year: Option<u32>) -> Option<&'static str> {
    let Some((household, id)) = rest.split_once('/') else { return Some("has no household in its key") };
    if household != e.str("household") {
        return Some("names another household than its key");
    }
    if uuid::Uuid::parse_str(id).is_err() {
        return Some("has no valid id");
    }
    let Some(answers) = parse_scores(&e.str("answers")) else { return Some("has answers that are not 1 to 5") };
    if !codes_fit(&e.str("items"), answers.len()) {
        return Some("does not name one distinct item per answer");
    }
    let Ok(at) = DateTime::parse_from_rfc3339(&e.str("at")) else { return Some("has no valid time") };
    if year.is_some_and(|y| u32::try_from(at.year()).ok() != Some(y)) {
        return Some("is dated outside the document's year");
    }
    if e.opt_str("visit_id").is_some_and(|v| uuid::Uuid::parse_str(&v).is_err()) {
        return Some("names a visit that is no visit id");
    }
    None
}

fn from_entity(rest: &str, e: &Entity, year: u32) -> Option<Survey> {
    if entry_problem(rest, e, None).is_some() {
        return None;
    }
    let (_, id) = rest.split_once('/')?;
    Some(Survey {
        survey_id: id.to_string(),
        year,
        household_code: e.str("household"),
        grid: e.str("grid"),
        building: e.str("building"),
        answers: parse_scores(&e.str("answers"))?,
        items: parse_codes(&e.str("items"))?,
        visit_id: e.opt_str("visit_id"),
        actor: e.str("actor"),
        device: e.str("device"),
        role: e.str("role"),
        at: DateTime::parse_from_rfc3339(&e.str("at")).ok()?,
    })
}

/// Every well-formed survey of the document of `year` (malformed entries from a faulty peer are skipped).
pub fn surveys(doc: &AutoCommit, year: u32) -> Vec<Survey> {
    entities(doc, SURVEY_PREFIX).filter_map(|(rest, e)| from_entity(&rest, &e, year)).collect()
}

/// Every survey as a record with what it claims (the server's checks): its grid, household, recorder,
/// device, role and time. A household its key does not agree with claims none, which no roster holds.
pub fn records(doc: &AutoCommit) -> Vec<Record> {
    entity_records(doc, SURVEY_PREFIX, RecordKind::Survey, |rest, e| {
        let key_household = rest.split_once('/').map(|(h, _)| h).unwrap_or_default();
        let household = e.str("household");
        let claims = Claims {
            grid: Some(e.str("grid")),
            household: Some(if household == key_household { household } else { String::new() }),
            user: Some(e.str("actor")),
            device: Some(e.str("device")),
            role: Some(e.str("role")),
            at: Some(e.str("at")),
        };
        (label("survey", rest.split_once('/').map_or(rest, |(_, id)| id)), claims)
    })
}

/// Bounds a survey's answers are checked against besides the configuration's count (re-exported for faces).
pub use evaluation::{MAX_SCORE, MIN_SCORE};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::{new_document, DocId};

    const ID: &str = "0190f5a4-2b3c-7d4e-8f00-112233445566";

    pub(crate) fn survey(id: &str, household: &str) -> Survey {
        Survey {
            survey_id: id.into(),
            year: 2026,
            household_code: household.into(),
            grid: "G01".into(),
            building: "3".into(),
            answers: vec![5, 4, 3, 5, 5, 4, 4, 3, 5, 5],
            items: (1..=10).map(|n| format!("s{n}")).collect(),
            visit_id: None,
            actor: "wang".into(),
            device: "d1".into(),
            role: "grid_leader".into(),
            at: DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00").expect("time"),
        }
    }

    #[test]
    fn surveys_round_trip_and_are_written_once() {
        let mut doc = new_document(&DocId::survey("c1", "G01", 2026), &automerge::ActorId::random()).expect("doc");
        let v = survey(ID, "H1");
        append(&mut doc, &v).expect("append");
        assert!(append(&mut doc, &v).is_err(), "written once");
        assert_eq!(surveys(&doc, 2026), vec![v]);
        let found = records(&doc);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].claims.household.as_deref(), Some("H1"));
        assert_eq!(found[0].claims.role.as_deref(), Some("grid_leader"));
    }

    #[test]
    fn malformed_entries_are_skipped_and_named() {
        let mut doc = new_document(&DocId::survey("c1", "G01", 2026), &automerge::ActorId::random()).expect("doc");
        let good = survey(ID, "H1");
        append(&mut doc, &good).expect("good");
        // Key and field disagree on the household.
        let key = survey_key("H2", "0190f5a4-2b3c-7d4e-8f00-112233445577");
        put_entity(
            &mut doc,
            &key,
            &vec![("household", s("H1")), ("answers", s("5")), ("at", s("2026-01-01T00:00:00Z"))],
        )
        .expect("put");
        assert_eq!(surveys(&doc, 2026).len(), 1);
        let lying = records(&doc).into_iter().find(|r| r.key == key).expect("record");
        assert_eq!(lying.claims.household.as_deref(), Some(""));
        let entity = |answers: &str, at: &str| Entity {
            fields: [("household", "H1"), ("answers", answers), ("at", at)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), automerge::ScalarValue::Str(v.into())))
                .collect(),
        };
        let rest = format!("H1/{ID}");
        assert_eq!(entry_problem(&rest, &entity("5,4", "2026-01-01T00:00:00+08:00"), Some(2026)), None);
        for (e, why) in [
            (entity("5,6", "2026-01-01T00:00:00+08:00"), "answers"),
            (entity("5", "yesterday"), "time"),
            (entity("5", "2025-12-31T23:00:00+08:00"), "year"),
        ] {
            assert!(entry_problem(&rest, &e, Some(2026)).is_some_and(|p| p.contains(why)), "{why}");
        }
        assert!(entry_problem("H1/x", &entity("5", "2026-01-01T00:00:00+08:00"), None).is_some());
        // Item codes: none (an entry from before codes were kept), or one distinct code per answer.
        let with_items = |items: &str| {
            let mut e = entity("5,4", "2026-01-01T00:00:00+08:00");
            e.fields.insert("items".to_string(), automerge::ScalarValue::Str(items.into()));
            e
        };
        assert_eq!(entry_problem(&rest, &with_items("s1,s2"), Some(2026)), None);
        for bad in ["s1", "s1,s1", "s1,s2,s3", "s1,"] {
            assert!(entry_problem(&rest, &with_items(bad), Some(2026)).is_some_and(|p| p.contains("item")), "{bad}");
        }
    }
}
