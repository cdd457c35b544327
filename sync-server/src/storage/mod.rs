//! The server's storage, behind a trait: the embedded SQLite backend (the default, zero set-up) and the
//! PostgreSQL one (several processes on one database). Documents are stored as append-only Automerge changes
//! keyed by change hash (a change already present is ignored, so two writers never lose an update); every
//! write gives the document a new, larger catalogue version, which is the cursor devices sync from. Versions
//! of one community become visible in the order they were taken, so a cursor never passes over a write that
//! is still to commit.
//!
//! Every method takes `&self` and is safe to call from many threads at once: a backend serialises its own
//! writes (SQLite has one writer) and serves reads concurrently, so no request waits on another's
//! Automerge work.

pub mod console;
pub mod migrate;
pub mod postgres;
pub mod sqlite;

pub use console::{AuditEntry, ConsoleStorage, ResponseTemplate, SavedView, Session, Staff};

use crate::error::Result;
use gridline_core::model::Role;

/// A community registered on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Community {
    /// Community id (UUID v7).
    pub community_id: String,
    /// Display name.
    pub name: String,
}

/// An enrolled device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Device id (UUID v7); its 16 bytes are the device's Automerge actor id.
    pub device_id: String,
    /// Community the device belongs to.
    pub community_id: String,
    /// User name.
    pub user: String,
    /// Role of the user.
    pub role: Role,
    /// Grids in scope (empty for community-wide roles).
    pub grids: Vec<String>,
    /// A building lead's buildings (names); empty for every other role.
    pub buildings: Vec<String>,
    /// Hex Ed25519 public key registered at enrollment.
    pub public_key: String,
    /// True once an admin revoked the device.
    pub revoked: bool,
}

/// A one-time enrollment code (only its hash is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentCode {
    /// SHA-256 (hex) of the normalised code.
    pub code_hash: String,
    /// Community of the device to enroll.
    pub community_id: String,
    /// User name.
    pub user: String,
    /// Role.
    pub role: Role,
    /// Grids.
    pub grids: Vec<String>,
    /// A building lead's buildings (names).
    pub buildings: Vec<String>,
    /// Unix seconds after which the code no longer works.
    pub expires_at: i64,
    /// The device enrolled with it, once used.
    pub used_by: Option<String>,
}

/// Where a document sits, read from its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocScope {
    /// Community id.
    pub community_id: String,
    /// Grid code (none for the community document).
    pub grid: Option<String>,
}

/// The stored form of a document: an optional compacted snapshot plus the changes stored after it.
#[derive(Debug, Clone, Default)]
pub struct StoredDocument {
    /// `Automerge::save()` bytes of a compaction, if any.
    pub snapshot: Option<Vec<u8>>,
    /// Raw change chunks stored after the snapshot, in storage order.
    pub changes: Vec<Vec<u8>>,
    /// Sequence number of the last change included (snapshot or changes).
    pub last_seq: i64,
}

/// New changes of one document to append.
#[derive(Debug, Clone)]
pub struct DocumentWrite {
    /// Document id (text form).
    pub doc_id: String,
    /// Its scope.
    pub scope: DocScope,
    /// (hex change hash, raw change bytes).
    pub changes: Vec<(String, Vec<u8>)>,
    /// The document's heads after the write, as the writer's copy has them (hex). Stored as they are when
    /// nothing was stored after [`DocumentWrite::base_seq`]; otherwise the backend works them out from the
    /// stored heads ([`heads_after`]).
    pub heads: Vec<String>,
    /// Blob hashes the document references.
    pub blobs: Vec<String>,
    /// The stored sequence number the writer's copy was taken at (0: the document was not stored).
    pub base_seq: i64,
    /// The writer added an event of its own that must be written once (the server's receipt of a new
    /// incident), which another instance may be writing at the same moment: the write goes only onto the
    /// stored form ending at `base_seq`, and is otherwise refused with [`stale_write`], nothing stored; the
    /// writer reloads and tries again.
    pub once: bool,
    /// Who the document is addressed to beyond its grid: a service order's current volunteer (the user name
    /// its replay names), `None` for every other document. Written with every write of the document, so a
    /// volunteer's catalogue lists exactly the orders dispatched to it now.
    pub audience: Option<String>,
    /// The building the document concerns (its [`gridline_core::docs::building_key`]): a building's
    /// projection's and a building-level check-in log's from the id, an incident's or a service order's from
    /// its household's building; `None` for every other document. Written with every write; a building lead's
    /// catalogue lists the documents of its grids whose building is one of its own.
    pub building: Option<String>,
}

/// The refusal of a write whose [`DocumentWrite::once`] cannot hold.
pub fn stale_write(doc_id: &str) -> crate::error::ServerError {
    crate::error::ServerError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        gridline_core::ErrorCode::ServerUnavailable,
        format!("{doc_id} changed while this request was applied; try again"),
    )
    .retry_after(1)
}

/// A document's heads after `w` (sorted, `;`-separated, as stored), worked out under the document's row
/// lock, where `last_seq` is its last stored change before the write, `stored` its stored heads and `added`
/// the changes the write actually added.
///
/// When nothing was stored since the writer's copy was taken, the copy's heads are exact. Otherwise another
/// writer (another instance, an admin command) stored changes the copy lacks, and the copy's heads would
/// leave them out: a device holding exactly those heads would be told by the catalogue that it is up to
/// date and never fetch the other change. The heads are then the stored heads and the added changes, less
/// every change an added change depends on. A write that must go only onto its copy's base is refused.
pub fn heads_after(w: &DocumentWrite, last_seq: i64, stored: &str, added: &[&str]) -> Result<String> {
    if last_seq == w.base_seq {
        return Ok(w.heads.join(";"));
    }
    if w.once {
        return Err(stale_write(&w.doc_id));
    }
    let deps = dependencies(w);
    let mut heads: std::collections::BTreeSet<&str> = stored.split(';').filter(|h| !h.is_empty()).collect();
    heads.extend(added.iter().copied());
    for dep in added.iter().filter_map(|hash| deps.get(hash)).flatten() {
        heads.remove(dep.as_str());
    }
    Ok(heads.into_iter().collect::<Vec<_>>().join(";"))
}

/// The dependencies of each change of a write, by change hash, read from the changes themselves. A change
/// that does not parse (never one the engine stores) names none, which can only leave an extra head in the
/// catalogue: a device syncs the document once more, it never misses a change.
fn dependencies(w: &DocumentWrite) -> std::collections::HashMap<&str, Vec<String>> {
    w.changes
        .iter()
        .map(|(hash, bytes)| {
            let deps = match automerge::Change::try_from(bytes.as_slice()) {
                Ok(change) => change.deps().iter().map(ToString::to_string).collect(),
                Err(e) => {
                    tracing::warn!(doc_id = %w.doc_id, hash = %hash, error = %e, "a change to store does not parse");
                    Vec::new()
                }
            };
            (hash.as_str(), deps)
        })
        .collect()
}

/// What one device may still store today, checked and counted inside the write that spends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    /// The device writing.
    pub device_id: String,
    /// The UTC day (days since 1970-01-01) the usage counts against.
    pub day: i64,
    /// Most new documents the device may create in a day.
    pub new_docs_per_day: u64,
    /// Most change bytes the device may add to one document in a day.
    pub doc_bytes_per_day: u64,
}

/// Which daily quota a write would exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaExceeded {
    /// New documents per day.
    NewDocuments,
    /// Bytes added to one document per day.
    DocumentBytes,
    /// Blob bytes uploaded per day.
    BlobBytes,
}

/// One catalogue row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueRow {
    /// Document id.
    pub doc_id: String,
    /// Heads (hex).
    pub heads: Vec<String>,
    /// Catalogue version of the document's last write.
    pub version: u64,
    /// When the server stored the document's last write (Unix milliseconds, the server's clock).
    pub received_at: i64,
}

/// What a device may read: a community, and either all of it, some grids, or (a volunteer) the documents
/// without a grid and the orders dispatched to its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadScope {
    /// Community id.
    pub community_id: String,
    /// `None`: the whole community; `Some(grids)`: the documents without a grid (the community document, the
    /// points ledger) and these grids'.
    pub grids: Option<Vec<String>>,
    /// The device's user.
    pub user: String,
    /// True for a volunteer: besides the documents without a grid, it reads the documents whose audience is
    /// [`ReadScope::user`] (the service orders dispatched to it), and no grid's.
    pub by_assignment: bool,
    /// For a building lead, the keys of its buildings: of its grids' documents it reads only those whose
    /// building ([`DocumentWrite::building`]) is one of these. `None` for every other device, which never
    /// reads a building's projection (`building:` documents).
    pub buildings: Option<Vec<String>>,
}

impl ReadScope {
    /// The whole community (a community-wide role, the console's replica).
    pub fn whole(community_id: &str) -> ReadScope {
        ReadScope {
            community_id: community_id.to_string(),
            grids: None,
            user: String::new(),
            by_assignment: false,
            buildings: None,
        }
    }

    /// The documents without a grid and these grids'.
    pub fn grids(community_id: &str, grids: Vec<String>) -> ReadScope {
        ReadScope { grids: Some(grids), ..ReadScope::whole(community_id) }
    }
}

/// One page of a device's catalogue and the cursor to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CataloguePage {
    /// The documents written after the request's cursor, oldest first.
    pub rows: Vec<CatalogueRow>,
    /// Where the next request continues: no document at or below it is left unlisted.
    pub cursor: u64,
    /// True when the page is full and more documents follow.
    pub more: bool,
}

/// The documents in `scope` written after `since` (at most `limit`) and the cursor that follows them
/// (PROTOCOL.md, "Catalogue cursors"). The committed version is read before the rows: the rows read next
/// then hold every document up to it, and a write committing between the two reads is listed again next
/// time rather than passed over, as reading the version after the rows would do.
pub fn catalogue_page(storage: &dyn Storage, scope: &ReadScope, since: u64, limit: usize) -> Result<CataloguePage> {
    let committed = storage.catalogue_version(&scope.community_id)?;
    let mut rows = storage.catalogue(scope, since, limit.saturating_add(1))?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let cursor = match (more, rows.last()) {
        (true, Some(last)) => last.version,
        // One read sees versions without gaps (they commit in order), so its highest is as safe as `committed`.
        (false, Some(last)) => committed.max(last.version),
        (_, None) => committed,
    };
    Ok(CataloguePage { rows, cursor, more })
}

/// What [`Storage::watch_writes`] calls: the community another process wrote, or `None` for "maybe any".
pub type WriteWatcher = std::sync::Arc<dyn Fn(Option<&str>) + Send + Sync>;

/// The storage backend. Every method is one transaction.
pub trait Storage: ConsoleStorage + Send + Sync {
    /// Registers a community.
    fn create_community(&self, community: &Community) -> Result<()>;
    /// A community by id.
    fn community(&self, community_id: &str) -> Result<Option<Community>>;

    /// Stores a new enrollment code.
    fn insert_enrollment_code(&self, code: &EnrollmentCode) -> Result<()>;
    /// An enrollment code by hash.
    fn enrollment_code(&self, code_hash: &str) -> Result<Option<EnrollmentCode>>;
    /// Marks the code used by `device` and registers the device, atomically. Returns false (and stores
    /// nothing) when the code was used meanwhile.
    fn redeem_enrollment_code(&self, code_hash: &str, device: &Device, token_hash: &str) -> Result<bool>;

    /// The device whose token hashes to `token_hash`.
    fn device_by_token_hash(&self, token_hash: &str) -> Result<Option<Device>>;
    /// A device by id.
    fn device(&self, device_id: &str) -> Result<Option<Device>>;
    /// Every device, oldest first.
    fn devices(&self) -> Result<Vec<Device>>;
    /// Revokes a device; false when there is no such device.
    fn revoke_device(&self, device_id: &str) -> Result<bool>;

    /// A document's stored form, or `None` when it was never written.
    fn load_document(&self, doc_id: &str) -> Result<Option<StoredDocument>>;
    /// Raw changes of a document stored after sequence number `after_seq`, with the last sequence number.
    fn changes_after(&self, doc_id: &str, after_seq: i64) -> Result<(Vec<Vec<u8>>, i64)>;
    /// Appends the changes of several documents in one transaction (changes already present are ignored),
    /// stamped with the server's receipt time `received_at` (Unix milliseconds), bumps each written
    /// document's catalogue version, records blob references and the per-device sync states. With a
    /// `quota`, the new documents and bytes are counted against the device's day inside the same transaction
    /// and the whole write is refused (`Ok(Err(..))`, nothing stored) when it would pass a limit. Returns, per
    /// document, the sequence numbers `(before, after)`: the last one stored before this write and after it.
    fn append(
        &self,
        writes: &[DocumentWrite],
        sync_states: &[(String, String, Vec<u8>)],
        received_at: i64,
        quota: Option<&Quota>,
    ) -> Result<std::result::Result<Vec<(i64, i64)>, QuotaExceeded>>;
    /// Saves per-device sync states `(device_id, doc_id, state)` only.
    fn put_sync_states(&self, sync_states: &[(String, String, Vec<u8>)]) -> Result<()>;
    /// The documents under `prefix` that `device_id` holds a sync state for whose audience is not `audience`
    /// (none, or another user's), at most `limit`, in id order: the service orders a volunteer's phone synced
    /// and that are no longer dispatched to it.
    fn withdrawable(&self, device_id: &str, prefix: &str, audience: &str, limit: usize) -> Result<Vec<String>>;
    /// Deletes `device_id`'s sync states of `doc_ids` (documents withdrawn from it).
    fn forget_sync_states(&self, device_id: &str, doc_ids: &[String]) -> Result<()>;
    /// A device's stored sync state for a document.
    fn sync_state(&self, device_id: &str, doc_id: &str) -> Result<Option<Vec<u8>>>;
    /// The documents in `scope` written after catalogue version `since`, oldest first, at most `limit`.
    fn catalogue(&self, scope: &ReadScope, since: u64, limit: usize) -> Result<Vec<CatalogueRow>>;
    /// A stored document's audience ([`DocumentWrite::audience`]); `None` when it has none or is not stored.
    fn audience(&self, doc_id: &str) -> Result<Option<String>>;
    /// A stored document's building ([`DocumentWrite::building`]); `None` when it has none or is not stored.
    fn building(&self, doc_id: &str) -> Result<Option<String>>;
    /// The highest catalogue version a document of `community_id` may have; every version up to it is
    /// committed. (SQLite keeps one counter for the whole server and returns it; PostgreSQL one per
    /// community.)
    fn catalogue_version(&self, community_id: &str) -> Result<u64>;
    /// Number of documents stored.
    fn document_count(&self) -> Result<u64>;

    /// Documents with more than `min_changes` changes stored after their last snapshot.
    fn compaction_candidates(&self, min_changes: u64, limit: usize) -> Result<Vec<String>>;
    /// Stores a compacted snapshot covering changes up to `upto_seq` (changes themselves are kept).
    fn put_snapshot(&self, doc_id: &str, snapshot: &[u8], upto_seq: i64) -> Result<()>;

    /// True when a blob with this hash is stored.
    fn blob_exists(&self, sha256: &str) -> Result<bool>;
    /// Stores a blob (a blob already present keeps its bytes) and records `uploaded_by` as one of its
    /// uploaders, counting `bytes` against the uploader's day under `blob_bytes_per_day`; refused
    /// (`Ok(Err(..))`, nothing stored) past the limit.
    fn put_blob(
        &self,
        sha256: &str,
        bytes: &[u8],
        uploaded_by: &str,
        day: i64,
        blob_bytes_per_day: u64,
    ) -> Result<std::result::Result<(), QuotaExceeded>>;
    /// A blob's bytes.
    fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>>;
    /// Calls `on_write` (from a thread of the backend's) each time another process commits a write: with the
    /// community written, or `None` when writes may have been missed (after the backend reconnected). True
    /// when the backend can tell; false (the default, and SQLite's answer: one process owns the file, and an
    /// `admin` command beside it is found by polling) when the caller must poll instead.
    fn watch_writes(&self, on_write: WriteWatcher) -> Result<bool> {
        let _ = on_write;
        Ok(false)
    }

    /// The devices that uploaded a blob (at most `limit`).
    fn blob_uploaders(&self, sha256: &str, limit: usize) -> Result<Vec<String>>;
    /// The documents that name a blob (at most `limit`).
    fn blob_documents(&self, sha256: &str, limit: usize) -> Result<Vec<String>>;
}
