//! Durability under `kill -9`: a child process loops check-ins and prints each id after `check_in` returns;
//! the test kills it with SIGKILL at random moments, reopens the store, and finds every printed id — in the
//! materialised table and in its day's document — and an intact store.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use gridline_core::{Store, SystemClock};
use gridline_scenarios::grid_leader_store;
use gridline_testkit::Rng;

const KILLS: usize = 60;

#[test]
fn acknowledged_check_ins_survive_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = [7u8; 32];
    drop(grid_leader_store(dir.path(), &key, 30));
    let seed = std::env::var("GRIDLINE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_2026);
    let mut rng = Rng::new(seed);
    let mut acknowledged: Vec<String> = Vec::new();
    let mut kills = 0;
    for round in 0..KILLS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_checkin-loop"))
            .args([dir.path().to_str().expect("utf-8 path"), &hex::encode(key), "30"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn checkin-loop");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait for at least one acknowledged check-in, then let it run a random while before the kill, so
        // kills land at every point of the write path (document change, chunk insert, index, commit).
        let Ok(first) = rx.recv_timeout(Duration::from_secs(30)) else {
            let _ = child.kill();
            let out = child.wait_with_output().expect("child output");
            panic!("round {round}: no check-in acknowledged: {}", String::from_utf8_lossy(&out.stderr));
        };
        acknowledged.push(first);
        std::thread::sleep(Duration::from_micros(rng.below(40_000)));
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("wait");
        assert!(!status.success(), "round {round}: child must die from the kill");
        kills += 1;
        reader.join().expect("reader thread");
        acknowledged.extend(rx.try_iter());
    }
    assert!(kills >= 50);
    let mut store = Store::open(dir.path(), &key, Arc::new(SystemClock)).expect("store opens cleanly after kills");
    store.integrity_check().expect("intact store");
    for id in &acknowledged {
        let record = store.check_in_record(id).expect("read back");
        assert!(record.is_some(), "acknowledged check-in {id} lost (seed {seed})");
    }
    // The rounds still work on the store after all the kills.
    store.rounds(None).expect("rounds after kills");
    eprintln!("{kills} kills, {} acknowledged check-ins, all present", acknowledged.len());
}
