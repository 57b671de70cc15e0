//! Black-box tests: each runs the built `ocicred` binary with a temp HOME and a cleared
//! environment, against real peers (skopeo, the docker CLI, docker-registry) where one exists.

/// The one harness: `TestEnv` (temp HOME, cleared environment, the binary and its peers),
/// the `Registry` builder (a real docker-registry), a scripted HTTP `Server`, and `require`.
mod support;

/// The module structure: no module imports one that imports it back.
mod architecture;
/// Bazel `get` against an in-process fake registry (what a real one cannot produce).
mod bazel_fake;
/// Bazel `get` against a real docker-registry (htpasswd and token auth).
mod bazel_registry;
/// The Bazel token flow: cache under SIGKILL, redirects, body caps, no secret in errors.
mod bazel_safety;
/// Real clients (ORAS, Helm 3 and 4, crane, docker, skopeo) through ocicred, logged by a spy.
mod clients;
/// Docker Hub keys: what one client stored is found by the others under their own spelling.
mod clients_hub;
/// login, logout, list and doctor for people.
mod commands;
/// Concurrency: 100 writers and 100 readers on one auth file at once.
mod concurrency;
/// Crash safety: store SIGKILLed at random moments never corrupts the auth file.
mod crash;
/// ocicred against containers/image, the docker CLI and oras-go run as Go oracles on
/// generated configurations.
mod differential;
/// The docker credential-helper protocol, byte for byte.
mod docker;
/// Credentials from the CI environment and `[[route]]`s, with real clients.
mod envroute;
/// Saved fuzz crash inputs and seeds, replayed through the fuzz properties.
mod fuzz_regressions;
/// Hostile input: symlinks, other users' files, deep nesting, huge and non-UTF-8 input.
mod hostile;
/// Hostile peers and files: look-alike loopback names, slow helpers against the Bazel
/// deadline, helpers that hold their stdin, non-map `auths`, bad tokens, control characters.
mod hostile_peers;
/// Secret hygiene: no secret on stderr, in list output, errors, panics or stray files.
mod hygiene;
/// The binary install.sh installs: static, and working in every mode.
mod installed;
/// The OS keyring backend against a real gnome-keyring on a private D-Bus.
mod keyring;
/// A hostile local user and a stalled lock holder: planted cache and lock files, FIFOs,
/// devices, symlinks and other users' directories in a path; a dumpable process.
mod local_attacks;
/// `ocicred login` through the Bearer flow, then a Bazel `get` using it.
mod login_token;
/// Where credentials are looked up: the file order, helpers, loops, timeouts.
mod lookup;
/// `ocicred completions` and the man page, checked by bash and groff.
mod manual;
/// Real clients: the docker CLI and skopeo against a real registry.
mod peers;
/// The registries.conf cache: the same answers cold, warm, and after every kind of edit.
mod regcache;
/// registries.conf: resolve, config, blocked, credential-helpers, mirrors with skopeo.
mod registries;
/// `ocicred setup docker|podman|bazel` with the real clients, and `--migrate` under SIGKILL.
mod setup;
/// The Windows build under Wine: the docker-protocol round trip with the auth-file store.
mod wine;
/// Writes: atomic, unknown fields kept, corrupt files untouched, private modes, symlinks.
mod writes;
