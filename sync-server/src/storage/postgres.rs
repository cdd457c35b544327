//! The PostgreSQL backend, for deployments that outgrow one machine (and, once processes tell each other
//! about writes, for several server processes on one database). It behaves exactly as the SQLite backend
//! does, method for method; where PostgreSQL's concurrency differs from SQLite's single writer, the
//! transactions below take row locks so that the outcome is the same.
//!
//! The catalogue cursor is the point where that matters most. A device syncs "what changed after version
//! N" and then stores the highest version it saw, so a version that becomes visible after a larger one was
//! already read would be skipped forever. Versions therefore come from a per-community row
//! (`community_version`) bumped inside the writing transaction: its row lock is held until commit, so two
//! writers of one community commit in the order of their versions, and whoever sees version N also sees
//! every version below it (PROTOCOL.md, "Catalogue cursors").
//!
//! The storage trait is synchronous and is called from blocking threads; each method runs its queries on a
//! small runtime owned by the backend (`Handle::block_on` from a blocking thread is sound, and the pool's
//! connections are driven by that runtime's own worker even while no method runs).

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

// The pool's client and transaction types: the driver's, plus a per-connection cache of prepared statements
// (`prepare_cached`), which the hot paths use to save a round trip per query.
use deadpool_postgres::{Client, GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use tokio_postgres::{IsolationLevel, NoTls, Row};

use super::{
    CatalogueRow, Community, Device, DocumentWrite, EnrollmentCode, Quota, QuotaExceeded, ReadScope, Storage,
    StoredDocument,
};
use crate::error::{Result, ServerError};
use gridline_core::model::Role;

mod console;

/// Connections the pool keeps at most: the server's blocking threads plus the console's feed and admin work.
const POOL_SIZE: usize = 16;

/// How long a method waits for a free connection, or for a new one to open, before failing.
const POOL_WAIT: Duration = Duration::from_secs(30);

/// Any number: the advisory lock that lets only one process migrate the schema at a time.
const MIGRATION_LOCK: i64 = 0x6772_6964_6c69_6e65;

/// Schema 1: every table of SQLite's schemas 1 to 3, plus the per-community catalogue version.
const SCHEMA_1: &str = "
CREATE TABLE community (
    community_id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE community_version (
    community_id TEXT PRIMARY KEY, version BIGINT NOT NULL);
CREATE TABLE device (
    device_id TEXT PRIMARY KEY, community_id TEXT NOT NULL, user_name TEXT NOT NULL, role TEXT NOT NULL,
    grids TEXT NOT NULL, public_key TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
    revoked BOOLEAN NOT NULL DEFAULT FALSE, created_at BIGINT NOT NULL);
CREATE TABLE enrollment_code (
    code_hash TEXT PRIMARY KEY, community_id TEXT NOT NULL, user_name TEXT NOT NULL, role TEXT NOT NULL,
    grids TEXT NOT NULL, expires_at BIGINT NOT NULL, used_by TEXT);
CREATE TABLE document (
    doc_id TEXT PRIMARY KEY, community_id TEXT NOT NULL, grid TEXT, version BIGINT NOT NULL,
    heads TEXT NOT NULL, snapshot BYTEA, snapshot_seq BIGINT NOT NULL DEFAULT 0,
    pending BIGINT NOT NULL DEFAULT 0, received_at BIGINT NOT NULL DEFAULT 0);
CREATE INDEX document_catalogue ON document (community_id, version);
CREATE TABLE change (
    seq BIGSERIAL PRIMARY KEY, doc_id TEXT NOT NULL, hash TEXT NOT NULL, bytes BYTEA NOT NULL,
    received_at BIGINT NOT NULL DEFAULT 0, UNIQUE (doc_id, hash));
CREATE INDEX change_by_doc ON change (doc_id, seq);
CREATE TABLE sync_state (
    device_id TEXT NOT NULL, doc_id TEXT NOT NULL, state BYTEA NOT NULL, PRIMARY KEY (device_id, doc_id));
CREATE TABLE blob (
    sha256 TEXT PRIMARY KEY, bytes BYTEA NOT NULL, uploaded_by TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE blob_upload (
    sha256 TEXT NOT NULL, device_id TEXT NOT NULL, PRIMARY KEY (sha256, device_id));
CREATE TABLE blob_ref (
    sha256 TEXT NOT NULL, doc_id TEXT NOT NULL, community_id TEXT NOT NULL, grid TEXT,
    PRIMARY KEY (sha256, doc_id));
CREATE TABLE device_usage (
    device_id TEXT NOT NULL, day BIGINT NOT NULL, new_docs BIGINT NOT NULL DEFAULT 0,
    blob_bytes BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (device_id, day));
CREATE TABLE document_usage (
    device_id TEXT NOT NULL, doc_id TEXT NOT NULL, day BIGINT NOT NULL, bytes BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, doc_id, day));
";

/// Schema 3: a grid device's catalogue read goes straight to its grids' documents. With only
/// `document_catalogue`, each read walked every document of the community written since the device's cursor
/// (thousands by the end of a busy day, 3–10 ms a read) to keep the few of its grids.
const SCHEMA_3: &str = "
CREATE INDEX document_grid_catalogue ON document (community_id, grid, version);
";

/// Schema 5: each document's audience, the user name of a service order's current volunteer (NULL for every
/// other document), and the index a volunteer's catalogue read goes straight to.
const SCHEMA_5: &str = "
ALTER TABLE document ADD COLUMN audience TEXT;
CREATE INDEX document_audience ON document (community_id, audience, version) WHERE audience IS NOT NULL;
";

/// Schema 6: a building lead's buildings on its device row and enrollment code, and each document's building
/// (the key of the building it concerns, NULL otherwise) with the index a building lead's catalogue reads.
const SCHEMA_6: &str = "
ALTER TABLE device ADD COLUMN buildings TEXT NOT NULL DEFAULT '';
ALTER TABLE enrollment_code ADD COLUMN buildings TEXT NOT NULL DEFAULT '';
ALTER TABLE document ADD COLUMN building TEXT;
CREATE INDEX document_building ON document (community_id, building, version) WHERE building IS NOT NULL;
";

/// The schema, version by version; a database at version N runs the scripts after N, in one transaction.
const MIGRATIONS: &[(i32, &str)] =
    &[(1, SCHEMA_1), (2, console::SCHEMA_2), (3, SCHEMA_3), (4, console::SCHEMA_4), (5, SCHEMA_5), (6, SCHEMA_6)];

/// PostgreSQL storage: a connection pool and the runtime that drives it.
pub struct PgStorage {
    pool: Pool,
    /// Where the listener of [`Storage::watch_writes`] connects.
    config: tokio_postgres::Config,
    /// This storage's mark in the notifications its writes send, so that its listener skips its own.
    writer: String,
    handle: tokio::runtime::Handle,
    /// Kept only to be shut down without blocking on drop (dropping a runtime inside another's async
    /// context would panic, and `serve` drops its engine there).
    runtime: Option<tokio::runtime::Runtime>,
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

fn role_of(code: &str) -> Result<Role> {
    code.parse::<Role>().map_err(|e| ServerError::storage(format!("stored role {code:?}: {e}")))
}

fn split(s: &str) -> Vec<String> {
    gridline_core::docs::split_list(s)
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

const DEVICE_COLUMNS: &str = "device_id, community_id, user_name, role, grids, public_key, revoked, buildings";

fn device_row(r: &Row) -> Result<Device> {
    Ok(Device {
        device_id: r.try_get(0)?,
        community_id: r.try_get(1)?,
        user: r.try_get(2)?,
        role: role_of(r.try_get(3)?)?,
        grids: split(r.try_get(4)?),
        public_key: r.try_get(5)?,
        revoked: r.try_get(6)?,
        buildings: split(r.try_get(7)?),
    })
}

/// Inserts a device row (an enrolled phone, or a staff account's actor).
async fn insert_device(tx: &Transaction<'_>, d: &Device, token_hash: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO device (device_id, community_id, user_name, role, grids, public_key, token_hash, created_at,
           buildings)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &d.device_id,
            &d.community_id,
            &d.user,
            &d.role.code(),
            &d.grids.join(";"),
            &d.public_key,
            &token_hash,
            &now_secs(),
            &d.buildings.join(";"),
        ],
    )
    .await?;
    Ok(())
}

/// Brings the schema up to date. The advisory lock makes a second process starting at the same moment wait,
/// then find nothing left to do.
async fn migrate(client: &mut Client) -> Result<()> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)").await?;
    let current: i32 = tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[]).await?.try_get(0)?;
    for (version, script) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(script).await?;
        tx.execute("DELETE FROM schema_version", &[]).await?;
        tx.execute("INSERT INTO schema_version (version) VALUES ($1)", &[version]).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The channel on which every write is announced to the other processes on the database.
const WRITES_CHANNEL: &str = "gridline_writes";

/// How long the listener waits before connecting again after losing its connection.
const LISTEN_RETRY: Duration = Duration::from_secs(1);

/// Announces a committed write to every process listening, once per community written. The payload is
/// `"<writer> <community>"`.
///
/// It is sent after the write's commit, in a statement of its own, never inside the writing transaction:
/// PostgreSQL serialises the commits of all transactions that notify (a database-wide lock, taken before the
/// commit and held until its WAL record is flushed), so writes of different communities, and the flush of
/// each, would wait for one another. A notification-only statement writes no WAL and holds that lock for
/// moments. An announcement lost to a crash between the two is made up by the console feed's poll.
async fn announce(client: &Client, writer: &str, writes: &[DocumentWrite]) -> Result<()> {
    let communities: std::collections::BTreeSet<&str> = writes.iter().map(|w| w.scope.community_id.as_str()).collect();
    let notify = client.prepare_cached("SELECT pg_notify($1, $2)").await?;
    for community in communities {
        client.execute(&notify, &[&WRITES_CHANNEL, &format!("{writer} {community}")]).await?;
    }
    Ok(())
}

/// Listens on [`WRITES_CHANNEL`] until the connection fails, calling `on_write` for every other writer's
/// write, and once with `None` as soon as it listens (writes made while it was not listening are unknown).
async fn listen(config: &tokio_postgres::Config, writer: &str, on_write: &super::WriteWatcher) -> Result<()> {
    use tokio_postgres::AsyncMessage;
    let (client, mut connection) = config.connect(NoTls).await?;
    let mine = format!("{writer} ");
    let messages = async {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) if !n.payload().starts_with(&mine) => {
                    on_write(n.payload().split_once(' ').map(|(_, community)| community));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(ServerError::from(e)),
                None => return Err(ServerError::storage("the database closed the listening connection")),
            }
        }
    };
    let subscribe = async {
        client.batch_execute(&format!("LISTEN {WRITES_CHANNEL}")).await?;
        on_write(None);
        std::future::pending::<Result<()>>().await
    };
    tokio::select! {
        r = messages => r,
        r = subscribe => r,
    }
}

impl PgStorage {
    /// Connects to the database at `url` (`postgres://user@host:port/database`) and creates or upgrades its
    /// schema. Connections are made without TLS: the database is meant to be reached over loopback, a Unix
    /// socket or a private network.
    pub fn open(url: &str) -> Result<PgStorage> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| ServerError::storage(format!("database URL: {e}")))?;
        // One worker drives every pooled connection's socket; the queries themselves are awaited on the
        // calling (blocking) threads.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("postgres")
            .enable_all()
            .build()?;
        let manager =
            Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(POOL_WAIT))
            .build()
            .map_err(ServerError::storage)?;
        let writer = uuid::Uuid::now_v7().simple().to_string();
        let storage = PgStorage { pool, config, writer, handle: runtime.handle().clone(), runtime: Some(runtime) };
        storage.run(async {
            let mut client = storage.pool.get().await?;
            migrate(&mut client).await
        })?;
        Ok(storage)
    }

    fn run<T>(&self, f: impl Future<Output = Result<T>>) -> Result<T> {
        self.handle.block_on(f)
    }

    /// Runs `f` on a pooled connection, each statement in its own transaction.
    fn read<T>(&self, f: impl AsyncFnOnce(&Client) -> Result<T>) -> Result<T> {
        self.run(async {
            let client = self.pool.get().await?;
            f(&client).await
        })
    }

    /// Runs `f` in one transaction, committed when it returns `Ok`.
    pub(super) fn write<T>(&self, f: impl AsyncFnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        self.run(async {
            let mut client = self.pool.get().await?;
            let tx = client.transaction().await?;
            let out = f(&tx).await?;
            tx.commit().await?;
            Ok(out)
        })
    }

    /// A write that commits only when `f` does not refuse it (a refused quota leaves no usage counted).
    fn write_unless<T>(
        &self,
        f: impl AsyncFnOnce(&Transaction<'_>) -> Result<std::result::Result<T, QuotaExceeded>>,
    ) -> Result<std::result::Result<T, QuotaExceeded>> {
        self.run(async {
            let mut client = self.pool.get().await?;
            let tx = client.transaction().await?;
            let out = f(&tx).await?;
            if out.is_ok() {
                tx.commit().await?;
            }
            Ok(out)
        })
    }
}

impl Drop for PgStorage {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Takes the next `count` catalogue versions of a community; returns the first. The row stays locked until
/// the transaction ends, which is what orders commits by version.
async fn take_versions(tx: &Transaction<'_>, community_id: &str, count: i64) -> Result<i64> {
    let sql = tx
        .prepare_cached(
            "INSERT INTO community_version (community_id, version) VALUES ($1, $2)
             ON CONFLICT (community_id) DO UPDATE SET version = community_version.version + excluded.version
             RETURNING version",
        )
        .await?;
    let last: i64 = tx.query_one(&sql, &[&community_id, &count]).await?.try_get(0)?;
    Ok(last - count + 1)
}

async fn last_seq(tx: &Transaction<'_>, doc_id: &str) -> Result<i64> {
    let sql = tx.prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM change WHERE doc_id = $1").await?;
    Ok(tx.query_one(&sql, &[&doc_id]).await?.try_get(0)?)
}

/// Stores one document's changes and blob references and works out its heads; returns the last sequence
/// number before and after, how many changes were new, and the heads. Its catalogue version (and the heads) are
/// set last, by [`set_versions`]. A write names each document once (the engine refuses a round that names one
/// twice).
async fn append_one(tx: &Transaction<'_>, w: &DocumentWrite, received_at: i64) -> Result<(i64, i64, i64, String)> {
    // The document row is locked first: the change sequence numbers of one document are then taken and
    // committed in the same order, so a reader that saw sequence n never later finds a smaller one appear. A new
    // row's version 0 is never seen: the version is set before the commit. The upsert returns the stored heads
    // (on a conflict those of the latest committed row; on an insert the writer's, which are then exact).
    let upsert = tx
        .prepare_cached(
            "INSERT INTO document (doc_id, community_id, grid, version, heads, received_at, audience, building)
             VALUES ($1, $2, $3, 0, $4, $5, $6, $7)
             ON CONFLICT (doc_id) DO UPDATE SET received_at = excluded.received_at, audience = excluded.audience,
               building = excluded.building
             RETURNING heads",
        )
        .await?;
    let stored: String = tx
        .query_one(
            &upsert,
            &[
                &w.doc_id,
                &w.scope.community_id,
                &w.scope.grid,
                &w.heads.join(";"),
                &received_at,
                &w.audience,
                &w.building,
            ],
        )
        .await?
        .try_get(0)?;
    let before = last_seq(tx, &w.doc_id).await?;
    // All the changes in one statement (a day's check-ins are dozens of changes), in the order given. Under the
    // row lock nobody else adds to the document, so the last sequence number after is the largest one taken.
    let insert = tx
        .prepare_cached(
            "INSERT INTO change (doc_id, hash, bytes, received_at)
             SELECT $1, c.hash, c.bytes, $4 FROM unnest($2::text[], $3::bytea[]) WITH ORDINALITY AS c(hash, bytes, n)
             ORDER BY c.n
             ON CONFLICT (doc_id, hash) DO NOTHING RETURNING seq, hash",
        )
        .await?;
    let hashes: Vec<&str> = w.changes.iter().map(|(h, _)| h.as_str()).collect();
    let bytes: Vec<&[u8]> = w.changes.iter().map(|(_, b)| b.as_slice()).collect();
    let rows = tx.query(&insert, &[&w.doc_id, &hashes, &bytes, &received_at]).await?;
    let mut after = before;
    let mut added = Vec::with_capacity(rows.len());
    for row in &rows {
        after = after.max(row.try_get(0)?);
        added.push(row.try_get::<_, &str>(1)?);
    }
    let heads = super::heads_after(w, before, &stored, &added)?;
    if !w.blobs.is_empty() {
        let blob_ref = tx
            .prepare_cached(
                "INSERT INTO blob_ref (sha256, doc_id, community_id, grid)
                 SELECT b, $2, $3, $4 FROM unnest($1::text[]) AS b ON CONFLICT DO NOTHING",
            )
            .await?;
        tx.execute(&blob_ref, &[&w.blobs, &w.doc_id, &w.scope.community_id, &w.scope.grid]).await?;
    }
    Ok((before, after, to_i64(added.len() as u64), heads))
}

/// Sets the catalogue version and heads of each written document (by id) and counts its new changes toward
/// its next compaction, in one statement.
async fn set_versions(tx: &Transaction<'_>, rows: &BTreeMap<&str, (i64, i64, String)>) -> Result<()> {
    let sql = tx
        .prepare_cached(
            "UPDATE document AS d SET version = v.version, pending = d.pending + v.added, heads = v.heads
             FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[]) AS v(doc_id, version, added, heads)
             WHERE d.doc_id = v.doc_id",
        )
        .await?;
    let ids: Vec<&str> = rows.keys().copied().collect();
    let versions: Vec<i64> = rows.values().map(|(version, _, _)| *version).collect();
    let added: Vec<i64> = rows.values().map(|(_, added, _)| *added).collect();
    let heads: Vec<&str> = rows.values().map(|(_, _, heads)| heads.as_str()).collect();
    tx.execute(&sql, &[&ids, &versions, &added, &heads]).await?;
    Ok(())
}

/// Counts a write against the device's day; `Some` when a limit would be passed (the caller rolls back).
async fn spend_quota(tx: &Transaction<'_>, writes: &[DocumentWrite], q: &Quota) -> Result<Option<QuotaExceeded>> {
    let ids: Vec<&str> = writes.iter().map(|w| w.doc_id.as_str()).collect();
    let existing = tx
        .query("SELECT doc_id FROM document WHERE doc_id = ANY($1)", &[&ids])
        .await?
        .iter()
        .map(|r| r.try_get::<_, String>(0))
        .collect::<std::result::Result<std::collections::HashSet<_>, _>>()?;
    let new_docs = to_i64(ids.iter().filter(|id| !existing.contains(**id)).count() as u64);
    if new_docs > 0 {
        let used: i64 = tx
            .query_one(
                "INSERT INTO device_usage (device_id, day, new_docs) VALUES ($1, $2, $3)
                 ON CONFLICT (device_id, day) DO UPDATE SET new_docs = device_usage.new_docs + excluded.new_docs
                 RETURNING new_docs",
                &[&q.device_id, &q.day, &new_docs],
            )
            .await?
            .try_get(0)?;
        if to_u64(used) > q.new_docs_per_day {
            return Ok(Some(QuotaExceeded::NewDocuments));
        }
    }
    // One statement for every document, one row each (an upsert may not touch a row twice).
    let mut added: BTreeMap<&str, i64> = BTreeMap::new();
    for w in writes {
        *added.entry(w.doc_id.as_str()).or_default() += to_i64(w.changes.iter().map(|(_, b)| b.len() as u64).sum());
    }
    let doc_bytes = tx
        .prepare_cached(
            "INSERT INTO document_usage (device_id, doc_id, day, bytes)
             SELECT $1, u.doc_id, $2, u.bytes FROM unnest($3::text[], $4::bigint[]) AS u(doc_id, bytes)
             ON CONFLICT (device_id, doc_id, day) DO UPDATE SET bytes = document_usage.bytes + excluded.bytes
             RETURNING bytes",
        )
        .await?;
    let ids: Vec<&str> = added.keys().copied().collect();
    let bytes: Vec<i64> = added.values().copied().collect();
    for row in tx.query(&doc_bytes, &[&q.device_id, &q.day, &ids, &bytes]).await? {
        if to_u64(row.try_get(0)?) > q.doc_bytes_per_day {
            return Ok(Some(QuotaExceeded::DocumentBytes));
        }
    }
    Ok(None)
}

async fn put_states(tx: &Transaction<'_>, states: &[(String, String, Vec<u8>)]) -> Result<()> {
    // One statement, one row per (device, document): the last state given wins, as one upsert after another
    // would have it (a single upsert may not touch a row twice).
    let mut rows: BTreeMap<(&str, &str), &[u8]> = BTreeMap::new();
    for (device, doc, state) in states {
        rows.insert((device.as_str(), doc.as_str()), state.as_slice());
    }
    if rows.is_empty() {
        return Ok(());
    }
    let stmt = tx
        .prepare_cached(
            "INSERT INTO sync_state (device_id, doc_id, state)
             SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[])
             ON CONFLICT (device_id, doc_id) DO UPDATE SET state = excluded.state",
        )
        .await?;
    let devices: Vec<&str> = rows.keys().map(|(device, _)| *device).collect();
    let docs: Vec<&str> = rows.keys().map(|(_, doc)| *doc).collect();
    let states: Vec<&[u8]> = rows.values().copied().collect();
    tx.execute(&stmt, &[&devices, &docs, &states]).await?;
    Ok(())
}

/// The catalogue versions of a write: consecutive per community, in the order of `writes`. Communities are
/// locked in sorted order, so two writes spanning the same communities cannot deadlock.
async fn versions_for(tx: &Transaction<'_>, writes: &[DocumentWrite]) -> Result<Vec<i64>> {
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for w in writes {
        *counts.entry(w.scope.community_id.as_str()).or_default() += 1;
    }
    let mut next: BTreeMap<&str, i64> = BTreeMap::new();
    for (community, count) in counts {
        next.insert(community, take_versions(tx, community, count).await?);
    }
    let mut versions = Vec::with_capacity(writes.len());
    for w in writes {
        let slot = next
            .get_mut(w.scope.community_id.as_str())
            .ok_or_else(|| ServerError::internal("a write's community has no version"))?;
        versions.push(*slot);
        *slot += 1;
    }
    Ok(versions)
}

/// A catalogue page of the community's own documents (without a grid) and those `condition` (on `$4`) selects:
/// each part read in version order from its own index, then merged (an OR of the two would scan the whole
/// community's range).
fn own_documents_and(condition: &str) -> String {
    format!(
        "SELECT doc_id, heads, version, received_at FROM (
           (SELECT doc_id, heads, version, received_at FROM document
            WHERE community_id = $1 AND grid IS NULL AND version > $2 ORDER BY version LIMIT $3)
           UNION ALL
           (SELECT doc_id, heads, version, received_at FROM document
            WHERE community_id = $1 AND {condition} AND version > $2 ORDER BY version LIMIT $3)
         ) AS d ORDER BY version LIMIT $3"
    )
}

impl Storage for PgStorage {
    fn create_community(&self, c: &Community) -> Result<()> {
        self.write(async |tx| {
            tx.execute(
                "INSERT INTO community (community_id, name, created_at) VALUES ($1, $2, $3)",
                &[&c.community_id, &c.name, &now_secs()],
            )
            .await?;
            Ok(())
        })
    }

    fn community(&self, community_id: &str) -> Result<Option<Community>> {
        self.read(async |client| {
            let row = client
                .query_opt("SELECT community_id, name FROM community WHERE community_id = $1", &[&community_id])
                .await?;
            match row {
                Some(r) => Ok(Some(Community { community_id: r.try_get(0)?, name: r.try_get(1)? })),
                None => Ok(None),
            }
        })
    }

    fn insert_enrollment_code(&self, c: &EnrollmentCode) -> Result<()> {
        self.write(async |tx| {
            tx.execute(
                "INSERT INTO enrollment_code (code_hash, community_id, user_name, role, grids, expires_at, buildings)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &c.code_hash,
                    &c.community_id,
                    &c.user,
                    &c.role.code(),
                    &c.grids.join(";"),
                    &c.expires_at,
                    &c.buildings.join(";"),
                ],
            )
            .await?;
            Ok(())
        })
    }

    fn enrollment_code(&self, code_hash: &str) -> Result<Option<EnrollmentCode>> {
        self.read(async |client| {
            let row = client
                .query_opt(
                    "SELECT code_hash, community_id, user_name, role, grids, expires_at, used_by, buildings
                     FROM enrollment_code WHERE code_hash = $1",
                    &[&code_hash],
                )
                .await?;
            let Some(r) = row else { return Ok(None) };
            Ok(Some(EnrollmentCode {
                code_hash: r.try_get(0)?,
                community_id: r.try_get(1)?,
                user: r.try_get(2)?,
                role: role_of(r.try_get(3)?)?,
                grids: split(r.try_get(4)?),
                buildings: split(r.try_get(7)?),
                expires_at: r.try_get(5)?,
                used_by: r.try_get(6)?,
            }))
        })
    }

    fn redeem_enrollment_code(&self, code_hash: &str, d: &Device, token_hash: &str) -> Result<bool> {
        self.write(async |tx| {
            let n = tx
                .execute(
                    "UPDATE enrollment_code SET used_by = $1 WHERE code_hash = $2 AND used_by IS NULL",
                    &[&d.device_id, &code_hash],
                )
                .await?;
            if n == 0 {
                return Ok(false);
            }
            insert_device(tx, d, token_hash).await?;
            Ok(true)
        })
    }

    fn device_by_token_hash(&self, token_hash: &str) -> Result<Option<Device>> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM device WHERE token_hash = $1");
        self.read(async |client| {
            let sql = client.prepare_cached(&sql).await?;
            client.query_opt(&sql, &[&token_hash]).await?.as_ref().map(device_row).transpose()
        })
    }

    fn device(&self, device_id: &str) -> Result<Option<Device>> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM device WHERE device_id = $1");
        self.read(async |client| client.query_opt(&sql, &[&device_id]).await?.as_ref().map(device_row).transpose())
    }

    fn devices(&self) -> Result<Vec<Device>> {
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM device WHERE device_id NOT IN (SELECT staff_id FROM staff)
             ORDER BY created_at, device_id COLLATE \"C\""
        );
        self.read(async |client| client.query(&sql, &[]).await?.iter().map(device_row).collect())
    }

    fn revoke_device(&self, device_id: &str) -> Result<bool> {
        self.write(async |tx| {
            Ok(tx.execute("UPDATE device SET revoked = TRUE WHERE device_id = $1", &[&device_id]).await? > 0)
        })
    }

    fn load_document(&self, doc_id: &str) -> Result<Option<StoredDocument>> {
        self.run(async {
            let mut client = self.pool.get().await?;
            // One snapshot: the compaction and the changes after it are one consistent picture.
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let stored = load_in(&tx, doc_id).await?;
            tx.commit().await?;
            Ok(stored)
        })
    }

    fn changes_after(&self, doc_id: &str, after_seq: i64) -> Result<(Vec<Vec<u8>>, i64)> {
        self.read(async |client| changes_after_in(client, doc_id, after_seq).await)
    }

    fn append(
        &self,
        writes: &[DocumentWrite],
        states: &[(String, String, Vec<u8>)],
        received_at: i64,
        quota: Option<&Quota>,
    ) -> Result<std::result::Result<Vec<(i64, i64)>, QuotaExceeded>> {
        let stored = self.write_unless(async |tx| {
            if let Some(q) = quota {
                if let Some(exceeded) = spend_quota(tx, writes, q).await? {
                    return Ok(Err(exceeded));
                }
            }
            // Documents in id order (two writes of the same documents lock them in the same order), then the
            // sync states, and the communities' version rows last: every writer of a community waits on its
            // row from there to the commit, so nothing else is done while it is held.
            let mut order: Vec<usize> = (0..writes.len()).collect();
            order.sort_by(|a, b| writes[*a].doc_id.cmp(&writes[*b].doc_id));
            let mut seqs = vec![(0, 0); writes.len()];
            let mut added = vec![(0, String::new()); writes.len()];
            for i in order {
                let (before, after, new, heads) = append_one(tx, &writes[i], received_at).await?;
                seqs[i] = (before, after);
                added[i] = (new, heads);
            }
            put_states(tx, states).await?;
            let versions = versions_for(tx, writes).await?;
            let mut rows: BTreeMap<&str, (i64, i64, String)> = BTreeMap::new();
            for ((w, version), (new, heads)) in writes.iter().zip(versions).zip(added) {
                rows.insert(w.doc_id.as_str(), (version, new, heads));
            }
            set_versions(tx, &rows).await?;
            Ok(Ok(seqs))
        })?;
        if stored.is_ok() {
            // The write is stored whatever becomes of its announcement.
            if let Err(e) = self.read(async |client| announce(client, &self.writer, writes).await) {
                tracing::warn!(error = %e, "a write could not be announced to the other instances");
            }
        }
        Ok(stored)
    }

    fn put_sync_states(&self, states: &[(String, String, Vec<u8>)]) -> Result<()> {
        if states.is_empty() {
            return Ok(());
        }
        self.write(async |tx| put_states(tx, states).await)
    }

    fn withdrawable(&self, device_id: &str, prefix: &str, audience: &str, limit: usize) -> Result<Vec<String>> {
        self.read(async |client| {
            // A device's sync states are few (a volunteer holds the orders dispatched to it): the key's device
            // part bounds the scan.
            let sql = client
                .prepare_cached(
                    "SELECT s.doc_id FROM sync_state AS s LEFT JOIN document AS d ON d.doc_id = s.doc_id
                     WHERE s.device_id = $1 AND starts_with(s.doc_id, $2)
                       AND (d.audience IS NULL OR d.audience <> $3)
                     ORDER BY s.doc_id COLLATE \"C\" LIMIT $4",
                )
                .await?;
            let rows = client.query(&sql, &[&device_id, &prefix, &audience, &to_i64(limit as u64)]).await?;
            Ok(rows.iter().map(|r| r.try_get(0)).collect::<std::result::Result<_, _>>()?)
        })
    }

    fn forget_sync_states(&self, device_id: &str, doc_ids: &[String]) -> Result<()> {
        if doc_ids.is_empty() {
            return Ok(());
        }
        self.write(async |tx| {
            tx.execute("DELETE FROM sync_state WHERE device_id = $1 AND doc_id = ANY($2)", &[&device_id, &doc_ids])
                .await?;
            Ok(())
        })
    }

    fn sync_state(&self, device_id: &str, doc_id: &str) -> Result<Option<Vec<u8>>> {
        self.read(async |client| {
            let sql =
                client.prepare_cached("SELECT state FROM sync_state WHERE device_id = $1 AND doc_id = $2").await?;
            let row = client.query_opt(&sql, &[&device_id, &doc_id]).await?;
            Ok(row.map(|r| r.try_get(0)).transpose()?)
        })
    }

    fn catalogue(&self, scope: &ReadScope, since: u64, limit: usize) -> Result<Vec<CatalogueRow>> {
        let since = to_i64(since);
        let limit = to_i64(limit as u64);
        self.read(async |client| {
            let rows = match (&scope.grids, scope.by_assignment) {
                (Some(grids), false) if scope.buildings.is_some() => {
                    // A building lead: the community's own documents, and the documents of its grids whose
                    // building is one of its own, the latter read in version order from `document_building`.
                    let keys = scope.buildings.clone().unwrap_or_default();
                    let sql =
                        client.prepare_cached(&own_documents_and("building = ANY($5) AND grid = ANY($4)")).await?;
                    client.query(&sql, &[&scope.community_id, &since, &limit, grids, &keys]).await?
                }
                (_, true) => {
                    // The community's own documents and the orders dispatched to the user, the latter read in
                    // version order from `document_audience`.
                    let sql = client.prepare_cached(&own_documents_and("audience = $4")).await?;
                    client.query(&sql, &[&scope.community_id, &since, &limit, &scope.user]).await?
                }
                (None, false) => {
                    let sql = client
                        .prepare_cached(
                            // Buildings' projections are for building leads alone.
                            "SELECT doc_id, heads, version, received_at FROM document
                             WHERE community_id = $1 AND version > $2 AND doc_id NOT LIKE 'building:%'
                             ORDER BY version LIMIT $3",
                        )
                        .await?;
                    client.query(&sql, &[&scope.community_id, &since, &limit]).await?
                }
                (Some(grids), false) => {
                    // The community's own documents and the grids' documents, each read in version order from
                    // `document_grid_catalogue` (an OR of the two would scan the whole community's range).
                    let sql = client
                        .prepare_cached(&own_documents_and("grid = ANY($4) AND doc_id NOT LIKE 'building:%'"))
                        .await?;
                    client.query(&sql, &[&scope.community_id, &since, &limit, grids]).await?
                }
            };
            rows.iter()
                .map(|r| {
                    Ok(CatalogueRow {
                        doc_id: r.try_get(0)?,
                        heads: split(r.try_get(1)?),
                        version: to_u64(r.try_get(2)?),
                        received_at: r.try_get(3)?,
                    })
                })
                .collect()
        })
    }

    fn building(&self, doc_id: &str) -> Result<Option<String>> {
        self.read(async |client| {
            let sql = client.prepare_cached("SELECT building FROM document WHERE doc_id = $1").await?;
            let row = client.query_opt(&sql, &[&doc_id]).await?;
            Ok(row.map(|r| r.try_get::<_, Option<String>>(0)).transpose()?.flatten())
        })
    }

    fn audience(&self, doc_id: &str) -> Result<Option<String>> {
        self.read(async |client| {
            let sql = client.prepare_cached("SELECT audience FROM document WHERE doc_id = $1").await?;
            let row = client.query_opt(&sql, &[&doc_id]).await?;
            Ok(row.map(|r| r.try_get::<_, Option<String>>(0)).transpose()?.flatten())
        })
    }

    fn catalogue_version(&self, community_id: &str) -> Result<u64> {
        self.read(async |client| {
            let sql = client.prepare_cached("SELECT version FROM community_version WHERE community_id = $1").await?;
            let row = client.query_opt(&sql, &[&community_id]).await?;
            Ok(row.map(|r| r.try_get::<_, i64>(0)).transpose()?.map_or(0, to_u64))
        })
    }

    fn document_count(&self) -> Result<u64> {
        self.read(async |client| Ok(to_u64(client.query_one("SELECT COUNT(*) FROM document", &[]).await?.try_get(0)?)))
    }

    fn compaction_candidates(&self, min_changes: u64, limit: usize) -> Result<Vec<String>> {
        self.read(async |client| {
            let rows = client
                .query(
                    "SELECT doc_id FROM document WHERE pending > $1 LIMIT $2",
                    &[&to_i64(min_changes), &to_i64(limit as u64)],
                )
                .await?;
            Ok(rows.iter().map(|r| r.try_get(0)).collect::<std::result::Result<_, _>>()?)
        })
    }

    fn put_snapshot(&self, doc_id: &str, snapshot: &[u8], upto_seq: i64) -> Result<()> {
        self.write(async |tx| {
            tx.execute(
                "UPDATE document SET snapshot = $1, snapshot_seq = $2,
                   pending = (SELECT COUNT(*) FROM change WHERE doc_id = $3 AND seq > $2)
                 WHERE doc_id = $3 AND snapshot_seq <= $2",
                &[&snapshot, &upto_seq, &doc_id],
            )
            .await?;
            Ok(())
        })
    }

    fn blob_exists(&self, sha256: &str) -> Result<bool> {
        self.read(async |client| {
            Ok(client.query_opt("SELECT 1 FROM blob WHERE sha256 = $1", &[&sha256]).await?.is_some())
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
        self.write_unless(async |tx| {
            let used: i64 = tx
                .query_one(
                    "INSERT INTO device_usage (device_id, day, blob_bytes) VALUES ($1, $2, $3)
                     ON CONFLICT (device_id, day) DO UPDATE SET blob_bytes = device_usage.blob_bytes + excluded.blob_bytes
                     RETURNING blob_bytes",
                    &[&uploaded_by, &day, &to_i64(bytes.len() as u64)],
                )
                .await?
                .try_get(0)?;
            if to_u64(used) > blob_bytes_per_day {
                return Ok(Err(QuotaExceeded::BlobBytes));
            }
            tx.execute(
                "INSERT INTO blob (sha256, bytes, uploaded_by, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (sha256) DO NOTHING",
                &[&sha256, &bytes, &uploaded_by, &now_secs()],
            )
            .await?;
            tx.execute(
                "INSERT INTO blob_upload (sha256, device_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&sha256, &uploaded_by],
            )
            .await?;
            Ok(Ok(()))
        })
    }

    fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        self.read(async |client| {
            let row = client.query_opt("SELECT bytes FROM blob WHERE sha256 = $1", &[&sha256]).await?;
            Ok(row.map(|r| r.try_get(0)).transpose()?)
        })
    }

    fn watch_writes(&self, on_write: super::WriteWatcher) -> Result<bool> {
        let (config, writer) = (self.config.clone(), self.writer.clone());
        self.handle.spawn(async move {
            loop {
                if let Err(e) = listen(&config, &writer, &on_write).await {
                    tracing::warn!(error = %e, "listening for other instances' writes failed; listening again");
                }
                tokio::time::sleep(LISTEN_RETRY).await;
            }
        });
        Ok(true)
    }

    fn blob_uploaders(&self, sha256: &str, limit: usize) -> Result<Vec<String>> {
        self.read(async |client| {
            let rows = client
                .query(
                    "SELECT device_id FROM blob_upload WHERE sha256 = $1 LIMIT $2",
                    &[&sha256, &to_i64(limit as u64)],
                )
                .await?;
            Ok(rows.iter().map(|r| r.try_get(0)).collect::<std::result::Result<_, _>>()?)
        })
    }

    fn blob_documents(&self, sha256: &str, limit: usize) -> Result<Vec<String>> {
        self.read(async |client| {
            let rows = client
                .query("SELECT doc_id FROM blob_ref WHERE sha256 = $1 LIMIT $2", &[&sha256, &to_i64(limit as u64)])
                .await?;
            Ok(rows.iter().map(|r| r.try_get(0)).collect::<std::result::Result<_, _>>()?)
        })
    }
}

/// A document's stored form, read with `client` (inside its transaction, when it is one).
pub(super) async fn load_in(client: &impl GenericClient, doc_id: &str) -> Result<Option<StoredDocument>> {
    let head = client.prepare_cached("SELECT snapshot, snapshot_seq FROM document WHERE doc_id = $1").await?;
    let Some(head) = client.query_opt(&head, &[&doc_id]).await? else { return Ok(None) };
    let snapshot: Option<Vec<u8>> = head.try_get(0)?;
    let snapshot_seq: i64 = head.try_get(1)?;
    let (changes, last) = changes_after_in(client, doc_id, snapshot_seq).await?;
    Ok(Some(StoredDocument { snapshot, changes, last_seq: last.max(snapshot_seq) }))
}

async fn changes_after_in(client: &impl GenericClient, doc_id: &str, after_seq: i64) -> Result<(Vec<Vec<u8>>, i64)> {
    let sql =
        client.prepare_cached("SELECT seq, bytes FROM change WHERE doc_id = $1 AND seq > $2 ORDER BY seq").await?;
    let rows = client.query(&sql, &[&doc_id, &after_seq]).await?;
    let mut last = after_seq;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        last = r.try_get(0)?;
        out.push(r.try_get(1)?);
    }
    Ok((out, last))
}
