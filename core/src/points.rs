//! Volunteer points (积分): the one place for balances, stock and which redemption stands.
//!
//! The rule: a volunteer's balance is the points credited for their evaluated service orders less the points
//! of their confirmed redemptions; an item's stock left is the units taken in less the units of confirmed
//! redemptions. Only the server confirms, so neither can go below zero, also when several devices record
//! redemptions offline: a device records a request (`pending`), and the server decides every undecided request
//! one after another under the ledger document's row lock — in request-time order, then by id — against the
//! ledger so far ([`decide`]). The one decided second, when two together would overdraw, reads
//! `points_insufficient` (or `out_of_stock`); both requests and both decisions stay in the ledger.
//!
//! Escrow (each device holding a pre-allocated share of a balance) was the other choice; it was left aside
//! because a volunteer redeems at whichever counter they walk into, and a share parked on another device
//! would refuse a redemption the volunteer's balance covers. A pending state costs one sync round and is
//! honest about it.
//!
//! Every function here is pure except [`decide_pending`] and [`credit_evaluated`], which write the server's
//! entries into the ledger document they are given; the clock is passed in.

use std::collections::BTreeMap;

use automerge::AutoCommit;
use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::Serialize;

use crate::codes::coded_enum;
use crate::docs::points::{is_credited, is_decided, write_credit, write_decision};
pub use crate::docs::points::{Credit, Decision, Ledger, RedemptionRequest};
use crate::error::{Error, Result};
use crate::model::CommunitySettings;
use crate::schedule::Month;
use crate::workflow::SERVER_ROLE;

/// Fewest units of one redemption.
pub const MIN_QUANTITY: u32 = 1;
/// Most units of one redemption.
pub const MAX_QUANTITY: u32 = 99;
/// Longest volunteer name in the ledger, in characters.
pub const MAX_VOLUNTEER_CHARS: usize = 64;

coded_enum! {
    #[codes(field = "status", name = "redemption status", list = true)]
    /// Where a redemption request stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
    #[serde(rename_all = "snake_case")]
    #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
    pub enum RedemptionStatus {
        /// Recorded; the server has not decided it yet (it syncs back with the next sync).
        Pending = "pending",
        /// The server confirmed it: the points are charged and the units handed out.
        Confirmed = "confirmed",
        /// Refused: the volunteer's balance did not cover it when the server decided.
        PointsInsufficient = "points_insufficient",
        /// Refused: fewer units were left than it asked for.
        OutOfStock = "out_of_stock",
        /// Refused: the item is not in the love supermarket, or the request cannot be priced (a quantity outside
        /// 1–99, no volunteer).
        UnknownItem = "unknown_item",
    }
}

coded_enum! {
    #[codes(field = "kind", name = "points entry kind", list = true)]
    /// What a row of a volunteer's points history is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
    #[serde(rename_all = "snake_case")]
    #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
    pub enum PointsEntryKind {
        /// Points credited for an evaluated service order.
        Credit = "credit",
        /// A redemption at the love supermarket, with its status.
        Redemption = "redemption",
    }
}

/// A volunteer's points as the ledger says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PointsBalance {
    /// The volunteer.
    pub volunteer: String,
    /// Points available: `earned − redeemed`.
    pub balance: u64,
    /// Points credited for evaluated service orders.
    pub earned: u64,
    /// Points of confirmed redemptions.
    pub redeemed: u64,
    /// Points of redemptions recorded but not decided yet (their quoted prices); not taken off the balance.
    pub pending: u64,
}

/// The status of one request against the ledger so far, with the figures behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Confirmed, or why not (never pending).
    pub status: RedemptionStatus,
    /// The price: quantity × the item's price points (0 for an unknown item).
    pub points: u64,
    /// The volunteer's balance before it.
    pub balance: u64,
    /// Units of the item left before it.
    pub left: u32,
}

impl Verdict {
    /// The error a refused request is reported with (`None` when confirmed).
    pub fn refusal(&self, request: &RedemptionRequest) -> Option<Error> {
        match self.status {
            RedemptionStatus::Pending | RedemptionStatus::Confirmed => None,
            RedemptionStatus::PointsInsufficient => Some(Error::PointsInsufficient {
                volunteer: request.volunteer.clone(),
                balance: self.balance,
                needed: self.points,
            }),
            RedemptionStatus::OutOfStock => {
                Some(Error::OutOfStock { item: request.item.clone(), left: self.left, wanted: request.quantity })
            }
            RedemptionStatus::UnknownItem => Some(Error::UnknownItem(request.item.clone())),
        }
    }
}

/// One volunteer's row of the monthly honour roll (荣誉墙).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct HonourRow {
    /// The volunteer.
    pub volunteer: String,
    /// Service orders credited (evaluated) that month.
    pub orders: u32,
    /// Minutes of service credited that month.
    pub minutes: u32,
    /// Points credited that month.
    pub points: u64,
}

/// One row of a volunteer's points history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PointsEntry {
    /// Credit or redemption.
    pub kind: PointsEntryKind,
    /// The service order credited, or the redemption's id.
    pub entry_id: String,
    /// The volunteer.
    pub volunteer: String,
    /// Service code (credit) or shop item code (redemption).
    pub code: String,
    /// Units redeemed (1 for a credit).
    pub quantity: u32,
    /// Points credited; for a redemption the points charged once confirmed, else its quoted price.
    pub points: u64,
    /// Minutes of service (credits only).
    pub minutes: u32,
    /// The redemption's status (redemptions only).
    pub status: Option<RedemptionStatus>,
    /// Who recorded it: the staff member of a redemption, `server` for a credit.
    pub recorded_by: String,
    /// When: the order's evaluation, or the redemption's recording.
    pub at: DateTime<FixedOffset>,
}

fn price(settings: &CommunitySettings, request: &RedemptionRequest) -> Option<u64> {
    let item = settings.shop_item(&request.item)?;
    Some(u64::from(request.quantity) * u64::from(item.price_points))
}

/// A volunteer's balance in `ledger`.
pub fn balance(ledger: &Ledger, volunteer: &str) -> PointsBalance {
    let earned = ledger.credits.iter().filter(|c| c.volunteer == volunteer).map(|c| c.points).sum::<u64>();
    let (mut redeemed, mut pending) = (0u64, 0u64);
    for r in ledger.requests.iter().filter(|r| r.volunteer == volunteer) {
        match ledger.decision(&r.redemption_id) {
            Some(d) if d.status == RedemptionStatus::Confirmed => redeemed = redeemed.saturating_add(d.points),
            Some(_) => {}
            None => pending = pending.saturating_add(r.points),
        }
    }
    PointsBalance {
        volunteer: volunteer.to_string(),
        balance: earned.saturating_sub(redeemed),
        earned,
        redeemed,
        pending,
    }
}

/// Units of shop item `item` left: those taken in less those of confirmed redemptions (0 for an item not in
/// the shop).
pub fn stock_left(ledger: &Ledger, settings: &CommunitySettings, item: &str) -> u32 {
    let Some(shop_item) = settings.shop_item(item) else { return 0 };
    let handed_out = ledger
        .requests
        .iter()
        .filter(|r| r.item == item)
        .filter(|r| ledger.decision(&r.redemption_id).is_some_and(|d| d.status == RedemptionStatus::Confirmed))
        .fold(0u32, |n, r| n.saturating_add(r.quantity));
    shop_item.stock.saturating_sub(handed_out)
}

/// The status `request` gets against the ledger so far and the settings: an item not in the shop (or a
/// request that cannot be priced) is `unknown_item`; a price over the volunteer's balance is
/// `points_insufficient`; more units than are left is `out_of_stock`; anything else is `confirmed`.
pub fn decide(ledger: &Ledger, settings: &CommunitySettings, request: &RedemptionRequest) -> Verdict {
    let balance = balance(ledger, &request.volunteer).balance;
    let left = stock_left(ledger, settings, &request.item);
    let well_formed = (MIN_QUANTITY..=MAX_QUANTITY).contains(&request.quantity) && !request.volunteer.is_empty();
    let verdict = |status, points| Verdict { status, points, balance, left };
    let Some(points) = price(settings, request).filter(|_| well_formed) else {
        return verdict(RedemptionStatus::UnknownItem, 0);
    };
    if points > balance {
        return verdict(RedemptionStatus::PointsInsufficient, points);
    }
    if request.quantity > left {
        return verdict(RedemptionStatus::OutOfStock, points);
    }
    verdict(RedemptionStatus::Confirmed, points)
}

/// Decides, in memory and one after another, every undecided request `which` selects — in request-time order,
/// then by id — adding each decision to `ledger` with the next sequence number. Returns the decisions.
fn decide_in_order(
    ledger: &mut Ledger,
    settings: &CommunitySettings,
    now: DateTime<FixedOffset>,
    which: impl Fn(&RedemptionRequest) -> bool,
) -> Vec<Decision> {
    let mut undecided: Vec<RedemptionRequest> =
        ledger.requests.iter().filter(|r| ledger.decision(&r.redemption_id).is_none() && which(r)).cloned().collect();
    undecided.sort_by(|a, b| (a.at, &a.redemption_id).cmp(&(b.at, &b.redemption_id)));
    let mut made = Vec::with_capacity(undecided.len());
    for request in undecided {
        let verdict = decide(ledger, settings, &request);
        let charged = if verdict.status == RedemptionStatus::Confirmed { verdict.points } else { 0 };
        let decision = Decision {
            redemption_id: request.redemption_id.clone(),
            status: verdict.status,
            points: charged,
            seq: ledger.max_seq() + 1,
            at: now,
        };
        ledger.decisions.insert(request.redemption_id, decision.clone());
        made.push(decision);
    }
    made
}

/// The server: decides every undecided request of the ledger document (see [`decide`]) in request-time
/// order, then by id, and writes each `decision/<id>` with increasing sequence numbers. Returns the decisions
/// written (none when nothing was pending). Call it under the ledger's row lock, on the latest copy.
pub fn decide_pending(
    doc: &mut AutoCommit,
    settings: &CommunitySettings,
    now: DateTime<FixedOffset>,
) -> Result<Vec<Decision>> {
    let mut ledger = Ledger::read(doc);
    // A decision this build cannot read still counts as made: it is never made twice.
    let decisions = decide_in_order(&mut ledger, settings, now, |r| !is_decided(doc, &r.redemption_id));
    for d in &decisions {
        write_decision(doc, d)?;
    }
    Ok(decisions)
}

/// The ledger as a device that recorded requests itself should read it before recording another: its own
/// undecided requests (by `device`) decided as the server would decide them now. Refusing at once what this
/// view already refuses saves a round trip; the server still decides.
pub fn with_own_pending(
    ledger: &Ledger,
    settings: &CommunitySettings,
    device: &str,
    now: DateTime<FixedOffset>,
) -> Ledger {
    let mut view = ledger.clone();
    decide_in_order(&mut view, settings, now, |r| r.device == device);
    view
}

/// The server: credits the volunteer of an evaluated service order with the service's points and minutes from
/// the catalogue (a service no longer in it credits 0 but still counts the order), under `credit/<order_id>`
/// with the next sequence number. Idempotent: returns false, writing nothing, when the order is already
/// credited.
pub fn credit_evaluated(
    doc: &mut AutoCommit,
    order_id: &str,
    volunteer: &str,
    service: &str,
    evaluated_at: DateTime<FixedOffset>,
    settings: &CommunitySettings,
    now: DateTime<FixedOffset>,
) -> Result<bool> {
    if uuid::Uuid::parse_str(order_id).is_err() {
        return Err(Error::invalid("order_id", format!("{order_id:?} is not an order id")));
    }
    check_volunteer(volunteer)?;
    if is_credited(doc, order_id) {
        return Ok(false);
    }
    let offer = settings.service(service);
    let credit = Credit {
        order_id: order_id.to_string(),
        volunteer: volunteer.to_string(),
        service: service.to_string(),
        points: offer.map_or(0, |o| u64::from(o.points)),
        minutes: offer.map_or(0, |o| o.minutes),
        evaluated_at,
        at: now,
        seq: Ledger::read(doc).max_seq() + 1,
    };
    write_credit(doc, &credit)?;
    Ok(true)
}

/// Refuses an empty or over-long volunteer name.
pub fn check_volunteer(volunteer: &str) -> Result<()> {
    if volunteer.trim().is_empty() {
        return Err(Error::invalid("volunteer", "a volunteer is required"));
    }
    if volunteer.chars().count() > MAX_VOLUNTEER_CHARS {
        return Err(Error::invalid("volunteer", format!("longer than {MAX_VOLUNTEER_CHARS} characters")));
    }
    Ok(())
}

/// The honour roll of `month` (荣誉墙): per volunteer, the orders credited whose evaluation falls in the month
/// (in the community's time zone `tz`), their minutes and points; most points first, then most minutes, then
/// by name.
pub fn honour_roll(ledger: &Ledger, month: &Month, tz: chrono_tz::Tz) -> Vec<HonourRow> {
    let mut rows: BTreeMap<&str, HonourRow> = BTreeMap::new();
    for c in &ledger.credits {
        if !month.contains(c.evaluated_at.with_timezone(&tz).date_naive()) {
            continue;
        }
        let row = rows.entry(c.volunteer.as_str()).or_insert_with(|| HonourRow {
            volunteer: c.volunteer.clone(),
            orders: 0,
            minutes: 0,
            points: 0,
        });
        row.orders = row.orders.saturating_add(1);
        row.minutes = row.minutes.saturating_add(c.minutes);
        row.points = row.points.saturating_add(c.points);
    }
    let mut rows: Vec<HonourRow> = rows.into_values().collect();
    rows.sort_by(|a, b| b.points.cmp(&a.points).then(b.minutes.cmp(&a.minutes)).then(a.volunteer.cmp(&b.volunteer)));
    rows
}

/// One volunteer's points in the monthly ledger (电子台账).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolunteerMonth {
    /// The volunteer.
    pub volunteer: String,
    /// Points credited for orders evaluated in the month.
    pub earned: u64,
    /// Points of confirmed redemptions recorded in the month.
    pub redeemed: u64,
    /// The balance at the end of the cut-off day: credits less confirmed redemptions up to then.
    pub balance: u64,
}

/// Every volunteer's points of `month` in the ledger (the days in the community's time zone `tz`), with the
/// balance at the end of `until` — the credits of orders evaluated and the confirmed redemptions recorded up
/// to then —, by name; volunteers with nothing in the month and nothing left are not listed.
pub fn month_points(ledger: &Ledger, month: &Month, until: NaiveDate, tz: chrono_tz::Tz) -> Vec<VolunteerMonth> {
    let day = |at: &DateTime<FixedOffset>| at.with_timezone(&tz).date_naive();
    // Per volunteer: (earned in month, redeemed in month, credited to date, redeemed to date).
    let mut sums: BTreeMap<&str, (u64, u64, u64, u64)> = BTreeMap::new();
    for c in ledger.credits.iter().filter(|c| day(&c.evaluated_at) <= until) {
        let s = sums.entry(c.volunteer.as_str()).or_default();
        s.2 = s.2.saturating_add(c.points);
        if month.contains(day(&c.evaluated_at)) {
            s.0 = s.0.saturating_add(c.points);
        }
    }
    for r in ledger.requests.iter().filter(|r| day(&r.at) <= until) {
        let (status, points) = status_of(ledger, r);
        if status != RedemptionStatus::Confirmed {
            continue;
        }
        let s = sums.entry(r.volunteer.as_str()).or_default();
        s.3 = s.3.saturating_add(points);
        if month.contains(day(&r.at)) {
            s.1 = s.1.saturating_add(points);
        }
    }
    sums.into_iter()
        .map(|(volunteer, (earned, redeemed, credited, spent))| VolunteerMonth {
            volunteer: volunteer.to_string(),
            earned,
            redeemed,
            balance: credited.saturating_sub(spent),
        })
        .filter(|v| v.earned > 0 || v.redeemed > 0 || v.balance > 0)
        .collect()
}

/// A volunteer's credits and redemptions (with their status), newest first.
pub fn history(ledger: &Ledger, volunteer: &str) -> Vec<PointsEntry> {
    let credits = ledger.credits.iter().filter(|c| c.volunteer == volunteer).map(|c| PointsEntry {
        kind: PointsEntryKind::Credit,
        entry_id: c.order_id.clone(),
        volunteer: c.volunteer.clone(),
        code: c.service.clone(),
        quantity: 1,
        points: c.points,
        minutes: c.minutes,
        status: None,
        recorded_by: SERVER_ROLE.into(),
        at: c.evaluated_at,
    });
    let redemptions = ledger.requests.iter().filter(|r| r.volunteer == volunteer).map(|r| {
        let (status, points) = status_of(ledger, r);
        PointsEntry {
            kind: PointsEntryKind::Redemption,
            entry_id: r.redemption_id.clone(),
            volunteer: r.volunteer.clone(),
            code: r.item.clone(),
            quantity: r.quantity,
            points,
            minutes: 0,
            status: Some(status),
            recorded_by: r.actor.clone(),
            at: r.at,
        }
    });
    let mut rows: Vec<PointsEntry> = credits.chain(redemptions).collect();
    rows.sort_by(|a, b| (b.at, &b.entry_id).cmp(&(a.at, &a.entry_id)));
    rows
}

/// A request's status and its points: charged once decided, the quoted price while pending.
pub fn status_of(ledger: &Ledger, request: &RedemptionRequest) -> (RedemptionStatus, u64) {
    match ledger.decision(&request.redemption_id) {
        Some(d) if d.status == RedemptionStatus::Confirmed => (d.status, d.points),
        Some(d) => (d.status, request.points),
        None => (RedemptionStatus::Pending, request.points),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::points::tests::{at, request};
    use crate::docs::points::{record_redemption, Ledger};
    use crate::docs::{new_document, DocId};

    const ORDER: &str = "0190f5a4-2b3c-7d4e-8f00-112233445566";
    const ORDER2: &str = "0190f5a4-2b3c-7d4e-8f00-112233445577";

    fn settings() -> CommunitySettings {
        CommunitySettings::defaults("c1", "", crate::model::DEFAULT_TIME_ZONE)
    }

    fn ledger_doc() -> AutoCommit {
        new_document(&DocId::points("c1"), &automerge::ActorId::random()).expect("doc")
    }

    fn now() -> DateTime<FixedOffset> {
        at("2026-11-24T12:00:00+08:00")
    }

    /// A ledger where zhang earned 10 (meal delivery) + 12 (cleaning) = 22 points.
    fn credited() -> AutoCommit {
        let mut doc = ledger_doc();
        let s = settings();
        let t = at("2026-11-20T10:00:00+08:00");
        assert!(credit_evaluated(&mut doc, ORDER, "zhang", "meal_delivery", t, &s, now()).expect("credit"));
        assert!(credit_evaluated(&mut doc, ORDER2, "zhang", "cleaning", t, &s, now()).expect("credit"));
        doc
    }

    #[test]
    fn statuses_and_kinds_have_stable_codes() {
        for (status, code) in RedemptionStatus::ALL.iter().zip([
            "pending",
            "confirmed",
            "points_insufficient",
            "out_of_stock",
            "unknown_item",
        ]) {
            assert_eq!(status.code(), code);
            assert_eq!(serde_json::to_value(status).ok(), Some(serde_json::Value::String(code.into())));
            assert_eq!(code.parse::<RedemptionStatus>().ok(), Some(*status));
        }
        assert_eq!(PointsEntryKind::Credit.code(), "credit");
        let refused = Verdict { status: RedemptionStatus::PointsInsufficient, points: 30, balance: 22, left: 40 };
        let e = refused.refusal(&request("r1", "zhang", "eggs", 1)).expect("refused");
        assert_eq!(e.code(), crate::ErrorCode::PointsInsufficient);
    }

    #[test]
    fn credits_are_written_once_per_order_and_take_the_catalogue_amount() {
        let mut doc = credited();
        let s = settings();
        let again = credit_evaluated(&mut doc, ORDER, "zhang", "meal_delivery", now(), &s, now()).expect("again");
        assert!(!again, "an order is credited once");
        let ledger = Ledger::read(&doc);
        assert_eq!(
            ledger.credits.iter().map(|c| (c.points, c.minutes, c.seq)).collect::<Vec<_>>(),
            [(10, 60, 1), (12, 120, 2)]
        );
        let gone = "0190f5a4-2b3c-7d4e-8f00-112233445588";
        assert!(credit_evaluated(&mut doc, gone, "zhang", "retired_service", now(), &s, now()).expect("credit"));
        let c = Ledger::read(&doc).credits.into_iter().find(|c| c.order_id == gone).expect("credited");
        assert_eq!((c.points, c.minutes, c.seq), (0, 0, 3), "a service no longer offered credits nothing but counts");
        assert!(credit_evaluated(&mut doc, "o-1", "zhang", "meal_delivery", now(), &s, now()).is_err());
        assert!(credit_evaluated(&mut doc, ORDER, " ", "meal_delivery", now(), &s, now()).is_err());
    }

    #[test]
    fn decide_checks_item_then_balance_then_stock() {
        let doc = credited();
        let ledger = Ledger::read(&doc);
        let mut s = settings();
        let decide_one = |r: RedemptionRequest, s: &CommunitySettings| decide(&ledger, s, &r);
        // Towels cost 20: one fits 22 points, two do not.
        let one = decide_one(request("r1", "zhang", "towel", 1), &s);
        assert_eq!((one.status, one.points, one.balance, one.left), (RedemptionStatus::Confirmed, 20, 22, 50));
        assert_eq!(decide_one(request("r1", "zhang", "towel", 2), &s).status, RedemptionStatus::PointsInsufficient);
        assert_eq!(decide_one(request("r1", "li", "towel", 1), &s).status, RedemptionStatus::PointsInsufficient);
        assert_eq!(decide_one(request("r1", "zhang", "caviar", 1), &s).status, RedemptionStatus::UnknownItem);
        for bad in [0, MAX_QUANTITY + 1] {
            assert_eq!(decide_one(request("r1", "zhang", "towel", bad), &s).status, RedemptionStatus::UnknownItem);
        }
        s.shop_items.iter_mut().filter(|i| i.code == "towel").for_each(|i| i.stock = 0);
        assert_eq!(decide_one(request("r1", "zhang", "towel", 1), &s).status, RedemptionStatus::OutOfStock);
        // Balance before stock: both fail, the balance is named.
        assert_eq!(decide_one(request("r1", "zhang", "towel", 5), &s).status, RedemptionStatus::PointsInsufficient);
    }

    #[test]
    fn pending_requests_are_decided_once_in_request_time_order() {
        let mut doc = credited();
        let s = settings();
        // Both want a towel (20 of 22 points); the later request was recorded first in the document.
        let late =
            RedemptionRequest { at: at("2026-11-24T10:00:00+08:00"), points: 20, ..request("a", "zhang", "towel", 1) };
        let early =
            RedemptionRequest { at: at("2026-11-24T09:30:00+08:00"), points: 20, ..request("b", "zhang", "towel", 1) };
        record_redemption(&mut doc, &late).expect("late");
        record_redemption(&mut doc, &early).expect("early");
        let before = balance(&Ledger::read(&doc), "zhang");
        assert_eq!((before.balance, before.pending), (22, 40));
        let decided = decide_pending(&mut doc, &s, now()).expect("decide");
        let got: Vec<(&str, RedemptionStatus, u64, u64)> =
            decided.iter().map(|d| (d.redemption_id.as_str(), d.status, d.points, d.seq)).collect();
        assert_eq!(got, [("b", RedemptionStatus::Confirmed, 20, 3), ("a", RedemptionStatus::PointsInsufficient, 0, 4)]);
        assert!(decide_pending(&mut doc, &s, now()).expect("again").is_empty(), "decided once");
        let ledger = Ledger::read(&doc);
        let after = balance(&ledger, "zhang");
        assert_eq!((after.balance, after.earned, after.redeemed, after.pending), (2, 22, 20, 0));
        assert_eq!(stock_left(&ledger, &s, "towel"), 49);
        assert_eq!(stock_left(&ledger, &s, "caviar"), 0);
        let history = history(&ledger, "zhang");
        let rows: Vec<(PointsEntryKind, &str, Option<RedemptionStatus>, u64)> =
            history.iter().map(|h| (h.kind, h.entry_id.as_str(), h.status, h.points)).collect();
        assert_eq!(
            rows,
            [
                (PointsEntryKind::Redemption, "a", Some(RedemptionStatus::PointsInsufficient), 20),
                (PointsEntryKind::Redemption, "b", Some(RedemptionStatus::Confirmed), 20),
                (PointsEntryKind::Credit, ORDER2, None, 12),
                (PointsEntryKind::Credit, ORDER, None, 10),
            ]
        );
    }

    #[test]
    fn a_devices_own_pending_requests_count_in_its_view() {
        let mut doc = credited();
        let s = settings();
        record_redemption(&mut doc, &RedemptionRequest { device: "mine".into(), ..request("a", "zhang", "towel", 1) })
            .expect("mine");
        record_redemption(&mut doc, &RedemptionRequest { device: "other".into(), ..request("b", "zhang", "eggs", 1) })
            .expect("other");
        let ledger = Ledger::read(&doc);
        let next = request("c", "zhang", "towel", 1);
        assert_eq!(decide(&ledger, &s, &next).status, RedemptionStatus::Confirmed, "pending ones are not charged");
        let view = with_own_pending(&ledger, &s, "mine", now());
        assert_eq!(decide(&view, &s, &next).status, RedemptionStatus::PointsInsufficient);
        assert!(view.decision("b").is_none(), "another device's request waits for the server");
        assert_eq!(Ledger::read(&doc), ledger, "the document is untouched");
    }

    #[test]
    fn the_honour_roll_ranks_by_points_then_minutes_then_name_within_the_month() {
        let mut doc = ledger_doc();
        let s = settings();
        let tz = s.tz();
        let ids: Vec<String> = (0..6).map(|n| format!("0190f5a4-2b3c-7d4e-8f00-1122334455{n:02}")).collect();
        let nov = |d: &str| at(&format!("2026-11-{d}+08:00"));
        let credits = [
            ("wang", "cleaning", nov("10T10:00:00")),              // 12 points, 120 minutes
            ("zhang", "repair", nov("11T10:00:00")),               // 12 points, 90 minutes
            ("an", "repair", nov("12T10:00:00")),                  // 12 points, 90 minutes
            ("zhang", "haircut", at("2026-10-31T23:30:00+08:00")), // October here
            ("li", "haircut", at("2026-11-30T16:30:00Z")),         // 1 December in Shanghai
            ("li", "haircut", at("2026-11-01T00:10:00+08:00")),
        ];
        for (id, (volunteer, service, t)) in ids.iter().zip(credits) {
            credit_evaluated(&mut doc, id, volunteer, service, t, &s, now()).expect("credit");
        }
        let roll = honour_roll(&Ledger::read(&doc), &Month::parse("2026-11").expect("month"), tz);
        let rows: Vec<(&str, u32, u32, u64)> =
            roll.iter().map(|r| (r.volunteer.as_str(), r.orders, r.minutes, r.points)).collect();
        assert_eq!(rows, [("wang", 1, 120, 12), ("an", 1, 90, 12), ("zhang", 1, 90, 12), ("li", 1, 30, 6)]);
    }

    #[test]
    fn a_months_points_count_its_credits_and_confirmed_redemptions_and_the_balance_up_to_the_cut_off() {
        let mut doc = credited(); // zhang: 22 points on 20 November
        let s = settings();
        let october = "0190f5a4-2b3c-7d4e-8f00-112233445599";
        credit_evaluated(&mut doc, october, "wang", "repair", at("2026-10-15T10:00:00+08:00"), &s, now())
            .expect("credit");
        let nov = |id: &str, item: &str, t: &str| RedemptionRequest {
            at: at(t),
            points: 20,
            ..request(id, "zhang", item, 1)
        };
        record_redemption(&mut doc, &nov("towel", "towel", "2026-11-24T09:00:00+08:00")).expect("towel");
        // Refused: 2 points left after the towel.
        record_redemption(&mut doc, &nov("eggs", "eggs", "2026-11-24T09:30:00+08:00")).expect("eggs");
        decide_pending(&mut doc, &s, now()).expect("decide");
        let ledger = Ledger::read(&doc);
        let tz = s.tz();
        let month = |m: &str| Month::parse(m).expect("month");
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("day");
        let rows = |m: &str, until: &str| -> Vec<(String, u64, u64, u64)> {
            month_points(&ledger, &month(m), day(until), tz)
                .into_iter()
                .map(|v| (v.volunteer, v.earned, v.redeemed, v.balance))
                .collect()
        };
        assert_eq!(
            rows("2026-11", "2026-11-30"),
            [("wang".to_string(), 0, 0, 12), ("zhang".to_string(), 22, 20, 2)],
            "wang earned in October and keeps his balance; zhang's refused eggs cost nothing"
        );
        assert_eq!(rows("2026-11", "2026-11-21"), [("wang".to_string(), 0, 0, 12), ("zhang".to_string(), 22, 0, 22)]);
        assert_eq!(rows("2026-10", "2026-10-31"), [("wang".to_string(), 12, 0, 12)], "zhang had nothing yet");
        let sum: u64 = month_points(&ledger, &month("2026-11"), day("2026-11-30"), tz).iter().map(|v| v.earned).sum();
        assert_eq!(sum, balance(&ledger, "zhang").earned, "the month's credits are zhang's");
    }
}
