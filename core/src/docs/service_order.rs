//! The service-order document (服务订单), one per order, laid out like the incident document (`event_list.rs`):
//! the request's fields as one JSON scalar at root key `order`, and the workflow event list at `events`, one
//! JSON scalar per event. The requester creates both in the document's first change, so no two devices ever
//! create the list concurrently; every later action (dispatch, accept, done with photos, the rating …)
//! appends one record, and concurrent appends from several devices all survive a merge in one order every
//! replica agrees on.
//!
//! The fields carry what a volunteer needs to do the work — the resident's name, address and phone, copied
//! from the roster — because a volunteer's device never receives the roster.

use automerge::{AutoCommit, ObjId};
use chrono::{DateTime, NaiveDate};
use serde::{Deserialize, Serialize};

use super::event_list::Layout;
use super::{Claims, Record, RecordKind};
use crate::error::{Error, Result};
use crate::model::{OrderEvent, ServiceOrderFields, DAY_FORMAT};

/// Root key of the order's fields.
pub const FIELDS_KEY: &str = "order";
/// Root key of the event list.
pub const EVENTS_KEY: &str = super::event_list::EVENTS_KEY;
/// Most events one order document may hold (a bound on what any peer can make a device replay). An order's
/// whole life is a handful of events; the rest is room for comments and re-dispatches.
pub const MAX_EVENTS: usize = 500;

const LAYOUT: Layout = Layout { fields_key: FIELDS_KEY, noun: "a service order", max_events: MAX_EVENTS };

/// A service order as read from its document.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceOrder {
    /// The fields written by the requester.
    pub fields: ServiceOrderFields,
    /// The workflow events, in document order.
    pub events: Vec<OrderEvent>,
}

/// The order's fields as stored (document format: short keys, empty values left out).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct FieldsRecord {
    id: String,
    grid: String,
    household: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    resident: Option<String>,
    address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
    service: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    note: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    due: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from_visit: Option<String>,
    requester: String,
    device: String,
    at: String,
}

impl From<&ServiceOrderFields> for FieldsRecord {
    fn from(f: &ServiceOrderFields) -> Self {
        FieldsRecord {
            id: f.order_id.clone(),
            grid: f.grid.clone(),
            household: f.household_code.clone(),
            resident: f.resident.clone(),
            address: f.address.clone(),
            phone: f.phone.clone(),
            service: f.service.clone(),
            note: f.note.clone(),
            due: f.due.map(|d| d.to_string()),
            from_visit: f.from_visit.clone(),
            requester: f.requester.clone(),
            device: f.requester_device.clone(),
            at: f.at.to_rfc3339(),
        }
    }
}

impl TryFrom<FieldsRecord> for ServiceOrderFields {
    type Error = Error;

    fn try_from(r: FieldsRecord) -> Result<Self> {
        let bad = |why: &str| Error::document(FIELDS_KEY, why);
        let due = match r.due.as_deref() {
            Some(d) => Some(NaiveDate::parse_from_str(d, DAY_FORMAT).map_err(|_| bad("bad due day"))?),
            None => None,
        };
        Ok(ServiceOrderFields {
            order_id: r.id,
            grid: r.grid,
            household_code: r.household,
            resident: r.resident,
            address: r.address,
            phone: r.phone,
            service: r.service,
            note: r.note,
            due,
            from_visit: r.from_visit,
            requester: r.requester,
            requester_device: r.device,
            at: DateTime::parse_from_rfc3339(&r.at).map_err(|_| bad("bad time"))?,
        })
    }
}

/// One workflow event as stored (document format). Unknown keys are ignored and missing ones read empty, so
/// a record a peer wrote badly still reads as an event, which replay marks superseded.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct EventRecord {
    id: String,
    action: String,
    actor: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    device: String,
    role: String,
    at: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    note: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    volunteer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    due: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rating: Option<u8>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    photos: Vec<String>,
}

impl From<&OrderEvent> for EventRecord {
    fn from(e: &OrderEvent) -> Self {
        EventRecord {
            id: e.event_id.clone(),
            action: e.action.clone(),
            actor: e.actor.clone(),
            device: e.device.clone(),
            role: e.role.clone(),
            at: e.at.clone(),
            note: e.note.clone(),
            volunteer: e.volunteer.clone(),
            due: e.due.clone(),
            rating: e.rating,
            photos: e.photos.clone(),
        }
    }
}

impl From<EventRecord> for OrderEvent {
    fn from(r: EventRecord) -> Self {
        OrderEvent {
            event_id: r.id,
            action: r.action,
            actor: r.actor,
            device: r.device,
            role: r.role,
            at: r.at,
            note: r.note,
            volunteer: r.volunteer,
            due: r.due,
            rating: r.rating,
            photos: r.photos,
        }
    }
}

/// Writes a new order: its fields and the event list opened by the requester's `request` event. Call once, on
/// a new document, in its first change.
pub fn create(doc: &mut AutoCommit, fields: &ServiceOrderFields, request: &OrderEvent) -> Result<()> {
    LAYOUT.create(doc, &FieldsRecord::from(fields), &EventRecord::from(request))
}

/// Appends one event to the end of the event list; refused once the list holds [`MAX_EVENTS`].
pub fn append_event(doc: &mut AutoCommit, e: &OrderEvent) -> Result<()> {
    LAYOUT.append(doc, &EventRecord::from(e))
}

/// One stored event with what identifies its list item.
#[derive(Debug, Clone)]
pub struct EventItem {
    /// The operation that put the item there; its actor is the author device.
    pub id: ObjId,
    /// Whether another value competes for the same item (only an overwrite makes one).
    pub conflict: bool,
    /// The event.
    pub event: OrderEvent,
}

/// The event list in document order, with the identity of each item (the server's checks). An item that is
/// no event record reads as an event with no action, which replay marks superseded.
pub fn event_items(doc: &AutoCommit) -> Result<Vec<EventItem>> {
    Ok(LAYOUT
        .items::<EventRecord>(doc)?
        .into_iter()
        .map(|(id, conflict, record)| EventItem { id, conflict, event: record.into() })
        .collect())
}

/// The event list in document order.
pub fn read_events(doc: &AutoCommit) -> Result<Vec<OrderEvent>> {
    Ok(LAYOUT.events::<EventRecord>(doc)?.into_iter().map(OrderEvent::from).collect())
}

/// The order's fields and every event as records, well-formed or not, with what each claims (the server's
/// checks): the fields claim the grid, the household, the requester and their device and the time; each
/// event its actor, device, role and time.
pub fn records(doc: &AutoCommit) -> Vec<Record> {
    let fields = |f: FieldsRecord| {
        let claims = Claims {
            grid: Some(f.grid),
            household: Some(f.household),
            user: Some(f.requester),
            device: Some(f.device),
            role: None,
            at: Some(f.at),
        };
        ("the service order's fields".to_string(), claims)
    };
    let event = |e: EventRecord| (e.id, Claims::of_act(e.actor, e.device, e.role, e.at));
    LAYOUT.records(doc, (RecordKind::OrderFields, RecordKind::OrderEvent), fields, event)
}

/// Reads the order's fields and events.
pub fn read(doc: &AutoCommit) -> Result<ServiceOrder> {
    let record: FieldsRecord = LAYOUT.fields(doc)?;
    Ok(ServiceOrder { fields: record.try_into()?, events: read_events(doc)? })
}

#[cfg(test)]
pub(crate) mod tests {
    use automerge::transaction::Transactable;
    use automerge::{ObjType, ROOT};

    use super::*;

    fn events_list(doc: &AutoCommit) -> Result<ObjId> {
        LAYOUT.list(doc)
    }
    use crate::docs::{new_document, DocId, DocKind};
    use crate::service_workflow::{self, OrderStage};

    pub(crate) const ID: &str = "0190f5a4-2b3c-7d4e-8f00-112233445577";

    pub(crate) fn event(action: &str, actor: &str, role: &str) -> OrderEvent {
        OrderEvent::new(action, actor, &format!("device-{actor}"), role, "2026-11-24T09:00:00+08:00")
    }

    pub(crate) fn fields() -> ServiceOrderFields {
        ServiceOrderFields {
            order_id: ID.into(),
            grid: "G01".into(),
            household_code: "H001".into(),
            resident: Some("王秀英".into()),
            address: "1-1-301".into(),
            phone: Some("13800000000".into()),
            service: "meal_delivery".into(),
            note: "每天中午送一份软食".into(),
            due: NaiveDate::from_ymd_opt(2026, 11, 27),
            from_visit: None,
            requester: "wang".into(),
            requester_device: "device-wang".into(),
            at: DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00").expect("t"),
        }
    }

    /// A new order document requested by `wang` (grid leader).
    pub(crate) fn requested() -> AutoCommit {
        let id = DocId::service_order("c1", "G01", ID);
        let mut doc = new_document(&id, &automerge::ActorId::random()).expect("doc");
        let request = OrderEvent { due: Some("2026-11-27".into()), ..event("request", "wang", "grid_leader") };
        create(&mut doc, &fields(), &request).expect("create");
        doc.commit();
        doc
    }

    #[test]
    fn fields_and_events_round_trip() {
        let mut doc = requested();
        let mut e = event("dispatch", "li", "committee");
        e.volunteer = Some("a".into());
        e.due = Some("2026-11-28".into());
        append_event(&mut doc, &e).expect("append");
        let order = read(&doc).expect("read");
        assert_eq!(order.fields, fields());
        assert_eq!(order.events.len(), 2);
        assert_eq!(order.events[1], e);
        assert!(create(&mut doc, &order.fields, &e).is_err(), "created once");
        let d = service_workflow::replay(&order.events);
        assert_eq!((d.stage, d.volunteer.as_deref()), (Some(OrderStage::Dispatched), Some("a")));
    }

    #[test]
    fn bad_items_read_as_empty_events_and_are_superseded() {
        let mut doc = requested();
        let list = events_list(&doc).expect("list");
        doc.insert(&list, 1, "not json").expect("text");
        doc.insert_object(&list, 2, ObjType::Map).expect("map");
        let events = read_events(&doc).expect("read");
        assert_eq!(events.len(), 3, "nothing is dropped");
        assert!(events[1].action.is_empty() && events[2].action.is_empty());
        let d = service_workflow::replay(&events);
        assert_eq!(d.superseded(), [1, 2]);
        assert_eq!(event_items(&doc).expect("items").len(), 3);
    }

    #[test]
    fn the_event_list_is_bounded() {
        let mut doc = requested();
        for _ in 1..MAX_EVENTS {
            append_event(&mut doc, &event("comment", "li", "committee")).expect("within the bound");
        }
        let refused = append_event(&mut doc, &event("comment", "li", "committee")).expect_err("bounded");
        assert_eq!(refused.code(), crate::ErrorCode::InvalidInput);
        assert_eq!(read_events(&doc).expect("read").len(), MAX_EVENTS);
    }

    #[test]
    fn records_claim_what_the_server_checks() {
        let mut doc = requested();
        let mut done = event("done", "a", "volunteer");
        done.photos = vec!["ab".into()];
        append_event(&mut doc, &done).expect("append");
        let found = crate::docs::records(DocKind::ServiceOrder, &doc);
        assert_eq!(found.len(), 3);
        let f = &found[0];
        assert_eq!(f.kind, RecordKind::OrderFields);
        assert_eq!(
            f.claims,
            Claims {
                grid: Some("G01".into()),
                household: Some("H001".into()),
                user: Some("wang".into()),
                device: Some("device-wang".into()),
                role: None,
                at: Some("2026-11-24T09:00:00+08:00".into()),
            }
        );
        assert!(f.kind.append_only());
        let e = &found[2];
        assert_eq!(e.kind, RecordKind::OrderEvent);
        assert_eq!(
            (e.claims.user.as_deref(), e.claims.device.as_deref(), e.claims.role.as_deref()),
            (Some("a"), Some("device-a"), Some("volunteer"))
        );
        assert_eq!(e.claims.at.as_deref(), Some("2026-11-24T09:00:00+08:00"));
        for r in &found {
            assert!(!r.label.contains("王秀英") && !r.label.contains("1380"), "labels carry no personal data");
            assert_eq!(r.ops.len(), 1);
        }
        // Fields that are not a record at all still claim something (empty), so the server refuses them.
        let mut junk = crate::docs::new_document(&DocId::service_order("c1", "G01", ID), &automerge::ActorId::random())
            .expect("doc");
        junk.put(ROOT, FIELDS_KEY, "not json").expect("put");
        let found = records(&junk);
        assert_eq!(found[0].claims.grid.as_deref(), Some(""));
        assert_eq!(found[0].claims.user.as_deref(), Some(""));
    }

    #[test]
    fn concurrent_appends_survive_a_merge() {
        let mut a = requested();
        let mut b = a.fork();
        append_event(&mut a, &event("comment", "li", "committee")).expect("a");
        append_event(&mut b, &event("cancel", "zhao", "station")).expect("b");
        a.merge(&mut b).expect("merge");
        b.merge(&mut a).expect("merge back");
        let (ea, eb) = (read_events(&a).expect("a"), read_events(&b).expect("b"));
        assert_eq!(ea.len(), 3);
        assert_eq!(ea, eb);
    }
}
