//! The store's API for the monthly ledger: built by `crate::ledger` from the month queries of
//! `store::db::ledger`.

use super::Store;
use crate::error::Result;
use crate::ledger::{Ledger, LedgerFigures, Rows};
use crate::schedule::Month;

impl Store {
    /// The ledger of `month` for `grid` (in scope), or for the device's whole scope when `None`.
    pub fn ledger(&self, month: &Month, grid: Option<&str>) -> Result<Ledger> {
        crate::ledger::build(self, month, grid, Rows::Sheets)
    }

    /// The figures of [`Store::ledger`] without its row sheets (what a dashboard shows): the same numbers,
    /// without addressing and ordering every row of the month.
    pub fn ledger_figures(&self, month: &Month, grid: Option<&str>) -> Result<LedgerFigures> {
        crate::ledger::build(self, month, grid, Rows::Counted).map(LedgerFigures::from)
    }
}
