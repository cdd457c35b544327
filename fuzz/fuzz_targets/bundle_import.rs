#![no_main]
//! Fuzz target `bundle_import`: see `src/targets.rs`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = gridline_fuzz::targets::bundle_import(data);
});
