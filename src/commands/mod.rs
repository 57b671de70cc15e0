//! The person-facing commands beyond `list`: `login`, `logout` and `doctor`.
//!
//! Each command is a `run` function over the environment, its arguments and an output stream
//! (never `println!`); the real seams (the resolver over the configured sources, the HTTP
//! probe, the terminal prompter, the keyring probe) are passed in by `cli`.

pub mod doctor;
pub mod login;
pub mod logout;
pub mod probe;
