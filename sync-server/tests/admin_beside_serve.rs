//! Admin commands run beside `serve` lose nothing: roster imports (one at a time and two at once) while
//! devices sync; afterwards every document loads and holds every check-in and every household.

use gridline_testkit::{log_id, Roster, Server, Tags};

fn import(server: &Server, community: &str, per_grid: usize, name: &str) -> std::process::Child {
    let csv = server.data.join(name);
    let roster = Roster::grids(&["G01", "G02"]).households(per_grid).tags(Tags::ElderlyAlone);
    std::fs::write(&csv, roster.csv()).expect("write csv");
    server
        .admin_command()
        .args(["--json", "roster", "import", "--community", community])
        .arg(&csv)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn admin")
}

#[test]
fn roster_imports_beside_syncing_devices_lose_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let community = server.community_with_roster();
    let mut leader = server.enroll(&community, "A", "grid_leader", &["G01"]);
    let mut station = server.enroll(&community, "S", "station", &[]);
    let log = log_id(&community, "G01");
    const CHECK_INS: usize = 12;
    std::thread::scope(|s| {
        let devices = s.spawn(|| {
            for n in 0..CHECK_INS {
                leader.write(&log, &format!("checkin/{n}"), &format!("visit {n}"));
                leader.sync().expect("leader syncs during imports");
                station.sync().expect("station syncs during imports");
            }
        });
        for round in 0..4 {
            // Two imports at once, then one alone: the rosters grow by a household each time.
            let mut first = import(&server, &community, 6 + round * 2, &format!("a{round}.csv"));
            let mut second = import(&server, &community, 7 + round * 2, &format!("b{round}.csv"));
            assert!(first.wait().expect("wait").success());
            assert!(second.wait().expect("wait").success());
        }
        let mut last = import(&server, &community, 20, "last.csv");
        assert!(last.wait().expect("wait").success());
        devices.join().expect("devices");
    });
    // The running server serves every document whole, and so does a fresh one loading from disk.
    for server in [server, Server::start(dir.path())] {
        let mut observer = server.enroll(&community, "O", "station", &[]);
        observer.sync().expect("observer syncs");
        assert_eq!(observer.notes(&log.to_string()).len(), CHECK_INS, "every check-in is stored");
        for grid in ["G01", "G02"] {
            let roster = observer.docs.get(&gridline_core::docs::DocId::roster(&community, grid).to_string());
            let households = gridline_core::docs::entities(roster.expect("roster"), "household/").count();
            assert_eq!(households, 20, "{grid}: the last import's households");
        }
        drop(server);
    }
}
