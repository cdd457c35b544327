//! The layout incident and service-order documents share: the fields their author wrote once, as one JSON
//! scalar under a root key, and the workflow event list at root `events`, one JSON scalar per event. Each
//! document type brings its own record types (short keys, empty values left out); this module stores, reads,
//! bounds and describes them the same way for both.
//!
//! A list item is identified by the operation that inserted it, whose actor is the author device: the
//! server checks new items against their author's role and refuses any change that overwrites or deletes a
//! stored item.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValueRef, Value, ROOT};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{label, value_ops, Claims, Record, RecordKind};
use crate::error::{Error, Result};

/// Root key of the event list.
pub const EVENTS_KEY: &str = "events";

/// One document type's layout: the root key of its fields, and names for messages and labels.
pub(crate) struct Layout {
    /// Root key of the fields (`incident`, `order`).
    pub fields_key: &'static str,
    /// What the document is, for messages (`an incident`).
    pub noun: &'static str,
    /// Most events the list may hold.
    pub max_events: usize,
}

impl Layout {
    fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::document(self.fields_key, e)
    }

    /// Writes the fields and opens the event list with `first`. Once, on a new document, in its first change.
    pub fn create<F: Serialize, E: Serialize>(&self, doc: &mut AutoCommit, fields: &F, first: &E) -> Result<()> {
        if doc.get(ROOT, EVENTS_KEY).map_err(|e| self.err(e))?.is_some() {
            return Err(self.err(format!("{} already exists", self.noun)));
        }
        doc.put(ROOT, self.fields_key, self.to_json(fields)?).map_err(|e| self.err(e))?;
        doc.put_object(ROOT, EVENTS_KEY, ObjType::List).map_err(|e| self.err(e))?;
        self.append(doc, first)
    }

    fn to_json<T: Serialize>(&self, record: &T) -> Result<String> {
        serde_json::to_string(record).map_err(|e| self.err(e))
    }

    /// The event list object.
    pub fn list(&self, doc: &AutoCommit) -> Result<ObjId> {
        match doc.get(ROOT, EVENTS_KEY).map_err(|e| self.err(e))? {
            Some((Value::Object(ObjType::List), id)) => Ok(id),
            _ => Err(self.err("no event list")),
        }
    }

    /// Appends one event record to the end of the list; refused once it holds `max_events`.
    pub fn append<E: Serialize>(&self, doc: &mut AutoCommit, event: &E) -> Result<()> {
        let events = self.list(doc)?;
        let len = doc.length(&events);
        if len >= self.max_events {
            let max = self.max_events;
            return Err(Error::invalid("events", format!("{} holds at most {max} events", self.noun)));
        }
        doc.insert(&events, len, self.to_json(event)?).map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The event records in document order, each with its list item (the operation that wrote it, and
    /// whether another value competes for the item).
    pub fn items<E: DeserializeOwned + Default>(&self, doc: &AutoCommit) -> Result<Vec<(ObjId, bool, E)>> {
        let events = self.list(doc)?;
        Ok(doc.list_range(&events, ..).map(|item| (item.id(), item.conflict, decode(&item.value))).collect())
    }

    /// The event records in document order.
    pub fn events<E: DeserializeOwned + Default>(&self, doc: &AutoCommit) -> Result<Vec<E>> {
        let events = self.list(doc)?;
        Ok(doc.list_range(&events, ..).map(|item| decode(&item.value)).collect())
    }

    /// The fields record; an error when there is none or it does not parse.
    pub fn fields<F: DeserializeOwned>(&self, doc: &AutoCommit) -> Result<F> {
        let missing = || self.err(format!("no fields of {}", self.noun));
        match doc.get(ROOT, self.fields_key).map_err(|e| self.err(e))? {
            Some((Value::Scalar(v), _)) => match v.as_ref() {
                automerge::ScalarValue::Str(text) => serde_json::from_str(text)
                    .map_err(|_| self.err(format!("the fields of {} do not parse", self.noun))),
                _ => Err(missing()),
            },
            _ => Err(missing()),
        }
    }

    /// The fields and every event as records, well-formed or not, with what each claims (the server's checks):
    /// `fields` gives the fields' label and claims, `event` each event's id and claims. An event item is keyed
    /// by the operation that wrote it, so an overwrite is a new record.
    pub fn records<F: DeserializeOwned + Default, E: DeserializeOwned + Default>(
        &self,
        doc: &AutoCommit,
        kinds: (RecordKind, RecordKind),
        fields: impl FnOnce(F) -> (String, Claims),
        event: impl Fn(E) -> (String, Claims),
    ) -> Vec<Record> {
        let mut out = Vec::new();
        if let Ok(Some((value, id))) = doc.get(ROOT, self.fields_key) {
            let conflict = doc.get_all(ROOT, self.fields_key).map(|v| v.len() > 1).unwrap_or(false);
            let record: F = match &value {
                Value::Scalar(v) => v.as_str().and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default(),
                Value::Object(_) => F::default(),
            };
            let (label, claims) = fields(record);
            let ops = value_ops(doc, &ROOT, self.fields_key, conflict, id);
            out.push(Record { kind: kinds.0, key: self.fields_key.into(), label, ops, claims });
        }
        let Ok(events) = self.list(doc) else { return out };
        for item in doc.list_range(&events, ..) {
            let id = item.id();
            let (event_id, claims) = event(decode(&item.value));
            out.push(Record {
                kind: kinds.1,
                key: format!("{EVENTS_KEY}/{id}"),
                label: label("workflow event", &event_id),
                ops: value_ops(doc, &events, item.index, item.conflict, id),
                claims,
            });
        }
        out
    }
}

/// Reads one list item: an event record, or — for anything else a faulty peer put there — an empty record
/// (no action), which replay marks superseded: it is shown, never silently dropped.
fn decode<E: DeserializeOwned + Default>(value: &automerge::ValueRef<'_>) -> E {
    match value {
        automerge::ValueRef::Scalar(ScalarValueRef::Str(text)) => serde_json::from_str(text).unwrap_or_default(),
        _ => E::default(),
    }
}
