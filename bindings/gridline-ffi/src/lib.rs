//! uniffi surface over gridline-core.
uniffi::setup_scaffolding!();
