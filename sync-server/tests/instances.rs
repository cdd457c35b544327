//! Two `serve` instances on one PostgreSQL database, any request reaching either one (no stickiness, as
//! behind a plain load balancer): devices that switch instances between and within syncs, concurrent actions
//! on one incident through both instances, and an instance killed with SIGKILL in the middle of a device's
//! sync. Every time, every device ends holding every document of its scope at the database's heads, each
//! change is stored once, and nothing a device wrote is lost.
//!
//! The devices are the core's own store and sync client; a test transport ([`Link`]) sends each request to
//! the instance its route names. Needs `GRIDLINE_TEST_DATABASE_URL` (tests/run starts a throwaway cluster with
//! tests/pg/cluster.sh and sets it); without it each test says why and passes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use gridline_core::docs::{checkin_log, visit_log, DocId, DocKind};
use gridline_core::model::{CheckInKind, CheckInOutcome, NewCheckIn, NewIncident, NewVisit, VisitKind};
use gridline_core::store::{IncidentAct, IncidentFilter};
use gridline_core::sync::http::HttpTransport;
use gridline_core::sync::protocol::{DeviceKey, EnrollRequest, EnrollResponse};
use gridline_core::sync::{NoProgress, SyncOptions, SyncReport, Transport};
use gridline_core::workflow::{Action, Stage};
use gridline_core::{Clock, FixedClock, Store};
use gridline_testkit::postgres::query;
use gridline_testkit::{Codes, Rng, Roster, Server, ServerOptions, Tags, TestDatabase};

/// Instance A's index in [`Instances::servers`].
const A: usize = 0;
/// Instance B's index.
const B: usize = 1;

/// The seed of the test's random choices: `GRIDLINE_SEED` replays another run.
fn seed() -> u64 {
    std::env::var("GRIDLINE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x1257_2026)
}

/// Two instances of `serve` on one fresh database, each with a data directory of its own, and a community
/// whose roster has `households` households in each of `grids`.
struct Instances {
    /// Instances A and B (declared before the database: they stop before it is dropped).
    servers: [Server; 2],
    db: TestDatabase,
    dir: tempfile::TempDir,
    community: String,
}

impl Instances {
    fn start(test: &str, grids: &[&str], households: usize) -> Option<Instances> {
        let db = TestDatabase::create_for(test)?;
        let dir = tempfile::tempdir().expect("tempdir");
        let options = ServerOptions { database_url: Some(db.url.clone()), ..ServerOptions::default() };
        let servers = [
            Server::start_with(&dir.path().join("instance-a"), &options),
            Server::start_with(&dir.path().join("instance-b"), &options),
        ];
        // The community through one instance's admin, its roster through the other's.
        let community = servers[A].community("幸福社区");
        let roster =
            Roster::grids(grids).households(households).codes(Codes::Dashed(4)).tags(Tags::EveryThirdElderlyAlone);
        servers[B].import_roster(&community, "roster.csv", &roster.csv());
        Some(Instances { servers, db, dir, community })
    }

    /// Every document of the community in the database: its grid and its heads (sorted).
    fn stored_documents(&self) -> BTreeMap<String, (Option<String>, Vec<String>)> {
        let sql = format!("SELECT doc_id, grid, heads FROM document WHERE community_id = '{}'", self.community);
        query(&self.db.url, &sql)
            .into_iter()
            .map(|row| {
                let mut heads: Vec<String> =
                    row[2].as_deref().unwrap_or("").split(';').filter(|h| !h.is_empty()).map(String::from).collect();
                heads.sort();
                (row[0].clone().expect("doc_id"), (row[1].clone(), heads))
            })
            .collect()
    }

    /// Change hashes stored in the database, by document.
    fn stored_changes(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for row in query(&self.db.url, "SELECT doc_id, hash FROM change") {
            out.entry(row[0].clone().expect("doc_id")).or_default().insert(row[1].clone().expect("hash"));
        }
        out
    }

    /// Asserts that no change is stored twice: not twice in one document, not in two documents.
    fn assert_no_change_twice(&self) {
        let per_doc = query(
            &self.db.url,
            "SELECT doc_id, count(*), count(DISTINCT hash) FROM change GROUP BY doc_id
             HAVING count(*) <> count(DISTINCT hash)",
        );
        assert!(per_doc.is_empty(), "changes stored twice in a document: {per_doc:?}");
        let across = query(&self.db.url, "SELECT hash, count(*) FROM change GROUP BY hash HAVING count(*) > 1");
        assert!(across.is_empty(), "changes stored in several documents: {across:?}");
    }
}

/// Which instance each request of a phone goes to.
enum Route {
    /// Always this instance.
    Only(usize),
    /// Either, drawn for every request.
    Random(Rng),
}

/// A phone's way to the two instances: a transport for each, and a route choosing one for every request.
struct Link {
    to: [HttpTransport; 2],
    route: Mutex<Route>,
    /// Requests sent to each instance.
    sent: [AtomicU32; 2],
    /// Sync requests sent so far.
    syncs: AtomicU32,
    /// Told the number of each sync request just before it leaves.
    announce: Mutex<Option<mpsc::Sender<u32>>>,
}

impl Link {
    fn pick(&self) -> &HttpTransport {
        let i = match &mut *self.route.lock().expect("route") {
            Route::Only(i) => *i,
            Route::Random(rng) => rng.below(2) as usize,
        };
        self.sent[i].fetch_add(1, Ordering::SeqCst);
        &self.to[i]
    }

    fn set_route(&self, route: Route) {
        *self.route.lock().expect("route") = route;
    }
}

impl Transport for Link {
    fn authenticated(&self) -> bool {
        self.to[A].authenticated()
    }

    fn device_keys(&self, etag: Option<&str>) -> gridline_core::Result<Option<(Vec<DeviceKey>, Option<String>)>> {
        self.pick().device_keys(etag)
    }

    fn enroll(&self, request: &EnrollRequest) -> gridline_core::Result<EnrollResponse> {
        self.pick().enroll(request)
    }

    fn sync(&self, body: &[u8]) -> gridline_core::Result<Vec<u8>> {
        let n = self.syncs.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(tell) = &*self.announce.lock().expect("announce") {
            let _ = tell.send(n);
        }
        self.pick().sync(body)
    }

    fn blob_exists(&self, hash: &str) -> gridline_core::Result<bool> {
        self.pick().blob_exists(hash)
    }

    fn put_blob(&self, hash: &str, mime: &str, bytes: &[u8]) -> gridline_core::Result<()> {
        self.pick().put_blob(hash, mime, bytes)
    }

    fn get_blob(&self, hash: &str) -> gridline_core::Result<Vec<u8>> {
        self.pick().get_blob(hash)
    }
}

/// Enrolls through one instance and keeps the token the server issued (the store keeps its own copy).
struct Enrolling {
    http: HttpTransport,
    token: Mutex<Option<String>>,
}

impl Transport for Enrolling {
    fn authenticated(&self) -> bool {
        self.http.authenticated()
    }

    fn device_keys(&self, etag: Option<&str>) -> gridline_core::Result<Option<(Vec<DeviceKey>, Option<String>)>> {
        self.http.device_keys(etag)
    }

    fn enroll(&self, request: &EnrollRequest) -> gridline_core::Result<EnrollResponse> {
        let answer = self.http.enroll(request)?;
        *self.token.lock().expect("token") = Some(answer.token.clone());
        Ok(answer)
    }

    fn sync(&self, body: &[u8]) -> gridline_core::Result<Vec<u8>> {
        self.http.sync(body)
    }

    fn blob_exists(&self, hash: &str) -> gridline_core::Result<bool> {
        self.http.blob_exists(hash)
    }

    fn put_blob(&self, hash: &str, mime: &str, bytes: &[u8]) -> gridline_core::Result<()> {
        self.http.put_blob(hash, mime, bytes)
    }

    fn get_blob(&self, hash: &str) -> gridline_core::Result<Vec<u8>> {
        self.http.get_blob(hash)
    }
}

/// A phone: the core's store, and its link to the instances.
struct Phone {
    name: String,
    store: Store,
    link: Link,
    /// Its grids; empty for the whole community.
    grids: Vec<String>,
}

/// The phones' clock: now, fixed (the server refuses records dated ahead of its own clock).
fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock(Utc::now()))
}

impl Phone {
    /// Enrolls `name` with `role` in `grids` through instance `via`; later requests follow `route`.
    fn enroll(
        inst: &Instances,
        name: &str,
        role: &str,
        grids: &[&str],
        via: usize,
        route: Route,
        clock: &Arc<dyn Clock>,
    ) -> Phone {
        let server = &inst.servers[via];
        let code = server.enrollment_code(&inst.community, name, role, grids);
        let enrolling = Enrolling {
            http: HttpTransport::new(&server.url(""), None, false).expect("transport"),
            token: Mutex::new(None),
        };
        let dir = inst.dir.path().join("phones").join(name);
        let store = Store::enroll_with(&dir, &[7; 32], &enrolling, &server.url(""), &code, clock.clone())
            .unwrap_or_else(|e| panic!("{name} enrolls: {e}"));
        let token = enrolling.token.into_inner().expect("token").expect("enrolled");
        let to = [A, B].map(|i| HttpTransport::new(&inst.servers[i].url(""), Some(&token), false).expect("transport"));
        let link = Link {
            to,
            route: Mutex::new(route),
            sent: [AtomicU32::new(0), AtomicU32::new(0)],
            syncs: AtomicU32::new(0),
            announce: Mutex::new(None),
        };
        Phone { name: name.into(), store, link, grids: grids.iter().map(|g| g.to_string()).collect() }
    }

    fn try_sync(&mut self, opts: &SyncOptions) -> gridline_core::Result<SyncReport> {
        self.store.sync_with(&self.link, opts, &NoProgress, &AtomicBool::new(false))
    }

    fn sync(&mut self) -> SyncReport {
        self.try_sync(&SyncOptions::default()).unwrap_or_else(|e| panic!("{} syncs: {e}", self.name))
    }

    /// Whether a document of `grid` (`None`: community-wide) is in this phone's scope.
    fn sees(&self, grid: Option<&str>) -> bool {
        self.grids.is_empty() || grid.is_none_or(|g| self.grids.iter().any(|mine| mine == g))
    }

    /// Every document the phone holds, with its heads sorted.
    fn holdings(&self) -> BTreeMap<String, Vec<String>> {
        let docs = self.store.documents().unwrap_or_else(|e| panic!("{} documents: {e}", self.name));
        docs.into_iter()
            .map(|(id, mut heads)| {
                heads.sort();
                (id, heads)
            })
            .collect()
    }

    /// Asserts the phone holds exactly the stored documents of its scope, at the stored heads: nothing
    /// missing (the catalogue skipped nothing), nothing behind, nothing outside its scope.
    fn assert_holds_its_scope(&self, stored: &BTreeMap<String, (Option<String>, Vec<String>)>) {
        let held = self.holdings();
        let expected: BTreeMap<String, Vec<String>> = stored
            .iter()
            .filter(|(_, (grid, _))| self.sees(grid.as_deref()))
            .map(|(id, (_, heads))| (id.clone(), heads.clone()))
            .collect();
        let missing: Vec<&String> = expected.keys().filter(|id| !held.contains_key(*id)).collect();
        let extra: Vec<&String> = held.keys().filter(|id| !expected.contains_key(*id)).collect();
        let behind: Vec<(&String, &Vec<String>, &Vec<String>)> = expected
            .iter()
            .filter_map(|(id, heads)| held.get(id).filter(|h| *h != heads).map(|h| (id, h, heads)))
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty() && behind.is_empty(),
            "{} does not hold its scope at the stored heads: missing {missing:?}, extra {extra:?}, \
             other heads (held, stored) {behind:?}",
            self.name
        );
    }

    /// Every change hash of the phone's documents, by document.
    fn changes(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut out = BTreeMap::new();
        for id in self.holdings().keys() {
            let doc_id = DocId::parse(id).expect("doc id");
            let mut doc = self.store.load_doc(&doc_id).expect("load").expect("held");
            let hashes = doc.get_changes(&[]).iter().map(|c| c.hash().to_string()).collect();
            out.insert(id.clone(), hashes);
        }
        out
    }

    /// Check-in ids held, by grid.
    fn check_ins(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.records(DocKind::CheckInLog, |doc| {
            checkin_log::check_ins(doc).into_iter().map(|c| c.check_in_id).collect()
        })
    }

    /// Visit ids held, by grid.
    fn visits(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.records(DocKind::VisitLog, |doc| visit_log::visits(doc).into_iter().map(|v| v.visit_id).collect())
    }

    /// The ids `read` finds in every held document of `kind`, by grid; an id read twice fails the test.
    fn records(
        &self,
        kind: DocKind,
        read: impl Fn(&automerge::AutoCommit) -> Vec<String>,
    ) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for id in self.holdings().keys() {
            let doc_id = DocId::parse(id).expect("doc id");
            if doc_id.kind != kind {
                continue;
            }
            let doc = self.store.load_doc(&doc_id).expect("load").expect("held");
            let grid = out.entry(doc_id.grid.clone().unwrap_or_default()).or_default();
            for record in read(&doc) {
                assert!(grid.insert(record.clone()), "{}: {record} is in {id} twice", self.name);
            }
        }
        out
    }

    /// An incident's history as this phone derives it: the stage, and every event with whether it applied.
    fn history(&self, incident_id: &str) -> (Stage, Vec<(String, String, String, bool)>) {
        let detail = self.store.incident_detail(incident_id).unwrap_or_else(|e| panic!("{}: {e}", self.name));
        let events = detail.events.into_iter().map(|e| (e.event_id, e.action, e.actor, e.applied)).collect();
        (detail.stage, events)
    }
}

/// 09:00 in the community's time zone, `days_ago` days before `now`.
fn morning(now: DateTime<Utc>, days_ago: u64) -> DateTime<FixedOffset> {
    let tz = FixedOffset::east_opt(8 * 3600).expect("offset");
    let day = now.with_timezone(&tz).date_naive() - chrono::Days::new(days_ago);
    tz.from_local_datetime(&day.and_hms_opt(9, 0, 0).expect("time")).single().expect("time")
}

fn household(grid: &str, rng: &mut Rng, households: usize) -> String {
    format!("{grid}-H{:04}", rng.below(households as u64))
}

/// A check-in by `phone` at a household of `grid` at `at`; returns its id.
fn check_in(phone: &mut Phone, grid: &str, at: DateTime<FixedOffset>, rng: &mut Rng, households: usize) -> String {
    let input = NewCheckIn {
        household_code: household(grid, rng, households),
        kind: if rng.below(2) == 0 { CheckInKind::Door } else { CheckInKind::Phone },
        outcome: CheckInOutcome::Well,
        note: format!("{} at {at}", phone.name),
        photos: vec![],
        location: None,
        at: Some(at),
    };
    phone.store.check_in(input).unwrap_or_else(|e| panic!("{} checks in: {e}", phone.name)).check_in_id
}

/// A home visit by `phone` at a household of `grid` at `at`; returns its id.
fn visit(phone: &mut Phone, grid: &str, at: DateTime<FixedOffset>, rng: &mut Rng, households: usize) -> String {
    let input = NewVisit {
        household_code: household(grid, rng, households),
        residents: vec![],
        kind: VisitKind::Home,
        at: Some(at),
        duration_min: Some(20),
        services: vec![],
        needs: format!("{} asked about the lift", phone.name),
        need_tags: vec![],
        follow_up: None,
        satisfaction: Some(4),
        photos: vec![],
    };
    phone.store.record_visit(input).unwrap_or_else(|e| panic!("{} visits: {e}", phone.name)).visit_id
}

/// An incident reported by `phone` in `grid`; returns its id.
fn report(phone: &mut Phone, grid: &str, title: &str, rng: &mut Rng, households: usize) -> String {
    let input = NewIncident {
        household_code: Some(household(grid, rng, households)),
        grid: None,
        category: "facility_repair".into(),
        severity: None,
        title: title.into(),
        description: "楼道灯不亮".into(),
        photos: vec![],
        location: None,
        at: None,
        check_in_id: None,
    };
    phone.store.report_incident(input).unwrap_or_else(|e| panic!("{} reports: {e}", phone.name)).incident_id
}

/// `phone` takes `action` on an incident; returns the new event's id.
fn act(phone: &mut Phone, incident_id: &str, action: Action) -> String {
    let mut act = IncidentAct::new(action, &format!("{} {}", phone.name, action.code()));
    match action {
        Action::Verify => act.assignee = Some("维修班".into()),
        Action::Evaluate => act.satisfied = Some(true),
        _ => {}
    }
    let detail = phone
        .store
        .incident_act(incident_id, act)
        .unwrap_or_else(|e| panic!("{} {} {incident_id}: {e}", phone.name, action.code()));
    detail.events.last().expect("the new event").event_id.clone()
}

/// Asserts every phone that sees incident `id` derives the same history, holding every event in `expected`
/// (ids of the devices' events) and no other device event, with one receipt of the server; returns the
/// history.
fn assert_one_history(
    phones: &[&Phone],
    id: &str,
    expected: &BTreeSet<String>,
) -> (Stage, Vec<(String, String, String, bool)>) {
    let first = phones[0].history(id);
    for phone in &phones[1..] {
        assert_eq!(phone.history(id), first, "{} and {} differ on incident {id}", phone.name, phones[0].name);
    }
    let receipts = first.1.iter().filter(|e| e.1 == "receive").count();
    assert_eq!(receipts, 1, "one receipt of the server on {id}: {:?}", first.1);
    let held: BTreeSet<String> = first.1.iter().filter(|e| e.1 != "receive").map(|e| e.0.clone()).collect();
    assert_eq!(&held, expected, "every device event of {id} is kept, none twice: {:?}", first.1);
    first
}

/// What the first test's work wrote.
#[derive(Default)]
struct Written {
    check_ins: BTreeMap<String, BTreeSet<String>>,
    visits: BTreeMap<String, BTreeSet<String>>,
    /// Device events (the report included), by incident.
    events: BTreeMap<String, BTreeSet<String>>,
    /// Incidents the committee sent back once already.
    returned: BTreeSet<String>,
    /// Incidents reported, in order.
    incidents: Vec<String>,
}

const HOUSEHOLDS: usize = 12;
const ROUNDS: u64 = 5;

/// One phone's offline work of round `round` (`at`: that day's morning): grid leaders check in, visit,
/// report (a first and a second leader in different rounds) and evaluate or resubmit; the committee returns an
/// incident once and dispatches; the station verifies and resolves; now and then a comment.
fn work(phone: &mut Phone, round: u64, at: DateTime<FixedOffset>, rng: &mut Rng, written: &mut Written) {
    for grid in phone.grids.clone() {
        for i in 0..3 + rng.below(4) {
            let id = check_in(phone, &grid, at + chrono::Duration::minutes(i as i64), rng, HOUSEHOLDS);
            written.check_ins.entry(grid.clone()).or_default().insert(id);
        }
        let id = visit(phone, &grid, at + chrono::Duration::hours(2), rng, HOUSEHOLDS);
        written.visits.entry(grid.clone()).or_default().insert(id);
        let reports = (round == 0 && phone.name.ends_with('1')) || (round == 1 && phone.name.ends_with('2'));
        if reports {
            let id = report(phone, &grid, &format!("{} round {round}", phone.name), rng, HOUSEHOLDS);
            let event = phone.history(&id).1[0].0.clone();
            written.events.entry(id.clone()).or_default().insert(event);
            written.incidents.push(id);
        }
    }
    let items = phone.store.incident_list(&IncidentFilter::default()).expect("incident list").items;
    for item in items {
        let allowed = phone.store.incident_detail(&item.incident_id).expect("detail").allowed_actions;
        let returned_before = written.returned.contains(&item.incident_id);
        let preferred = [
            (Action::Resubmit, true),
            (Action::Evaluate, true),
            (Action::Return, !returned_before && item.grid == "B"),
            (Action::Dispatch, true),
            (Action::Verify, true),
            (Action::Resolve, true),
            (Action::Comment, rng.below(3) == 0),
        ];
        let Some((action, _)) = preferred.into_iter().find(|(a, wanted)| *wanted && allowed.contains(a)) else {
            continue;
        };
        if action == Action::Return {
            written.returned.insert(item.incident_id.clone());
        }
        let event = act(phone, &item.incident_id, action);
        written.events.entry(item.incident_id.clone()).or_default().insert(event);
    }
}

#[test]
fn devices_switching_instances_between_rounds_converge() {
    let test = "devices_switching_instances_between_rounds_converge";
    let Some(inst) = Instances::start(test, &["A", "B"], HOUSEHOLDS) else { return };
    let clock = clock();
    let now = clock.now();
    let seed = seed();
    let mut rng = Rng::new(seed);
    let cast: [(&str, &str, &[&str]); 6] = [
        ("a1", "grid_leader", &["A"]),
        ("a2", "grid_leader", &["A"]),
        ("b1", "grid_leader", &["B"]),
        ("b2", "grid_leader", &["B"]),
        ("committee", "committee", &[]),
        ("station", "station", &[]),
    ];
    let mut phones: Vec<Phone> = cast
        .iter()
        .enumerate()
        .map(|(i, (name, role, grids))| {
            let route = Route::Random(Rng::new(seed.wrapping_add(i as u64 + 1)));
            Phone::enroll(&inst, name, role, grids, i % 2, route, &clock)
        })
        .collect();
    for phone in phones.iter_mut() {
        phone.sync();
    }
    let mut written = Written::default();
    for round in 0..ROUNDS {
        let at = morning(now, ROUNDS - round);
        for phone in phones.iter_mut() {
            work(phone, round, at, &mut rng, &mut written);
        }
        // Every phone syncs at once, each request to whichever instance its route draws; twice, so that
        // the next round's work starts from what everybody sent in this one.
        for _ in 0..2 {
            std::thread::scope(|s| {
                for phone in phones.iter_mut() {
                    s.spawn(move || phone.sync());
                }
            });
        }
    }
    // Two passes, one phone after another: the first sends the last work, the second fetches it.
    for _ in 0..2 {
        for phone in phones.iter_mut() {
            phone.sync();
        }
    }

    inst.assert_no_change_twice();
    let stored = inst.stored_documents();
    for phone in &phones {
        phone.assert_holds_its_scope(&stored);
        let (check_ins, visits) = (phone.check_ins(), phone.visits());
        for grid in ["A", "B"] {
            let visible = phone.sees(Some(grid));
            let expect = |w: &BTreeMap<String, BTreeSet<String>>| match visible {
                true => w.get(grid).cloned().unwrap_or_default(),
                false => BTreeSet::new(),
            };
            assert_eq!(check_ins.get(grid).cloned().unwrap_or_default(), expect(&written.check_ins), "{}", phone.name);
            assert_eq!(visits.get(grid).cloned().unwrap_or_default(), expect(&written.visits), "{}", phone.name);
        }
    }
    assert_eq!(written.incidents.len(), 4, "four incidents reported");
    let mut stages = BTreeMap::new();
    for id in &written.incidents {
        let grid = phones[4].store.incident_detail(id).expect("committee holds it").grid;
        let seeing: Vec<&Phone> = phones.iter().filter(|p| p.sees(Some(&grid))).collect();
        let (stage, events) = assert_one_history(&seeing, id, &written.events[id]);
        assert!(events.len() >= 4, "{id} went along the workflow: {events:?}");
        stages.insert(id.clone(), stage);
        for phone in phones.iter().filter(|p| !p.sees(Some(&grid))) {
            assert!(phone.store.incident_detail(id).is_err(), "{} sees {id} of grid {grid}", phone.name);
        }
    }
    assert!(stages.values().any(|s| *s == Stage::Closed), "some incident went all the way: {stages:?}");
    let sent: Vec<u32> = [A, B].map(|i| phones.iter().map(|p| p.link.sent[i].load(Ordering::SeqCst)).sum()).to_vec();
    assert!(sent.iter().all(|n| *n > 10), "both instances served requests: {sent:?}");
    eprintln!("{test}: seed {seed}, requests to A and B {sent:?}, stages {stages:?}");
}

/// Phones `i` and `j` of `phones`, both mutable (`i != j`).
fn two_mut(phones: &mut [Phone], i: usize, j: usize) -> (&mut Phone, &mut Phone) {
    assert_ne!(i, j);
    if i < j {
        let (left, right) = phones.split_at_mut(j);
        (&mut left[i], &mut right[0])
    } else {
        let (left, right) = phones.split_at_mut(i);
        (&mut right[0], &mut left[j])
    }
}

/// The phones of the concurrency test, by index.
const LEADER: usize = 0;
const C1: usize = 1;
const C2: usize = 2;
const S1: usize = 3;
const S2: usize = 4;

/// Two actions that may both be taken at `stage` by different phones, the first phone's and the second's;
/// `round` varies which. `None` once the incident is closed or rejected.
fn concurrent_pair(stage: Stage, round: usize) -> Option<[(usize, Action); 2]> {
    Some(match stage {
        Stage::Reported | Stage::CommitteeReview => match round % 3 {
            0 => [(C1, Action::Dispatch), (C2, Action::Return)],
            1 => [(C1, Action::Return), (C2, Action::Dispatch)],
            _ => [(C1, Action::Dispatch), (C2, Action::Reject)],
        },
        Stage::Returned => [(LEADER, Action::Resubmit), (C1, Action::Comment)],
        Stage::AtStation => [(S1, Action::Verify), (S2, Action::Escalate)],
        Stage::InProgress => [(S1, Action::Resolve), (S2, Action::Escalate)],
        Stage::Escalated => [(S1, Action::Resolve), (LEADER, Action::Comment)],
        Stage::Resolved => [(LEADER, Action::Evaluate), (S2, Action::Comment)],
        Stage::Closed | Stage::Rejected => return None,
    })
}

/// Every phone syncs twice, one after another, each request to either instance.
fn settle(phones: &mut [Phone], rng: &mut Rng) {
    for _ in 0..2 {
        for phone in phones.iter_mut() {
            phone.link.set_route(Route::Random(Rng::new(rng.below(u64::MAX))));
            phone.sync();
        }
    }
}

#[test]
fn concurrent_actions_on_one_incident_through_both_instances_converge() {
    let test = "concurrent_actions_on_one_incident_through_both_instances_converge";
    let Some(inst) = Instances::start(test, &["A"], HOUSEHOLDS) else { return };
    let clock = clock();
    let seed = seed();
    let mut rng = Rng::new(seed);
    let cast: [(&str, &str, &[&str]); 5] = [
        ("leader", "grid_leader", &["A"]),
        ("c1", "committee", &[]),
        ("c2", "committee", &[]),
        ("s1", "station", &[]),
        ("s2", "station", &[]),
    ];
    let mut phones: Vec<Phone> = cast
        .iter()
        .enumerate()
        .map(|(i, (name, role, grids))| Phone::enroll(&inst, name, role, grids, i % 2, Route::Only(i % 2), &clock))
        .collect();
    settle(&mut phones, &mut rng);
    let mut superseded = 0;
    let mut steps = 0;
    for round in 0..3 {
        let id = report(&mut phones[LEADER], "A", &format!("round {round}"), &mut rng, HOUSEHOLDS);
        let mut expected: BTreeSet<String> = [phones[LEADER].history(&id).1[0].0.clone()].into();
        settle(&mut phones, &mut rng);
        for step in 0..3 {
            let stage = phones[C1].history(&id).0;
            let Some([(i, first), (j, second)]) = concurrent_pair(stage, round) else { break };
            let (p, q) = two_mut(&mut phones, i, j);
            let events = [act(p, &id, first), act(q, &id, second)];
            expected.extend(events.iter().cloned());
            // The two sync at the same moment, one through each instance (which one alternates).
            let (via_p, via_q) = if (round + step) % 2 == 0 { (A, B) } else { (B, A) };
            p.link.set_route(Route::Only(via_p));
            q.link.set_route(Route::Only(via_q));
            let start = Barrier::new(2);
            std::thread::scope(|s| {
                for phone in [p, q] {
                    let start = &start;
                    s.spawn(move || {
                        start.wait();
                        phone.sync()
                    });
                }
            });
            settle(&mut phones, &mut rng);
            steps += 1;

            let seeing: Vec<&Phone> = phones.iter().collect();
            let (_, history) = assert_one_history(&seeing, &id, &expected);
            let applied: Vec<bool> = events.iter().map(|e| history.iter().any(|h| &h.0 == e && h.3)).collect();
            let moves = [first, second].iter().filter(|a| **a != Action::Comment).count();
            let applied_count = applied.iter().filter(|a| **a).count();
            // Two moves from one stage: the first in the list applies, the other is superseded. A comment
            // always applies.
            assert_eq!(
                applied_count,
                if moves == 2 { 1 } else { 2 },
                "{stage:?}: {first:?} and {second:?} at once, of which {applied:?} applied: {history:?}"
            );
            superseded += 2 - applied_count;
            let stored = inst.stored_documents();
            for phone in &phones {
                phone.assert_holds_its_scope(&stored);
            }
        }
    }
    inst.assert_no_change_twice();
    assert!(superseded > 0, "some concurrent action lost to the other, by the workflow's rules");
    eprintln!("{test}: seed {seed}, {steps} concurrent steps, {superseded} events superseded");
}

/// Check-ins, visits and incidents of a grid leader's week offline in grid A, at `households` households.
struct Week {
    check_ins: BTreeSet<String>,
    visits: BTreeSet<String>,
    incidents: Vec<String>,
}

fn week_offline(phone: &mut Phone, now: DateTime<Utc>, rng: &mut Rng, households: usize) -> Week {
    let mut week = Week { check_ins: BTreeSet::new(), visits: BTreeSet::new(), incidents: Vec::new() };
    for days_ago in (1..=7).rev() {
        let at = morning(now, days_ago);
        for i in 0..40 {
            week.check_ins.insert(check_in(phone, "A", at + chrono::Duration::minutes(i), rng, households));
        }
        for i in 0..3 {
            week.visits.insert(visit(phone, "A", at + chrono::Duration::hours(3 + i), rng, households));
            week.incidents.push(report(phone, "A", &format!("day -{days_ago} #{i}"), rng, households));
        }
    }
    week
}

/// The request of the week's sync during which instance A is killed: two rounds have landed before it.
const KILL_DURING: u32 = 3;

#[test]
fn an_instance_killed_mid_sync_loses_and_duplicates_nothing() {
    let test = "an_instance_killed_mid_sync_loses_and_duplicates_nothing";
    let households = 30;
    let Some(mut inst) = Instances::start(test, &["A"], households) else { return };
    let clock = clock();
    let seed = seed();
    let mut rng = Rng::new(seed);
    let mut heavy = Phone::enroll(&inst, "heavy", "grid_leader", &["A"], A, Route::Only(A), &clock);
    let mut peer = Phone::enroll(&inst, "peer", "grid_leader", &["A"], B, Route::Only(B), &clock);
    let mut committee =
        Phone::enroll(&inst, "committee", "committee", &[], A, Route::Random(Rng::new(seed ^ 7)), &clock);
    for phone in [&mut heavy, &mut peer, &mut committee] {
        phone.sync();
    }
    let week = week_offline(&mut heavy, clock.now(), &mut rng, households);
    let stored_before = inst.stored_changes();
    let backlog: BTreeSet<(String, String)> = heavy
        .changes()
        .into_iter()
        .flat_map(|(doc, hashes)| hashes.into_iter().map(move |h| (doc.clone(), h)))
        .filter(|(doc, h)| !stored_before.get(doc).is_some_and(|s| s.contains(h)))
        .collect();

    // Small requests, so that the week goes up in many rounds; few and short retries, so that the sync gives
    // up soon once instance A is gone.
    let small = SyncOptions { max_request_bytes: 4 * 1024, max_rounds: 100, ..SyncOptions::default() };
    let impatient = SyncOptions {
        max_attempts: 3,
        base_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
        ..small.clone()
    };
    let (tell, told) = mpsc::channel();
    *heavy.link.announce.lock().expect("announce") = Some(tell);
    heavy.link.syncs.store(0, Ordering::SeqCst);
    let [a, _] = &mut inst.servers;
    let interrupted = std::thread::scope(|s| {
        let syncing = s.spawn(|| heavy.try_sync(&impatient));
        // A dies while the request is on its way or being applied.
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while !syncing.is_finished() && std::time::Instant::now() < deadline {
            if told.recv_timeout(Duration::from_millis(100)).is_ok_and(|n| n >= KILL_DURING) {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(15));
        a.kill();
        syncing.join().expect("sync thread")
    });
    *heavy.link.announce.lock().expect("announce") = None;
    let err = interrupted.expect_err("the sync was cut off by the kill (make the week longer if it finished)");
    assert_eq!(err.code(), gridline_core::ErrorCode::NetworkError, "{err}");
    let stored_at_kill = inst.stored_changes();
    let landed = backlog.iter().filter(|(doc, h)| stored_at_kill.get(doc).is_some_and(|s| s.contains(h))).count();
    assert!(
        landed > 0 && landed < backlog.len(),
        "the kill landed mid-sync: {landed} of {} changes stored",
        backlog.len()
    );

    // The phone carries on through B, then through A restarted on its data directory and the database.
    heavy.link.set_route(Route::Only(B));
    heavy.try_sync(&small).unwrap_or_else(|e| panic!("heavy syncs through B: {e}"));
    inst.servers[A].restart();
    heavy.link.set_route(Route::Only(A));
    let after = heavy.sync();
    assert_eq!(after.docs_sent, 0, "nothing left to send through A: {after:?}");
    peer.link.set_route(Route::Only(A));
    peer.sync();
    committee.sync();
    for phone in [&mut heavy, &mut peer, &mut committee] {
        phone.link.set_route(Route::Random(Rng::new(rng.below(u64::MAX))));
        phone.sync();
    }

    inst.assert_no_change_twice();
    let stored = inst.stored_changes();
    let lost: Vec<&(String, String)> =
        backlog.iter().filter(|(doc, h)| !stored.get(doc).is_some_and(|s| s.contains(h))).collect();
    assert!(lost.is_empty(), "{} changes of the week lost: {lost:?}", lost.len());
    for (doc, hashes) in heavy.changes() {
        assert_eq!(stored.get(&doc), Some(&hashes), "{doc}: the database holds the phone's changes, no others");
    }
    let documents = inst.stored_documents();
    for phone in [&heavy, &peer, &committee] {
        phone.assert_holds_its_scope(&documents);
        assert_eq!(phone.check_ins().get("A"), Some(&week.check_ins), "{}: every check-in once", phone.name);
        assert_eq!(phone.visits().get("A"), Some(&week.visits), "{}: every visit once", phone.name);
    }
    for id in &week.incidents {
        let report_event = heavy.history(id).1[0].0.clone();
        let (stage, _) = assert_one_history(&[&heavy, &peer, &committee], id, &[report_event].into());
        assert_eq!(stage, Stage::CommitteeReview, "{id}");
    }
    eprintln!(
        "{test}: seed {seed}, {} changes in the backlog, {landed} stored when A was killed during request \
         {KILL_DURING} of the sync",
        backlog.len()
    );
}

/// Two phones hand an offline report to each other by bundle (no signal), then both sync it at the same moment
/// through different instances: each instance finds the incident new and would stamp its receipt. The
/// server's receipt is written once: the instance whose write comes second finds the document changed,
/// applies the round again onto what the first stored (which holds the receipt), and stores no other.
#[test]
fn a_new_incident_synced_through_both_instances_at_once_is_received_once() {
    let test = "a_new_incident_synced_through_both_instances_at_once_is_received_once";
    let Some(inst) = Instances::start(test, &["A"], HOUSEHOLDS) else { return };
    let clock = clock();
    let mut rng = Rng::new(seed());
    let mut phones = [
        Phone::enroll(&inst, "leader-a", "grid_leader", &["A"], A, Route::Only(A), &clock),
        Phone::enroll(&inst, "leader-b", "grid_leader", &["A"], B, Route::Only(B), &clock),
        Phone::enroll(&inst, "committee", "committee", &[], A, Route::Only(B), &clock),
    ];
    for phone in phones.iter_mut() {
        phone.sync();
    }
    for round in 0..6 {
        let [first, second, committee] = &mut phones;
        let id = report(first, "A", &format!("handed over {round}"), &mut rng, HOUSEHOLDS);
        let reported: BTreeSet<String> = [first.history(&id).1[0].0.clone()].into();
        let bundle = inst.dir.path().join(format!("hand-over-{round}.bundle"));
        first.store.bundle_export(&bundle).expect("export");
        second.store.bundle_import(&bundle).expect("import");
        let (via_first, via_second) = if round % 2 == 0 { (A, B) } else { (B, A) };
        first.link.set_route(Route::Only(via_first));
        second.link.set_route(Route::Only(via_second));
        let start = Barrier::new(2);
        std::thread::scope(|s| {
            for phone in [&mut *first, &mut *second] {
                let start = &start;
                s.spawn(move || {
                    start.wait();
                    phone.sync()
                });
            }
        });
        for phone in [&mut *first, &mut *second, &mut *committee] {
            phone.sync();
            phone.sync();
        }
        assert_one_history(&[&*first, &*second, &*committee], &id, &reported);
    }
    inst.assert_no_change_twice();
}
