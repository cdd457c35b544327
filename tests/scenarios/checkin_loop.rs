//! Child process for the durability test: opens the store named on the command line and records check-ins
//! in a loop, printing each id only after `check_in` has returned (i.e. once it is acknowledged as saved).
//! Usage: checkin-loop STORE_DIR KEY_HEX HOUSEHOLDS

use std::io::Write;
use std::sync::Arc;

use gridline_core::model::{CheckInKind, CheckInOutcome, NewCheckIn};
use gridline_core::{Store, SystemClock};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, key_hex, households] = args.as_slice() else {
        eprintln!("usage: checkin-loop STORE_DIR KEY_HEX HOUSEHOLDS");
        std::process::exit(2);
    };
    let key: [u8; 32] = match hex::decode(key_hex).ok().and_then(|k| k.try_into().ok()) {
        Some(k) => k,
        None => {
            eprintln!("bad key");
            std::process::exit(2);
        }
    };
    let households: usize = households.parse().unwrap_or(1).max(1);
    let mut store = match Store::open(std::path::Path::new(dir), &key, Arc::new(SystemClock)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}: {e}", e.code());
            std::process::exit(1);
        }
    };
    let stdout = std::io::stdout();
    for n in 0u64.. {
        let input = NewCheckIn {
            household_code: format!("G01-H{:04}", n as usize % households),
            kind: if n % 2 == 0 { CheckInKind::Door } else { CheckInKind::Phone },
            outcome: CheckInOutcome::Well,
            note: format!("durability loop {n}"),
            photos: vec![],
            location: None,
            at: None,
        };
        match store.check_in(input) {
            Ok(c) => {
                let mut out = stdout.lock();
                let _ = writeln!(out, "{}", c.check_in_id);
                let _ = out.flush();
            }
            Err(e) => {
                eprintln!("{}: {e}", e.code());
                std::process::exit(1);
            }
        }
    }
}
