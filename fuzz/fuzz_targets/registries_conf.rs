//! Fuzz target `registries_conf`: see `check_registries_conf` in `fuzz/checks.rs` for the properties it holds.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_registries_conf(data));
