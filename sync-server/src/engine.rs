//! The sync engine: documents loaded from storage into a byte-bounded cache, sync rounds applied to a fork,
//! validated change by change, and only then stored (append-only) with their catalogue bump.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};

use automerge::sync::{Message, State, SyncDoc};
use automerge::{ActorId, AutoCommit, Change, ChangeHash, ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use chrono::{DateTime, Utc};
use gridline_core::docs::{check_scope, DocId, DocKind};
use gridline_core::sync::protocol::{
    CatalogueEntry, DocMessage, SyncRequest, SyncResponse, MAX_DOCS_PER_REQUEST, PROTOCOL_VERSION,
};

use crate::access::signature_valid;
use crate::error::{Result, ServerError};
use crate::storage::{DocScope, DocumentWrite, Storage};

/// The actor id of every change the server itself authors (admin imports, incident receipts).
pub const SERVER_ACTOR: [u8; 16] = *b"gridline-server\0";

/// Most catalogue entries in one sync response; `more` tells the device to sync again.
pub const CATALOGUE_LIMIT: usize = 1000;

/// The server's actor.
pub fn server_actor() -> ActorId {
    ActorId::from(SERVER_ACTOR.as_slice())
}

struct CachedDoc {
    doc: AutoCommit,
    last_seq: i64,
    bytes: usize,
    used: u64,
}

/// Hot documents kept in memory, evicted least recently used first once their estimated size passes the
/// budget.
struct DocCache {
    docs: HashMap<String, CachedDoc>,
    budget: usize,
    total: usize,
    tick: u64,
}

/// In-memory size of a loaded document relative to its stored bytes (ops expand once decoded).
const MEMORY_FACTOR: usize = 4;
/// Fixed in-memory cost of a loaded document, whatever its size (Automerge's indexes; measured with the load
/// bench: about 90 KB per small document).
const DOC_OVERHEAD: usize = 96 * 1024;

impl DocCache {
    fn put(&mut self, doc_id: &str, doc: AutoCommit, last_seq: i64, bytes: usize) {
        self.tick += 1;
        let bytes = bytes * MEMORY_FACTOR + DOC_OVERHEAD;
        if let Some(old) = self.docs.insert(doc_id.to_string(), CachedDoc { doc, last_seq, bytes, used: self.tick }) {
            self.total -= old.bytes;
        }
        self.total += bytes;
        while self.total > self.budget && self.docs.len() > 1 {
            let Some(victim) = self.docs.iter().min_by_key(|(_, d)| d.used).map(|(k, _)| k.clone()) else { break };
            if let Some(d) = self.docs.remove(&victim) {
                self.total -= d.bytes;
            }
        }
    }
}

/// One document's share of a sync round, validated and ready to store.
struct Received {
    id: DocId,
    state: State,
    /// The server's answer (encoded sync message), if it has something to say.
    reply: Option<Vec<u8>>,
    /// The document with the new changes applied, and those changes, when there are any.
    written: Option<(AutoCommit, Vec<Change>)>,
}

/// What a sync round did, for metrics.
#[derive(Debug, Default, Clone, Copy)]
pub struct RoundStats {
    /// Documents written.
    pub docs_written: u64,
    /// Changes stored.
    pub changes_stored: u64,
}

/// Storage plus the document cache. One per process, used under a mutex: SQLite has one writer anyway, and
/// serialising rounds keeps "validate, then store" atomic per document.
pub struct Engine {
    storage: Box<dyn Storage>,
    cache: DocCache,
}

fn malformed(e: impl std::fmt::Display) -> ServerError {
    ServerError::bad_request("malformed_sync_message", e.to_string())
}

fn hex_heads(heads: &[ChangeHash]) -> Vec<String> {
    heads.iter().map(|h| h.to_string()).collect()
}

/// Blob hashes (64 lowercase hex characters, alone or in `;`-joined lists) found anywhere in a document.
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
                    let is_hash = |t: &&str| t.len() == 64 && t.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
                    out.extend(text.split(';').filter(is_hash).map(str::to_string));
                }
            }
            Value::Object(_) => collect_hashes(doc, &id, depth + 1, out),
        }
    }
}

impl Engine {
    /// An engine over `storage`, caching documents up to about `cache_bytes` of memory.
    pub fn new(storage: Box<dyn Storage>, cache_bytes: usize) -> Engine {
        Engine { storage, cache: DocCache { docs: HashMap::new(), budget: cache_bytes, total: 0, tick: 0 } }
    }

    /// The storage backend.
    pub fn storage(&mut self) -> &mut dyn Storage {
        self.storage.as_mut()
    }

    /// The cached document, brought up to date with changes stored by other writers (admin commands, other
    /// instances). `None` when the document was never stored.
    fn cached(&mut self, doc_id: &str) -> Result<Option<&mut CachedDoc>> {
        if self.cache.docs.contains_key(doc_id) {
            let last = self.cache.docs[doc_id].last_seq;
            let (changes, new_last) = self.storage.changes_after(doc_id, last)?;
            self.cache.tick += 1;
            let tick = self.cache.tick;
            let entry = self.cache.docs.get_mut(doc_id).ok_or_else(|| ServerError::internal("cache entry vanished"))?;
            for c in &changes {
                entry.doc.load_incremental(c).map_err(|e| ServerError::internal(format!("stored {doc_id}: {e}")))?;
                entry.bytes += c.len() * MEMORY_FACTOR;
                self.cache.total += c.len() * MEMORY_FACTOR;
            }
            entry.last_seq = new_last;
            entry.used = tick;
            return Ok(self.cache.docs.get_mut(doc_id));
        }
        let Some(stored) = self.storage.load_document(doc_id)? else { return Ok(None) };
        let stored_err = |e: automerge::AutomergeError| ServerError::internal(format!("stored {doc_id}: {e}"));
        let mut doc = match &stored.snapshot {
            Some(s) => AutoCommit::load(s).map_err(stored_err)?,
            None => AutoCommit::new(),
        };
        let mut bytes = stored.snapshot.as_ref().map_or(0, Vec::len);
        for c in &stored.changes {
            doc.load_incremental(c).map_err(stored_err)?;
            bytes += c.len();
        }
        doc.set_actor(server_actor());
        self.cache.put(doc_id, doc, stored.last_seq, bytes);
        Ok(self.cache.docs.get_mut(doc_id))
    }

    /// A working copy of a document (with the server's actor), or `None` when it was never stored.
    pub fn document(&mut self, doc_id: &str) -> Result<Option<AutoCommit>> {
        Ok(self.cached(doc_id)?.map(|c| {
            let mut doc = c.doc.clone();
            doc.set_actor(server_actor());
            doc
        }))
    }

    /// A working copy of a document for the server to edit, new (with its scope written) if never stored,
    /// with its heads before the edit.
    pub fn checkout(&mut self, id: &DocId) -> Result<(AutoCommit, Vec<ChangeHash>)> {
        let (doc, heads) = match self.document(&id.to_string())? {
            Some(mut d) => {
                let heads = d.get_heads();
                (d, heads)
            }
            None => (gridline_core::docs::new_document(id, &server_actor())?, Vec::new()),
        };
        Ok((doc, heads))
    }

    /// Stores what the server itself wrote into checked-out documents.
    pub fn commit_server_edits(&mut self, edits: Vec<(DocId, AutoCommit, Vec<ChangeHash>)>) -> Result<RoundStats> {
        let received = edits
            .into_iter()
            .map(|(id, mut doc, before)| {
                doc.commit();
                let new_changes = doc.get_changes(&before);
                let written = (!new_changes.is_empty()).then_some((doc, new_changes));
                Received { id, state: State::new(), reply: None, written }
            })
            .collect();
        self.store(received, None)
    }

    fn store(&mut self, received: Vec<Received>, device: Option<&str>) -> Result<RoundStats> {
        let mut stats = RoundStats::default();
        let mut writes = Vec::new();
        let mut states = Vec::new();
        let mut docs = Vec::new();
        for r in received {
            let doc_id = r.id.to_string();
            if let Some(device) = device {
                states.push((device.to_string(), doc_id.clone(), r.state.encode()));
            }
            let Some((mut doc, new_changes)) = r.written else { continue };
            stats.docs_written += 1;
            stats.changes_stored += new_changes.len() as u64;
            let added: usize = new_changes.iter().map(|c| c.raw_bytes().len()).sum();
            writes.push(DocumentWrite {
                doc_id: doc_id.clone(),
                scope: DocScope { community_id: r.id.community.clone(), grid: r.id.grid.clone() },
                changes: new_changes.iter().map(|c| (c.hash().to_string(), c.raw_bytes().to_vec())).collect(),
                heads: hex_heads(&doc.get_heads()),
                blobs: blob_hashes(&doc),
            });
            doc.set_actor(server_actor());
            docs.push((doc_id, doc, added));
        }
        if writes.is_empty() {
            self.storage.put_sync_states(&states)?;
            return Ok(stats);
        }
        let seqs = self.storage.append(&writes, &states)?;
        for ((doc_id, doc, added), seq) in docs.into_iter().zip(seqs) {
            let size =
                self.cache.docs.get(&doc_id).map_or(0, |c| (c.bytes.saturating_sub(DOC_OVERHEAD)) / MEMORY_FACTOR)
                    + added;
            self.cache.put(&doc_id, doc, seq, size);
        }
        Ok(stats)
    }

    /// One sync round of `device` (already authenticated): applies every document's message to a fork,
    /// refuses the whole batch if any new change is not the device's to make, stores the rest, answers
    /// with the server's messages and the catalogue since the request's cursor.
    pub fn sync(
        &mut self,
        device: &crate::storage::Device,
        req: SyncRequest,
        now: DateTime<Utc>,
    ) -> Result<(SyncResponse, RoundStats)> {
        if req.protocol != PROTOCOL_VERSION {
            return Err(ServerError::bad_request(
                "protocol_unsupported",
                format!("protocol {} is not spoken here (this server speaks {PROTOCOL_VERSION})", req.protocol),
            ));
        }
        if req.docs.len() > MAX_DOCS_PER_REQUEST {
            return Err(ServerError::bad_request(
                "too_many_documents",
                format!("{} documents in one request (at most {MAX_DOCS_PER_REQUEST})", req.docs.len()),
            ));
        }
        let mut seen = HashSet::new();
        let mut received = Vec::with_capacity(req.docs.len());
        for m in &req.docs {
            let id = DocId::parse(&m.doc_id).map_err(|e| ServerError::bad_request("invalid_doc_id", e.to_string()))?;
            if !seen.insert(m.doc_id.as_str()) {
                return Err(ServerError::bad_request("duplicate_document", format!("{} appears twice", m.doc_id)));
            }
            if !device.may_read(&id) {
                return Err(ServerError::new(
                    axum::http::StatusCode::FORBIDDEN,
                    "forbidden_document",
                    format!("{} is outside this device's scope", m.doc_id),
                ));
            }
            let r = self.receive(device, id, m, now, &received)?;
            received.push(r);
        }
        let replies = received
            .iter_mut()
            .filter_map(|r| {
                let message = r.reply.take()?;
                Some(DocMessage { doc_id: r.id.to_string(), message, signatures: vec![] })
            })
            .collect();
        let stats = self.store(received, Some(&device.device_id))?;
        let mut rows = self.storage.catalogue(&device.read_scope(), req.cursor, CATALOGUE_LIMIT + 1)?;
        let more = rows.len() > CATALOGUE_LIMIT;
        rows.truncate(CATALOGUE_LIMIT);
        let cursor = match (more, rows.last()) {
            (true, Some(last)) => last.version,
            _ => self.storage.catalogue_version()?,
        };
        let catalogue = rows.into_iter().map(|r| CatalogueEntry { doc_id: r.doc_id, heads: r.heads }).collect();
        Ok((SyncResponse { cursor, docs: replies, catalogue, more }, stats))
    }

    fn receive(
        &mut self,
        device: &crate::storage::Device,
        id: DocId,
        m: &DocMessage,
        now: DateTime<Utc>,
        round: &[Received],
    ) -> Result<Received> {
        let doc_id = id.to_string();
        let mut state = match self.storage.sync_state(&device.device_id, &doc_id)? {
            Some(bytes) => State::decode(&bytes).unwrap_or_default(),
            None => State::new(),
        };
        let msg = if m.message.is_empty() { None } else { Some(Message::decode(&m.message).map_err(malformed)?) };
        if msg.as_ref().is_none_or(|msg| msg.changes.is_empty()) {
            // Nothing to apply: answer from the cached document itself, no copy.
            let mut fresh = AutoCommit::new().with_actor(server_actor());
            let doc = match self.cached(&doc_id)? {
                Some(entry) => &mut entry.doc,
                None => &mut fresh,
            };
            if let Some(msg) = msg {
                catch_unwind(AssertUnwindSafe(|| doc.sync().receive_sync_message(&mut state, msg)))
                    .map_err(|_| malformed(format!("{doc_id}: the sync message could not be applied")))?
                    .map_err(malformed)?;
            }
            let reply = doc.sync().generate_sync_message(&mut state).map(Message::encode);
            return Ok(Received { id, state, reply, written: None });
        }
        let mut doc = self.document(&doc_id)?.unwrap_or_else(|| AutoCommit::new().with_actor(server_actor()));
        let before = doc.get_heads();
        let stored = crate::rules::stored(&id, &doc);
        if let Some(msg) = msg {
            // The copy is thrown away on any failure: a hostile message never reaches the stored document.
            catch_unwind(AssertUnwindSafe(|| doc.sync().receive_sync_message(&mut state, msg)))
                .map_err(|_| malformed(format!("{doc_id}: the sync message could not be applied")))?
                .map_err(malformed)?;
        }
        let mut new_changes = doc.get_changes(&before);
        if !new_changes.is_empty() {
            if !device.may_write(&id) {
                return Err(ServerError::forbidden_change(format!("{doc_id}: this device may not write it")));
            }
            for c in &new_changes {
                self.check_author(device, &id, c, m)?;
            }
            check_scope(&id, &doc).map_err(|e| ServerError::forbidden_change(e.to_string()))?;
            let mut lookup = RoundLookup { engine: self, round };
            let mut ctx = crate::rules::ContentContext { sender: device, lookup: &mut lookup };
            crate::rules::check_content(&mut ctx, &id, &stored, &doc, now)?;
            if id.kind == DocKind::Incident && !stored.has_events() {
                // The receipt (已送达) when the server first stores the incident; a document without an event
                // list yet gets it with the change that brings the list.
                if let Ok(Some(_)) = gridline_core::docs::incident::append_receipt(&mut doc, now.fixed_offset()) {
                    doc.commit();
                    new_changes = doc.get_changes(&before);
                }
            }
        }
        let reply = doc.sync().generate_sync_message(&mut state).map(Message::encode);
        let written = (!new_changes.is_empty()).then_some((doc, new_changes));
        Ok(Received { id, state, reply, written })
    }

    fn check_author(
        &mut self,
        device: &crate::storage::Device,
        id: &DocId,
        change: &Change,
        m: &DocMessage,
    ) -> Result<()> {
        if device.is_actor(change.actor_id()) {
            return Ok(());
        }
        let hash = change.hash().to_string();
        let refused = |why: &str| ServerError::forbidden_change(format!("{id}: change {hash} {why}"));
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

    /// Saves a compacted snapshot of documents with more than `min_changes` changes since their last one.
    /// Returns how many were compacted.
    pub fn compact(&mut self, min_changes: u64, limit: usize) -> Result<usize> {
        let ids = self.storage.compaction_candidates(min_changes, limit)?;
        let mut n = 0;
        for doc_id in ids {
            let Some(entry) = self.cached(&doc_id)? else { continue };
            let seq = entry.last_seq;
            let snapshot = entry.doc.save();
            self.storage.put_snapshot(&doc_id, &snapshot, seq)?;
            n += 1;
        }
        Ok(n)
    }
}

/// What the content checks read during one round: devices from storage, rosters as stored plus the round's
/// writes so far (a device sends a roster before the check-ins of the households it adds).
struct RoundLookup<'a> {
    engine: &'a mut Engine,
    round: &'a [Received],
}

impl crate::rules::ContentLookup for RoundLookup<'_> {
    fn device(&mut self, device_id: &str) -> Result<Option<crate::storage::Device>> {
        self.engine.storage.device(device_id)
    }

    fn has_household(&mut self, roster: &DocId, code: &str) -> Result<bool> {
        if let Some((doc, _)) = self.round.iter().find(|r| r.id == *roster).and_then(|r| r.written.as_ref()) {
            return Ok(gridline_core::docs::roster::has_household(doc, code));
        }
        let cached = self.engine.cached(&roster.to_string())?;
        Ok(cached.is_some_and(|c| gridline_core::docs::roster::has_household(&c.doc, code)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sqlite::SqliteStorage;
    use crate::storage::ReadScope;
    use gridline_core::docs::{put_entity, s};

    fn engine(dir: &std::path::Path, cache: usize) -> Engine {
        Engine::new(Box::new(SqliteStorage::open(dir).expect("open")), cache)
    }

    #[test]
    fn server_edits_are_append_only_and_compaction_keeps_the_document() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut e = engine(dir.path(), 1 << 20);
        let id = DocId::roster("c1", "G01");
        for n in 0..80 {
            let (mut doc, before) = e.checkout(&id).expect("checkout");
            put_entity(&mut doc, &format!("household/H{n}"), &vec![("room", s("101"))]).expect("put");
            e.commit_server_edits(vec![(id.clone(), doc, before)]).expect("commit");
        }
        let mut before = e.document(&id.to_string()).expect("load").expect("doc");
        assert_eq!(e.compact(64, 10).expect("compact"), 1);
        assert_eq!(e.compact(64, 10).expect("again"), 0, "nothing left to compact");
        // A fresh engine loads snapshot + later changes to the same heads.
        let mut fresh = engine(dir.path(), 1 << 20);
        let mut after = fresh.document(&id.to_string()).expect("load").expect("doc");
        assert_eq!(after.get_heads(), before.get_heads());
        assert_eq!(gridline_core::docs::entities(&after, "household/").count(), 80);
        // Storing the same changes again changes nothing (keyed by hash), but bumps the catalogue.
        let scope = ReadScope { community_id: "c1".into(), grids: Some(vec!["G01".into()]) };
        let v = fresh.storage().catalogue_version().expect("version");
        let changes = after.get_changes(&[]);
        let write = DocumentWrite {
            doc_id: id.to_string(),
            scope: DocScope { community_id: "c1".into(), grid: Some("G01".into()) },
            changes: changes.iter().map(|c| (c.hash().to_string(), c.raw_bytes().to_vec())).collect(),
            heads: hex_heads(&after.get_heads()),
            blobs: vec![],
        };
        fresh.storage().append(&[write], &[]).expect("append again");
        let mut again = engine(dir.path(), 1 << 20);
        assert_eq!(again.document(&id.to_string()).expect("load").expect("doc").get_changes(&[]).len(), 80);
        let rows = again.storage().catalogue(&scope, v, 10).expect("catalogue");
        assert_eq!(rows.len(), 1);
        let other = ReadScope { community_id: "c1".into(), grids: Some(vec!["G02".into()]) };
        assert!(again.storage().catalogue(&other, 0, 10).expect("catalogue").is_empty());
    }

    #[test]
    fn the_cache_stays_within_its_budget_and_sees_other_writers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut e = engine(dir.path(), 64 * 1024);
        for g in 0..50 {
            let id = DocId::roster("c1", &format!("G{g}"));
            let (mut doc, before) = e.checkout(&id).expect("checkout");
            put_entity(&mut doc, "household/H1", &vec![("note", s(&"x".repeat(2000)))]).expect("put");
            e.commit_server_edits(vec![(id, doc, before)]).expect("commit");
        }
        assert!(e.cache.total <= 64 * 1024 || e.cache.docs.len() == 1, "{} bytes cached", e.cache.total);
        // Another writer (an admin command) edits a cached document: the engine picks the change up.
        let id = DocId::roster("c1", "G49");
        let _ = e.document(&id.to_string()).expect("cached");
        let mut admin = engine(dir.path(), 1 << 20);
        let (mut doc, before) = admin.checkout(&id).expect("checkout");
        put_entity(&mut doc, "household/H2", &vec![("room", s("202"))]).expect("put");
        admin.commit_server_edits(vec![(id.clone(), doc, before)]).expect("commit");
        let doc = e.document(&id.to_string()).expect("load").expect("doc");
        assert!(gridline_core::docs::get_entity(&doc, "household/H2").is_some());
    }

    #[test]
    fn blob_hashes_are_found_in_fields_and_lists() {
        let mut doc = AutoCommit::new();
        let h1 = "a".repeat(64);
        let h2 = "b".repeat(64);
        put_entity(&mut doc, "checkin/1", &vec![("photos", s(&format!("{h1};{h2}"))), ("note", s("no hash"))])
            .expect("put");
        assert_eq!(blob_hashes(&doc), vec![h1, h2]);
    }
}
