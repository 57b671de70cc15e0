//! argv → what to run.
//!
//! It decides the protocol (docs/protocol.md#which-protocol-a-call-speaks), parses the
//! person-facing command line (clap), and dispatches to a protocol front-end or a command with
//! what `app` (the one place that wires the real seams together) builds for it. It holds no
//! lookup policy (that is the resolver's) and builds no seam itself.

use std::ffi::OsString;
use std::io::{Read, Write};

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use crate::app::{self, Purpose};
use crate::commands::{self, doctor, list, login, logout};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::protocol::{self, Mode, docker};
use crate::registries_conf;
use crate::resolver::Resolver;

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
            let stdin = match protocol::read_bounded(io.stdin) {
                Ok(b) => b,
                Err(e) => return fail_docker(io.stdout, &e),
            };
            // The first byte decides the protocol, and so where an error goes: a Bazel request
            // that is too large gets Bazel's error shape (stderr, empty stdout).
            let bazel = protocol::is_bazel_body(&stdin);
            if let Err(e) = protocol::check_size(&stdin) {
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
fn bazel_get(env: &Env, stdin: &[u8], io: Io<'_>) -> i32 {
    match app::bazel_get(env, stdin, io.stdout) {
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
        _ => match protocol::read_stdin(io.stdin) {
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
    match app::resolver(env, Purpose::DockerHelper) {
        Ok(r) => f(&r, out),
        Err(e) => fail_docker(out, &e),
    }
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
            docker::run(env, &args, &|| app::own_store(env), out)
        }
        SetupTarget::Podman { mode } => podman::run(env, mode.into(), out),
        SetupTarget::Bazel { rc, hosts, mode } => {
            let args = bazel::Args {
                rc,
                hosts,
                mode: mode.into(),
            };
            let held = || bazel::held_keys(&app::resolver(env, Purpose::Person)?);
            bazel::run(env, &args, &held, out)
        }
    }
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
        Command::List => app::resolver(env, Purpose::Person).and_then(|r| list::run(&r, io.stdout)),
        Command::Login {
            username,
            password_stdin,
            no_verify,
            registry,
        } => app::resolver(env, Purpose::Person).and_then(|resolver| {
            let args = login::LoginArgs {
                registry,
                username,
                password_stdin,
                no_verify,
            };
            let http = app::http_client(env);
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
        Command::Logout { all, registry } => app::resolver(env, Purpose::Person)
            .and_then(|resolver| logout::run(registry.as_deref(), all, io.stdout, &resolver)),
        Command::Doctor => {
            let probe = || app::keyring(env, Purpose::Explain).describe();
            doctor::run(env, io.stdout, &probe)
        }
        Command::Resolve { json, image } => {
            let args = commands::resolve::Args { json, image };
            let resolver = |conf: &_| app::resolver_with(env, Purpose::Explain, conf);
            commands::resolve::run(env, &args, &resolver, io.stdout)
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
