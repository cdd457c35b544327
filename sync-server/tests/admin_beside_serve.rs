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

/// `admin backup` copies the SQLite store while devices sync; a server started on the copy serves everything
/// the copy holds, to the same devices (their tokens are in it). A backup never overwrites a file, and a
/// server on PostgreSQL points to pg_dump instead.
#[test]
fn a_backup_taken_while_devices_sync_restores_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("live"));
    let community = server.community_with_roster();
    let mut leader = server.enroll(&community, "A", "grid_leader", &["G01"]);
    let log = log_id(&community, "G01");
    let backup = dir.path().join("backup.sqlite");
    let backup_arg = backup.to_str().expect("utf-8 path");
    if gridline_testkit::postgres::servers_on_postgres() {
        let (ok, doc) = server.admin(&["backup", "--to", backup_arg]);
        assert!(!ok && doc["error"]["code"] == "invalid_input", "{doc}");
        assert!(doc["error"]["message"].as_str().unwrap_or_default().contains("pg_dump"), "{doc}");
        return;
    }
    const BEFORE: usize = 5;
    for n in 0..BEFORE {
        leader.write(&log, &format!("checkin/{n}"), "before the backup");
        leader.sync().expect("sync");
    }
    let taken = std::thread::scope(|s| {
        let syncing = s.spawn(|| {
            for n in BEFORE..BEFORE + 10 {
                leader.write(&log, &format!("checkin/{n}"), "during the backup");
                leader.sync().expect("sync goes on during the backup");
            }
        });
        let taken = server.admin(&["backup", "--to", backup_arg]);
        syncing.join().expect("syncing");
        taken
    });
    assert!(taken.0, "{}", taken.1);
    assert!(
        taken.1["bytes"].as_u64().is_some_and(|b| b > 0) && taken.1["documents"].as_u64() >= Some(2),
        "{}",
        taken.1
    );
    let again = server.admin(&["backup", "--to", backup_arg]);
    assert!(!again.0 && again.1["error"]["code"] == "invalid_input", "never overwrites: {}", again.1);

    // Restored: the copy as the store of a fresh data directory.
    let restored_dir = dir.path().join("restored");
    std::fs::create_dir_all(&restored_dir).expect("mkdir");
    std::fs::copy(&backup, restored_dir.join(gridline_server::storage::sqlite::DB_FILE)).expect("restore");
    let restored = Server::start(&restored_dir);
    leader.base = restored.url("");
    leader.states.clear();
    leader.sync().expect("the same device syncs with the restored server, without enrolling again");
    let mut observer = restored.enroll(&community, "O", "station", &[]);
    observer.sync().expect("observer syncs");
    let held = observer.notes(&log.to_string()).len();
    assert_eq!(held, BEFORE + 10, "the backup's check-ins, and the device's later ones sent again");
}
