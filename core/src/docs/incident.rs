//! The incident document, one per incident: its fields at root key `incident`, and the workflow event list
//! at `events` — an Automerge list of event maps. The reporter creates both in the document's first change,
//! so no two devices ever create the list concurrently; every later action appends one map to it, and
//! concurrent appends from several devices all survive a merge in one order every replica agrees on.
//! Comments and extra photos are events too (`comment`, or photos on any event).

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, ScalarValueRef, Value, ROOT};
use chrono::{DateTime, FixedOffset};

use super::{b, get_entity, list, os, put_entity, s, Fields};
use crate::error::{Error, Result};
use crate::model::{IncidentEvent, IncidentFields, Location, Severity};
use crate::workflow::{Action, SERVER_ROLE};

/// Root key of the incident's fields.
const FIELDS_KEY: &str = "incident";
/// Root key of the event list.
const EVENTS_KEY: &str = "events";
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

fn field_values(f: &IncidentFields) -> Fields<'static> {
    let loc = f.location;
    vec![
        ("id", s(&f.incident_id)),
        ("grid", s(&f.grid)),
        ("category", s(&f.category)),
        ("severity", s(f.severity.code())),
        ("title", s(&f.title)),
        ("description", s(&f.description)),
        ("household", os(&f.household_code)),
        ("lat", loc.map(|l| l.lat.into())),
        ("lon", loc.map(|l| l.lon.into())),
        ("accuracy_m", loc.and_then(|l| l.accuracy_m).map(Into::into)),
        ("photos", list(&f.photos)),
        ("check_in", os(&f.check_in_id)),
        ("reporter", s(&f.reporter)),
        ("device", s(&f.reporter_device)),
        ("at", s(&f.at.to_rfc3339())),
    ]
}

fn event_values(e: &IncidentEvent) -> Vec<(&'static str, Option<ScalarValue>)> {
    vec![
        ("id", s(&e.event_id)),
        ("action", s(&e.action)),
        ("actor", s(&e.actor)),
        ("device", s(&e.device)),
        ("role", s(&e.role)),
        ("at", s(&e.at)),
        ("note", s(&e.note)),
        ("assignee", os(&e.assignee)),
        ("duplicate_of", os(&e.duplicate_of)),
        ("satisfied", e.satisfied.and_then(b)),
        ("photos", list(&e.photos)),
    ]
}

/// Writes a new incident: its fields and the event list opened by the reporter's `report` event. Call once,
/// on a new document, in its first change.
pub fn create(doc: &mut AutoCommit, fields: &IncidentFields, report: &IncidentEvent) -> Result<()> {
    if doc.get(ROOT, EVENTS_KEY).map_err(err)?.is_some() {
        return Err(Error::document(FIELDS_KEY, "the incident already exists"));
    }
    put_entity(doc, FIELDS_KEY, &field_values(fields))?;
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
    let map = doc.insert_object(&events, len, ObjType::Map).map_err(err)?;
    for (name, value) in event_values(e) {
        if let Some(v) = value {
            doc.put(&map, name, v).map_err(err)?;
        }
    }
    Ok(())
}

/// The server's receipt (已送达): appends a `receive` event by actor and role `server`, unless the list already
/// holds one. Returns the event appended, if any. The server calls this when it first stores the incident.
pub fn append_receipt(doc: &mut AutoCommit, at: DateTime<FixedOffset>) -> Result<Option<IncidentEvent>> {
    let already = read_events(doc)?.iter().any(|e| e.action == Action::Receive.code() && e.role == SERVER_ROLE);
    if already {
        return Ok(None);
    }
    let receipt = IncidentEvent {
        event_id: uuid::Uuid::now_v7().to_string(),
        action: Action::Receive.code().into(),
        actor: SERVER_ROLE.into(),
        device: String::new(),
        role: SERVER_ROLE.into(),
        at: at.to_rfc3339(),
        note: String::new(),
        assignee: None,
        duplicate_of: None,
        satisfied: None,
        photos: Vec::new(),
    };
    append_event(doc, &receipt)?;
    Ok(Some(receipt))
}

fn empty_event() -> IncidentEvent {
    IncidentEvent {
        event_id: String::new(),
        action: String::new(),
        actor: String::new(),
        device: String::new(),
        role: String::new(),
        at: String::new(),
        note: String::new(),
        assignee: None,
        duplicate_of: None,
        satisfied: None,
        photos: Vec::new(),
    }
}

/// Reads one event map in a single pass over its fields (replay of long histories reads many of them).
fn event_from(doc: &AutoCommit, obj: &ObjId) -> IncidentEvent {
    let mut e = empty_event();
    for item in doc.map_range(obj, ..) {
        let value = match item.value {
            automerge::ValueRef::Scalar(v) => v,
            automerge::ValueRef::Object(_) => continue,
        };
        if let ScalarValueRef::Boolean(v) = value {
            if item.key == "satisfied" {
                e.satisfied = Some(v);
            }
            continue;
        }
        let ScalarValueRef::Str(text) = value else { continue };
        let text = text.into_owned();
        match item.key.as_ref() {
            "id" => e.event_id = text,
            "action" => e.action = text,
            "actor" => e.actor = text,
            "device" => e.device = text,
            "role" => e.role = text,
            "at" => e.at = text,
            "note" => e.note = text,
            "assignee" => e.assignee = Some(text),
            "duplicate_of" => e.duplicate_of = Some(text),
            "photos" => e.photos = super::split_list(&text),
            _ => {}
        }
    }
    e
}

/// The event list in document order. An item that is not a map (a faulty peer) is read as an event with
/// no action, which replay marks superseded: it is shown, never silently dropped.
pub fn read_events(doc: &AutoCommit) -> Result<Vec<IncidentEvent>> {
    let events = events_list(doc)?;
    Ok(doc
        .list_range(&events, ..)
        .map(|item| match item.value {
            automerge::ValueRef::Object(ObjType::Map) => event_from(doc, &item.id()),
            _ => empty_event(),
        })
        .collect())
}

/// Reads the incident's fields and events.
pub fn read(doc: &AutoCommit) -> Result<Incident> {
    let e = get_entity(doc, FIELDS_KEY).ok_or_else(|| Error::document(FIELDS_KEY, "no incident fields"))?;
    let bad = |why: &str| Error::document(FIELDS_KEY, why);
    let location = match (e.opt_f64("lat"), e.opt_f64("lon")) {
        (Some(lat), Some(lon)) => Some(Location { lat, lon, accuracy_m: e.opt_f64("accuracy_m") }),
        _ => None,
    };
    let fields = IncidentFields {
        incident_id: e.str("id"),
        grid: e.str("grid"),
        category: e.str("category"),
        severity: Severity::parse(&e.str("severity")).map_err(|_| bad("bad severity"))?,
        title: e.str("title"),
        description: e.str("description"),
        household_code: e.opt_str("household"),
        location,
        photos: e.list("photos"),
        check_in_id: e.opt_str("check_in"),
        reporter: e.str("reporter"),
        reporter_device: e.str("device"),
        at: DateTime::parse_from_rfc3339(&e.str("at")).map_err(|_| bad("bad time"))?,
    };
    Ok(Incident { fields, events: read_events(doc)? })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::docs::{new_document, DocId};
    use crate::workflow::{self, Stage};

    pub(crate) const ID: &str = "0190f5a4-2b3c-7d4e-8f00-112233445566";

    pub(crate) fn event(action: &str, actor: &str, role: &str) -> IncidentEvent {
        IncidentEvent {
            event_id: uuid::Uuid::now_v7().to_string(),
            action: action.into(),
            actor: actor.into(),
            device: "d".into(),
            role: role.into(),
            at: "2026-11-24T09:00:00+08:00".into(),
            note: String::new(),
            assignee: None,
            duplicate_of: None,
            satisfied: None,
            photos: Vec::new(),
        }
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
