//! `ocicred completions` and the man page: generated from the CLI definition, parsed and
//! rendered by the real shell and groff.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::*;

/// Every visible subcommand the CLI has (and the completions and man page must name).
const SUBCOMMANDS: &[&str] = &[
    "list",
    "login",
    "logout",
    "doctor",
    "resolve",
    "config",
    "completions",
    "setup",
];

fn pipe(program: &std::path::Path, args: &[&str], input: &[u8]) -> Out {
    let mut c = Command::new(program);
    c.args(args);
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    output(child.wait_with_output().unwrap())
}

#[test]
fn bash_completion_parses_and_completes_every_subcommand() {
    let bash = require("bash");
    let env = TestEnv::new();
    let script = run(env.ocicred(&["completions", "bash"]), b"");
    let script = script.ok();
    let out = pipe(&bash, &["-n"], script.as_bytes());
    assert_eq!(out.code, 0, "bash -n: {out:#?}");
    // Load it and ask bash for the completions of `ocicred <TAB>` and `ocicred completions <TAB>`.
    let probe = format!(
        "{script}\nCOMP_WORDS=(ocicred ''); COMP_CWORD=1; COMP_LINE='ocicred '; COMP_POINT=8; _ocicred ocicred '' ocicred; printf '%s\\n' \"${{COMPREPLY[@]}}\"\n\
         COMP_WORDS=(ocicred completions ''); COMP_CWORD=2; _ocicred ocicred '' completions; printf 'shell:%s\\n' \"${{COMPREPLY[@]}}\"\n"
    );
    let out = pipe(&bash, &["--norc", "-s"], probe.as_bytes());
    assert_eq!(out.code, 0, "{out:#?}");
    let words: Vec<&str> = out.stdout.lines().collect();
    for sub in SUBCOMMANDS {
        assert!(words.contains(sub), "{sub} not completed: {words:?}");
    }
    for shell in ["bash", "zsh", "fish"] {
        assert!(
            words.contains(&format!("shell:{shell}").as_str()),
            "{words:?}"
        );
    }
}

#[test]
fn zsh_and_fish_completions_name_every_subcommand() {
    let env = TestEnv::new();
    for shell in ["zsh", "fish"] {
        let out = run(env.ocicred(&["completions", shell]), b"");
        let script = out.ok();
        for sub in SUBCOMMANDS {
            assert!(script.contains(sub), "{shell}: {sub}");
        }
    }
    let zsh = run(env.ocicred(&["completions", "zsh"]), b"");
    assert!(zsh.stdout.starts_with("#compdef ocicred"), "{}", zsh.stdout);
    let out = run(env.ocicred(&["completions", "tcsh"]), b"");
    assert_eq!(out.code, 2, "{out:#?}");
    assert!(out.stderr.contains("bash, zsh, fish"), "{out:#?}");
}

#[test]
fn man_page_renders_with_groff_and_documents_every_command() {
    let groff = require("groff");
    let env = TestEnv::new();
    let page = run(env.ocicred(&["man"]), b"");
    let page = page.ok();
    assert!(page.starts_with(".ie") || page.starts_with(".TH"), "{page}");
    // -ww: every warning; a malformed page warns on stderr.
    let out = pipe(&groff, &["-man", "-Tutf8", "-ww"], page.as_bytes());
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(out.stderr, "", "groff warnings");
    // Bold and underline in -Tutf8 are overstrikes (`x\bx`, `_\bx`); hyphens may be U+2010.
    let plain = strip_overstrike(&out.stdout).replace(['\u{2010}', '\u{2011}'], "-");
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "COMMANDS",
        "HELPER PROTOCOLS",
        "FILES",
    ] {
        assert!(
            plain.lines().any(|l| l.trim() == section),
            "{section}: {plain}"
        );
    }
    for sub in SUBCOMMANDS {
        assert!(plain.contains(&format!("ocicred {sub}")), "{sub}: {plain}");
    }
    assert!(plain.contains("--password-stdin"), "{plain}");
    for nested in [
        "ocicred setup docker",
        "ocicred setup podman",
        "ocicred setup bazel",
    ] {
        assert!(plain.contains(nested), "{nested}: {plain}");
    }
    assert!(
        plain.contains("--migrate") && plain.contains("--dry-run"),
        "{plain}"
    );
    assert!(!plain.contains("ocicred man"), "hidden command documented");
}

/// Removes `c\bc` and `_\bc` overstrikes.
pub fn strip_overstrike(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if i + 2 < chars.len() && chars[i + 1] == '\u{8}' {
            out.push(chars[i + 2]);
            i += 3;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}
