//! Workflow rules the server enforces on changes a device sends, beyond authorship and scope: in an incident
//! document every new workflow event must claim the role its author device holds (so nobody can claim the
//! `server` role or act as the station), and what is already stored — the reporter's fields and every
//! event — is never overwritten or deleted.

use std::collections::HashSet;

use automerge::{AutoCommit, ObjId, ReadDoc, ROOT};
use gridline_core::docs::incident;
use gridline_core::docs::{DocId, DocKind};
use gridline_core::sync::signing;

use crate::error::{Result, ServerError};
use crate::storage::{Device, Storage};

/// Root key of an incident's fields (`docs::incident`).
const FIELDS_KEY: &str = "incident";

/// What a stored incident document holds that no later change may take away: the operation that wrote the
/// fields, and the operation behind each event item.
#[derive(Debug, Default)]
pub struct Stored {
    fields: Option<ObjId>,
    events: HashSet<ObjId>,
}

fn fields_op(doc: &AutoCommit) -> Option<ObjId> {
    doc.get(ROOT, FIELDS_KEY).ok().flatten().map(|(_, id)| id)
}

/// The role an event item may claim: the role of the device whose actor inserted it.
fn author_role(storage: &dyn Storage, sender: &Device, item: &ObjId) -> Result<Option<String>> {
    let ObjId::Id(_, actor, _) = item else { return Ok(None) };
    if sender.is_actor(actor) {
        return Ok(Some(sender.role.code().to_string()));
    }
    let Some(device_id) = signing::actor_device(actor) else { return Ok(None) };
    Ok(storage.device(&device_id)?.map(|d| d.role.code().to_string()))
}

/// Checks the events an incident document gained (`stored` → `doc`) against the roles of their authors, and
/// that nothing stored was overwritten or deleted. Documents of other kinds pass.
pub fn check_new_changes(
    storage: &dyn Storage,
    sender: &Device,
    id: &DocId,
    doc: &AutoCommit,
    stored: &Stored,
) -> Result<()> {
    if id.kind != DocKind::Incident {
        return Ok(());
    }
    let refuse = |why: &str| Err(ServerError::forbidden_change(format!("{id}: {why}")));
    if stored.fields.is_some() && fields_op(doc) != stored.fields {
        return refuse("the reported fields were rewritten");
    }
    let now = incident::event_items(doc).unwrap_or_default();
    let present: HashSet<&ObjId> = now.iter().map(|i| &i.id).collect();
    if stored.events.iter().any(|e| !present.contains(e)) {
        return refuse("a stored workflow event was rewritten or deleted");
    }
    for item in now.iter().filter(|i| !stored.events.contains(&i.id)) {
        if item.conflict {
            return refuse("a workflow event was overwritten");
        }
        let allowed = author_role(storage, sender, &item.id)?;
        if item.event.role.is_empty() || Some(&item.event.role) != allowed.as_ref() {
            return Err(ServerError::forbidden_change(format!(
                "{id}: an event claims role {:?}, its author device holds {:?}",
                item.event.role,
                allowed.unwrap_or_default()
            )));
        }
    }
    Ok(())
}

/// What a stored incident document holds (nothing for other kinds), for [`check_new_changes`].
pub fn stored(id: &DocId, doc: &AutoCommit) -> Stored {
    if id.kind != DocKind::Incident {
        return Stored::default();
    }
    Stored { fields: fields_op(doc), events: incident::event_ids(doc).unwrap_or_default().into_iter().collect() }
}

impl Stored {
    /// Whether the stored document already had workflow events (so the server's receipt is in it).
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }
}
