//! Fuzz target `route_match`: see `check_route_match` in `fuzz/checks.rs` for the properties it holds.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_route_match(data));
