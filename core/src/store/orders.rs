//! Service orders on the device (点单—派单—接单—评单): requesting a service for a household, acting on the
//! workflow, and the list and detail read from the materialised `service_order` / `service_order_event`
//! tables (their SQL is `db/orders.rs`). Stages, volunteers and due days come from `service_workflow::replay`
//! only; this file stores what it derives, in the same transaction as the document change.
//!
//! A volunteer's store holds no roster and requests nothing: it holds the orders the server sends it (those
//! dispatched to its user), whose fields carry the resident's name, address and phone.

use std::collections::BTreeMap;

use automerge::AutoCommit;
use chrono::{DateTime, FixedOffset, NaiveDate};
use rusqlite::Transaction;
use serde::Serialize;

use super::db::{self, incidents::Conditions};
use super::{too_long, DeviceInfo, Store, MAX_NOTE_CHARS};
use crate::docs::{self, service_order::ServiceOrder, DocId};
use crate::error::{Error, Result};
use crate::model::{Household, NewServiceOrder, OrderEvent, Resident, Role, ServiceOrderFields};
use crate::service_workflow::{self, OrderAction, OrderStage, RATING_RANGE};
use crate::workflow::SupersededReason;

/// Longest volunteer name an order names: the points ledger's bound, one rule for both.
pub use crate::points::MAX_VOLUNTEER_CHARS;
/// Furthest ahead a due day may be set, in days.
pub const MAX_ORDER_DUE_DAYS: u64 = 366;

/// What a user does to a service order (`service dispatch|accept|decline|done|evaluate|cancel`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OrderAct {
    /// The action (not `request`: that is [`Store::request_service`]).
    pub action: OrderAction,
    /// Free note (≤ 2,000 characters): what was done, why it is declined …
    pub note: String,
    /// The volunteer's user name (dispatch; required there, refused elsewhere).
    pub volunteer: Option<String>,
    /// A new due day (dispatch only; `None` keeps the current one).
    pub due: Option<NaiveDate>,
    /// The resident's rating, 1–5 (evaluate; required there, refused elsewhere).
    pub rating: Option<u8>,
    /// Photos added with the action (hashes from `Store::add_photo`), e.g. the work done.
    pub photos: Vec<String>,
}

impl OrderAct {
    /// An action with nothing but a note.
    pub fn new(action: OrderAction, note: &str) -> OrderAct {
        OrderAct { action, note: note.to_string(), volunteer: None, due: None, rating: None, photos: Vec::new() }
    }
}

/// Filters of `service list`; all optional, combined with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OrderFilter {
    /// Only this stage.
    pub stage: Option<OrderStage>,
    /// Only "my orders": for a volunteer the orders dispatched to them, for anyone else those they requested.
    pub mine: bool,
    /// Only this grid.
    pub grid: Option<String>,
    /// Only orders past their due day (and still waiting for the service).
    pub overdue: bool,
}

/// One order in a list (PRODUCT.md §9 `service list`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OrderListItem {
    /// Order id.
    pub order_id: String,
    /// Grid.
    pub grid: String,
    /// Household served.
    pub household_code: String,
    /// Stage.
    pub stage: OrderStage,
    /// Service code.
    pub service: String,
    /// The volunteer it is dispatched to, if any.
    pub volunteer: Option<String>,
    /// Due day.
    pub due: Option<NaiveDate>,
    /// True when past the due day and still waiting for the service.
    pub overdue: bool,
    /// Days past the due day (0 when not overdue).
    pub overdue_days: u32,
    /// When requested (device time).
    pub requested_at: DateTime<FixedOffset>,
}

/// A list of orders with counts per stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OrderList {
    /// Matching orders, soonest due first, then oldest request first.
    pub items: Vec<OrderListItem>,
    /// Orders per stage code in scope, of the grid and `mine` filters (the stage and overdue filters not
    /// applied), every stage present.
    pub counts: BTreeMap<String, u32>,
}

/// One event of an order's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OrderEventView {
    /// Event id.
    pub event_id: String,
    /// Action code as the document carries it: text on purpose, since a newer build's action is kept in the
    /// history (superseded as `unknown_action`) and must still be shown.
    pub action: String,
    /// Who.
    pub actor: String,
    /// Role claimed, as the document carries it.
    pub role: String,
    /// Device time as the document carries it.
    pub at: String,
    /// Whether it applied.
    pub applied: bool,
    /// Why not, when it did not.
    pub superseded_reason: Option<SupersededReason>,
    /// Stage after the event.
    pub stage_after: Option<OrderStage>,
    /// Note.
    pub note: String,
    /// Volunteer named (dispatch).
    pub volunteer: Option<String>,
    /// Due day named (request, dispatch), as written.
    pub due: Option<String>,
    /// Rating (evaluate).
    pub rating: Option<u8>,
    /// Photos added with the event.
    pub photos: Vec<String>,
}

/// Everything about one order (PRODUCT.md §9 `service show`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OrderDetail {
    /// Order id.
    pub order_id: String,
    /// Document id.
    pub doc_id: String,
    /// Grid.
    pub grid: String,
    /// Household served.
    pub household_code: String,
    /// Resident served.
    pub resident: Option<String>,
    /// Address, `building-unit-room`.
    pub address: String,
    /// Resident's phone.
    pub phone: Option<String>,
    /// Service code.
    pub service: String,
    /// The request's note.
    pub note: String,
    /// Stage.
    pub stage: OrderStage,
    /// The volunteer it is dispatched to (kept after done, evaluated and cancelled).
    pub volunteer: Option<String>,
    /// Due day.
    pub due: Option<NaiveDate>,
    /// True when past the due day and still waiting for the service.
    pub overdue: bool,
    /// Days past the due day.
    pub overdue_days: u32,
    /// Points the service earns its volunteer, from the community's catalogue (0 when no longer listed).
    pub points: u32,
    /// The resident's rating, once evaluated.
    pub rating: Option<u8>,
    /// Who requested it.
    pub requester: String,
    /// When requested.
    pub requested_at: DateTime<FixedOffset>,
    /// The visit the need was found on.
    pub from_visit: Option<String>,
    /// Every photo added with its events (the work done).
    pub photos: Vec<String>,
    /// Full history, superseded events included.
    pub events: Vec<OrderEventView>,
    /// Actions this device's user may take now (see `service_workflow::allowed_at`).
    pub allowed_actions: Vec<OrderAction>,
}

/// Re-derives one order document into the `service_order` and `service_order_event` tables (idempotent: the
/// rows are rewritten whole). A document without fields or a valid request is left out of the tables.
pub(crate) fn index_order(tx: &Transaction<'_>, id: &DocId, doc: &AutoCommit) -> Result<()> {
    match docs::service_order::read(doc) {
        Ok(order) => write_order_rows(tx, id, &order),
        Err(_) => db::orders::delete(tx, id.key.as_deref().unwrap_or_default()),
    }
}

/// Rewrites one order's rows from an order already in memory.
fn write_order_rows(tx: &Transaction<'_>, id: &DocId, order: &ServiceOrder) -> Result<()> {
    db::orders::delete(tx, id.key.as_deref().unwrap_or_default())?;
    let d = service_workflow::replay(&order.events);
    let Some(stage) = d.stage else { return Ok(()) };
    db::orders::insert(tx, id, order, &d, stage)
}

/// The address a volunteer walks to: `building-unit-room`.
fn address(h: &Household) -> String {
    format!("{}-{}-{}", h.building, h.unit, h.room)
}

impl Store {
    /// Refuses a due day before today or more than [`MAX_ORDER_DUE_DAYS`] ahead.
    fn check_due(&self, due: NaiveDate) -> Result<()> {
        let today = self.today();
        if due < today || due > today + chrono::Days::new(MAX_ORDER_DUE_DAYS) {
            return Err(Error::invalid("due", "the due day must fall between today and a year from now"));
        }
        Ok(())
    }

    /// The household an order is for: the one named, or the household of the visit it starts from (which
    /// must then agree with the one named, if any).
    fn order_household(&self, input: &NewServiceOrder) -> Result<Household> {
        let mut code = input.household_code.trim().to_string();
        if let Some(visit_id) = &input.from_visit {
            if uuid::Uuid::parse_str(visit_id).is_err() {
                return Err(Error::invalid("from_visit", "not a visit id"));
            }
            let (visited, _) = db::visits::household_of(self.conn(), visit_id)?
                .ok_or_else(|| Error::NotFound { kind: "visit".into(), id: visit_id.clone() })?;
            if !code.is_empty() && code != visited {
                return Err(Error::invalid("household_code", "the visit was to another household"));
            }
            code = visited;
        }
        if code.is_empty() {
            return Err(Error::invalid("household_code", "a household is required"));
        }
        let household = self.household_to_record(&code)?;
        if household.moved_out {
            return Err(Error::invalid("household_code", "the household has moved out"));
        }
        Ok(household)
    }

    /// The resident an order serves: the one named (a current resident of the household), else the household's
    /// first resident not moved out, in the roster's order of names (none when it has none on the roster).
    /// Errors never echo the name.
    fn order_resident(&self, household_code: &str, named: Option<&str>) -> Result<Option<Resident>> {
        let mut living = self.residents(Some(household_code))?.into_iter().filter(|r| !r.moved_out);
        match named.map(str::trim).filter(|n| !n.is_empty()) {
            Some(name) => living
                .find(|r| r.name == name)
                .map(Some)
                .ok_or_else(|| Error::invalid("resident", "not a current resident of the household")),
            None => Ok(living.next()),
        }
    }

    /// Orders a service for a household (点单), durably: writes the order's document (fields + the `request`
    /// event) and indexes it in one transaction. Grid leaders, grid workers, social workers and the committee
    /// request; the household must be in this device's scope and on its roster. The resident's name, address
    /// and phone are copied from the roster into the order. The due day defaults to today plus the community's
    /// `order_due_days`. Starting from a visit (`from_visit`, held in this store) takes the visit's household.
    pub fn request_service(&mut self, input: NewServiceOrder) -> Result<ServiceOrderFields> {
        let role = self.device.role;
        if let Err(reason) = service_workflow::check(OrderAction::Request, role, &self.device.user, None, None, None) {
            return Err(Error::ActionNotAllowed(format!(
                "role {} may not request services ({})",
                role.code(),
                reason.code()
            )));
        }
        let household = self.order_household(&input)?;
        let resident = self.order_resident(&household.household_code, input.resident.as_deref())?;
        if self.settings.service(&input.service).is_none() {
            return Err(Error::UnknownCode { field: "service".into(), code: input.service });
        }
        too_long("note", &input.note, MAX_NOTE_CHARS)?;
        let due = match input.due {
            Some(due) => {
                self.check_due(due)?;
                due
            }
            None => self.today() + chrono::Days::new(u64::from(self.settings.order_due_days)),
        };
        let at = self.now_local();
        let fields = ServiceOrderFields {
            order_id: uuid::Uuid::now_v7().to_string(),
            grid: household.grid.clone(),
            household_code: household.household_code.clone(),
            address: address(&household),
            phone: resident.as_ref().and_then(|r| r.phone.clone()),
            resident: resident.map(|r| r.name),
            service: input.service,
            note: input.note,
            due: Some(due),
            from_visit: input.from_visit,
            requester: self.device.user.clone(),
            requester_device: self.device.device_id.clone(),
            at,
        };
        let request = OrderEvent {
            due: Some(due.to_string()),
            ..OrderEvent::new(
                OrderAction::Request.code(),
                &self.device.user,
                &self.device.device_id,
                role.code(),
                at.to_rfc3339(),
            )
        };
        let id = DocId::service_order(&self.device.community_id, &fields.grid, &fields.order_id);
        // A fresh UUID v7: there is nothing to load.
        let mut doc = docs::new_document(&id, self.actor())?;
        docs::service_order::create(&mut doc, &fields, &request)?;
        let order = ServiceOrder { fields, events: vec![request] };
        self.persist(vec![(id.clone(), doc)], |tx, _| write_order_rows(tx, &id, &order))?;
        Ok(order.fields)
    }

    /// The document of an order this device may read; `not_found` otherwise.
    fn order_doc_id(&self, order_id: &str) -> Result<DocId> {
        let not_found = || Error::NotFound { kind: "service order".into(), id: order_id.chars().take(64).collect() };
        let doc_id = db::orders::doc_id(self.conn(), order_id)?.ok_or_else(not_found)?;
        let id = DocId::parse(&doc_id)?;
        if !self.device.scope().may_read(&id) {
            return Err(not_found());
        }
        Ok(id)
    }

    /// Takes an action on a service order as this device's user and role, durably, and returns the order
    /// after it. An action the user may not take from the current stage is refused with `action_not_allowed`
    /// and nothing is written.
    pub fn order_act(&mut self, order_id: &str, act: OrderAct) -> Result<OrderDetail> {
        let by = self.device.clone();
        let (id, mut doc, mut order, event) = self.prepare_order_act(&by, order_id, &act)?;
        docs::service_order::append_event(&mut doc, &event)?;
        order.events.push(event);
        self.persist(vec![(id.clone(), doc)], |tx, _| write_order_rows(tx, &id, &order))?;
        self.order_detail(order_id)
    }

    /// Checks the payload of `act`: what the action needs, and nothing another action carries.
    fn check_order_act(&self, act: &OrderAct) -> Result<()> {
        too_long("note", &act.note, MAX_NOTE_CHARS)?;
        self.check_photos(&act.photos)?;
        let dispatch = act.action == OrderAction::Dispatch;
        match act.volunteer.as_deref().map(str::trim) {
            Some(_) if !dispatch => return Err(Error::invalid("volunteer", "only a dispatch names a volunteer")),
            Some(v) if !v.is_empty() => too_long("volunteer", v, MAX_VOLUNTEER_CHARS)?,
            _ if dispatch => return Err(Error::invalid("volunteer", "a dispatch names the volunteer")),
            _ => {}
        }
        if let Some(due) = act.due {
            if !dispatch {
                return Err(Error::invalid("due", "only a dispatch sets a new due day"));
            }
            self.check_due(due)?;
        }
        let evaluate = act.action == OrderAction::Evaluate;
        match act.rating {
            Some(_) if !evaluate => Err(Error::invalid("rating", "only an evaluation carries a rating")),
            Some(r) if RATING_RANGE.contains(&r) => Ok(()),
            _ if evaluate => Err(Error::invalid("rating", "an evaluation carries the resident's rating, 1 to 5")),
            _ => Ok(()),
        }
    }

    /// Checks `by`'s action on an order (the payload, then the workflow from the stage this store holds) and
    /// returns the document checked out, the order read from it and the event to append.
    pub(crate) fn prepare_order_act(
        &mut self,
        by: &DeviceInfo,
        order_id: &str,
        act: &OrderAct,
    ) -> Result<(DocId, AutoCommit, ServiceOrder, OrderEvent)> {
        let id = self.order_doc_id(order_id)?;
        self.check_order_act(act)?;
        let doc = self.checkout(&id)?;
        let order = docs::service_order::read(&doc)?;
        let d = service_workflow::replay(&order.events);
        let refused = match act.action {
            OrderAction::Request => Some(SupersededReason::NotAllowedFromStage),
            a => service_workflow::check(a, by.role, &by.user, d.stage, d.requester.as_deref(), d.volunteer.as_deref())
                .err(),
        };
        if let Some(reason) = refused {
            let stage = d.stage.map(|s| s.code()).unwrap_or("none");
            return Err(Error::ActionNotAllowed(format!(
                "{} is not allowed for role {} at stage {stage} ({})",
                act.action.code(),
                by.role.code(),
                reason.code()
            )));
        }
        let event = OrderEvent {
            note: act.note.clone(),
            volunteer: act.volunteer.as_deref().map(|v| v.trim().to_string()),
            due: act.due.map(|d| d.to_string()),
            rating: act.rating,
            photos: act.photos.clone(),
            ..OrderEvent::new(act.action.code(), &by.user, &by.device_id, by.role.code(), self.now_local().to_rfc3339())
        };
        Ok((id, doc, order, event))
    }

    /// The orders this device's list covers: its grids when it has some; a volunteer every order its store
    /// holds (the server sends it only those dispatched to it, see `docs::scope`).
    fn order_scope(&self) -> Conditions {
        let mut scope = Conditions::default();
        if self.device.role == Role::Volunteer {
            return scope;
        }
        if let Some(grids) = self.device.scope().grid_filter() {
            let marks = vec!["?"; grids.len()].join(", ");
            scope.add(&format!("grid IN ({marks})"), grids.iter().cloned());
        }
        scope
    }

    /// Orders in scope matching `filter`, with counts per stage; read from the materialised tables only.
    pub fn order_list(&self, filter: &OrderFilter) -> Result<OrderList> {
        let today = self.today();
        let mut scope = self.order_scope();
        if let Some(g) = &filter.grid {
            scope.add("grid = ?", [g.clone()]);
        }
        if filter.mine {
            let column = if self.device.role == Role::Volunteer { "volunteer" } else { "requester" };
            scope.add(&format!("{column} = ?"), [self.device.user.clone()]);
        }
        let mut wanted = scope.clone();
        if let Some(stage) = filter.stage {
            wanted.add("stage = ?", [stage.code().to_string()]);
        }
        if filter.overdue {
            let open: Vec<String> = OrderStage::ALL.iter().filter(|s| s.is_open()).map(|s| s.code().into()).collect();
            let marks = vec!["?"; open.len()].join(", ");
            wanted.add(&format!("due < ? AND stage IN ({marks})"), std::iter::once(today.to_string()).chain(open));
        }
        let mut items = db::orders::list(self.conn(), &wanted)?;
        for item in &mut items {
            item.overdue_days = service_workflow::overdue_days_at(item.stage, item.due, today);
            item.overdue = item.overdue_days > 0;
        }
        let mut counts: BTreeMap<String, u32> = OrderStage::ALL.iter().map(|s| (s.code().to_string(), 0)).collect();
        counts.extend(db::orders::count_by_stage(self.conn(), &scope)?);
        Ok(OrderList { items, counts })
    }

    /// One order with its full history (superseded events flagged), overdue days, the service's points and
    /// the actions this device's user may take; read from the materialised tables only.
    pub fn order_detail(&self, order_id: &str) -> Result<OrderDetail> {
        self.order_detail_for(&self.device, order_id)
    }

    /// One order with the actions `by` may take now (the console's replica shows them for a staff account).
    pub(crate) fn order_detail_for(&self, by: &DeviceInfo, order_id: &str) -> Result<OrderDetail> {
        self.order_doc_id(order_id)?;
        let mut detail = db::orders::detail(self.conn(), order_id)?;
        detail.events = db::orders::events(self.conn(), order_id)?;
        for e in &detail.events {
            for p in &e.photos {
                if !detail.photos.contains(p) {
                    detail.photos.push(p.clone());
                }
            }
        }
        detail.overdue_days = service_workflow::overdue_days_at(detail.stage, detail.due, self.today());
        detail.overdue = detail.overdue_days > 0;
        detail.points = self.settings.service(&detail.service).map_or(0, |s| s.points);
        detail.allowed_actions = service_workflow::allowed_at(
            Some(detail.stage),
            Some(&detail.requester),
            detail.volunteer.as_deref(),
            by.role,
            &by.user,
        );
        Ok(detail)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::TestClock;
    use crate::model::{NewVisit, VisitKind};
    use crate::store::fixtures::{self, COMMUNITY};
    use crate::ErrorCode;

    const ROSTER: &[&str] = &[
        "G01,1,1,3,301,H001,王秀英,F,1942,13800000001,,elderly_alone,",
        "G01,1,1,3,301,H001,张建国,M,1940,13800000002,,,",
        "G01,1,2,5,502,H002,李梅,F,1950,,,,",
        "G02,2,1,1,101,H101,李四,M,1960,,,,",
    ];

    /// A store for `user` in `role`; every role but the volunteer's holds the roster of its grids.
    fn store(dir: &tempfile::TempDir, user: &str, role: Role, grids: &[&str], clock: Arc<TestClock>) -> Store {
        fixtures::store_with_roster(dir.path(), user, user, role, grids, ROSTER, clock)
    }

    /// Hands one order's document from `from` to `to` (what sync does), merging and reindexing it.
    fn hand_over(from: &Store, to: &mut Store, order_id: &str) {
        fixtures::hand_over(from, to, &from.order_doc_id(order_id).expect("doc id"));
    }

    fn meal_for(household: &str) -> NewServiceOrder {
        NewServiceOrder {
            household_code: household.into(),
            service: "meal_delivery".into(),
            note: "每天中午送一份软食".into(),
            ..NewServiceOrder::default()
        }
    }

    fn dispatch(volunteer: &str) -> OrderAct {
        OrderAct { volunteer: Some(volunteer.into()), ..OrderAct::new(OrderAction::Dispatch, "") }
    }

    fn code<T: std::fmt::Debug>(r: Result<T>) -> ErrorCode {
        r.expect_err("refused").code()
    }

    /// The field story on real stores: request → dispatch to A → A declines → dispatch to B → B
    /// accepts → done with a photo → the grid leader records the rating; A's store drops the withdrawn order.
    #[test]
    fn request_dispatch_decline_redispatch_accept_done_evaluate() {
        let dir = tempfile::tempdir().expect("dir");
        let c = TestClock::morning();
        let mut leader = store(&dir, "王网格长", Role::GridLeader, &["G01"], c.clone());
        let mut committee = store(&dir, "李主任", Role::Committee, &[], c.clone());
        let mut a = store(&dir, "志愿者甲", Role::Volunteer, &[], c.clone());
        let mut b = store(&dir, "志愿者乙", Role::Volunteer, &[], c.clone());

        let elderly = NewServiceOrder { resident: Some("王秀英".into()), ..meal_for("H001") };
        let f = leader.request_service(elderly).expect("request");
        assert_eq!((f.grid.as_str(), f.household_code.as_str()), ("G01", "H001"));
        assert_eq!(f.resident.as_deref(), Some("王秀英"));
        assert_eq!((f.address.as_str(), f.phone.as_deref()), ("1-1-301", Some("13800000001")));
        assert_eq!(f.due, NaiveDate::from_ymd_opt(2026, 11, 27), "today + order_due_days");
        let id = f.order_id.clone();
        let d = leader.order_detail(&id).expect("detail");
        assert_eq!((d.stage, d.points, d.overdue), (OrderStage::Requested, 10, false));
        assert_eq!(d.allowed_actions, [OrderAction::Cancel, OrderAction::Comment]);

        hand_over(&leader, &mut committee, &id);
        assert_eq!(
            committee.order_detail(&id).expect("detail").allowed_actions,
            [OrderAction::Dispatch, OrderAction::Cancel, OrderAction::Comment]
        );
        committee.order_act(&id, dispatch("志愿者甲")).expect("dispatch to A");
        hand_over(&committee, &mut a, &id);
        let mine = a.order_list(&OrderFilter { mine: true, ..OrderFilter::default() }).expect("A's orders");
        assert_eq!(mine.items.len(), 1);
        let seen = a.order_detail(&id).expect("A sees it");
        assert_eq!((seen.resident.as_deref(), seen.address.as_str()), (Some("王秀英"), "1-1-301"));
        assert_eq!(seen.allowed_actions, [OrderAction::Accept, OrderAction::Decline, OrderAction::Comment]);
        let d = a.order_act(&id, OrderAct::new(OrderAction::Decline, "这周不在")).expect("A declines");
        assert_eq!((d.stage, d.volunteer.as_deref()), (OrderStage::Requested, None));

        hand_over(&a, &mut committee, &id);
        let mut to_b = dispatch("志愿者乙");
        to_b.due = NaiveDate::from_ymd_opt(2026, 11, 26);
        committee.order_act(&id, to_b).expect("dispatch to B");
        // The server withdraws the order from A (dispatched elsewhere): A's store forgets it.
        let doc_id = a.order_doc_id(&id).expect("held");
        a.forget_document(&doc_id).expect("forget");
        assert_eq!(code(a.order_detail(&id)), ErrorCode::NotFound);
        assert!(a.order_list(&OrderFilter::default()).expect("list").items.is_empty());
        assert!(a.documents().expect("docs").iter().all(|(d, _)| *d != doc_id.to_string()));
        assert!(a.load_doc(&doc_id).expect("load").is_none());
        a.forget_document(&doc_id).expect("forgetting twice is no error");

        hand_over(&committee, &mut b, &id);
        b.order_act(&id, OrderAct::new(OrderAction::Accept, "")).expect("B accepts");
        let photo = b.add_photo(b"\xFF\xD8\xFFjpeg bytes").expect("photo");
        let done = OrderAct { photos: vec![photo.clone()], ..OrderAct::new(OrderAction::Done, "已送到") };
        let d = b.order_act(&id, done).expect("B is done");
        assert_eq!((d.stage, d.photos.clone()), (OrderStage::Done, vec![photo.clone()]));

        hand_over(&b, &mut leader, &id);
        let rate = OrderAct { rating: Some(5), ..OrderAct::new(OrderAction::Evaluate, "老人很满意") };
        let d = leader.order_act(&id, rate).expect("evaluate");
        assert_eq!((d.stage, d.rating, d.volunteer.as_deref()), (OrderStage::Evaluated, Some(5), Some("志愿者乙")));
        assert_eq!(d.due, NaiveDate::from_ymd_opt(2026, 11, 26), "the latest dispatch's due day");
        let actions: Vec<&str> = d.events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["request", "dispatch", "decline", "dispatch", "accept", "done", "evaluate"]);
        assert!(d.events.iter().all(|e| e.applied));
        assert_eq!(d.photos, vec![photo]);
        assert_eq!(d.allowed_actions, [OrderAction::Comment]);
        let list = leader.order_list(&OrderFilter::default()).expect("list");
        assert_eq!((list.counts["evaluated"], list.counts["requested"]), (1, 0));
    }

    #[test]
    fn overdue_from_the_due_day_until_done() {
        let dir = tempfile::tempdir().expect("dir");
        let c = TestClock::morning();
        let mut leader = store(&dir, "王网格长", Role::GridLeader, &["G01"], c.clone());
        let mut committee = store(&dir, "李主任", Role::Committee, &[], c.clone());
        let mut v = store(&dir, "志愿者甲", Role::Volunteer, &[], c.clone());
        let late = leader.request_service(meal_for("H001")).expect("due in 3 days").order_id;
        let mut later = meal_for("H002");
        later.due = NaiveDate::from_ymd_opt(2026, 12, 10);
        leader.request_service(later).expect("due later");
        let overdue = OrderFilter { overdue: true, ..OrderFilter::default() };
        assert!(leader.order_list(&overdue).expect("none yet").items.is_empty());
        c.advance(chrono::Duration::days(3));
        assert!(leader.order_list(&overdue).expect("due today is not overdue").items.is_empty());
        c.advance(chrono::Duration::days(2));
        let list = leader.order_list(&overdue).expect("overdue");
        assert_eq!(list.items.len(), 1);
        assert_eq!((list.items[0].order_id.as_str(), list.items[0].overdue_days), (late.as_str(), 2));
        assert_eq!(leader.order_list(&OrderFilter::default()).expect("all").items.len(), 2);
        // Done stops the clock.
        hand_over(&leader, &mut committee, &late);
        committee.order_act(&late, dispatch("志愿者甲")).expect("dispatch");
        hand_over(&committee, &mut v, &late);
        assert_eq!(v.order_detail(&late).expect("detail").overdue_days, 2);
        v.order_act(&late, OrderAct::new(OrderAction::Accept, "")).expect("accept");
        let d = v.order_act(&late, OrderAct::new(OrderAction::Done, "")).expect("done");
        assert_eq!((d.overdue, d.overdue_days), (false, 0));
        assert!(v.order_list(&overdue).expect("list").items.is_empty());
    }

    #[test]
    fn wrong_roles_and_bad_input_are_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().expect("dir");
        let c = TestClock::morning();
        let mut leader = store(&dir, "王网格长", Role::GridLeader, &["G01"], c.clone());
        let mut worker = store(&dir, "周网格员", Role::GridWorker, &["G01"], c.clone());
        let mut committee = store(&dir, "李主任", Role::Committee, &[], c.clone());
        let mut station = store(&dir, "赵站长", Role::Station, &[], c.clone());
        let mut volunteer = store(&dir, "志愿者乙", Role::Volunteer, &[], c.clone());
        assert_eq!(code(station.request_service(meal_for("H001"))), ErrorCode::ActionNotAllowed);
        assert_eq!(code(volunteer.request_service(meal_for("H001"))), ErrorCode::ActionNotAllowed);
        // Another grid's household is not on this device's roster at all.
        assert_eq!(code(leader.request_service(meal_for("H101"))), ErrorCode::HouseholdNotFound);
        assert_eq!(code(leader.request_service(meal_for("H999"))), ErrorCode::HouseholdNotFound);
        assert_eq!(code(leader.request_service(meal_for(""))), ErrorCode::InvalidInput);
        let mut unknown = meal_for("H001");
        unknown.service = "skydiving".into();
        assert_eq!(code(leader.request_service(unknown)), ErrorCode::UnknownCode);
        let mut stranger = meal_for("H001");
        stranger.resident = Some("赵六".into());
        let err = leader.request_service(stranger).expect_err("not a resident");
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        assert!(!err.to_string().contains("赵六"), "errors never echo names: {err}");
        let mut past = meal_for("H001");
        past.due = NaiveDate::from_ymd_opt(2026, 11, 23);
        assert_eq!(code(leader.request_service(past)), ErrorCode::InvalidInput);
        assert!(leader.order_list(&OrderFilter::default()).expect("list").items.is_empty(), "nothing written");
        let f = leader.request_service(meal_for("H001")).expect("no resident named");
        assert_eq!(f.resident.as_deref(), Some("张建国"), "the household's first current resident by name");
        assert_eq!(f.phone.as_deref(), Some("13800000002"), "with their phone");

        let id = f.order_id;
        assert_eq!(code(leader.order_act(&id, dispatch("志愿者甲"))), ErrorCode::ActionNotAllowed);
        hand_over(&leader, &mut committee, &id);
        assert_eq!(code(committee.order_act(&id, OrderAct::new(OrderAction::Dispatch, ""))), ErrorCode::InvalidInput);
        let rated = OrderAct { rating: Some(3), ..dispatch("志愿者甲") };
        assert_eq!(code(committee.order_act(&id, rated)), ErrorCode::InvalidInput);
        assert_eq!(
            code(committee.order_act(&id, OrderAct::new(OrderAction::Request, ""))),
            ErrorCode::ActionNotAllowed
        );
        committee.order_act(&id, dispatch("志愿者甲")).expect("dispatch to A");
        // Volunteer B holds a copy (say, relayed by hand-off) but is not the one dispatched to.
        hand_over(&committee, &mut volunteer, &id);
        let err = volunteer.order_act(&id, OrderAct::new(OrderAction::Accept, "")).expect_err("not B's");
        assert_eq!(err.code(), ErrorCode::ActionNotAllowed);
        assert!(err.to_string().contains("not_volunteer"), "{err}");
        assert!(!err.to_string().contains("志愿者"), "no names in errors: {err}");
        // A grid worker may not cancel the grid leader's request; the station may.
        hand_over(&committee, &mut worker, &id);
        let err = worker.order_act(&id, OrderAct::new(OrderAction::Cancel, "")).expect_err("not the requester");
        assert!(err.to_string().contains("not_requester"), "{err}");
        hand_over(&committee, &mut station, &id);
        let no_rating = OrderAct::new(OrderAction::Evaluate, "");
        assert_eq!(code(leader.order_act(&id, no_rating)), ErrorCode::InvalidInput);
        assert_eq!(committee.order_detail(&id).expect("detail").events.len(), 2, "refusals wrote nothing");
        let d = station.order_act(&id, OrderAct::new(OrderAction::Cancel, "重复下单")).expect("cancel");
        assert_eq!((d.stage, d.volunteer.as_deref()), (OrderStage::Cancelled, Some("志愿者甲")));
        // The volunteer's store holds no roster and never reaches grid documents.
        assert!(volunteer.residents(None).expect("residents").is_empty());
        assert!(!volunteer.in_scope("G01"));
    }

    #[test]
    fn mine_is_what_i_requested_or_what_is_dispatched_to_me() {
        let dir = tempfile::tempdir().expect("dir");
        let c = TestClock::morning();
        let mut leader = store(&dir, "王网格长", Role::GridLeader, &["G01"], c.clone());
        let mut committee = store(&dir, "李主任", Role::Committee, &[], c.clone());
        let mut v = store(&dir, "志愿者甲", Role::Volunteer, &[], c.clone());
        let theirs = leader.request_service(meal_for("H001")).expect("leader's").order_id;
        let own = committee.request_service(meal_for("H101")).expect("committee's").order_id;
        let other = committee.request_service(meal_for("H002")).expect("committee's second").order_id;
        hand_over(&leader, &mut committee, &theirs);
        let mine = OrderFilter { mine: true, ..OrderFilter::default() };
        let ids = |l: OrderList| l.items.into_iter().map(|i| i.order_id).collect::<Vec<_>>();
        let committee_mine = ids(committee.order_list(&mine).expect("mine"));
        assert_eq!(committee_mine.len(), 2);
        assert!(committee_mine.contains(&own) && committee_mine.contains(&other));
        assert_eq!(committee.order_list(&OrderFilter::default()).expect("all").items.len(), 3);
        assert_eq!(committee.order_list(&mine).expect("mine").counts["requested"], 2);
        assert_eq!(ids(leader.order_list(&mine).expect("leader's")), [theirs.as_str()]);
        let g02 = OrderFilter { grid: Some("G02".into()), ..OrderFilter::default() };
        assert_eq!(ids(committee.order_list(&g02).expect("G02")), [own.as_str()]);
        committee.order_act(&theirs, dispatch("志愿者甲")).expect("dispatch");
        committee.order_act(&own, dispatch("志愿者乙")).expect("dispatch to someone else");
        hand_over(&committee, &mut v, &theirs);
        assert_eq!(ids(v.order_list(&mine).expect("v's")), [theirs.as_str()]);
        let dispatched = OrderFilter { stage: Some(OrderStage::Dispatched), ..OrderFilter::default() };
        assert_eq!(committee.order_list(&dispatched).expect("dispatched").items.len(), 2);
    }

    #[test]
    fn a_request_from_a_visit_takes_the_visits_household() {
        let dir = tempfile::tempdir().expect("dir");
        let mut worker = store(&dir, "孙社工", Role::SocialWorker, &["G01"], TestClock::morning());
        let visit = worker
            .record_visit(NewVisit {
                household_code: "H002".into(),
                residents: vec![],
                kind: VisitKind::Home,
                duration_min: Some(30),
                services: vec![],
                needs: "行动不便，需要代购".into(),
                need_tags: vec![],
                follow_up: None,
                satisfaction: None,
                photos: vec![],
                at: None,
            })
            .expect("visit");
        let from_visit = NewServiceOrder {
            household_code: String::new(),
            service: "errands".into(),
            from_visit: Some(visit.visit_id.clone()),
            ..NewServiceOrder::default()
        };
        let f = worker.request_service(from_visit.clone()).expect("from the visit");
        assert_eq!((f.household_code.as_str(), f.resident.as_deref()), ("H002", Some("李梅")));
        assert_eq!(f.from_visit.as_deref(), Some(visit.visit_id.as_str()));
        assert_eq!(f.phone, None);
        assert_eq!(worker.order_detail(&f.order_id).expect("detail").from_visit, Some(visit.visit_id.clone()));
        let elsewhere = NewServiceOrder { household_code: "H001".into(), ..from_visit.clone() };
        assert_eq!(code(worker.request_service(elsewhere)), ErrorCode::InvalidInput);
        let unknown = NewServiceOrder { from_visit: Some(uuid::Uuid::now_v7().to_string()), ..from_visit.clone() };
        assert_eq!(code(worker.request_service(unknown)), ErrorCode::NotFound);
        let junk = NewServiceOrder { from_visit: Some("王秀英家".into()), ..from_visit };
        let err = worker.request_service(junk).expect_err("not an id");
        assert!(!err.to_string().contains("王秀英"), "{err}");
    }

    /// The console's replica prepares a staff member's action as a change by the staff account's own actor,
    /// leaves itself unchanged, and offers the actions of the staff member's role.
    #[test]
    fn the_replica_prepares_a_dispatch_for_a_staff_account() {
        let dir = tempfile::tempdir().expect("dir");
        let c = TestClock::morning();
        let mut leader = store(&dir, "王网格长", Role::GridLeader, &["G01"], c.clone());
        let id = leader.request_service(meal_for("H001")).expect("request").order_id;
        let mut replica =
            Store::create_replica(&dir.path().join("replica"), &[7u8; 32], COMMUNITY, c).expect("replica");
        let doc_id = leader.order_doc_id(&id).expect("doc id");
        let doc = leader.load_doc(&doc_id).expect("load").expect("doc");
        replica.merge_documents(vec![(doc_id.clone(), doc)], 1).expect("merge");
        let staff = DeviceInfo {
            device_id: uuid::Uuid::now_v7().to_string(),
            user: "李主任".into(),
            role: Role::Committee,
            community_id: COMMUNITY.into(),
            grids: vec![],
            buildings: vec![],
        };
        assert!(replica
            .order_detail_as(&staff, &id)
            .expect("as staff")
            .allowed_actions
            .contains(&OrderAction::Dispatch));
        assert_eq!(replica.order_detail(&id).expect("as itself").stage, OrderStage::Requested);
        let (changed, bytes) = replica.order_act_change(&staff, &id, dispatch("志愿者甲")).expect("change");
        assert_eq!(changed, doc_id);
        assert_eq!(replica.order_detail(&id).expect("unchanged").stage, OrderStage::Requested);
        let mut copy = leader.load_doc(&doc_id).expect("load").expect("doc");
        copy.apply_changes([automerge::Change::from_bytes(bytes).expect("change")]).expect("apply");
        let order = docs::service_order::read(&copy).expect("read");
        let d = service_workflow::replay(&order.events);
        assert_eq!((d.stage, d.volunteer.as_deref()), (Some(OrderStage::Dispatched), Some("志愿者甲")));
        assert_eq!(order.events[1].device, staff.device_id);
    }
}
