//! A community-wide replica: the server's own device store, fed with every document the server stores, so
//! the triage console reads the queue, deadlines, coverage and the ledger from the same tables and rules as
//! the phones. It never writes changes of its own: a staff member's action is prepared here as a change by
//! the staff account's own actor ([`Store::incident_act_change`]) and stored by the server like a device's,
//! after the same checks; it comes back into the replica with the next feed.

use std::path::Path;
use std::sync::Arc;

use automerge::AutoCommit;

use super::{
    index, meta_get, meta_set, DeviceInfo, IncidentAct, IncidentDetail, OrderAct, OrderDetail, ProjectDetail, Store,
    KEY_LEN,
};
use crate::clock::Clock;
use crate::docs::DocId;
use crate::error::{Error, Result};
use crate::model::{CommunitySettings, NewProject, Role};
use crate::project::ProjectStatus;
use crate::workflow;

/// Meta key: the server catalogue version the replica has merged up to.
const META_REPLICA_CURSOR: &str = "replica_cursor";

impl Store {
    /// Creates the replica store of `community_id` in `dir`: a community-wide identity (role station, every
    /// grid) that only receives documents.
    pub fn create_replica(dir: &Path, key: &[u8; KEY_LEN], community_id: &str, clock: Arc<dyn Clock>) -> Result<Store> {
        DocId::parse(&format!("community:{community_id}"))
            .map_err(|_| Error::invalid("community_id", format!("bad community id {community_id:?}")))?;
        let device = DeviceInfo {
            device_id: uuid::Uuid::now_v7().to_string(),
            user: "replica".into(),
            role: Role::Station,
            community_id: community_id.to_string(),
            grids: vec![],
            buildings: vec![],
        };
        let settings = CommunitySettings::defaults(community_id, "", crate::model::DEFAULT_TIME_ZONE);
        Store::create(dir, key, device, settings, &[(META_REPLICA_CURSOR, "0")], clock)
    }

    /// The catalogue version this replica has merged up to.
    pub fn replica_cursor(&self) -> Result<u64> {
        Ok(meta_get(self.conn(), META_REPLICA_CURSOR)?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// Merges the server's copies of documents into the replica, re-derives their tables and records the
    /// catalogue version reached, in one transaction. Returns the ids of the documents that changed.
    pub fn merge_documents(&mut self, docs: Vec<(DocId, AutoCommit)>, cursor: u64) -> Result<Vec<DocId>> {
        let mut changed = Vec::new();
        for (id, mut theirs) in docs {
            if !self.device.scope().may_read(&id) {
                continue;
            }
            let mut ours = self.checkout_to_receive(&id)?;
            let before = ours.get_heads();
            ours.merge(&mut theirs).map_err(|e| Error::document(&id.to_string(), e))?;
            if ours.get_heads() == before {
                self.give_back(id, ours);
            } else {
                changed.push((id, ours));
            }
        }
        let ids: Vec<DocId> = changed.iter().map(|(id, _)| id.clone()).collect();
        let cursor = cursor.to_string();
        self.persist(changed, |tx, merged| {
            index::reindex(tx, merged)?;
            meta_set(tx, META_REPLICA_CURSOR, &cursor)
        })?;
        Ok(ids)
    }

    /// Prepares `by`'s action on an incident as the change their actor would make, after the same checks as
    /// [`Store::incident_act`]; the store itself is left unchanged. Returns the document and the change (raw
    /// bytes) for the server to check and store.
    pub fn incident_act_change(
        &mut self,
        by: &DeviceInfo,
        incident_id: &str,
        act: IncidentAct,
    ) -> Result<(DocId, Vec<u8>)> {
        let (id, mut doc, _, event) = self.prepare_act(by, incident_id, &act)?;
        doc.set_actor(super::actor_of(&by.device_id)?);
        crate::docs::incident::append_event(&mut doc, &event)?;
        doc.commit();
        // The working copy is dropped, not given back: the store reloads the document as it was.
        let change = doc.get_last_local_change().map(|c| c.raw_bytes().to_vec());
        Ok((id, change.ok_or_else(|| Error::Store("the action wrote no change".into()))?))
    }

    /// One incident as `by` sees it: the actions offered are those `by`'s role may take now.
    pub fn incident_detail_as(&self, by: &DeviceInfo, incident_id: &str) -> Result<IncidentDetail> {
        let mut detail = self.incident_detail(incident_id)?;
        detail.allowed_actions = workflow::allowed_at(Some(detail.stage), Some(&detail.reporter), by.role, &by.user);
        Ok(detail)
    }

    /// Prepares `by`'s action on a service order as the change their actor would make, after the same checks
    /// as [`Store::order_act`]; the store itself is left unchanged. Returns the document and the change (raw
    /// bytes) for the server to check and store.
    pub fn order_act_change(&mut self, by: &DeviceInfo, order_id: &str, act: OrderAct) -> Result<(DocId, Vec<u8>)> {
        let (id, mut doc, _, event) = self.prepare_order_act(by, order_id, &act)?;
        doc.set_actor(super::actor_of(&by.device_id)?);
        crate::docs::service_order::append_event(&mut doc, &event)?;
        doc.commit();
        // The working copy is dropped, not given back: the store reloads the document as it was.
        let change = doc.get_last_local_change().map(|c| c.raw_bytes().to_vec());
        Ok((id, change.ok_or_else(|| Error::Store("the action wrote no change".into()))?))
    }

    /// One service order as `by` sees it: the actions offered are those `by` may take now.
    pub fn order_detail_as(&self, by: &DeviceInfo, order_id: &str) -> Result<OrderDetail> {
        self.order_detail_for(by, order_id)
    }

    /// Prepares `by`'s new project as the first change of its document by their actor, after the same checks
    /// as [`Store::project_create`]; the store itself is left unchanged. Returns the document and the change.
    pub fn project_create_change(&mut self, by: &DeviceInfo, input: NewProject) -> Result<(DocId, Vec<u8>)> {
        let fields = self.prepare_project(by, input)?;
        let id = DocId::project(&self.device.community_id, &fields.project_id);
        let mut doc = crate::docs::new_document(&id, &super::actor_of(&by.device_id)?)?;
        crate::docs::project::create(&mut doc, &fields)?;
        doc.commit();
        let change = doc.get_last_local_change().map(|c| c.raw_bytes().to_vec());
        Ok((id, change.ok_or_else(|| Error::Store("the project wrote no change".into()))?))
    }

    /// Prepares `by`'s move of a project to `status` as the change their actor would make, after the same
    /// checks as [`Store::project_update`]; the store itself is left unchanged.
    pub fn project_update_change(
        &mut self,
        by: &DeviceInfo,
        project_id: &str,
        status: ProjectStatus,
        note: &str,
    ) -> Result<(DocId, Vec<u8>)> {
        let (id, mut doc, _, event) = self.prepare_project_update(by, project_id, status, note)?;
        doc.set_actor(super::actor_of(&by.device_id)?);
        crate::docs::project::add_status(&mut doc, &event)?;
        doc.commit();
        // The working copy is dropped, not given back: the store reloads the document as it was.
        let change = doc.get_last_local_change().map(|c| c.raw_bytes().to_vec());
        Ok((id, change.ok_or_else(|| Error::Store("the action wrote no change".into()))?))
    }

    /// One project as `by` sees it: the statuses offered are those `by`'s role may move it to now.
    pub fn project_detail_as(&self, by: &DeviceInfo, project_id: &str) -> Result<ProjectDetail> {
        self.project_detail_for(by, project_id)
    }
}
