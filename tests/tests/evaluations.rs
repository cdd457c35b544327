//! The two-way evaluation (双评议) through the real `gridline-server` on loopback, every phone the core's own
//! store: a grid leader and a grid worker survey five households of two grids on their phones (居民满意度测评)
//! and sync; a second survey of a household is refused on the phone; two phones of one grid, offline, survey
//! the same household and after sync the earlier survey stands on every device, the later kept as a
//! duplicate; the station rates a department (部门评议), rates it again (the later stands) and the grid leader
//! reads it. The station's monthly ledger holds both sheets with the same figures as the reports.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use chrono::{Datelike, Duration, Utc};
use gridline_core::ledger::export::Lang;
use gridline_core::model::NewSurvey;
use gridline_core::schedule::Month;
use gridline_core::sync::NoProgress;
use gridline_core::{Clock, ErrorCode, FixedClock, Store};
use gridline_scenarios::roster;
use gridline_testkit::Server;

/// A phone: the core's store, enrolled with the server.
struct Phone {
    name: &'static str,
    store: Store,
}

impl Phone {
    /// Enrolls a phone whose clock stands half an hour before now.
    fn enroll(server: &Server, dir: &Path, community: &str, name: &'static str, role: &str, grids: &[&str]) -> Phone {
        Phone::enroll_at(server, dir, community, name, role, grids, 30)
    }

    /// Enrolls a phone whose clock stands `minutes_ago` before now (phones' clocks differ a little).
    fn enroll_at(
        server: &Server,
        dir: &Path,
        community: &str,
        name: &'static str,
        role: &str,
        grids: &[&str],
        minutes_ago: i64,
    ) -> Phone {
        let code = server.enrollment_code(community, name, role, grids);
        let clock: Arc<dyn Clock> = Arc::new(FixedClock(Utc::now() - Duration::minutes(minutes_ago)));
        let store = Store::enroll(&dir.join(name), &[5; 32], &server.url(""), &code, false, clock)
            .unwrap_or_else(|e| panic!("{name} enrolls: {e}"));
        Phone { name, store }
    }

    fn sync(&mut self) {
        self.store.sync(&NoProgress, &AtomicBool::new(false)).unwrap_or_else(|e| panic!("{} syncs: {e}", self.name));
    }

    fn survey(&mut self, household: &str, answers: &[u8]) -> gridline_core::Result<String> {
        let input = NewSurvey { household_code: household.into(), answers: answers.to_vec(), visit_id: None };
        self.store.survey_record(input).map(|s| s.survey_id)
    }
}

/// The rows of one section of the ledger's CSV (after its title and header rows), as text cells.
fn section(csv: &str, title: &str) -> Vec<Vec<String>> {
    let mut lines = csv.trim_start_matches('\u{feff}').lines().skip_while(|l| *l != title).skip(2);
    let mut rows = Vec::new();
    for line in lines.by_ref() {
        if line.is_empty() || line == "\"\"" {
            break;
        }
        rows.push(line.split(',').map(str::to_string).collect());
    }
    rows
}

#[test]
fn a_yearly_survey_and_a_department_rating_reach_every_phone_and_the_ledger() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("server-data"));
    let community = server.community("幸福社区");
    server.import_roster(&community, "roster.csv", &roster(&["G01", "G02"], 6).csv());
    let mut leader = Phone::enroll_at(&server, dir.path(), &community, "leader", "grid_leader", &["G01"], 40);
    let mut worker = Phone::enroll(&server, dir.path(), &community, "worker", "grid_worker", &["G02"]);
    let mut second = Phone::enroll_at(&server, dir.path(), &community, "second", "grid_worker", &["G01"], 20);
    let mut station = Phone::enroll(&server, dir.path(), &community, "station", "station", &[]);
    for p in [&mut leader, &mut worker, &mut second, &mut station] {
        p.sync();
    }
    let year = u32::try_from(station.store.today().year()).expect("year");

    // Five households surveyed on two phones: G01-H0000 and G01-H0001 by the grid leader, G02-H0000 and G02-H0001 by the
    // grid worker; the fifth, G01-H0002, comes from the offline pair below.
    leader.survey("G01-H0000", &[5, 5, 5, 5, 5, 5, 5, 5, 5, 5]).expect("G01-H0000");
    leader.survey("G01-H0001", &[3, 4, 5, 4, 3, 4, 5, 4, 3, 5]).expect("G01-H0001");
    worker.survey("G02-H0000", &[4, 4, 4, 4, 4, 4, 4, 4, 4, 4]).expect("G02-H0000");
    worker.survey("G02-H0001", &[2, 3, 4, 5, 4, 3, 2, 3, 4, 3]).expect("G02-H0001");
    leader.sync();
    worker.sync();
    second.sync();
    // A second survey of a household is refused on the phone that recorded the first and on the other
    // phone of the grid once it has synced.
    for p in [&mut leader, &mut second] {
        let again = p.survey("G01-H0000", &[1; 10]).map_err(|e| e.code());
        assert_eq!(again, Err(ErrorCode::AlreadySurveyed), "{}", p.name);
    }
    // Offline, both phones of G01 survey G01-H0002; the grid leader's clock is the earlier.
    let first = leader.survey("G01-H0002", &[4, 5, 4, 5, 4, 5, 4, 5, 4, 5]).expect("the leader's survey");
    second.survey("G01-H0002", &[1, 1, 1, 1, 1, 1, 1, 1, 1, 1]).expect("the second phone's survey, offline");

    // The station rates a department, then rates it again: the later rating stands.
    station.store.department_rate("区民政局", year, &[3; 10]).expect("first rating");
    let mut scores = [5u8; 10];
    scores[9] = 4;
    let refused = worker.store.department_rate("区城管局", year, &[3; 10]).map_err(|e| e.code());
    assert_eq!(refused, Err(ErrorCode::ActionNotAllowed), "a grid worker rates no department");
    for _ in 0..2 {
        for p in [&mut leader, &mut second, &mut worker, &mut station] {
            p.sync();
        }
    }
    // The rating again, a minute of the station's later (its clock is fixed: a later rating is a later phone).
    let mut later = Phone::enroll_at(&server, dir.path(), &community, "station_2", "station", &[], 10);
    later.sync();
    let result = later.store.department_rate("区民政局", year, &scores).expect("the rating again");
    assert_eq!((result.average, result.replaced), (Some(4.9), 1));
    later.sync();
    for p in [&mut leader, &mut second, &mut worker, &mut station] {
        p.sync();
    }

    // Every phone of G01 agrees: the earlier survey of G01-H0002 stands, the other is a duplicate.
    for p in [&leader, &second] {
        let r = p.store.survey_report(year, Some("G01")).expect("report");
        assert_eq!((r.total.households_surveyed, r.total.duplicates), (3, 1), "{}", p.name);
        let standing = p.store.household_survey("G01-H0002", year).expect("read").map(|s| s.survey_id);
        assert_eq!(standing.as_deref(), Some(first.as_str()), "{}", p.name);
        assert_eq!(r.total.average, Some(4.5), "{}: (50 + 40 + 45) / 30", p.name);
    }
    // The station sees the whole community: five households, one duplicate, per grid and item.
    let r = station.store.survey_report(year, None).expect("report");
    assert_eq!((r.total.households_surveyed, r.total.duplicates), (5, 1));
    assert_eq!(r.total.items[0].average, Some(3.6), "environment: (5+3+4+2+4)/5");
    assert_eq!(r.total.items[3].average, Some(4.6), "attitude: (5+4+4+5+5)/5");
    let grids: Vec<(Option<&str>, u32, Option<f64>)> =
        r.grids.iter().map(|g| (g.grid.as_deref(), g.households_surveyed, g.average)).collect();
    assert_eq!(grids, [(Some("G01"), 3, Some(4.5)), (Some("G02"), 2, Some(3.65))]);
    assert_eq!(r.total.average, Some(4.16), "(135 + 73) / 50");
    // The department's standing rating reaches the grid leader too.
    for p in [&leader, &station] {
        let d = p.store.department_report(year).expect("department report");
        let got: Vec<(&str, Option<f64>, u32)> =
            d.departments.iter().map(|d| (d.department.as_str(), d.average, d.replaced)).collect();
        assert_eq!(got, [("区民政局", Some(4.9), 1)], "{}", p.name);
    }

    // The station's ledger of this month holds both, in zh-Hans and in English.
    let month = Month::of(station.store.today());
    let ledger = station.store.ledger(&month, None).expect("ledger");
    assert_eq!(
        (ledger.summary.households_surveyed, ledger.summary.survey_average, ledger.summary.departments_rated),
        (5, Some(4.16), 1)
    );
    let csv = String::from_utf8(ledger.to_csv(Lang::Zh).expect("csv")).expect("utf-8");
    let survey = section(&csv, "居民满意度测评");
    let y = year.to_string();
    let head = |row: &Vec<String>| row[..5].to_vec();
    assert_eq!(
        survey.iter().map(head).collect::<Vec<_>>(),
        [
            [y.as_str(), "G01", "3", "1", "4.5"],
            [y.as_str(), "G02", "2", "0", "3.65"],
            [y.as_str(), "全部", "5", "1", "4.16"]
        ]
    );
    assert_eq!(survey[2][5], "3.6", "the first item's average in the community");
    let departments = section(&csv, "部门评议");
    assert_eq!(departments.len(), 1);
    assert_eq!(departments[0][..4], [y.clone(), "区民政局".into(), "4.9".into(), "1".into()]);
    assert_eq!(departments[0][6..], ["5", "5", "5", "5", "5", "5", "5", "5", "5", "4"]);
    let en = String::from_utf8(ledger.to_csv(Lang::En).expect("csv")).expect("utf-8");
    assert_eq!(section(&en, "Residents' survey").len(), 3);
    assert!(en.contains("Department ratings\nYear,Department,Average,Replaced ratings,Rated by,Rated at,"));
    assert!(!ledger.to_xlsx(Lang::Zh).expect("xlsx").is_empty());
}
