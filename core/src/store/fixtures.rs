//! What the store's tests share: a store of one community holding the rows of a roster that fall in its
//! grids, and handing a document from one store to another as sync does.

use std::path::Path;
use std::sync::Arc;

use crate::clock::Clock;
use crate::docs::DocId;
use crate::model::Role;
use crate::store::{index, InitOptions, Store};

/// The community every store of these tests belongs to.
pub(crate) const COMMUNITY: &str = "0190f5a4-0000-7000-8000-000000000001";

/// A store in `dir/<name>` for `user` in `role` of [`COMMUNITY`] (幸福社区), covering `grids` (none: the whole
/// community). Every role but the volunteer's imports the rows of `roster` (CSV lines without the header)
/// that fall in its grids.
pub(crate) fn store_with_roster(
    dir: &Path,
    name: &str,
    user: &str,
    role: Role,
    grids: &[&str],
    roster: &[&str],
    clock: Arc<dyn Clock>,
) -> Store {
    let opts = InitOptions {
        community_name: "幸福社区".into(),
        community_id: Some(COMMUNITY.into()),
        grids: grids.iter().map(|g| g.to_string()).collect(),
        ..InitOptions::new(user, role)
    };
    let mut s = Store::init(&dir.join(name), &[7u8; 32], opts, clock).expect("init");
    if role != Role::Volunteer {
        let in_scope = |line: &&str| grids.is_empty() || grids.iter().any(|g| line.starts_with(&format!("{g},")));
        let rows: Vec<&str> =
            std::iter::once(crate::roster_csv::ROSTER_HEADER).chain(roster.iter().copied().filter(in_scope)).collect();
        s.import_roster(rows.join("\n").as_bytes()).expect("roster");
    }
    s
}

/// Hands document `id` from `from` to `to` (what sync does), merging and reindexing it.
pub(crate) fn hand_over(from: &Store, to: &mut Store, id: &DocId) {
    let mut theirs = from.load_doc(id).expect("load").expect("exists");
    let mut mine = to.checkout(id).expect("checkout");
    mine.merge(&mut theirs).expect("merge");
    to.persist(vec![(id.clone(), mine)], index::reindex).expect("persist");
}
