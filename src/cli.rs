//! argv → what to run, and the one place that wires the real seams together.
//!
//! It decides the protocol (docs/protocol.md#which-protocol-a-call-speaks), reads stdin within its
//! size limit, builds the `Resolver` over the real sources (auth files, helper subprocesses) in the
//! configured order, and dispatches to a protocol front-end or a person-facing command. It holds no
//! lookup policy: that is the resolver's.

use std::cell::OnceCell;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use crate::commands::{self, doctor, login, logout};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::oci::http::{ClientConfig, UreqClient};
use crate::ocicred_config::{self, OcicredConfig, StoreKind};
use crate::protocol::{self, MAX_STDIN, Mode, docker};
use crate::registries_conf::{self, RegistriesConf};
use crate::resolver::{Resolver, RouteTo, Routed};
use crate::route::{SourceName, Target};
use crate::source::auth_file::AuthFilesSource;
use crate::source::dual_write::DualWrite;
use crate::source::env::{AuthConfigSource, EnvSource, GithubTokenSource, VarsSource};
use crate::source::helper::{HelperRunner, HelperSource, HubSpelling, ProcessRunner};
use crate::source::keyring::{KeyringSource, OsKeyring};
use crate::source::{Source, SourceSpec};

/// The standard streams a run uses.
pub struct Io<'a> {
    pub stdin: &'a mut dyn Read,
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
}

/// Runs ocicred with `args` (argv, including argv[0]); returns the exit code.
pub fn run(env: &Env, args: Vec<OsString>, io: Io<'_>) -> i32 {
    let argv0 = args.first().cloned().unwrap_or_default();
    let first = args.get(1).and_then(|a| a.to_str());
    match protocol::detect(&argv0, first) {
        Mode::Docker if protocol::is_docker_name(&argv0) => docker_helper(env, &args, io),
        Mode::Docker => {
            let action = first
                .and_then(docker::Action::parse)
                .expect("detect saw a docker verb");
            docker_action(env, action, io)
        }
        Mode::GetSniff => {
            let stdin = match read_bounded(io.stdin) {
                Ok(b) => b,
                Err(e) => return fail_docker(io.stdout, &e),
            };
            // The first byte decides the protocol, and so where an error goes: a Bazel request
            // that is too large gets Bazel's error shape (stderr, empty stdout).
            let bazel = protocol::is_bazel_body(&stdin);
            if let Err(e) = check_size(&stdin) {
                return if bazel {
                    fail_bazel(io.stderr, &e)
                } else {
                    fail_docker(io.stdout, &e)
                };
            }
            if bazel {
                return bazel_get(env, &stdin, io);
            }
            with_resolver(env, io.stdout, |r, out| {
                docker::handle(docker::Action::Get, &stdin, out, r)
            })
        }
        Mode::Person => person(env, args, io),
    }
}

/// `ocicred get` with a Bazel request: errors are one line on stderr, stdout stays empty.
///
/// The resolver needs only what the registries.conf cache keeps (`credential-helpers`, the
/// `blocked` data); the whole configuration is loaded only if a plain-`http` URI to a
/// non-loopback host asks whether that host is `insecure`.
fn bazel_get(env: &Env, stdin: &[u8], io: Io<'_>) -> i32 {
    // One deadline for everything this call waits on: helpers, the keyring, HTTP
    // (docs/protocol.md#time-limits-and-safety-rules).
    let deadline = Instant::now() + protocol::bazel::DEADLINE;
    let result = registries_conf::cache::load_for_get(env)
        .map(Rc::new)
        .and_then(|conf| {
            let resolver = build_resolver_for(env, &conf, KEYRING_TIMEOUT, Some(deadline))?;
            let full: OnceCell<Option<RegistriesConf>> = OnceCell::new();
            let insecure = |host: &str| {
                full.get_or_init(|| registries_conf::load(env).ok())
                    .as_ref()
                    .is_some_and(|c| c.is_insecure_host(host))
            };
            protocol::bazel::run(stdin, env, &resolver, &insecure, deadline, io.stdout)
        });
    match result {
        Ok(()) => 0,
        Err(e) => fail_bazel(io.stderr, &e),
    }
}

/// A Bazel `get` failure: one line on stderr, nothing on stdout, exit 1.
fn fail_bazel(err: &mut dyn Write, e: &Error) -> i32 {
    let _ = writeln!(err, "ocicred: {}", docker::one_line(&e.to_string()));
    1
}

const DOCKER_USAGE: &str = "Usage: docker-credential-ocicred <store|get|erase|list|version>";

/// `docker-credential-ocicred ACTION`.
fn docker_helper(env: &Env, args: &[OsString], io: Io<'_>) -> i32 {
    let words: Vec<&str> = args[1..]
        .iter()
        .map(|a| a.to_str().unwrap_or("\u{fffd}"))
        .collect();
    match words.as_slice() {
        [] => {
            let _ = writeln!(io.stderr, "{DOCKER_USAGE}");
            1
        }
        ["-v" | "--version"] => {
            let _ = writeln!(io.stdout, "{}", docker::version_line());
            0
        }
        ["-h" | "--help"] => {
            let _ = writeln!(io.stdout, "{DOCKER_USAGE}");
            0
        }
        [word] => match docker::Action::parse(word) {
            Some(action) => docker_action(env, action, io),
            None => {
                let _ = writeln!(
                    io.stdout,
                    "docker-credential-ocicred: unknown action: {}",
                    docker::one_line(word)
                );
                1
            }
        },
        _ => {
            let _ = writeln!(io.stderr, "{DOCKER_USAGE}");
            1
        }
    }
}

fn docker_action(env: &Env, action: docker::Action, io: Io<'_>) -> i32 {
    let stdin = match action {
        // list and version never read stdin (clients may send nothing, or `unused`).
        docker::Action::List | docker::Action::Version => Vec::new(),
        _ => match read_stdin(io.stdin) {
            Ok(b) => b,
            Err(e) => return fail_docker(io.stdout, &e),
        },
    };
    if action == docker::Action::Version {
        let _ = writeln!(io.stdout, "{}", docker::version_line());
        return 0;
    }
    with_resolver(env, io.stdout, |r, out| {
        docker::handle(action, &stdin, out, r)
    })
}

fn fail_docker(out: &mut dyn Write, e: &Error) -> i32 {
    let _ = writeln!(out, "{}", docker::one_line(&e.to_string()));
    1
}

fn with_resolver(
    env: &Env,
    out: &mut dyn Write,
    f: impl FnOnce(&Resolver, &mut dyn Write) -> i32,
) -> i32 {
    match build_resolver(env) {
        Ok(r) => f(&r, out),
        Err(e) => fail_docker(out, &e),
    }
}

/// Reads all of stdin, refusing more than [`MAX_STDIN`] bytes.
pub fn read_stdin(stdin: &mut dyn Read) -> Result<Vec<u8>> {
    let buf = read_bounded(stdin)?;
    check_size(&buf)?;
    Ok(buf)
}

/// Reads stdin up to one byte past [`MAX_STDIN`] (so that [`check_size`] can tell).
fn read_bounded(stdin: &mut dyn Read) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    stdin
        .take(MAX_STDIN as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::InvalidInput(format!("cannot read stdin: {e}")))?;
    Ok(buf)
}

fn check_size(buf: &[u8]) -> Result<()> {
    if buf.len() > MAX_STDIN {
        return Err(Error::InvalidInput(format!(
            "input is larger than {} bytes",
            MAX_STDIN
        )));
    }
    Ok(())
}

/// How long one keyring call may take on the protocol paths (clients wait on us).
pub const KEYRING_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one keyring call may take for a person at a terminal (time to answer an unlock
/// prompt).
pub const KEYRING_TIMEOUT_PERSON: Duration = Duration::from_secs(30);

fn own_spec(config: &OcicredConfig) -> SourceSpec {
    match config.store {
        StoreKind::Keyring => SourceSpec::Keyring,
        StoreKind::AuthFile => SourceSpec::AuthFiles,
    }
}

/// The source order: the keyring first when ocicred stores there
/// (README.md#where-credentials-are-looked-up), then registries.conf `credential-helpers` (default
/// `["containers-auth.json"]`), where `ocicred` means the configured backend.
pub fn source_specs(conf: &RegistriesConf, config: &OcicredConfig) -> Vec<SourceSpec> {
    let own = own_spec(config);
    let mut specs: Vec<SourceSpec> = Vec::new();
    if own == SourceSpec::Keyring {
        specs.push(SourceSpec::Keyring);
    }
    for name in conf.credential_helpers() {
        let spec = SourceSpec::from_helper_name(&name, &own);
        if !specs.contains(&spec) {
            specs.push(spec);
        }
    }
    specs
}

/// The real OS keyring, as a source, with the given bound on each call.
pub fn keyring_source(env: &Env, timeout: Duration) -> KeyringSource {
    keyring_source_until(env, timeout, None)
}

/// The real OS keyring, each call bounded by `timeout` and by what is left of `deadline`.
fn keyring_source_until(env: &Env, timeout: Duration, deadline: Option<Instant>) -> KeyringSource {
    KeyringSource::new(Box::new(
        OsKeyring::new(timeout, ocicred_config::auth_file_hint(env))
            .with_session_bus(env.session_bus_address(), env.uid)
            .with_deadline(deadline),
    ))
}

/// Builds the resolver over the real sources, in the registries.conf order. It needs only
/// `credential-helpers` and the `blocked` data, which come from the registries.conf cache.
pub fn build_resolver(env: &Env) -> Result<Resolver> {
    let conf = Rc::new(registries_conf::cache::load_for_get(env)?);
    build_resolver_with(env, &conf)
}

/// Builds the resolver for an already loaded registries.conf; `blocked` registries get
/// nothing. Keyring calls are bounded for protocol use.
pub fn build_resolver_with(env: &Env, conf: &Rc<RegistriesConf>) -> Result<Resolver> {
    build_resolver_for(env, conf, KEYRING_TIMEOUT, None)
}

/// Builds the resolver for a person at a terminal (longer keyring bound).
pub fn build_person_resolver(env: &Env) -> Result<Resolver> {
    let conf = Rc::new(registries_conf::load(env)?);
    build_resolver_for(env, &conf, KEYRING_TIMEOUT_PERSON, None)
}

/// Builds the resolver, each keyring call bounded by `keyring_timeout`; with a `deadline`,
/// every helper and keyring wait is also cut to what is left of it.
pub fn build_resolver_for(
    env: &Env,
    conf: &Rc<RegistriesConf>,
    keyring_timeout: Duration,
    deadline: Option<Instant>,
) -> Result<Resolver> {
    let config = ocicred_config::load(env)?;
    let own = own_spec(&config);
    let runner: Rc<dyn HelperRunner> = Rc::new(
        ProcessRunner::new(
            env.path.clone(),
            env.self_exe.clone(),
            env.helper_chain.is_some(),
        )
        .with_deadline(deadline),
    );
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
                    RouteTo::Store(Box::new(keyring_source(env, keyring_timeout)))
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
    for spec in source_specs(conf, &config) {
        let source: Box<dyn Source> = match &spec {
            SourceSpec::AuthFiles => Box::new(auth_files()),
            SourceSpec::Helper(name) => Box::new(HelperSource::new(name, runner.clone())),
            SourceSpec::Keyring => Box::new(keyring_source_until(env, keyring_timeout, deadline)),
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

/// ocicred: one credential helper for OCI registries.
#[derive(Parser, Debug)]
#[command(name = "ocicred", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show every stored credential: registry, user name and where it is kept (never the secret).
    List,
    /// Check credentials against a registry, then store them where ocicred keeps credentials.
    Login {
        /// The user name (prompted for on the terminal when absent).
        #[arg(short = 'u', long)]
        username: Option<String>,
        /// Read the password from stdin instead of prompting.
        #[arg(long)]
        password_stdin: bool,
        /// Store without checking the credentials against the registry.
        #[arg(long)]
        no_verify: bool,
        /// REGISTRY[/NAMESPACE], e.g. quay.io or quay.io/myorg.
        registry: String,
    },
    /// Remove stored credentials for a registry (or every one with --all).
    Logout {
        /// Remove every credential `ocicred list` shows.
        #[arg(long)]
        all: bool,
        /// REGISTRY[/NAMESPACE].
        registry: Option<String>,
    },
    /// Check every file and helper ocicred would use; print each problem with its fix.
    Doctor,
    /// Show how an image reference resolves: short names, the matching [[registry]], the pull
    /// sources in order and the credential each would use (never the secret).
    Resolve {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The image reference, as written (e.g. `nginx`, `quay.io/org/app:1`).
        image: String,
    },
    /// Show the effective registries.conf after every file and drop-in, with where each value
    /// came from.
    Config {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Wire ocicred into docker, podman/skopeo/buildah or Bazel; prints what it changed.
    Setup {
        #[command(subcommand)]
        target: SetupTarget,
    },
    /// Print a shell completion script, e.g. `ocicred completions bash > ~/.local/share/bash-completion/completions/ocicred`.
    Completions {
        /// The shell.
        shell: Shell,
    },
    /// Print the manual page (roff), as install.sh installs it as ocicred.1.
    #[command(hide = true)]
    Man,
}

/// What `ocicred setup` wires ocicred into.
#[derive(Subcommand, Debug)]
enum SetupTarget {
    /// docker's config.json: `"credsStore": "ocicred"`, or `credHelpers` entries for the given
    /// registries only; every other field is kept. `--undo` puts back the previous values.
    Docker {
        /// Only this registry host (repeatable): a `credHelpers` entry instead of `credsStore`.
        #[arg(long = "registry", value_name = "HOST")]
        registries: Vec<String>,
        /// Also move the plain-text credentials in config.json's `auths` into ocicred's store
        /// (each is read back before its plain text is replaced by docker's `{}` placeholder).
        #[arg(long, conflicts_with = "undo")]
        migrate: bool,
        #[command(flatten)]
        mode: SetupMode,
    },
    /// podman, skopeo, buildah: the user drop-in
    /// `$XDG_CONFIG_HOME/containers/registries.conf.d/50-ocicred.conf` with
    /// `credential-helpers = ["ocicred", "containers-auth.json"]` (never a user registries.conf,
    /// which would switch off the system one).
    Podman {
        #[command(flatten)]
        mode: SetupMode,
    },
    /// Bazel: `common --credential_helper=HOST=<ocicred>` lines between marker comments in a
    /// .bazelrc, for the given hosts or every registry ocicred holds a credential for.
    Bazel {
        /// The rc file (default `./.bazelrc`).
        #[arg(long, value_name = "FILE")]
        rc: Option<std::path::PathBuf>,
        /// A registry host to scope the helper to (repeatable; the port is ignored by Bazel).
        #[arg(long = "host", value_name = "HOST")]
        hosts: Vec<String>,
        #[command(flatten)]
        mode: SetupMode,
    },
}

/// `--dry-run` and `--undo`, for every setup target.
#[derive(clap::Args, Debug, Clone, Copy)]
struct SetupMode {
    /// Print the change and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Put back what an earlier setup changed.
    #[arg(long)]
    undo: bool,
}

impl From<SetupMode> for commands::setup::Mode {
    fn from(m: SetupMode) -> Self {
        commands::setup::Mode {
            dry_run: m.dry_run,
            undo: m.undo,
        }
    }
}

/// `ocicred setup TARGET`.
fn setup(env: &Env, target: SetupTarget, out: &mut dyn Write) -> Result<i32> {
    use commands::setup::{bazel, docker, podman};
    match target {
        SetupTarget::Docker {
            registries,
            migrate,
            mode,
        } => {
            let args = docker::Args {
                registries,
                migrate,
                mode: mode.into(),
            };
            docker::run(env, &args, &|| own_store(env), out)
        }
        SetupTarget::Podman { mode } => podman::run(env, mode.into(), out),
        SetupTarget::Bazel { rc, hosts, mode } => {
            let args = bazel::Args {
                rc,
                hosts,
                mode: mode.into(),
            };
            let held = || {
                let (items, errors) = build_person_resolver(env)?.list();
                match errors.into_iter().next() {
                    Some(e) if items.is_empty() => Err(e),
                    _ => Ok(items.into_iter().map(|i| i.key).collect()),
                }
            };
            bazel::run(env, &args, &held, out)
        }
    }
}

/// ocicred's own store alone (the keyring or the auth file `store` writes), for `--migrate`.
fn own_store(env: &Env) -> Result<commands::setup::docker::OwnStore> {
    use crate::env::{AuthFile, AuthFileFormat};
    let config = ocicred_config::load(env)?;
    let (source, name, auth_file): (Box<dyn Source>, String, Option<std::path::PathBuf>) =
        match config.store {
            StoreKind::Keyring => (
                Box::new(keyring_source(env, KEYRING_TIMEOUT_PERSON)),
                "the keyring".to_string(),
                None,
            ),
            StoreKind::AuthFile => {
                let path = env.write_auth_file();
                let runner: Rc<dyn HelperRunner> = Rc::new(ProcessRunner::new(
                    env.path.clone(),
                    env.self_exe.clone(),
                    env.helper_chain.is_some(),
                ));
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
                        runner,
                    )),
                    path.display().to_string(),
                    Some(path),
                )
            }
        };
    Ok(commands::setup::docker::OwnStore {
        source,
        name,
        auth_file,
        dual_write: config.dual_write,
    })
}

/// The shells `ocicred completions` writes for.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// The CLI definition, for completions and the man page.
fn cli_command() -> clap::Command {
    Cli::command()
}

/// `ocicred completions SHELL`.
fn completions(shell: Shell, out: &mut dyn Write) -> Result<i32> {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cli_command(), "ocicred", &mut buf);
    out.write_all(&buf).map_err(commands::write_err)?;
    Ok(0)
}

/// `ocicred man`: the manual page, generated from the same CLI definition.
fn man_page(out: &mut dyn Write) -> Result<i32> {
    let page = commands::manual::render(cli_command()).map_err(commands::write_err)?;
    out.write_all(&page).map_err(commands::write_err)?;
    Ok(0)
}

fn person(env: &Env, args: Vec<OsString>, io: Io<'_>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let text = e.render().to_string();
            if e.use_stderr() {
                let _ = write!(io.stderr, "{text}");
            } else {
                let _ = write!(io.stdout, "{text}");
            }
            return code;
        }
    };
    let result = match cli.command {
        Command::List => list_table(env, io.stdout),
        Command::Login {
            username,
            password_stdin,
            no_verify,
            registry,
        } => build_person_resolver(env).and_then(|resolver| {
            let args = login::LoginArgs {
                registry,
                username,
                password_stdin,
                no_verify,
            };
            let http = UreqClient::new(ClientConfig::from_env(env));
            let conf = registries_conf::load(env)?;
            let insecure = |host: &str| conf.is_insecure_host(host);
            login::run(
                &args,
                io.stdin,
                io.stdout,
                &login::TtyPrompter,
                &http,
                &insecure,
                &resolver,
            )
        }),
        Command::Logout { all, registry } => build_person_resolver(env)
            .and_then(|resolver| logout::run(registry.as_deref(), all, io.stdout, &resolver)),
        Command::Doctor => {
            let probe = || keyring_source(env, KEYRING_TIMEOUT).describe();
            doctor::run(env, io.stdout, &probe)
        }
        Command::Resolve { json, image } => {
            commands::resolve::run(env, &commands::resolve::Args { json, image }, io.stdout)
        }
        Command::Config { json } => {
            commands::config::run(env, &commands::config::Args { json }, io.stdout)
        }
        Command::Setup { target } => setup(env, target, io.stdout),
        Command::Completions { shell } => completions(shell, io.stdout),
        Command::Man => man_page(io.stdout),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(io.stderr, "ocicred: {}", docker::one_line(&e.to_string()));
            1
        }
    }
}

/// `ocicred list`: a table of registry, user name, source, every cell made printable (a user
/// name can hold an escape sequence or a newline).
fn list_table(env: &Env, out: &mut dyn Write) -> Result<i32> {
    let resolver = build_person_resolver(env)?;
    let (items, errors) = resolver.list_all();
    let w = |e: std::io::Error| Error::InvalidInput(format!("cannot write output: {e}"));
    let cell = |s: &str| commands::printable(s).into_owned();
    let rows: Vec<[String; 3]> = items
        .iter()
        .map(|i| [cell(&i.key), cell(&i.username), cell(&i.source)])
        .collect();
    let wide = |n: usize| {
        rows.iter()
            .map(|r| r[n].chars().count())
            .max()
            .unwrap_or(0)
            .max(8)
    };
    let (width, uwidth) = (wide(0), wide(1));
    writeln!(out, "{:width$}  {:uwidth$}  SOURCE", "REGISTRY", "USERNAME").map_err(w)?;
    for [key, user, source] in &rows {
        writeln!(out, "{key:width$}  {user:uwidth$}  {source}").map_err(w)?;
    }
    match errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(0),
    }
}
