//! The visit log of one grid and one month: append-only entries at `visit/<id>`, each a map of scalar fields
//! (lists of codes as `;`-joined strings). Two phones recording visits offline in the same month each add
//! their own keys, so a merge keeps both.

use automerge::AutoCommit;
use chrono::{DateTime, NaiveDate};

use super::{entities, i, list, log_records, os, put_entity, s, Entity, Fields, Record, RecordKind};
use crate::error::{Error, Result};
use crate::model::{Visit, VisitKind};

/// Root-key prefix of visits: `visit/<id>`.
pub const VISIT_PREFIX: &str = "visit/";

/// The root key of visit `id`.
pub fn visit_key(id: &str) -> String {
    format!("{VISIT_PREFIX}{id}")
}

fn fields(v: &Visit) -> Fields<'static> {
    vec![
        ("household", s(&v.household_code)),
        ("grid", s(&v.grid)),
        ("residents", list(&v.residents)),
        ("kind", s(v.kind.code())),
        ("at", s(&v.at.to_rfc3339())),
        ("day", s(&v.day.to_string())),
        ("duration_min", v.duration_min.and_then(|d| i(d.into()))),
        ("services", list(&v.services)),
        ("needs", s(&v.needs)),
        ("need_tags", list(&v.need_tags)),
        ("follow_up", os(&v.follow_up.map(|d| d.to_string()))),
        ("satisfaction", v.satisfaction.and_then(|n| i(n.into()))),
        ("photos", list(&v.photos)),
        ("author", s(&v.author)),
        ("device", s(&v.device_id)),
    ]
}

/// Appends a visit to the month's log.
pub fn append(doc: &mut AutoCommit, v: &Visit) -> Result<()> {
    put_entity(doc, &visit_key(&v.visit_id), &fields(v))?;
    Ok(())
}

fn from_entity(id: String, e: &Entity) -> Result<Visit> {
    let bad = |why: &str| Error::document(&visit_key(&id), why);
    let at = DateTime::parse_from_rfc3339(&e.str("at")).map_err(|_| bad("bad time"))?;
    let day = NaiveDate::parse_from_str(&e.str("day"), crate::model::DAY_FORMAT).map_err(|_| bad("bad day"))?;
    let follow_up = match e.opt_str("follow_up") {
        Some(d) => {
            Some(NaiveDate::parse_from_str(&d, crate::model::DAY_FORMAT).map_err(|_| bad("bad follow-up date"))?)
        }
        None => None,
    };
    Ok(Visit {
        household_code: e.str("household"),
        grid: e.str("grid"),
        residents: e.list("residents"),
        kind: e.str("kind").parse::<VisitKind>().map_err(|_| bad("bad kind"))?,
        at,
        day,
        duration_min: e.opt_i64("duration_min").and_then(|d| u32::try_from(d).ok()),
        services: e.list("services"),
        needs: e.str("needs"),
        need_tags: e.list("need_tags"),
        follow_up,
        satisfaction: e.opt_i64("satisfaction").and_then(|n| u8::try_from(n).ok()),
        photos: e.list("photos"),
        author: e.str("author"),
        device_id: e.str("device"),
        visit_id: id,
    })
}

/// Every well-formed visit of the log (malformed entries from a faulty peer are skipped, not fatal).
pub fn visits(doc: &AutoCommit) -> Vec<Visit> {
    entities(doc, VISIT_PREFIX).filter_map(|(id, e)| from_entity(id, &e).ok()).collect()
}

/// Every visit of the log as a record, well-formed or not, with what it claims (the server's checks).
pub fn records(doc: &AutoCommit) -> Vec<Record> {
    log_records(doc, VISIT_PREFIX, RecordKind::Visit, "visit")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::{new_document, DocId};

    fn visit(id: &str, residents: &[&str]) -> Visit {
        Visit {
            visit_id: id.into(),
            household_code: "H1".into(),
            grid: "G01".into(),
            residents: residents.iter().map(|r| r.to_string()).collect(),
            kind: VisitKind::Home,
            at: DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00").expect("time"),
            day: NaiveDate::from_ymd_opt(2026, 11, 24).expect("day"),
            duration_min: Some(45),
            services: vec!["life_care".into(), "companionship".into()],
            needs: "膝盖疼".into(),
            need_tags: vec!["rehabilitation".into()],
            follow_up: NaiveDate::from_ymd_opt(2026, 12, 1),
            satisfaction: Some(5),
            photos: vec![],
            author: "社工".into(),
            device_id: "d".into(),
        }
    }

    #[test]
    fn concurrent_visits_in_one_month_both_survive_a_merge() {
        let id = DocId::visit_log("c1", "G01", "2026-11");
        let mut a = new_document(&id, &automerge::ActorId::random()).expect("a");
        let mut b = new_document(&id, &automerge::ActorId::random()).expect("b");
        append(&mut a, &visit("1", &["王"])).expect("a");
        append(&mut b, &visit("2", &[])).expect("b");
        a.merge(&mut b).expect("merge");
        let got = visits(&a);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], visit("1", &["王"]));
        assert_eq!(got[1].residents, Vec::<String>::new());
    }
}
