//! The store's API for the monthly ledger: built by `crate::ledger` from the month queries of
//! `store::db::ledger`.

use super::Store;
use crate::error::Result;
use crate::ledger::Ledger;
use crate::schedule::Month;

impl Store {
    /// The ledger of `month` for `grid` (in scope), or for the device's whole scope when `None`.
    pub fn ledger(&self, month: &Month, grid: Option<&str>) -> Result<Ledger> {
        crate::ledger::build(self, month, grid)
    }
}
