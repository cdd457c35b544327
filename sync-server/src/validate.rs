//! Parsing and bounding of Automerge sync messages before Automerge sees them.
//!
//! Automerge 0.12 trusts the numbers a sync message carries: a Bloom filter's probe count sizes an
//! allocation and a loop, `bits_per_entry = 0` divides by zero, and a compressed change chunk is inflated in
//! full before anything is checked (`sync-server/docs/automerge-sync-bounds.md`). [`sync_message`] reads the
//! whole wire format by hand, with checked arithmetic and allocations bounded by [`MessageLimits`], and
//! refuses the message before the engine hands it to `Message::decode`:
//!
//! - `400 malformed_sync_message`: the bytes are not a sync message Automerge itself would send (truncated,
//!   trailing junk, bad checksum, a Bloom filter whose size disagrees with its parameters, a chunk type the
//!   sync protocol never sends …);
//! - `413 sync_message_too_large`: well formed, but over a limit (413 like `body_too_large`: the sender
//!   should split its work, not fix its encoding).
//!
//! Wire format (automerge 0.12.0 `src/sync.rs`): a type byte (`0x42`, or `0x43` for a v2 message that may
//! carry a whole document), heads, needs (LEB count then 32-byte hashes), haves (each: last-sync hashes and a
//! length-prefixed Bloom filter `num_entries, bits_per_entry, probes` then `ceil(entries × bits / 8)` bytes,
//! or nothing), a list of length-prefixed entries of concatenated chunks, and an optional length-prefixed
//! flags section (the capabilities: legacy `0x02` byte then a bitfield byte with the high bit set).
//!
//! Chunks (`src/storage/chunk.rs`): magic `85 6f 4a 83`, 4-byte checksum (the first bytes of the SHA-256
//! of the chunk type, the LEB data length and the data), chunk type, LEB data length. A change chunk's hash
//! is that SHA-256, computed here; a compressed change chunk (type 2, raw deflate of a change chunk's data,
//! which `Change::bytes()` emits for changes over 256 bytes) is inflated here with a hard limit and hashed
//! as the change it holds. Every column of a change (and of a document) is walked to count the values its
//! run-length encoding stands for, so a few bytes cannot claim billions of operations.
//!
//! Whole documents: Automerge sends one (`Automerge::save`, a document chunk followed by the change chunks of
//! any queued changes) only in a v2 message — when the peer's heads are empty, or when more than a third of
//! the document is to be sent — and Gridline's own first message does the same. So a document chunk is
//! accepted only in a `0x43` message, as the message's first chunk. Its columns are inflated and counted
//! here; only then is that single bounded chunk handed to `Automerge::load_with_options` (strict, verified
//! heads, inside `catch_unwind`) to list the changes it holds: a document stores no change hashes, and
//! rebuilding them by hand would mean re-encoding every change. No other Automerge code runs here.
//!
//! The engine calls it before `Message::decode`:
//!
//! ```ignore
//! let checked = validate::sync_message(&m.message, &MessageLimits::default())?;
//! // every change the message carries, with its hash, actor, seq and deps:
//! for c in &checked.changes { /* refuse a round that leaves c.deps missing */ }
//! let msg = Message::decode(&m.message).map_err(malformed)?;
//! ```

use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};

use automerge::{Automerge, ChangeHash, LoadOptions, OnPartialLoad, VerificationMode};
use axum::http::StatusCode;
use gridline_core::ErrorCode;
use sha2::{Digest, Sha256};

use crate::error::ServerError;

/// Code of a refusal for bytes that are not a well-formed sync message (400).
pub const MALFORMED: ErrorCode = ErrorCode::MalformedSyncMessage;
/// Code of a refusal for a well-formed message over a [`MessageLimits`] bound (413).
pub const TOO_LARGE: ErrorCode = ErrorCode::SyncMessageTooLarge;

const MESSAGE_TYPE_SYNC: u8 = 0x42;
const MESSAGE_TYPE_SYNC_V2: u8 = 0x43;
const MAGIC_BYTES: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const HASH_LEN: usize = 32;
const CHUNK_DOCUMENT: u8 = 0;
const CHUNK_CHANGE: u8 = 1;
const CHUNK_COMPRESSED: u8 = 2;
/// Fuzzing builds (`cargo fuzz` sets `--cfg fuzzing`) skip the checksum so mutated chunks reach the
/// parsers behind it; every other build checks it.
const SKIP_CHECKSUMS: bool = cfg!(fuzzing);
/// Bit of a column specification marking a deflated column.
const COLUMN_DEFLATE: u32 = 0b1000;

/// The bounds a sync message must keep. [`MessageLimits::default`] is sized for honest use with a wide
/// margin: a grid leader's week offline (a few thousand small changes), a community roster of 300
/// households, whole documents of a community over years of work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageLimits {
    /// Largest encoded message, in bytes. 8 MiB: a week offline is a few hundred KiB of changes, and a
    /// compressed whole community document with a 300-household roster is well under 1 MiB.
    pub max_message_bytes: usize,
    /// Most heads (and most last-sync hashes per `have`). 1,024: heads are the concurrent branches of a
    /// document, at most one per device writing it while the others were offline.
    pub max_heads: usize,
    /// Most needed hashes. 4,096: a peer asks for the missing dependencies of what it was shown, a few.
    pub max_needs: usize,
    /// Most `have` entries. 4: Automerge sends none or one.
    pub max_haves: usize,
    /// Most entries in one Bloom filter. 1,000,000: one per change since the last sync (a week offline
    /// is thousands); the filter is then 1.2 MiB at Automerge's 10 bits per entry.
    pub max_bloom_entries: u32,
    /// Most bits per Bloom entry. 32 (Automerge uses 10); at least 1 (0 divides by zero in Automerge).
    pub max_bloom_bits_per_entry: u32,
    /// Most probes per Bloom lookup. 32 (Automerge uses 7): every probe costs the server work per change.
    pub max_bloom_probes: u32,
    /// Most chunks (changes, compressed changes, documents) in one message. 20,000: a week offline is a
    /// few thousand changes.
    pub max_chunks: usize,
    /// Largest change once inflated, in bytes. 4 MiB: a roster import of 300 households is one change of a
    /// few hundred KiB.
    pub max_change_bytes: usize,
    /// Largest total of chunk data once inflated (changes, documents and their columns), in bytes.
    /// 32 MiB: four times the message bound, room for deflate's usual ratio on honest data.
    pub max_total_bytes: usize,
    /// Most operations of one change (the most values any of its columns stands for). 100,000: a roster
    /// import of 300 households is some 20,000 operations. Run-length encoding lets 75 bytes claim
    /// millions of operations, which Automerge 0.12 then applies one by one (about 1.1 s and 400 MB per
    /// million, see `docs/automerge-sync-bounds.md`).
    pub max_ops_per_change: u64,
    /// Most operations (and document changes) of all chunks of the message together. 150,000: a week
    /// offline is about 15,000 operations, and devices never send the server a roster or a community
    /// document whole (the server writes those); this bounds the work and memory Automerge spends on one
    /// message to about a fifth of a second and 60 MB (measured: about 1.1 s and 400 MB per million).
    pub max_ops_per_message: u64,
    /// Most dependencies of one change. 1,024, as heads: a change depends on the heads it was made on.
    pub max_deps: usize,
    /// Most actors of one change or one document. 4,096: one per device that ever wrote the document.
    pub max_actors: usize,
    /// Most changes one whole document may hold. 200,000: years of a community's work.
    pub max_document_changes: u64,
    /// Whether to list the changes of a whole document (an Automerge load of the bounded chunk). The engine
    /// does not: it applies the document itself and checks every change the stored document gains, so a
    /// second load would only double the cost of a device's first sync of a new document.
    pub list_document_changes: bool,
}

impl Default for MessageLimits {
    fn default() -> Self {
        MessageLimits {
            max_message_bytes: 8 * 1024 * 1024,
            max_heads: 1024,
            max_needs: 4096,
            max_haves: 4,
            max_bloom_entries: 1_000_000,
            max_bloom_bits_per_entry: 32,
            max_bloom_probes: 32,
            max_chunks: 20_000,
            max_change_bytes: 4 * 1024 * 1024,
            max_total_bytes: 32 * 1024 * 1024,
            max_ops_per_change: 100_000,
            max_ops_per_message: 150_000,
            max_deps: 1024,
            max_actors: 4096,
            max_document_changes: 200_000,
            list_document_changes: true,
        }
    }
}

/// Longest actor id accepted, in bytes (Gridline's are 16: a device's UUID; Automerge's random ones 16).
const MAX_ACTOR_BYTES: u64 = 64;
/// Most columns of a change or document (Automerge 0.12 writes at most 14 op and 9 change columns).
const MAX_COLUMNS: u64 = 64;
/// Longest flags section (Automerge writes two bytes).
const MAX_FLAGS_BYTES: u64 = 16;

/// The sync message format version: its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncVersion {
    /// `0x42`: changes only.
    V1,
    /// `0x43`: may carry a whole document.
    V2,
}

/// How a change travelled in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkKind {
    /// A plain change chunk.
    Change,
    /// A deflated change chunk, inflated here.
    CompressedChange,
    /// One of the changes of a whole-document chunk.
    Document,
}

/// One change a sync message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedChange {
    /// Change hash, lowercase hex (as `automerge::ChangeHash` displays it).
    pub hash: String,
    /// Actor id bytes of its author.
    pub actor: Vec<u8>,
    /// The actor's sequence number of the change.
    pub seq: u64,
    /// Hashes (hex) of the changes it depends on.
    pub deps: Vec<String>,
    /// How it travelled.
    pub kind: ChunkKind,
}

/// What a sync message holds once checked: what the engine needs before Automerge applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedMessage {
    /// Format version.
    pub version: SyncVersion,
    /// The sender's heads.
    pub heads: Vec<ChangeHash>,
    /// Hashes the sender asks for.
    pub need: Vec<ChangeHash>,
    /// Number of `have` entries (Bloom filters checked).
    pub haves: u32,
    /// The flags bitfield (high bit cleared), when the message carries a flags section.
    pub flags: Option<u8>,
    /// Every change carried, in message order (a document's changes in its own order, when
    /// [`MessageLimits::list_document_changes`] asks for them).
    pub changes: Vec<ValidatedChange>,
    /// True when the message carries a whole document.
    pub whole_document: bool,
    /// Total chunk bytes once inflated.
    pub inflated_bytes: u64,
    /// Operations (and document changes) the chunks stand for: what applying the message costs.
    pub operations: u64,
}

/// Checks `bytes` as one Automerge 0.12 sync message against `limits`, without running Automerge on
/// anything unbounded; see the module documentation for what is refused and how.
pub fn sync_message(bytes: &[u8], limits: &MessageLimits) -> Result<ValidatedMessage, ServerError> {
    if bytes.len() > limits.max_message_bytes {
        return Err(too_large(format!("{} bytes (at most {})", bytes.len(), limits.max_message_bytes)));
    }
    let mut r = Reader::new(bytes, "message");
    let version = match r.byte()? {
        MESSAGE_TYPE_SYNC => SyncVersion::V1,
        MESSAGE_TYPE_SYNC_V2 => SyncVersion::V2,
        other => return Err(malformed(format!("unknown message type 0x{other:02x}"))),
    };
    let heads = r.hashes("heads", limits.max_heads)?;
    let need = r.hashes("needs", limits.max_needs)?;
    let haves = r.count("haves", limits.max_haves, 2)?;
    for _ in 0..haves {
        r.hashes("last-sync hashes", limits.max_heads)?;
        let len = r.len_prefix("Bloom filter")?;
        bloom_filter(r.take(len)?, limits)?;
    }
    let mut budget = Budget::new(limits);
    let mut ctx =
        Chunks { version, limits, budget: &mut budget, changes: Vec::new(), chunks: 0, whole_document: false };
    let entries = r.count("change entries", limits.max_chunks, 1)?;
    for _ in 0..entries {
        let len = r.len_prefix("change entry")?;
        ctx.entry(r.take(len)?)?;
    }
    let Chunks { changes, whole_document, .. } = ctx;
    let flags = if r.is_empty() {
        None
    } else {
        let len = r.len_prefix("flags")?;
        if len as u64 > MAX_FLAGS_BYTES {
            return Err(malformed(format!("a flags section of {len} bytes")));
        }
        Some(r.take(len)?.iter().filter(|b| *b & 0x80 != 0).fold(0, |f, b| f | (b & 0x7f)))
    };
    if !r.is_empty() {
        return Err(malformed(format!("{} bytes of trailing data", r.remaining())));
    }
    let haves = u32::try_from(haves).map_err(|_| too_large("too many haves"))?;
    Ok(ValidatedMessage {
        version,
        heads,
        need,
        haves,
        flags,
        changes,
        whole_document,
        inflated_bytes: budget.bytes,
        operations: budget.ops,
    })
}

/// Checks one Bloom filter: empty, or parameters within bounds and exactly `ceil(entries × bits / 8)` bytes.
fn bloom_filter(bytes: &[u8], limits: &MessageLimits) -> Result<(), ServerError> {
    if bytes.is_empty() {
        return Ok(());
    }
    let mut r = Reader::new(bytes, "Bloom filter");
    let entries = r.uleb_u32()?;
    let bits_per_entry = r.uleb_u32()?;
    let probes = r.uleb_u32()?;
    if entries == 0 {
        return Err(malformed("a Bloom filter with no entries must be empty"));
    }
    if bits_per_entry == 0 || probes == 0 {
        return Err(malformed(format!("a Bloom filter with {bits_per_entry} bits per entry and {probes} probes")));
    }
    if entries > limits.max_bloom_entries
        || bits_per_entry > limits.max_bloom_bits_per_entry
        || probes > limits.max_bloom_probes
    {
        return Err(too_large(format!(
            "a Bloom filter of {entries} entries, {bits_per_entry} bits per entry, {probes} probes (at most {}, {}, {})",
            limits.max_bloom_entries, limits.max_bloom_bits_per_entry, limits.max_bloom_probes
        )));
    }
    let expected = (u64::from(entries) * u64::from(bits_per_entry)).div_ceil(8);
    if r.remaining() as u64 != expected {
        return Err(malformed(format!("a Bloom filter of {} bytes where {expected} are due", r.remaining())));
    }
    Ok(())
}

/// The inflated bytes and column values a message may still spend.
struct Budget {
    bytes: u64,
    ops: u64,
    max_bytes: u64,
    max_ops: u64,
}

impl Budget {
    fn new(limits: &MessageLimits) -> Budget {
        Budget { bytes: 0, ops: 0, max_bytes: limits.max_total_bytes as u64, max_ops: limits.max_ops_per_message }
    }

    fn spend_bytes(&mut self, n: usize) -> Result<(), ServerError> {
        self.bytes = self.bytes.saturating_add(n as u64);
        if self.bytes > self.max_bytes {
            return Err(too_large(format!("more than {} bytes of changes once inflated", self.max_bytes)));
        }
        Ok(())
    }

    fn spend_ops(&mut self, n: u64) -> Result<(), ServerError> {
        self.ops = self.ops.saturating_add(n);
        if self.ops > self.max_ops {
            return Err(too_large(format!("more than {} operations in one message", self.max_ops)));
        }
        Ok(())
    }

    /// Bytes an inflation may still produce.
    fn bytes_left(&self) -> u64 {
        self.max_bytes.saturating_sub(self.bytes)
    }
}

/// The walk over a message's change entries.
struct Chunks<'l, 'b> {
    version: SyncVersion,
    limits: &'l MessageLimits,
    budget: &'b mut Budget,
    changes: Vec<ValidatedChange>,
    chunks: usize,
    whole_document: bool,
}

impl Chunks<'_, '_> {
    /// One entry of the change list: one or more whole chunks.
    fn entry(&mut self, bytes: &[u8]) -> Result<(), ServerError> {
        if bytes.is_empty() {
            return Err(malformed("an empty change entry"));
        }
        let mut r = Reader::new(bytes, "chunk");
        while !r.is_empty() {
            self.chunks += 1;
            if self.chunks > self.limits.max_chunks {
                return Err(too_large(format!("more than {} chunks", self.limits.max_chunks)));
            }
            let start = r.pos;
            if r.take(4)? != MAGIC_BYTES {
                return Err(malformed("a chunk without Automerge's magic bytes"));
            }
            let checksum: [u8; 4] = r.array()?;
            let chunk_type = r.byte()?;
            let len = r.len_prefix("chunk")?;
            let data = r.take(len)?;
            match chunk_type {
                CHUNK_CHANGE => {
                    if len > self.limits.max_change_bytes {
                        return Err(too_large(format!(
                            "a change of {len} bytes (at most {})",
                            self.limits.max_change_bytes
                        )));
                    }
                    self.budget.spend_bytes(len)?;
                    self.change(checksum, data, ChunkKind::Change)?;
                }
                CHUNK_COMPRESSED => {
                    let inflated = self.inflate_change(data)?;
                    self.change(checksum, &inflated, ChunkKind::CompressedChange)?;
                }
                CHUNK_DOCUMENT => {
                    if self.version != SyncVersion::V2 || self.chunks != 1 {
                        return Err(malformed(
                            "a whole document is accepted only as the first chunk of a v2 (0x43) message",
                        ));
                    }
                    self.document(checksum, data, &bytes[start..r.pos])?;
                }
                other => return Err(malformed(format!("chunk type {other} is not part of the sync protocol"))),
            }
        }
        Ok(())
    }

    /// Inflates a compressed change's data, refusing before more than the per-change or per-message bound
    /// is ever produced.
    fn inflate_change(&mut self, data: &[u8]) -> Result<Vec<u8>, ServerError> {
        let limit = (self.limits.max_change_bytes as u64).min(self.budget.bytes_left());
        let inflated = inflate(data, limit, "a compressed change")?;
        self.budget.spend_bytes(inflated.len())?;
        Ok(inflated)
    }

    /// A change chunk's data: its hash is the SHA-256 of type, length and data.
    fn change(&mut self, checksum: [u8; 4], data: &[u8], kind: ChunkKind) -> Result<(), ServerError> {
        let hash = chunk_hash(CHUNK_CHANGE, data);
        if hash[..4] != checksum && !SKIP_CHECKSUMS {
            return Err(malformed("a change whose checksum does not match its contents"));
        }
        let mut r = Reader::new(data, "change");
        let deps = r.hashes("dependencies", self.limits.max_deps)?;
        let actor = r.actor()?.to_vec();
        let seq = r.uleb()?;
        if r.uleb()? == 0 {
            return Err(malformed("a change starting at operation 0"));
        }
        r.sleb()?; // time
        let message_len = r.len_prefix("change message")?;
        std::str::from_utf8(r.take(message_len)?).map_err(|_| malformed("a change message that is not UTF-8"))?;
        let others = r.count("actors", self.limits.max_actors, 1)?;
        for _ in 0..others {
            r.actor()?;
        }
        let mut ops = 0;
        for (spec, len) in r.column_specs()? {
            if spec & COLUMN_DEFLATE != 0 {
                return Err(malformed("a change with a deflated column"));
            }
            ops = ops.max(column_values(spec, r.take(len)?)?);
        }
        if ops > self.limits.max_ops_per_change {
            return Err(too_large(format!(
                "a change of {ops} operations (at most {})",
                self.limits.max_ops_per_change
            )));
        }
        self.budget.spend_ops(ops)?;
        // The rest is the change's extra bytes (Automerge 0.12 keeps its author footer there).
        self.changes.push(ValidatedChange {
            hash: hex::encode(hash),
            actor,
            seq,
            deps: deps.iter().map(|h| h.to_string()).collect(),
            kind,
        });
        Ok(())
    }

    /// A whole-document chunk (`data`; `chunk` is the chunk with its header): actors, heads, change and
    /// op column metadata, column data (inflated here where deflated), then head indices or nothing.
    fn document(&mut self, checksum: [u8; 4], data: &[u8], chunk: &[u8]) -> Result<(), ServerError> {
        if chunk_hash(CHUNK_DOCUMENT, data)[..4] != checksum && !SKIP_CHECKSUMS {
            return Err(malformed("a document whose checksum does not match its contents"));
        }
        self.budget.spend_bytes(data.len())?;
        let mut r = Reader::new(data, "document");
        let actors = r.count("actors", self.limits.max_actors, 1)?;
        for _ in 0..actors {
            r.actor()?;
        }
        let heads = r.hashes("document heads", self.limits.max_heads)?;
        let change_columns = r.column_specs()?;
        let op_columns = r.column_specs()?;
        let mut changes = 0;
        for (spec, len) in change_columns {
            changes = changes.max(self.document_column(spec, r.take(len)?)?);
        }
        if changes > self.limits.max_document_changes {
            return Err(too_large(format!(
                "a document of {changes} changes (at most {})",
                self.limits.max_document_changes
            )));
        }
        let mut ops = 0;
        for (spec, len) in op_columns {
            ops = ops.max(self.document_column(spec, r.take(len)?)?);
        }
        self.budget.spend_ops(changes.saturating_add(ops))?;
        if !r.is_empty() {
            for _ in 0..heads.len() {
                r.uleb()?;
            }
        }
        if !r.is_empty() {
            return Err(malformed(format!("{} bytes after a document's head indices", r.remaining())));
        }
        if !self.limits.list_document_changes {
            self.whole_document = true;
            return Ok(());
        }
        self.load_document(chunk)
    }

    /// The number of values one document column stands for, inflating it (within the budget) if deflated.
    fn document_column(&mut self, spec: u32, data: &[u8]) -> Result<u64, ServerError> {
        if spec & COLUMN_DEFLATE == 0 {
            return column_values(spec, data);
        }
        let inflated = inflate(data, self.budget.bytes_left(), "a document column")?;
        self.budget.spend_bytes(inflated.len())?;
        column_values(spec, &inflated)
    }

    /// Lists a bounded, already-checked document chunk's changes with Automerge (see the module doc).
    fn load_document(&mut self, chunk: &[u8]) -> Result<(), ServerError> {
        let loaded = catch_unwind(AssertUnwindSafe(|| {
            let options =
                LoadOptions::new().on_partial_load(OnPartialLoad::Error).verification_mode(VerificationMode::Check);
            let doc = Automerge::load_with_options(chunk, options)?;
            let changes: Vec<ValidatedChange> = doc
                .get_changes_meta(&[])
                .into_iter()
                .map(|m| ValidatedChange {
                    hash: m.hash.to_string(),
                    actor: m.actor.to_bytes().to_vec(),
                    seq: m.seq,
                    deps: m.deps.iter().map(|h| h.to_string()).collect(),
                    kind: ChunkKind::Document,
                })
                .collect();
            Ok::<_, automerge::AutomergeError>(changes)
        }))
        .map_err(|_| malformed("a document Automerge could not load"))?
        .map_err(|e| malformed(format!("a document Automerge could not load: {e}")))?;
        self.whole_document = true;
        self.changes.extend(loaded);
        Ok(())
    }
}

/// Raw-deflate `data`, refusing (413) as soon as more than `limit` bytes come out.
fn inflate(data: &[u8], limit: u64, what: &str) -> Result<Vec<u8>, ServerError> {
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(data)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|_| malformed(format!("{what} that does not inflate")))?;
    if out.len() as u64 > limit {
        return Err(too_large(format!("{what} inflating past {limit} bytes")));
    }
    Ok(out)
}

fn chunk_hash(chunk_type: u8, data: &[u8]) -> [u8; HASH_LEN] {
    let mut header = vec![chunk_type];
    write_uleb(&mut header, data.len() as u64);
    let mut hasher = Sha256::new();
    hasher.update(&header);
    hasher.update(data);
    hasher.finalize().into()
}

fn write_uleb(out: &mut Vec<u8>, value: u64) {
    // Writing to a Vec cannot fail.
    let _ = leb128::write::unsigned(out, value);
}

/// The column types of Automerge's storage format (low three bits of a column specification).
const COLUMN_GROUP: u32 = 0;
const COLUMN_ACTOR: u32 = 1;
const COLUMN_INTEGER: u32 = 2;
const COLUMN_DELTA: u32 = 3;
const COLUMN_BOOLEAN: u32 = 4;
const COLUMN_STRING: u32 = 5;
const COLUMN_VALUE_META: u32 = 6;

/// How many values an (inflated) column stands for: the sum of its run lengths. Raw value columns count 0
/// (their sizes come from the metadata column, which is counted).
fn column_values(spec: u32, data: &[u8]) -> Result<u64, ServerError> {
    let mut r = Reader::new(data, "column");
    let mut total: u64 = 0;
    let add = |total: u64, n: u64| total.checked_add(n).ok_or_else(|| too_large("a column of more than 2^64 values"));
    match spec & 0b111 {
        COLUMN_BOOLEAN => {
            while !r.is_empty() {
                total = add(total, r.uleb()?)?;
            }
        }
        COLUMN_GROUP | COLUMN_ACTOR | COLUMN_INTEGER | COLUMN_DELTA | COLUMN_STRING | COLUMN_VALUE_META => {
            let value = |r: &mut Reader<'_>| -> Result<(), ServerError> {
                match spec & 0b111 {
                    COLUMN_DELTA => r.sleb().map(|_| ()),
                    COLUMN_STRING => {
                        let len = r.len_prefix("string")?;
                        r.take(len).map(|_| ())
                    }
                    _ => r.uleb().map(|_| ()),
                }
            };
            while !r.is_empty() {
                let run = r.sleb()?;
                if run > 0 {
                    value(&mut r)?;
                    total = add(total, run.unsigned_abs())?;
                } else if run < 0 {
                    let n = run.unsigned_abs();
                    // Every literal value takes at least one byte: a longer run is truncated, not long.
                    if n > r.remaining() as u64 {
                        return Err(malformed("a column run longer than its data"));
                    }
                    for _ in 0..n {
                        value(&mut r)?;
                    }
                    total = add(total, n)?;
                } else {
                    total = add(total, r.uleb()?)?;
                }
            }
        }
        _ => {}
    }
    Ok(total)
}

/// A cursor over bytes whose every read is bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader { bytes, pos: 0, what }
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    fn truncated(&self) -> ServerError {
        malformed(format!("truncated {} at byte {}", self.what, self.pos))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ServerError> {
        if n > self.remaining() {
            return Err(self.truncated());
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn byte(&mut self) -> Result<u8, ServerError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ServerError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// Unsigned LEB128, at most 10 bytes, no overlong forms.
    fn uleb(&mut self) -> Result<u64, ServerError> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7f);
            if i == 9 && bits > 1 {
                return Err(malformed(format!("a LEB128 number too large in {}", self.what)));
            }
            value |= bits << (7 * i);
            if byte & 0x80 == 0 {
                if i > 0 && byte == 0 {
                    return Err(malformed(format!("an overlong LEB128 number in {}", self.what)));
                }
                return Ok(value);
            }
        }
        Err(malformed(format!("a LEB128 number too large in {}", self.what)))
    }

    /// Signed LEB128, at most 10 bytes.
    fn sleb(&mut self) -> Result<i64, ServerError> {
        let mut value: i64 = 0;
        for i in 0..10 {
            let byte = self.byte()?;
            if i == 9 && byte != 0 && byte != 0x7f {
                return Err(malformed(format!("a LEB128 number too large in {}", self.what)));
            }
            value |= i64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                let shift = 7 * (i + 1);
                if shift < 64 && byte & 0x40 != 0 {
                    value |= -1i64 << shift;
                }
                return Ok(value);
            }
        }
        Err(malformed(format!("a LEB128 number too large in {}", self.what)))
    }

    fn uleb_u32(&mut self) -> Result<u32, ServerError> {
        let value = self.uleb()?;
        u32::try_from(value).map_err(|_| malformed(format!("a number over 32 bits in {}", self.what)))
    }

    /// A length prefix, checked against the bytes that are left.
    fn len_prefix(&mut self, what: &str) -> Result<usize, ServerError> {
        let len = self.uleb()?;
        match usize::try_from(len) {
            Ok(len) if len <= self.remaining() => Ok(len),
            _ => Err(malformed(format!("{what} of {len} bytes where {} are left", self.remaining()))),
        }
    }

    /// A count of items of at least `min_item_bytes` each: over `limit` is 413, more than the bytes left
    /// can hold is 400.
    fn count(&mut self, what: &str, limit: usize, min_item_bytes: usize) -> Result<usize, ServerError> {
        let n = self.uleb()?;
        if n > limit as u64 {
            return Err(too_large(format!("{n} {what} (at most {limit})")));
        }
        let n = n as usize; // n ≤ limit, a usize
        if n.saturating_mul(min_item_bytes) > self.remaining() {
            return Err(malformed(format!("{n} {what} in {} bytes", self.remaining())));
        }
        Ok(n)
    }

    fn hashes(&mut self, what: &str, limit: usize) -> Result<Vec<ChangeHash>, ServerError> {
        let n = self.count(what, limit, HASH_LEN)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(ChangeHash(self.array()?));
        }
        Ok(out)
    }

    fn actor(&mut self) -> Result<&'a [u8], ServerError> {
        let len = self.uleb()?;
        if len > MAX_ACTOR_BYTES {
            return Err(malformed(format!("an actor id of {len} bytes")));
        }
        self.take(len as usize)
    }

    /// Column metadata: a count, then (specification, length) pairs whose lengths fit the bytes left.
    fn column_specs(&mut self) -> Result<Vec<(u32, usize)>, ServerError> {
        let n = self.uleb()?;
        if n > MAX_COLUMNS {
            return Err(malformed(format!("{n} columns")));
        }
        let mut out = Vec::with_capacity(n as usize);
        let mut total: usize = 0;
        for _ in 0..n {
            let spec = self.uleb_u32()?;
            let len = self.uleb()?;
            let len = usize::try_from(len).map_err(|_| self.truncated())?;
            total = total.checked_add(len).ok_or_else(|| self.truncated())?;
            out.push((spec, len));
        }
        Ok(out)
    }
}

fn malformed(message: impl Into<String>) -> ServerError {
    ServerError::bad_request(MALFORMED, message)
}

fn too_large(message: impl Into<String>) -> ServerError {
    ServerError::new(StatusCode::PAYLOAD_TOO_LARGE, TOO_LARGE, message)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::io::Write;
    use std::time::{Duration, Instant};

    use automerge::sync::{self, Message, SyncDoc};
    use automerge::transaction::Transactable;
    use automerge::{ActorId, AutoCommit, Change, SaveOptions, ROOT};
    use proptest::prelude::*;

    use super::*;

    /// Refusals must come fast: every attack here made Automerge allocate or spin.
    fn refused(bytes: &[u8], code: ErrorCode) -> ServerError {
        let start = Instant::now();
        let err = sync_message(bytes, &MessageLimits::default()).expect_err("the message must be refused");
        assert!(start.elapsed() < Duration::from_secs(2), "refusal took {:?}", start.elapsed());
        assert_eq!(err.code, code, "{}", err.message);
        let status = if code == TOO_LARGE { StatusCode::PAYLOAD_TOO_LARGE } else { StatusCode::BAD_REQUEST };
        assert_eq!(err.status, status);
        err
    }

    fn uleb(value: u64) -> Vec<u8> {
        let mut out = Vec::new();
        write_uleb(&mut out, value);
        out
    }

    fn sleb(value: i64) -> Vec<u8> {
        let mut out = Vec::new();
        leb128::write::signed(&mut out, value).expect("writing to a Vec");
        out
    }

    /// A v1 message with no heads or needs, one `have` with the given Bloom filter bytes, no changes.
    fn with_bloom(bloom: &[u8]) -> Vec<u8> {
        let mut m = vec![MESSAGE_TYPE_SYNC, 0, 0, 1, 0];
        m.extend(uleb(bloom.len() as u64));
        m.extend(bloom);
        m.push(0);
        m
    }

    /// A message whose change list is the given chunks, one entry each.
    fn with_chunks(version: u8, chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut m = vec![version, 0, 0, 0];
        m.extend(uleb(chunks.len() as u64));
        for c in chunks {
            m.extend(uleb(c.len() as u64));
            m.extend(c);
        }
        m
    }

    /// A chunk with a correct checksum over `checksummed` (the data, or the inflated data of a compressed
    /// chunk) and `data` as its body.
    fn chunk(chunk_type: u8, checksum_type: u8, checksummed: &[u8], data: &[u8]) -> Vec<u8> {
        let mut c = MAGIC_BYTES.to_vec();
        c.extend(&chunk_hash(checksum_type, checksummed)[..4]);
        c.push(chunk_type);
        c.extend(uleb(data.len() as u64));
        c.extend(data);
        c
    }

    /// A change body with one column of the given specification and data.
    fn change_body(spec: u32, column: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 16];
        b.extend([7; 16]); // actor
        b.extend([1, 1, 0, 0, 0]); // seq, start op, time, message, other actors
        b.push(1);
        b.extend(uleb(u64::from(spec)));
        b.extend(uleb(column.len() as u64));
        b.extend(column);
        b
    }

    fn doc(actor: u8) -> AutoCommit {
        AutoCommit::new().with_actor(ActorId::from([actor; 16]))
    }

    #[test]
    fn bloom_filter_with_2_pow_32_minus_1_probes_is_refused_fast() {
        // entries 1, 10 bits per entry, 2^32 − 1 probes, two bytes of bits: 20 bytes in all.
        let mut bloom = vec![1, 10];
        bloom.extend(uleb(u64::from(u32::MAX)));
        bloom.extend([0xff, 0xff]);
        let m = with_bloom(&bloom);
        assert!(m.len() <= 20);
        refused(&m, TOO_LARGE);
    }

    #[test]
    fn bloom_filter_with_zero_bits_per_entry_is_refused() {
        refused(&with_bloom(&[1, 0, 7]), MALFORMED);
        refused(&with_bloom(&[5, 10, 0, 0, 0, 0, 0, 0, 0]), MALFORMED); // no probes
        refused(&with_bloom(&[0, 10, 7]), MALFORMED); // no entries, yet parameters
    }

    #[test]
    fn bloom_filter_whose_length_disagrees_with_its_parameters_is_refused() {
        // 10 entries × 10 bits = 13 bytes due.
        let mut short = vec![10, 10, 7];
        short.extend([0; 12]);
        refused(&with_bloom(&short), MALFORMED);
        let mut long = vec![10, 10, 7];
        long.extend([0; 14]);
        refused(&with_bloom(&long), MALFORMED);
        let mut exact = vec![10, 10, 7];
        exact.extend([0; 13]);
        assert!(sync_message(&with_bloom(&exact), &MessageLimits::default()).is_ok());
        // 2^32 − 1 entries at 32 bits claim 16 GiB: over the bound before any byte is looked for.
        let mut huge = uleb(u64::from(u32::MAX));
        huge.extend([32, 7]);
        refused(&with_bloom(&huge), TOO_LARGE);
    }

    #[test]
    fn compressed_change_inflating_past_the_limit_is_refused_before_it_is_inflated() {
        let mut bomb = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..256 {
            bomb.write_all(&zeros).expect("deflate");
        }
        let bomb = bomb.finish().expect("deflate");
        assert!(bomb.len() < 1 << 20, "the 256 MiB bomb is {} bytes", bomb.len());
        let m = with_chunks(MESSAGE_TYPE_SYNC, &[chunk(CHUNK_COMPRESSED, CHUNK_CHANGE, &[], &bomb)]);
        refused(&m, TOO_LARGE);
        // Garbage that does not inflate.
        refused(&with_chunks(MESSAGE_TYPE_SYNC, &[chunk(CHUNK_COMPRESSED, 1, &[], &[0xff; 40])]), MALFORMED);
    }

    #[test]
    fn many_small_compressed_changes_cannot_exceed_the_message_budget() {
        let limits = MessageLimits { max_total_bytes: 3 << 20, ..MessageLimits::default() };
        // A valid change whose message is 1 MiB of text: each alone is within the per-change bound.
        let mut body = vec![0, 16];
        body.extend([7; 16]);
        body.extend([1, 1, 0]);
        body.extend(uleb(1 << 20));
        body.extend(vec![b'a'; 1 << 20]);
        body.extend([0, 0]);
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&body).expect("deflate");
        let one = chunk(CHUNK_COMPRESSED, CHUNK_CHANGE, &body, &z.finish().expect("deflate"));
        let two = with_chunks(MESSAGE_TYPE_SYNC, &[one.clone(), one.clone()]);
        assert_eq!(sync_message(&two, &limits).expect("two fit").inflated_bytes, 2 * body.len() as u64);
        let chunks = vec![one; 4];
        let err = sync_message(&with_chunks(MESSAGE_TYPE_SYNC, &chunks), &limits).expect_err("over budget");
        assert_eq!(err.code, TOO_LARGE);
    }

    #[test]
    fn change_claiming_billions_of_operations_is_refused() {
        // One integer column: a run of 2^40 copies of the value 1, in eight bytes.
        let mut column = sleb(1 << 40);
        column.push(1);
        let body = change_body(0x42, &column);
        refused(&with_chunks(MESSAGE_TYPE_SYNC, &[chunk(CHUNK_CHANGE, CHUNK_CHANGE, &body, &body)]), TOO_LARGE);
        // A null run does the same.
        let mut nulls = vec![0];
        nulls.extend(uleb(1 << 40));
        let body = change_body(0x42, &nulls);
        refused(&with_chunks(MESSAGE_TYPE_SYNC, &[chunk(CHUNK_CHANGE, CHUNK_CHANGE, &body, &body)]), TOO_LARGE);
        // A boolean column of 2^40 falses.
        let body = change_body(0x44, &uleb(1 << 40));
        refused(&with_chunks(MESSAGE_TYPE_SYNC, &[chunk(CHUNK_CHANGE, CHUNK_CHANGE, &body, &body)]), TOO_LARGE);
        // A literal run longer than its bytes is malformed, not looped over.
        let body = change_body(0x42, &sleb(-(1 << 40)));
        refused(&with_chunks(MESSAGE_TYPE_SYNC, &[chunk(CHUNK_CHANGE, CHUNK_CHANGE, &body, &body)]), MALFORMED);
    }

    #[test]
    fn too_many_heads_needs_haves_or_chunks_are_refused_before_allocation() {
        let mut heads = vec![MESSAGE_TYPE_SYNC];
        heads.extend(uleb(1025));
        refused(&heads, TOO_LARGE);
        let mut heads = vec![MESSAGE_TYPE_SYNC];
        heads.extend(uleb(u64::MAX));
        refused(&heads, TOO_LARGE);
        // Within the bound but more than the bytes can hold: truncated.
        let mut heads = vec![MESSAGE_TYPE_SYNC];
        heads.extend(uleb(1000));
        heads.extend([0; 64]);
        refused(&heads, MALFORMED);
        let mut needs = vec![MESSAGE_TYPE_SYNC, 0];
        needs.extend(uleb(4097));
        refused(&needs, TOO_LARGE);
        refused(&[MESSAGE_TYPE_SYNC, 0, 0, 5], TOO_LARGE);
        let mut entries = vec![MESSAGE_TYPE_SYNC, 0, 0, 0];
        entries.extend(uleb(20_001));
        refused(&entries, TOO_LARGE);
        // Many chunks packed into one entry count too.
        let body = change_body(0x42, &[2, 1]);
        let one = chunk(CHUNK_CHANGE, CHUNK_CHANGE, &body, &body);
        let limits = MessageLimits { max_chunks: 3, ..MessageLimits::default() };
        let packed = with_chunks(MESSAGE_TYPE_SYNC, &[one.repeat(4)]);
        assert_eq!(sync_message(&packed, &limits).expect_err("too many").code, TOO_LARGE);
        assert_eq!(sync_message(&packed, &MessageLimits::default()).expect("four chunks").changes.len(), 4);
    }

    #[test]
    fn chunks_the_sync_protocol_never_sends_are_refused() {
        let mut d = doc(1);
        d.put(ROOT, "k", "v").expect("put");
        let saved = d.save();
        // A whole document in a v1 message, or after another chunk.
        refused(&with_chunks(MESSAGE_TYPE_SYNC, std::slice::from_ref(&saved)), MALFORMED);
        let change = d.get_changes(&[]).remove(0).raw_bytes().to_vec();
        refused(&with_chunks(MESSAGE_TYPE_SYNC_V2, &[change.clone(), saved.clone()]), MALFORMED);
        assert!(sync_message(&with_chunks(MESSAGE_TYPE_SYNC_V2, &[saved]), &MessageLimits::default()).is_ok());
        // A bundle, an unknown chunk type, a bad checksum, no magic, an empty entry, an unknown message type.
        let body = change_body(0x42, &[2, 1]);
        refused(&with_chunks(MESSAGE_TYPE_SYNC, &[chunk(3, 3, &body, &body)]), MALFORMED);
        refused(&with_chunks(MESSAGE_TYPE_SYNC, &[chunk(9, 9, &body, &body)]), MALFORMED);
        refused(&with_chunks(MESSAGE_TYPE_SYNC, &[chunk(CHUNK_CHANGE, CHUNK_DOCUMENT, &body, &body)]), MALFORMED);
        let mut no_magic = change.clone();
        no_magic[0] ^= 1;
        refused(&with_chunks(MESSAGE_TYPE_SYNC, &[no_magic]), MALFORMED);
        refused(&with_chunks(MESSAGE_TYPE_SYNC, &[vec![]]), MALFORMED);
        refused(&[0x44, 0, 0, 0, 0], MALFORMED);
        refused(&[], MALFORMED);
    }

    /// An honest message with heads, a `have` with a Bloom filter, changes and flags.
    fn honest_message() -> (Vec<u8>, AutoCommit) {
        let mut a = doc(1);
        let mut b = doc(2);
        a.put(ROOT, "a", 1).expect("put");
        a.commit();
        let (mut sa, mut sb) = (sync::State::new(), sync::State::new());
        sync_pair(&mut a, &mut sa, &mut b, &mut sb);
        for i in 0..5 {
            a.put(ROOT, format!("k{i}"), i).expect("put");
            a.commit();
        }
        b.put(ROOT, "b", 2).expect("put");
        b.commit();
        let m1 = b.sync().generate_sync_message(&mut sb).expect("b speaks");
        a.sync().receive_sync_message(&mut sa, m1).expect("receive");
        let m = a.sync().generate_sync_message(&mut sa).expect("a answers").encode();
        (m, a)
    }

    fn sync_pair(a: &mut AutoCommit, sa: &mut sync::State, b: &mut AutoCommit, sb: &mut sync::State) {
        for _ in 0..10 {
            let ab = a.sync().generate_sync_message(sa);
            let ba = b.sync().generate_sync_message(sb);
            if ab.is_none() && ba.is_none() {
                return;
            }
            if let Some(m) = ab {
                b.sync().receive_sync_message(sb, m).expect("receive");
            }
            if let Some(m) = ba {
                a.sync().receive_sync_message(sa, m).expect("receive");
            }
        }
    }

    #[test]
    fn an_honest_message_validates_and_every_truncation_or_trailing_junk_is_refused() {
        let (m, _) = honest_message();
        let ok = sync_message(&m, &MessageLimits::default()).expect("honest");
        assert_eq!(ok.haves, 1);
        assert!(!ok.changes.is_empty());
        assert!(ok.flags.is_some());
        // Without its flags section (three bytes) the message is still one Automerge v1 peers send.
        let without_flags = m.len() - 3;
        for cut in 0..m.len() {
            let result = sync_message(&m[..cut], &MessageLimits::default());
            if cut == without_flags {
                assert!(result.is_ok(), "the message without flags is honest");
            } else {
                let err = result.expect_err("a truncated message is refused");
                assert_eq!(err.code, MALFORMED, "cut at {cut}: {}", err.message);
            }
        }
        for junk in [&[0u8][..], &[1, 2, 3], &[0x42]] {
            let mut long = m.clone();
            long.extend(junk);
            refused(&long, MALFORMED);
        }
    }

    #[test]
    fn hashes_actors_seqs_and_deps_match_automerge() {
        let (m, mut a) = honest_message();
        let ok = sync_message(&m, &MessageLimits::default()).expect("honest");
        let decoded = Message::decode(&m).expect("automerge decodes it");
        assert_eq!(ok.heads, decoded.heads);
        assert_eq!(ok.need, decoded.need);
        for c in &ok.changes {
            let hash: ChangeHash = c.hash.parse().expect("hex hash");
            let change = a.get_change_by_hash(&hash).expect("a change of the sender");
            assert_eq!(c.actor, change.actor_id().to_bytes());
            assert_eq!(c.seq, change.seq());
            let deps: Vec<String> = change.deps().iter().map(|h| h.to_string()).collect();
            assert_eq!(c.deps, deps);
        }
    }

    /// The changes `sender` holds but cannot apply (a dependency is missing), as Automerge's `save()` appends
    /// them, one change chunk each, after the document chunk.
    fn orphans(sender: &mut AutoCommit) -> Vec<Change> {
        let saved = sender.save();
        let document = sender.save_with_options(SaveOptions { retain_orphans: false, ..SaveOptions::default() });
        let mut rest = saved.strip_prefix(document.as_slice()).expect("save() is the document, then the orphans");
        let mut out = Vec::new();
        while !rest.is_empty() {
            // Magic bytes, checksum and chunk type (9 bytes), then the LEB128 length of the data.
            let mut after_len = &rest[9..];
            let len = leb128::read::unsigned(&mut after_len).expect("a chunk length") as usize;
            let end = rest.len() - after_len.len() + len;
            out.push(Change::try_from(&rest[..end]).expect("an orphan is a change chunk"));
            rest = &rest[end..];
        }
        out
    }

    /// Validates a message a peer sent and checks it reports the changes the sender recorded as sent (new ones, and
    /// ones sent before and sent again); returns how many orphans a whole document carried.
    fn check_message(
        m: &Message,
        sent: &BTreeSet<ChangeHash>,
        sent_before: &BTreeSet<ChangeHash>,
        sender: &mut AutoCommit,
    ) -> usize {
        let bytes = m.clone().encode();
        let ok = sync_message(&bytes, &MessageLimits::default())
            .unwrap_or_else(|e| panic!("an honest message was refused: {}: {}", e.code, e.message));
        let reported: BTreeSet<String> = ok.changes.iter().map(|c| c.hash.clone()).collect();
        assert_eq!(reported.len(), ok.changes.len(), "no change reported twice");
        let mut orphans = Vec::new();
        if ok.whole_document {
            // Automerge sends `save()` as the one entry: the document chunk, holding every change the sender
            // applied, then the change chunks of its orphans (changes it received without a dependency, as
            // after a Bloom false positive). `get_changes` leaves the orphans out; the message carries them, so
            // the validator reports them, as plain changes after the document's.
            let entries: Vec<&[u8]> = m.changes.iter().collect();
            assert_eq!(entries, [sender.save().as_slice()], "a whole document is the sender's save()");
            orphans = self::orphans(sender);
            assert_eq!(orphans.is_empty(), sender.get_missing_deps(&[]).is_empty());
            let all: BTreeSet<String> = sender.get_changes(&[]).iter().map(|c| c.hash().to_string()).collect();
            let (document, trailing) = ok.changes.split_at(all.len().min(ok.changes.len()));
            assert!(document.iter().all(|c| c.kind == ChunkKind::Document), "the document's changes come first");
            assert_eq!(document.iter().map(|c| c.hash.clone()).collect::<BTreeSet<_>>(), all);
            assert!(trailing.iter().all(|c| c.kind == ChunkKind::Change), "orphans travel as plain changes");
            let trailing: Vec<&str> = trailing.iter().map(|c| c.hash.as_str()).collect();
            let expected: Vec<String> = orphans.iter().map(|c| c.hash().to_string()).collect();
            assert_eq!(trailing, expected, "exactly the sender's orphans follow the document");
        } else {
            // The changes Automerge newly recorded as sent, and any it sends again (a peer that lost them asks
            // anew; `sent_hashes` only grows by the new ones): none the sender had not sent before.
            let sent: BTreeSet<String> = sent.iter().map(|h| h.to_string()).collect();
            let earlier: BTreeSet<String> = sent_before.iter().map(|h| h.to_string()).collect();
            assert!(sent.is_subset(&reported), "every newly sent change is reported");
            assert!(reported.difference(&sent).all(|h| earlier.contains(h)), "a change reported that was never sent");
        }
        for c in &ok.changes {
            let hash: ChangeHash = c.hash.parse().expect("hex hash");
            let change = sender
                .get_change_by_hash(&hash)
                .or_else(|| orphans.iter().find(|o| o.hash() == hash).cloned())
                .expect("a change the sender holds");
            assert_eq!((c.actor.as_slice(), c.seq), (change.actor_id().to_bytes(), change.seq()));
            assert_eq!(c.deps, change.deps().iter().map(|h| h.to_string()).collect::<Vec<_>>());
        }
        orphans.len()
    }

    /// The same changes as chunks compressed the way `Change::bytes()` compresses them (over 256 bytes).
    fn check_compressed(hashes: &BTreeSet<ChangeHash>, sender: &mut AutoCommit) {
        if hashes.is_empty() {
            return;
        }
        let chunks: Vec<Vec<u8>> = hashes
            .iter()
            .map(|h| sender.get_change_by_hash(h).expect("sent change").clone().bytes().to_vec())
            .collect();
        let big = chunks.iter().zip(hashes).filter(|(c, h)| {
            sender.get_change_by_hash(h).is_some_and(|ch| ch.raw_bytes().len() > 256) && c.get(8) == Some(&2)
        });
        let compressed = big.count();
        let bytes = with_chunks(MESSAGE_TYPE_SYNC, &chunks);
        let ok = sync_message(&bytes, &MessageLimits::default()).expect("compressed changes are honest");
        let reported: BTreeSet<String> = ok.changes.iter().map(|c| c.hash.clone()).collect();
        assert_eq!(reported, hashes.iter().map(|h| h.to_string()).collect());
        assert_eq!(ok.changes.iter().filter(|c| c.kind == ChunkKind::CompressedChange).count(), compressed);
        // Automerge agrees: the same bytes load on a fresh document.
        let mut fresh = AutoCommit::new();
        fresh
            .sync()
            .receive_sync_message(&mut sync::State::new(), Message::decode(&bytes).expect("decode"))
            .expect("apply");
    }

    /// One round: `from` sends its next message to `to`, if it has one; the message is checked first. Adds the
    /// orphans a whole document carried to `orphans`.
    fn step(
        from: &mut AutoCommit,
        fs: &mut sync::State,
        to: &mut AutoCommit,
        ts: &mut sync::State,
        orphans: &mut usize,
    ) -> bool {
        let before = fs.sent_hashes.clone();
        let Some(m) = from.sync().generate_sync_message(fs) else { return false };
        let sent: BTreeSet<ChangeHash> = fs.sent_hashes.difference(&before).copied().collect();
        *orphans += check_message(&m, &sent, &before, from);
        check_compressed(&sent, from);
        to.sync().receive_sync_message(ts, m).expect("receive");
        true
    }

    #[derive(Debug, Clone)]
    enum Edit {
        Put { peer: usize, key: u8, value: i64 },
        Text { peer: usize, key: u8, len: usize },
        Sync { a: usize, b: usize, rounds: u8 },
    }

    fn edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            (0..3usize, 0..6u8, any::<i64>()).prop_map(|(peer, key, value)| Edit::Put { peer, key, value }),
            (0..3usize, 0..6u8, 0..1200usize).prop_map(|(peer, key, len)| Edit::Text { peer, key, len }),
            (0..3usize, 0..3usize, 1..6u8).prop_map(|(a, b, rounds)| Edit::Sync { a, b, rounds }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Every message Automerge itself generates between 2–3 peers validates and reports exactly the
        /// changes it carries, and so do the same changes sent compressed.
        #[test]
        fn every_message_automerge_sends_validates(peers in 2..4usize, edits in proptest::collection::vec(edit(), 1..24)) {
            play(peers, edits);
        }
    }

    /// Plays `edits` between `peers` documents, checking every message Automerge sends on the way; returns how
    /// many orphans whole documents carried.
    fn play(peers: usize, edits: Vec<Edit>) -> usize {
        let mut docs: Vec<AutoCommit> = (0..peers).map(|i| doc(i as u8 + 1)).collect();
        let mut states = vec![vec![sync::State::new(); peers]; peers];
        let mut orphans = 0;
        for e in edits {
            match e {
                Edit::Put { peer, key, value } => {
                    let d = &mut docs[peer % peers];
                    d.put(ROOT, format!("k{key}"), value).expect("put");
                    d.commit();
                }
                Edit::Text { peer, key, len } => {
                    let d = &mut docs[peer % peers];
                    let text: String = (0..len).map(|i| char::from(b'a' + (i * 7 % 26) as u8)).collect();
                    d.put(ROOT, format!("t{key}"), text).expect("put");
                    d.commit();
                }
                Edit::Sync { a, b, rounds } => {
                    let (a, b) = (a % peers, b % peers);
                    if a == b {
                        continue;
                    }
                    for _ in 0..rounds {
                        let (lo, hi) = (a.min(b), a.max(b));
                        let (left, right) = docs.split_at_mut(hi);
                        let (dl, dr) = (&mut left[lo], &mut right[0]);
                        let mut s_lo = std::mem::take(&mut states[lo][hi]);
                        let mut s_hi = std::mem::take(&mut states[hi][lo]);
                        let x = step(dl, &mut s_lo, dr, &mut s_hi, &mut orphans);
                        let y = step(dr, &mut s_hi, dl, &mut s_lo, &mut orphans);
                        states[lo][hi] = s_lo;
                        states[hi][lo] = s_hi;
                        if !x && !y {
                            break;
                        }
                    }
                }
            }
        }
        orphans
    }

    /// Peer 3's Bloom filter (its one change) claims peer 1's first change, so peer 1 sends only its second:
    /// peer 3 keeps it as an orphan. Syncing with the empty peer 2, peer 3 sends its whole document, and
    /// `save()` appends the orphan after the document chunk (proptest seed 6ec30bee…).
    #[test]
    fn a_whole_document_carries_the_orphan_a_bloom_false_positive_left_its_sender() {
        let edits = vec![
            Edit::Put { peer: 0, key: 3, value: -5835109067285293024 },
            Edit::Put { peer: 2, key: 5, value: 3400968610283510825 },
            Edit::Put { peer: 0, key: 0, value: 804898 },
            Edit::Sync { a: 2, b: 0, rounds: 2 },
            Edit::Sync { a: 1, b: 2, rounds: 4 },
        ];
        assert_eq!(play(3, edits), 1, "one whole document carried one orphan");
    }

    /// Peer 1's Bloom filter claims a change of peer 3, which then sends only the change after it; peer 1,
    /// asked for more than a third of its document, sends it whole with that orphan appended
    /// (proptest seed 273f20e6…).
    #[test]
    fn a_whole_document_sent_for_a_third_of_the_changes_carries_the_senders_orphan() {
        let edits = vec![
            Edit::Text { peer: 2, key: 1, len: 1124 },
            Edit::Text { peer: 2, key: 1, len: 509 },
            Edit::Put { peer: 0, key: 5, value: 4952003580249846962 },
            Edit::Text { peer: 1, key: 1, len: 81 },
            Edit::Text { peer: 2, key: 4, len: 673 },
            Edit::Sync { a: 2, b: 1, rounds: 2 },
            Edit::Put { peer: 1, key: 2, value: 5876007879838098744 },
            Edit::Put { peer: 2, key: 3, value: -6833168263868894965 },
            Edit::Put { peer: 1, key: 2, value: 2369297000013844267 },
            Edit::Put { peer: 0, key: 4, value: 6068755211715816491 },
            Edit::Put { peer: 2, key: 1, value: 3449268416766840610 },
            Edit::Sync { a: 1, b: 0, rounds: 5 },
            Edit::Sync { a: 0, b: 2, rounds: 3 },
        ];
        assert_eq!(play(3, edits), 1, "one whole document carried one orphan");
    }

    #[test]
    fn large_changes_sent_compressed_are_inflated_and_hashed_as_automerge_does() {
        let mut a = doc(1);
        a.put(ROOT, "note", "长".repeat(400)).expect("put");
        a.commit();
        let mut change = a.get_changes(&[]).remove(0);
        let hash = change.hash().to_string();
        let compressed = change.bytes().to_vec();
        assert_eq!(compressed[8], CHUNK_COMPRESSED, "Automerge compresses changes over 256 bytes");
        let ok = sync_message(&with_chunks(MESSAGE_TYPE_SYNC, &[compressed]), &MessageLimits::default())
            .expect("honest compressed change");
        assert_eq!(ok.changes.len(), 1);
        assert_eq!((ok.changes[0].hash.as_str(), ok.changes[0].kind), (hash.as_str(), ChunkKind::CompressedChange));
        assert!(ok.inflated_bytes > 1200);
    }

    #[test]
    fn a_whole_document_sent_to_an_empty_peer_validates() {
        let mut a = doc(1);
        for i in 0..20 {
            a.put(ROOT, format!("k{i}"), "x".repeat(40 * i)).expect("put");
            a.commit();
        }
        let mut b = doc(2);
        let (mut sa, mut sb) = (sync::State::new(), sync::State::new());
        // b, empty, speaks first: a answers with its whole document.
        let m = b.sync().generate_sync_message(&mut sb).expect("b speaks");
        a.sync().receive_sync_message(&mut sa, m).expect("receive");
        let m = a.sync().generate_sync_message(&mut sa).expect("a answers");
        let ok = sync_message(&m.clone().encode(), &MessageLimits::default()).expect("whole document");
        assert!(ok.whole_document);
        assert_eq!(ok.version, SyncVersion::V2);
        assert_eq!(ok.changes.len(), 20);
        assert!(ok.changes.iter().all(|c| c.kind == ChunkKind::Document));
        // Bounded like the rest: the same document over a small budget is refused.
        let small = MessageLimits { max_document_changes: 19, ..MessageLimits::default() };
        assert_eq!(sync_message(&m.clone().encode(), &small).expect_err("over").code, TOO_LARGE);
        let small = MessageLimits { max_total_bytes: 100, ..MessageLimits::default() };
        assert_eq!(sync_message(&m.encode(), &small).expect_err("over").code, TOO_LARGE);
    }
}
