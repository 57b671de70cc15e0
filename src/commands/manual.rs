//! `ocicred man`: the manual page `ocicred.1`, generated from the CLI definition.
//!
//! clap_mangen writes the title, NAME, SYNOPSIS, DESCRIPTION and OPTIONS of the top command;
//! every visible subcommand (and sub-subcommand, e.g. `setup docker`) follows in one COMMANDS
//! section with its usage, description and arguments, so one page documents the whole CLI.
//! The sections that are not in the CLI definition (the helper protocols, files) are fixed text.

use clap::Command;
use clap_mangen::roff::{Roff, bold, italic, roman};

/// The fixed sections after COMMANDS: (heading, paragraphs).
const EXTRA: &[(&str, &[&str])] = &[
    (
        "HELPER PROTOCOLS",
        &[
            "Run as docker-credential-ocicred (a symbolic link to ocicred) or as ocicred store|get|erase|list, it speaks the docker credential-helper protocol used by docker, ORAS, Helm, podman, skopeo and buildah.",
            "ocicred get with a JSON request on stdin ({\"uri\": ...}) speaks the Bazel credential-helper protocol: it answers the headers for the URI, exchanging registry tokens when needed.",
        ],
    ),
    (
        "FILES",
        &[
            "$REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, $XDG_CONFIG_HOME/containers/auth.json, $DOCKER_CONFIG/config.json (else ~/.docker/config.json): the auth files read, in that order.",
            "/etc/containers/registries.conf, its registries.conf.d drop-ins and the user's: credential-helpers, blocked registries, mirrors and aliases.",
            "$XDG_CONFIG_HOME/ocicred/config.toml ($OCICRED_CONFIG): ocicred's own settings (store = \"auth-file\" | \"keyring\", dual-write).",
        ],
    ),
    (
        "SEE ALSO",
        &[
            "containers-auth.json(5), containers-registries.conf(5), containers-registries.conf.d(5), docker-login(1).",
        ],
    ),
];

/// The whole manual page for `cmd` (the top-level command).
pub fn render(cmd: Command) -> std::io::Result<Vec<u8>> {
    let mut cmd = cmd;
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    let mut roff = Roff::new();
    roff.control("SH", ["COMMANDS"]);
    for sub in visible(&cmd) {
        command(&mut roff, sub, cmd.get_name());
    }
    for (heading, paragraphs) in EXTRA {
        roff.control("SH", [*heading]);
        for (i, p) in paragraphs.iter().enumerate() {
            if i > 0 {
                roff.control("PP", [] as [&str; 0]);
            }
            roff.text([roman(*p)]);
        }
    }
    roff.to_writer(&mut out)?;
    Ok(out)
}

fn visible(cmd: &Command) -> impl Iterator<Item = &Command> {
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
}

/// One subcommand: `.SS` with its usage, its description, then its arguments; its own
/// subcommands follow with the full path (`ocicred setup docker`).
fn command(roff: &mut Roff, cmd: &Command, parent: &str) {
    let path = format!("{parent} {}", cmd.get_name());
    roff.control("SS", [path.as_str()]);
    let mut usage = vec![bold(path.as_str())];
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        let id = arg.get_id().as_str();
        if id == "help" || id == "version" {
            continue;
        }
        usage.push(roman(" "));
        let value = arg
            .get_value_names()
            .map(|v| v.join(" "))
            .unwrap_or_else(|| id.to_uppercase());
        let takes = arg.get_action().takes_values();
        let text = match (arg.get_long(), arg.get_short()) {
            (Some(l), _) if takes => format!("[--{l} {value}]"),
            (Some(l), _) => format!("[--{l}]"),
            (None, Some(s)) if takes => format!("[-{s} {value}]"),
            (None, Some(s)) => format!("[-{s}]"),
            (None, None) if arg.is_required_set() => value,
            (None, None) => format!("[{value}]"),
        };
        usage.push(italic(text));
    }
    if cmd.has_subcommands() {
        usage.push(roman(" "));
        usage.push(italic("COMMAND"));
    }
    roff.text(usage);
    if let Some(about) = cmd.get_long_about().or(cmd.get_about()) {
        roff.control("PP", [] as [&str; 0]);
        roff.text([roman(about.to_string())]);
    }
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        let id = arg.get_id().as_str();
        if id == "help" || id == "version" {
            continue;
        }
        let mut head = Vec::new();
        if let Some(s) = arg.get_short() {
            head.push(format!("-{s}"));
        }
        if let Some(l) = arg.get_long() {
            head.push(format!("--{l}"));
        }
        if head.is_empty() {
            head.push(id.to_uppercase());
        }
        roff.control("TP", [] as [&str; 0]);
        roff.text([bold(head.join(", "))]);
        if let Some(help) = arg.get_long_help().or(arg.get_help()) {
            let mut text = help.to_string();
            let values: Vec<String> = arg
                .get_possible_values()
                .iter()
                .filter(|v| !v.is_hide_set())
                .map(|v| v.get_name().to_string())
                .collect();
            if !values.is_empty() {
                text.push_str(&format!(": one of {}", values.join(", ")));
            }
            roff.text([roman(text)]);
        }
    }
    for sub in visible(cmd) {
        command(roff, sub, &path);
    }
}
