//! Helpers shared by the scenario tests: a grid leader's store with a roster. Rosters, the server process
//! and seeded randomness come from the test kit (`gridline-testkit`).

use std::path::Path;
use std::sync::Arc;

use gridline_core::model::Role;
use gridline_core::store::InitOptions;
use gridline_core::{Store, SystemClock};
use gridline_testkit::{Codes, Roster, Tags};

/// The scenarios' roster: `households` households in each of `grids`, one resident each, codes
/// `<grid>-H0000`…, every third household elderly and alone.
pub fn roster(grids: &[&str], households: usize) -> Roster {
    Roster::grids(grids).households(households).codes(Codes::Dashed(4)).tags(Tags::EveryThirdElderlyAlone)
}

/// Creates a standalone grid-leader store in `dir` with `households` households in grid G01.
pub fn grid_leader_store(dir: &Path, key: &[u8; 32], households: usize) -> Store {
    let opts =
        InitOptions { community_name: "幸福社区".into(), ..InitOptions::new("王网格长", Role::GridLeader) };
    let mut store = Store::init(dir, key, opts, Arc::new(SystemClock)).expect("init store");
    store.import_roster(roster(&["G01"], households).csv().as_bytes()).expect("import roster");
    store
}
