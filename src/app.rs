//! The one place that wires the real seams together.
//!
//! Here the resolver is built over the real sources (auth files, helper subprocesses, the OS
//! keyring, the environment) in the configured order, and here live the HTTP client, the token
//! cache on disk, the keyring's time bounds and the own store `setup docker --migrate` writes
//! to. Nothing else in the crate builds a real seam: the protocol front-ends and the commands
//! take a [`Resolver`], an [`HttpClient`](crate::oci::http::HttpClient) or a [`Source`] as
//! arguments (and so are tested with fakes); `cli` decides what runs and asks this module for
//! them. There is one way to build a resolver: [`resolver`] (or [`resolver_with`]) for a
//! [`Purpose`], which says where registries.conf comes from and how long the keyring may take.

use std::cell::OnceCell;
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::auth_file::{AuthFile, AuthFileFormat};
use crate::commands::setup::docker::OwnStore;
use crate::env::Env;
use crate::error::Result;
use crate::oci::cache::TokenCache;
use crate::oci::http::{ClientConfig, UreqClient};
use crate::ocicred_config::{self, StoreKind};
use crate::protocol;
use crate::registries_conf::{self, RegistriesConf};
use crate::resolver::{Resolver, RouteTo, Routed};
use crate::route::{SourceName, Target};
use crate::source::auth_files::AuthFilesSource;
use crate::source::dual_write::DualWrite;
use crate::source::env::{AuthConfigSource, EnvSource, GithubTokenSource, VarsSource};
use crate::source::helper::{HelperRunner, HelperSource, HubSpelling, ProcessRunner};
use crate::source::keyring::{KeyringSource, OsKeyring};
use crate::source::{Source, SourceSpec, order};

/// How long one keyring call may take on the protocol paths (clients wait on us).
pub const KEYRING_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one keyring call may take for a person at a terminal (time to answer an unlock
/// prompt).
pub const KEYRING_TIMEOUT_PERSON: Duration = Duration::from_secs(30);

/// What a resolver (or a keyring source) is for: where registries.conf comes from, and how long
/// each keyring call and helper may take.
#[derive(Clone, Copy, Debug)]
pub enum Purpose {
    /// A client speaking the docker credential-helper protocol (`get`, `store`, `erase`,
    /// `list`): registries.conf from its cache (only `credential-helpers` and the `blocked` data
    /// are needed), each keyring call bounded by [`KEYRING_TIMEOUT`].
    DockerHelper,
    /// A Bazel `get`: as [`Purpose::DockerHelper`], and every helper and keyring wait also cut
    /// to what is left of `deadline` (docs/protocol.md#time-limits-and-safety-rules).
    BazelGet {
        /// When the whole call must be answered.
        deadline: Instant,
    },
    /// `ocicred resolve` and `ocicred doctor`: the full registries.conf, the protocol bound on
    /// the keyring (they explain; a locked keyring must not hold them up).
    Explain,
    /// A person at a terminal (`list`, `login`, `logout`, `setup`): the full registries.conf,
    /// each keyring call bounded by [`KEYRING_TIMEOUT_PERSON`].
    Person,
}

impl Purpose {
    fn keyring_timeout(self) -> Duration {
        match self {
            Purpose::Person => KEYRING_TIMEOUT_PERSON,
            Purpose::DockerHelper | Purpose::BazelGet { .. } | Purpose::Explain => KEYRING_TIMEOUT,
        }
    }

    fn deadline(self) -> Option<Instant> {
        match self {
            Purpose::BazelGet { deadline } => Some(deadline),
            _ => None,
        }
    }
}

/// Builds the resolver for `purpose`, loading registries.conf as the purpose needs it: from
/// the registries.conf cache on the protocol paths (the lazy full load stays lazy), in full
/// for people.
pub fn resolver(env: &Env, purpose: Purpose) -> Result<Resolver> {
    let conf = match purpose {
        Purpose::DockerHelper | Purpose::BazelGet { .. } => {
            registries_conf::cache::load_for_get(env)?
        }
        Purpose::Explain | Purpose::Person => registries_conf::load(env)?,
    };
    resolver_with(env, purpose, &Rc::new(conf))
}

/// Builds the resolver for `purpose` over an already loaded registries.conf: the sources in the
/// configured order ([`order::source_order`]), the `[[route]]`s, the environment sources when
/// switched on, and nothing for `blocked` registries.
pub fn resolver_with(env: &Env, purpose: Purpose, conf: &Rc<RegistriesConf>) -> Result<Resolver> {
    let keyring_timeout = purpose.keyring_timeout();
    let deadline = purpose.deadline();
    let config = ocicred_config::load(env)?;
    let own = config.store.source_spec();
    let runner = helper_runner(env, deadline);
    let auth_files = || {
        AuthFilesSource::new(
            env.auth_files(),
            env.write_auth_file(),
            env.docker_config_file(),
            env.uid,
            runner.clone(),
        )
    };
    let env_first = || -> Vec<Box<dyn Source>> {
        vec![
            Box::new(EnvSource::new(env.vars.clone())),
            Box::new(AuthConfigSource::new(env.vars.clone(), runner.clone())),
        ]
    };
    let env_last =
        || -> Vec<Box<dyn Source>> { vec![Box::new(GithubTokenSource::new(env.vars.clone()))] };
    let routes = config
        .routes
        .iter()
        .map(|route| {
            let to = match &route.target {
                Target::Helper(name) => RouteTo::Store(Box::new(HelperSource::with_spelling(
                    name,
                    runner.clone(),
                    HubSpelling::Docker,
                ))),
                Target::Source(SourceName::Keyring) => {
                    RouteTo::Store(Box::new(keyring_source(env, keyring_timeout, None)))
                }
                Target::Source(SourceName::AuthFile) => RouteTo::Store(Box::new(auth_files())),
                Target::Source(SourceName::Env) => {
                    RouteTo::Read(env_first().into_iter().chain(env_last()).collect())
                }
                Target::Source(SourceName::None) => RouteTo::Nothing,
                Target::Vars { username, password } => RouteTo::Read(vec![Box::new(
                    VarsSource::new(env.vars.clone(), username, password),
                )]),
                Target::Token(var) => RouteTo::Token {
                    var: var.clone(),
                    value: env.vars.get(var).cloned(),
                },
            };
            Routed {
                route: route.clone(),
                to,
            }
        })
        .collect();
    let mut sources: Vec<Box<dyn Source>> = Vec::new();
    for spec in order::source_order(&conf.credential_helpers(), &own) {
        let source: Box<dyn Source> = match &spec {
            SourceSpec::AuthFiles => Box::new(auth_files()),
            SourceSpec::Helper(name) => Box::new(HelperSource::new(name, runner.clone())),
            SourceSpec::Keyring => Box::new(keyring_source(env, keyring_timeout, deadline)),
        };
        let source = match env.docker_config_file() {
            Some(docker) if config.dual_write && spec == own => {
                Box::new(DualWrite::new(source, docker, env.uid)) as Box<dyn Source>
            }
            _ => source,
        };
        sources.push(source);
    }
    let resolver = Resolver::new(sources).with_routes(routes);
    let resolver = if config.env {
        resolver.with_environment(env_first(), env_last())
    } else {
        resolver
    };
    Ok(resolver.with_blocked(conf.clone().blocked_fn()))
}

/// The helper subprocess runner; with a `deadline`, no helper outlives it.
fn helper_runner(env: &Env, deadline: Option<Instant>) -> Rc<dyn HelperRunner> {
    Rc::new(
        ProcessRunner::new(
            env.path.clone(),
            env.self_exe.clone(),
            env.helper_chain.is_some(),
        )
        .with_deadline(deadline),
    )
}

/// The real OS keyring as a source, bounded for `purpose` (a Bazel `get` also by its deadline).
pub fn keyring(env: &Env, purpose: Purpose) -> KeyringSource {
    keyring_source(env, purpose.keyring_timeout(), purpose.deadline())
}

/// The real OS keyring, each call bounded by `timeout` and by what is left of `deadline`.
fn keyring_source(env: &Env, timeout: Duration, deadline: Option<Instant>) -> KeyringSource {
    KeyringSource::new(Box::new(
        OsKeyring::new(timeout, ocicred_config::auth_file_hint(env))
            .with_session_bus(env.session_bus_address(), env.uid)
            .with_deadline(deadline),
    ))
}

/// The real HTTP client, with the proxy and CA settings of the environment.
pub fn http_client(env: &Env) -> UreqClient {
    UreqClient::new(ClientConfig::from_env(env))
}

/// The user's token cache on disk, when there is a usable one.
pub fn token_cache(env: &Env) -> Option<TokenCache> {
    env.token_cache_dir()
        .and_then(|dir| TokenCache::open(&dir, env.uid))
}

/// `ocicred get` with a Bazel request: the resolver, the HTTP client and the token cache for
/// [`protocol::bazel::run`], under one deadline for everything the call waits on (helpers, the
/// keyring, HTTP).
///
/// The resolver needs only what the registries.conf cache keeps (`credential-helpers`, the
/// `blocked` data); the whole configuration is loaded only if a plain-`http` URI to a
/// non-loopback host asks whether that host is `insecure`.
pub fn bazel_get(env: &Env, input: &[u8], out: &mut dyn Write) -> Result<()> {
    let deadline = Instant::now() + protocol::bazel::DEADLINE;
    let resolver = resolver(env, Purpose::BazelGet { deadline })?;
    let full: OnceCell<Option<RegistriesConf>> = OnceCell::new();
    let insecure = |host: &str| {
        full.get_or_init(|| registries_conf::load(env).ok())
            .as_ref()
            .is_some_and(|c| c.is_insecure_host(host))
    };
    let http = http_client(env);
    let cache = token_cache(env);
    protocol::bazel::run(
        input,
        &resolver,
        &http,
        cache.as_ref(),
        &insecure,
        deadline,
        out,
    )
}

/// ocicred's own store alone (the keyring or the auth file `store` writes), for
/// `setup docker --migrate`.
pub fn own_store(env: &Env) -> Result<OwnStore> {
    let config = ocicred_config::load(env)?;
    let (source, name, auth_file): (Box<dyn Source>, String, Option<PathBuf>) = match config.store {
        StoreKind::Keyring => (
            Box::new(keyring(env, Purpose::Person)),
            "the keyring".to_string(),
            None,
        ),
        StoreKind::AuthFile => {
            let path = env.write_auth_file();
            let files = vec![AuthFile {
                path: path.clone(),
                format: AuthFileFormat::Auths,
            }];
            (
                Box::new(AuthFilesSource::new(
                    files,
                    path.clone(),
                    None,
                    env.uid,
                    helper_runner(env, None),
                )),
                path.display().to_string(),
                Some(path),
            )
        }
    };
    Ok(OwnStore {
        source,
        name,
        auth_file,
        dual_write: config.dual_write,
    })
}
