//! Volunteer points on the device: balances, histories, the honour roll and redemptions, read from the
//! community's points ledger document on demand (no tables: the ledger is one document, and its figures come
//! from `crate::points` only). A committee or station device records a redemption as a pending request; the
//! server decides it, and the decision arrives with a later sync (`SyncReport::redemptions_decided`).

use automerge::AutoCommit;
use serde::Serialize;

use super::{actor_of, DeviceInfo, Store};
use crate::docs::points::{record_redemption, Ledger, RedemptionRequest};
use crate::docs::{self, DocId};
use crate::error::{Error, Result};
use crate::model::Role;
use crate::points::{self, HonourRow, PointsBalance, PointsEntry, RedemptionStatus, MAX_QUANTITY, MIN_QUANTITY};
use crate::schedule::Month;

/// A redemption as this device reads it (`points redeem`, the sync report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Redemption {
    /// Redemption id.
    pub redemption_id: String,
    /// The volunteer whose points pay.
    pub volunteer: String,
    /// Shop item code.
    pub item: String,
    /// Units.
    pub quantity: u32,
    /// Points: charged once confirmed, the quoted price while pending or when refused.
    pub points: u64,
    /// Pending until the server's decision arrives; then confirmed, or why not.
    pub status: RedemptionStatus,
    /// The volunteer's balance as this device reads it now (confirmed redemptions taken off; pending ones not).
    pub balance: u64,
}

/// The view of `request` in `ledger`.
pub(crate) fn redemption_of(ledger: &Ledger, request: &RedemptionRequest) -> Redemption {
    let (status, points) = points::status_of(ledger, request);
    Redemption {
        redemption_id: request.redemption_id.clone(),
        volunteer: request.volunteer.clone(),
        item: request.item.clone(),
        quantity: request.quantity,
        points,
        status,
        balance: points::balance(ledger, &request.volunteer).balance,
    }
}

/// The ids of `device`'s requests in `ledger` that the server has not decided yet.
#[cfg(feature = "client")]
pub(crate) fn undecided_of(ledger: &Ledger, device: &str) -> Vec<String> {
    ledger
        .requests
        .iter()
        .filter(|r| r.device == device && ledger.decision(&r.redemption_id).is_none())
        .map(|r| r.redemption_id.clone())
        .collect()
}

/// The redemptions among `ids` that `ledger` holds a decision on.
#[cfg(feature = "client")]
pub(crate) fn decided_among(ledger: &Ledger, ids: &[String]) -> Vec<Redemption> {
    ids.iter()
        .filter(|id| ledger.decision(id).is_some())
        .filter_map(|id| ledger.request(id))
        .map(|r| redemption_of(ledger, r))
        .collect()
}

impl Store {
    /// The id of this community's points ledger.
    fn ledger_id(&self) -> DocId {
        DocId::points(&self.device.community_id)
    }

    /// The points ledger as this device holds it (empty before the first sync that brings it).
    pub fn points_ledger(&self) -> Result<Ledger> {
        let id = self.ledger_id();
        if let Some(doc) = self.cache.get(&id) {
            return Ok(Ledger::read(doc));
        }
        Ok(self.load_doc(&id)?.map(|doc| Ledger::read(&doc)).unwrap_or_default())
    }

    /// The volunteer asked about: the one named, or — when none is — this device's user if it is a volunteer.
    fn volunteer_asked(&self, volunteer: Option<&str>) -> Result<String> {
        match volunteer {
            Some(v) => {
                points::check_volunteer(v)?;
                Ok(v.trim().to_string())
            }
            None if self.device.role == Role::Volunteer => Ok(self.device.user.clone()),
            None => Err(Error::invalid("volunteer", "name the volunteer")),
        }
    }

    /// A volunteer's points balance (`None`: this device's user, on a volunteer's device).
    pub fn points_balance(&self, volunteer: Option<&str>) -> Result<PointsBalance> {
        let volunteer = self.volunteer_asked(volunteer)?;
        Ok(points::balance(&self.points_ledger()?, &volunteer))
    }

    /// A volunteer's credits and redemptions, newest first (`None`: this device's user, on a volunteer's device).
    pub fn points_history(&self, volunteer: Option<&str>) -> Result<Vec<PointsEntry>> {
        let volunteer = self.volunteer_asked(volunteer)?;
        Ok(points::history(&self.points_ledger()?, &volunteer))
    }

    /// One redemption as this device reads it.
    pub fn redemption(&self, redemption_id: &str) -> Result<Redemption> {
        let ledger = self.points_ledger()?;
        let request = ledger
            .request(redemption_id)
            .ok_or_else(|| Error::NotFound { kind: "redemption".into(), id: redemption_id.into() })?;
        Ok(redemption_of(&ledger, request))
    }

    /// The honour roll of `month` (荣誉墙): orders, minutes and points per volunteer.
    pub fn honour_roll(&self, month: &Month) -> Result<Vec<HonourRow>> {
        Ok(points::honour_roll(&self.points_ledger()?, month, self.settings.tz()))
    }

    /// Records a redemption at the love supermarket, durably, as a pending request the server decides. Only
    /// committee and station devices record them. Refused at once — nothing written — with
    /// `points_insufficient`, `out_of_stock` or `unknown_item` when this device's own view already says so
    /// (confirmed redemptions and this device's pending ones counted).
    pub fn redeem_points(&mut self, volunteer: &str, item: &str, quantity: u32) -> Result<Redemption> {
        let by = self.device.clone();
        let id = self.ledger_id();
        let mut doc = self.checkout(&id)?;
        let (ledger, request) = self.redemption_request(&by, &doc, volunteer, item, quantity)?;
        record_redemption(&mut doc, &request)?;
        self.persist(vec![(id, doc)], |_, _| Ok(()))?;
        let mut ledger = ledger;
        ledger.requests.push(request.clone());
        Ok(redemption_of(&ledger, &request))
    }

    /// Prepares `by`'s redemption as the change their actor would make, after the same checks as
    /// [`Store::redeem_points`] against `by`'s own pending requests; the store itself is left unchanged
    /// (the console's counter). Returns the ledger's id, the change (raw bytes) for the server to check and
    /// store, and the redemption's id.
    pub fn redeem_change(
        &mut self,
        by: &DeviceInfo,
        volunteer: &str,
        item: &str,
        quantity: u32,
    ) -> Result<(DocId, Vec<u8>, String)> {
        let id = self.ledger_id();
        let actor = actor_of(&by.device_id)?;
        let mut doc = match self.checkout_existing(&id)? {
            Some(mut doc) => {
                doc.set_actor(actor);
                doc
            }
            None => docs::new_document(&id, &actor)?,
        };
        let (_, request) = self.redemption_request(by, &doc, volunteer, item, quantity)?;
        record_redemption(&mut doc, &request)?;
        doc.commit();
        // The working copy is dropped, not given back: the store reloads the document as it was.
        let change = doc.get_last_local_change().map(|c| c.raw_bytes().to_vec());
        let change = change.ok_or_else(|| Error::Store("the redemption wrote no change".into()))?;
        Ok((id, change, request.redemption_id))
    }

    /// Checks `by`'s redemption against the ledger in `doc` and returns the ledger read and the request to
    /// record: the role, the volunteer and quantity, then the rules against `by`'s own view.
    fn redemption_request(
        &self,
        by: &DeviceInfo,
        doc: &AutoCommit,
        volunteer: &str,
        item: &str,
        quantity: u32,
    ) -> Result<(Ledger, RedemptionRequest)> {
        if !by.scope().may_write(&self.ledger_id()) {
            return Err(Error::ActionNotAllowed(format!(
                "role {} may not record redemptions (committee and station do)",
                by.role.code()
            )));
        }
        points::check_volunteer(volunteer)?;
        if !(MIN_QUANTITY..=MAX_QUANTITY).contains(&quantity) {
            return Err(Error::invalid("quantity", format!("from {MIN_QUANTITY} to {MAX_QUANTITY}")));
        }
        if !docs::valid_code(item) {
            return Err(Error::invalid("item", "not an item code"));
        }
        let now = self.now_local();
        let ledger = Ledger::read(doc);
        let mut request = RedemptionRequest {
            redemption_id: uuid::Uuid::now_v7().to_string(),
            volunteer: volunteer.trim().to_string(),
            item: item.to_string(),
            quantity,
            points: 0,
            actor: by.user.clone(),
            device: by.device_id.clone(),
            role: by.role.code().to_string(),
            at: now,
            note: String::new(),
        };
        let view = points::with_own_pending(&ledger, &self.settings, &by.device_id, now);
        let verdict = points::decide(&view, &self.settings, &request);
        if let Some(refusal) = verdict.refusal(&request) {
            return Err(refusal);
        }
        request.points = verdict.points;
        Ok((ledger, request))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::FixedClock;
    use crate::store::InitOptions;
    use crate::ErrorCode;

    const ORDERS: [&str; 2] = ["0190f5a4-2b3c-7d4e-8f00-112233445566", "0190f5a4-2b3c-7d4e-8f00-112233445577"];

    fn clock() -> Arc<dyn crate::Clock> {
        use chrono::TimeZone;
        Arc::new(FixedClock(chrono::Utc.with_ymd_and_hms(2026, 11, 24, 2, 0, 0).single().expect("valid time")))
    }

    fn store(dir: &std::path::Path, user: &str, role: Role, community: Option<&str>) -> Store {
        let opts = InitOptions { community_id: community.map(str::to_string), ..InitOptions::new(user, role) };
        Store::init(dir, &[3; 32], opts, clock()).expect("init")
    }

    /// The server's part: merges `stores`' ledgers into `server`, runs `f` on it, and merges it back into each.
    fn as_server(server: &mut AutoCommit, stores: &mut [&mut Store], f: impl FnOnce(&mut AutoCommit)) {
        for s in stores.iter() {
            if let Some(mut doc) = s.load_doc(&s.ledger_id()).expect("load") {
                server.merge(&mut doc).expect("merge up");
            }
        }
        f(server);
        server.commit();
        for s in stores.iter_mut() {
            let id = s.ledger_id();
            let mut doc = s.checkout(&id).expect("checkout");
            doc.merge(server).expect("merge down");
            s.persist(vec![(id, doc)], |_, _| Ok(())).expect("persist");
        }
    }

    #[test]
    fn balances_histories_and_the_honour_roll_read_the_ledger() {
        let dir = tempfile::tempdir().expect("dir");
        let mut station = store(dir.path(), "李站长", Role::Station, None);
        let community = station.device().community_id.clone();
        let vdir = tempfile::tempdir().expect("dir");
        let mut volunteer = store(vdir.path(), "zhang", Role::Volunteer, Some(&community));
        assert_eq!(volunteer.points_balance(None).expect("empty").balance, 0, "no ledger yet");
        let mut server = docs::new_document(&DocId::points(&community), &automerge::ActorId::random()).expect("doc");
        let settings = station.settings().clone();
        let now = station.now_local();
        as_server(&mut server, &mut [&mut station, &mut volunteer], |doc| {
            points::credit_evaluated(doc, ORDERS[0], "zhang", "meal_delivery", now, &settings, now).expect("credit");
        });
        let mine = volunteer.points_balance(None).expect("own balance");
        assert_eq!((mine.volunteer.as_str(), mine.balance, mine.earned), ("zhang", 10, 10));
        assert_eq!(station.points_balance(Some("zhang")).expect("named"), mine);
        assert_eq!(station.points_balance(None).map_err(|e| e.code()), Err(ErrorCode::InvalidInput));
        let refused = volunteer.redeem_points("zhang", "towel", 1).map_err(|e| e.code());
        assert_eq!(refused, Err(ErrorCode::ActionNotAllowed), "a volunteer records no redemption");
        let r = station.redeem_points("zhang", "haircut_voucher", 1).map_err(|e| e.code());
        assert_eq!(r, Err(ErrorCode::UnknownItem));
        let r = station.redeem_points("zhang", "towel; rice", 1).map_err(|e| e.code());
        assert_eq!(r, Err(ErrorCode::InvalidInput));
        for bad in [0, 100] {
            assert_eq!(
                station.redeem_points("zhang", "towel", bad).map_err(|e| e.code()),
                Err(ErrorCode::InvalidInput)
            );
        }
        let history = station.points_history(Some("zhang")).expect("history");
        assert_eq!(history.len(), 1);
        assert_eq!((history[0].kind, history[0].points), (points::PointsEntryKind::Credit, 10));
        let roll = volunteer.honour_roll(&Month::parse("2026-11").expect("month")).expect("roll");
        assert_eq!(
            roll.iter().map(|r| (r.volunteer.as_str(), r.orders, r.minutes)).collect::<Vec<_>>(),
            [("zhang", 1, 60)]
        );
        assert!(volunteer.honour_roll(&Month::parse("2026-10").expect("month")).expect("roll").is_empty());
    }

    /// Two stations each record, offline, a redemption zhang's 10 points cover alone but not together; the
    /// server decides them on a merged copy: exactly one stands, the other reads points_insufficient, and both
    /// stay on every device.
    #[test]
    fn two_offline_redemptions_that_overdraw_together_leave_one_standing() {
        let (adir, bdir) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
        let mut a = store(adir.path(), "李站长", Role::Station, None);
        let community = a.device().community_id.clone();
        let mut b = store(bdir.path(), "王主任", Role::Committee, Some(&community));
        let mut server = docs::new_document(&DocId::points(&community), &automerge::ActorId::random()).expect("doc");
        let settings = a.settings().clone();
        let now = a.now_local();
        as_server(&mut server, &mut [&mut a, &mut b], |doc| {
            points::credit_evaluated(doc, ORDERS[0], "zhang", "meal_delivery", now, &settings, now).expect("credit");
        });
        // Towels cost 20: with 10 points, refused at once.
        let first = a.redeem_points("zhang", "towel", 1).map_err(|e| e.code());
        assert_eq!(first, Err(ErrorCode::PointsInsufficient), "20 points do not fit 10");
        as_server(&mut server, &mut [&mut a, &mut b], |doc| {
            points::credit_evaluated(doc, ORDERS[1], "zhang", "cleaning", now, &settings, now).expect("credit");
        });
        // 22 points: each station's towel fits alone.
        let ra = a.redeem_points("zhang", "towel", 1).expect("a records");
        assert_eq!((ra.status, ra.points, ra.balance), (RedemptionStatus::Pending, 20, 22));
        let again = a.redeem_points("zhang", "towel", 1).map_err(|e| e.code());
        assert_eq!(again, Err(ErrorCode::PointsInsufficient), "a's own pending one counts");
        let rb = b.redeem_points("zhang", "towel", 1).expect("b records: it does not know of a's");
        assert_eq!(b.redemption(&rb.redemption_id).expect("b reads").status, RedemptionStatus::Pending);
        let mut decided = Vec::new();
        as_server(&mut server, &mut [&mut a, &mut b], |doc| {
            decided = points::decide_pending(doc, &settings, now).expect("decide");
        });
        assert_eq!(decided.len(), 2);
        for s in [&a, &b] {
            let statuses =
                [&ra, &rb].map(|r| s.redemption(&r.redemption_id).expect("both kept on every device").status);
            let standing = statuses.iter().filter(|st| **st == RedemptionStatus::Confirmed).count();
            assert_eq!(standing, 1, "{statuses:?}");
            assert!(statuses.contains(&RedemptionStatus::PointsInsufficient), "{statuses:?}");
            let balance = s.points_balance(Some("zhang")).expect("balance");
            assert_eq!((balance.balance, balance.redeemed, balance.pending), (2, 20, 0));
            assert_eq!(s.points_history(Some("zhang")).expect("history").len(), 4, "two credits, two redemptions");
        }
        assert_eq!(a.redemption("nope").map_err(|e| e.code()), Err(ErrorCode::NotFound));
    }

    #[test]
    fn the_console_prepares_a_staff_members_redemption_without_changing_the_replica() {
        let dir = tempfile::tempdir().expect("dir");
        let mut replica = Store::create_replica(dir.path(), &[4; 32], "c1", clock()).expect("replica");
        let staff = DeviceInfo {
            device_id: uuid::Uuid::now_v7().to_string(),
            user: "李站长".into(),
            role: Role::Station,
            community_id: "c1".into(),
            grids: vec![],
            buildings: vec![],
        };
        let mut server = docs::new_document(&DocId::points("c1"), &automerge::ActorId::random()).expect("doc");
        let settings = replica.settings().clone();
        let now = replica.now_local();
        for (order, service) in ORDERS.iter().zip(["cleaning", "meal_delivery"]) {
            points::credit_evaluated(&mut server, order, "zhang", service, now, &settings, now).expect("credit");
        }
        server.commit();
        replica.merge_documents(vec![(DocId::points("c1"), server.fork())], 1).expect("feed");
        let volunteer = DeviceInfo { role: Role::Volunteer, ..staff.clone() };
        let refused = replica.redeem_change(&volunteer, "zhang", "towel", 1).map_err(|e| e.code());
        assert_eq!(refused, Err(ErrorCode::ActionNotAllowed));
        let (id, change, redemption_id) =
            replica.redeem_change(&staff, "zhang", "towel", 1).expect("22 points cover 20");
        assert_eq!(id, DocId::points("c1"));
        assert_eq!(replica.redemption(&redemption_id).map_err(|e| e.code()), Err(ErrorCode::NotFound), "unchanged");
        server.load_incremental(&change).expect("the server stores the change");
        let stored = docs::records(crate::docs::DocKind::Points, &server);
        let record = stored.iter().find(|r| r.key.ends_with(&redemption_id)).expect("the redemption record");
        let claims = &record.claims;
        assert_eq!(
            (claims.user.as_deref(), claims.device.as_deref(), claims.role.as_deref()),
            (Some("李站长"), Some(staff.device_id.as_str()), Some("station"))
        );
        let author = actor_of(&staff.device_id).expect("actor");
        assert!(record.ops.iter().all(|op| matches!(op, automerge::ObjId::Id(_, a, _) if *a == author)));
        // Fed back, the staff member's pending redemption counts against the next one.
        replica.merge_documents(vec![(DocId::points("c1"), server.fork())], 2).expect("feed");
        assert_eq!(replica.redemption(&redemption_id).expect("fed back").status, RedemptionStatus::Pending);
        let second = replica.redeem_change(&staff, "zhang", "towel", 1).map_err(|e| e.code());
        assert_eq!(second, Err(ErrorCode::PointsInsufficient));
    }

    /// Through a sync peer: the station that recorded a redemption the server refused is told so by its sync
    /// report, and the one whose redemption stands is told that; a device with nothing awaited hears nothing.
    #[cfg(feature = "loopback")]
    #[test]
    fn the_sync_report_names_this_devices_redemptions_decided() {
        use crate::sync::fixtures::{enroll, sync, COMMUNITY};
        let server = crate::sync::loopback::LoopbackServer::new();
        let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().expect("dir")).collect();
        let (mut a, ta) = enroll(&server, dirs[0].path(), "A1", "station", &[]);
        let (mut b, tb) = enroll(&server, dirs[1].path(), "B1", "committee", &[]);
        let (mut v, tv) = enroll(&server, dirs[2].path(), "V1", "volunteer", &[]);
        let settings = a.settings().clone();
        let now = a.now_local();
        let ledger = DocId::points(COMMUNITY);
        server.edit(&ledger, |doc| {
            for (order, service) in ORDERS.iter().zip(["cleaning", "meal_delivery"]) {
                points::credit_evaluated(doc, order, "user-V1", service, now, &settings, now).expect("credit");
            }
        });
        for (s, t) in [(&mut a, &ta), (&mut b, &tb), (&mut v, &tv)] {
            assert!(sync(&server, s, t).redemptions_decided.is_empty());
        }
        assert_eq!(v.points_balance(None).expect("own").balance, 22);
        let ra = a.redeem_points("user-V1", "towel", 1).expect("a");
        let rb = b.redeem_points("user-V1", "towel", 1).expect("b");
        for (s, t) in [(&mut a, &ta), (&mut b, &tb)] {
            assert!(sync(&server, s, t).redemptions_decided.is_empty(), "nothing decided yet");
        }
        server.edit(&ledger, |doc| {
            points::decide_pending(doc, &settings, now).expect("decide");
        });
        let heard_a = sync(&server, &mut a, &ta).redemptions_decided;
        let heard_b = sync(&server, &mut b, &tb).redemptions_decided;
        assert!(sync(&server, &mut v, &tv).redemptions_decided.is_empty(), "the volunteer recorded none");
        assert_eq!(heard_a.iter().map(|r| r.redemption_id.as_str()).collect::<Vec<_>>(), [ra.redemption_id.as_str()]);
        assert_eq!(heard_b.iter().map(|r| r.redemption_id.as_str()).collect::<Vec<_>>(), [rb.redemption_id.as_str()]);
        let mut statuses = [heard_a[0].status, heard_b[0].status];
        statuses.sort_by_key(|s| s.code());
        assert_eq!(statuses, [RedemptionStatus::Confirmed, RedemptionStatus::PointsInsufficient]);
        assert_eq!(v.points_balance(None).expect("own").balance, 2);
        assert!(sync(&server, &mut a, &ta).redemptions_decided.is_empty(), "told once");
    }
}
