//! The check-in log of one grid and one day: append-only entries at `checkin/<id>`. A past day's log stops
//! growing, which bounds what any one sync or load costs.

use automerge::AutoCommit;
use chrono::DateTime;

use super::{entities, list, log_records, put_entity, s, Entity, Fields, Record, RecordKind};
use crate::error::{Error, Result};
use crate::model::{CheckIn, CheckInKind, CheckInOutcome, Location};

/// Root-key prefix of check-ins: `checkin/<id>`.
pub const CHECK_IN_PREFIX: &str = "checkin/";

/// The root key of check-in `id`.
pub fn check_in_key(id: &str) -> String {
    format!("{CHECK_IN_PREFIX}{id}")
}

fn fields(c: &CheckIn) -> Fields<'static> {
    let loc = c.location;
    vec![
        ("household", s(&c.household_code)),
        ("grid", s(&c.grid)),
        ("kind", s(c.kind.code())),
        ("outcome", s(c.outcome.code())),
        ("note", s(&c.note)),
        ("photos", list(&c.photos)),
        ("lat", loc.map(|l| l.lat.into())),
        ("lon", loc.map(|l| l.lon.into())),
        ("accuracy_m", loc.and_then(|l| l.accuracy_m).map(Into::into)),
        ("at", s(&c.at.to_rfc3339())),
        ("author", s(&c.author)),
        ("device", s(&c.device_id)),
    ]
}

/// Appends a check-in to the day's log.
pub fn append(doc: &mut AutoCommit, c: &CheckIn) -> Result<()> {
    put_entity(doc, &check_in_key(&c.check_in_id), &fields(c))?;
    Ok(())
}

fn from_entity(id: String, e: &Entity) -> Result<CheckIn> {
    let bad = |why: &str| Error::document(&check_in_key(&id), why);
    let at = DateTime::parse_from_rfc3339(&e.str("at")).map_err(|_| bad("bad time"))?;
    let location = match (e.opt_f64("lat"), e.opt_f64("lon")) {
        (Some(lat), Some(lon)) => Some(Location { lat, lon, accuracy_m: e.opt_f64("accuracy_m") }),
        _ => None,
    };
    Ok(CheckIn {
        household_code: e.str("household"),
        grid: e.str("grid"),
        kind: e.str("kind").parse::<CheckInKind>().map_err(|_| bad("bad kind"))?,
        outcome: e.str("outcome").parse::<CheckInOutcome>().map_err(|_| bad("bad outcome"))?,
        note: e.str("note"),
        photos: e.list("photos"),
        location,
        at,
        author: e.str("author"),
        device_id: e.str("device"),
        check_in_id: id,
    })
}

/// Every well-formed check-in of the log (malformed entries from a faulty peer are skipped, not fatal).
pub fn check_ins(doc: &AutoCommit) -> Vec<CheckIn> {
    entities(doc, CHECK_IN_PREFIX).filter_map(|(id, e)| from_entity(id, &e).ok()).collect()
}

/// Every check-in of the log as a record, well-formed or not, with what it claims (the server's checks).
pub fn records(doc: &AutoCommit) -> Vec<Record> {
    log_records(doc, CHECK_IN_PREFIX, RecordKind::CheckIn, "check-in")
}
