//! cargo-fuzz targets for the relay server's input parsers; the bodies live in `targets.rs`.

pub mod targets;
