//! The sync engine: documents loaded from storage into a byte-bounded cache, sync rounds applied to a fork,
//! validated change by change, and only then stored (append-only) with their catalogue bump.
//!
//! Concurrency: there is no engine-wide lock. The cache map is locked only to look an entry up; each cached
//! document has its own lock, held while a read-only round answers from it; writers of one document are
//! serialised by a striped writer lock, and apply a device's changes to a copy (untrusted work on a copy never
//! blocks readers of the stored document). Different documents sync fully in parallel.

use gridline_core::ErrorCode;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};

use automerge::sync::{Message, State, SyncDoc};
use automerge::{
    ActorId, AutoCommit, Change, ChangeHash, ObjId, ObjType, ReadDoc, SaveOptions, ScalarValue, Value, ROOT,
};
use chrono::{DateTime, Utc};
use gridline_core::docs::{building, building_key, check_scope, DocId, DocKind};
use gridline_core::sync::protocol::{
    CatalogueEntry, DocMessage, SyncRequest, SyncResponse, MAX_DOCS_PER_REQUEST, PROTOCOL_VERSION,
};

use crate::access::signature_valid;
use crate::error::{Result, ServerError};
use crate::limits::{Quotas, RateLimiter, OPERATIONS_PER_TOKEN};
use crate::storage::{catalogue_page, CataloguePage, DocScope, DocumentWrite, Quota, Storage};
use crate::validate::MessageLimits;

/// The first bytes of every server actor id. The rest is random per process, so two processes writing the
/// same document (an admin command beside `serve`, two instances) never reuse one actor's sequence number.
pub const SERVER_ACTOR_PREFIX: &[u8; 8] = b"gl-serve";

/// Most catalogue entries in one sync response; `more` tells the device to sync again.
pub const CATALOGUE_LIMIT: usize = 1000;

/// A fresh server actor id for this process.
fn new_server_actor() -> ActorId {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(SERVER_ACTOR_PREFIX);
    // Without randomness the time is still unique enough per process start; never fail start over it.
    if getrandom::fill(&mut bytes[8..]).is_err() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        bytes[8..].copy_from_slice(&(nanos.as_nanos() as u64).to_le_bytes());
    }
    ActorId::from(bytes.as_slice())
}

/// True when `actor` is some server process's actor.
pub fn is_server_actor(actor: &ActorId) -> bool {
    actor.to_bytes().starts_with(SERVER_ACTOR_PREFIX)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every holder leaves the value whole (documents are replaced, never half-edited in place), so a lock
    // poisoned by a panic elsewhere still guards sound data.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A loaded document and the last stored sequence number it includes.
struct CachedDoc {
    doc: AutoCommit,
    last_seq: i64,
    /// Bytes of the stored form it was built from (snapshot + changes).
    stored_bytes: usize,
}

struct Slot {
    entry: Arc<Mutex<CachedDoc>>,
    bytes: usize,
    used: u64,
}

/// Hot documents kept in memory, evicted least recently used first once their estimated size passes the
/// budget.
struct DocCache {
    slots: HashMap<String, Slot>,
    budget: usize,
    total: usize,
    tick: u64,
}

/// In-memory size of a loaded document relative to its stored bytes (ops expand once decoded).
const MEMORY_FACTOR: usize = 4;
/// Fixed in-memory cost of a loaded document, whatever its size (Automerge's indexes; measured with the load
/// bench: about 90 KB per small document).
const DOC_OVERHEAD: usize = 96 * 1024;

fn memory_of(stored_bytes: usize) -> usize {
    stored_bytes.saturating_mul(MEMORY_FACTOR).saturating_add(DOC_OVERHEAD)
}

impl DocCache {
    fn touch(&mut self, doc_id: &str) -> Option<Arc<Mutex<CachedDoc>>> {
        self.tick += 1;
        let tick = self.tick;
        self.slots.get_mut(doc_id).map(|s| {
            s.used = tick;
            s.entry.clone()
        })
    }

    /// Inserts an entry unless one is there already (a concurrent loader won); returns the one kept.
    fn insert(&mut self, doc_id: &str, entry: Arc<Mutex<CachedDoc>>, stored_bytes: usize) -> Arc<Mutex<CachedDoc>> {
        if let Some(existing) = self.touch(doc_id) {
            return existing;
        }
        let bytes = memory_of(stored_bytes);
        self.slots.insert(doc_id.to_string(), Slot { entry: entry.clone(), bytes, used: self.tick });
        self.total += bytes;
        self.evict();
        entry
    }

    /// Records a cached document's new size.
    fn resize(&mut self, doc_id: &str, stored_bytes: usize) {
        if let Some(slot) = self.slots.get_mut(doc_id) {
            let bytes = memory_of(stored_bytes);
            self.total = self.total - slot.bytes + bytes;
            slot.bytes = bytes;
        }
        self.evict();
    }

    fn evict(&mut self) {
        while self.total > self.budget && self.slots.len() > 1 {
            let Some(victim) = self.slots.iter().min_by_key(|(_, s)| s.used).map(|(k, _)| k.clone()) else { break };
            if let Some(s) = self.slots.remove(&victim) {
                self.total -= s.bytes;
            }
        }
    }
}

/// Striped locks serialising the writers of one document (a few thousand stripes: memory stays fixed however
/// many documents there are; two documents sharing a stripe merely take turns).
struct WriterLocks {
    stripes: Vec<Mutex<()>>,
}

const WRITER_STRIPES: usize = 4096;

impl WriterLocks {
    fn new() -> WriterLocks {
        WriterLocks { stripes: (0..WRITER_STRIPES).map(|_| Mutex::new(())).collect() }
    }

    fn stripe(doc_id: &str) -> usize {
        // FNV-1a: stable and cheap; the stripe only spreads documents, it is no security boundary.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in doc_id.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        (h % WRITER_STRIPES as u64) as usize
    }

    /// Locks the stripes of `doc_ids` in ascending order (so two writers of overlapping sets never deadlock).
    fn lock<'a>(&self, doc_ids: impl IntoIterator<Item = &'a str>) -> Vec<MutexGuard<'_, ()>> {
        let stripes: BTreeSet<usize> = doc_ids.into_iter().map(WriterLocks::stripe).collect();
        stripes.into_iter().map(|i| lock(&self.stripes[i])).collect()
    }
}

/// One document's share of a sync round, validated and ready to store.
struct Received {
    id: DocId,
    /// The device's sync state to save, if any (none for a document the server wrote on its own, or withdrew).
    state: Option<State>,
    /// The server's answer (encoded sync message), if it has something to say.
    reply: Option<Vec<u8>>,
    /// What the round wrote, when it wrote anything.
    written: Option<Written>,
    /// The device may no longer hold the document: nothing of its message was applied or answered.
    withdrawn: bool,
}

impl Received {
    /// A document of a device's round, with the sync state to save.
    fn synced(id: DocId, state: State, reply: Option<Vec<u8>>, written: Option<Written>) -> Received {
        Received { id, state: Some(state), reply, written, withdrawn: false }
    }

    /// A document the server writes on its own (an admin command, a console action, a credit).
    fn by_server(id: DocId, written: Option<Written>) -> Received {
        Received { id, state: None, reply: None, written, withdrawn: false }
    }

    /// A document withdrawn from the device.
    fn withdrawn(id: DocId) -> Received {
        Received { id, state: None, reply: None, written: None, withdrawn: true }
    }
}

/// A copy of a document with new changes applied, ready to store.
struct Written {
    doc: AutoCommit,
    changes: Vec<Change>,
    /// The stored sequence number the copy was taken at.
    base_seq: i64,
    /// Bytes of the stored form the copy was taken from.
    base_bytes: usize,
    /// The copy holds an event the server wrote that must exist once (an incident's receipt): it is stored
    /// only onto the stored form it was taken from ([`DocumentWrite::once`]).
    once: bool,
}

impl Written {
    fn new(doc: AutoCommit, changes: Vec<Change>, base_seq: i64, base_bytes: usize) -> Option<Written> {
        (!changes.is_empty()).then_some(Written { doc, changes, base_seq, base_bytes, once: false })
    }
}

/// Most documents withdrawn from a device in one answer; the rest follow in the next.
const MAX_WITHDRAWN: usize = 1000;

/// Times a sync round is applied again when a write it made once (an incident's receipt) met a write of
/// another instance to the same document; the last refusal is answered (503, `Retry-After`).
const STALE_RETRIES: usize = 3;

/// One document's share of a request, checked and decoded.
struct Incoming<'a> {
    id: DocId,
    m: &'a DocMessage,
    msg: Option<Message>,
    /// The changes the message carries, as the validator listed them.
    held: Vec<ChangeHash>,
    /// The device reaches the document only while it is dispatched to its user (a volunteer and an order).
    by_assignment: bool,
    /// The device reaches the document only while its building is one of the device's (a building lead and an
    /// incident or order).
    by_building: bool,
}

/// What the engine does with one document's message.
enum Admitted {
    /// Apply these changes to a copy.
    Apply(Message),
    /// Answer from the stored document (no changes, or only changes it already holds).
    Answer(Option<Message>),
}

/// What a sync round did, for metrics.
#[derive(Debug, Default, Clone, Copy)]
pub struct RoundStats {
    /// Documents written.
    pub docs_written: u64,
    /// Changes stored.
    pub changes_stored: u64,
    /// Documents whose changes were dropped because some waited for missing dependencies.
    pub missing_dependencies: u64,
}

/// Storage plus the document cache, shared by every request of a process (see the module doc).
pub struct Engine {
    storage: Box<dyn Storage>,
    cache: Mutex<DocCache>,
    writers: WriterLocks,
    actor: ActorId,
    quotas: Quotas,
    message_limits: MessageLimits,
    work: Option<Arc<RateLimiter>>,
    /// Signalled after every write, so the console's replica merges new documents at once.
    stored: Arc<tokio::sync::Notify>,
    /// Held while a heavy round is applied: at most one at a time, so heavy messages never take more than
    /// one core from everyone else's small syncs.
    heavy: Mutex<()>,
}

/// Operations from which a round counts as heavy: above an honest week offline (about 15,000).
pub const HEAVY_OPERATIONS: u64 = 20_000;

/// Seconds a heavy round is told to wait while another one is applied.
const HEAVY_RETRY_SECONDS: u64 = 2;

fn malformed(e: impl std::fmt::Display) -> ServerError {
    ServerError::bad_request(ErrorCode::MalformedSyncMessage, e.to_string())
}

fn hex_heads(heads: &[ChangeHash]) -> Vec<String> {
    heads.iter().map(|h| h.to_string()).collect()
}

/// Blob hashes found anywhere in a document: runs of exactly 64 lowercase hex characters in any text value,
/// whether the value is a hash alone, a `;`-joined list (check-ins, visits) or a JSON record (an incident's
/// fields and events keep their photos inside one JSON string each).
pub fn blob_hashes(doc: &AutoCommit) -> Vec<String> {
    let mut out = BTreeSet::new();
    collect_hashes(doc, &ROOT, 0, &mut out);
    out.into_iter().collect()
}

fn collect_hashes(doc: &AutoCommit, obj: &ObjId, depth: usize, out: &mut BTreeSet<String>) {
    if depth > 16 {
        return;
    }
    let children: Vec<(Value<'_>, ObjId)> = match doc.object_type(obj) {
        Ok(ObjType::Map) | Ok(ObjType::Table) => doc
            .map_range(obj, ..)
            .map(|i| {
                let id = i.id();
                (i.value.into_value(), id)
            })
            .collect(),
        Ok(ObjType::List) => doc
            .list_range(obj, ..)
            .map(|i| {
                let id = i.id();
                (i.value.into_value(), id)
            })
            .collect(),
        _ => return,
    };
    for (value, id) in children {
        match value {
            Value::Scalar(s) => {
                if let ScalarValue::Str(text) = s.as_ref() {
                    let runs = text.split(|c: char| !matches!(c, '0'..='9' | 'a'..='f'));
                    out.extend(runs.filter(|t| t.len() == 64).map(str::to_string));
                }
            }
            Value::Object(_) => collect_hashes(doc, &id, depth + 1, out),
        }
    }
}

/// Who a document is addressed to beyond its grid ([`DocumentWrite::audience`]): a service order's current
/// volunteer.
fn audience(id: &DocId, doc: &AutoCommit) -> Option<String> {
    (id.kind == DocKind::ServiceOrder).then(|| crate::access::order_volunteer(doc)).flatten()
}

/// The document without changes that wait for missing dependencies (what `save` would otherwise keep).
fn without_orphans(doc: &mut AutoCommit) -> std::result::Result<AutoCommit, automerge::AutomergeError> {
    let bytes = doc.save_with_options(SaveOptions { retain_orphans: false, ..SaveOptions::default() });
    AutoCommit::load(&bytes)
}

fn has_orphans(doc: &mut AutoCommit) -> bool {
    !doc.get_missing_deps(&[]).is_empty()
}

/// Loads one stored change. A change Automerge refuses (two changes stored with one actor's sequence number
/// by a server that let two processes share an actor) is left out with an error in the log, so that one bad
/// row never makes the whole document unreadable.
fn load_stored_change(doc: &mut AutoCommit, change: &[u8], doc_id: &str) {
    if let Err(e) = doc.load_incremental(change) {
        tracing::error!(doc_id, error = %e, "a stored change could not be loaded and is left out");
    }
}

/// Applies a device's sync message to `doc`; a panic inside Automerge is a malformed message, never a crash.
fn apply_message(doc: &mut AutoCommit, state: &mut State, msg: Message, doc_id: &str) -> Result<()> {
    catch_unwind(AssertUnwindSafe(|| doc.sync().receive_sync_message(state, msg)))
        .map_err(|_| malformed(format!("{doc_id}: the sync message could not be applied")))?
        .map_err(malformed)
}

/// What of a message the server applies. Changes the stored document already holds every one of (`held`,
/// listed by the validator: a resend, a relay after a Bloom false positive) are dropped without copying or
/// applying anything, and the message answered as if it carried none; otherwise changes to a document the
/// device may not write are refused before Automerge applies anything (so a grid device cannot make the
/// server work on the community document under its writers' lock).
fn admit(
    device: &crate::storage::Device,
    id: &DocId,
    stored: Option<&Mutex<CachedDoc>>,
    msg: Option<Message>,
    held: &[ChangeHash],
    by_assignment: bool,
    by_building: bool,
) -> Result<Admitted> {
    let mut msg = match msg {
        Some(msg) if !msg.changes.is_empty() => msg,
        quiet => return Ok(Admitted::Answer(quiet)),
    };
    let holds_all = !held.is_empty()
        && stored.is_some_and(|e| {
            let e = lock(e);
            held.iter().all(|h| e.doc.get_change_by_hash(h).is_some())
        });
    if holds_all {
        msg.changes = automerge::sync::ChunkList::empty();
        return Ok(Admitted::Answer(Some(msg)));
    }
    // An order reached by assignment is checked on the copy the changes are applied to.
    if !device.may_write(id) && !by_assignment && !by_building {
        return Err(ServerError::forbidden_change(format!("{id}: this device may not write it")));
    }
    Ok(Admitted::Apply(msg))
}

/// Receives a message that carries no changes into `doc` and answers it.
fn answer(doc: &mut AutoCommit, state: &mut State, msg: Option<Message>, doc_id: &str) -> Result<Option<Vec<u8>>> {
    if let Some(msg) = msg {
        apply_message(doc, state, msg, doc_id)?;
    }
    generate(doc, state, doc_id)
}

/// The server's next sync message for `doc`, not yet encoded (see [`generate`]).
fn generate_message(doc: &mut AutoCommit, state: &mut State, doc_id: &str) -> Result<Option<Message>> {
    catch_unwind(AssertUnwindSafe(|| doc.sync().generate_sync_message(state)))
        .map_err(|_| malformed(format!("{doc_id}: no answer could be made to the sync message")))
}

/// The server's next sync message for `doc`; a panic inside Automerge is a malformed message.
fn generate(doc: &mut AutoCommit, state: &mut State, doc_id: &str) -> Result<Option<Vec<u8>>> {
    catch_unwind(AssertUnwindSafe(|| doc.sync().generate_sync_message(state).map(Message::encode)))
        .map_err(|_| malformed(format!("{doc_id}: no answer could be made to the sync message")))
}

impl Engine {
    /// An engine over `storage`, caching documents up to about `cache_bytes` of memory.
    pub fn new(storage: Box<dyn Storage>, cache_bytes: usize) -> Engine {
        Engine {
            storage,
            cache: Mutex::new(DocCache { slots: HashMap::new(), budget: cache_bytes, total: 0, tick: 0 }),
            writers: WriterLocks::new(),
            actor: new_server_actor(),
            stored: Arc::new(tokio::sync::Notify::new()),
            quotas: Quotas::default(),
            message_limits: MessageLimits { list_document_changes: false, ..MessageLimits::default() },
            work: None,
            heavy: Mutex::new(()),
        }
    }

    /// The same engine with other daily quotas.
    pub fn with_quotas(mut self, quotas: Quotas) -> Engine {
        self.quotas = quotas;
        self
    }

    /// The same engine charging the operations of every device's sync messages to its request budget.
    pub fn with_work_charged_to(mut self, limiter: Arc<RateLimiter>) -> Engine {
        self.work = Some(limiter);
        self
    }

    /// The daily quotas in force.
    pub fn quotas(&self) -> &Quotas {
        &self.quotas
    }

    /// Signalled after every write of this process (the console's replica feed waits on it).
    pub fn stored_signal(&self) -> Arc<tokio::sync::Notify> {
        self.stored.clone()
    }

    /// The storage backend.
    pub fn storage(&self) -> &dyn Storage {
        self.storage.as_ref()
    }

    /// This process's server actor.
    pub fn actor(&self) -> ActorId {
        self.actor.clone()
    }

    /// Loads a document from storage. A stored form that holds changes waiting for missing dependencies
    /// (written before the server refused such rounds) is cleaned, and its clean snapshot stored.
    fn load(&self, doc_id: &str) -> Result<Option<CachedDoc>> {
        let Some(stored) = self.storage.load_document(doc_id)? else { return Ok(None) };
        let stored_err = |e: automerge::AutomergeError| ServerError::internal(format!("stored {doc_id}: {e}"));
        let mut doc = match &stored.snapshot {
            Some(s) => AutoCommit::load(s).map_err(stored_err)?,
            None => AutoCommit::new(),
        };
        let mut bytes = stored.snapshot.as_ref().map_or(0, Vec::len);
        for c in &stored.changes {
            load_stored_change(&mut doc, c, doc_id);
            bytes += c.len();
        }
        if has_orphans(&mut doc) {
            tracing::warn!(doc_id, "stored document held changes with missing dependencies: dropped");
            doc = without_orphans(&mut doc).map_err(stored_err)?;
            let clean = doc.save_with_options(SaveOptions { retain_orphans: false, ..SaveOptions::default() });
            self.storage.put_snapshot(doc_id, &clean, stored.last_seq)?;
        }
        doc.set_actor(self.actor.clone());
        Ok(Some(CachedDoc { doc, last_seq: stored.last_seq, stored_bytes: bytes }))
    }

    /// The cached document, brought up to date with changes stored by other writers (admin commands, other
    /// instances, other requests). `None` when the document was never stored.
    fn entry(&self, doc_id: &str) -> Result<Option<Arc<Mutex<CachedDoc>>>> {
        let hit = lock(&self.cache).touch(doc_id);
        let entry = match hit {
            Some(e) => e,
            None => {
                let Some(loaded) = self.load(doc_id)? else { return Ok(None) };
                let bytes = loaded.stored_bytes;
                let fresh = Arc::new(Mutex::new(loaded));
                return Ok(Some(lock(&self.cache).insert(doc_id, fresh, bytes)));
            }
        };
        let grown = {
            let mut e = lock(&entry);
            let (changes, new_last) = self.storage.changes_after(doc_id, e.last_seq)?;
            for c in &changes {
                load_stored_change(&mut e.doc, c, doc_id);
                e.stored_bytes += c.len();
            }
            e.last_seq = new_last;
            (!changes.is_empty()).then_some(e.stored_bytes)
        };
        if let Some(bytes) = grown {
            lock(&self.cache).resize(doc_id, bytes);
        }
        Ok(Some(entry))
    }

    /// Puts a document written at `last_seq` into the cache.
    fn put(&self, doc_id: &str, mut doc: AutoCommit, last_seq: i64, stored_bytes: usize) {
        doc.set_actor(self.actor.clone());
        let hit = lock(&self.cache).touch(doc_id);
        match hit {
            Some(entry) => {
                *lock(&entry) = CachedDoc { doc, last_seq, stored_bytes };
                lock(&self.cache).resize(doc_id, stored_bytes);
            }
            None => {
                lock(&self.cache).insert(
                    doc_id,
                    Arc::new(Mutex::new(CachedDoc { doc, last_seq, stored_bytes })),
                    stored_bytes,
                );
            }
        }
    }

    /// A working copy of a document (with the server's actor) and the stored sequence number it includes, or
    /// `None` when it was never stored.
    fn copy(&self, doc_id: &str) -> Result<Option<(AutoCommit, i64, usize)>> {
        Ok(self.entry(doc_id)?.map(|e| {
            let e = lock(&e);
            (e.doc.clone(), e.last_seq, e.stored_bytes)
        }))
    }

    /// A working copy of a document (with the server's actor), or `None` when it was never stored.
    pub fn document(&self, doc_id: &str) -> Result<Option<AutoCommit>> {
        Ok(self.copy(doc_id)?.map(|(doc, _, _)| doc))
    }

    /// Edits documents as the server: `f` gets working copies of `ids` (new documents with their scope
    /// written), and what it wrote is stored in one transaction. The documents' writers are locked from the
    /// copy to the store, so no edit of the same document in this process interleaves.
    pub fn edit<T>(&self, ids: &[DocId], f: impl FnOnce(&mut [AutoCommit]) -> Result<T>) -> Result<(T, RoundStats)> {
        self.edit_with(ids, false, f)
    }

    /// [`Engine::edit`] whose writes go only onto the stored forms its copies were taken from
    /// ([`DocumentWrite::once`]): what `f` decides from the copies (a revision, a balance) holds for what is
    /// stored, also when other processes write the same documents. When another process stored a change to one
    /// of them meanwhile, `f` runs again on fresh copies; after [`STALE_RETRIES`] tries the refusal is returned
    /// (`server_unavailable`, try again).
    pub fn edit_once<T>(
        &self,
        ids: &[DocId],
        mut f: impl FnMut(&mut [AutoCommit]) -> Result<T>,
    ) -> Result<(T, RoundStats)> {
        let mut attempt = 1;
        loop {
            match self.edit_with(ids, true, &mut f) {
                Err(e) if e.code == ErrorCode::ServerUnavailable && attempt < STALE_RETRIES => attempt += 1,
                done => return done,
            }
        }
    }

    fn edit_with<T>(
        &self,
        ids: &[DocId],
        once: bool,
        f: impl FnOnce(&mut [AutoCommit]) -> Result<T>,
    ) -> Result<(T, RoundStats)> {
        let names: Vec<String> = ids.iter().map(DocId::to_string).collect();
        let _writers = self.writers.lock(names.iter().map(String::as_str));
        let mut docs = Vec::with_capacity(ids.len());
        let mut bases = Vec::with_capacity(ids.len());
        for (id, name) in ids.iter().zip(&names) {
            // A new document's first change (its scope) is part of the edit: it starts from no heads.
            let (doc, before, base, bytes) = match self.copy(name)? {
                Some((mut doc, base, bytes)) => {
                    let heads = doc.get_heads();
                    (doc, heads, base, bytes)
                }
                None => (gridline_core::docs::new_document(id, &self.actor)?, Vec::new(), 0, 0),
            };
            bases.push((before, base, bytes));
            docs.push(doc);
        }
        let out = f(&mut docs)?;
        let received = ids
            .iter()
            .zip(docs)
            .zip(bases)
            .map(|((id, mut doc), (before, base, bytes))| {
                doc.commit();
                let new_changes = doc.get_changes(&before);
                let written = Written::new(doc, new_changes, base, bytes).map(|w| Written { once, ..w });
                Received::by_server(id.clone(), written)
            })
            .collect();
        let stats = self.store(received, None, Utc::now())?;
        Ok((out, stats))
    }

    fn store(&self, received: Vec<Received>, device: Option<&str>, now: DateTime<Utc>) -> Result<RoundStats> {
        let mut stats = RoundStats::default();
        let mut writes = Vec::new();
        let mut states = Vec::new();
        let mut docs = Vec::new();
        for r in received {
            let doc_id = r.id.to_string();
            if let (Some(device), Some(state)) = (device, &r.state) {
                states.push((device.to_string(), doc_id.clone(), state.encode()));
            }
            let Some(Written { mut doc, changes: new_changes, base_seq: base, base_bytes, once }) = r.written else {
                continue;
            };
            stats.docs_written += 1;
            stats.changes_stored += new_changes.len() as u64;
            let added: usize = new_changes.iter().map(|c| c.raw_bytes().len()).sum();
            let building = self.building_of(&r.id, &doc)?;
            writes.push(DocumentWrite {
                doc_id: doc_id.clone(),
                scope: DocScope { community_id: r.id.community.clone(), grid: r.id.grid.clone() },
                changes: new_changes.iter().map(|c| (c.hash().to_string(), c.raw_bytes().to_vec())).collect(),
                heads: hex_heads(&doc.get_heads()),
                blobs: blob_hashes(&doc),
                base_seq: base,
                once,
                audience: audience(&r.id, &doc),
                building,
            });
            docs.push((doc_id, doc, base_bytes + added, base));
        }
        if writes.is_empty() {
            self.storage.put_sync_states(&states)?;
            return Ok(stats);
        }
        let quota = device.map(|d| Quota {
            device_id: d.to_string(),
            day: now.timestamp().div_euclid(86_400),
            new_docs_per_day: self.quotas.new_documents_per_day,
            doc_bytes_per_day: self.quotas.document_bytes_per_day,
        });
        let seqs = self
            .storage
            .append(&writes, &states, now.timestamp_millis(), quota.as_ref())?
            .map_err(|exceeded| self.quotas.refusal(exceeded, now))?;
        // A permit is kept when nobody waits: the feed never misses a write.
        self.stored.notify_one();
        for ((doc_id, doc, size, base), (before, after)) in docs.into_iter().zip(seqs) {
            // The copy may claim the new last sequence number only when nothing else was stored since it was
            // taken; otherwise the next read catches up from where the copy was taken (reloading our own
            // changes is a no-op), so the cache never skips a change it has not loaded.
            let last = if before == base { after } else { base };
            self.put(&doc_id, doc, last, size);
        }
        Ok(stats)
    }

    /// One sync round of `device` (already authenticated): applies every document's message to a fork,
    /// refuses the whole batch if any new change is not the device's to make, stores the rest, answers
    /// with the server's messages and the catalogue since the request's cursor.
    pub fn sync(
        &self,
        device: &crate::storage::Device,
        req: SyncRequest,
        now: DateTime<Utc>,
    ) -> Result<(SyncResponse, RoundStats)> {
        if req.protocol != PROTOCOL_VERSION {
            return Err(ServerError::bad_request(
                ErrorCode::ProtocolUnsupported,
                format!("protocol {} is not spoken here (this server speaks {PROTOCOL_VERSION})", req.protocol),
            ));
        }
        if req.docs.len() > MAX_DOCS_PER_REQUEST {
            return Err(ServerError::bad_request(
                ErrorCode::TooManyDocuments,
                format!("{} documents in one request (at most {MAX_DOCS_PER_REQUEST})", req.docs.len()),
            ));
        }
        // Everything about the request is checked before any lock is taken or any document touched.
        let mut seen = HashSet::new();
        let mut parsed = Vec::with_capacity(req.docs.len());
        let mut operations = 0u64;
        for m in &req.docs {
            let id = DocId::parse(&m.doc_id)
                .map_err(|e| ServerError::bad_request(ErrorCode::InvalidDocId, e.to_string()))?;
            if !seen.insert(m.doc_id.as_str()) {
                return Err(ServerError::bad_request(
                    ErrorCode::DuplicateDocument,
                    format!("{} appears twice", m.doc_id),
                ));
            }
            // A volunteer's orders are checked one by one when applied: one no longer dispatched to it is
            // withdrawn, not a refusal of the whole round.
            let by_assignment = device.scope().reaches_by_assignment(&id);
            // A building lead's incidents and orders are checked one by one by their building, likewise.
            let by_building = device.scope().reaches_by_building(&id);
            if !by_assignment && !by_building && !device.may_read(&id) {
                return Err(ServerError::new(
                    axum::http::StatusCode::FORBIDDEN,
                    ErrorCode::ForbiddenDocument,
                    format!("{} is outside this device's scope", m.doc_id),
                ));
            }
            let mut hashes = Vec::new();
            let msg = if m.message.is_empty() {
                None
            } else {
                // Parsed and bounded by hand first: Automerge trusts the numbers a message carries.
                let checked = crate::validate::sync_message(&m.message, &self.message_limits)
                    .map_err(|e| e.with_document(&m.doc_id, None))?;
                operations = operations.saturating_add(checked.operations);
                // A whole document's own changes are not listed (MessageLimits::list_document_changes): only
                // the orphan chunks Automerge appends after it are. Holding those says nothing about the
                // document, so such a message is always applied.
                if !checked.whole_document || self.message_limits.list_document_changes {
                    hashes = checked.changes.iter().filter_map(|c| c.hash.parse::<ChangeHash>().ok()).collect();
                }
                Some(Message::decode(&m.message).map_err(malformed)?)
            };
            parsed.push(Incoming { id, m, msg, held: hashes, by_assignment, by_building });
        }
        let _heavy = if operations > HEAVY_OPERATIONS {
            match self.heavy.try_lock() {
                Ok(guard) => Some(guard),
                Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) => {
                    return Err(ServerError::new(
                        axum::http::StatusCode::TOO_MANY_REQUESTS,
                        ErrorCode::RateLimited,
                        "another large sync is being applied; try again shortly",
                    )
                    .retry_after(HEAVY_RETRY_SECONDS));
                }
            }
        } else {
            None
        };
        if let Some(limiter) = &self.work {
            limiter.charge(&device.device_id, (operations / OPERATIONS_PER_TOKEN) as f64, std::time::Instant::now());
        }
        // A building lead's projections are brought up to date first, so this round answers from them. Its own
        // lock (the projection's writer) is released before the round's are taken.
        if let Err(e) = self.refresh_projections(device, now) {
            tracing::warn!(device = %device.device_id, error = %e, "a building's projection could not be refreshed");
        }
        let writing: Vec<&Incoming<'_>> =
            parsed.iter().filter(|p| p.msg.as_ref().is_some_and(|m| !m.changes.is_empty())).collect();
        // A round that writes an order may credit its volunteer in the points ledger: its writers are locked too.
        let ledger = DocId::points(&device.community_id).to_string();
        let credits = writing.iter().any(|p| p.id.kind == DocKind::ServiceOrder);
        let mut locked: Vec<&str> = writing.iter().map(|p| p.m.doc_id.as_str()).collect();
        if credits {
            locked.push(ledger.as_str());
        }
        let _writers = self.writers.lock(locked);
        // What a retry needs to apply the round again (the messages are decoded afresh from the request).
        let again: Vec<(DocId, &DocMessage, Vec<ChangeHash>, bool, bool)> =
            parsed.iter().map(|p| (p.id.clone(), p.m, p.held.clone(), p.by_assignment, p.by_building)).collect();
        let mut round = parsed;
        let mut attempt = 1;
        let (replies, mut stats, dropped, mut withdrawn) = loop {
            let mut received = Vec::with_capacity(round.len());
            let mut dropped = 0;
            for incoming in round {
                let doc_id = incoming.m.doc_id.as_str();
                let (r, orphans) =
                    self.receive(device, incoming, now, &received).map_err(|e| e.with_document(doc_id, None))?;
                dropped += u64::from(orphans);
                received.push(r);
            }
            if credits {
                self.credit_evaluated(&mut received, &device.community_id, now)?;
            }
            let withdrawn: Vec<String> = received.iter().filter(|r| r.withdrawn).map(|r| r.id.to_string()).collect();
            let replies: Vec<DocMessage> = received
                .iter_mut()
                .filter_map(|r| {
                    let message = r.reply.take()?;
                    Some(DocMessage { doc_id: r.id.to_string(), message, signatures: vec![] })
                })
                .collect();
            match self.store(received, Some(&device.device_id), now) {
                Ok(stats) => break (replies, stats, dropped, withdrawn),
                // Another instance stored the same new incident meanwhile: apply the round again onto what
                // it stored, where the receipt is already (so it is written once).
                Err(e) if e.code == ErrorCode::ServerUnavailable && attempt < STALE_RETRIES => {
                    tracing::debug!(device = %device.device_id, "a document changed under the round: applying it again");
                    attempt += 1;
                    round = again
                        .iter()
                        .map(|(id, m, held, by_assignment, by_building)| {
                            let msg = (!m.message.is_empty())
                                .then(|| Message::decode(&m.message).map_err(malformed))
                                .transpose()?;
                            let (by_assignment, by_building) = (*by_assignment, *by_building);
                            Ok(Incoming { id: id.clone(), m, msg, held: held.clone(), by_assignment, by_building })
                        })
                        .collect::<Result<_>>()?;
                }
                Err(e) => return Err(e),
            }
        };
        stats.missing_dependencies = dropped;
        let scope = device.read_scope();
        if scope.by_assignment {
            self.withdraw(device, &mut withdrawn)?;
        }
        let CataloguePage { rows, cursor, more } =
            catalogue_page(self.storage.as_ref(), &scope, req.cursor, CATALOGUE_LIMIT)?;
        // The storage lists by community, grid, building and assignment; a document without a grid that the
        // role may not read (a volunteer and projects or the department ratings) is left out here, so its id and
        // heads are not told either. What the storage listed by a server-side fact stays.
        let device_scope = device.scope();
        let readable = |doc_id: &str| {
            DocId::parse(doc_id).is_ok_and(|id| {
                device_scope.may_read(&id)
                    || device_scope.reaches_by_assignment(&id)
                    || device_scope.reaches_by_building(&id)
            })
        };
        let catalogue = rows
            .into_iter()
            .filter(|r| readable(&r.doc_id))
            .map(|r| CatalogueEntry {
                doc_id: r.doc_id,
                heads: r.heads,
                received_at: DateTime::<Utc>::from_timestamp_millis(r.received_at)
                    .filter(|_| r.received_at > 0)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            })
            .collect();
        Ok((SyncResponse { cursor, docs: replies, catalogue, more, withdrawn }, stats))
    }

    /// Adds to `withdrawn` the orders `device` (a volunteer's) synced and that are no longer dispatched to its
    /// user, and forgets its sync states of every withdrawn document: each is withdrawn once (a phone that
    /// still holds one, having missed the answer, has it withdrawn when it next sends anything about it).
    fn withdraw(&self, device: &crate::storage::Device, withdrawn: &mut Vec<String>) -> Result<()> {
        let prefix = format!("{}:{}:", DocKind::ServiceOrder.code(), device.community_id);
        let held = self.storage.withdrawable(&device.device_id, &prefix, &device.user, MAX_WITHDRAWN)?;
        for doc_id in held {
            if !withdrawn.contains(&doc_id) {
                withdrawn.push(doc_id);
            }
        }
        self.storage.forget_sync_states(&device.device_id, withdrawn)
    }

    /// Credits the volunteers of the orders this round stores evaluated (`points::credit_evaluated`, once per
    /// order), in the points ledger of `community_id`, stored with the round (the ledger's writers are
    /// locked). The ledger is taken as the round leaves it when the round writes it too, else as stored.
    fn credit_evaluated(&self, received: &mut Vec<Received>, community_id: &str, now: DateTime<Utc>) -> Result<()> {
        let mut evaluated: Vec<crate::access::EvaluatedOrder> = received
            .iter()
            .filter(|r| r.id.kind == DocKind::ServiceOrder)
            .filter_map(|r| r.written.as_ref())
            .filter_map(|w| crate::access::evaluated_order(&w.doc))
            .collect();
        let id = DocId::points(community_id);
        // Every later write of an evaluated order (a comment) lands here too: the orders the stored ledger
        // already credits are dropped on the cached ledger, before any copy of it or read of the configuration.
        if !evaluated.is_empty() && !received.iter().any(|r| r.id == id && r.written.is_some()) {
            if let Some(entry) = self.entry(&id.to_string())? {
                let stored = &lock(&entry).doc;
                evaluated.retain(|o| !gridline_core::docs::points::is_credited(stored, &o.order_id));
            }
        }
        if evaluated.is_empty() {
            return Ok(());
        }
        let settings = self.settings(community_id)?;
        let at = now.fixed_offset();
        let credit = |doc: &mut AutoCommit| -> Result<()> {
            for o in &evaluated {
                gridline_core::points::credit_evaluated(
                    doc,
                    &o.order_id,
                    &o.volunteer,
                    &o.service,
                    o.evaluated_at,
                    &settings,
                    at,
                )?;
            }
            doc.commit();
            Ok(())
        };
        match received.iter_mut().find(|r| r.id == id) {
            Some(Received { written: Some(w), .. }) => {
                let before = w.doc.get_heads();
                credit(&mut w.doc)?;
                w.changes.extend(w.doc.get_changes(&before));
                w.once = true;
            }
            found => {
                let (mut doc, before, base, bytes) = match self.copy(&id.to_string())? {
                    Some((mut doc, base, bytes)) => {
                        let heads = doc.get_heads();
                        (doc, heads, base, bytes)
                    }
                    None => (gridline_core::docs::new_document(&id, &self.actor)?, Vec::new(), 0, 0),
                };
                credit(&mut doc)?;
                let changes = doc.get_changes(&before);
                let written = Written::new(doc, changes, base, bytes).map(|w| Written { once: true, ..w });
                match found {
                    Some(r) => r.written = written,
                    None => received.push(Received::by_server(id, written)),
                }
            }
        }
        Ok(())
    }

    /// One document's share of a round. The flag is true when the message's changes were dropped because
    /// some of them wait for dependencies the server lacks.
    fn receive(
        &self,
        device: &crate::storage::Device,
        incoming: Incoming<'_>,
        now: DateTime<Utc>,
        round: &[Received],
    ) -> Result<(Received, bool)> {
        let Incoming { id, m, msg, held, by_assignment, by_building } = incoming;
        let doc_id = id.to_string();

        let mut state = match self.storage.sync_state(&device.device_id, &doc_id)? {
            Some(bytes) => State::decode(&bytes).unwrap_or_default(),
            None => State::new(),
        };
        let entry = self.entry(&doc_id)?;
        // A building lead reaches a stored incident or order only when the building stored with it is one of
        // its own: read before anything of the message is applied or answered.
        if by_building && entry.is_some() && !device.reaches_building(&id, self.storage.building(&doc_id)?.as_deref()) {
            return Ok((Received::withdrawn(id), false));
        }
        // A volunteer reaches an order only while the order's replay names it as the volunteer: checked on the
        // very copy that is answered from or written to, before anything of the message is applied.
        let reaches = |doc: &AutoCommit| !by_assignment || crate::access::assigned_to(doc, &device.user);
        let msg = match admit(device, &id, entry.as_deref(), msg, &held, by_assignment, by_building)? {
            Admitted::Apply(msg) => msg,
            Admitted::Answer(quiet) => {
                // Nothing to apply: answer from the cached document itself, no copy.
                let reply = match &entry {
                    Some(entry) => {
                        let mut e = lock(entry);
                        if !reaches(&e.doc) {
                            return Ok((Received::withdrawn(id), false));
                        }
                        answer(&mut e.doc, &mut state, quiet, &doc_id)?
                    }
                    None if by_assignment || by_building => return Ok((Received::withdrawn(id), false)),
                    None => answer(&mut AutoCommit::new().with_actor(self.actor.clone()), &mut state, quiet, &doc_id)?,
                };
                return Ok((Received::synced(id, state, reply, None), false));
            }
        };
        let (mut doc, base, base_bytes) = match &entry {
            Some(entry) => {
                let e = lock(entry);
                (e.doc.clone(), e.last_seq, e.stored_bytes)
            }
            None => (AutoCommit::new().with_actor(self.actor.clone()), 0, 0),
        };
        if !reaches(&doc) {
            return Ok((Received::withdrawn(id), false));
        }
        let before = doc.get_heads();
        let stored = crate::rules::stored(&id, &doc);
        let state_before = state.clone();
        // The copy is thrown away on any failure: a hostile message never reaches the stored document.
        apply_message(&mut doc, &mut state, msg, &doc_id)?;
        if has_orphans(&mut doc) {
            let reply = self.ask_for_missing(&doc_id, &mut doc, state_before, m, &mut state)?;
            return Ok((Received::synced(id, state, reply, None), true));
        }
        let mut new_changes = doc.get_changes(&before);
        let mut once = false;
        if !new_changes.is_empty() {
            for c in &new_changes {
                self.check_author(device, &id, c, m)?;
            }
            check_scope(&id, &doc).map_err(|e| ServerError::forbidden_change(e.to_string()))?;
            let mut lookup = RoundLookup { engine: self, round };
            let mut ctx = crate::rules::ContentContext { sender: device, lookup: &mut lookup };
            crate::rules::check_content(&mut ctx, &id, &stored, &doc, now)?;
            // What a building lead writes must stay in its buildings: the document's building, worked out on
            // the copy it wrote (a new incident or order names its household here).
            if by_building && !device.reaches_building(&id, self.building_of(&id, &doc)?.as_deref()) {
                return Err(ServerError::forbidden_change(format!(
                    "{id}: a building lead writes only the incidents and orders of its buildings' households"
                )));
            }
            once = self.add_server_entries(&id, &mut doc, &stored, now)?;
            new_changes = doc.get_changes(&before);
        }
        let reply = generate(&mut doc, &mut state, &doc_id)?;
        let written = Written::new(doc, new_changes, base, base_bytes).map(|w| Written { once, ..w });
        Ok((Received::synced(id, state, reply, written), false))
    }

    /// A round whose changes wait for dependencies the server lacks keeps nothing (a device could otherwise
    /// park a change under another actor's name until its dependency shows up). The answer is the stored
    /// document's, as if the message had carried no changes, asking for the missing changes and telling the
    /// device to resend what it sent: an honest device (whose Bloom filter false positive left a dependency
    /// out) completes in the next round.
    fn ask_for_missing(
        &self,
        doc_id: &str,
        fork: &mut AutoCommit,
        state_before: State,
        m: &DocMessage,
        state: &mut State,
    ) -> Result<Option<Vec<u8>>> {
        let missing = fork.get_missing_deps(&[]);
        tracing::info!(doc_id, missing = missing.len(), "round dropped: changes wait for missing dependencies");
        *state = state_before;
        let mut bare = Message::decode(&m.message).map_err(malformed)?;
        bare.changes = automerge::sync::ChunkList::empty();
        let reply = match self.entry(doc_id)? {
            Some(entry) => {
                let mut e = lock(&entry);
                apply_message(&mut e.doc, state, bare, doc_id)?;
                state.needs_reset = true;
                generate_message(&mut e.doc, state, doc_id)?
            }
            None => {
                let mut empty = AutoCommit::new().with_actor(self.actor.clone());
                apply_message(&mut empty, state, bare, doc_id)?;
                state.needs_reset = true;
                generate_message(&mut empty, state, doc_id)?
            }
        };
        Ok(reply.map(|mut r| {
            r.need = missing;
            r.encode()
        }))
    }

    /// What the server adds to a document a device changed, once the device's changes passed every check; true
    /// when the write must then be stored only onto the stored form it was taken from
    /// ([`DocumentWrite::once`]):
    ///
    /// - an incident's receipt (已送达), when the server first stores its event list;
    /// - the points ledger: a decision on every redemption request not yet decided (`points::decide_pending`,
    ///   against the community's configuration), so that requests recorded offline on several devices are
    ///   decided one after another, also across instances;
    /// - a service order: nothing, but its audience (its current volunteer) is derived from what is stored.
    fn add_server_entries(
        &self,
        id: &DocId,
        doc: &mut AutoCommit,
        stored: &crate::rules::Stored,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        match id.kind {
            DocKind::Incident if !stored.has_events() => {
                // A document without an event list yet gets the receipt with the change that brings the list.
                let added = gridline_core::docs::incident::append_receipt(doc, now.fixed_offset());
                let added = matches!(added, Ok(Some(_)));
                doc.commit();
                Ok(added)
            }
            DocKind::Points => {
                let settings = self.settings(&id.community)?;
                let decided = gridline_core::points::decide_pending(doc, &settings, now.fixed_offset())?;
                doc.commit();
                tracing::debug!(doc_id = %id, decided = decided.len(), "redemptions decided");
                Ok(true)
            }
            DocKind::ServiceOrder => Ok(true),
            _ => Ok(false),
        }
    }

    /// The building document `id` concerns ([`DocumentWrite::building`]): a building's projection's and a
    /// building-level check-in log's from the id; an incident's or a service order's, the building its
    /// household has in the grid's stored roster (none without a household, or one the roster lacks).
    fn building_of(&self, id: &DocId, doc: &AutoCommit) -> Result<Option<String>> {
        let household = match id.kind {
            DocKind::Building | DocKind::CheckInLog => return Ok(id.building_key().map(str::to_string)),
            DocKind::Incident => gridline_core::docs::incident::read(doc).ok().and_then(|i| i.fields.household_code),
            DocKind::ServiceOrder => {
                gridline_core::docs::service_order::read(doc).ok().map(|o| o.fields.household_code)
            }
            _ => None,
        };
        let (Some(household), Some(grid)) = (household.filter(|h| !h.is_empty()), id.grid.as_deref()) else {
            return Ok(None);
        };
        Ok(self.household_building(&DocId::roster(&id.community, grid), &household)?.map(|b| building_key(&b)))
    }

    /// The building household `code` has in stored roster `roster`, if it is there.
    fn household_building(&self, roster: &DocId, code: &str) -> Result<Option<String>> {
        let Some(entry) = self.entry(&roster.to_string())? else { return Ok(None) };
        let e = lock(&entry);
        Ok(gridline_core::docs::get_entity(&e.doc, &gridline_core::docs::roster::household_key(code))
            .map(|h| h.str("building")))
    }

    /// Brings the projections of a building lead's buildings (`docs::building`) up to date when a source
    /// changed since each was made: the grid's roster, its grid-level check-in logs of the last
    /// [`building::CHECK_IN_DAYS`] days and its visit logs of the last [`building::VISIT_MONTHS`] months. Whether
    /// one changed is one catalogue read of the grid since the version the projection notes; the sources are
    /// read from the cache, and the projection is written under the `once` rule, so two instances refreshing
    /// it at once store one projection made from what they read. No device input is involved.
    pub fn refresh_projections(&self, device: &crate::storage::Device, now: DateTime<Utc>) -> Result<()> {
        if device.role != gridline_core::model::Role::BuildingLead || device.revoked {
            return Ok(());
        }
        let community = device.community_id.as_str();
        let settings = self.settings(community)?;
        let today = now.with_timezone(&settings.tz()).date_naive();
        for grid in &device.grids {
            for name in &device.buildings {
                let id = DocId::building(community, grid, &building_key(name));
                let made_at = match self.entry(&id.to_string())? {
                    Some(entry) => building::source_version(&lock(&entry).doc),
                    None => 0,
                };
                if made_at > 0 && !self.sources_changed(community, grid, made_at, today)? {
                    continue;
                }
                self.project(&id, name, grid, today)?;
            }
        }
        Ok(())
    }

    /// True when a source of a projection of `grid` (made on `today`) was written after catalogue version
    /// `since`. A page full of other documents counts as changed: it costs a projection, never a stale one.
    fn sources_changed(&self, community: &str, grid: &str, since: u64, today: chrono::NaiveDate) -> Result<bool> {
        const PAGE: usize = 1000;
        let scope = crate::storage::ReadScope::grids(community, vec![grid.to_string()]);
        let rows = self.storage.catalogue(&scope, since, PAGE)?;
        if rows.len() >= PAGE {
            return Ok(true);
        }
        let (first, last) = building::check_in_window(today);
        let months = building::visit_months(today);
        Ok(rows.iter().filter_map(|r| DocId::parse(&r.doc_id).ok()).any(|d| match d.kind {
            DocKind::Roster => true,
            DocKind::CheckInLog => d.building_key().is_none() && d.day().is_some_and(|day| day >= first && day <= last),
            DocKind::VisitLog => d.key.as_ref().is_some_and(|m| months.contains(m)),
            _ => false,
        }))
    }

    /// Writes projection `id` of building `name` from the grid's stored sources, onto the stored projection it
    /// was made against (`edit_once`).
    fn project(&self, id: &DocId, name: &str, grid: &str, today: chrono::NaiveDate) -> Result<()> {
        let community = id.community.as_str();
        // Read before the sources: a source written after it is above the version noted, and is seen next time.
        let version = self.storage.catalogue_version(community)?;
        let Some(roster) = self.document(&DocId::roster(community, grid).to_string())? else { return Ok(()) };
        let (first, _) = building::check_in_window(today);
        let mut logs = Vec::new();
        for n in 0..building::CHECK_IN_DAYS {
            let day = first + chrono::TimeDelta::days(n);
            if let Some(doc) = self.document(&DocId::check_in_log(community, grid, day).to_string())? {
                logs.push((day, doc));
            }
        }
        let mut visits = Vec::new();
        for month in building::visit_months(today) {
            if let Some(doc) = self.document(&DocId::visit_log(community, grid, &month).to_string())? {
                visits.push(doc);
            }
        }
        let sources = building::Sources {
            roster: &roster,
            check_in_logs: logs.iter().map(|(d, doc)| (*d, doc)).collect(),
            visit_logs: visits.iter().collect(),
        };
        self.edit_once(std::slice::from_ref(id), |docs| {
            building::project(&mut docs[0], name, &sources, version)?;
            Ok(())
        })?;
        Ok(())
    }

    /// The community's configuration as its community document holds it (the defaults when there is none).
    fn settings(&self, community_id: &str) -> Result<gridline_core::model::CommunitySettings> {
        let Some(entry) = self.entry(&DocId::community(community_id).to_string())? else {
            return Ok(gridline_core::model::CommunitySettings::defaults(
                community_id,
                "",
                gridline_core::model::DEFAULT_TIME_ZONE,
            ));
        };
        let settings = gridline_core::docs::community::read_settings(&lock(&entry).doc);
        Ok(settings)
    }

    fn check_author(&self, device: &crate::storage::Device, id: &DocId, change: &Change, m: &DocMessage) -> Result<()> {
        if device.is_actor(change.actor_id()) {
            return Ok(());
        }
        let hash = change.hash().to_string();
        let refused = |why: &str| {
            ServerError::forbidden_change(format!("{id}: change {hash} {why}"))
                .with_document(id.to_string(), Some(hash.clone()))
        };
        let sig = m
            .signatures
            .iter()
            .find(|s| s.change_hash == hash)
            .ok_or_else(|| refused("is authored by another actor and carries no signature"))?;
        let author = self
            .storage
            .device(&sig.device_id)?
            .filter(|a| !a.revoked && a.may_write(id))
            .ok_or_else(|| refused("is signed by a device that may not write this document"))?;
        if !signature_valid(change, sig, &author) {
            return Err(refused("carries an invalid signature"));
        }
        Ok(())
    }

    /// Stores a change `device` made outside a sync round (a console staff member's action, prepared by the
    /// replica with the staff account's actor), after the same checks a sync round makes: write scope,
    /// authorship, the document's scope and the content rules (an event's role must be the device's).
    pub fn submit(&self, device: &crate::storage::Device, id: &DocId, change: &[u8], now: DateTime<Utc>) -> Result<()> {
        if device.revoked || !device.may_write(id) {
            return Err(ServerError::forbidden_change(format!("{id}: this account may not write it")));
        }
        let doc_id = id.to_string();
        let _writers = self.writers.lock([doc_id.as_str()]);
        let mut attempt = 1;
        loop {
            match self.submit_once(device, id, change, now) {
                // Another instance wrote the document meanwhile: apply the change again onto what it stored.
                Err(e) if e.code == ErrorCode::ServerUnavailable && attempt < STALE_RETRIES => attempt += 1,
                done => return done,
            }
        }
    }

    /// One try of [`Engine::submit`], under the document's writer lock.
    fn submit_once(
        &self,
        device: &crate::storage::Device,
        id: &DocId,
        change: &[u8],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let doc_id = id.to_string();
        let (mut doc, base, base_bytes) = match self.copy(&doc_id)? {
            Some(stored) => stored,
            // A staff member creates a project, or the year's first department rating, from the console: the
            // change starts the document.
            None if matches!(id.kind, DocKind::Project | DocKind::DepartmentRating) => {
                (AutoCommit::new().with_actor(self.actor.clone()), 0, 0)
            }
            None => return Err(ServerError::bad_request(ErrorCode::NotFound, format!("{doc_id} is not stored here"))),
        };
        let before = doc.get_heads();
        let stored = crate::rules::stored(id, &doc);
        doc.load_incremental(change).map_err(malformed)?;
        if has_orphans(&mut doc) {
            return Err(malformed(format!("{doc_id}: the change depends on changes the server lacks")));
        }
        let new_changes = doc.get_changes(&before);
        let unsigned = DocMessage { doc_id: doc_id.clone(), message: vec![], signatures: vec![] };
        for c in &new_changes {
            self.check_author(device, id, c, &unsigned)?;
        }
        check_scope(id, &doc).map_err(|e| ServerError::forbidden_change(e.to_string()))?;
        let mut lookup = RoundLookup { engine: self, round: &[] };
        let mut ctx = crate::rules::ContentContext { sender: device, lookup: &mut lookup };
        crate::rules::check_content(&mut ctx, id, &stored, &doc, now)?;
        let once = self.add_server_entries(id, &mut doc, &stored, now)?;
        let new_changes = doc.get_changes(&before);
        let written = Written::new(doc, new_changes, base, base_bytes).map(|w| Written { once, ..w });
        self.store(vec![Received::by_server(id.clone(), written)], None, now)?;
        Ok(())
    }

    /// Saves a compacted snapshot of documents with more than `min_changes` changes since their last one.
    /// Returns how many were compacted.
    pub fn compact(&self, min_changes: u64, limit: usize) -> Result<usize> {
        let ids = self.storage.compaction_candidates(min_changes, limit)?;
        let mut n = 0;
        for doc_id in ids {
            let Some(entry) = self.entry(&doc_id)? else { continue };
            let (snapshot, seq) = {
                let mut e = lock(&entry);
                let seq = e.last_seq;
                (e.doc.save_with_options(SaveOptions { retain_orphans: false, ..SaveOptions::default() }), seq)
            };
            self.storage.put_snapshot(&doc_id, &snapshot, seq)?;
            n += 1;
        }
        Ok(n)
    }
}

/// What the content checks read during one round: devices from storage, rosters as stored plus the round's
/// writes so far (a device sends a roster before the check-ins of the households it adds).
struct RoundLookup<'a> {
    engine: &'a Engine,
    round: &'a [Received],
}

impl crate::rules::ContentLookup for RoundLookup<'_> {
    fn device(&mut self, device_id: &str) -> Result<Option<crate::storage::Device>> {
        self.engine.storage.device(device_id)
    }

    fn has_household(&mut self, roster: &DocId, code: &str) -> Result<bool> {
        if let Some(w) = self.round.iter().find(|r| r.id == *roster).and_then(|r| r.written.as_ref()) {
            return Ok(gridline_core::docs::roster::has_household(&w.doc, code));
        }
        let cached = self.engine.entry(&roster.to_string())?;
        Ok(cached.is_some_and(|c| gridline_core::docs::roster::has_household(&lock(&c).doc, code)))
    }

    fn household_building(&mut self, roster: &DocId, code: &str) -> Result<Option<String>> {
        let key = gridline_core::docs::roster::household_key(code);
        if let Some(w) = self.round.iter().find(|r| r.id == *roster).and_then(|r| r.written.as_ref()) {
            return Ok(gridline_core::docs::get_entity(&w.doc, &key).map(|h| h.str("building")));
        }
        self.engine.household_building(roster, code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sqlite::SqliteStorage;
    use crate::storage::ReadScope;
    use gridline_core::docs::{put_entity, roster, s};

    /// Writes `f` into document `id` as the server.
    fn put(e: &Engine, id: &DocId, f: impl FnOnce(&mut AutoCommit) -> Result<()>) {
        e.edit(std::slice::from_ref(id), |docs| f(&mut docs[0])).expect("edit");
    }

    fn engine(dir: &std::path::Path, cache: usize) -> Engine {
        Engine::new(Box::new(SqliteStorage::open(dir).expect("open")), cache)
    }

    #[test]
    fn server_edits_are_append_only_and_compaction_keeps_the_document() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e = engine(dir.path(), 1 << 20);
        let id = DocId::roster("c1", "G01");
        for n in 0..80 {
            put(&e, &id, |doc| {
                put_entity(doc, &roster::household_key(&format!("H{n}")), &vec![("room", s("101"))])
                    .map(|_| ())
                    .map_err(Into::into)
            });
        }
        let mut before = e.document(&id.to_string()).expect("load").expect("doc");
        assert_eq!(e.compact(64, 10).expect("compact"), 1);
        assert_eq!(e.compact(64, 10).expect("again"), 0, "nothing left to compact");
        // A fresh engine loads snapshot + later changes to the same heads.
        let fresh = engine(dir.path(), 1 << 20);
        let mut after = fresh.document(&id.to_string()).expect("load").expect("doc");
        assert_eq!(after.get_heads(), before.get_heads());
        assert_eq!(gridline_core::docs::entities(&after, roster::HOUSEHOLD_PREFIX).count(), 80);
        // Storing the same changes again changes nothing (keyed by hash), but bumps the catalogue.
        let scope = ReadScope::grids("c1", vec!["G01".into()]);
        let v = fresh.storage().catalogue_version("c1").expect("version");
        let changes = after.get_changes(&[]);
        let write = DocumentWrite {
            doc_id: id.to_string(),
            scope: DocScope { community_id: "c1".into(), grid: Some("G01".into()) },
            changes: changes.iter().map(|c| (c.hash().to_string(), c.raw_bytes().to_vec())).collect(),
            heads: hex_heads(&after.get_heads()),
            blobs: vec![],
            base_seq: 0,
            once: false,
            audience: None,
            building: None,
        };
        fresh.storage().append(&[write], &[], 0, None).expect("append again").expect("no quota");
        let again = engine(dir.path(), 1 << 20);
        assert_eq!(again.document(&id.to_string()).expect("load").expect("doc").get_changes(&[]).len(), 80);
        let rows = again.storage().catalogue(&scope, v, 10).expect("catalogue");
        assert_eq!(rows.len(), 1);
        let other = ReadScope::grids("c1", vec!["G02".into()]);
        assert!(again.storage().catalogue(&other, 0, 10).expect("catalogue").is_empty());
    }

    #[test]
    fn the_cache_stays_within_its_budget_and_sees_other_writers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e = engine(dir.path(), 64 * 1024);
        for g in 0..50 {
            let id = DocId::roster("c1", &format!("G{g}"));
            put(&e, &id, |doc| {
                put_entity(doc, &roster::household_key("H1"), &vec![("note", s(&"x".repeat(2000)))])
                    .map(|_| ())
                    .map_err(Into::into)
            });
        }
        let cache = lock(&e.cache);
        assert!(cache.total <= 64 * 1024 || cache.slots.len() == 1, "{} bytes cached", cache.total);
        drop(cache);
        // Another writer (an admin command) edits a cached document: the engine picks the change up.
        let id = DocId::roster("c1", "G49");
        let _ = e.document(&id.to_string()).expect("cached");
        let admin = engine(dir.path(), 1 << 20);
        put(&admin, &id, |doc| {
            put_entity(doc, &roster::household_key("H2"), &vec![("room", s("202"))]).map(|_| ()).map_err(Into::into)
        });
        let doc = e.document(&id.to_string()).expect("load").expect("doc");
        assert!(gridline_core::docs::get_entity(&doc, &roster::household_key("H2")).is_some());
    }

    #[test]
    fn a_stored_document_holding_orphans_is_cleaned_on_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e = engine(dir.path(), 1 << 20);
        let id = DocId::roster("c1", "G01");
        put(&e, &id, |doc| {
            put_entity(doc, &roster::household_key("H1"), &vec![("room", s("101"))]).map(|_| ()).map_err(Into::into)
        });
        // A snapshot saved (as before) with a change whose dependency never arrived.
        let mut other = AutoCommit::new();
        put_entity(&mut other, &roster::household_key("X"), &vec![("room", s("1"))]).expect("put");
        other.commit();
        put_entity(&mut other, &roster::household_key("Y"), &vec![("room", s("2"))]).expect("put");
        other.commit();
        let orphan = other.get_last_local_change().expect("change");
        let mut poisoned = e.document(&id.to_string()).expect("load").expect("doc");
        poisoned.load_incremental(orphan.raw_bytes()).expect("queued");
        assert!(has_orphans(&mut poisoned));
        let seq = e.storage().load_document(&id.to_string()).expect("load").expect("stored").last_seq;
        e.storage().put_snapshot(&id.to_string(), &poisoned.save(), seq).expect("poison");

        let fresh = engine(dir.path(), 1 << 20);
        let mut doc = fresh.document(&id.to_string()).expect("load").expect("doc");
        assert!(!has_orphans(&mut doc), "the loaded document holds no orphan");
        assert!(
            gridline_core::docs::get_entity(&doc, &roster::household_key("H1")).is_some(),
            "nothing honest is lost"
        );
        let stored = fresh.storage().load_document(&id.to_string()).expect("load").expect("stored");
        let mut reloaded = AutoCommit::load(&stored.snapshot.expect("clean snapshot")).expect("load");
        assert!(!has_orphans(&mut reloaded), "the clean snapshot replaced the poisoned one");
    }

    #[test]
    fn blob_hashes_are_found_in_fields_and_lists() {
        let mut doc = AutoCommit::new();
        let h1 = "a".repeat(64);
        let h2 = "b".repeat(64);
        put_entity(
            &mut doc,
            &gridline_core::docs::checkin_log::check_in_key("1"),
            &vec![("photos", s(&format!("{h1};{h2}"))), ("note", s("no hash"))],
        )
        .expect("put");
        assert_eq!(blob_hashes(&doc), vec![h1, h2]);
    }

    /// An incident keeps its fields and each event as one JSON string: the photos inside them are found, so
    /// the blobs are linked to the incident's document (and readable in its scope).
    #[test]
    fn blob_hashes_are_found_in_incident_records() {
        use gridline_core::docs::incident;
        use gridline_core::model::{IncidentEvent, IncidentFields, Severity};
        let (reported, resolved, longer) = ("c".repeat(64), "d".repeat(64), "e".repeat(65));
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-24T09:00:00+08:00").expect("time");
        let fields = IncidentFields {
            incident_id: "i1".into(),
            grid: "G01".into(),
            category: "facility_repair".into(),
            severity: Severity::Normal,
            title: "灯坏了".into(),
            description: format!("not a hash: {longer}"),
            household_code: None,
            location: None,
            photos: vec![reported.clone()],
            check_in_id: None,
            reporter: "wang".into(),
            reporter_device: "d1".into(),
            at,
        };
        let mut report = IncidentEvent::new("report", "wang", "d1", "grid_leader", at.to_rfc3339());
        report.photos = vec![reported.clone()];
        let mut doc = AutoCommit::new();
        incident::create(&mut doc, &fields, &report).expect("create");
        let mut resolve = IncidentEvent::new("resolve", "zhou", "d2", "station", at.to_rfc3339());
        resolve.photos = vec![resolved.clone()];
        incident::append_event(&mut doc, &resolve).expect("append");
        assert_eq!(blob_hashes(&doc), vec![reported, resolved]);
    }
}
