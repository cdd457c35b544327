//! `admin migrate`: moves a single-machine deployment's SQLite store into an empty PostgreSQL database with
//! nothing lost, and proves it before keeping anything.
//!
//! **One transaction.** Every table is copied inside one PostgreSQL transaction, compared with its source
//! inside that same transaction, and committed only when everything matches. A failure anywhere (a lost
//! connection, a full disk, a mismatch) therefore leaves the database as empty as it was, and trying again
//! is the whole of resuming. A resumable copy in many transactions would leave a half-filled database that
//! a server could be started on by mistake, and would have to tell its own half-copy from someone else's
//! data; a single-machine store is small enough for PostgreSQL to hold in one transaction.
//!
//! **Bounded memory.** Rows are streamed: SQLite's are read with one cursor per table and written in batches
//! of at most [`BATCH_ROWS`] rows or [`BATCH_BYTES`] bytes (one larger row, a big photo, goes alone); the
//! comparison fetches PostgreSQL's rows through a portal a few at a time and loads one document at a time.
//!
//! **Catalogue cursors.** SQLite keeps one catalogue version for the whole server; PostgreSQL keeps one per
//! community (`community_version`). Devices hold cursors taken from SQLite's counter, and so do the console's
//! replicas. Every document keeps its version as it was, and every community's version row starts at SQLite's
//! counter `G`, the highest cursor anyone can hold: a device at cursor `c` is listed, after the move, exactly
//! the documents SQLite would have listed above `c` (no re-listing of everything), and every later write
//! takes a version above `G`, hence above every cursor held (nothing skipped). A per-community row started at
//! that community's own highest document version instead would be below `G` whenever another community wrote
//! last, and a device at `G` would pass over the next writes.
//!
//! **The source is only read**, through a read-only connection in one read transaction, so every table comes
//! from the same moment. `serve` must be stopped first: what it wrote after that moment would stay behind
//! (the comparison, which loads every document again through the SQLite storage, fails when it sees such a
//! write).

use std::collections::BTreeMap;
use std::path::Path;

use automerge::{AutoCommit, ChangeHash};
use axum::http::StatusCode;
use deadpool_postgres::Transaction;
use gridline_core::ErrorCode;
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio_postgres::types::ToSql;

use super::postgres::{self, PgStorage};
use super::sqlite::SqliteStorage;
use super::{Storage, StoredDocument};
use crate::error::{Result, ServerError};

/// Most rows written to PostgreSQL in one statement.
pub const BATCH_ROWS: usize = 1000;

/// Most bytes (text and binary values) written to PostgreSQL in one statement, unless a single row is larger.
pub const BATCH_BYTES: usize = 8 << 20;

/// Documents whose ids are read at once for the comparison of their heads.
const DOCUMENT_PAGE: i64 = 256;

/// What `admin migrate` moved and checked.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationSummary {
    /// Rows of each kind, found equal in both stores (in key order, column by column).
    pub counts: BTreeMap<&'static str, u64>,
    /// Bytes of photos moved (compared by length and SHA-256).
    pub blob_bytes: u64,
    /// SQLite's catalogue version: every community's version in PostgreSQL continues from it.
    pub catalogue_version: u64,
    /// Documents loaded through both storages and found to have the same Automerge heads.
    pub documents_loaded: u64,
    /// Of those, documents whose snapshot neither storage could load into Automerge (moved byte for byte all
    /// the same).
    pub documents_unreadable: u64,
    /// True: every comparison passed (a mismatch is the error `migration_mismatch`, and nothing is kept).
    pub verified: bool,
}

/// Moves the SQLite store in `from` into the empty PostgreSQL database at `database_url` and compares the two,
/// all in one transaction that commits only when they match. Refused, with nothing written, when `from` holds
/// no store of this build's schema (`store_not_initialised`, `store_too_old`, `store_too_new`) or the
/// database holds data (`store_exists`); a mismatch is `migration_mismatch`.
pub fn migrate(from: &Path, database_url: &str) -> Result<MigrationSummary> {
    // The source first: a wrong directory is refused before the database is touched.
    let source = SqliteStorage::open_read_only(from)?;
    let target = PgStorage::open(database_url)?;
    source.read(|conn| {
        let snapshot = conn.unchecked_transaction()?;
        let out = target.write(async |tx| {
            refuse_unless_empty(tx).await?;
            for table in TABLES {
                let rows = copy_table(&snapshot, tx, table).await?;
                eprintln!("copied {rows} {}", table.label);
            }
            restart_sequences(tx).await?;
            eprintln!("comparing the two stores");
            compare(&snapshot, &source, tx).await
        });
        snapshot.finish()?;
        out
    })
}

/// Compares the SQLite store in `from` with the PostgreSQL database at `database_url` exactly as [`migrate`]
/// does before it commits; writes nothing.
pub fn verify(from: &Path, database_url: &str) -> Result<MigrationSummary> {
    let source = SqliteStorage::open_read_only(from)?;
    let target = PgStorage::open(database_url)?;
    source.read(|conn| {
        let snapshot = conn.unchecked_transaction()?;
        let out = target.write(async |tx| compare(&snapshot, &source, tx).await);
        snapshot.finish()?;
        out
    })
}

/// The type of a column, the same in both schemas but for booleans (SQLite's integers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    OptText,
    Int,
    Bool,
    Bytes,
    OptBytes,
}

impl Kind {
    fn pg_array(self) -> &'static str {
        match self {
            Kind::Text | Kind::OptText => "text[]",
            Kind::Int => "bigint[]",
            Kind::Bool => "boolean[]",
            Kind::Bytes | Kind::OptBytes => "bytea[]",
        }
    }
}

/// One table as both backends store it.
struct Table {
    /// Its name in PostgreSQL (and in SQLite, but for `community_version`, which SQLite does not have).
    name: &'static str,
    /// What the summary calls its rows.
    label: &'static str,
    /// Its rows in SQLite, in key order.
    sqlite: &'static str,
    /// The same columns in PostgreSQL, in the same order.
    columns: &'static str,
    /// The key order in PostgreSQL: text by bytes, as SQLite sorts it.
    order: &'static str,
    kinds: &'static [Kind],
    /// Rows fetched at once from PostgreSQL when comparing: few where one row may hold megabytes.
    fetch: i32,
}

impl Table {
    fn insert_sql(&self) -> String {
        let arrays: Vec<String> =
            self.kinds.iter().enumerate().map(|(i, k)| format!("${}::{}", i + 1, k.pg_array())).collect();
        format!("INSERT INTO {} ({}) SELECT * FROM UNNEST({})", self.name, self.columns, arrays.join(", "))
    }

    fn select_sql(&self) -> String {
        format!("SELECT {} FROM {} ORDER BY {}", self.columns, self.name, self.order)
    }

    fn column(&self, i: usize) -> &'static str {
        self.columns.split(',').nth(i).map_or("?", str::trim)
    }
}

use Kind::{Bool, Bytes, Int, OptBytes, OptText, Text};

/// SQLite's catalogue counter `G` (an expression): the highest cursor a device can hold.
macro_rules! sqlite_catalogue_version {
    () => {
        "MAX(COALESCE((SELECT value FROM meta WHERE key = 'catalogue_version'), 0),
             (SELECT COALESCE(MAX(version), 0) FROM document))"
    };
}

/// Every table the SQLite store holds, in the order they are copied, and the per-community catalogue version
/// PostgreSQL adds (every community's row at SQLite's counter; see the module's documentation).
const TABLES: &[Table] = &[
    Table {
        name: "community",
        label: "communities",
        sqlite: "SELECT community_id, name, created_at FROM community ORDER BY community_id",
        columns: "community_id, name, created_at",
        order: r#"community_id COLLATE "C""#,
        kinds: &[Text, Text, Int],
        fetch: 1024,
    },
    Table {
        name: "device",
        label: "devices",
        sqlite: "SELECT device_id, community_id, user, role, grids, public_key, token_hash, revoked, created_at,
                 buildings FROM device ORDER BY device_id",
        columns: "device_id, community_id, user_name, role, grids, public_key, token_hash, revoked, created_at, \
                  buildings",
        order: r#"device_id COLLATE "C""#,
        kinds: &[Text, Text, Text, Text, Text, Text, Text, Bool, Int, Text],
        fetch: 1024,
    },
    Table {
        name: "enrollment_code",
        label: "enrollment_codes",
        sqlite: "SELECT code_hash, community_id, user, role, grids, expires_at, used_by, buildings FROM enrollment_code
                 ORDER BY code_hash",
        columns: "code_hash, community_id, user_name, role, grids, expires_at, used_by, buildings",
        order: r#"code_hash COLLATE "C""#,
        kinds: &[Text, Text, Text, Text, Text, Int, OptText, Text],
        fetch: 1024,
    },
    Table {
        name: "document",
        label: "documents",
        sqlite: "SELECT doc_id, community_id, grid, version, heads, snapshot, snapshot_seq, pending, received_at,
                 audience, building FROM document ORDER BY doc_id",
        columns: "doc_id, community_id, grid, version, heads, snapshot, snapshot_seq, pending, received_at, audience, \
                  building",
        order: r#"doc_id COLLATE "C""#,
        kinds: &[Text, Text, OptText, Int, Text, OptBytes, Int, Int, Int, OptText, OptText],
        fetch: 16,
    },
    Table {
        name: "change",
        label: "changes",
        sqlite: "SELECT seq, doc_id, hash, bytes, received_at FROM change ORDER BY seq",
        columns: "seq, doc_id, hash, bytes, received_at",
        order: "seq",
        kinds: &[Int, Text, Text, Bytes, Int],
        fetch: 256,
    },
    Table {
        name: "sync_state",
        label: "sync_states",
        sqlite: "SELECT device_id, doc_id, state FROM sync_state ORDER BY device_id, doc_id",
        columns: "device_id, doc_id, state",
        order: r#"device_id COLLATE "C", doc_id COLLATE "C""#,
        kinds: &[Text, Text, Bytes],
        fetch: 256,
    },
    Table {
        name: "blob",
        label: "blobs",
        sqlite: "SELECT sha256, bytes, uploaded_by, created_at FROM blob ORDER BY sha256",
        columns: "sha256, bytes, uploaded_by, created_at",
        order: r#"sha256 COLLATE "C""#,
        kinds: &[Text, Bytes, Text, Int],
        fetch: 1,
    },
    Table {
        name: "blob_upload",
        label: "blob_uploaders",
        sqlite: "SELECT sha256, device_id FROM blob_upload ORDER BY sha256, device_id",
        columns: "sha256, device_id",
        order: r#"sha256 COLLATE "C", device_id COLLATE "C""#,
        kinds: &[Text, Text],
        fetch: 1024,
    },
    Table {
        name: "blob_ref",
        label: "blob_documents",
        sqlite: "SELECT sha256, doc_id, community_id, grid FROM blob_ref ORDER BY sha256, doc_id",
        columns: "sha256, doc_id, community_id, grid",
        order: r#"sha256 COLLATE "C", doc_id COLLATE "C""#,
        kinds: &[Text, Text, Text, OptText],
        fetch: 1024,
    },
    Table {
        name: "device_usage",
        label: "device_usage_days",
        sqlite: "SELECT device_id, day, new_docs, blob_bytes FROM device_usage ORDER BY device_id, day",
        columns: "device_id, day, new_docs, blob_bytes",
        order: r#"device_id COLLATE "C", day"#,
        kinds: &[Text, Int, Int, Int],
        fetch: 1024,
    },
    Table {
        name: "document_usage",
        label: "document_usage_days",
        sqlite: "SELECT device_id, doc_id, day, bytes FROM document_usage ORDER BY device_id, doc_id, day",
        columns: "device_id, doc_id, day, bytes",
        order: r#"device_id COLLATE "C", doc_id COLLATE "C", day"#,
        kinds: &[Text, Text, Int, Int],
        fetch: 1024,
    },
    Table {
        name: "staff",
        label: "staff",
        sqlite: "SELECT staff_id, community_id, user, role, password_hash, disabled, created_at FROM staff
                 ORDER BY staff_id",
        columns: "staff_id, community_id, user_name, role, password_hash, disabled, created_at",
        order: r#"staff_id COLLATE "C""#,
        kinds: &[Text, Text, Text, Text, Text, Bool, Int],
        fetch: 1024,
    },
    Table {
        name: "console_session",
        label: "console_sessions",
        sqlite: "SELECT token_hash, staff_id, csrf, created_at, last_seen FROM console_session ORDER BY token_hash",
        columns: "token_hash, staff_id, csrf, created_at, last_seen",
        order: r#"token_hash COLLATE "C""#,
        kinds: &[Text, Text, Text, Int, Int],
        fetch: 1024,
    },
    Table {
        name: "setup_token",
        label: "setup_tokens",
        sqlite: "SELECT token_hash, expires_at FROM setup_token ORDER BY token_hash",
        columns: "token_hash, expires_at",
        order: r#"token_hash COLLATE "C""#,
        kinds: &[Text, Int],
        fetch: 1024,
    },
    Table {
        name: "audit_log",
        label: "audit_entries",
        sqlite: "SELECT id, at, community_id, user, action, target, detail, address FROM audit_log ORDER BY id",
        columns: "id, at, community_id, user_name, action, target, detail, address",
        order: "id",
        kinds: &[Int, Int, Text, Text, Text, Text, Text, Text],
        fetch: 1024,
    },
    Table {
        name: "sign_in_throttle",
        label: "sign_in_throttles",
        sqlite: "SELECT key, failures, since FROM sign_in_throttle ORDER BY key",
        columns: "key, failures, since",
        order: r#"key COLLATE "C""#,
        kinds: &[Text, Int, Int],
        fetch: 1024,
    },
    Table {
        name: "saved_view",
        label: "saved_views",
        sqlite: "SELECT view_id, community_id, name, query, created_by FROM saved_view ORDER BY view_id",
        columns: "view_id, community_id, name, query, created_by",
        order: r#"view_id COLLATE "C""#,
        kinds: &[Text, Text, Text, Text, Text],
        fetch: 1024,
    },
    Table {
        name: "response_template",
        label: "response_templates",
        sqlite: "SELECT template_id, community_id, category, action, text FROM response_template
                 ORDER BY template_id",
        columns: "template_id, community_id, category, action, text",
        order: r#"template_id COLLATE "C""#,
        kinds: &[Text, Text, Text, Text, Text],
        fetch: 1024,
    },
    Table {
        name: "community_version",
        label: "community_versions",
        // Every community, registered or named by a document, at SQLite's counter.
        sqlite: concat!(
            "SELECT community_id, ",
            sqlite_catalogue_version!(),
            " FROM (SELECT community_id FROM community UNION SELECT community_id FROM document)
             ORDER BY community_id"
        ),
        columns: "community_id, version",
        order: r#"community_id COLLATE "C""#,
        kinds: &[Text, Int],
        fetch: 1024,
    },
];

/// A value read from either store. When comparing, binary values are read as their length and SHA-256.
#[derive(Debug, PartialEq, Eq)]
enum Value {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    Digest(u64, [u8; 32]),
}

impl Value {
    fn digest(bytes: &[u8]) -> Value {
        Value::Digest(bytes.len() as u64, Sha256::digest(bytes).into())
    }

    fn size(&self) -> usize {
        match self {
            Value::Text(t) => t.len(),
            Value::Bytes(b) => b.len(),
            _ => 8,
        }
    }
}

/// A SQLite row as values; binary values as digests when `digest`.
fn sqlite_row(row: &rusqlite::Row<'_>, kinds: &[Kind], digest: bool) -> Result<Vec<Value>> {
    let mut out = Vec::with_capacity(kinds.len());
    for (i, kind) in kinds.iter().enumerate() {
        let value = match (kind, row.get_ref(i)?) {
            (_, ValueRef::Null) if matches!(kind, Kind::OptText | Kind::OptBytes) => Value::Null,
            (Kind::Text | Kind::OptText, _) => Value::Text(row.get(i)?),
            (Kind::Int, _) => Value::Int(row.get(i)?),
            (Kind::Bool, _) => Value::Int(i64::from(row.get::<_, i64>(i)? != 0)),
            (Kind::Bytes | Kind::OptBytes, ValueRef::Blob(b)) if digest => Value::digest(b),
            (Kind::Bytes | Kind::OptBytes, _) => Value::Bytes(row.get(i)?),
        };
        out.push(value);
    }
    Ok(out)
}

/// A PostgreSQL row as values; binary values as digests when `digest`.
fn pg_row(row: &tokio_postgres::Row, kinds: &[Kind], digest: bool) -> Result<Vec<Value>> {
    let mut out = Vec::with_capacity(kinds.len());
    for (i, kind) in kinds.iter().enumerate() {
        let value = match kind {
            Kind::Text | Kind::OptText => row.try_get::<_, Option<String>>(i)?.map_or(Value::Null, Value::Text),
            Kind::Int => Value::Int(row.try_get(i)?),
            Kind::Bool => Value::Int(i64::from(row.try_get::<_, bool>(i)?)),
            Kind::Bytes | Kind::OptBytes => match row.try_get::<_, Option<&[u8]>>(i)? {
                None => Value::Null,
                Some(b) if digest => Value::digest(b),
                Some(b) => Value::Bytes(b.to_vec()),
            },
        };
        out.push(value);
    }
    Ok(out)
}

/// One column of a batch, as PostgreSQL takes it (an array per column, unnested into rows).
enum Column {
    Text(Vec<Option<String>>),
    Int(Vec<i64>),
    Bool(Vec<bool>),
    Bytes(Vec<Option<Vec<u8>>>),
}

impl Column {
    fn new(kind: Kind, rows: usize) -> Column {
        match kind {
            Kind::Text | Kind::OptText => Column::Text(Vec::with_capacity(rows)),
            Kind::Int => Column::Int(Vec::with_capacity(rows)),
            Kind::Bool => Column::Bool(Vec::with_capacity(rows)),
            Kind::Bytes | Kind::OptBytes => Column::Bytes(Vec::with_capacity(rows)),
        }
    }

    fn push(&mut self, value: Value) -> Result<()> {
        match (self, value) {
            (Column::Text(c), Value::Text(t)) => c.push(Some(t)),
            (Column::Text(c), Value::Null) => c.push(None),
            (Column::Int(c), Value::Int(n)) => c.push(n),
            (Column::Bool(c), Value::Int(n)) => c.push(n != 0),
            (Column::Bytes(c), Value::Bytes(b)) => c.push(Some(b)),
            (Column::Bytes(c), Value::Null) => c.push(None),
            (_, value) => return Err(ServerError::internal(format!("migration: {value:?} in the wrong column"))),
        }
        Ok(())
    }

    fn param(&self) -> &(dyn ToSql + Sync) {
        match self {
            Column::Text(c) => c,
            Column::Int(c) => c,
            Column::Bool(c) => c,
            Column::Bytes(c) => c,
        }
    }
}

/// Rows waiting to be written.
struct Batch {
    kinds: &'static [Kind],
    rows: Vec<Vec<Value>>,
    bytes: usize,
}

impl Batch {
    fn push(&mut self, row: Vec<Value>) {
        self.bytes += row.iter().map(Value::size).sum::<usize>();
        self.rows.push(row);
    }

    fn full(&self) -> bool {
        self.rows.len() >= BATCH_ROWS || self.bytes >= BATCH_BYTES
    }

    async fn flush(&mut self, tx: &Transaction<'_>, insert: &tokio_postgres::Statement) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let mut columns: Vec<Column> = self.kinds.iter().map(|k| Column::new(*k, self.rows.len())).collect();
        for row in self.rows.drain(..) {
            for (column, value) in columns.iter_mut().zip(row) {
                column.push(value)?;
            }
        }
        self.bytes = 0;
        let params: Vec<&(dyn ToSql + Sync)> = columns.iter().map(Column::param).collect();
        tx.execute(insert, &params).await?;
        Ok(())
    }
}

/// Refuses a database that holds anything but a first-start setup link (which a server started on the empty
/// database leaves, and which is replaced by the source's). Its tables stay locked against writers until the
/// transaction ends, so a server started meanwhile cannot write between this check and the copy.
async fn refuse_unless_empty(tx: &Transaction<'_>) -> Result<()> {
    let names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
    tx.batch_execute(&format!("LOCK TABLE {} IN EXCLUSIVE MODE", names.join(", "))).await?;
    let mut held = Vec::new();
    for name in names.into_iter().filter(|n| *n != "setup_token") {
        let any: bool = tx.query_one(&format!("SELECT EXISTS (SELECT 1 FROM {name})"), &[]).await?.try_get(0)?;
        if any {
            held.push(name);
        }
    }
    if !held.is_empty() {
        return Err(ServerError::bad_request(
            ErrorCode::StoreExists,
            format!(
                "the database already holds data (in {}): move into an empty database; nothing was written",
                held.join(", ")
            ),
        ));
    }
    tx.execute("DELETE FROM setup_token", &[]).await?;
    Ok(())
}

/// Copies one table, streaming; returns the rows copied.
async fn copy_table(conn: &Connection, tx: &Transaction<'_>, table: &Table) -> Result<u64> {
    let insert = tx.prepare(&table.insert_sql()).await?;
    let mut stmt = conn.prepare(table.sqlite)?;
    let mut rows = stmt.query([])?;
    let mut batch = Batch { kinds: table.kinds, rows: Vec::new(), bytes: 0 };
    let mut copied = 0u64;
    while let Some(row) = rows.next()? {
        batch.push(sqlite_row(row, table.kinds, false)?);
        copied += 1;
        if batch.full() {
            batch.flush(tx, &insert).await?;
        }
    }
    batch.flush(tx, &insert).await?;
    Ok(copied)
}

/// Changes and audit entries keep their numbers (a document's snapshot names the last change it covers);
/// the next ones PostgreSQL numbers follow them.
async fn restart_sequences(tx: &Transaction<'_>) -> Result<()> {
    for (table, column) in [("change", "seq"), ("audit_log", "id")] {
        tx.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), COALESCE(MAX({column}), 0) + 1, false)
                 FROM {table}"
            ),
            &[],
        )
        .await?;
    }
    Ok(())
}

fn mismatch(what: impl std::fmt::Display) -> ServerError {
    ServerError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::MigrationMismatch,
        format!("{what} (was serve still running on the data directory?)"),
    )
}

/// Compares the two stores: every table row by row in key order (binary values by length and SHA-256), then
/// every document loaded through both storages into Automerge.
async fn compare(conn: &Connection, source: &SqliteStorage, tx: &Transaction<'_>) -> Result<MigrationSummary> {
    let mut counts = BTreeMap::new();
    let mut blob_bytes = 0;
    for table in TABLES {
        let (rows, bytes) = compare_table(conn, tx, table).await?;
        counts.insert(table.label, rows);
        if table.name == "blob" {
            blob_bytes = bytes;
        }
    }
    let catalogue_version: i64 = conn.query_row(concat!("SELECT ", sqlite_catalogue_version!()), [], |r| r.get(0))?;
    let (documents_loaded, documents_unreadable) = compare_documents(conn, source, tx).await?;
    Ok(MigrationSummary {
        counts,
        blob_bytes,
        catalogue_version: u64::try_from(catalogue_version).unwrap_or(0),
        documents_loaded,
        documents_unreadable,
        verified: true,
    })
}

/// Walks a table in both stores at once; returns its rows and the bytes of its binary values. Values are not
/// named in errors (some are secrets' hashes): the table, the row's place and the column are.
async fn compare_table(conn: &Connection, tx: &Transaction<'_>, table: &Table) -> Result<(u64, u64)> {
    let mut stmt = conn.prepare(table.sqlite)?;
    let mut source = stmt.query([])?;
    let select = tx.prepare(&table.select_sql()).await?;
    let portal = tx.bind(&select, &[]).await?;
    let (mut rows, mut bytes) = (0u64, 0u64);
    loop {
        let fetched = tx.query_portal(&portal, table.fetch).await?;
        for row in &fetched {
            let got = pg_row(row, table.kinds, true)?;
            let Some(want) = source.next()? else {
                return Err(mismatch(format!("{}: PostgreSQL holds more than the {rows} rows of SQLite", table.name)));
            };
            let want = sqlite_row(want, table.kinds, true)?;
            if let Some(i) = (0..want.len()).find(|i| want[*i] != got[*i]) {
                return Err(mismatch(format!(
                    "{}: row {} (in key order) differs in column {}",
                    table.name,
                    rows + 1,
                    table.column(i)
                )));
            }
            bytes += got.iter().map(|v| if let Value::Digest(n, _) = v { *n } else { 0 }).sum::<u64>();
            rows += 1;
        }
        if fetched.len() < table.fetch as usize {
            break;
        }
    }
    if source.next()?.is_some() {
        return Err(mismatch(format!("{}: PostgreSQL holds only {rows} rows, SQLite more", table.name)));
    }
    Ok((rows, bytes))
}

/// Loads every document through both storages and compares the stored forms and the Automerge heads they
/// load to; returns the documents compared and how many of them neither storage could load.
async fn compare_documents(conn: &Connection, source: &SqliteStorage, tx: &Transaction<'_>) -> Result<(u64, u64)> {
    let (mut loaded, mut unreadable) = (0u64, 0u64);
    let mut after = String::new();
    loop {
        let ids = {
            let mut stmt =
                conn.prepare_cached("SELECT doc_id FROM document WHERE doc_id > ?1 ORDER BY doc_id LIMIT ?2")?;
            let ids = stmt.query_map(rusqlite::params![after, DOCUMENT_PAGE], |r| r.get::<_, String>(0))?;
            ids.collect::<rusqlite::Result<Vec<String>>>()?
        };
        let Some(last) = ids.last() else { break };
        after = last.clone();
        for doc_id in &ids {
            let want = source.load_document(doc_id)?;
            let got = postgres::load_in(tx, doc_id).await?;
            let (Some(want), Some(got)) = (want, got) else {
                return Err(mismatch(format!("document {doc_id}: missing from one of the stores")));
            };
            if !same_stored(&want, &got) {
                return Err(mismatch(format!("document {doc_id}: its stored changes differ")));
            }
            let heads = heads(&want);
            if heads != self::heads(&got) {
                return Err(mismatch(format!("document {doc_id}: its Automerge heads differ")));
            }
            if heads.is_none() {
                unreadable += 1;
            }
            loaded += 1;
        }
    }
    Ok((loaded, unreadable))
}

fn same_stored(a: &StoredDocument, b: &StoredDocument) -> bool {
    a.snapshot == b.snapshot && a.changes == b.changes && a.last_seq == b.last_seq
}

/// The heads of a stored document loaded as the engine loads it (a change Automerge refuses is left out);
/// `None` when its snapshot does not load.
fn heads(stored: &StoredDocument) -> Option<Vec<ChangeHash>> {
    let mut doc = match &stored.snapshot {
        Some(s) => AutoCommit::load(s).ok()?,
        None => AutoCommit::new(),
    };
    for change in &stored.changes {
        let _ = doc.load_incremental(change);
    }
    Some(doc.get_heads())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The copy and the comparison name the same columns on both sides.
    #[test]
    fn every_table_names_as_many_columns_as_it_has_kinds() {
        for t in TABLES {
            assert_eq!(t.columns.split(',').count(), t.kinds.len(), "{}", t.name);
            let select = t.sqlite.split("FROM ").next().unwrap_or_default();
            // The SQLite query's select list (the derived community_version row aside) has as many columns.
            if t.name != "community_version" {
                assert_eq!(select.split(',').count(), t.kinds.len(), "{}", t.name);
            }
        }
    }

    #[test]
    fn every_sqlite_table_is_copied() {
        let dir = tempfile::tempdir().expect("tempdir");
        drop(SqliteStorage::open(dir.path()).expect("open"));
        let conn = Connection::open(dir.path().join(super::super::sqlite::DB_FILE)).expect("open");
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .expect("tables");
        let tables: Vec<String> =
            stmt.query_map([], |r| r.get(0)).expect("query").collect::<rusqlite::Result<_>>().expect("names");
        for name in tables {
            // `meta` holds the catalogue counter, carried by community_version.
            assert!(name == "meta" || TABLES.iter().any(|t| t.name == name), "{name} is not migrated");
        }
    }
}
