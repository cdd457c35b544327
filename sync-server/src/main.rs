//! `gridline-server`: relay, storage, enrollment and the triage console.
fn main() {}
