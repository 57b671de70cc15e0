//! Fuzz target `ocicred_config`: see `check_ocicred_config` in `fuzz/checks.rs` for the properties it holds.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_ocicred_config(data));
