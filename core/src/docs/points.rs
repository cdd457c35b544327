//! The points ledger (积分台账), one per community: redemptions the committee and station record, and the
//! credits and decisions the server writes. There is no shared container: every entry is its own map under a
//! unique root key, so entries written on several devices offline all survive a merge, and every entry is
//! append-only (the server refuses an edit or a deletion of a stored one):
//!
//! - `redeem/<uuid>`: a redemption request a committee or station device wrote (bound by the server to its
//!   author's user, device and role);
//! - `credit/<order_id>`: the server's credit for an evaluated service order (one per order);
//! - `decision/<redemption_id>`: the server's decision on a request (one per request).
//!
//! Credits and decisions claim the role and user `server`, so a device that writes one is refused. What the
//! entries mean — balances, stock, which request stands — is `crate::points`.

use std::collections::BTreeMap;

use automerge::AutoCommit;
use chrono::{DateTime, FixedOffset};

use super::{entities, entity_records, get_entity, i, label, ne, put_entity, s, Claims, Entity, Record, RecordKind};
use crate::error::{Error, Result};
use crate::points::RedemptionStatus;
use crate::workflow::SERVER_ROLE;

/// Root-key prefix of redemption requests: `redeem/<uuid>`.
pub const REDEEM_PREFIX: &str = "redeem/";
/// Root-key prefix of credits: `credit/<order_id>`.
pub const CREDIT_PREFIX: &str = "credit/";
/// Root-key prefix of decisions: `decision/<redemption_id>`.
pub const DECISION_PREFIX: &str = "decision/";

/// A redemption request as recorded (兑换申请): who redeems what, and who recorded it where and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedemptionRequest {
    /// Redemption id (UUID v7); its root key is `redeem/<redemption_id>`.
    pub redemption_id: String,
    /// The volunteer whose points pay.
    pub volunteer: String,
    /// Shop item code.
    pub item: String,
    /// Units (1–99 when well formed).
    pub quantity: u32,
    /// The price the recording device quoted (quantity × the item's price as it knew it); the server's
    /// decision charges its own price.
    pub points: u64,
    /// The user who recorded it (committee or station staff).
    pub actor: String,
    /// The device that recorded it.
    pub device: String,
    /// The recording user's role code.
    pub role: String,
    /// When it was recorded (device time).
    pub at: DateTime<FixedOffset>,
    /// Free note.
    pub note: String,
}

/// A credit for an evaluated service order, written by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credit {
    /// The service order credited; its root key is `credit/<order_id>`.
    pub order_id: String,
    /// The volunteer credited.
    pub volunteer: String,
    /// Service code.
    pub service: String,
    /// Points credited (0 for a service no longer in the catalogue).
    pub points: u64,
    /// Minutes of service credited (the honour roll's hours).
    pub minutes: u32,
    /// When the resident's rating was recorded (the honour roll's month).
    pub evaluated_at: DateTime<FixedOffset>,
    /// When the server wrote the credit.
    pub at: DateTime<FixedOffset>,
    /// The server's sequence number: 1 + the highest in the ledger when it was written.
    pub seq: u64,
}

/// The server's decision on a redemption request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The request decided; the root key is `decision/<redemption_id>`.
    pub redemption_id: String,
    /// Confirmed, or why not (never pending).
    pub status: RedemptionStatus,
    /// Points charged: the price when confirmed, else 0.
    pub points: u64,
    /// The server's sequence number.
    pub seq: u64,
    /// When the server decided.
    pub at: DateTime<FixedOffset>,
}

/// Everything in a points ledger, read once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    /// Redemption requests, in key (id) order.
    pub requests: Vec<RedemptionRequest>,
    /// Credits, in key (order id) order.
    pub credits: Vec<Credit>,
    /// Decisions by redemption id.
    pub decisions: BTreeMap<String, Decision>,
}

/// The root key of redemption `id`.
pub fn redeem_key(id: &str) -> String {
    format!("{REDEEM_PREFIX}{id}")
}
/// The root key of the credit of order `order_id`.
pub fn credit_key(order_id: &str) -> String {
    format!("{CREDIT_PREFIX}{order_id}")
}
/// The root key of the decision on redemption `id`.
pub fn decision_key(id: &str) -> String {
    format!("{DECISION_PREFIX}{id}")
}

fn time(e: &Entity, k: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(&e.str(k)).ok()
}

fn count(e: &Entity, k: &str) -> u64 {
    e.opt_i64(k).and_then(|v| u64::try_from(v).ok()).unwrap_or(0)
}

fn int(v: u64) -> Option<automerge::ScalarValue> {
    i(i64::try_from(v).unwrap_or(i64::MAX))
}

/// Writes a new redemption request. A request already in the ledger under the same id is refused (entries are
/// never rewritten).
pub fn record_redemption(doc: &mut AutoCommit, r: &RedemptionRequest) -> Result<()> {
    let key = redeem_key(&r.redemption_id);
    if get_entity(doc, &key).is_some() {
        return Err(Error::document(&key, "the redemption is already recorded"));
    }
    let fields = vec![
        ("redemption_id", s(&r.redemption_id)),
        ("volunteer", s(&r.volunteer)),
        ("item", s(&r.item)),
        ("quantity", i(i64::from(r.quantity))),
        ("points", int(r.points)),
        ("actor", s(&r.actor)),
        ("device", s(&r.device)),
        ("role", s(&r.role)),
        ("at", s(&r.at.to_rfc3339())),
        ("note", ne(&r.note)),
    ];
    put_entity(doc, &key, &fields)?;
    Ok(())
}

/// Writes the server's credit of an order. Refused when the order is already credited.
pub(crate) fn write_credit(doc: &mut AutoCommit, c: &Credit) -> Result<()> {
    let key = credit_key(&c.order_id);
    if get_entity(doc, &key).is_some() {
        return Err(Error::document(&key, "the order is already credited"));
    }
    let fields = vec![
        ("volunteer", s(&c.volunteer)),
        ("service", s(&c.service)),
        ("points", int(c.points)),
        ("minutes", i(i64::from(c.minutes))),
        ("evaluated_at", s(&c.evaluated_at.to_rfc3339())),
        ("at", s(&c.at.to_rfc3339())),
        ("seq", int(c.seq)),
    ];
    put_entity(doc, &key, &fields)?;
    Ok(())
}

/// Writes the server's decision on a request. Refused when the request is already decided.
pub(crate) fn write_decision(doc: &mut AutoCommit, d: &Decision) -> Result<()> {
    let key = decision_key(&d.redemption_id);
    if get_entity(doc, &key).is_some() {
        return Err(Error::document(&key, "the redemption is already decided"));
    }
    let fields = vec![
        ("status", s(d.status.code())),
        ("points", int(d.points)),
        ("seq", int(d.seq)),
        ("at", s(&d.at.to_rfc3339())),
    ];
    put_entity(doc, &key, &fields)?;
    Ok(())
}

/// Whether the ledger holds a decision on redemption `id` (readable or not).
pub fn is_decided(doc: &AutoCommit, id: &str) -> bool {
    get_entity(doc, &decision_key(id)).is_some()
}

/// Whether the ledger holds a credit of order `order_id`.
pub fn is_credited(doc: &AutoCommit, order_id: &str) -> bool {
    get_entity(doc, &credit_key(order_id)).is_some()
}

impl Ledger {
    /// Reads every entry. An entry without a valid time, or a decision whose status this build does not know,
    /// is left out (the server refuses a device's entry without a valid time, and writes the rest itself).
    pub fn read(doc: &AutoCommit) -> Ledger {
        let requests = entities(doc, REDEEM_PREFIX)
            .filter_map(|(id, e)| {
                Some(RedemptionRequest {
                    volunteer: e.str("volunteer"),
                    item: e.str("item"),
                    quantity: u32::try_from(count(&e, "quantity")).unwrap_or(0),
                    points: count(&e, "points"),
                    actor: e.str("actor"),
                    device: e.str("device"),
                    role: e.str("role"),
                    at: time(&e, "at")?,
                    note: e.str("note"),
                    redemption_id: id,
                })
            })
            .collect();
        let credits = entities(doc, CREDIT_PREFIX)
            .filter_map(|(order_id, e)| {
                Some(Credit {
                    volunteer: e.str("volunteer"),
                    service: e.str("service"),
                    points: count(&e, "points"),
                    minutes: u32::try_from(count(&e, "minutes")).unwrap_or(u32::MAX),
                    evaluated_at: time(&e, "evaluated_at")?,
                    at: time(&e, "at")?,
                    seq: count(&e, "seq"),
                    order_id,
                })
            })
            .collect();
        let decisions = entities(doc, DECISION_PREFIX)
            .filter_map(|(id, e)| {
                let status = e.str("status").parse::<RedemptionStatus>().ok()?;
                if status == RedemptionStatus::Pending {
                    return None;
                }
                let decision = Decision {
                    status,
                    points: count(&e, "points"),
                    seq: count(&e, "seq"),
                    at: time(&e, "at")?,
                    redemption_id: id.clone(),
                };
                Some((id, decision))
            })
            .collect();
        Ledger { requests, credits, decisions }
    }

    /// The highest sequence number of any credit or decision (0 in an empty ledger).
    pub fn max_seq(&self) -> u64 {
        let credits = self.credits.iter().map(|c| c.seq);
        credits.chain(self.decisions.values().map(|d| d.seq)).max().unwrap_or(0)
    }

    /// The request with id `id`.
    pub fn request(&self, id: &str) -> Option<&RedemptionRequest> {
        self.requests.iter().find(|r| r.redemption_id == id)
    }

    /// The decision on request `id`, if the server has made it.
    pub fn decision(&self, id: &str) -> Option<&Decision> {
        self.decisions.get(id)
    }
}

/// The ledger's records, for the server's content checks: a redemption claims its recorder's user, device,
/// role and time; a credit or a decision claims the user and role `server` whatever it holds, so only the
/// server itself may write one.
pub fn records(doc: &AutoCommit) -> Vec<Record> {
    let mut out = entity_records(doc, REDEEM_PREFIX, RecordKind::Redemption, |id, e| {
        let claims = Claims::of_act(e.str("actor"), e.str("device"), e.str("role"), e.str("at"));
        (label("redemption", id), claims)
    });
    let server = |e: &Entity| Claims {
        grid: None,
        household: None,
        user: Some(SERVER_ROLE.into()),
        device: None,
        role: Some(SERVER_ROLE.into()),
        at: Some(e.str("at")),
    };
    out.extend(entity_records(doc, CREDIT_PREFIX, RecordKind::PointsEntry, |id, e| {
        (label("points credit of order", id), server(e))
    }));
    out.extend(entity_records(doc, DECISION_PREFIX, RecordKind::PointsEntry, |id, e| {
        (label("decision on redemption", id), server(e))
    }));
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::docs::{new_document, DocId};

    pub(crate) fn at(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).expect("fixed time")
    }

    pub(crate) fn request(id: &str, volunteer: &str, item: &str, quantity: u32) -> RedemptionRequest {
        RedemptionRequest {
            redemption_id: id.into(),
            volunteer: volunteer.into(),
            item: item.into(),
            quantity,
            points: 0,
            actor: "li".into(),
            device: "d1".into(),
            role: "station".into(),
            at: at("2026-11-24T09:00:00+08:00"),
            note: String::new(),
        }
    }

    #[test]
    fn entries_round_trip_and_are_written_once() {
        let mut doc = new_document(&DocId::points("c1"), &automerge::ActorId::random()).expect("doc");
        let r = RedemptionRequest { note: "柜台".into(), points: 30, ..request("r1", "zhang", "eggs", 1) };
        record_redemption(&mut doc, &r).expect("record");
        assert!(record_redemption(&mut doc, &r).is_err(), "recorded once");
        let t = at("2026-11-24T10:00:00+08:00");
        let credit = Credit {
            order_id: "o1".into(),
            volunteer: "zhang".into(),
            service: "meal_delivery".into(),
            points: 10,
            minutes: 60,
            evaluated_at: t,
            at: t,
            seq: 1,
        };
        write_credit(&mut doc, &credit).expect("credit");
        assert!(write_credit(&mut doc, &credit).is_err(), "credited once");
        let decision =
            Decision { redemption_id: "r1".into(), status: RedemptionStatus::Confirmed, points: 30, seq: 2, at: t };
        write_decision(&mut doc, &decision).expect("decision");
        assert!(write_decision(&mut doc, &decision).is_err(), "decided once");
        let ledger = Ledger::read(&doc);
        assert_eq!(ledger.requests, vec![r]);
        assert_eq!(ledger.credits, vec![credit]);
        assert_eq!(ledger.decision("r1"), Some(&decision));
        assert_eq!(ledger.max_seq(), 2);
        assert!(is_decided(&doc, "r1") && is_credited(&doc, "o1") && !is_credited(&doc, "o2"));
    }

    #[test]
    fn records_bind_redemptions_to_their_recorder_and_the_rest_to_the_server() {
        let mut doc = new_document(&DocId::points("c1"), &automerge::ActorId::random()).expect("doc");
        record_redemption(&mut doc, &request("r1", "zhang", "eggs", 1)).expect("record");
        // A device's forged decision claiming to be its own still claims the server.
        put_entity(
            &mut doc,
            &decision_key("r1"),
            &vec![("status", s("confirmed")), ("role", s("station")), ("at", s("2026-11-24T10:00:00+08:00"))],
        )
        .expect("forged");
        put_entity(&mut doc, &credit_key("o1"), &vec![("points", i(1000))]).expect("forged credit");
        let found = records(&doc);
        let redemption = found.iter().find(|r| r.kind == RecordKind::Redemption).expect("redemption");
        assert_eq!(
            (redemption.claims.user.as_deref(), redemption.claims.role.as_deref(), redemption.claims.device.as_deref()),
            (Some("li"), Some("station"), Some("d1"))
        );
        assert!(RecordKind::Redemption.append_only() && RecordKind::PointsEntry.append_only());
        let entries: Vec<&Record> = found.iter().filter(|r| r.kind == RecordKind::PointsEntry).collect();
        assert_eq!(entries.len(), 2);
        for e in entries {
            assert_eq!((e.claims.user.as_deref(), e.claims.role.as_deref()), (Some("server"), Some("server")));
        }
    }

    #[test]
    fn unreadable_entries_are_left_out() {
        let mut doc = new_document(&DocId::points("c1"), &automerge::ActorId::random()).expect("doc");
        put_entity(&mut doc, &redeem_key("r1"), &vec![("volunteer", s("zhang")), ("at", s("yesterday"))]).expect("put");
        let t = "2026-11-24T10:00:00+08:00";
        put_entity(&mut doc, &decision_key("r2"), &vec![("status", s("pending")), ("at", s(t))]).expect("put");
        put_entity(&mut doc, &decision_key("r3"), &vec![("status", s("teleported")), ("at", s(t))]).expect("put");
        let ledger = Ledger::read(&doc);
        assert!(ledger.requests.is_empty() && ledger.decisions.is_empty());
        assert!(is_decided(&doc, "r3"), "still decided: the server never decides it again");
    }
}
