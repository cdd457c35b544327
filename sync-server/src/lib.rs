//! Gridline relay server: storage of Automerge documents as append-only changes, enrollment, scoped sync
//! over `/v1/`, blobs, and the admin commands.

pub mod access;
pub mod admin;
pub mod api;
pub mod config;
pub mod console;
pub mod engine;
pub mod enrollment;
pub mod error;
pub mod limits;
pub mod metrics;
pub mod rules;
pub mod staff;
pub mod storage;
pub mod transport;
pub mod validate;
