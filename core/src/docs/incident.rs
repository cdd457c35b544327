//! The incident document, one per incident: its fields at root key `incident`, and the workflow event list
//! at `events` (the layout of `event_list.rs`, shared with service orders). Both are immutable records, so
//! each is one Automerge scalar holding a compact JSON record (one operation per event instead of one per
//! field — a report is 8 operations, not 30): the fields are written once by the reporter, and an event,
//! once appended, is never edited. The reporter creates the list in the document's first change, so no two
//! devices ever create it concurrently; every later action appends one record to it, and concurrent appends
//! from several devices all survive a merge in one order every replica agrees on. Comments and extra photos
//! are events too (`comment`, or photos on any event).

use automerge::{AutoCommit, ObjId};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::event_list::Layout;
use super::{Claims, Record, RecordKind};
use crate::error::{Error, Result};
use crate::model::{IncidentEvent, IncidentFields, Location, Severity};
use crate::workflow::{Action, SERVER_ROLE};

/// Root key of the incident's fields.
pub const FIELDS_KEY: &str = "incident";
/// Root key of the event list.
pub const EVENTS_KEY: &str = super::event_list::EVENTS_KEY;
/// Most events one incident document may hold (a bound on what any peer can make a device replay).
pub const MAX_EVENTS: usize = 2000;

const LAYOUT: Layout = Layout { fields_key: FIELDS_KEY, noun: "an incident", max_events: MAX_EVENTS };

/// An incident as read from its document.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// The fields written by the reporter.
    pub fields: IncidentFields,
    /// The workflow events, in document order.
    pub events: Vec<IncidentEvent>,
}

/// The incident's fields as stored (document format: short keys, empty values left out).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct FieldsRecord {
    id: String,
    grid: String,
    category: String,
    severity: String,
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    household: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lon: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    accuracy_m: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    photos: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    check_in: Option<String>,
    reporter: String,
    device: String,
    at: String,
}

impl From<&IncidentFields> for FieldsRecord {
    fn from(f: &IncidentFields) -> Self {
        FieldsRecord {
            id: f.incident_id.clone(),
            grid: f.grid.clone(),
            category: f.category.clone(),
            severity: f.severity.code().into(),
            title: f.title.clone(),
            description: f.description.clone(),
            household: f.household_code.clone(),
            lat: f.location.map(|l| l.lat),
            lon: f.location.map(|l| l.lon),
            accuracy_m: f.location.and_then(|l| l.accuracy_m),
            photos: f.photos.clone(),
            check_in: f.check_in_id.clone(),
            reporter: f.reporter.clone(),
            device: f.reporter_device.clone(),
            at: f.at.to_rfc3339(),
        }
    }
}

impl TryFrom<FieldsRecord> for IncidentFields {
    type Error = Error;

    fn try_from(r: FieldsRecord) -> Result<Self> {
        let bad = |why: &str| Error::document(FIELDS_KEY, why);
        let location = match (r.lat, r.lon) {
            (Some(lat), Some(lon)) => Some(Location { lat, lon, accuracy_m: r.accuracy_m }),
            _ => None,
        };
        Ok(IncidentFields {
            incident_id: r.id,
            grid: r.grid,
            category: r.category,
            severity: r.severity.parse::<Severity>().map_err(|_| bad("bad severity"))?,
            title: r.title,
            description: r.description,
            household_code: r.household,
            location,
            photos: r.photos,
            check_in_id: r.check_in,
            reporter: r.reporter,
            reporter_device: r.device,
            at: DateTime::parse_from_rfc3339(&r.at).map_err(|_| bad("bad time"))?,
        })
    }
}

/// One workflow event as stored (document format). Unknown keys are ignored and missing ones read empty,
/// so a record a peer wrote badly still reads as an event, which replay marks superseded.
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
    assignee: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duplicate_of: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    satisfied: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    photos: Vec<String>,
}

impl From<&IncidentEvent> for EventRecord {
    fn from(e: &IncidentEvent) -> Self {
        EventRecord {
            id: e.event_id.clone(),
            action: e.action.clone(),
            actor: e.actor.clone(),
            device: e.device.clone(),
            role: e.role.clone(),
            at: e.at.clone(),
            note: e.note.clone(),
            assignee: e.assignee.clone(),
            duplicate_of: e.duplicate_of.clone(),
            satisfied: e.satisfied,
            photos: e.photos.clone(),
        }
    }
}

impl From<EventRecord> for IncidentEvent {
    fn from(r: EventRecord) -> Self {
        IncidentEvent {
            event_id: r.id,
            action: r.action,
            actor: r.actor,
            device: r.device,
            role: r.role,
            at: r.at,
            note: r.note,
            assignee: r.assignee,
            duplicate_of: r.duplicate_of,
            satisfied: r.satisfied,
            photos: r.photos,
        }
    }
}

/// Writes a new incident: its fields and the event list opened by the reporter's `report` event. Call once,
/// on a new document, in its first change.
pub fn create(doc: &mut AutoCommit, fields: &IncidentFields, report: &IncidentEvent) -> Result<()> {
    LAYOUT.create(doc, &FieldsRecord::from(fields), &EventRecord::from(report))
}

/// Appends one event to the end of the event list.
pub fn append_event(doc: &mut AutoCommit, e: &IncidentEvent) -> Result<()> {
    LAYOUT.append(doc, &EventRecord::from(e))
}

/// The server's receipt (已送达): appends a `receive` event by actor and role `server`, unless the list already
/// holds one. Returns the event appended, if any. The server calls this when it first stores the incident.
pub fn append_receipt(doc: &mut AutoCommit, at: DateTime<FixedOffset>) -> Result<Option<IncidentEvent>> {
    let already = read_events(doc)?.iter().any(|e| e.action == Action::Receive.code() && e.role == SERVER_ROLE);
    if already {
        return Ok(None);
    }
    let receipt = IncidentEvent::new(Action::Receive.code(), SERVER_ROLE, "", SERVER_ROLE, at.to_rfc3339());
    append_event(doc, &receipt)?;
    Ok(Some(receipt))
}

/// One stored event with what identifies its list item.
#[derive(Debug, Clone)]
pub struct EventItem {
    /// The operation that put the item there; its actor is the author device.
    pub id: automerge::ObjId,
    /// Whether another value competes for the same item (only an overwrite makes one).
    pub conflict: bool,
    /// The event.
    pub event: IncidentEvent,
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

/// The identities of the event list's items, in document order (no event is decoded).
pub fn event_ids(doc: &AutoCommit) -> Result<Vec<ObjId>> {
    use automerge::ReadDoc;
    let events = LAYOUT.list(doc)?;
    Ok(doc.list_range(&events, ..).map(|item| item.id()).collect())
}

/// The event list in document order.
pub fn read_events(doc: &AutoCommit) -> Result<Vec<IncidentEvent>> {
    Ok(LAYOUT.events::<EventRecord>(doc)?.into_iter().map(IncidentEvent::from).collect())
}

/// The incident's fields and every event as records, well-formed or not, with what each claims (the
/// server's checks). An event item is keyed by the operation that wrote it, so an overwrite is a new record.
pub fn records(doc: &AutoCommit) -> Vec<Record> {
    let fields = |f: FieldsRecord| {
        let claims = Claims {
            grid: Some(f.grid),
            household: f.household,
            user: Some(f.reporter),
            device: Some(f.device),
            role: None,
            at: Some(f.at),
        };
        ("the incident's fields".to_string(), claims)
    };
    let event = |e: EventRecord| (e.id, Claims::of_act(e.actor, e.device, e.role, e.at));
    LAYOUT.records(doc, (RecordKind::IncidentFields, RecordKind::WorkflowEvent), fields, event)
}

/// Reads the incident's fields and events.
pub fn read(doc: &AutoCommit) -> Result<Incident> {
    let record: FieldsRecord = LAYOUT.fields(doc)?;
    Ok(Incident { fields: record.try_into()?, events: read_events(doc)? })
}

#[cfg(test)]
pub(crate) mod tests {
    use automerge::transaction::Transactable;
    use automerge::{ObjType, ReadDoc, Value};

    use super::*;

    fn events_list(doc: &AutoCommit) -> Result<ObjId> {
        LAYOUT.list(doc)
    }
    use crate::docs::{new_document, DocId};
    use crate::workflow::{self, Stage};

    pub(crate) const ID: &str = "0190f5a4-2b3c-7d4e-8f00-112233445566";

    pub(crate) fn event(action: &str, actor: &str, role: &str) -> IncidentEvent {
        IncidentEvent::new(action, actor, "d", role, "2026-11-24T09:00:00+08:00")
    }

    /// A new incident document reported by `wang` (grid leader).
    pub(crate) fn reported(severity: Severity) -> AutoCommit {
        let id = DocId::incident("c1", "G01", ID);
        let mut doc = new_document(&id, &automerge::ActorId::random()).expect("doc");
        let fields = IncidentFields {
            incident_id: ID.into(),
            grid: "G01".into(),
            category: "facility_repair".into(),
            severity,
            title: "楼道灯坏了".into(),
            description: String::new(),
            household_code: Some("H001".into()),
            location: None,
            photos: vec![],
            check_in_id: None,
            reporter: "wang".into(),
            reporter_device: "d".into(),
            at: DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00").expect("t"),
        };
        create(&mut doc, &fields, &event("report", "wang", "grid_leader")).expect("create");
        doc.commit();
        doc
    }

    #[test]
    fn fields_and_events_round_trip() {
        let mut doc = reported(Severity::Normal);
        let mut e = event("evaluate", "wang", "grid_leader");
        e.satisfied = Some(false);
        e.photos = vec!["ab".into(), "cd".into()];
        append_event(&mut doc, &e).expect("append");
        let incident = read(&doc).expect("read");
        assert_eq!(incident.fields.title, "楼道灯坏了");
        assert_eq!(incident.events.len(), 2);
        assert_eq!(incident.events[1], e);
        assert!(create(&mut doc, &incident.fields, &e).is_err(), "created once");
    }

    #[test]
    fn each_event_is_one_record_and_bad_items_read_as_empty_events() {
        let mut doc = reported(Severity::Normal);
        let list = events_list(&doc).expect("list");
        let stored: String = match doc.get(&list, 0).expect("get") {
            Some((Value::Scalar(v), _)) => v.as_str().expect("text").to_string(),
            other => panic!("{other:?}"),
        };
        let json: serde_json::Value = serde_json::from_str(&stored).expect("json");
        assert_eq!((json["action"].as_str(), json["role"].as_str()), (Some("report"), Some("grid_leader")));
        assert!(json.get("note").is_none(), "empty values are left out");
        doc.insert(&list, 1, "not json").expect("text");
        doc.insert_object(&list, 2, ObjType::Map).expect("map");
        doc.insert(
            &list,
            3,
            r#"{"id":"e4","action":"comment","actor":"li","role":"committee","at":"2026-11-24T09:10:00+08:00","x":1}"#,
        )
        .expect("record");
        let events = read_events(&doc).expect("read");
        assert_eq!(events.len(), 4, "nothing is dropped");
        assert!(events[1].action.is_empty() && events[2].action.is_empty());
        assert_eq!((events[3].action.as_str(), events[3].role.as_str()), ("comment", "committee"));
        let d = workflow::replay(Severity::Normal, &events);
        assert_eq!(d.outcomes.iter().filter(|o| !o.applied).count(), 2, "the bad items are superseded");
    }

    #[test]
    fn receipt_is_appended_once_and_moves_to_committee_review() {
        let mut doc = reported(Severity::Normal);
        let at = DateTime::parse_from_rfc3339("2026-11-24T09:05:00+08:00").expect("t");
        assert!(append_receipt(&mut doc, at).expect("receipt").is_some());
        assert!(append_receipt(&mut doc, at).expect("again").is_none());
        let incident = read(&doc).expect("read");
        let d = workflow::replay(incident.fields.severity, &incident.events);
        assert_eq!(d.stage, Some(Stage::CommitteeReview));
        assert!(d.delivered);
    }

    #[test]
    fn concurrent_appends_survive_a_merge() {
        let mut a = reported(Severity::Normal);
        let mut b = a.fork();
        append_event(&mut a, &event("comment", "li", "committee")).expect("a");
        append_event(&mut b, &event("comment", "zhao", "station")).expect("b");
        a.merge(&mut b).expect("merge");
        b.merge(&mut a).expect("merge back");
        let (ea, eb) = (read_events(&a).expect("a"), read_events(&b).expect("b"));
        assert_eq!(ea.len(), 3);
        assert_eq!(ea, eb);
    }
}
