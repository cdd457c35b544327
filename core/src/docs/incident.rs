//! The incident document, one per incident: its fields at root key `incident`, and the workflow event list
//! at `events`. Both are immutable records, so each is one Automerge scalar holding a compact JSON record
//! (one operation per event instead of one per field — a report is 8 operations, not 30): the fields are
//! written once by the reporter, and an event, once appended, is never edited. The reporter creates the
//! list in the document's first change, so no two devices ever create it concurrently; every later action
//! appends one record to it, and concurrent appends from several devices all survive a merge in one order
//! every replica agrees on. Comments and extra photos are events too (`comment`, or photos on any event).
//!
//! A list item is identified by the operation that inserted it, whose actor is the author device: the
//! server checks new items against their author's role and refuses any change that overwrites or deletes
//! a stored item.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValueRef, Value, ROOT};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::{label, value_ops, Claims, Record, RecordKind};
use crate::error::{Error, Result};
use crate::model::{IncidentEvent, IncidentFields, Location, Severity};
use crate::workflow::{Action, SERVER_ROLE};

/// Root key of the incident's fields.
pub const FIELDS_KEY: &str = "incident";
/// Root key of the event list.
pub const EVENTS_KEY: &str = "events";
/// Most events one incident document may hold (a bound on what any peer can make a device replay).
pub const MAX_EVENTS: usize = 2000;

/// An incident as read from its document.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// The fields written by the reporter.
    pub fields: IncidentFields,
    /// The workflow events, in document order.
    pub events: Vec<IncidentEvent>,
}

fn err(e: automerge::AutomergeError) -> Error {
    Error::document(FIELDS_KEY, e)
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

fn to_json<T: Serialize>(record: &T) -> Result<String> {
    serde_json::to_string(record).map_err(|e| Error::document(FIELDS_KEY, e))
}

/// Writes a new incident: its fields and the event list opened by the reporter's `report` event. Call once,
/// on a new document, in its first change.
pub fn create(doc: &mut AutoCommit, fields: &IncidentFields, report: &IncidentEvent) -> Result<()> {
    if doc.get(ROOT, EVENTS_KEY).map_err(err)?.is_some() {
        return Err(Error::document(FIELDS_KEY, "the incident already exists"));
    }
    doc.put(ROOT, FIELDS_KEY, to_json(&FieldsRecord::from(fields))?).map_err(err)?;
    doc.put_object(ROOT, EVENTS_KEY, ObjType::List).map_err(err)?;
    append_event(doc, report)
}

fn events_list(doc: &AutoCommit) -> Result<ObjId> {
    match doc.get(ROOT, EVENTS_KEY).map_err(err)? {
        Some((Value::Object(ObjType::List), id)) => Ok(id),
        _ => Err(Error::document(FIELDS_KEY, "no event list")),
    }
}

/// Appends one event to the end of the event list.
pub fn append_event(doc: &mut AutoCommit, e: &IncidentEvent) -> Result<()> {
    let events = events_list(doc)?;
    let len = doc.length(&events);
    if len >= MAX_EVENTS {
        return Err(Error::invalid("events", format!("an incident holds at most {MAX_EVENTS} events")));
    }
    doc.insert(&events, len, to_json(&EventRecord::from(e))?).map_err(err)?;
    Ok(())
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

/// Reads one list item: an event record, or — for anything else a faulty peer put there — an event with no
/// action, which replay marks superseded: it is shown, never silently dropped.
fn event_from(value: &automerge::ValueRef<'_>) -> IncidentEvent {
    let record = match value {
        automerge::ValueRef::Scalar(ScalarValueRef::Str(text)) => serde_json::from_str(text).unwrap_or_default(),
        _ => EventRecord::default(),
    };
    IncidentEvent::from(record)
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

/// The event list in document order, with the identity of each item (the server's checks).
pub fn event_items(doc: &AutoCommit) -> Result<Vec<EventItem>> {
    let events = events_list(doc)?;
    Ok(doc
        .list_range(&events, ..)
        .map(|item| EventItem { id: item.id(), conflict: item.conflict, event: event_from(&item.value) })
        .collect())
}

/// The identities of the event list's items, in document order (no event is decoded).
pub fn event_ids(doc: &AutoCommit) -> Result<Vec<ObjId>> {
    let events = events_list(doc)?;
    Ok(doc.list_range(&events, ..).map(|item| item.id()).collect())
}

/// The event list in document order.
pub fn read_events(doc: &AutoCommit) -> Result<Vec<IncidentEvent>> {
    let events = events_list(doc)?;
    Ok(doc.list_range(&events, ..).map(|item| event_from(&item.value)).collect())
}

/// The incident's fields and every event as records, well-formed or not, with what each claims (the
/// server's checks). An event item is keyed by the operation that wrote it, so an overwrite is a new record.
pub fn records(doc: &AutoCommit) -> Vec<Record> {
    let mut out = Vec::new();
    if let Ok(Some((value, id))) = doc.get(ROOT, FIELDS_KEY) {
        let conflict = doc.get_all(ROOT, FIELDS_KEY).map(|v| v.len() > 1).unwrap_or(false);
        let record: FieldsRecord = match &value {
            Value::Scalar(v) => v.as_str().and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default(),
            Value::Object(_) => FieldsRecord::default(),
        };
        let claims = Claims {
            grid: Some(record.grid),
            household: record.household,
            user: Some(record.reporter),
            device: Some(record.device),
            role: None,
            at: Some(record.at),
        };
        let ops = value_ops(doc, &ROOT, FIELDS_KEY, conflict, id);
        out.push(Record {
            kind: RecordKind::IncidentFields,
            key: FIELDS_KEY.into(),
            label: "the incident's fields".into(),
            ops,
            claims,
        });
    }
    let Ok(events) = events_list(doc) else { return out };
    for item in doc.list_range(&events, ..) {
        let id = item.id();
        let event = event_from(&item.value);
        let claims = Claims {
            grid: None,
            household: None,
            user: Some(event.actor),
            device: Some(event.device),
            role: Some(event.role),
            at: Some(event.at),
        };
        out.push(Record {
            kind: RecordKind::WorkflowEvent,
            key: format!("{EVENTS_KEY}/{id}"),
            label: label("workflow event", &event.event_id),
            ops: value_ops(doc, &events, item.index, item.conflict, id),
            claims,
        });
    }
    out
}

/// Reads the incident's fields and events.
pub fn read(doc: &AutoCommit) -> Result<Incident> {
    let record: FieldsRecord = match doc.get(ROOT, FIELDS_KEY).map_err(err)? {
        Some((Value::Scalar(v), _)) => match v.as_ref() {
            automerge::ScalarValue::Str(text) => {
                serde_json::from_str(text).map_err(|e| Error::document(FIELDS_KEY, format!("bad fields: {e}")))?
            }
            _ => return Err(Error::document(FIELDS_KEY, "no incident fields")),
        },
        _ => return Err(Error::document(FIELDS_KEY, "no incident fields")),
    };
    Ok(Incident { fields: record.try_into()?, events: read_events(doc)? })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
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
