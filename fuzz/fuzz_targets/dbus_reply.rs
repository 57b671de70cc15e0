//! Fuzz target `dbus_reply`: see `check_dbus_reply` in `fuzz/checks.rs` for the properties it holds.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_dbus_reply(data));
