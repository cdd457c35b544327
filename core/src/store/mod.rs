//! The device store: one encrypted SQLite file (SQLCipher, WAL) holding document chunks, blobs, and the
//! materialised tables the screens read. Every change to a document and to the tables derived from it is
//! written in one transaction, committed with `synchronous = FULL`: when a call returns, its work survives
//! `kill -9` and power loss.
//!
//! `Store` is the API; its methods are grouped by concern here: this file (open, documents, check-ins,
//! roster import), `queries.rs` (rounds, households), `visits.rs` (visits, worker report), `incidents.rs`,
//! `points.rs` (volunteer points, read from the ledger document),
//! `orders.rs` (service orders), `projects.rs` (service projects, residents' ratings and the needs list),
//! `evaluations.rs` (the residents' survey and department ratings, 双评议),
//! `blobs.rs` (photos), `ledger.rs`, `sync_status.rs` (server, refused documents, status). The exchange with
//! the server and with bundles (`enroll`, `sync`, `bundle_*`) is in `sync::client` and `sync::bundle`. All
//! SQL is in `db/`, one file per concern; the tables and their migrations are in `schema.rs`.

pub mod blobs;
pub(crate) mod db;
mod evaluations;
#[cfg(test)]
pub(crate) mod fixtures;
mod incidents;
pub mod index;
#[cfg(feature = "ledger")]
mod ledger;
mod orders;
pub(crate) mod points;
mod projects;
mod queries;
mod replica;
pub mod schema;
mod sync_status;
mod visits;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use automerge::transaction::CommitOptions;
use automerge::AutoCommit;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use rusqlite::{Connection, Transaction};
use serde::Serialize;

pub(crate) use db::columns::day_text;
pub use incidents::{
    IncidentAct, IncidentDetail, IncidentEventView, IncidentFilter, IncidentList, IncidentListItem,
    DUPLICATE_WINDOW_DAYS, MAX_ASSIGNEE_CHARS, MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS,
};
pub use orders::{
    OrderAct, OrderDetail, OrderEventView, OrderFilter, OrderList, OrderListItem, MAX_ORDER_DUE_DAYS,
    MAX_VOLUNTEER_CHARS,
};
pub use points::Redemption;
pub use projects::{
    NeedsFilter, NeedsList, ProjectDetail, ProjectEventView, ProjectFilter, ProjectList, ProjectListItem,
    ProjectRatingView, ProjectRatings, MAX_PROJECT_BUDGET_YUAN, MAX_PROJECT_CATEGORY_CHARS, MAX_PROJECT_NEEDS,
    MAX_PROJECT_ORGANISATION_CHARS, MAX_PROJECT_TITLE_CHARS,
};
pub use queries::{CheckInSummary, HouseholdDetail, ResidentSummary, Rounds, RoundsItem, RoundsReason};
pub(crate) use visits::{add_visit_contacts, VisitRow};
pub use visits::{average, rate, ContactsDone, VisitDueItem, VisitsDue, WorkerReport, MAX_VISIT_MINUTES};

pub(crate) use db::meta::{meta_get, meta_set};
use db::{checkins, connection, documents, meta};

use crate::clock::Clock;
use crate::docs::{self, DocId, DocKind};
use crate::error::{Error, Result};
use crate::model::{CheckIn, CommunitySettings, NewCheckIn, Role};

/// File name of the store inside its directory.
pub const STORE_FILE: &str = "gridline.db";
/// Length of the store key in bytes.
pub const KEY_LEN: usize = 32;
/// Documents kept loaded in memory.
const DOC_CACHE_CAPACITY: usize = 32;
/// Longest note accepted on a check-in.
pub const MAX_NOTE_CHARS: usize = 2000;
/// Most photos on one record.
pub const MAX_PHOTOS: usize = 10;

/// Who this device is: written at init or enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DeviceInfo {
    /// Device id (UUID v7); also the Automerge actor id of every change this device makes.
    pub device_id: String,
    /// The user the device belongs to.
    pub user: String,
    /// The user's role.
    pub role: Role,
    /// Community id.
    pub community_id: String,
    /// Grids in scope (empty: the whole community).
    pub grids: Vec<String>,
    /// A building lead's buildings (names); empty for every other role.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub buildings: Vec<String>,
}

impl DeviceInfo {
    /// The documents this device may read and write.
    pub fn scope(&self) -> docs::scope::DeviceScope<'_> {
        docs::scope::DeviceScope::held(&self.community_id, self.role, &self.grids).with_buildings(&self.buildings)
    }
}

/// What `init` needs for a standalone device store.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct InitOptions {
    /// User name.
    pub user: String,
    /// Role.
    pub role: Role,
    /// Community time zone (IANA name), default [`DEFAULT_TIME_ZONE`](crate::model::DEFAULT_TIME_ZONE).
    pub timezone: String,
    /// Community name.
    pub community_name: String,
    /// Community id; `None` creates a new one.
    pub community_id: Option<String>,
    /// Grids in scope (empty: every grid).
    pub grids: Vec<String>,
    /// A building lead's buildings (names, at least one for that role, none for any other).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub buildings: Vec<String>,
}

impl InitOptions {
    /// Options for `user` in `role` with the defaults: [`DEFAULT_TIME_ZONE`](crate::model::DEFAULT_TIME_ZONE), a
    /// new unnamed community, every grid.
    pub fn new(user: impl Into<String>, role: Role) -> InitOptions {
        InitOptions {
            user: user.into(),
            role,
            timezone: crate::model::DEFAULT_TIME_ZONE.into(),
            community_name: String::new(),
            community_id: None,
            grids: vec![],
            buildings: vec![],
        }
    }
}

/// An open device store.
pub struct Store {
    conn: Connection,
    dir: PathBuf,
    device: DeviceInfo,
    actor: automerge::ActorId,
    settings: CommunitySettings,
    clock: Arc<dyn Clock>,
    cache: HashMap<DocId, AutoCommit>,
}

/// Checks a device's buildings against its role: a building lead names one to 32 buildings (1–64 characters
/// each) and exactly one grid, every other role none.
pub fn check_buildings(role: Role, grids: &[String], buildings: &[String]) -> Result<()> {
    if role != Role::BuildingLead {
        return match buildings.is_empty() {
            true => Ok(()),
            false => Err(Error::invalid("building", format!("role {} covers no buildings", role.code()))),
        };
    }
    if buildings.is_empty() || buildings.len() > 32 {
        return Err(Error::invalid("building", "a building lead names 1 to 32 buildings"));
    }
    if let Some(bad) = buildings.iter().find(|b| b.trim().is_empty() || b.chars().count() > 64 || b.contains(';')) {
        return Err(Error::invalid("building", format!("bad building name {bad:?}")));
    }
    if grids.len() != 1 {
        return Err(Error::invalid("grid", "a building lead names exactly one grid"));
    }
    Ok(())
}

fn now_text(clock: &dyn Clock) -> String {
    clock.now().to_rfc3339()
}

impl Store {
    /// Creates a new standalone store in `dir` (created if missing) with a new device identity and a new
    /// community document holding the default configuration.
    pub fn init(dir: &Path, key: &[u8; KEY_LEN], opts: InitOptions, clock: Arc<dyn Clock>) -> Result<Store> {
        let path = dir.join(STORE_FILE);
        if path.exists() {
            return Err(Error::StoreExists(dir.display().to_string()));
        }
        if opts.user.trim().is_empty() || opts.user.chars().count() > 64 {
            return Err(Error::invalid("user", "a user name of 1–64 characters is required"));
        }
        if opts.timezone.parse::<chrono_tz::Tz>().is_err() {
            return Err(Error::invalid("timezone", format!("unknown time zone {:?}", opts.timezone)));
        }
        if let Some(c) = &opts.community_id {
            DocId::parse(&format!("community:{c}"))
                .map_err(|_| Error::invalid("community_id", format!("bad community id {c:?}")))?;
        }
        if let Some(bad) = opts.grids.iter().find(|g| !docs::valid_code(g)) {
            return Err(Error::invalid("grid", format!("bad grid code {bad:?}")));
        }
        check_buildings(opts.role, &opts.grids, &opts.buildings)?;
        let community_id = opts.community_id.clone().unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let device = DeviceInfo {
            device_id: uuid::Uuid::now_v7().to_string(),
            user: opts.user.trim().to_string(),
            role: opts.role,
            community_id: community_id.clone(),
            grids: opts.grids.clone(),
            buildings: opts.buildings.clone(),
        };
        let settings = CommunitySettings::defaults(&community_id, &opts.community_name, &opts.timezone);
        let mut store = Store::create(dir, key, device, settings.clone(), &[], clock)?;
        let id = DocId::community(&community_id);
        let mut doc = store.checkout(&id)?;
        docs::community::write_settings(&mut doc, &settings)?;
        for g in &opts.grids {
            docs::community::put_grid(&mut doc, g, g)?;
        }
        store.persist(vec![(id, doc)], index::reindex)?;
        Ok(store)
    }

    /// Creates the store file for `device` in `dir` (created if missing), with `meta` entries written in the
    /// same transaction as the device identity.
    pub(crate) fn create(
        dir: &Path,
        key: &[u8; KEY_LEN],
        device: DeviceInfo,
        settings: CommunitySettings,
        meta: &[(&str, &str)],
        clock: Arc<dyn Clock>,
    ) -> Result<Store> {
        let path = dir.join(STORE_FILE);
        if path.exists() {
            return Err(Error::StoreExists(dir.display().to_string()));
        }
        std::fs::create_dir_all(dir)?;
        let mut conn = connection::connect(&path, key)?;
        schema::migrate(&mut conn)?;
        {
            let tx = conn.transaction()?;
            meta::write_device(&tx, &device)?;
            for (k, v) in meta {
                meta_set(&tx, k, v)?;
            }
            tx.commit()?;
        }
        Store::assemble(conn, dir, device, settings, clock)
    }

    /// Opens an existing store with its key. A wrong key fails with `store_key_invalid` and writes nothing.
    pub fn open(dir: &Path, key: &[u8; KEY_LEN], clock: Arc<dyn Clock>) -> Result<Store> {
        let path = dir.join(STORE_FILE);
        if !path.exists() {
            return Err(Error::StoreNotInitialised(dir.display().to_string()));
        }
        let mut conn = connection::connect(&path, key)?;
        schema::migrate(&mut conn)?;
        let device = meta::read_device(&conn)?;
        let settings: CommunitySettings = match meta::read_settings(&conn)? {
            Some(settings) => settings,
            None => CommunitySettings::defaults(&device.community_id, "", crate::model::DEFAULT_TIME_ZONE),
        };
        Store::assemble(conn, dir, device, settings, clock)
    }

    fn assemble(
        conn: Connection,
        dir: &Path,
        device: DeviceInfo,
        settings: CommunitySettings,
        clock: Arc<dyn Clock>,
    ) -> Result<Store> {
        let actor = actor_of(&device.device_id)?;
        Ok(Store { conn, dir: dir.to_path_buf(), device, actor, settings, clock, cache: HashMap::new() })
    }

    /// This device's identity.
    pub fn device(&self) -> &DeviceInfo {
        &self.device
    }

    /// The community's configuration as last synced.
    pub fn settings(&self) -> &CommunitySettings {
        &self.settings
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The clock the store uses.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Today in the community's time zone.
    pub fn today(&self) -> NaiveDate {
        self.clock.now().with_timezone(&self.settings.tz()).date_naive()
    }

    /// The day an instant falls on in the community's time zone.
    pub fn day_of(&self, at: &DateTime<FixedOffset>) -> NaiveDate {
        at.with_timezone(&self.settings.tz()).date_naive()
    }

    /// Now, as a time with the community's UTC offset.
    pub fn now_local(&self) -> DateTime<FixedOffset> {
        self.clock.now().with_timezone(&self.settings.tz()).fixed_offset()
    }

    /// The underlying connection, for queries inside the core.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// True when `grid` is inside this device's scope.
    pub fn in_scope(&self, grid: &str) -> bool {
        self.device.scope().covers_grid(grid)
    }

    /// Takes a document out of the cache, or loads it, or starts it new. Give it back through
    /// [`Store::persist`]; a document dropped instead is simply reloaded next time.
    pub fn checkout(&mut self, id: &DocId) -> Result<AutoCommit> {
        match self.checkout_existing(id)? {
            Some(doc) => Ok(doc),
            None => docs::new_document(id, &self.actor),
        }
    }

    /// Takes a document out of the cache or loads it; `None` when this device has never held it (unlike
    /// [`Store::checkout`], nothing is created: a document learned from elsewhere starts from its author's
    /// changes, not from a local root).
    pub(crate) fn checkout_existing(&mut self, id: &DocId) -> Result<Option<AutoCommit>> {
        if let Some(doc) = self.cache.remove(id) {
            return Ok(Some(doc));
        }
        Ok(self.load_doc(id)?.map(|mut doc| {
            doc.set_actor(self.actor.clone());
            doc
        }))
    }

    /// A document as this device holds it, or an empty one (with this device's actor) to receive another
    /// device's changes into (a sync answer, a bundle).
    pub(crate) fn checkout_to_receive(&mut self, id: &DocId) -> Result<AutoCommit> {
        Ok(self.checkout_existing(id)?.unwrap_or_else(|| AutoCommit::new().with_actor(self.actor.clone())))
    }

    /// Returns an unchanged document to the cache, unless it is an empty stand-in for one this device never
    /// held (a later local write must start it with its scope, see `docs::new_document`).
    pub(crate) fn give_back(&mut self, id: DocId, mut doc: AutoCommit) {
        if !doc.get_heads().is_empty() {
            self.cache_put(id, doc);
        }
    }

    /// This device's Automerge actor id.
    pub(crate) fn actor(&self) -> &automerge::ActorId {
        &self.actor
    }

    /// Erases the store files of this device (a revoked device must keep nothing). The store is unusable
    /// afterwards: every later call fails.
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) fn wipe(&mut self) -> Result<()> {
        self.cache.clear();
        let old = std::mem::replace(&mut self.conn, Connection::open_in_memory()?);
        drop(old);
        let mut failed = None;
        for suffix in ["", "-wal", "-shm"] {
            let path = self.dir.join(format!("{STORE_FILE}{suffix}"));
            if let Err(e) = std::fs::remove_file(&path) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    failed = Some(Error::Io(format!("{}: {e}", path.display())));
                }
            }
        }
        failed.map_or(Ok(()), Err)
    }

    /// Loads a document from its chunks, without touching the cache.
    pub fn load_doc(&self, id: &DocId) -> Result<Option<AutoCommit>> {
        let bytes = documents::load_bytes(&self.conn, id)?;
        if bytes.is_empty() {
            return Ok(None);
        }
        AutoCommit::load(&bytes).map(Some).map_err(|e| Error::document(&id.to_string(), e))
    }

    /// Commits the pending changes of `docs` and writes them, with whatever `index` derives from them, in one
    /// durable transaction. On success the documents go back to the cache; on failure they are dropped (the
    /// stored state is unchanged and is reloaded next time).
    pub fn persist(
        &mut self,
        mut changed: Vec<(DocId, AutoCommit)>,
        index: impl FnOnce(&Transaction<'_>, &[(DocId, AutoCommit)]) -> Result<()>,
    ) -> Result<()> {
        let now = self.clock.now();
        let mut chunks = Vec::with_capacity(changed.len());
        for (_, doc) in changed.iter_mut() {
            doc.commit_with(CommitOptions::default().with_time(now.timestamp()));
            chunks.push(doc.save_incremental());
        }
        let tx = self.conn.transaction()?;
        let mut community_changed = false;
        for ((id, doc), chunk) in changed.iter_mut().zip(&chunks) {
            if chunk.is_empty() {
                continue;
            }
            community_changed |= id.kind == DocKind::Community;
            documents::write_chunk(&tx, id, doc, chunk, &now.to_rfc3339())?;
        }
        index(&tx, &changed)?;
        let mut new_settings = None;
        if community_changed {
            if let Some((_, doc)) = changed.iter().find(|(id, _)| id.kind == DocKind::Community) {
                let settings = docs::community::read_settings(doc);
                meta::write_settings(&tx, &settings)?;
                // Every incident's deadline moves with the policy, and only then.
                if settings.deadlines != self.settings.deadlines {
                    incidents::refresh_deadlines(&tx, &settings.deadlines)?;
                }
                new_settings = Some(settings);
            }
        }
        tx.commit()?;
        if let Some(settings) = new_settings {
            self.settings = settings;
        }
        for (id, doc) in changed {
            self.cache_put(id, doc);
        }
        Ok(())
    }

    /// Returns a document to the cache (bounded).
    pub(crate) fn cache_put(&mut self, id: DocId, doc: AutoCommit) {
        if self.cache.len() >= DOC_CACHE_CAPACITY && !self.cache.contains_key(&id) {
            // Day logs of past days dominate; dropping any one is fine: it reloads from a snapshot.
            if let Some(victim) = self.cache.keys().next().cloned() {
                self.cache.remove(&victim);
            }
        }
        self.cache.insert(id, doc);
    }

    /// When a recorded event happened: `at` (a back-filled paper record) or now. A time more than
    /// [`crate::model::MAX_TIME_AHEAD`] ahead of this device's clock is refused.
    pub(crate) fn event_time(&self, at: Option<DateTime<FixedOffset>>) -> Result<DateTime<FixedOffset>> {
        let now = self.now_local();
        let at = at.unwrap_or(now);
        if at > now + crate::model::MAX_TIME_AHEAD {
            return Err(Error::invalid("at", "the time is in the future"));
        }
        Ok(at)
    }

    /// Checks a record's photos (stored, not too many) and position fix.
    pub(crate) fn check_attachments(&self, photos: &[String], location: Option<&crate::model::Location>) -> Result<()> {
        self.check_photos(photos)?;
        location.map_or(Ok(()), |l| l.validate())
    }

    /// Validates a new check-in and turns it into a record (id, grid, author, time) without storing it.
    fn prepare_check_in(&self, input: NewCheckIn) -> Result<CheckIn> {
        let household = self.household_to_record(&input.household_code)?;
        too_long("note", &input.note, MAX_NOTE_CHARS)?;
        self.check_attachments(&input.photos, input.location.as_ref())?;
        let at = self.event_time(input.at)?;
        Ok(CheckIn {
            check_in_id: uuid::Uuid::now_v7().to_string(),
            household_code: household.household_code,
            grid: household.grid,
            kind: input.kind,
            outcome: input.outcome,
            note: input.note,
            photos: input.photos,
            location: input.location,
            at,
            author: self.device.user.clone(),
            device_id: self.device.device_id.clone(),
        })
    }

    /// Records a check-in: appends it to the grid's log of that day and updates rounds, durably. When this
    /// returns, the check-in survives the process being killed and power loss.
    pub fn check_in(&mut self, input: NewCheckIn) -> Result<CheckIn> {
        Ok(self.check_in_batch(vec![input])?.remove(0))
    }

    /// Records several check-ins in one durable transaction (back-filling a paper ledger): all or none.
    pub fn check_in_batch(&mut self, inputs: Vec<NewCheckIn>) -> Result<Vec<CheckIn>> {
        if inputs.is_empty() {
            return Err(Error::invalid("check_ins", "nothing to record"));
        }
        let records = inputs.into_iter().map(|i| self.prepare_check_in(i)).collect::<Result<Vec<_>>>()?;
        let mut by_doc: std::collections::BTreeMap<DocId, Vec<(NaiveDate, &CheckIn)>> = Default::default();
        for c in &records {
            let day = self.day_of(&c.at);
            by_doc.entry(self.check_in_log_of(c, day)?).or_default().push((day, c));
        }
        let mut changed = Vec::with_capacity(by_doc.len());
        for (id, items) in &by_doc {
            let mut doc = self.checkout(id)?;
            for (_, c) in items {
                docs::checkin_log::append(&mut doc, c)?;
            }
            changed.push((id.clone(), doc));
        }
        self.persist(changed, |tx, _| {
            by_doc.values().flatten().try_for_each(|(day, c)| index::insert_check_in(tx, c, *day))
        })?;
        Ok(records)
    }

    /// The log a check-in of this device goes to: its grid's log of the day, or for a building lead the
    /// household's building's log of the day (the server accepts nothing else from a building lead).
    fn check_in_log_of(&self, c: &CheckIn, day: NaiveDate) -> Result<DocId> {
        let community = &self.device.community_id;
        if self.device.role != Role::BuildingLead {
            return Ok(DocId::check_in_log(community, &c.grid, day));
        }
        let building = db::roster::household_building(&self.conn, &c.household_code)?
            .filter(|b| self.device.buildings.contains(b))
            .ok_or_else(|| {
                Error::invalid("household", format!("{} is not in this device's buildings", c.household_code))
            })?;
        Ok(DocId::building_check_in_log(community, &c.grid, day, &docs::building_key(&building)))
    }

    /// A check-in read back from its day's document (not from the materialised tables), if it is there: the
    /// grid's log of the day, or the log of the day of the household's building (where a building lead's
    /// check-ins go).
    pub fn check_in_record(&mut self, check_in_id: &str) -> Result<Option<CheckIn>> {
        let Some((grid, day, household)) = checkins::locate(&self.conn, check_in_id)? else { return Ok(None) };
        let day = NaiveDate::parse_from_str(&day, crate::model::DAY_FORMAT).map_err(|e| Error::Store(e.to_string()))?;
        let community = self.device.community_id.clone();
        let mut ids = vec![DocId::check_in_log(&community, &grid, day)];
        if let Some(building) = db::roster::household_building(&self.conn, &household)? {
            ids.push(DocId::building_check_in_log(&community, &grid, day, &docs::building_key(&building)));
        }
        for id in ids {
            let Some(doc) = self.load_doc(&id)? else { continue };
            if let Some(c) = docs::checkin_log::check_ins(&doc).into_iter().find(|c| c.check_in_id == check_in_id) {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }

    /// Imports a roster CSV (PRODUCT.md §7): validates the whole file first, then applies the differences to
    /// each grid's roster document in one transaction. A malformed row applies nothing.
    pub fn import_roster(&mut self, bytes: &[u8]) -> Result<docs::roster::ImportSummary> {
        let import = docs::roster::RosterImport::parse(bytes, &self.settings, self.clock.now()).map_err(Error::from)?;
        import.check_grids(|g| self.in_scope(g)).map_err(Error::from)?;
        let community = self.device.community_id.clone();
        let ids: Vec<DocId> = import.grids().into_iter().map(|grid| DocId::roster(&community, grid)).collect();
        let cid = DocId::community(&community);
        let mut cdoc = self.checkout(&cid)?;
        let mut rosters = ids.iter().map(|id| self.checkout(id)).collect::<Result<Vec<_>>>()?;
        let summary = import.apply(&mut cdoc, &mut rosters)?;
        let mut changed: Vec<(DocId, AutoCommit)> = ids.into_iter().zip(rosters).collect();
        changed.push((cid, cdoc));
        self.persist(changed, index::reindex)?;
        Ok(summary)
    }

    /// Runs `f` inside one transaction on the store's connection (for callers in the core that write
    /// materialised tables outside a document change).
    pub(crate) fn with_tx<T>(&mut self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let tx = self.conn.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Drops a document this device no longer holds a right to (a service order the server withdrew when it
    /// was dispatched to someone else): its chunks, its sync state and its materialised rows, in one
    /// transaction. Only service orders and incidents, whose rows are the document's alone, are forgotten;
    /// a document not held is no error. Photos stay in the blob store (they are content-addressed and may be
    /// shared).
    pub fn forget_document(&mut self, id: &DocId) -> Result<()> {
        if !matches!(id.kind, DocKind::ServiceOrder | DocKind::Incident) {
            return Err(Error::invalid("doc_id", "only a service order or an incident is forgotten"));
        }
        let tx = self.conn.transaction()?;
        documents::delete(&tx, id)?;
        db::sync_state::forget(&tx, &id.to_string())?;
        match id.kind {
            DocKind::ServiceOrder => db::orders::delete(&tx, id.key.as_deref().unwrap_or_default())?,
            _ => db::incidents::delete(&tx, id)?,
        }
        tx.commit()?;
        self.cache.remove(id);
        Ok(())
    }

    /// Every document id held locally, with its heads (hex change hashes).
    pub fn documents(&self) -> Result<Vec<(String, Vec<String>)>> {
        Ok(documents::list(&self.conn)?
            .into_iter()
            .map(|(id, heads)| (id, docs::split_list(&heads.replace(',', ";"))))
            .collect())
    }

    /// Checks the store file's integrity (SQLite `integrity_check`).
    pub fn integrity_check(&self) -> Result<()> {
        let result = connection::integrity_check(&self.conn)?;
        if result == "ok" {
            Ok(())
        } else {
            Err(Error::Store(format!("integrity check: {result}")))
        }
    }
}

/// Refuses `text` longer than `max` characters (field length limits: notes, titles, descriptions).
/// The Automerge actor of a device: the 16 bytes of its id.
pub(crate) fn actor_of(device_id: &str) -> Result<automerge::ActorId> {
    let uuid = uuid::Uuid::parse_str(device_id).map_err(|e| Error::Store(format!("device id: {e}")))?;
    Ok(automerge::ActorId::from(uuid.as_bytes().as_slice()))
}

pub(crate) fn too_long(field: &str, text: &str, max: usize) -> Result<()> {
    if text.chars().count() > max {
        return Err(Error::invalid(field, format!("longer than {max} characters")));
    }
    Ok(())
}

/// Reads a 32-byte store key from a key file (64 hex characters, or 32 raw bytes).
pub fn read_key_file(path: &Path) -> Result<[u8; KEY_LEN]> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io(format!("key file {}: {e}", path.display())))?;
    let text = String::from_utf8_lossy(&bytes);
    let decoded = match hex::decode(text.trim()) {
        Ok(d) => d,
        Err(_) => bytes.clone(),
    };
    decoded.try_into().map_err(|_| Error::invalid("key_file", "a store key is 32 bytes (64 hex characters)"))
}

/// Creates a new random key file (64 hex characters, mode 0600 where supported).
pub fn create_key_file(path: &Path) -> Result<[u8; KEY_LEN]> {
    let mut key = [0u8; KEY_LEN];
    getrandom::fill(&mut key).map_err(|e| Error::Io(format!("random key: {e}")))?;
    std::fs::write(path, hex::encode(key))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(key)
}

/// The current time of `clock` as RFC 3339 text.
pub(crate) fn clock_text(clock: &dyn Clock) -> String {
    now_text(clock)
}

#[allow(dead_code)]
fn _assert_send() {
    fn is_send<T: Send>() {}
    is_send::<Store>();
    let _ = Utc::now;
}

#[cfg(test)]
mod tests {
    use super::db::documents::COMPACT_AFTER_CHUNKS;
    use super::*;
    use crate::clock::SystemClock;
    use crate::model::Role;

    fn write(store: &mut Store, id: &DocId, n: usize) {
        let mut doc = store.checkout(id).expect("checkout");
        docs::put_entity(&mut doc, &format!("note/{n:03}"), &vec![("n", docs::i(n as i64))]).expect("put");
        store.persist(vec![(id.clone(), doc)], |_, _| Ok(())).expect("persist");
    }

    fn notes(store: &Store, id: &DocId) -> usize {
        let doc = store.load_doc(id).expect("load").expect("stored");
        docs::entities(&doc, "note/").count()
    }

    /// A new document's first chunk stays in its row; the next write moves it to `doc_chunk`; compaction
    /// folds everything into one snapshot; every write is read back, from this store and after reopening.
    #[test]
    fn first_chunk_inline_then_moved_then_compacted() {
        let dir = tempfile::tempdir().expect("dir");
        let key = [5u8; KEY_LEN];
        let mut store =
            Store::init(dir.path(), &key, InitOptions::new("王网格长", Role::GridLeader), Arc::new(SystemClock))
                .expect("init");
        let id = DocId::incident(&store.device().community_id.clone(), "G01", &uuid::Uuid::now_v7().to_string());
        let layout = |store: &Store| -> (bool, i64) {
            let inline: bool = store
                .conn
                .query_row("SELECT head IS NOT NULL FROM doc WHERE doc_id = ?1", [id.to_string()], |r| r.get(0))
                .expect("doc row");
            let chunks: i64 = store
                .conn
                .query_row("SELECT count(*) FROM doc_chunk WHERE doc_id = ?1", [id.to_string()], |r| r.get(0))
                .expect("chunks");
            (inline, chunks)
        };
        write(&mut store, &id, 0);
        assert_eq!(layout(&store), (true, 0), "one row for a new document");
        assert_eq!(notes(&store, &id), 1);
        write(&mut store, &id, 1);
        assert_eq!(layout(&store), (false, 2), "the second write moves the first chunk out");
        assert_eq!(notes(&store, &id), 2);
        for n in 2..COMPACT_AFTER_CHUNKS as usize + 3 {
            write(&mut store, &id, n);
        }
        let (inline, chunks) = layout(&store);
        assert!(!inline && chunks < 5, "compacted: {chunks} chunks");
        // A large first chunk goes to doc_chunk at once.
        let big = DocId::incident(&store.device().community_id.clone(), "G01", &uuid::Uuid::now_v7().to_string());
        let mut doc = store.checkout(&big).expect("checkout");
        for n in 0..200 {
            docs::put_entity(&mut doc, &format!("note/{n:03}"), &vec![("text", docs::s(&"网格".repeat(20)))])
                .expect("put");
        }
        store.persist(vec![(big.clone(), doc)], |_, _| Ok(())).expect("persist");
        let (inline, chunks): (bool, i64) = store
            .conn
            .query_row(
                "SELECT head IS NOT NULL, (SELECT count(*) FROM doc_chunk c WHERE c.doc_id = d.doc_id) FROM doc d
                 WHERE doc_id = ?1",
                [big.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("big");
        assert_eq!((inline, chunks), (false, 1));
        drop(store);
        let store = Store::open(dir.path(), &key, Arc::new(SystemClock)).expect("reopen");
        assert_eq!(notes(&store, &id), COMPACT_AFTER_CHUNKS as usize + 3);
        assert_eq!(notes(&store, &big), 200);
    }
}
