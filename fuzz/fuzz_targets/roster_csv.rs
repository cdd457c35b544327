#![no_main]
//! Fuzz target `roster_csv`: see `src/targets.rs`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = gridline_fuzz::targets::roster_csv(data);
});
