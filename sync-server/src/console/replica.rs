//! The community-wide replicas the console reads: one core device store per community (under
//! `DATA/console/`), fed from the server's catalogue. A feed merges every document written since the
//! replica's cursor (kept in the replica's own transaction, so a restart resumes where it stopped) and
//! announces the incidents that changed to the pages' live updates. It runs on every write of this process
//! (the engine's signal) and at least once a second for writes made elsewhere (an admin command, another
//! instance on the same database).
//!
//! The feed is the console's, never the phones': it runs on its own thread at a lower CPU priority, and a
//! burst of writes is taken in one pass (at most one pass per [`FEED_GAP`]), so a storm of syncs finds the
//! cores free for the syncs and the replica catches up when it passes. How far it is behind is the
//! `gridline_console_replica_behind` gauge in `/metrics`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use gridline_core::docs::{DocId, DocKind};
use gridline_core::store::{create_key_file, read_key_file, Store, KEY_LEN, STORE_FILE};
use gridline_core::Clock;

use super::Console;
use crate::error::{Result, ServerError};
use crate::storage::ReadScope;

/// Catalogue rows merged per replica transaction.
const FEED_BATCH: usize = 256;
/// How often the feed looks for writes made outside this process.
const FEED_EVERY: Duration = Duration::from_secs(1);

/// How often the feed looks for writes when the storage announces them: only to catch one it missed.
const FEED_EVERY_WATCHED: Duration = Duration::from_secs(30);
/// The shortest time between two passes: writes arriving meanwhile are taken together (a document written
/// by several phones in a burst is merged once). Well inside the pages' one-second live-update target.
const FEED_GAP: Duration = Duration::from_millis(150);
/// The feed thread's niceness: the scheduler gives phones' syncs the cores first.
const FEED_NICENESS: i32 = 10;
/// The replicas' key file (the replicas hold residents' data like any device store: encrypted at rest).
const KEY_FILE: &str = "replica.key";

/// Incidents of a community that changed in its replica.
#[derive(Debug, Clone)]
pub struct Changed {
    /// Community.
    pub community_id: String,
    /// Incident ids.
    pub incidents: Vec<String>,
}

/// One replica per community, opened on first use.
pub struct Replicas {
    dir: PathBuf,
    key: [u8; KEY_LEN],
    clock: Arc<dyn Clock>,
    open: Mutex<HashMap<String, Arc<Mutex<Store>>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Replicas {
    /// Replicas under `dir` (created if missing, with its key file).
    pub fn open(dir: &Path, clock: Arc<dyn Clock>) -> Result<Replicas> {
        std::fs::create_dir_all(dir)?;
        let key_path = dir.join(KEY_FILE);
        let key = if key_path.exists() { read_key_file(&key_path)? } else { create_key_file(&key_path)? };
        Ok(Replicas { dir: dir.to_path_buf(), key, clock, open: Mutex::new(HashMap::new()) })
    }

    /// The replica of a community (opened or created).
    pub fn get(&self, community_id: &str) -> Result<Arc<Mutex<Store>>> {
        let mut open = lock(&self.open);
        if let Some(r) = open.get(community_id) {
            return Ok(r.clone());
        }
        DocId::parse(&format!("community:{community_id}"))
            .map_err(|_| ServerError::not_found(format!("community {community_id:?}")))?;
        let dir = self.dir.join(community_id);
        let store = if dir.join(STORE_FILE).exists() {
            Store::open(&dir, &self.key, self.clock.clone())?
        } else {
            Store::create_replica(&dir, &self.key, community_id, self.clock.clone())?
        };
        let r = Arc::new(Mutex::new(store));
        open.insert(community_id.to_string(), r.clone());
        Ok(r)
    }

    /// Runs `f` on a community's replica (under its lock: keep `f` short).
    pub fn with<T>(&self, community_id: &str, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        let replica = self.get(community_id)?;
        let mut store = lock(&replica);
        f(&mut store)
    }
}

/// Merges every document written since the replica's cursor into the replica of `community_id`; returns the
/// incidents that changed.
pub fn feed(console: &Console, community_id: &str) -> Result<Vec<String>> {
    let replica = console.replicas.get(community_id)?;
    let storage = console.app.engine.storage();
    let scope = ReadScope::whole(community_id);
    let mut incidents = Vec::new();
    loop {
        let cursor = lock(&replica).replica_cursor()?;
        let rows = storage.catalogue(&scope, cursor, FEED_BATCH)?;
        let Some(last) = rows.last().map(|r| r.version) else { break };
        let mut docs = Vec::with_capacity(rows.len());
        for row in &rows {
            let Ok(id) = DocId::parse(&row.doc_id) else { continue };
            // Read outside the replica's lock: the engine's cache, or storage.
            if let Some(doc) = console.app.engine.document(&row.doc_id)? {
                docs.push((id, doc));
            }
        }
        let changed = lock(&replica).merge_documents(docs, last)?;
        crate::metrics::Metrics::add(&console.app.metrics.replica_merged, changed.len() as u64);
        incidents.extend(changed.into_iter().filter(|id| id.kind == DocKind::Incident).filter_map(|id| id.key));
        if rows.len() < FEED_BATCH {
            break;
        }
    }
    Ok(incidents)
}

/// Feeds every community's replica, announces what changed, and records how far the replicas are behind
/// (before the pass, so that a long pass shows its backlog, and after it).
pub fn feed_all(console: &Console) -> Result<()> {
    let storage = console.app.engine.storage();
    let communities = storage.communities()?;
    let gauge = &console.app.metrics.replica_behind;
    gauge.store(backlog(console, &communities)?, std::sync::atomic::Ordering::Relaxed);
    for community in &communities {
        let incidents = feed(console, &community.community_id)?;
        if !incidents.is_empty() {
            // Nobody listening is fine: the pages read the replica when they load.
            let _ = console.changed.send(Changed { community_id: community.community_id.clone(), incidents });
        }
    }
    gauge.store(backlog(console, &communities)?, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// Catalogue versions between the newest write and the furthest-behind replica that has something to merge.
fn backlog(console: &Console, communities: &[crate::storage::Community]) -> Result<u64> {
    let storage = console.app.engine.storage();
    let mut behind = 0;
    for community in communities {
        let cursor = console.replicas.with(&community.community_id, |store| Ok(store.replica_cursor()?))?;
        let scope = ReadScope::whole(&community.community_id);
        if !storage.catalogue(&scope, cursor, 1)?.is_empty() {
            behind = behind.max(storage.catalogue_version(&community.community_id)?.saturating_sub(cursor));
        }
    }
    Ok(behind)
}

/// Starts the feed on its own thread, at a lower CPU priority than the request threads: after every write of
/// this process and every write another process announced (at most once per [`FEED_GAP`]), and every
/// [`FEED_EVERY`] — or only every [`FEED_EVERY_WATCHED`] when `announced` says the storage announces other
/// processes' writes (PostgreSQL's LISTEN/NOTIFY), a safety net should an announcement be lost.
pub fn spawn_feed(console: Arc<Console>, announced: bool) -> std::io::Result<std::thread::JoinHandle<()>> {
    let every = if announced { FEED_EVERY_WATCHED } else { FEED_EVERY };
    let runtime = tokio::runtime::Handle::current();
    std::thread::Builder::new().name("console-feed".into()).spawn(move || {
        lower_priority();
        let signal = console.app.engine.stored_signal();
        loop {
            let started = std::time::Instant::now();
            if let Err(e) = feed_all(&console) {
                tracing::warn!(error = %e, "console replica feed failed");
            }
            std::thread::sleep(FEED_GAP.saturating_sub(started.elapsed()));
            runtime.block_on(async {
                tokio::select! {
                    _ = signal.notified() => {}
                    _ = tokio::time::sleep(every) => {}
                }
            });
        }
    })
}

/// Lowers the calling thread's CPU priority (Linux threads have their own niceness); elsewhere a no-op.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority only read and set the calling thread's scheduling attribute.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        if libc::setpriority(libc::PRIO_PROCESS, tid, FEED_NICENESS) != 0 {
            tracing::debug!("the console feed runs at normal priority (setpriority refused)");
        }
    }
}
