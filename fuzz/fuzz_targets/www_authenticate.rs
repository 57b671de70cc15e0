//! Fuzz target `www_authenticate`: see `check_www_authenticate` in `fuzz/checks.rs` for the properties it holds.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_www_authenticate(data));
