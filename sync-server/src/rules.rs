//! Workflow rules the server enforces on changes a device sends, beyond authorship and scope: in an incident
//! document every new workflow event must claim the role its author device holds (so nobody can claim the
//! `server` role or act as the station), and events already stored are never rewritten.

use std::collections::HashMap;

use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, Value, ROOT};
use gridline_core::docs::{DocId, DocKind, Entity};

use crate::error::{Result, ServerError};
use crate::storage::{Device, Storage};

/// Root key of an incident's event list (`docs::incident`).
const EVENTS_KEY: &str = "events";
/// Event fields that identify what an event claims; they never change once stored.
const FROZEN_FIELDS: [&str; 3] = ["action", "role", "actor"];

/// The event maps of an incident document, by object id.
fn events(doc: &AutoCommit) -> HashMap<ObjId, Entity> {
    let Ok(Some((Value::Object(ObjType::List), list))) = doc.get(ROOT, EVENTS_KEY) else { return HashMap::new() };
    let items: Vec<ObjId> = doc.list_range(&list, ..).map(|i| i.id()).collect();
    items.into_iter().map(|id| (id.clone(), Entity::read(doc, &id))).collect()
}

/// The role an event map may claim: the role of the device whose actor created it.
fn author_role(storage: &dyn Storage, sender: &Device, event: &ObjId) -> Result<Option<String>> {
    let ObjId::Id(_, actor, _) = event else { return Ok(None) };
    if sender.actor_bytes().is_some_and(|a| actor.to_bytes() == a.as_slice()) {
        return Ok(Some(sender.role.code().to_string()));
    }
    let Ok(uuid) = uuid::Uuid::from_slice(actor.to_bytes()) else { return Ok(None) };
    Ok(storage.device(&uuid.to_string())?.map(|d| d.role.code().to_string()))
}

/// Checks the events an incident document gained (`before_events` → `doc`) against the roles of their
/// authors, and that no stored event's claim was rewritten. Documents of other kinds pass.
pub fn check_new_changes(
    storage: &dyn Storage,
    sender: &Device,
    id: &DocId,
    doc: &AutoCommit,
    before_events: &HashMap<ObjId, Entity>,
) -> Result<()> {
    if id.kind != DocKind::Incident {
        return Ok(());
    }
    for (obj, event) in events(doc) {
        match before_events.get(&obj) {
            Some(old) => {
                if FROZEN_FIELDS.iter().any(|f| old.fields.get(*f) != event.fields.get(*f)) {
                    return Err(ServerError::forbidden_change(format!("{id}: a stored workflow event was rewritten")));
                }
            }
            None => {
                let claimed = event.opt_str("role");
                let allowed = author_role(storage, sender, &obj)?;
                if claimed.is_none() || claimed != allowed {
                    return Err(ServerError::forbidden_change(format!(
                        "{id}: an event claims role {:?}, its author device holds {:?}",
                        claimed.unwrap_or_default(),
                        allowed.unwrap_or_default()
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The event maps of a stored incident document (empty for other kinds), for [`check_new_changes`].
pub fn stored_events(id: &DocId, doc: &AutoCommit) -> HashMap<ObjId, Entity> {
    if id.kind != DocKind::Incident {
        return HashMap::new();
    }
    events(doc)
}
