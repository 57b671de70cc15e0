//! Fuzz target `docker_protocol`: see `check_docker_protocol` in `fuzz/checks.rs` for the properties it holds.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_docker_protocol(data));
