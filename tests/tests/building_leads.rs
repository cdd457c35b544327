//! A building lead (楼栋长) through the real `gridline-server` on loopback, every phone the core's own store: a
//! grid of two buildings, a grid leader's check-ins and visit at households of both, then a building lead of
//! one building syncs. On the wire (a recording transport around the core's HTTP transport) its device is
//! never sent a document of the other building or of the grid as a whole — every document id the answers
//! name is its building's — and no byte of any change it is sent (each change decoded whole) names a
//! household, resident or note of the other building. Its rounds list its building's households alone,
//! without the one the grid leader already checked in; its check-ins sync and raise the grid's 入户率 in the
//! grid leader's and the committee's ledgers (what `gridline ledger` prints) and on the console dashboard.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use automerge::ReadDoc;
use chrono::Utc;
use gridline_core::docs::{building_key, DocId, DocKind};
use gridline_core::model::{CheckInKind, CheckInOutcome, NewCheckIn, NewVisit, VisitKind};
use gridline_core::schedule::Month;
use gridline_core::sync::protocol::{decode_body, SyncRequest, SyncResponse};
use gridline_core::sync::{NoProgress, SyncOptions};
use gridline_core::{Clock, ErrorCode, FixedClock, Store};
use gridline_scenarios::Wire;
use gridline_testkit::{roster, Server};

const GRID: &str = "G01";
const MINE: &str = "1号楼";
const OTHER: &str = "2号楼";
const MY_HOUSEHOLDS: [&str; 4] = ["G01-A1", "G01-A2", "G01-A3", "G01-A4"];
const THEIR_HOUSEHOLDS: [&str; 4] = ["G01-B1", "G01-B2", "G01-B3", "G01-B4"];
/// How the building lead of [`MINE`] is enrolled.
const LEAD: &[&str] = &["--role", "building_lead", "--grid", GRID, "--building", MINE];

fn roster_csv() -> String {
    let mut rows = Vec::new();
    for (i, h) in MY_HOUSEHOLDS.iter().enumerate() {
        rows.push(format!("G01,1号楼,1,{},{}01,{h},甲居民{i},F,1950,,,,", i + 1, i + 1));
    }
    for (i, h) in THEIR_HOUSEHOLDS.iter().enumerate() {
        rows.push(format!("G01,2号楼,1,{},{}01,{h},乙居民{i},M,1951,,,,", i + 1, i + 1));
    }
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    roster::csv(&rows)
}

/// What the wire carried: every document id the answers named, and the text of every change of every
/// answer (each change decoded whole, its operations' keys and values).
#[derive(Default)]
struct Recorded {
    ids: BTreeSet<String>,
    text: String,
    /// A mirror of each document, fed with the phone's own changes and the server's, so every change of an
    /// answer can be decoded once its dependencies are there.
    mirrors: HashMap<String, automerge::Automerge>,
}

impl Recorded {
    /// Records one sync round: the ids the answer names, and every change of the request and the answer.
    fn record(&mut self, request: &[u8], answer: &[u8]) {
        let req: SyncRequest = decode_body(request).expect("the phone's request decodes");
        let res: SyncResponse = decode_body(answer).expect("the server's answer decodes");
        for m in &req.docs {
            self.feed(&m.doc_id, &m.message);
        }
        for m in &res.docs {
            self.ids.insert(m.doc_id.clone());
            self.feed(&m.doc_id, &m.message);
        }
        for e in &res.catalogue {
            self.ids.insert(e.doc_id.clone());
        }
        self.ids.extend(res.withdrawn.iter().cloned());
    }

    fn feed(&mut self, doc_id: &str, message: &[u8]) {
        let Ok(msg) = automerge::sync::Message::decode(message) else { return };
        let mirror = self.mirrors.entry(doc_id.to_string()).or_default();
        for chunk in msg.changes.iter() {
            mirror.load_incremental(chunk).expect("a chunk loads");
        }
    }

    /// The text of every change the mirrors hold (all of them, once nothing waits for a dependency).
    fn decoded(&self) -> String {
        let mut text = self.text.clone();
        for (id, doc) in &self.mirrors {
            assert!(doc.get_missing_deps(&[]).is_empty(), "{id}: a change of an answer could not be decoded");
            for change in doc.get_changes(&[]) {
                text.push_str(&format!("{:?}", change.clone().decode()));
            }
        }
        text
    }
}

/// A phone: the core's store and its recorded link to the server.
struct Phone {
    name: &'static str,
    store: Store,
    wire: Wire,
    /// What the wire carried.
    recorded: Arc<Mutex<Recorded>>,
}

impl Phone {
    fn enroll(server: &Server, dir: &Path, community: &str, name: &'static str, args: &[&str]) -> Phone {
        let mut all = vec!["enroll", "--community", community, "--user", name];
        all.extend_from_slice(args);
        let code = server.admin_ok(&all)["code"].as_str().expect("code").to_string();
        let recorded = Arc::new(Mutex::new(Recorded::default()));
        let sink = recorded.clone();
        let wire =
            Wire::new(&server.url(""), Box::new(move |req, res| sink.lock().expect("recorded").record(req, res)));
        let store = Store::enroll_with(&dir.join(name), &[7; 32], &wire, &server.url(""), &code, clock())
            .unwrap_or_else(|e| panic!("{name} enrolls: {e}"));
        Phone { name, store, wire, recorded }
    }

    fn sync(&mut self) {
        self.store
            .sync_with(&self.wire, &SyncOptions::default(), &NoProgress, &AtomicBool::new(false))
            .unwrap_or_else(|e| panic!("{} syncs: {e}", self.name));
    }

    fn check_in(&mut self, household: &str) {
        self.store
            .check_in(NewCheckIn {
                household_code: household.into(),
                kind: CheckInKind::Door,
                outcome: CheckInOutcome::Well,
                note: format!("note of {household}"),
                photos: vec![],
                location: None,
                at: None,
            })
            .unwrap_or_else(|e| panic!("{} checks in at {household}: {e}", self.name));
    }

    /// The grid's 入户率 this month, as `gridline ledger` computes it on this phone.
    fn checkin_rate(&self) -> (u32, u32, f64) {
        let month = Month::of(self.store.today());
        let s = self.store.ledger(&month, Some(GRID)).expect("ledger").summary;
        (s.households, s.households_contacted, s.checkin_rate)
    }
}

/// The phones' clock: now, fixed (the server refuses records dated ahead of its own clock).
fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock(Utc::now()))
}

/// The console dashboard's 入户率 of `grid` (its row's `data-rate`).
fn dashboard_rate(page: &str, grid: &str) -> f64 {
    let marker = format!("data-grid=\"{grid}\" data-rate=\"");
    let start = page.find(&marker).unwrap_or_else(|| panic!("no row of {grid} on the dashboard")) + marker.len();
    let end = start + page[start..].find('"').expect("closing quote");
    page[start..end].parse().expect("a rate")
}

#[test]
fn a_building_lead_sees_only_its_building_and_its_check_ins_count_for_the_grid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("server-data"));
    let community = server.community("幸福社区");
    server.import_roster(&community, "roster.csv", &roster_csv());
    let staff = server.signed_in_staff(&community, "站长", "station");

    let mut leader =
        Phone::enroll(&server, dir.path(), &community, "leader", &["--role", "grid_leader", "--grid", GRID]);
    let mut committee = Phone::enroll(&server, dir.path(), &community, "committee", &["--role", "committee"]);
    leader.sync();
    committee.sync();

    // The grid leader's earlier rounds: a check-in at a household of each building and a visit at the other
    // building's, with notes that must stay with that building.
    leader.check_in(MY_HOUSEHOLDS[0]);
    leader.check_in(THEIR_HOUSEHOLDS[0]);
    leader
        .store
        .record_visit(NewVisit {
            household_code: THEIR_HOUSEHOLDS[1].into(),
            residents: vec![],
            kind: VisitKind::Home,
            at: None,
            duration_min: Some(15),
            services: vec![],
            needs: "秘密需求乙".into(),
            need_tags: vec![],
            follow_up: None,
            satisfaction: None,
            photos: vec![],
        })
        .expect("visit");
    leader.sync();
    assert_eq!(leader.checkin_rate(), (8, 3, 3.0 / 8.0), "before the building lead");

    let mut lead = Phone::enroll(&server, dir.path(), &community, "lead", LEAD);
    assert_eq!(lead.store.device().buildings, vec![MINE.to_string()]);
    lead.sync();

    // Its rounds: its building's households alone, less the one the grid leader checked in this month.
    let rounds: Vec<String> =
        lead.store.rounds(None).expect("rounds").items.into_iter().map(|i| i.household_code).collect();
    assert_eq!(rounds, MY_HOUSEHOLDS[1..].to_vec(), "rounds");
    let detail = lead.store.household_detail(MY_HOUSEHOLDS[0]).expect("its household");
    assert_eq!(detail.check_ins.len(), 1, "the grid leader's check-in shows on the household");
    for h in THEIR_HOUSEHOLDS {
        assert!(lead.store.household_detail(h).is_err(), "{h} is not on the building lead's phone");
    }
    assert!(lead
        .store
        .visits_due(None)
        .expect("visits due")
        .items
        .iter()
        .all(|i| MY_HOUSEHOLDS.contains(&i.household_code.as_str())));

    // Its check-ins go to its building's log, sync, and count for the grid.
    lead.check_in(MY_HOUSEHOLDS[1]);
    lead.check_in(MY_HOUSEHOLDS[2]);
    assert!(
        lead.store
            .check_in(NewCheckIn {
                household_code: THEIR_HOUSEHOLDS[2].into(),
                kind: CheckInKind::Door,
                outcome: CheckInOutcome::Well,
                note: String::new(),
                photos: vec![],
                location: None,
                at: None,
            })
            .is_err(),
        "a household of another building cannot be checked in"
    );
    lead.sync();
    let rounds: Vec<String> =
        lead.store.rounds(None).expect("rounds").items.into_iter().map(|i| i.household_code).collect();
    assert_eq!(rounds, vec![MY_HOUSEHOLDS[3].to_string()]);
    leader.sync();
    committee.sync();
    assert_eq!(
        leader.checkin_rate(),
        (8, 5, 5.0 / 8.0),
        "the grid leader's ledger counts the building lead's check-ins"
    );
    assert_eq!(committee.checkin_rate(), (8, 5, 5.0 / 8.0), "so does the committee's");
    // The console's replica follows the server: its dashboard shows the same 入户率.
    let month = Month::of(leader.store.today()).code();
    let mut rate = 0.0;
    for _ in 0..50 {
        rate = dashboard_rate(&staff.page(&format!("/console/dashboard?month={month}")), GRID);
        if (rate - 5.0 / 8.0).abs() < 1e-9 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!((rate - 5.0 / 8.0).abs() < 1e-9, "the console dashboard shows {rate}");

    // A later check-in of the grid leader at the building's last household reaches the building lead.
    leader.check_in(MY_HOUSEHOLDS[3]);
    leader.sync();
    lead.sync();
    assert!(lead.store.rounds(None).expect("rounds").items.is_empty(), "every household of the building is done");

    // On the wire: only the community's own documents and its building's.
    let mine = building_key(MINE);
    let rec = lead.recorded.lock().expect("recorded");
    for id in &rec.ids {
        let d = DocId::parse(id).expect("a document id");
        let ok = match d.kind {
            DocKind::Community | DocKind::Points => true,
            DocKind::Building | DocKind::CheckInLog => {
                d.grid.as_deref() == Some(GRID) && d.building_key() == Some(&mine)
            }
            _ => false,
        };
        assert!(ok, "the building lead was sent {id}");
    }
    assert!(rec.ids.contains(&DocId::building(&community, GRID, &mine).to_string()));
    let text = rec.decoded();
    assert!(text.contains(MY_HOUSEHOLDS[0]), "the decoded changes are searched (they hold its own households)");
    for secret in THEIR_HOUSEHOLDS.iter().copied().chain([OTHER, "乙居民", "秘密需求乙", &building_key(OTHER)])
    {
        assert!(!text.contains(secret), "a change the building lead was sent names {secret:?}");
    }
    // The grid leader's phone never holds a projection.
    let held: Vec<String> = leader.store.documents().expect("documents").into_iter().map(|(id, _)| id).collect();
    assert!(!held.iter().any(|id| id.starts_with("building:")));
    drop(rec);
}

/// With no signal, a building lead hands its check-ins to its grid leader by bundle (Wi-Fi Direct, USB). The
/// bundle carries its building's logs but not its building's projection, which only the server writes and
/// the grid leader may not hold: the grid leader takes the bundle whole, counts the check-ins at once, and
/// relays them with the lead's signatures at its next sync, which the server accepts.
#[test]
fn a_building_leads_bundle_hands_its_check_ins_to_the_grid_leader() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("server-data"));
    let community = server.community("幸福社区");
    server.import_roster(&community, "roster.csv", &roster_csv());
    let mut leader =
        Phone::enroll(&server, dir.path(), &community, "leader", &["--role", "grid_leader", "--grid", GRID]);
    let mut lead = Phone::enroll(&server, dir.path(), &community, "lead", LEAD);
    leader.sync();
    lead.sync();
    assert_eq!(leader.checkin_rate(), (8, 0, 0.0));

    lead.check_in(MY_HOUSEHOLDS[0]);
    lead.check_in(MY_HOUSEHOLDS[1]);
    let file = dir.path().join("lead.bundle");
    lead.store.bundle_export(&file).expect("export");
    let got = leader.store.bundle_import(&file).unwrap_or_else(|e| panic!("the grid leader imports: {e}"));
    assert!(got.docs_changed >= 1, "{got:?}");
    assert_eq!(leader.checkin_rate(), (8, 2, 2.0 / 8.0), "counted before any sync");
    let held: Vec<String> = leader.store.documents().expect("documents").into_iter().map(|(id, _)| id).collect();
    assert!(!held.iter().any(|id| id.starts_with("building:")), "{held:?}");

    // The other way, the grid leader's bundle holds the grid's roster and logs: the lead refuses it whole.
    let back = dir.path().join("leader.bundle");
    leader.store.bundle_export(&back).expect("export");
    let before = lead.store.documents().expect("documents").len();
    assert_eq!(lead.store.bundle_import(&back).map_err(|e| e.code()), Err(ErrorCode::BundleOutOfScope));
    assert_eq!(lead.store.documents().expect("documents").len(), before);

    // The grid leader relays them; the server takes them as the lead's, and a third phone of the grid sees them.
    leader.sync();
    assert!(leader.store.refused_documents().expect("refused").is_empty());
    let mut worker =
        Phone::enroll(&server, dir.path(), &community, "worker", &["--role", "grid_worker", "--grid", GRID]);
    worker.sync();
    assert_eq!(worker.checkin_rate(), (8, 2, 2.0 / 8.0));
}
