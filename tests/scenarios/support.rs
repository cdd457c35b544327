//! Helpers shared by the scenario tests: locating the built binaries, temporary stores.
