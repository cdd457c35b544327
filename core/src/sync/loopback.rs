//! An in-process reference peer speaking the server's side of `/v1/` without HTTP: enrollment codes, scoped
//! documents, stock Automerge sync answers from a fresh `sync::State` per request, a versioned catalogue,
//! actor and signature checks, revocation and blobs. It pins down the semantics the client relies on, for
//! the core's unit tests and benches (feature `loopback`, enabled only by the crate's dev-dependency on
//! itself); `gridline-server` is the real thing. It keeps the server's scope rule (`docs::scope`) and
//! answers with the server's error codes.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use automerge::sync::{self, Message, SyncDoc};
use automerge::AutoCommit;

use super::protocol::{
    self, CatalogueEntry, DeviceKey, DocMessage, EnrollRequest, EnrollResponse, SyncRequest, SyncResponse,
    PROTOCOL_VERSION,
};
use super::refused::RefusedDocument;
use super::signing;
use super::transport::Transport;
use crate::docs::scope::DeviceScope;
use crate::docs::DocId;
use crate::error::{Error, Result};
use crate::model::Role;
use crate::store::blobs::sha256_hex;

#[derive(Clone)]
struct Device {
    device_id: String,
    user: String,
    role: Role,
    community: String,
    grids: Vec<String>,
    public_key: String,
    revoked: bool,
}

#[derive(Default)]
struct Inner {
    codes: HashMap<String, (String, String, String, Vec<String>)>,
    devices: HashMap<String, Device>,
    docs: BTreeMap<String, (AutoCommit, u64)>,
    version: u64,
    blobs: HashMap<String, Vec<u8>>,
    failures_to_inject: u32,
    catalogue_limit: usize,
}

/// The in-process peer. Cloning shares the same state.
#[derive(Clone, Default)]
pub struct LoopbackServer {
    inner: Arc<Mutex<Inner>>,
}

fn refused(code: &str, message: impl Into<String>) -> Error {
    Error::ServerRefused { code: code.into(), message: message.into() }
}

impl LoopbackServer {
    /// A new, empty peer.
    pub fn new() -> LoopbackServer {
        let server = LoopbackServer::default();
        server.lock().catalogue_limit = 1000;
        server
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Issues a one-time enrollment code.
    pub fn issue_code(&self, code: &str, user: &str, role: &str, community: &str, grids: &[&str]) {
        let grids = grids.iter().map(|g| g.to_string()).collect();
        self.lock().codes.insert(code.into(), (user.into(), role.into(), community.into(), grids));
    }

    /// Revokes a device.
    pub fn revoke(&self, device_id: &str) {
        for d in self.lock().devices.values_mut().filter(|d| d.device_id == device_id) {
            d.revoked = true;
        }
    }

    /// Makes the next `n` requests fail as if the network dropped them (after the server applied them).
    pub fn inject_failures(&self, n: u32) {
        self.lock().failures_to_inject = n;
    }

    /// Cuts catalogues after `n` entries.
    pub fn set_catalogue_limit(&self, n: usize) {
        self.lock().catalogue_limit = n;
    }

    /// The peer's copy of a document's heads (hex), if it has the document.
    pub fn heads(&self, doc_id: &str) -> Option<Vec<String>> {
        let mut inner = self.lock();
        inner.docs.get_mut(doc_id).map(|(doc, _)| doc.get_heads().iter().map(|h| h.to_string()).collect())
    }

    /// The server's own writes (credits and decisions of the points ledger): runs `f` on the peer's copy of
    /// `doc_id` — a new document when it holds none — and announces the change in the next catalogues.
    pub fn edit(&self, doc_id: &DocId, f: impl FnOnce(&mut AutoCommit)) {
        let mut inner = self.lock();
        let text = doc_id.to_string();
        let mut doc = match inner.docs.get(&text) {
            Some((doc, _)) => doc.clone(),
            None => crate::docs::new_document(doc_id, &automerge::ActorId::random()).expect("a valid id"),
        };
        let before = doc.get_heads();
        f(&mut doc);
        doc.commit();
        if doc.get_heads() != before {
            inner.version += 1;
            let version = inner.version;
            inner.docs.insert(text, (doc, version));
        }
    }

    /// Ids of the documents the peer holds.
    pub fn doc_ids(&self) -> Vec<String> {
        self.lock().docs.keys().cloned().collect()
    }

    /// The token issued to a device.
    pub fn token_of(&self, device_id: &str) -> Option<String> {
        self.lock().devices.iter().find(|(_, d)| d.device_id == device_id).map(|(t, _)| t.clone())
    }

    /// A transport to this peer for a device token (`None` before enrollment).
    pub fn transport(&self, token: Option<&str>) -> LoopbackTransport {
        LoopbackTransport { server: self.clone(), token: token.map(str::to_string) }
    }
}

/// A [`Transport`] into a [`LoopbackServer`].
pub struct LoopbackTransport {
    server: LoopbackServer,
    token: Option<String>,
}

impl Device {
    fn scope(&self) -> DeviceScope<'_> {
        DeviceScope::enrolled(&self.community, self.role, &self.grids)
    }
}

impl LoopbackTransport {
    fn device(&self, inner: &Inner) -> Result<Device> {
        let token = self.token.as_deref().unwrap_or_default();
        let device = inner.devices.get(token).ok_or_else(|| refused("unauthorized", "unknown token"))?;
        if device.revoked {
            return Err(Error::DeviceRevoked);
        }
        Ok(device.clone())
    }
}

/// Applies one document's message to a copy of the stored document and checks every new change's author.
fn apply(inner: &Inner, device: &Device, m: &DocMessage) -> Result<(AutoCommit, Option<Message>, bool)> {
    let id = DocId::parse(&m.doc_id).map_err(|e| refused("invalid_doc_id", e.to_string()))?;
    if !device.scope().may_read(&id) {
        return Err(refused("forbidden_document", format!("{} is outside this device's scope", m.doc_id)));
    }
    let message = Message::decode(&m.message).map_err(|e| refused("malformed_sync_message", e.to_string()))?;
    let mut doc = inner.docs.get(&m.doc_id).map(|(d, _)| d.clone()).unwrap_or_default();
    let before = doc.get_heads();
    let mut state = sync::State::new();
    doc.sync()
        .receive_sync_message(&mut state, message)
        .map_err(|e| refused("malformed_sync_message", e.to_string()))?;
    let gained = doc.get_heads() != before;
    if gained && !device.scope().may_write(&id) {
        return Err(Error::DocumentRefused(RefusedDocument {
            doc_id: m.doc_id.clone(),
            message: format!("{id}: this device may not write it"),
            change_hash: None,
            code: "forbidden_change".into(),
            refused_at: String::new(),
        }));
    }
    let own = signing::device_actor(&device.device_id)?;
    for change in doc.get_changes_meta(&before) {
        if change.actor.as_ref() == &own {
            continue;
        }
        let hash = change.hash.to_string();
        let author = signing::actor_device(&change.actor).unwrap_or_default();
        let key = inner.devices.values().find(|d| d.device_id == author).map(|d| d.public_key.clone());
        let signed = m.signatures.iter().any(|s| {
            s.change_hash == hash
                && s.device_id == author
                && key.as_deref().is_some_and(|k| signing::verify_change(k, s).is_ok())
        });
        if !signed {
            return Err(Error::DocumentRefused(RefusedDocument {
                doc_id: m.doc_id.clone(),
                message: format!("change {hash} is not by this device nor signed"),
                change_hash: Some(hash),
                code: "forbidden_change".into(),
                refused_at: String::new(),
            }));
        }
    }
    let changed = doc.get_heads() != before;
    let answer = doc.sync().generate_sync_message(&mut state);
    Ok((doc, answer, changed))
}

impl Transport for LoopbackTransport {
    fn authenticated(&self) -> bool {
        true
    }

    fn device_keys(&self, etag: Option<&str>) -> Result<Option<(Vec<DeviceKey>, Option<String>)>> {
        let inner = self.server.lock();
        let me = self.device(&inner)?;
        let mut keys: Vec<DeviceKey> = inner
            .devices
            .values()
            .filter(|d| d.community == me.community)
            .map(|d| DeviceKey {
                device_id: d.device_id.clone(),
                public_key: d.public_key.clone(),
                user: d.user.clone(),
                role: d.role.code().into(),
                revoked: d.revoked,
            })
            .collect();
        keys.sort_by(|a, b| a.device_id.cmp(&b.device_id));
        let tag = sha256_hex(serde_json::to_string(&keys).unwrap_or_default().as_bytes());
        Ok((etag != Some(tag.as_str())).then_some((keys, Some(tag))))
    }

    fn enroll(&self, request: &EnrollRequest) -> Result<EnrollResponse> {
        let mut inner = self.server.lock();
        let (user, role, community, grids) =
            inner.codes.remove(&request.code).ok_or_else(|| refused("enroll_code_invalid", "unknown code"))?;
        let role = role.parse::<Role>().map_err(|e| refused("invalid_input", e.to_string()))?;
        let device_id = uuid::Uuid::now_v7().to_string();
        let token = uuid::Uuid::now_v7().simple().to_string();
        let device = Device {
            device_id: device_id.clone(),
            user: user.clone(),
            role,
            community: community.clone(),
            grids: grids.clone(),
            public_key: request.public_key.clone(),
            revoked: false,
        };
        inner.devices.insert(token.clone(), device);
        Ok(EnrollResponse {
            device_id,
            token,
            user,
            role: role.code().into(),
            community_id: community,
            grids,
            buildings: vec![],
        })
    }

    fn sync(&self, body: &[u8]) -> Result<Vec<u8>> {
        let mut inner = self.server.lock();
        let device = self.device(&inner)?;
        let request: SyncRequest = protocol::decode_body(body).map_err(|e| refused("malformed_body", e.to_string()))?;
        if request.protocol != PROTOCOL_VERSION {
            return Err(refused("protocol_unsupported", "protocol"));
        }
        // The whole batch or nothing: every message is checked before anything is stored.
        let mut applied = Vec::new();
        for m in &request.docs {
            applied.push((m.doc_id.clone(), apply(&inner, &device, m)?));
        }
        let mut docs = Vec::new();
        for (doc_id, (doc, answer, changed)) in applied {
            if changed {
                inner.version += 1;
            }
            let version = if changed { inner.version } else { inner.docs.get(&doc_id).map_or(0, |(_, v)| *v) };
            if let Some(answer) = answer {
                docs.push(DocMessage { doc_id: doc_id.clone(), message: answer.encode(), signatures: vec![] });
            }
            if changed || inner.docs.contains_key(&doc_id) {
                inner.docs.insert(doc_id, (doc, version));
            }
        }
        let mut changed: Vec<(u64, String)> = inner
            .docs
            .iter()
            .filter(|(id, (_, v))| *v > request.cursor && DocId::parse(id).is_ok_and(|id| device.scope().may_read(&id)))
            .map(|(id, (_, v))| (*v, id.clone()))
            .collect();
        changed.sort();
        let more = changed.len() > inner.catalogue_limit;
        changed.truncate(inner.catalogue_limit);
        let cursor = if more { changed.last().map_or(request.cursor, |(v, _)| *v) } else { inner.version };
        let mut catalogue = Vec::new();
        for (_, id) in changed {
            if let Some((doc, _)) = inner.docs.get_mut(&id) {
                catalogue.push(CatalogueEntry {
                    doc_id: id,
                    heads: doc.get_heads().iter().map(|h| h.to_string()).collect(),
                    received_at: None,
                });
            }
        }
        let answer = protocol::encode_body(&SyncResponse { cursor, docs, catalogue, more, withdrawn: Vec::new() })?;
        if inner.failures_to_inject > 0 {
            inner.failures_to_inject -= 1;
            return Err(Error::Network("injected: connection reset after the server applied the request".into()));
        }
        Ok(answer)
    }

    fn blob_exists(&self, hash: &str) -> Result<bool> {
        let inner = self.server.lock();
        self.device(&inner)?;
        Ok(inner.blobs.contains_key(hash))
    }

    fn put_blob(&self, hash: &str, _mime: &str, bytes: &[u8]) -> Result<()> {
        let mut inner = self.server.lock();
        self.device(&inner)?;
        if sha256_hex(bytes) != hash {
            return Err(refused("blob_hash_mismatch", "hash"));
        }
        inner.blobs.insert(hash.into(), bytes.to_vec());
        Ok(())
    }

    fn get_blob(&self, hash: &str) -> Result<Vec<u8>> {
        let inner = self.server.lock();
        self.device(&inner)?;
        inner.blobs.get(hash).cloned().ok_or_else(|| refused("not_found", "blob"))
    }
}
