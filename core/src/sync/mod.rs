//! Sync between devices and the relay server: the wire protocol (shared with the server, no I/O) and, with
//! the `client` feature, the device's sync client.

pub mod protocol;
