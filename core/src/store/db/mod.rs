//! The device store's SQL, one file per concern; the tables themselves and their migrations are in
//! `store::schema`. Functions here take a connection or transaction and read or write rows: no rules (those
//! are in `schedule`, `workflow`, `service_workflow` and the store's API), so "where is the SQL for incidents" is
//! `db/incidents.rs`.

pub(crate) mod blobs;
pub(crate) mod checkins;
pub(crate) mod columns;
pub(crate) mod connection;
pub(crate) mod documents;
pub(crate) mod evaluations;
pub(crate) mod incidents;
#[cfg(feature = "ledger")]
pub(crate) mod ledger;
pub(crate) mod meta;
pub(crate) mod orders;
pub(crate) mod projects;
pub(crate) mod roster;
pub(crate) mod sync_state;
pub(crate) mod visits;
