//! The embedded SQLite backend: one file in the data directory, WAL mode, synchronous FULL (a change is on
//! disk before it is acknowledged), a busy timeout so admin commands can write while `serve` runs.
//! One writer connection (SQLite has one writer; holding it is the only wait between writers) and a small
//! pool of reader connections, which in WAL mode read concurrently with the writer.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{
    CatalogueRow, Community, Device, DocumentWrite, EnrollmentCode, Quota, QuotaExceeded, ReadScope, Storage,
    StoredDocument,
};
use crate::error::{Result, ServerError};
use gridline_core::model::Role;
use gridline_core::ErrorCode;

/// The database file inside the data directory.
pub const DB_FILE: &str = "gridline-server.sqlite";

/// The schema version this build reads and writes (`PRAGMA user_version`); older files are upgraded by
/// [`SqliteStorage::open`].
pub const SCHEMA_VERSION: i64 = 6;

mod console;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS community (
    community_id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS device (
    device_id TEXT PRIMARY KEY, community_id TEXT NOT NULL, user TEXT NOT NULL, role TEXT NOT NULL,
    grids TEXT NOT NULL, public_key TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
    revoked INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS enrollment_code (
    code_hash TEXT PRIMARY KEY, community_id TEXT NOT NULL, user TEXT NOT NULL, role TEXT NOT NULL,
    grids TEXT NOT NULL, expires_at INTEGER NOT NULL, used_by TEXT);
CREATE TABLE IF NOT EXISTS document (
    doc_id TEXT PRIMARY KEY, community_id TEXT NOT NULL, grid TEXT, version INTEGER NOT NULL,
    heads TEXT NOT NULL, snapshot BLOB, snapshot_seq INTEGER NOT NULL DEFAULT 0,
    pending INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS document_catalogue ON document (community_id, version);
CREATE TABLE IF NOT EXISTS change (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, doc_id TEXT NOT NULL, hash TEXT NOT NULL, bytes BLOB NOT NULL,
    UNIQUE (doc_id, hash));
CREATE INDEX IF NOT EXISTS change_by_doc ON change (doc_id, seq);
CREATE TABLE IF NOT EXISTS sync_state (
    device_id TEXT NOT NULL, doc_id TEXT NOT NULL, state BLOB NOT NULL, PRIMARY KEY (device_id, doc_id));
CREATE TABLE IF NOT EXISTS blob (
    sha256 TEXT PRIMARY KEY, bytes BLOB NOT NULL, uploaded_by TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS blob_ref (
    sha256 TEXT NOT NULL, doc_id TEXT NOT NULL, community_id TEXT NOT NULL, grid TEXT,
    PRIMARY KEY (sha256, doc_id));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('catalogue_version', 0);
CREATE TABLE IF NOT EXISTS staff (
    username TEXT PRIMARY KEY, community_id TEXT NOT NULL, role TEXT NOT NULL, password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL);
";

/// Schema 2: the server's receipt time of every change and document write, every uploader of a blob, and the
/// per-device daily usage the quotas count.
const SCHEMA_2: &str = "
ALTER TABLE change ADD COLUMN received_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE document ADD COLUMN received_at INTEGER NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS blob_upload (
    sha256 TEXT NOT NULL, device_id TEXT NOT NULL, PRIMARY KEY (sha256, device_id)) WITHOUT ROWID;
INSERT OR IGNORE INTO blob_upload (sha256, device_id) SELECT sha256, uploaded_by FROM blob;
CREATE TABLE IF NOT EXISTS device_usage (
    device_id TEXT NOT NULL, day INTEGER NOT NULL, new_docs INTEGER NOT NULL DEFAULT 0,
    blob_bytes INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (device_id, day)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS document_usage (
    device_id TEXT NOT NULL, doc_id TEXT NOT NULL, day INTEGER NOT NULL, bytes INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, doc_id, day)) WITHOUT ROWID;
";

/// Schema 5: each document's audience, the user name of a service order's current volunteer (NULL for every
/// other document and for an order dispatched to nobody), so that a volunteer's catalogue lists exactly the
/// orders dispatched to it, read straight from its own index.
const SCHEMA_5: &str = "
ALTER TABLE document ADD COLUMN audience TEXT;
CREATE INDEX IF NOT EXISTS document_audience ON document (community_id, audience, version) WHERE audience IS NOT NULL;
";

/// Schema 6: a building lead's buildings on its device row and enrollment code, and each document's building
/// (the key of the building it concerns, NULL for documents of no one building), which a building lead's
/// catalogue reads.
const SCHEMA_6: &str = "
ALTER TABLE device ADD COLUMN buildings TEXT NOT NULL DEFAULT '';
ALTER TABLE enrollment_code ADD COLUMN buildings TEXT NOT NULL DEFAULT '';
ALTER TABLE document ADD COLUMN building TEXT;
CREATE INDEX IF NOT EXISTS document_building ON document (community_id, building, version) WHERE building IS NOT NULL;
";

/// Reader connections kept open for reuse; more are opened under load and closed when returned to a full
/// pool.
const READERS_KEPT: usize = 8;

/// SQLite storage.
pub struct SqliteStorage {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

fn role_of(code: String) -> rusqlite::Result<Role> {
    code.parse::<Role>()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into()))
}

fn split(s: &str) -> Vec<String> {
    gridline_core::docs::split_list(s)
}

const DEVICE_COLUMNS: &str = "device_id, community_id, user, role, grids, public_key, revoked, buildings";

fn device_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Device> {
    Ok(Device {
        device_id: r.get(0)?,
        community_id: r.get(1)?,
        user: r.get(2)?,
        role: role_of(r.get(3)?)?,
        grids: split(&r.get::<_, String>(4)?),
        public_key: r.get(5)?,
        revoked: r.get(6)?,
        buildings: split(&r.get::<_, String>(7)?),
    })
}

/// Inserts a device row (an enrolled phone, or a staff account's actor).
fn insert_device(tx: &Transaction<'_>, d: &Device, token_hash: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO device (device_id, community_id, user, role, grids, public_key, token_hash, created_at, buildings)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            d.device_id,
            d.community_id,
            d.user,
            d.role.code(),
            d.grids.join(";"),
            d.public_key,
            token_hash,
            now_secs(),
            d.buildings.join(";")
        ],
    )?;
    Ok(())
}

/// The writer connection: WAL (a setting of the file, kept by every later connection) and a full sync before
/// a commit returns.
fn connect_writer(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

/// A reader connection: the file is in WAL mode already (the writer set it at open), so a reader sets nothing
/// that would need the write lock.
fn connect_reader(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(SCHEMA)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version < 2 {
        tx.execute_batch(SCHEMA_2)?;
        tx.pragma_update(None, "user_version", 2)?;
    }
    if version < 3 {
        tx.execute_batch(console::SCHEMA_3)?;
        tx.pragma_update(None, "user_version", 3)?;
    }
    if version < 4 {
        tx.execute_batch(console::SCHEMA_4)?;
        tx.pragma_update(None, "user_version", 4)?;
    }
    if version < 5 {
        tx.execute_batch(SCHEMA_5)?;
        tx.pragma_update(None, "user_version", 5)?;
    }
    if version < 6 {
        tx.execute_batch(SCHEMA_6)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    tx.commit()?;
    Ok(())
}

impl SqliteStorage {
    /// Opens (creating or upgrading if needed) the database in `dir`.
    pub fn open(dir: &Path) -> Result<SqliteStorage> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(DB_FILE);
        let mut writer = connect_writer(&path)?;
        migrate(&mut writer)?;
        Ok(SqliteStorage { path, writer: Mutex::new(writer), readers: Mutex::new(Vec::new()) })
    }

    /// Writes a consistent copy of the whole store to `to` (SQLite's `VACUUM INTO`: one read transaction, so
    /// the server goes on writing meanwhile), then checks the copy's integrity. Returns the copy's size in
    /// bytes and its number of documents. Refuses a `to` that exists: a backup never overwrites a file.
    pub fn backup_to(&self, to: &Path) -> Result<(u64, u64)> {
        if to.exists() {
            return Err(ServerError::bad_request(
                ErrorCode::InvalidInput,
                format!("{} exists already; a backup goes to a new file", to.display()),
            ));
        }
        let target = to.to_str().ok_or_else(|| {
            ServerError::bad_request(ErrorCode::InvalidInput, format!("{}: not a UTF-8 path", to.display()))
        })?;
        self.read(|conn| Ok(conn.execute("VACUUM INTO ?1", [target])?))?;
        let copy = connect_reader(to)?;
        let check: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if check != "ok" {
            return Err(ServerError::storage(format!(
                "the backup at {} failed its integrity check: {check}",
                to.display()
            )));
        }
        let documents: i64 = copy.query_row("SELECT COUNT(*) FROM document", [], |r| r.get(0))?;
        Ok((std::fs::metadata(to)?.len(), u64::try_from(documents).unwrap_or(0)))
    }

    /// Opens the database in `dir` for reading only (the source of `admin migrate`): nothing is created,
    /// upgraded or written, and every write fails. Refused when `dir` holds no server database
    /// (`store_not_initialised`) or one whose schema is not this build's (`store_too_old`, `store_too_new`).
    pub fn open_read_only(dir: &Path) -> Result<SqliteStorage> {
        let path = dir.join(DB_FILE);
        let missing = || {
            ServerError::bad_request(
                ErrorCode::StoreNotInitialised,
                format!("{} holds no server database ({DB_FILE})", dir.display()),
            )
        };
        if !path.is_file() {
            return Err(missing());
        }
        let conn = connect_reader(&path)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        match version {
            0 => return Err(missing()),
            v if v < SCHEMA_VERSION => {
                return Err(ServerError::bad_request(
                    ErrorCode::StoreTooOld,
                    format!(
                        "{} has schema {v}, this build reads {SCHEMA_VERSION}: upgrade it first by running any admin \
                         command on it (e.g. `admin --data {} device list`)",
                        path.display(),
                        dir.display()
                    ),
                ))
            }
            v if v > SCHEMA_VERSION => {
                return Err(ServerError::bad_request(
                    ErrorCode::StoreTooNew,
                    format!("{} has schema {v}, newer than this build's {SCHEMA_VERSION}", path.display()),
                ))
            }
            _ => {}
        }
        Ok(SqliteStorage { path, writer: Mutex::new(conn), readers: Mutex::new(Vec::new()) })
    }

    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        // A panic never leaves a half-made transaction behind (it rolls back on drop), so a poisoned lock
        // still guards a sound connection.
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// A write that commits only when `f` does not refuse it (a refused quota leaves no usage counted).
    fn write_unless<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<std::result::Result<T, QuotaExceeded>>,
    ) -> Result<std::result::Result<T, QuotaExceeded>> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        if out.is_ok() {
            tx.commit()?;
        }
        Ok(out)
    }

    /// Runs `f` on a reader connection (the migration streams whole tables through one).
    pub(super) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => connect_reader(&self.path)?,
        };
        let out = f(&conn);
        let mut readers = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if readers.len() < READERS_KEPT {
            readers.push(conn);
        }
        out
    }
}

fn append_one(tx: &Transaction<'_>, w: &DocumentWrite, received_at: i64) -> Result<(i64, i64)> {
    let before: i64 =
        tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM change WHERE doc_id = ?1", [&w.doc_id], |r| r.get(0))?;
    let stored: Option<String> = tx
        .prepare_cached("SELECT heads FROM document WHERE doc_id = ?1")?
        .query_row([&w.doc_id], |r| r.get(0))
        .optional()?;
    let version: i64 =
        tx.query_row("UPDATE meta SET value = value + 1 WHERE key = 'catalogue_version' RETURNING value", [], |r| {
            r.get(0)
        })?;
    let mut insert =
        tx.prepare_cached("INSERT OR IGNORE INTO change (doc_id, hash, bytes, received_at) VALUES (?1, ?2, ?3, ?4)")?;
    let mut added = Vec::new();
    for (hash, bytes) in &w.changes {
        if insert.execute(params![w.doc_id, hash, bytes, received_at])? > 0 {
            added.push(hash.as_str());
        }
    }
    let heads = super::heads_after(w, before, stored.as_deref().unwrap_or_default(), &added)?;
    // `pending` counts changes since the last snapshot, so compaction finds its candidates without scanning.
    tx.prepare_cached(
        "INSERT INTO document (doc_id, community_id, grid, version, heads, received_at, pending, audience, building)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (doc_id) DO UPDATE SET version = excluded.version, heads = excluded.heads,
           received_at = excluded.received_at, pending = pending + excluded.pending, audience = excluded.audience,
           building = excluded.building",
    )?
    .execute(params![
        w.doc_id,
        w.scope.community_id,
        w.scope.grid,
        version,
        heads,
        received_at,
        added.len() as i64,
        w.audience,
        w.building
    ])?;
    let mut blob_ref = tx.prepare_cached(
        "INSERT OR IGNORE INTO blob_ref (sha256, doc_id, community_id, grid) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for b in &w.blobs {
        blob_ref.execute(params![b, w.doc_id, w.scope.community_id, w.scope.grid])?;
    }
    let last: i64 =
        tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM change WHERE doc_id = ?1", [&w.doc_id], |r| r.get(0))?;
    Ok((before, last))
}

/// Counts a write against the device's day; `Err` when a limit would be passed (the caller rolls back).
fn spend_quota(tx: &Transaction<'_>, writes: &[DocumentWrite], q: &Quota) -> Result<Option<QuotaExceeded>> {
    let mut new_docs = 0u64;
    let mut exists = tx.prepare_cached("SELECT 1 FROM document WHERE doc_id = ?1")?;
    for w in writes {
        if exists.query_row([&w.doc_id], |_| Ok(())).optional()?.is_none() {
            new_docs += 1;
        }
    }
    if new_docs > 0 {
        let used: i64 = tx
            .prepare_cached(
                "INSERT INTO device_usage (device_id, day, new_docs) VALUES (?1, ?2, ?3)
                 ON CONFLICT (device_id, day) DO UPDATE SET new_docs = new_docs + excluded.new_docs
                 RETURNING new_docs",
            )?
            .query_row(params![q.device_id, q.day, new_docs as i64], |r| r.get(0))?;
        if u64::try_from(used).unwrap_or(u64::MAX) > q.new_docs_per_day {
            return Ok(Some(QuotaExceeded::NewDocuments));
        }
    }
    let mut doc_bytes = tx.prepare_cached(
        "INSERT INTO document_usage (device_id, doc_id, day, bytes) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (device_id, doc_id, day) DO UPDATE SET bytes = bytes + excluded.bytes RETURNING bytes",
    )?;
    for w in writes {
        let added: usize = w.changes.iter().map(|(_, b)| b.len()).sum();
        let used: i64 = doc_bytes.query_row(params![q.device_id, w.doc_id, q.day, added as i64], |r| r.get(0))?;
        if u64::try_from(used).unwrap_or(u64::MAX) > q.doc_bytes_per_day {
            return Ok(Some(QuotaExceeded::DocumentBytes));
        }
    }
    Ok(None)
}

fn put_states(tx: &Transaction<'_>, states: &[(String, String, Vec<u8>)]) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO sync_state (device_id, doc_id, state) VALUES (?1, ?2, ?3)
         ON CONFLICT (device_id, doc_id) DO UPDATE SET state = excluded.state",
    )?;
    for (device, doc, state) in states {
        stmt.execute(params![device, doc, state])?;
    }
    Ok(())
}

impl Storage for SqliteStorage {
    fn create_community(&self, c: &Community) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO community (community_id, name, created_at) VALUES (?1, ?2, ?3)",
                params![c.community_id, c.name, now_secs()],
            )?;
            Ok(())
        })
    }

    fn community(&self, community_id: &str) -> Result<Option<Community>> {
        self.read(|conn| {
            Ok(conn
                .query_row("SELECT community_id, name FROM community WHERE community_id = ?1", [community_id], |r| {
                    Ok(Community { community_id: r.get(0)?, name: r.get(1)? })
                })
                .optional()?)
        })
    }

    fn insert_enrollment_code(&self, c: &EnrollmentCode) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO enrollment_code (code_hash, community_id, user, role, grids, expires_at, buildings)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    c.code_hash,
                    c.community_id,
                    c.user,
                    c.role.code(),
                    c.grids.join(";"),
                    c.expires_at,
                    c.buildings.join(";")
                ],
            )?;
            Ok(())
        })
    }

    fn enrollment_code(&self, code_hash: &str) -> Result<Option<EnrollmentCode>> {
        self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT code_hash, community_id, user, role, grids, expires_at, used_by, buildings FROM enrollment_code
                     WHERE code_hash = ?1",
                    [code_hash],
                    |r| {
                        Ok(EnrollmentCode {
                            code_hash: r.get(0)?,
                            community_id: r.get(1)?,
                            user: r.get(2)?,
                            role: role_of(r.get(3)?)?,
                            grids: split(&r.get::<_, String>(4)?),
                            buildings: split(&r.get::<_, String>(7)?),
                            expires_at: r.get(5)?,
                            used_by: r.get(6)?,
                        })
                    },
                )
                .optional()?)
        })
    }

    fn redeem_enrollment_code(&self, code_hash: &str, d: &Device, token_hash: &str) -> Result<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE enrollment_code SET used_by = ?1 WHERE code_hash = ?2 AND used_by IS NULL",
                params![d.device_id, code_hash],
            )?;
            if n == 0 {
                return Ok(false);
            }
            insert_device(tx, d, token_hash)?;
            Ok(true)
        })
    }

    fn device_by_token_hash(&self, token_hash: &str) -> Result<Option<Device>> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM device WHERE token_hash = ?1");
        self.read(|conn| Ok(conn.prepare_cached(&sql)?.query_row([token_hash], device_row).optional()?))
    }

    fn device(&self, device_id: &str) -> Result<Option<Device>> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM device WHERE device_id = ?1");
        self.read(|conn| Ok(conn.prepare_cached(&sql)?.query_row([device_id], device_row).optional()?))
    }

    fn devices(&self) -> Result<Vec<Device>> {
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM device WHERE device_id NOT IN (SELECT staff_id FROM staff)
         ORDER BY created_at, device_id"
        );
        self.read(|conn| {
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map([], device_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn revoke_device(&self, device_id: &str) -> Result<bool> {
        self.write(|tx| Ok(tx.execute("UPDATE device SET revoked = 1 WHERE device_id = ?1", [device_id])? > 0))
    }

    fn load_document(&self, doc_id: &str) -> Result<Option<StoredDocument>> {
        self.read(|conn| {
            // One read transaction: the snapshot and the changes after it are one consistent picture.
            let tx = conn.unchecked_transaction()?;
            let out = load_in(&tx, doc_id);
            tx.finish()?;
            out
        })
    }

    fn changes_after(&self, doc_id: &str, after_seq: i64) -> Result<(Vec<Vec<u8>>, i64)> {
        self.read(|conn| changes_after_in(conn, doc_id, after_seq))
    }

    fn append(
        &self,
        writes: &[DocumentWrite],
        states: &[(String, String, Vec<u8>)],
        received_at: i64,
        quota: Option<&Quota>,
    ) -> Result<std::result::Result<Vec<(i64, i64)>, QuotaExceeded>> {
        self.write_unless(|tx| {
            if let Some(q) = quota {
                if let Some(exceeded) = spend_quota(tx, writes, q)? {
                    return Ok(Err(exceeded));
                }
            }
            let seqs = writes.iter().map(|w| append_one(tx, w, received_at)).collect::<Result<Vec<_>>>()?;
            put_states(tx, states)?;
            Ok(Ok(seqs))
        })
    }

    fn put_sync_states(&self, states: &[(String, String, Vec<u8>)]) -> Result<()> {
        if states.is_empty() {
            return Ok(());
        }
        self.write(|tx| put_states(tx, states))
    }

    fn withdrawable(&self, device_id: &str, prefix: &str, audience: &str, limit: usize) -> Result<Vec<String>> {
        self.read(|conn| {
            // A device's sync states are few (a volunteer holds the orders dispatched to it): the key's device
            // part bounds the scan.
            let mut stmt = conn.prepare_cached(
                "SELECT s.doc_id FROM sync_state AS s LEFT JOIN document AS d ON d.doc_id = s.doc_id
                 WHERE s.device_id = ?1 AND substr(s.doc_id, 1, length(?2)) = ?2
                   AND (d.audience IS NULL OR d.audience <> ?3)
                 ORDER BY s.doc_id LIMIT ?4",
            )?;
            let rows = stmt.query_map(params![device_id, prefix, audience, limit as i64], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
        })
    }

    fn forget_sync_states(&self, device_id: &str, doc_ids: &[String]) -> Result<()> {
        if doc_ids.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            let mut stmt = tx.prepare_cached("DELETE FROM sync_state WHERE device_id = ?1 AND doc_id = ?2")?;
            for doc_id in doc_ids {
                stmt.execute(params![device_id, doc_id])?;
            }
            Ok(())
        })
    }

    fn sync_state(&self, device_id: &str, doc_id: &str) -> Result<Option<Vec<u8>>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT state FROM sync_state WHERE device_id = ?1 AND doc_id = ?2")?
                .query_row([device_id, doc_id], |r| r.get(0))
                .optional()?)
        })
    }

    fn catalogue(&self, scope: &ReadScope, since: u64, limit: usize) -> Result<Vec<CatalogueRow>> {
        let since = i64::try_from(since).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let row = |r: &rusqlite::Row<'_>| -> rusqlite::Result<CatalogueRow> {
            Ok(CatalogueRow {
                doc_id: r.get(0)?,
                heads: split(&r.get::<_, String>(1)?),
                version: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                received_at: r.get(3)?,
            })
        };
        self.read(|conn| {
            let rows = match (&scope.grids, scope.by_assignment) {
                (Some(grids), false) if scope.buildings.is_some() => {
                    // A building lead: the community's own documents, and of its grids the documents whose
                    // building is one of its own (its projections, its buildings' check-in logs, incidents and
                    // orders). Both lists are short and bounded at enrollment.
                    let keys = scope.buildings.as_deref().unwrap_or_default();
                    let grid_marks = (0..grids.len()).map(|i| format!("?{}", i + 4)).collect::<Vec<_>>().join(",");
                    let key_marks =
                        (0..keys.len()).map(|i| format!("?{}", i + 4 + grids.len())).collect::<Vec<_>>().join(",");
                    let sql = format!(
                        "SELECT doc_id, heads, version, received_at FROM document
                         WHERE community_id = ?1 AND version > ?2
                         AND (grid IS NULL OR (grid IN ({grid_marks}) AND building IN ({key_marks})))
                         ORDER BY version LIMIT ?3"
                    );
                    let mut values: Vec<rusqlite::types::Value> =
                        vec![scope.community_id.clone().into(), since.into(), limit.into()];
                    values.extend(grids.iter().map(|g| rusqlite::types::Value::from(g.clone())));
                    values.extend(keys.iter().map(|k| rusqlite::types::Value::from(k.clone())));
                    conn.prepare_cached(&sql)?
                        .query_map(rusqlite::params_from_iter(values), row)?
                        .collect::<rusqlite::Result<Vec<_>>>()?
                }
                (_, true) => conn
                    .prepare_cached(
                        // The community's own documents, and the orders dispatched to the user read from
                        // `document_audience`, rather than every document of the community written since.
                        "SELECT doc_id, heads, version, received_at FROM (
                           SELECT * FROM (SELECT doc_id, heads, version, received_at FROM document
                             WHERE community_id = ?1 AND grid IS NULL AND version > ?2 ORDER BY version LIMIT ?3)
                           UNION ALL
                           SELECT * FROM (SELECT doc_id, heads, version, received_at FROM document
                             WHERE community_id = ?1 AND audience = ?4 AND version > ?2 ORDER BY version LIMIT ?3)
                         ) ORDER BY version LIMIT ?3",
                    )?
                    .query_map(params![scope.community_id, since, limit, scope.user], row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?,
                (None, false) => conn
                    .prepare_cached(
                        // Buildings' projections are for building leads alone.
                        "SELECT doc_id, heads, version, received_at FROM document
                         WHERE community_id = ?1 AND version > ?2 AND doc_id NOT LIKE 'building:%'
                         ORDER BY version LIMIT ?3",
                    )?
                    .query_map(params![scope.community_id, since, limit], row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?,
                (Some(grids), false) => {
                    // Grid lists are short (a person walks one or a few grids): an IN list is bounded.
                    let marks = (0..grids.len()).map(|i| format!("?{}", i + 4)).collect::<Vec<_>>().join(",");
                    let sql = format!(
                        "SELECT doc_id, heads, version, received_at FROM document
                         WHERE community_id = ?1 AND version > ?2 AND doc_id NOT LIKE 'building:%'
                         AND (grid IS NULL OR grid IN ({marks})) ORDER BY version LIMIT ?3"
                    );
                    let mut values: Vec<rusqlite::types::Value> =
                        vec![scope.community_id.clone().into(), since.into(), limit.into()];
                    values.extend(grids.iter().map(|g| rusqlite::types::Value::from(g.clone())));
                    conn.prepare_cached(&sql)?
                        .query_map(rusqlite::params_from_iter(values), row)?
                        .collect::<rusqlite::Result<Vec<_>>>()?
                }
            };
            Ok(rows)
        })
    }

    fn building(&self, doc_id: &str) -> Result<Option<String>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT building FROM document WHERE doc_id = ?1")?
                .query_row([doc_id], |r| r.get::<_, Option<String>>(0))
                .optional()?
                .flatten())
        })
    }

    fn audience(&self, doc_id: &str) -> Result<Option<String>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT audience FROM document WHERE doc_id = ?1")?
                .query_row([doc_id], |r| r.get::<_, Option<String>>(0))
                .optional()?
                .flatten())
        })
    }

    fn catalogue_version(&self, _community_id: &str) -> Result<u64> {
        self.read(|conn| {
            let v: i64 = conn.query_row("SELECT value FROM meta WHERE key = 'catalogue_version'", [], |r| r.get(0))?;
            Ok(u64::try_from(v).unwrap_or(0))
        })
    }

    fn document_count(&self) -> Result<u64> {
        self.read(|conn| {
            let n: i64 = conn.query_row("SELECT COUNT(*) FROM document", [], |r| r.get(0))?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    fn compaction_candidates(&self, min_changes: u64, limit: usize) -> Result<Vec<String>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT doc_id FROM document WHERE pending > ?1 LIMIT ?2")?;
            let ids = stmt
                .query_map(params![i64::try_from(min_changes).unwrap_or(i64::MAX), limit as i64], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(ids)
        })
    }

    fn put_snapshot(&self, doc_id: &str, snapshot: &[u8], upto_seq: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE document SET snapshot = ?1, snapshot_seq = ?2,
                   pending = (SELECT COUNT(*) FROM change WHERE doc_id = ?3 AND seq > ?2)
                 WHERE doc_id = ?3 AND snapshot_seq <= ?2",
                params![snapshot, upto_seq, doc_id],
            )?;
            Ok(())
        })
    }

    fn blob_exists(&self, sha256: &str) -> Result<bool> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT 1 FROM blob WHERE sha256 = ?1")?
                .query_row([sha256], |_| Ok(()))
                .optional()?
                .is_some())
        })
    }

    fn put_blob(
        &self,
        sha256: &str,
        bytes: &[u8],
        uploaded_by: &str,
        day: i64,
        blob_bytes_per_day: u64,
    ) -> Result<std::result::Result<(), QuotaExceeded>> {
        self.write_unless(|tx| {
            let used: i64 = tx.query_row(
                "INSERT INTO device_usage (device_id, day, blob_bytes) VALUES (?1, ?2, ?3)
                 ON CONFLICT (device_id, day) DO UPDATE SET blob_bytes = blob_bytes + excluded.blob_bytes
                 RETURNING blob_bytes",
                params![uploaded_by, day, bytes.len() as i64],
                |r| r.get(0),
            )?;
            if u64::try_from(used).unwrap_or(u64::MAX) > blob_bytes_per_day {
                return Ok(Err(QuotaExceeded::BlobBytes));
            }
            tx.execute(
                "INSERT OR IGNORE INTO blob (sha256, bytes, uploaded_by, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![sha256, bytes, uploaded_by, now_secs()],
            )?;
            tx.execute(
                "INSERT OR IGNORE INTO blob_upload (sha256, device_id) VALUES (?1, ?2)",
                params![sha256, uploaded_by],
            )?;
            Ok(Ok(()))
        })
    }

    fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        self.read(|conn| {
            Ok(conn.query_row("SELECT bytes FROM blob WHERE sha256 = ?1", [sha256], |r| r.get(0)).optional()?)
        })
    }

    fn blob_uploaders(&self, sha256: &str, limit: usize) -> Result<Vec<String>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT device_id FROM blob_upload WHERE sha256 = ?1 LIMIT ?2")?;
            let rows = stmt.query_map(params![sha256, limit as i64], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
        })
    }

    fn blob_documents(&self, sha256: &str, limit: usize) -> Result<Vec<String>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT doc_id FROM blob_ref WHERE sha256 = ?1 LIMIT ?2")?;
            let rows = stmt.query_map(params![sha256, limit as i64], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
        })
    }
}

fn load_in(conn: &Connection, doc_id: &str) -> Result<Option<StoredDocument>> {
    let head: Option<(Option<Vec<u8>>, i64)> = conn
        .prepare_cached("SELECT snapshot, snapshot_seq FROM document WHERE doc_id = ?1")?
        .query_row([doc_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((snapshot, snapshot_seq)) = head else { return Ok(None) };
    let (changes, last) = changes_after_in(conn, doc_id, snapshot_seq)?;
    Ok(Some(StoredDocument { snapshot, changes, last_seq: last.max(snapshot_seq) }))
}

fn changes_after_in(conn: &Connection, doc_id: &str, after_seq: i64) -> Result<(Vec<Vec<u8>>, i64)> {
    let mut stmt = conn.prepare_cached("SELECT seq, bytes FROM change WHERE doc_id = ?1 AND seq > ?2 ORDER BY seq")?;
    let mut last = after_seq;
    let mut out = Vec::new();
    for row in stmt.query_map(params![doc_id, after_seq], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))? {
        let (seq, bytes) = row?;
        last = seq;
        out.push(bytes);
    }
    Ok((out, last))
}
