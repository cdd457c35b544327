//! The community-wide replicas the console reads: one core device store per community (under
//! `DATA/console/`), fed from the server's catalogue. A feed merges every document written since the
//! replica's cursor (kept in the replica's own transaction, so a restart resumes where it stopped) and
//! announces the incidents that changed to the pages' live updates. It runs on every write of this process
//! (the engine's signal) and at least once a second for writes made elsewhere (an admin command, another
//! instance on the same database).

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
    let scope = ReadScope { community_id: community_id.to_string(), grids: None };
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
        incidents.extend(changed.into_iter().filter(|id| id.kind == DocKind::Incident).filter_map(|id| id.key));
        if rows.len() < FEED_BATCH {
            break;
        }
    }
    Ok(incidents)
}

/// Feeds every community's replica and announces what changed.
pub fn feed_all(console: &Console) -> Result<()> {
    for community in console.app.engine.storage().communities()? {
        let incidents = feed(console, &community.community_id)?;
        if !incidents.is_empty() {
            // Nobody listening is fine: the pages read the replica when they load.
            let _ = console.changed.send(Changed { community_id: community.community_id, incidents });
        }
    }
    Ok(())
}

/// The feed loop: after every write of this process, and every second.
pub async fn run_feed(console: Arc<Console>) {
    let signal = console.app.engine.stored_signal();
    loop {
        if let Err(e) = console.blocking(feed_all).await {
            tracing::warn!(error = %e, "console replica feed failed");
        }
        tokio::select! {
            _ = signal.notified() => {}
            _ = tokio::time::sleep(FEED_EVERY) => {}
        }
    }
}
