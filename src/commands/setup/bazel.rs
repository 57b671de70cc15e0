//! `ocicred setup bazel`: `common --credential_helper=HOST=<ocicred>` lines in a `.bazelrc`,
//! between marker comments, so that `--undo` removes exactly them and nothing else.
//!
//! ```text
//! # >>> ocicred setup bazel >>> (`ocicred setup bazel --undo` removes this block)
//! common --credential_helper=ghcr.io=/home/me/.local/bin/ocicred
//! # <<< ocicred setup bazel <<<
//! ```
//!
//! Bazel matches a helper by the URL's host only (no port), and a scope needs a dot
//! (`127.0.0.1` works, `localhost` does not); see `research/bazel.md` §2.3.

use std::path::PathBuf;

use super::{Mode, Report, Target, state};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::registry_key::RegistryKey;
use crate::resolver::Resolver;

/// The first line of the block.
pub const BEGIN: &str =
    "# >>> ocicred setup bazel >>> (`ocicred setup bazel --undo` removes this block)";
/// The last line of the block.
pub const END: &str = "# <<< ocicred setup bazel <<<";
const BEGIN_PREFIX: &str = "# >>> ocicred setup bazel >>>";
const LINE_PREFIX: &str = "common --credential_helper=";

/// `setup bazel` arguments.
#[derive(Clone, Debug, Default)]
pub struct Args {
    /// `--rc FILE` (default `./.bazelrc`).
    pub rc: Option<PathBuf>,
    /// `--host HOST` (default: every registry ocicred holds a credential for).
    pub hosts: Vec<String>,
    pub mode: Mode,
}

/// True for a scope Bazel accepts: `(\*|[-a-zA-Z0-9]+)(\.[-a-zA-Z0-9]+)+`.
pub fn is_scope(s: &str) -> bool {
    let mut labels = s.split('.');
    let first = labels.next().unwrap_or("");
    let label_ok =
        |l: &str| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let rest: Vec<&str> = labels.collect();
    (first == "*" || label_ok(first)) && !rest.is_empty() && rest.iter().all(|l| label_ok(l))
}

/// The scope for a host as a person or a stored key spells it: lower case, without a port.
pub fn scope_of(host: &str) -> String {
    let h = host.trim().to_ascii_lowercase();
    let h = h
        .strip_prefix("https://")
        .or_else(|| h.strip_prefix("http://"))
        .unwrap_or(&h);
    let h = h.split('/').next().unwrap_or("");
    match h.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name.to_string()
        }
        _ => h.to_string(),
    }
}

/// The scopes for the registries ocicred holds credentials for (`list` keys): each key's
/// host without its port; Docker Hub's pulls go to `index.docker.io` and `registry-1.docker.io`.
/// Hosts Bazel cannot scope (`localhost`) are returned in the second list.
pub fn scopes_for_keys(keys: &[String]) -> (Vec<String>, Vec<String>) {
    let (mut scopes, mut skipped) = (Vec::new(), Vec::new());
    for k in keys {
        let Ok(key) = RegistryKey::parse(k) else {
            continue;
        };
        let hosts = if key.host() == "docker.io" {
            vec![
                "index.docker.io".to_string(),
                "registry-1.docker.io".to_string(),
            ]
        } else {
            vec![scope_of(key.host())]
        };
        for s in hosts {
            if !is_scope(&s) {
                if !skipped.contains(&s) {
                    skipped.push(s);
                }
            } else if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
    }
    (scopes, skipped)
}

/// The block found in a file: its byte range (whole lines) and its (scope, path) lines.
#[derive(Debug, PartialEq)]
struct Block {
    start: usize,
    end: usize,
    entries: Vec<(String, String)>,
}

fn find_block(text: &str) -> std::result::Result<Option<Block>, String> {
    let mut pos = 0;
    let mut begin: Option<usize> = None;
    let mut found: Option<Block> = None;
    let mut entries = Vec::new();
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let start = pos;
        pos += line.len();
        let bare = line.trim_end_matches(['\n', '\r']);
        if bare.starts_with(BEGIN_PREFIX) {
            if begin.is_some() || found.is_some() {
                return Err(format!("line {}: a second ocicred block", n + 1));
            }
            begin = Some(start);
        } else if bare == END {
            let Some(b) = begin.take() else {
                return Err(format!("line {}: an end marker without a start", n + 1));
            };
            found = Some(Block {
                start: b,
                end: pos,
                entries: std::mem::take(&mut entries),
            });
        } else if begin.is_some() {
            let entry = bare
                .strip_prefix(LINE_PREFIX)
                .and_then(|rest| rest.split_once('='))
                .filter(|(scope, path)| is_scope(scope) && !path.is_empty());
            match entry {
                Some((scope, path)) => entries.push((scope.to_string(), path.to_string())),
                None => {
                    return Err(format!(
                        "line {}: the ocicred block holds a line setup did not write",
                        n + 1
                    ));
                }
            }
        }
    }
    if begin.is_some() {
        return Err("the ocicred block has no end marker".into());
    }
    Ok(found)
}

fn render(entries: &[(String, String)]) -> String {
    let mut s = format!("{BEGIN}\n");
    for (scope, path) in entries {
        s.push_str(&format!("{LINE_PREFIX}{scope}={path}\n"));
    }
    s.push_str(END);
    s.push('\n');
    s
}

/// The new text of the rc file and the changes, one line each. Setup adds a line per scope
/// not yet in the block (and points a scope's line at `exe` if it names another path); undo
/// removes the given scopes' lines, or the whole block when `scopes` is empty. Everything
/// outside the block is kept byte for byte. Errors: the block was edited by hand.
pub fn plan(
    text: &str,
    exe: &str,
    scopes: &[String],
    undo: bool,
) -> std::result::Result<(String, Vec<String>), String> {
    let block = find_block(text)?;
    let mut changes = Vec::new();
    let (head, tail, mut entries) = match &block {
        Some(b) => (&text[..b.start], &text[b.end..], b.entries.clone()),
        None => (text, "", Vec::new()),
    };
    if undo {
        if block.is_none() {
            return Ok((text.to_string(), changes));
        }
        let before = entries.len();
        if scopes.is_empty() {
            entries.clear();
        } else {
            entries.retain(|(s, _)| !scopes.contains(s));
        }
        for (s, p) in &block.as_ref().expect("checked above").entries {
            if !entries.iter().any(|(e, _)| e == s) {
                changes.push(format!("removed {LINE_PREFIX}{s}={p}"));
            }
        }
        if entries.len() == before && !scopes.is_empty() {
            return Ok((text.to_string(), changes));
        }
        if before == 0 {
            changes.push("removed the empty ocicred block".into());
        }
    } else {
        for scope in scopes {
            match entries.iter_mut().find(|(s, _)| s == scope) {
                Some((_, path)) if path == exe => {}
                Some((s, path)) => {
                    changes.push(format!("{LINE_PREFIX}{s}: {path} -> {exe}"));
                    *path = exe.to_string();
                }
                None => {
                    changes.push(format!("added {LINE_PREFIX}{scope}={exe}"));
                    entries.push((scope.clone(), exe.to_string()));
                }
            }
        }
        if changes.is_empty() {
            return Ok((text.to_string(), changes));
        }
    }
    let mut out = head.to_string();
    if !entries.is_empty() {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&render(&entries));
    }
    out.push_str(tail);
    Ok((out, changes))
}

/// The path Bazel runs: this program, absolute, spelled so that a `.bazelrc` line keeps it
/// whole (no white space, quotes or backslashes).
fn exe_path(env: &Env) -> Result<String> {
    let exe = env
        .self_exe
        .as_ref()
        .ok_or_else(|| Error::InvalidInput("cannot find the path of ocicred itself".into()))?;
    let s = exe.to_str().unwrap_or("");
    if s.is_empty()
        || !exe.is_absolute()
        || s.chars().any(|c| c.is_whitespace() || "\"'\\#".contains(c))
    {
        return Err(Error::InvalidInput(format!(
            "ocicred's path {} cannot be written into a .bazelrc line; install it where the path has no spaces or quotes",
            exe.display()
        )));
    }
    Ok(s.to_string())
}

/// The keys `resolver`'s stores hold credentials for: the default hosts of `setup bazel`. A
/// failing store is the error only when nothing at all was found.
pub fn held_keys(resolver: &Resolver) -> Result<Vec<String>> {
    let (items, errors) = resolver.list();
    match errors.into_iter().next() {
        Some(e) if items.is_empty() => Err(e),
        _ => Ok(items.into_iter().map(|i| i.key).collect()),
    }
}

/// `ocicred setup bazel`. `held` lists the keys ocicred holds credentials for (the default
/// hosts).
pub fn run(
    env: &Env,
    args: &Args,
    held: &dyn Fn() -> Result<Vec<String>>,
    out: &mut dyn std::io::Write,
) -> Result<i32> {
    let mode = args.mode;
    let rc = args.rc.clone().unwrap_or_else(|| PathBuf::from(".bazelrc"));
    let mut report = Report::new(out, mode);
    let mut scopes = Vec::new();
    for h in &args.hosts {
        let s = scope_of(h);
        if !is_scope(&s) {
            return Err(Error::InvalidInput(format!(
                "--host {h:?}: Bazel needs a host name with a dot (for a local registry use 127.0.0.1, not localhost)"
            )));
        }
        if s != h.trim() {
            report.note(&format!(
                "--host {h:?}: Bazel matches the host only, so the scope is {s}"
            ))?;
        }
        if !scopes.contains(&s) {
            scopes.push(s);
        }
    }
    if scopes.is_empty() && !mode.undo {
        let (found, skipped) = scopes_for_keys(&held()?);
        for s in &skipped {
            report.note(&format!(
                "{s}: Bazel cannot scope a helper to a host without a dot; skipped"
            ))?;
        }
        if found.is_empty() {
            return Err(Error::InvalidInput(
                "ocicred holds no credentials for a registry Bazel can scope; name the hosts with --host".into(),
            ));
        }
        scopes = found;
    }
    let exe = if mode.undo {
        String::new()
    } else {
        exe_path(env)?
    };

    // One lock for every `setup bazel` of this user, in ocicred's own directory: a lock file
    // beside a workspace's .bazelrc would be litter in the user's repository.
    let lock_path = state::path(env)?;
    let _lock = Target::new(&lock_path, env.uid)?.lock()?;
    let target = Target::new(&rc, env.uid)?;
    let text = match target.read()? {
        Some(bytes) => String::from_utf8(bytes).map_err(|_| Error::Config {
            path: rc.clone(),
            message: "is not UTF-8 text; not changing it".into(),
        })?,
        None => String::new(),
    };
    let (new_text, changes) =
        plan(&text, &exe, &scopes, mode.undo).map_err(|message| Error::Config {
            path: rc.clone(),
            message: format!("{message}; not changing it"),
        })?;
    for c in &changes {
        report.change(&rc, c)?;
    }
    if new_text != text && !mode.dry_run {
        write_rc(&target, &new_text)?;
    }
    report.finish(&rc)
}

fn write_rc(target: &Target, text: &str) -> Result<()> {
    // A .bazelrc is read by others (a workspace checkout, CI): it keeps its mode (new: 0644).
    let mode = target.mode().unwrap_or(0o644);
    target.write_with_mode(text.as_bytes(), Some(mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn scopes_follow_bazels_rules() {
        for ok in ["ghcr.io", "*.example.com", "127.0.0.1", "a-b.c"] {
            assert!(is_scope(ok), "{ok}");
        }
        for bad in [
            "localhost",
            "",
            ".io",
            "a..b",
            "a.*",
            "a b.c",
            "[::1]",
            "a.b:5000",
        ] {
            assert!(!is_scope(bad), "{bad}");
        }
        assert_eq!(scope_of("127.0.0.1:5000"), "127.0.0.1");
        assert_eq!(scope_of("https://GHCR.io/v2/"), "ghcr.io");
        let (scopes, skipped) = scopes_for_keys(&s(&[
            "docker.io",
            "quay.io/org",
            "quay.io",
            "localhost:5000",
            "127.0.0.1:5000",
        ]));
        assert_eq!(
            scopes,
            s(&[
                "index.docker.io",
                "registry-1.docker.io",
                "quay.io",
                "127.0.0.1"
            ])
        );
        assert_eq!(skipped, s(&["localhost"]));
    }

    #[test]
    fn adds_a_block_once_and_undo_removes_exactly_it() {
        let original = "build --jobs=4\n# mine\ncommon --credential_helper=other.io=/x";
        let (text, changes) = plan(
            original,
            "/bin/ocicred",
            &s(&["ghcr.io", "127.0.0.1"]),
            false,
        )
        .unwrap();
        assert_eq!(changes.len(), 2);
        assert_eq!(
            text,
            format!(
                "{original}\n{BEGIN}\ncommon --credential_helper=ghcr.io=/bin/ocicred\ncommon --credential_helper=127.0.0.1=/bin/ocicred\n{END}\n"
            )
        );
        // Idempotent.
        let (again, changes) = plan(&text, "/bin/ocicred", &s(&["ghcr.io"]), false).unwrap();
        assert!(changes.is_empty());
        assert_eq!(again, text);
        // Lines after the block stay where they are; a new host joins the block.
        let with_after = format!("{text}build --config=ci\n");
        let (more, changes) = plan(&with_after, "/bin/ocicred", &s(&["quay.io"]), false).unwrap();
        assert_eq!(
            changes,
            ["added common --credential_helper=quay.io=/bin/ocicred"]
        );
        assert!(more.ends_with(&format!("quay.io=/bin/ocicred\n{END}\nbuild --config=ci\n")));
        // A moved binary: the lines follow it.
        let (moved, changes) = plan(&more, "/new/ocicred", &s(&["quay.io"]), false).unwrap();
        assert_eq!(changes.len(), 1);
        assert!(moved.contains("quay.io=/new/ocicred"));
        // Undo one host, then all.
        let (fewer, changes) = plan(&more, "", &s(&["ghcr.io"]), true).unwrap();
        assert_eq!(
            changes,
            ["removed common --credential_helper=ghcr.io=/bin/ocicred"]
        );
        assert!(!fewer.contains("ghcr.io") && fewer.contains("quay.io"));
        let (none, changes) = plan(&more, "", &[], true).unwrap();
        assert_eq!(changes.len(), 3);
        assert_eq!(none, format!("{original}\nbuild --config=ci\n"));
        let (same, changes) = plan(&none, "", &[], true).unwrap();
        assert!(changes.is_empty());
        assert_eq!(same, none);
    }

    #[test]
    fn a_block_edited_by_hand_is_never_rewritten() {
        for bad in [
            format!("{BEGIN}\nbuild --foo\n{END}\n"),
            format!("{BEGIN}\ncommon --credential_helper=ghcr.io=/x\n"),
            format!("{END}\n"),
            format!("{BEGIN}\n{END}\n{BEGIN}\n{END}\n"),
        ] {
            assert!(plan(&bad, "/x", &s(&["a.io"]), false).is_err(), "{bad}");
            assert!(plan(&bad, "", &[], true).is_err(), "{bad}");
        }
    }
}
