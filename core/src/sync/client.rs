//! The device's sync client: enrollment, then batched rounds of Automerge sync messages with the relay
//! server, and the photo queues.
//!
//! One round is one `POST /v1/sync` carrying a message for every document that has something to say: changed
//! here since the last sync (its heads differ from the heads both sides shared then), or announced by the
//! server's catalogue with heads this device has not reached. Unchanged documents cost nothing.
//!
//! The first message for a document in a sync says exactly what this device has: its heads, a `have` whose
//! `last_sync` is those same heads with an empty Bloom filter, and every change the server does not have yet
//! (all changes since the shared heads, as one compressed document when that is most of the document). A
//! stock Automerge peer applies the changes, so it then holds every head named, and answers with precisely
//! the changes this device lacks: one round trip per document instead of the handshake-then-changes of a
//! fresh `sync::State`, and no Bloom filter bytes. Any answer that does not settle the document (a reset, a
//! need) continues with Automerge's own `generate_sync_message` in the next round.
//!
//! A batch the server refuses for one document (`forbidden_change` naming it) does not wedge the rest: the
//! refusal is recorded (`sync::refused`), the document is left out, and the round is sent again. The
//! document waits for the user (`Store::retry_refused`), not for the next sync.
//!
//! Network I/O happens outside transactions; each answer is merged through the store's write path, with the
//! materialised tables and the sync state in the same transaction, so an interruption at any point loses
//! nothing and duplicates nothing (changes are keyed by hash; a resent message is merged idempotently).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use automerge::sync::{self, BloomFilter, Have, Message, MessageFlags, MessageVersion, SyncDoc};
use automerge::{AutoCommit, ChangeHash};
use serde::Serialize;

use super::http::{self, HttpTransport, ServerLink};
use super::protocol::{
    self, CatalogueEntry, ChangeSignature, DocMessage, EnrollRequest, EnrollResponse, SyncRequest, SyncResponse,
    MAX_DOCS_PER_REQUEST, PROTOCOL_VERSION,
};

use super::transport::with_retry;
pub use super::transport::{SyncOptions, Transport};
use super::{refused, signing};
use crate::clock::Clock;
use crate::docs::{self, DocId, DocKind};
use crate::error::{Error, Result};
use crate::model::{CommunitySettings, Role};
use crate::store::db::blobs;
use crate::store::db::sync_state::{
    self as state, META_INSECURE_HTTP, META_KEYS_ETAG, META_SERVER_URL, META_SIGNING_KEY, META_TOKEN,
};
use crate::store::{index, points, DeviceInfo, KEY_LEN, STORE_FILE};
use crate::Store;

/// What a sync did (the `gridline sync --json` document).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncReport {
    /// Requests answered by the server (`POST /v1/sync`).
    pub round_trips: u32,
    /// Documents whose changes went up.
    pub docs_sent: u32,
    /// Documents that received changes from the server.
    pub docs_received: u32,
    /// Bytes sent (sync bodies and photos).
    pub bytes_up: u64,
    /// Bytes received (sync bodies and photos).
    pub bytes_down: u64,
    /// Photos uploaded.
    pub blobs_up: u32,
    /// Photos downloaded.
    pub blobs_down: u32,
    /// Photos that failed and wait for the next sync.
    pub blobs_failed: u32,
    /// Documents of the server's answer refused here (out of scope, malformed); the rest was applied.
    pub docs_refused: u32,
    /// Documents the server refused in this sync, now set aside until the user retries them
    /// (`Store::refused_documents` lists every one set aside).
    pub docs_set_aside: u32,
    /// This device's redemptions whose server decision arrived in this sync: the person who recorded one that
    /// did not stand is told why (`points_insufficient`, `out_of_stock`, `unknown_item`).
    pub redemptions_decided: Vec<crate::store::Redemption>,
}

/// Where a sync is, for progress reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SyncStage {
    /// A document round was answered and applied; `pending` documents still have something to say.
    Documents {
        /// Round number, from 1.
        round: u32,
        /// Documents known to need another message.
        pending: u32,
    },
    /// A photo was transferred (or failed).
    Blobs {
        /// Photos done.
        done: u32,
        /// Photos queued in this sync.
        total: u32,
    },
}

/// Receives progress while a sync runs.
pub trait SyncProgress {
    /// Called after each round and each photo with the totals so far.
    fn on_progress(&self, stage: SyncStage, so_far: &SyncReport);
}

/// A [`SyncProgress`] that ignores progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl SyncProgress for NoProgress {
    fn on_progress(&self, _: SyncStage, _: &SyncReport) {}
}

/// One sync under way: how the server is reached, the tuning, who hears progress, the user's cancel flag and
/// what was done so far. Each step of a sync takes it whole.
struct SyncRun<'a> {
    transport: &'a dyn Transport,
    opts: &'a SyncOptions,
    progress: &'a dyn SyncProgress,
    cancel: &'a AtomicBool,
    report: SyncReport,
}

impl SyncRun<'_> {
    /// Runs a request with retries (see [`with_retry`]).
    fn retry<T>(&self, f: impl FnMut() -> Result<T>) -> Result<T> {
        with_retry(self.opts, self.cancel, f)
    }

    /// `Err(SyncCancelled)` once the user cancelled: checked before each round and each photo.
    fn check_cancelled(&self) -> Result<()> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(Error::SyncCancelled);
        }
        Ok(())
    }

    /// Tells the observer where the sync is, with the totals so far.
    fn tell(&self, stage: SyncStage) {
        self.progress.on_progress(stage, &self.report);
    }
}

/// A message ready to go with the hashes of the changes it carries.
struct Outgoing {
    message: Message,
    hashes: Vec<ChangeHash>,
}

/// Per-sync memory: the in-session Automerge sync states and the follow-up messages Automerge wants sent.
#[derive(Default)]
struct Session {
    states: HashMap<DocId, sync::State>,
    follow_ups: BTreeMap<DocId, Outgoing>,
    messages: HashMap<DocId, u32>,
    sent_docs: HashSet<DocId>,
    received_docs: HashSet<DocId>,
}

fn flags() -> Option<MessageFlags> {
    let mut f = MessageFlags::new();
    f.set(MessageFlags::SUPPORTS_SYNC_RESET);
    Some(f)
}

fn has_change(doc: &mut AutoCommit, hash: &ChangeHash) -> bool {
    doc.get_change_meta_by_hash(hash).is_some()
}

/// The first message of a sync for a document: this device's heads, a `have` naming those heads with an
/// empty Bloom filter, and every change since the heads shared with the server (the whole document, in
/// Automerge's compressed document format, when the server has none of it or more than a third is new).
fn exact_message(doc: &mut AutoCommit, state: &mut sync::State) -> Outgoing {
    let ours = doc.get_heads();
    let shared: Vec<ChangeHash> = state.shared_heads.iter().copied().filter(|h| has_change(doc, h)).collect();
    let (chunk, hashes) = if ours.is_empty() || ours == shared {
        (Vec::new(), Vec::new())
    } else {
        let all: Vec<ChangeHash> = doc.get_changes_meta(&[]).iter().map(|m| m.hash).collect();
        let new = if shared.is_empty() { Vec::new() } else { doc.get_changes(&shared) };
        if shared.is_empty() || new.len() * 3 > all.len() {
            (doc.save(), all)
        } else {
            let hashes = new.iter().map(|c| c.hash()).collect();
            (new.iter().flat_map(|c| c.raw_bytes().iter().copied()).collect(), hashes)
        }
    };
    state.have_responded = true;
    state.in_flight = true;
    state.last_sent_heads.clone_from(&ours);
    state.sent_hashes.extend(hashes.iter().copied());
    let message = Message {
        heads: ours.clone(),
        need: Vec::new(),
        have: vec![Have { last_sync: ours, bloom: BloomFilter::default() }],
        changes: if chunk.is_empty() { Vec::<Vec<u8>>::new().into() } else { chunk.into() },
        flags: flags(),
        version: MessageVersion::V2,
    };
    Outgoing { message, hashes }
}

/// Automerge's own next message for a document, if it has one, with the hashes it newly carries.
fn follow_up(doc: &mut AutoCommit, state: &mut sync::State) -> Option<Outgoing> {
    let before: BTreeSet<ChangeHash> = state.sent_hashes.clone();
    let message = doc.sync().generate_sync_message(state)?;
    let hashes = state.sent_hashes.difference(&before).copied().collect();
    Some(Outgoing { message, hashes })
}

/// A document's message of one round, waiting for the answer.
struct Sent {
    /// This device's heads when the message left.
    heads: Vec<ChangeHash>,
    /// True for an exact message: it carried every change the server lacked.
    complete: bool,
}

impl Store {
    /// Enrolls this device with a server: redeems the one-time `code`, registers a new Ed25519 public key, and
    /// creates the device store in `dir` with the identity, role and scope the server assigned. The server
    /// URL, the device token and the secret key stay inside the encrypted store.
    ///
    /// `server_url` is `https://`, or `http://` to loopback; plain HTTP to another host is refused
    /// (`insecure_server_url`) unless `insecure_http` (the user's explicit choice, kept with the enrollment).
    pub fn enroll(
        dir: &Path,
        key: &[u8; KEY_LEN],
        server_url: &str,
        code: &str,
        insecure_http: bool,
        clock: Arc<dyn Clock>,
    ) -> Result<Store> {
        let transport = HttpTransport::new(server_url, None, insecure_http)?;
        let insecure = http::check_server_url(server_url, insecure_http)? == ServerLink::InsecureHttp;
        Store::enroll_over(dir, key, &transport, server_url, code, insecure, clock)
    }

    /// [`Store::enroll`] over any transport (the transport decides how the server is reached).
    pub fn enroll_with(
        dir: &Path,
        key: &[u8; KEY_LEN],
        transport: &dyn Transport,
        server_url: &str,
        code: &str,
        clock: Arc<dyn Clock>,
    ) -> Result<Store> {
        Store::enroll_over(dir, key, transport, server_url, code, false, clock)
    }

    fn enroll_over(
        dir: &Path,
        key: &[u8; KEY_LEN],
        transport: &dyn Transport,
        server_url: &str,
        code: &str,
        insecure_http: bool,
        clock: Arc<dyn Clock>,
    ) -> Result<Store> {
        if dir.join(STORE_FILE).exists() {
            return Err(Error::StoreExists(dir.display().to_string()));
        }
        let code = code.trim();
        if code.is_empty() || code.len() > 200 {
            return Err(Error::invalid("code", "an enrollment code is required"));
        }
        let secret = signing::generate_secret()?;
        let request = EnrollRequest { code: code.to_string(), public_key: signing::public_key_hex(&secret) };
        let answer = transport.enroll(&request)?;
        let device = enrolled_device(&answer)?;
        let settings = CommunitySettings::defaults(&device.community_id, "", crate::model::DEFAULT_TIME_ZONE);
        let secret_hex = hex::encode(secret);
        let mut meta = vec![
            (META_SERVER_URL, server_url.trim().trim_end_matches('/')),
            (META_TOKEN, answer.token.as_str()),
            (META_SIGNING_KEY, secret_hex.as_str()),
        ];
        if insecure_http {
            meta.push((META_INSECURE_HTTP, "1"));
        }
        Store::create(dir, key, device, settings, &meta, clock)
    }

    /// Syncs with the server this device enrolled with (see the module documentation). Returns what was
    /// done; on `device_revoked` from the enrolled server over TLS or loopback the local store files are
    /// erased and the error says so (over plain HTTP the store is kept: `device_revoked_unverified`).
    pub fn sync(&mut self, progress: &dyn SyncProgress, cancel: &AtomicBool) -> Result<SyncReport> {
        let transport = self.http_transport()?;
        self.sync_with(&transport, &SyncOptions::default(), progress, cancel)
    }

    /// The transport to the enrolled server, as enrolled (plain HTTP beyond loopback only when opted in).
    fn http_transport(&self) -> Result<HttpTransport> {
        let (url, token) = self.server()?;
        let insecure = crate::store::meta_get(self.conn(), META_INSECURE_HTTP)?.is_some_and(|v| v == "1");
        HttpTransport::new(&url, Some(&token), insecure)
    }

    /// [`Store::sync`] over any transport with explicit options.
    pub fn sync_with(
        &mut self,
        transport: &dyn Transport,
        opts: &SyncOptions,
        progress: &dyn SyncProgress,
        cancel: &AtomicBool,
    ) -> Result<SyncReport> {
        let mut run = SyncRun { transport, opts, progress, cancel, report: SyncReport::default() };
        let result =
            self.sync_documents(&mut run).and_then(|()| self.sync_keys(&run)).and_then(|()| self.sync_blobs(&mut run));
        match result {
            Ok(()) => {
                self.record_sync_finished()?;
                Ok(run.report)
            }
            // Only an answer that can only be the enrolled server's erases anything.
            Err(Error::DeviceRevoked) if transport.authenticated() => {
                self.wipe()?;
                Err(Error::DeviceRevoked)
            }
            Err(Error::DeviceRevoked) => Err(Error::DeviceRevokedUnverified),
            Err(e) => Err(e),
        }
    }

    fn sync_documents(&mut self, run: &mut SyncRun<'_>) -> Result<()> {
        let mut session = Session::default();
        // The first round always goes, even empty: it fetches the catalogue.
        let mut more = true;
        for round in 1..=run.opts.max_rounds {
            run.check_cancelled()?;
            let (messages, sent) = self.outgoing(&mut session, run)?;
            if messages.is_empty() && !more {
                return Ok(());
            }
            let request =
                SyncRequest { protocol: PROTOCOL_VERSION, cursor: state::cursor(self.conn())?, docs: messages };
            let body = protocol::encode_body(&request)?;
            let answer = match run.retry(|| run.transport.sync(&body)) {
                Err(Error::DocumentRefused(r)) if DocId::parse(&r.doc_id).is_ok_and(|id| sent.contains_key(&id)) => {
                    // Nothing of the batch was kept: set the document aside and send the rest again.
                    self.set_aside(&mut session, sent, r, &mut run.report)?;
                    run.report.round_trips += 1;
                    run.report.bytes_up += body.len() as u64;
                    more = true;
                    continue;
                }
                other => other?,
            };
            run.report.round_trips += 1;
            run.report.bytes_up += body.len() as u64;
            run.report.bytes_down += answer.len() as u64;
            let answer: SyncResponse =
                protocol::decode_body(&answer).map_err(|e| Error::SyncProtocol(format!("answer: {e}")))?;
            self.apply_answer(&mut session, sent, answer.docs, &mut run.report)?;
            self.forget_withdrawn(&mut session, &answer.withdrawn)?;
            self.record_catalogue(&answer.catalogue, answer.cursor)?;
            more = answer.more;
            let pending = (session.follow_ups.len() + state::candidates(self.conn())?.len()) as u32;
            run.tell(SyncStage::Documents { round, pending });
        }
        Ok(())
    }

    /// Records a document the server refused (it kept nothing of the batch) and forgets this sync's state of
    /// the batch's other documents: they are offered again from what the store holds.
    fn set_aside(
        &mut self,
        session: &mut Session,
        sent: HashMap<DocId, Sent>,
        mut refusal: refused::RefusedDocument,
        report: &mut SyncReport,
    ) -> Result<()> {
        refusal.refused_at = self.clock().now().to_rfc3339();
        self.with_tx(|tx| state::record_refusal(tx, &refusal))?;
        // Nothing of the batch counts: its documents are offered (and counted) afresh.
        for id in sent.keys() {
            session.states.remove(id);
            session.messages.remove(id);
            if session.sent_docs.remove(id) {
                report.docs_sent = report.docs_sent.saturating_sub(1);
            }
        }
        if let Ok(id) = DocId::parse(&refusal.doc_id) {
            session.follow_ups.remove(&id);
        }
        report.docs_set_aside += 1;
        Ok(())
    }

    /// Learns the community's device keys, so a later hand-off bundle from any of its devices can be
    /// verified offline. An unchanged list costs one conditional request; a failure here (an older server
    /// without the endpoint, a network error) does not fail the sync.
    fn sync_keys(&mut self, run: &SyncRun<'_>) -> Result<()> {
        let etag = crate::store::meta_get(self.conn(), META_KEYS_ETAG)?;
        match run.retry(|| run.transport.device_keys(etag.as_deref())) {
            Ok(None) => Ok(()),
            Ok(Some((keys, etag))) => self.with_tx(|tx| {
                state::set_server_keys(tx, &keys)?;
                match etag {
                    Some(etag) => crate::store::meta_set(tx, META_KEYS_ETAG, &etag),
                    None => Ok(()),
                }
            }),
            Err(e @ (Error::DeviceRevoked | Error::SyncCancelled)) => Err(e),
            Err(_) => Ok(()),
        }
    }

    /// This round's messages: Automerge's follow-ups, then every candidate document not yet settled, within
    /// the request limits (the rest waits for the next round).
    fn outgoing(
        &mut self,
        session: &mut Session,
        run: &mut SyncRun<'_>,
    ) -> Result<(Vec<DocMessage>, HashMap<DocId, Sent>)> {
        let mut targets: BTreeMap<DocId, Option<Outgoing>> =
            std::mem::take(&mut session.follow_ups).into_iter().map(|(id, o)| (id, Some(o))).collect();
        for text in state::candidates(self.conn())? {
            let Ok(id) = DocId::parse(&text) else { continue };
            let tries = session.messages.get(&id).copied().unwrap_or(0);
            if self.doc_in_scope(&id) && tries < run.opts.max_messages_per_doc {
                targets.entry(id).or_insert(None);
            }
        }
        let mut messages = Vec::new();
        let mut sent = HashMap::new();
        let mut bytes = 0usize;
        let mut targets = targets.into_iter();
        for (id, ready) in targets.by_ref() {
            let text = id.to_string();
            let mut doc = self.checkout_to_receive(&id)?;
            let state = match session.states.entry(id.clone()) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(state::load_state(self.conn(), &text)?),
            };
            let complete = ready.is_none();
            let out = match ready {
                Some(out) => out,
                None => exact_message(&mut doc, state),
            };
            let heads = doc.get_heads();
            let signatures = self.held_signatures(&text, &out.hashes)?;
            self.give_back(id.clone(), doc);
            if !out.hashes.is_empty() && session.sent_docs.insert(id.clone()) {
                run.report.docs_sent += 1;
            }
            let encoded = out.message.encode();
            bytes += encoded.len();
            *session.messages.entry(id.clone()).or_default() += 1;
            messages.push(DocMessage { doc_id: text, message: encoded, signatures });
            sent.insert(id, Sent { heads, complete });
            if messages.len() >= MAX_DOCS_PER_REQUEST || bytes >= run.opts.max_request_bytes {
                break;
            }
        }
        // Follow-ups that did not fit wait for the next round.
        session.follow_ups.extend(targets.filter_map(|(id, o)| o.map(|o| (id, o))));
        Ok((messages, sent))
    }

    /// Signatures held for relayed changes among `hashes`.
    fn held_signatures(&self, doc_id: &str, hashes: &[ChangeHash]) -> Result<Vec<ChangeSignature>> {
        if hashes.is_empty() {
            return Ok(Vec::new());
        }
        let held = state::signatures(self.conn(), doc_id)?;
        if held.is_empty() {
            return Ok(held);
        }
        let carried: HashSet<String> = hashes.iter().map(|h| h.to_string()).collect();
        Ok(held.into_iter().filter(|s| carried.contains(&s.change_hash)).collect())
    }

    /// Merges the server's messages through the store's write path: documents, materialised tables and sync
    /// states in one transaction. A document of the answer that is out of scope, malformed, or claims another
    /// scope is refused alone; the rest is applied.
    fn apply_answer(
        &mut self,
        session: &mut Session,
        mut sent: HashMap<DocId, Sent>,
        answers: Vec<DocMessage>,
        report: &mut SyncReport,
    ) -> Result<()> {
        let mut changed = Vec::new();
        let mut settled = Vec::new();
        let mut decided = Vec::new();
        for answer in answers {
            let Ok(id) = DocId::parse(&answer.doc_id) else {
                report.docs_refused += 1;
                continue;
            };
            sent.remove(&id);
            if !self.doc_in_scope(&id) {
                report.docs_refused += 1;
                continue;
            }
            let Ok(message) = Message::decode(&answer.message) else {
                report.docs_refused += 1;
                continue;
            };
            let text = id.to_string();
            let mut doc = self.checkout_to_receive(&id)?;
            let state = match session.states.entry(id.clone()) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(state::load_state(self.conn(), &text)?),
            };
            let before = doc.get_heads();
            let awaited = match id.kind {
                docs::DocKind::Points => {
                    points::undecided_of(&docs::points::Ledger::read(&doc), &self.device().device_id)
                }
                _ => Vec::new(),
            };
            let mut trial = state.clone();
            if doc.sync().receive_sync_message(&mut trial, message).is_err() || docs::check_scope(&id, &doc).is_err() {
                // The document is dropped, not cached: it reloads from the store unchanged.
                report.docs_refused += 1;
                continue;
            }
            *state = trial;
            // Both sides at the same heads with nothing asked for: settled, no acknowledgement needed.
            let settled_here = state.their_heads.as_ref() == Some(&doc.get_heads())
                && state.their_need.as_ref().is_none_or(|n| n.is_empty());
            if !settled_here {
                if let Some(next) = follow_up(&mut doc, state) {
                    session.follow_ups.insert(id.clone(), next);
                }
            }
            let server_reached = state.their_heads.as_ref().is_some_and(|h| h.iter().all(|h| has_change(&mut doc, h)));
            settled.push((text, state.clone(), server_reached));
            if doc.get_heads() != before {
                if !awaited.is_empty() {
                    decided.extend(points::decided_among(&docs::points::Ledger::read(&doc), &awaited));
                }
                if session.received_docs.insert(id.clone()) {
                    report.docs_received += 1;
                }
                changed.push((id, doc));
            } else {
                self.give_back(id, doc);
            }
        }
        // A document the server did not answer was applied there (the batch was accepted): after an exact
        // message it holds the heads this device sent.
        for (id, s) in sent.into_iter().filter(|(_, s)| s.complete) {
            let state = session.states.entry(id.clone()).or_default();
            state.shared_heads = s.heads;
            settled.push((id.to_string(), state.clone(), false));
        }
        self.persist(changed, |tx, merged| {
            index::reindex(tx, merged)?;
            for (doc_id, st, server_reached) in &settled {
                state::save_state(tx, doc_id, st)?;
                if *server_reached {
                    state::clear_server_heads(tx, doc_id)?;
                }
            }
            Ok(())
        })?;
        report.redemptions_decided.extend(decided);
        Ok(())
    }

    /// Deletes the service orders the server withdrew from this device (no longer dispatched to its volunteer)
    /// and drops them from this sync. Anything else the server names is ignored: only an order is held by
    /// assignment.
    fn forget_withdrawn(&mut self, session: &mut Session, withdrawn: &[String]) -> Result<()> {
        for text in withdrawn {
            let Ok(id) = DocId::parse(text) else { continue };
            if id.kind != DocKind::ServiceOrder {
                continue;
            }
            self.forget_document(&id)?;
            session.states.remove(&id);
            session.follow_ups.remove(&id);
        }
        Ok(())
    }

    /// Records the catalogue (documents to fetch) and the new cursor in one transaction.
    fn record_catalogue(&mut self, catalogue: &[CatalogueEntry], cursor: u64) -> Result<()> {
        let entries: Vec<(String, String)> = catalogue
            .iter()
            .filter_map(|e| {
                let id = DocId::parse(&e.doc_id).ok()?;
                let heads: Vec<ChangeHash> =
                    e.heads.iter().map(|h| signing::parse_change_hash(h)).collect::<Result<_>>().ok()?;
                self.doc_in_scope(&id).then(|| (id.to_string(), state::heads_text(&heads)))
            })
            .collect();
        self.with_tx(|tx| {
            for (doc_id, heads) in &entries {
                state::set_server_heads(tx, doc_id, heads)?;
            }
            state::set_cursor(tx, cursor)
        })
    }

    /// Uploads the photos documents reference (HEAD, then PUT when the server lacks it) and fetches the ones
    /// this device lacks. A photo that fails is retried at a later sync (with growing delays) and does not
    /// fail the sync.
    fn sync_blobs(&mut self, run: &mut SyncRun<'_>) -> Result<()> {
        let referenced = self.referenced_blobs()?;
        let uploads: Vec<String> = blobs::uploads_due(self.conn(), &self.clock().now())?
            .into_iter()
            .filter(|h| referenced.contains(h))
            .collect();
        let downloads = self.missing_blobs(&referenced)?;
        let total = (uploads.len() + downloads.len()) as u32;
        let mut done = 0;
        for hash in uploads {
            run.check_cancelled()?;
            let (mime, bytes) = self.blob(&hash)?;
            let outcome = run.retry(|| {
                if run.transport.blob_exists(&hash)? {
                    return Ok(false);
                }
                run.transport.put_blob(&hash, &mime, &bytes).map(|()| true)
            });
            match outcome {
                Ok(uploaded) => {
                    if uploaded {
                        run.report.blobs_up += 1;
                        run.report.bytes_up += bytes.len() as u64;
                    }
                    self.with_tx(|tx| blobs::uploaded(tx, &hash))?;
                }
                Err(e @ (Error::DeviceRevoked | Error::SyncCancelled)) => return Err(e),
                Err(e) => {
                    run.report.blobs_failed += 1;
                    let now = self.clock().now();
                    self.with_tx(|tx| blobs::upload_failed(tx, &hash, &now, &e.to_string()))?;
                }
            }
            done += 1;
            run.tell(SyncStage::Blobs { done, total });
        }
        for hash in downloads {
            run.check_cancelled()?;
            match run.retry(|| run.transport.get_blob(&hash)) {
                Ok(bytes) => match self.put_fetched_blob(&hash, &bytes) {
                    Ok(()) => {
                        run.report.blobs_down += 1;
                        run.report.bytes_down += bytes.len() as u64;
                    }
                    Err(_) => run.report.blobs_failed += 1,
                },
                Err(e @ (Error::DeviceRevoked | Error::SyncCancelled)) => return Err(e),
                Err(_) => run.report.blobs_failed += 1,
            }
            done += 1;
            run.tell(SyncStage::Blobs { done, total });
        }
        Ok(())
    }
}

/// Validates the server's enrollment answer into the device identity.
fn enrolled_device(answer: &EnrollResponse) -> Result<DeviceInfo> {
    let bad = |why: String| Error::SyncProtocol(format!("enrollment answer: {why}"));
    let device_id = uuid::Uuid::parse_str(&answer.device_id).map_err(|_| bad("bad device id".into()))?;
    let role = answer.role.parse::<Role>().map_err(|_| bad(format!("unknown role {:?}", answer.role)))?;
    DocId::parse(&format!("community:{}", answer.community_id)).map_err(|_| bad("bad community id".into()))?;
    if let Some(g) = answer.grids.iter().find(|g| !docs::valid_code(g)) {
        return Err(bad(format!("bad grid code {g:?}")));
    }
    if answer.user.trim().is_empty() || answer.token.is_empty() {
        return Err(bad("no user or token".into()));
    }
    if role == Role::BuildingLead {
        crate::store::check_buildings(role, &answer.grids, &answer.buildings).map_err(|e| bad(e.to_string()))?;
    }
    Ok(DeviceInfo {
        device_id: device_id.to_string(),
        user: answer.user.trim().to_string(),
        role,
        community_id: answer.community_id.clone(),
        // Community-wide roles see every grid whatever grids an admin named (the server's rule too).
        grids: if role.is_grid_scoped() { answer.grids.clone() } else { Vec::new() },
        buildings: if role == Role::BuildingLead { answer.buildings.clone() } else { Vec::new() },
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{self, enroll, fast, offline_week, roster_csv, sync};
    use super::super::loopback::LoopbackServer;
    use super::super::protocol::DeviceKey;
    use super::*;

    fn check_in_count(store: &Store) -> i64 {
        store.conn().query_row("SELECT count(*) FROM check_in", [], |r| r.get(0)).expect("count")
    }

    /// A committee device that imported the roster of grids A and B and synced it up.
    fn community(server: &LoopbackServer, dir: &Path) -> (Store, String) {
        let (mut committee, token) = enroll(server, &dir.join("committee"), "committee", "committee", &[]);
        committee.import_roster(roster_csv(20).as_bytes()).expect("roster");
        sync(server, &mut committee, &token);
        (committee, token)
    }

    /// A synced community and two grid-A leaders, the first synced once.
    fn grid_a_pair(dir: &Path) -> (LoopbackServer, (Store, String), (Store, String)) {
        let server = LoopbackServer::new();
        community(&server, dir);
        let (mut a1, t1) = enroll(&server, &dir.join("a1"), "a1", "grid_leader", &["A"]);
        let a2 = enroll(&server, &dir.join("a2"), "a2", "grid_leader", &["A"]);
        sync(&server, &mut a1, &t1);
        (server, (a1, t1), a2)
    }

    #[test]
    fn a_week_offline_syncs_in_one_round_trip_and_reaches_only_its_grid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = LoopbackServer::new();
        community(&server, dir.path());
        let (mut a1, t1) = enroll(&server, &dir.path().join("a1"), "a1", "grid_leader", &["A"]);
        let first = sync(&server, &mut a1, &t1);
        assert_eq!(first.docs_received, 2, "community and roster of A: {first:?}");
        assert_eq!(a1.rounds(None).expect("rounds").items.len(), 20, "grid A's households are due");
        offline_week(&mut a1, "A", 100, 20);
        let week = sync(&server, &mut a1, &t1);
        assert_eq!(week.round_trips, 1, "{week:?}");
        assert_eq!(week.docs_sent, 7);
        assert!(a1.unsynced_documents().expect("unsynced").is_empty());
        let status = a1.sync_status().expect("status");
        assert_eq!((status.pending_documents, status.last_sync_at.is_some()), (0, true), "{status:?}");

        let (mut a2, t2) = enroll(&server, &dir.path().join("a2"), "a2", "grid_leader", &["A"]);
        let pulled = sync(&server, &mut a2, &t2);
        assert!(pulled.round_trips <= 2, "{pulled:?}");
        assert_eq!(check_in_count(&a2), 700);
        let (mut b, tb) = enroll(&server, &dir.path().join("b"), "b", "grid_leader", &["B"]);
        sync(&server, &mut b, &tb);
        let ids: Vec<String> = b.documents().expect("docs").into_iter().map(|(id, _)| id).collect();
        assert!(ids.iter().all(|id| !id.contains(":A")), "grid B sees nothing of grid A: {ids:?}");
        assert_eq!(check_in_count(&b), 0);

        let idle = sync(&server, &mut a1, &t1);
        assert_eq!((idle.round_trips, idle.docs_sent, idle.docs_received), (1, 0, 0));
        assert!(idle.bytes_up < 100 && idle.bytes_down < 100, "{idle:?}");
    }

    #[test]
    fn concurrent_work_on_one_day_converges_both_ways() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (server, (mut a1, t1), (mut a2, t2)) = grid_a_pair(dir.path());
        sync(&server, &mut a2, &t2);
        offline_week(&mut a1, "A", 5, 20);
        offline_week(&mut a2, "A", 3, 20);
        sync(&server, &mut a1, &t1);
        let r2 = sync(&server, &mut a2, &t2);
        assert!(r2.round_trips <= 2, "{r2:?}");
        sync(&server, &mut a1, &t1);
        assert_eq!(check_in_count(&a1), 56);
        assert_eq!(check_in_count(&a2), 56);
        assert_eq!(a1.documents().expect("a1"), a2.documents().expect("a2"));
    }

    #[test]
    fn an_interrupted_sync_resumes_without_loss_or_duplicates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (server, (mut a1, t1), (mut a2, t2)) = grid_a_pair(dir.path());
        offline_week(&mut a1, "A", 10, 20);
        // The server applies the request but the answer is lost, and no retry is allowed.
        server.inject_failures(1);
        let once = SyncOptions { max_attempts: 1, ..fast() };
        let err = a1.sync_with(&server.transport(Some(&t1)), &once, &NoProgress, &AtomicBool::new(false));
        assert_eq!(err.map_err(|e| e.code()), Err(crate::ErrorCode::NetworkError));
        assert_eq!(a1.unsynced_documents().expect("unsynced").len(), 7, "nothing is marked synced");
        // Retries ride out two more drops.
        server.inject_failures(2);
        let report = sync(&server, &mut a1, &t1);
        assert_eq!(report.round_trips, 1);
        assert!(a1.unsynced_documents().expect("unsynced").is_empty());
        sync(&server, &mut a2, &t2);
        assert_eq!(check_in_count(&a2), 70, "each check-in exactly once");
    }

    #[test]
    fn a_long_catalogue_is_fetched_over_several_rounds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (server, (mut a1, t1), _) = grid_a_pair(dir.path());
        offline_week(&mut a1, "A", 2, 20);
        sync(&server, &mut a1, &t1);
        server.set_catalogue_limit(3);
        let (mut station, ts) = enroll(&server, &dir.path().join("s"), "s", "station", &[]);
        let report = sync(&server, &mut station, &ts);
        assert!(report.round_trips >= 3, "{report:?}");
        assert_eq!(report.docs_received, 10, "community, two rosters, seven days");
        assert_eq!(check_in_count(&station), 14);
    }

    #[test]
    fn a_revoked_device_wipes_its_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = LoopbackServer::new();
        let path = dir.path().join("a1");
        let (mut a1, t1) = enroll(&server, &path, "a1", "grid_leader", &["A"]);
        server.revoke(&a1.device().device_id);
        let err = a1.sync_with(&server.transport(Some(&t1)), &fast(), &NoProgress, &AtomicBool::new(false));
        assert_eq!(err.map_err(|e| e.code()), Err(crate::ErrorCode::DeviceRevoked));
        assert!(!path.join(STORE_FILE).exists());
        assert!(a1.rounds(None).is_err(), "nothing is left to read");
    }

    /// Reaches the peer, but like plain HTTP to another host cannot prove who answered.
    struct Unauthenticated(crate::sync::loopback::LoopbackTransport);

    impl Transport for Unauthenticated {
        fn authenticated(&self) -> bool {
            false
        }
        fn device_keys(&self, etag: Option<&str>) -> Result<Option<(Vec<DeviceKey>, Option<String>)>> {
            self.0.device_keys(etag)
        }
        fn enroll(&self, request: &EnrollRequest) -> Result<EnrollResponse> {
            self.0.enroll(request)
        }
        fn sync(&self, body: &[u8]) -> Result<Vec<u8>> {
            self.0.sync(body)
        }
        fn blob_exists(&self, hash: &str) -> Result<bool> {
            self.0.blob_exists(hash)
        }
        fn put_blob(&self, hash: &str, mime: &str, bytes: &[u8]) -> Result<()> {
            self.0.put_blob(hash, mime, bytes)
        }
        fn get_blob(&self, hash: &str) -> Result<Vec<u8>> {
            self.0.get_blob(hash)
        }
    }

    #[test]
    fn a_revocation_that_cannot_be_the_enrolled_servers_keeps_the_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = LoopbackServer::new();
        let path = dir.path().join("a1");
        let (mut a1, t1) = enroll(&server, &path, "a1", "grid_leader", &["A"]);
        server.revoke(&a1.device().device_id);
        let plain = Unauthenticated(server.transport(Some(&t1)));
        let err = a1.sync_with(&plain, &fast(), &NoProgress, &AtomicBool::new(false));
        assert_eq!(err.map_err(|e| e.code()), Err(crate::ErrorCode::DeviceRevokedUnverified));
        assert!(path.join(STORE_FILE).exists());
        assert!(a1.rounds(None).is_ok(), "the store is still readable");
    }

    #[test]
    fn plain_http_beyond_loopback_needs_the_users_opt_in_kept_with_the_enrollment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let refused =
            Store::enroll(&dir.path().join("x"), &[7; 32], "http://192.0.2.7:8080", "c", false, fixtures::clock());
        assert_eq!(refused.map_err(|e| e.code()).err(), Some(crate::ErrorCode::InsecureServerUrl));
        assert!(!dir.path().join("x").join(STORE_FILE).exists());

        let server = LoopbackServer::new();
        server.issue_code("c", "user-c", "grid_leader", fixtures::COMMUNITY, &["A"]);
        let dir_in = dir.path().join("in");
        let key = [7; 32];
        let opted = Store::enroll_over(
            &dir_in,
            &key,
            &server.transport(None),
            "http://192.0.2.7:8080",
            "c",
            true,
            fixtures::clock(),
        )
        .expect("enrolls");
        assert!(!opted.http_transport().expect("opted in").authenticated(), "no wipe over plain HTTP");
        drop(opted);
        // A store whose opt-in is gone (or never given) does not speak plain HTTP beyond loopback.
        let mut store = Store::open(&dir_in, &key, fixtures::clock()).expect("open");
        store.with_tx(|tx| crate::store::meta_set(tx, META_INSECURE_HTTP, "0")).expect("meta");
        assert_eq!(store.http_transport().map(|_| ()).map_err(|e| e.code()), Err(crate::ErrorCode::InsecureServerUrl));
    }

    #[test]
    fn cancel_stops_before_the_next_round_and_a_standalone_store_cannot_sync() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = LoopbackServer::new();
        let (mut a1, t1) = enroll(&server, &dir.path().join("a1"), "a1", "grid_leader", &["A"]);
        let err = a1.sync_with(&server.transport(Some(&t1)), &fast(), &NoProgress, &AtomicBool::new(true));
        assert_eq!(err.map_err(|e| e.code()), Err(crate::ErrorCode::SyncCancelled));
        let opts = crate::store::InitOptions::new("x", Role::GridLeader);
        let mut alone = Store::init(&dir.path().join("alone"), &[1; 32], opts, fixtures::clock()).expect("init");
        assert_eq!(
            alone.sync(&NoProgress, &AtomicBool::new(false)).map_err(|e| e.code()),
            Err(crate::ErrorCode::NotEnrolled)
        );
    }

    #[test]
    fn photos_go_up_once_and_come_down_verified() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (server, (mut a1, t1), (mut a2, t2)) = grid_a_pair(dir.path());
        let photo = [&[0xFF, 0xD8, 0xFF][..], b"a door photo"].concat();
        let hash = a1.add_photo(&photo).expect("photo");
        a1.check_in(crate::model::NewCheckIn {
            household_code: "A001".into(),
            kind: crate::model::CheckInKind::Door,
            outcome: crate::model::CheckInOutcome::Attention,
            note: String::new(),
            photos: vec![hash.clone()],
            location: None,
            at: None,
        })
        .expect("check-in");
        let up = sync(&server, &mut a1, &t1);
        assert_eq!((up.blobs_up, up.blobs_failed), (1, 0));
        assert_eq!(sync(&server, &mut a1, &t1).blobs_up, 0, "uploaded once");
        let down = sync(&server, &mut a2, &t2);
        assert_eq!(down.blobs_down, 1);
        assert_eq!(a2.blob(&hash).expect("blob").1, photo);
    }
}
