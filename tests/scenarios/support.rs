//! Helpers shared by the scenario tests: temporary stores with a roster, deterministic randomness.

use std::path::Path;
use std::sync::Arc;

use gridline_core::model::Role;
use gridline_core::store::InitOptions;
use gridline_core::{Store, SystemClock};

/// A roster CSV of `households` households in grid `grid`, one resident each, every third elderly and alone.
pub fn roster_csv(grid: &str, households: usize) -> String {
    let mut csv = String::from(
        "grid_code,building,unit,floor,room,household_code,resident_name,gender,birth_year,phone,id_number,tags,notes\n",
    );
    for n in 0..households {
        let tags = if n % 3 == 0 { "elderly_alone" } else { "" };
        let (building, floor) = (n / 60 + 1, (n % 60) / 4 + 1);
        csv.push_str(&format!(
            "{grid},{building},1,{floor},{floor}0{},{grid}-H{n:04},居民{n},F,1945,,,{tags},\n",
            n % 4 + 1
        ));
    }
    csv
}

/// Creates a standalone grid-leader store in `dir` with `households` households in grid G01.
pub fn grid_leader_store(dir: &Path, key: &[u8; 32], households: usize) -> Store {
    let opts = InitOptions {
        user: "王网格长".into(),
        role: Role::GridLeader,
        timezone: "Asia/Shanghai".into(),
        community_name: "幸福社区".into(),
        community_id: None,
        grids: vec![],
    };
    let mut store = Store::init(dir, key, opts, Arc::new(SystemClock)).expect("init store");
    store.import_roster(roster_csv("G01", households).as_bytes()).expect("import roster");
    store
}

/// A small deterministic pseudo-random generator (xorshift64*), so failing runs can be replayed by seed.
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    /// The next number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}
