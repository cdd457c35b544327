#![no_main]
//! Fuzz target `sync_request`: see `src/targets.rs`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = gridline_fuzz::targets::sync_request(data);
});
