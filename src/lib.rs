//! ocicred: one credential helper for OCI registries.
//!
//! The crate is a library with a thin binary. Pure logic (key normalisation, auth-file models,
//! lookup policy, wire formats) lives in plain functions on values; the filesystem, helper
//! subprocesses, the keyring and HTTP each sit behind one small seam, and [`app`] is the one place
//! that wires the real seams together. `main.rs` only reads the process environment into
//! [`env::Env`] and hands stdin/stdout to [`cli::run`], which parses argv and dispatches.

pub mod app;
pub mod auth_file;
pub mod cli;
pub mod commands;
pub mod credential;
#[cfg(test)]
mod debug_hygiene;
pub mod env;
pub mod error;
pub mod fsio;
pub mod oci;
pub mod ocicred_config;
pub mod protocol;
pub mod registries_conf;
pub mod registry_key;
pub mod resolver;
pub mod route;
pub mod secret;
pub mod source;
pub mod toml_error;
