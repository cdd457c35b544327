//! `GridlineStore`: the device store behind a lock, one method per core call.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::NaiveDate;
use gridline_core::docs::roster::ImportSummary;
use gridline_core::ledger::export::Lang;
use gridline_core::ledger::LedgerSummary;
use gridline_core::model::{
    CheckIn, CommunitySettings, IncidentFields, NewCheckIn, NewIncident, NewProject, NewProjectRating, NewServiceOrder,
    NewVisit, ProjectFields, ServiceOrderFields, Visit,
};
use gridline_core::points::{HonourRow, PointsBalance, PointsEntry};
use gridline_core::project::ProjectStatus;
use gridline_core::schedule::Month;
use gridline_core::store::{
    DeviceInfo, HouseholdDetail, IncidentAct, IncidentDetail, IncidentFilter, IncidentList, InitOptions, NeedsFilter,
    NeedsList, OrderAct, OrderDetail, OrderFilter, OrderList, ProjectDetail, ProjectFilter, ProjectList, Redemption,
    Rounds, VisitsDue, KEY_LEN,
};
use gridline_core::{Store, SystemClock};

use gridline_core::sync::status::SyncStatus;
use gridline_core::sync::SyncReport;

use crate::error::Result;
use crate::sync::{Forward, SyncCancel, SyncObserver};

uniffi::use_remote_type!(gridline_core::NaiveDate);

/// The encrypted device store. All methods do disk I/O: call them off the UI thread. One store object per
/// store directory; it is safe to share between threads (calls are serialised by its lock).
#[derive(uniffi::Object)]
pub struct GridlineStore {
    store: Mutex<Store>,
}

fn key(bytes: &[u8]) -> Result<[u8; KEY_LEN]> {
    Ok(bytes.try_into().map_err(|_| gridline_core::Error::invalid("key", format!("a store key is {KEY_LEN} bytes")))?)
}

impl GridlineStore {
    fn wrap(store: Store) -> Arc<Self> {
        Arc::new(GridlineStore { store: Mutex::new(store) })
    }

    /// The store, even after a panic in another call: every write is one SQLite transaction, so a poisoned
    /// lock never guards a half-written store.
    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs one core call on the locked store and maps its error.
    fn with<T>(&self, call: impl FnOnce(&mut Store) -> gridline_core::Result<T>) -> Result<T> {
        Ok(call(&mut self.lock())?)
    }
}

#[uniffi::export]
impl GridlineStore {
    /// Creates a new standalone store in `dir` with a new device identity. `key` is the 32-byte store key
    /// the shell keeps in the platform keystore. I/O.
    #[uniffi::constructor]
    pub fn init(dir: String, key: Vec<u8>, options: InitOptions) -> Result<Arc<Self>> {
        Ok(Self::wrap(Store::init(Path::new(&dir), &self::key(&key)?, options, Arc::new(SystemClock))?))
    }

    /// Opens the store in `dir` with its 32-byte key. A wrong key fails with `store_key_invalid`. I/O.
    #[uniffi::constructor]
    pub fn open(dir: String, key: Vec<u8>) -> Result<Arc<Self>> {
        Ok(Self::wrap(Store::open(Path::new(&dir), &self::key(&key)?, Arc::new(SystemClock))?))
    }

    /// Enrolls this phone with a server: redeems the one-time `code` the admin issued and creates the store
    /// in `dir` with the identity, role and grids the server assigned. `server_url` is `https://`, or
    /// `http://` to this device (loopback); plain HTTP to another host fails with `insecure_server_url` unless
    /// `insecure_http` (the user's explicit choice, kept with the enrollment: a revocation received over it
    /// does not erase the store). Network and disk I/O.
    #[uniffi::constructor(default(insecure_http = false))]
    pub fn enroll(
        dir: String,
        key: Vec<u8>,
        server_url: String,
        code: String,
        insecure_http: bool,
    ) -> Result<Arc<Self>> {
        let key = self::key(&key)?;
        Ok(Self::wrap(Store::enroll(Path::new(&dir), &key, &server_url, &code, insecure_http, Arc::new(SystemClock))?))
    }

    /// This device's identity: user, role, community, grids. Memory only.
    pub fn device(&self) -> DeviceInfo {
        self.lock().device().clone()
    }

    /// The community's configuration (care categories, incident categories, visit services). Memory only.
    pub fn settings(&self) -> CommunitySettings {
        self.lock().settings().clone()
    }

    /// Imports a roster CSV ledger (PRODUCT.md §7); a malformed file applies nothing. I/O.
    pub fn import_roster(&self, csv: Vec<u8>) -> Result<ImportSummary> {
        self.with(|s| s.import_roster(&csv))
    }

    /// The rounds of `date` (`YYYY-MM-DD`, default today): households due, in walking order. I/O.
    pub fn rounds(&self, date: Option<NaiveDate>) -> Result<Rounds> {
        self.with(|s| s.rounds(date))
    }

    /// Everything about one household: residents, recent check-ins, what is due. I/O.
    pub fn household_detail(&self, household_code: String) -> Result<HouseholdDetail> {
        self.with(|s| s.household_detail(&household_code))
    }

    /// Stores a photo (JPEG, PNG, WebP or HEIC, ≤ 10 MiB) and returns its SHA-256 for a check-in or an
    /// incident. I/O.
    pub fn add_photo(&self, bytes: Vec<u8>) -> Result<String> {
        self.with(|s| s.add_photo(&bytes))
    }

    /// Records a check-in, durably, and updates the rounds. I/O.
    pub fn check_in(&self, check_in: NewCheckIn) -> Result<CheckIn> {
        self.with(|s| s.check_in(check_in))
    }

    /// Reports an incident (category, severity, description, photos, location, household), durably. A
    /// check-in with outcome `problem` given as `check_in_id` prefills it. I/O.
    pub fn report_incident(&self, incident: NewIncident) -> Result<IncidentFields> {
        self.with(|s| s.report_incident(incident))
    }

    /// Incidents in scope matching `filter`, with counts per stage. I/O.
    pub fn incident_list(&self, filter: IncidentFilter) -> Result<IncidentList> {
        self.with(|s| s.incident_list(&filter))
    }

    /// One incident: fields, full history, deadline, and `allowed_actions` — the actions this device's role
    /// may take now (shells show exactly these buttons). I/O.
    pub fn incident_detail(&self, incident_id: String) -> Result<IncidentDetail> {
        self.with(|s| s.incident_detail(&incident_id))
    }

    /// Takes an action on an incident as this device's user and role, durably; returns the incident after
    /// it. An action the role may not take now fails with `action_not_allowed` and writes nothing. I/O.
    pub fn incident_act(&self, incident_id: String, act: IncidentAct) -> Result<IncidentDetail> {
        self.with(|s| s.incident_act(&incident_id, act))
    }

    /// Records a home visit (services delivered, needs found, follow-up date, satisfaction), durably. I/O.
    pub fn record_visit(&self, visit: NewVisit) -> Result<Visit> {
        self.with(|s| s.record_visit(visit))
    }

    /// The social worker's visits due on `date` (`YYYY-MM-DD`, default today): phone, door and home contacts
    /// per resident and follow-ups, most overdue first. I/O.
    pub fn visits_due(&self, date: Option<NaiveDate>) -> Result<VisitsDue> {
        self.with(|s| s.visits_due(date))
    }

    /// The monthly ledger's summary figures for `month` (`YYYY-MM`), one grid or every grid in scope. I/O.
    pub fn ledger_summary(&self, month: String, grid: Option<String>) -> Result<LedgerSummary> {
        self.with(|s| Ok(s.ledger(&Month::parse(&month)?, grid.as_deref())?.summary))
    }

    /// The full monthly ledger as CSV (UTF-8 with BOM, all sheets), headers in `lang`. I/O.
    pub fn ledger_csv(&self, month: String, grid: Option<String>, lang: Lang) -> Result<Vec<u8>> {
        self.with(|s| s.ledger(&Month::parse(&month)?, grid.as_deref())?.to_csv(lang))
    }

    /// The full monthly ledger as an XLSX workbook, headers in `lang`. I/O.
    pub fn ledger_xlsx(&self, month: String, grid: Option<String>, lang: Lang) -> Result<Vec<u8>> {
        self.with(|s| s.ledger(&Month::parse(&month)?, grid.as_deref())?.to_xlsx(lang))
    }

    /// Orders a volunteer service (点单) for a household in scope: the resident's name, address and phone are
    /// copied from the roster into the order, durably. I/O.
    pub fn request_service(&self, order: NewServiceOrder) -> Result<ServiceOrderFields> {
        self.with(|s| s.request_service(order))
    }

    /// Takes an action on a service order (dispatch, accept, decline, done, evaluate, cancel, comment) as this
    /// device's user and role, durably; returns the order after it. An action not in the order's
    /// `allowed_actions` fails with `action_not_allowed` and writes nothing. I/O.
    pub fn order_act(&self, order_id: String, act: OrderAct) -> Result<OrderDetail> {
        self.with(|s| s.order_act(&order_id, act))
    }

    /// Service orders on this device matching `filter` (a volunteer's device holds only those dispatched to
    /// it), with counts per stage and overdue flags. I/O.
    pub fn order_list(&self, filter: OrderFilter) -> Result<OrderList> {
        self.with(|s| s.order_list(&filter))
    }

    /// One service order: resident, address, phone, service, stage, volunteer, due date, history, and
    /// `allowed_actions` — the actions this device's user may take now (shells show exactly these). I/O.
    pub fn order_detail(&self, order_id: String) -> Result<OrderDetail> {
        self.with(|s| s.order_detail(&order_id))
    }

    /// The needs list (问题清单): needs found on visits and service requests, per household, building and
    /// month, with the project that answers each. I/O.
    pub fn needs_list(&self, filter: NeedsFilter) -> Result<NeedsList> {
        self.with(|s| s.needs_list(&filter))
    }

    /// Creates a service project (项目化; committee and station), durably; it starts `planned`. I/O.
    pub fn project_create(&self, project: NewProject) -> Result<ProjectFields> {
        self.with(|s| s.project_create(project))
    }

    /// Moves a project to `status` (one of its `allowed_statuses`), durably; returns it after. I/O.
    pub fn project_update(&self, project_id: String, status: ProjectStatus, note: String) -> Result<ProjectDetail> {
        self.with(|s| s.project_update(&project_id, status, &note))
    }

    /// Projects, newest first, with counts per status. I/O.
    pub fn project_list(&self, filter: ProjectFilter) -> Result<ProjectList> {
        self.with(|s| s.project_list(&filter))
    }

    /// One project: fields, status history, residents' ratings (replaced ones flagged) with their average,
    /// `allowed_statuses` and `may_evaluate` for this device's user. I/O.
    pub fn project_detail(&self, project_id: String) -> Result<ProjectDetail> {
        self.with(|s| s.project_detail(&project_id))
    }

    /// Records a household's rating of a done project, 1–5 (民事民评), durably; a later rating of the same
    /// household replaces the earlier. `project_not_done` before the project is done. I/O.
    pub fn project_evaluate(&self, project_id: String, rating: NewProjectRating) -> Result<ProjectDetail> {
        self.with(|s| s.project_evaluate(&project_id, rating))
    }

    /// A volunteer's points (积分): balance, earned, redeemed, and pending redemptions; `volunteer` null: this
    /// device's user on a volunteer's device (elsewhere `invalid_input`). I/O.
    pub fn points_balance(&self, volunteer: Option<String>) -> Result<PointsBalance> {
        self.with(|s| s.points_balance(volunteer.as_deref()))
    }

    /// A volunteer's credits and redemptions, newest first; `volunteer` null: this device's user. I/O.
    pub fn points_history(&self, volunteer: Option<String>) -> Result<Vec<PointsEntry>> {
        self.with(|s| s.points_history(volunteer.as_deref()))
    }

    /// Records a redemption at the love supermarket (committee, station), durably. Refused at once with
    /// `points_insufficient`, `out_of_stock` or `unknown_item` when this device's view already says so;
    /// otherwise `pending` until the server's decision syncs back (`SyncReport.redemptions_decided`). I/O.
    pub fn redeem_points(&self, volunteer: String, item: String, quantity: u32) -> Result<Redemption> {
        self.with(|s| s.redeem_points(&volunteer, &item, quantity))
    }

    /// One redemption with its status as this device knows it (pending until the server's decision arrives).
    /// I/O.
    pub fn redemption(&self, redemption_id: String) -> Result<Redemption> {
        self.with(|s| s.redemption(&redemption_id))
    }

    /// The honour roll (荣誉墙) of `month` (`YYYY-MM`): evaluated orders, hours and points per volunteer. I/O.
    pub fn honour_roll(&self, month: String) -> Result<Vec<HonourRow>> {
        self.with(|s| s.honour_roll(&Month::parse(&month)?))
    }

    /// Syncs with the server: batched document rounds, then photos, with retries. Progress goes to `observer`
    /// on the calling thread; `cancel` stops it between two steps (`sync_cancelled`, work so far kept). Holds
    /// the store for the whole run. Network and disk I/O: never on the UI thread.
    pub fn sync(&self, observer: Option<Arc<dyn SyncObserver>>, cancel: Arc<SyncCancel>) -> Result<SyncReport> {
        self.with(|s| s.sync(&Forward(observer), cancel.flag()))
    }

    /// The server, when the last sync finished, what waits to go up, and the documents the server refused
    /// (left out of sync until `retry_refused`). I/O.
    pub fn sync_status(&self) -> Result<SyncStatus> {
        self.with(|s| s.sync_status())
    }

    /// Offers the documents the server refused again at the next sync (the user asked); returns how many
    /// were set aside. I/O.
    pub fn retry_refused(&self) -> Result<u32> {
        self.with(|s| s.retry_refused())
    }
}
