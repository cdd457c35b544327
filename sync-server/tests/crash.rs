//! The server killed with SIGKILL in the middle of a loop of syncs, then restarted: no acknowledged change
//! lost, none duplicated, and the device carries on syncing.

use std::collections::BTreeSet;
use std::time::Duration;

use gridline_testkit::{log_id, Server};

#[test]
fn sigkill_during_syncs_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path());
    let community = server.community_with_roster();
    let mut device = server.enroll(&community, "A", "grid_leader", &["G01"]);
    let log = log_id(&community, "G01");
    let mut acknowledged: BTreeSet<String> = BTreeSet::new();
    let mut written = 0u32;

    for cycle in 0..3u64 {
        let pid = server.child.id();
        let delay = Duration::from_millis(80 + cycle * 70);
        let killer = std::thread::spawn(move || {
            std::thread::sleep(delay);
            let _ = std::process::Command::new("kill").args(["-9", &pid.to_string()]).status();
        });
        loop {
            written += 1;
            let key = format!("checkin/{written:05}");
            device.write(&log, &key, &format!("entry {written}"));
            match device.sync() {
                Ok(_) => {
                    // Everything written so far is acknowledged.
                    acknowledged.extend((1..=written).map(|n| format!("checkin/{n:05}")));
                }
                Err(_) => break,
            }
        }
        killer.join().expect("killer");
        let _ = server.child.wait();
        let port = server.port;
        std::mem::forget(std::mem::replace(&mut server, Server::start_on(dir.path(), port)));
        // A sync after an interruption starts a fresh session (as a real client does).
        device.states.clear();
    }
    assert!(acknowledged.len() > 3, "the loop synced before each kill ({} acknowledged)", acknowledged.len());

    device.sync().expect("the device carries on after restarts");
    let mut observer = server.enroll(&community, "O", "station", &[]);
    observer.sync().expect("observer syncs");
    let notes = observer.notes(&log.to_string());
    let keys: BTreeSet<String> = notes.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(keys.len(), notes.len(), "no entry twice");
    assert!(acknowledged.is_subset(&keys), "lost: {:?}", acknowledged.difference(&keys).collect::<Vec<_>>());
    assert_eq!(keys.len(), written as usize, "after the final sync every entry written is on the server");
    // Same history on both sides: the same changes, each once.
    let mine = device.docs.get_mut(&log.to_string()).expect("doc").get_changes(&[]).len();
    let theirs = observer.docs.get_mut(&log.to_string()).expect("doc").get_changes(&[]).len();
    assert_eq!(mine, theirs);
}
