//! The community's ratings of departments for one year (双评议, 部门评议), one document per community and year:
//! append-only entries at `rating/<department key>/<uuid>`, written by committee and station devices only,
//! each with its scores and the codes of the aspects they score.
//! A department's name may be Chinese, so its key in ids is [`department_key`] (a hash of the name); the
//! name itself is a field, and the key must agree with it. Which rating of a department stands (the latest)
//! is `crate::evaluation`.

use automerge::AutoCommit;
use chrono::DateTime;
use sha2::{Digest, Sha256};

use super::{entities, entity_records, get_entity, label, put_entity, s, Claims, Entity, Record, RecordKind};
use crate::error::{Error, Result};
use crate::evaluation::{check_department, codes_fit, codes_text, parse_codes, parse_scores, scores_text};
use crate::model::DepartmentRating;

/// Root-key prefix of department ratings: `rating/<department key>/<uuid>`.
pub const RATING_PREFIX: &str = "rating/";

/// A department's key in root keys: `d` and the first 16 hex digits of the SHA-256 of its (trimmed) name.
pub fn department_key(department: &str) -> String {
    let digest = Sha256::digest(department.trim().as_bytes());
    format!("d{}", &hex::encode(digest)[..16])
}

/// The root key of rating `id` of `department`.
pub fn rating_key(department: &str, id: &str) -> String {
    format!("{RATING_PREFIX}{}/{id}", department_key(department))
}

/// Appends a rating. An id already in the document is refused (entries are never rewritten).
pub fn append(doc: &mut AutoCommit, r: &DepartmentRating) -> Result<()> {
    let key = rating_key(&r.department, &r.rating_id);
    if get_entity(doc, &key).is_some() {
        return Err(Error::document(&key, "the rating is already recorded"));
    }
    let fields = vec![
        ("department", s(&r.department)),
        ("scores", s(&scores_text(&r.scores))),
        ("aspects", s(&codes_text(&r.aspects))),
        ("actor", s(&r.actor)),
        ("device", s(&r.device)),
        ("role", s(&r.role)),
        ("at", s(&r.at.to_rfc3339())),
    ];
    put_entity(doc, &key, &fields)?;
    Ok(())
}

/// What is wrong with the entry at root key `rest` (after the prefix), if anything: its department's name
/// must be valid and agree with its key, its id a UUID, its scores 1–5 (at most `evaluation::MAX_ITEMS`) and
/// its time valid.
pub fn entry_problem(rest: &str, e: &Entity) -> Option<&'static str> {
    let Some((key, id)) = rest.split_once('/') else { return Some("has no department in its key") };
    let Ok(name) = check_department(&e.str("department")) else { return Some("names no valid department") };
    if name != e.str("department") || department_key(&name) != key {
        return Some("names another department than its key");
    }
    if uuid::Uuid::parse_str(id).is_err() {
        return Some("has no valid id");
    }
    let Some(scores) = parse_scores(&e.str("scores")) else { return Some("has scores that are not 1 to 5") };
    if !codes_fit(&e.str("aspects"), scores.len()) {
        return Some("does not name one distinct aspect per score");
    }
    if DateTime::parse_from_rfc3339(&e.str("at")).is_err() {
        return Some("has no valid time");
    }
    None
}

/// Every well-formed rating of the document of `year` (malformed entries from a faulty peer are skipped).
pub fn ratings(doc: &AutoCommit, year: u32) -> Vec<DepartmentRating> {
    entities(doc, RATING_PREFIX)
        .filter(|(rest, e)| entry_problem(rest, e).is_none())
        .filter_map(|(rest, e)| {
            Some(DepartmentRating {
                rating_id: rest.split_once('/')?.1.to_string(),
                year,
                department: e.str("department"),
                scores: parse_scores(&e.str("scores"))?,
                aspects: parse_codes(&e.str("aspects"))?,
                actor: e.str("actor"),
                device: e.str("device"),
                role: e.str("role"),
                at: DateTime::parse_from_rfc3339(&e.str("at")).ok()?,
            })
        })
        .collect()
}

/// Every rating as a record with what it claims (the server's checks): its recorder, device, role and time.
pub fn records(doc: &AutoCommit) -> Vec<Record> {
    entity_records(doc, RATING_PREFIX, RecordKind::DepartmentRating, |rest, e| {
        let claims = Claims::of_act(e.str("actor"), e.str("device"), e.str("role"), e.str("at"));
        (label("department rating", rest.split_once('/').map_or(rest, |(_, id)| id)), claims)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::{new_document, DocId};

    const ID: &str = "0190f5a4-2b3c-7d4e-8f00-112233445566";

    fn rating(department: &str) -> DepartmentRating {
        DepartmentRating {
            rating_id: ID.into(),
            year: 2026,
            department: department.into(),
            scores: vec![4; 10],
            aspects: (1..=10).map(|n| format!("a{n}")).collect(),
            actor: "li".into(),
            device: "d2".into(),
            role: "station".into(),
            at: DateTime::parse_from_rfc3339("2026-12-01T09:00:00+08:00").expect("time"),
        }
    }

    #[test]
    fn ratings_round_trip_under_a_hashed_key() {
        let mut doc = new_document(&DocId::departments("c1", 2026), &automerge::ActorId::random()).expect("doc");
        let r = rating("区民政局");
        append(&mut doc, &r).expect("append");
        assert!(append(&mut doc, &r).is_err(), "written once");
        assert_eq!(ratings(&doc, 2026), vec![r]);
        assert_eq!(department_key("区民政局"), department_key(" 区民政局 "));
        assert_ne!(department_key("区民政局"), department_key("区城管局"));
        assert!(department_key("区民政局").is_ascii() && department_key("区民政局").len() == 17);
        let found = records(&doc);
        assert_eq!((found[0].claims.role.as_deref(), found[0].claims.grid.as_deref()), (Some("station"), None));
    }

    #[test]
    fn an_entry_under_another_departments_key_is_skipped() {
        let mut doc = new_document(&DocId::departments("c1", 2026), &automerge::ActorId::random()).expect("doc");
        let key = format!("{RATING_PREFIX}{}/{ID}", department_key("区城管局"));
        let fields = vec![("department", s("区民政局")), ("scores", s("5,5")), ("at", s("2026-12-01T09:00:00+08:00"))];
        put_entity(&mut doc, &key, &fields).expect("put");
        assert!(ratings(&doc, 2026).is_empty());
        let e = crate::docs::get_entity(&doc, &key).expect("entity");
        assert_eq!(entry_problem(&key[RATING_PREFIX.len()..], &e), Some("names another department than its key"));
    }
}
