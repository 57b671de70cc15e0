//! Black-box tests: each runs the built `ocicred` binary with a temp HOME and a cleared
//! environment, against real peers (skopeo, the docker CLI, docker-registry) where one exists.

/// TestEnv, a real docker-registry, and checks for required programs.
mod support;

/// login, logout, list and doctor for people.
mod commands;
/// The docker credential-helper protocol, byte for byte.
mod docker;
/// The OS keyring backend against a real gnome-keyring on a private D-Bus.
mod keyring;
/// Where credentials are looked up: the file order, helpers, loops, timeouts.
mod lookup;
/// Real clients: the docker CLI and skopeo against a real registry.
mod peers;
/// The registries.conf cache: the same answers cold, warm, and after every kind of edit.
mod regcache;
/// registries.conf: resolve, config, blocked, credential-helpers, mirrors with skopeo.
mod registries;
/// Writes: atomic, locked, nothing lost.
mod writes;
