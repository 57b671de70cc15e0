//! `ocicred doctor`: reads every file and helper ocicred would use and reports each problem
//! once, with its file and line and the fix.
//!
//! It owns the checks, not the parsers: ocicred's config (TOML syntax, unknown keys, a keyring
//! that is configured but unreachable), the auth files (JSON syntax with line/column, `auth`
//! fields that are not base64 `user:password`, keys that are not registries, secret-holding
//! files readable by others), registries.conf and its drop-ins (TOML syntax, v1/v2 mixes,
//! `credential-helpers`), and every helper named anywhere (missing from PATH, or ocicred itself
//! under another name). Exit 1 when anything is wrong. It never prints a secret.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::auth_file::{AuthFileFormat, AuthJson};
use crate::commands::printable;
use crate::credential::{AuthFieldError, decode_auth};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::ocicred_config::{self, OcicredConfig, StoreKind};
use crate::registries_conf;
use crate::registry_key::RegistryKey;
use crate::route::Target;
use crate::source::auth_files::DocumentError;
use crate::source::env as envsrc;
use crate::source::helper::find_program;
use crate::source::{AUTH_FILES_NAME, SELF_NAME};
use crate::toml_error::{line_col, syntax_error};

/// One problem: where, what, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub file: String,
    pub line: usize,
    /// 0 when unknown.
    pub column: usize,
    pub message: String,
    pub fix: String,
}

/// A helper some file or route names: (name, the file, its line there).
type HelperUse = (String, PathBuf, usize);

/// What the checks found: each problem once, and the files read.
#[derive(Default)]
struct Report {
    problems: Vec<Problem>,
    seen: BTreeSet<(String, usize, String)>,
    checked: Vec<String>,
}

impl Report {
    fn add(&mut self, file: &Path, line: usize, message: String, fix: String) {
        self.add_at(file, line, 0, message, fix)
    }

    fn add_at(&mut self, file: &Path, line: usize, column: usize, message: String, fix: String) {
        let file = file.display().to_string();
        if self.seen.insert((file.clone(), line, message.clone())) {
            self.problems.push(Problem {
                file,
                line,
                column,
                message,
                fix,
            });
        }
    }

    fn add_error(&mut self, file: &Path, e: &Error, fix: &str) {
        match e {
            Error::Parse {
                line,
                column,
                message,
                ..
            } => self.add_at(file, *line, *column, message.clone(), fix.to_string()),
            other => self.add(file, 0, other.to_string(), fix.to_string()),
        }
    }
}

/// Runs every check; `keyring_probe` reaches the configured keyring and names it.
pub fn run(
    env: &Env,
    out: &mut dyn Write,
    keyring_probe: &dyn Fn() -> Result<String>,
) -> Result<i32> {
    let mut r = Report::default();
    let mut notes = Vec::new();
    let own = check_own_config(env, &mut r, keyring_probe, &mut notes);
    let mut helpers: Vec<HelperUse> = Vec::new();
    check_environment(env, own.as_ref(), &mut r, &mut helpers, &mut notes);
    check_auth_files(env, &mut r, &mut helpers);
    check_registries_conf(env, &mut r, &mut helpers);
    check_helpers(env, &mut r, &helpers);
    write_report(out, &notes, &r)
}

/// Prints the notes, then each problem with its place and fix, then the count; the exit code
/// (1 when anything is wrong).
fn write_report(out: &mut dyn Write, notes: &[String], r: &Report) -> Result<i32> {
    let w = |e: std::io::Error| Error::InvalidInput(format!("cannot write output: {e}"));
    // Paths, keys and helper names come from files and the environment: made printable.
    let p_ = |s: &str| printable(s).into_owned();
    for n in notes {
        writeln!(out, "{}", p_(n)).map_err(w)?;
    }
    for p in &r.problems {
        let (file, message) = (p_(&p.file), p_(&p.message));
        if p.line > 0 && p.column > 0 {
            writeln!(out, "{file}:{}:{}: {message}", p.line, p.column).map_err(w)?;
        } else if p.line > 0 {
            writeln!(out, "{file}:{}: {message}", p.line).map_err(w)?;
        } else {
            writeln!(out, "{file}: {message}").map_err(w)?;
        }
        writeln!(out, "    fix: {}", p_(&p.fix)).map_err(w)?;
    }
    let files = r.checked.len();
    match r.problems.len() {
        0 => {
            writeln!(out, "No problems found ({files} files checked).").map_err(w)?;
            Ok(0)
        }
        n => {
            let s = if n == 1 { "" } else { "s" };
            writeln!(out, "{n} problem{s} found ({files} files checked).").map_err(w)?;
            Ok(1)
        }
    }
}

fn read_text(path: &Path, r: &mut Report) -> Option<String> {
    use crate::fsio::{Follow, MAX_FILE_BYTES, ReadError, Trust, read_regular};
    match read_regular(path, Follow::Yes, Trust::Anyone, MAX_FILE_BYTES) {
        Ok(Some(bytes)) => {
            r.checked.push(path.display().to_string());
            match String::from_utf8(bytes) {
                Ok(t) => Some(t),
                Err(e) => {
                    r.add(
                        path,
                        0,
                        format!(
                            "not UTF-8 text (bad byte at offset {})",
                            e.utf8_error().valid_up_to()
                        ),
                        "rewrite the file as UTF-8".into(),
                    );
                    None
                }
            }
        }
        Ok(None) => None,
        Err(e) => {
            let fix = match &e {
                ReadError::NotRegular("a directory") => {
                    "remove or rename the directory: ocicred expects a file here".to_string()
                }
                ReadError::NotRegular(_) => {
                    "replace it with a regular file, or remove it (ocicred reads only regular files)".to_string()
                }
                ReadError::TooBig(_) => "this is not a configuration file; move it away".into(),
                ReadError::Io(io) if io.kind() == std::io::ErrorKind::PermissionDenied => {
                    "fix the file's owner or mode".into()
                }
                ReadError::Io(_) | ReadError::Foreign(_) | ReadError::Writable(_) => {
                    "check the file and its directory".into()
                }
            };
            let message = match &e {
                ReadError::Io(io) => format!("cannot read: {io}"),
                other => other.describe(),
            };
            r.add(path, 0, message, fix);
            None
        }
    }
}

fn check_own_config(
    env: &Env,
    r: &mut Report,
    keyring_probe: &dyn Fn() -> Result<String>,
    notes: &mut Vec<String>,
) -> Option<OcicredConfig> {
    let path = env.ocicred_config_file();
    let mut store = StoreKind::AuthFile;
    let mut own = None;
    if let Some(path) = &path
        && let Some(text) = read_text(path, r)
    {
        match ocicred_config::parse(&text, path) {
            Ok(c) => {
                store = c.store;
                for (key, line) in &c.unknown_keys {
                    r.add(
                        path,
                        *line,
                        format!("unknown key {key:?}"),
                        "remove it; ocicred knows `store`, `dual-write`, `env` and [[route]]".into(),
                    );
                }
                own = Some(c);
            }
            Err(e) => r.add_error(
                path,
                &e,
                "correct it: store = \"auth-file\" | \"keyring\", dual-write = true | false, env = true | false, and [[route]] tables with match plus one of helper, source, username-env + password-env, token-env (see the README)",
            ),
        }
    } else {
        own = Some(OcicredConfig::default());
    }
    let origin = PathBuf::from(match &path {
        Some(p) => p.display().to_string(),
        None => "ocicred config".into(),
    });
    if let Some(v) = &env.ocicred_store {
        match StoreKind::parse(v) {
            Some(k) => store = k,
            None => r.add(
                Path::new("OCICRED_STORE"),
                0,
                format!("{v:?} is not \"auth-file\" or \"keyring\""),
                "set OCICRED_STORE=keyring or OCICRED_STORE=auth-file, or unset it".into(),
            ),
        }
    }
    if store == StoreKind::Keyring {
        match keyring_probe() {
            Ok(vendor) => notes.push(format!("keyring: {vendor}: reachable")),
            Err(e) => r.add(
                &origin,
                0,
                format!("store = \"keyring\" but the keyring cannot answer (unreachable or locked): {}", one_line(&e.to_string())),
                "start and unlock the keyring (on a headless Linux box: gnome-keyring-daemon --unlock in a D-Bus session), or set store = \"auth-file\"".into(),
            ),
        }
    }
    own
}

/// The credential variables (README.md#credentials-from-the-environment-ci) and the routes
/// (README.md#routes-wildcard-and-per-registry-sources): half pairs, a `DOCKER_AUTH_CONFIG` that
/// does not parse, a route's half-set variables; the helpers routes name go to `check_helpers`.
/// Names only, never a value.
fn check_environment(
    env: &Env,
    own: Option<&OcicredConfig>,
    r: &mut Report,
    helpers: &mut Vec<HelperUse>,
    notes: &mut Vec<String>,
) {
    let enabled = own.is_none_or(|c| c.env);
    let routes = own.map(|c| c.routes.as_slice()).unwrap_or_default();
    for (stem, user, pass) in envsrc::pairs(&env.vars) {
        if user == pass || !enabled {
            continue;
        }
        let (u, p) = envsrc::pair_names(&stem);
        let (set, unset) = if user { (u, p) } else { (p, u) };
        r.add(
            Path::new("environment"),
            0,
            format!("{set} is set but {unset} is not (or is empty): a half pair is not used"),
            format!("set {unset} too, or unset {set}"),
        );
    }
    if enabled
        && let Some(text) = env.vars.get(envsrc::DOCKER_AUTH_CONFIG)
        && let Err(e) = AuthJson::parse(text.expose().as_bytes(), AuthFileFormat::Auths)
    {
        let e = envsrc::auth_config_error(DocumentError::Json(e));
        r.add_error(
            Path::new("$DOCKER_AUTH_CONFIG"),
            &e,
            "set DOCKER_AUTH_CONFIG to the content of a docker config.json, or unset it",
        );
    }
    for route in routes {
        match &route.target {
            Target::Helper(h) => helpers.push((h.clone(), route.file.clone(), route.line)),
            Target::Vars { username, password } => {
                let (u, p) = (env.vars.has(username), env.vars.has(password));
                if u != p {
                    let (set, unset) = if u {
                        (username, password)
                    } else {
                        (password, username)
                    };
                    r.add(
                        &route.file,
                        route.line,
                        format!("route {:?}: ${set} is set but ${unset} is not (or is empty): it is not used", route.text),
                        format!("set {unset} too, or unset {set}"),
                    );
                }
            }
            _ => {}
        }
    }
    let extra: Vec<&str> = routes.iter().flat_map(|r| r.target.env_vars()).collect();
    let names = envsrc::set_names(&env.vars, &extra);
    match (enabled, names.is_empty()) {
        (false, _) => notes.push("environment: not read (env = false)".into()),
        (true, true) => {}
        (true, false) => notes.push(format!(
            "environment: credential variables set: {}",
            names.join(", ")
        )),
    }
    for route in routes {
        notes.push(format!(
            "{}: {} -> {}",
            route.name(),
            route.text,
            route.target.describe()
        ));
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The 1-based line of the first occurrence of `needle` in `text` (0 if absent).
fn line_of(text: &str, needle: &str) -> usize {
    text.find(needle).map_or(0, |i| line_col(text, i).0)
}

fn check_auth_files(env: &Env, r: &mut Report, helpers: &mut Vec<HelperUse>) {
    let mut seen = BTreeSet::new();
    for file in env.auth_files() {
        if !seen.insert(file.path.clone()) {
            continue;
        }
        let path = &file.path;
        let Some(text) = read_text(path, r) else {
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        if check_auth_text(path, &text, file.format, r, helpers)
            && let Ok(meta) = fs::metadata(path)
            && let Some(mode) = crate::fsio::permission_bits(&meta)
            && mode & 0o077 != 0
        {
            r.add(
                path,
                0,
                format!(
                    "holds credentials but is readable by others (mode {:o})",
                    mode & 0o777
                ),
                format!("chmod 600 {}", path.display()),
            );
        }
    }
}

/// The checks of one auth file's text (`format` says which kind of file it is); the helpers it
/// names go to `helpers`. True when it holds secrets (its mode then matters).
fn check_auth_text(
    path: &Path,
    text: &str,
    format: AuthFileFormat,
    r: &mut Report,
    helpers: &mut Vec<HelperUse>,
) -> bool {
    let root: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            r.add_error(
                path,
                &Error::json(path, &e),
                "correct the JSON (a file that does not parse is never rewritten by ocicred)",
            );
            return false;
        }
    };
    let Some(root) = root.as_object() else {
        r.add(
            path,
            1,
            "the top level is not a JSON object".into(),
            "make it {\"auths\": {}}".into(),
        );
        return false;
    };
    if format == AuthFileFormat::Auths
        && let Some((name, kind)) = crate::auth_file::bad_map_field(root)
    {
        r.add(
            path,
            line_of(text, &format!("\"{name}\"")),
            crate::auth_file::bad_map_field_message(name, kind),
            format!("make {name} a JSON object ({{\"registry\": {{…}}}}); until then ocicred, docker and podman refuse this file, and ocicred never rewrites it"),
        );
        return false;
    }
    let field = |name: &str| {
        root.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let auths = match format {
        AuthFileFormat::Legacy => Some(root),
        AuthFileFormat::Auths => field("auths").and_then(Value::as_object),
    };
    let mut holds_secrets = false;
    for (key, entry) in auths.into_iter().flatten() {
        let line = line_of(text, &format!("\"{key}\""));
        if RegistryKey::parse(key).is_err() {
            r.add(
                path,
                line,
                format!("key {key:?} is not a registry"),
                "rename or remove the entry".into(),
            );
        }
        let Some(entry) = entry.as_object() else {
            continue;
        };
        for (name, value) in entry {
            let lname = name.to_ascii_lowercase();
            if ["auth", "identitytoken", "password", "registrytoken"].contains(&lname.as_str())
                && value.as_str().is_some_and(|s| !s.is_empty())
            {
                holds_secrets = true;
            }
            if lname != "auth" {
                continue;
            }
            let Some(v) = value.as_str().filter(|s| !s.is_empty()) else {
                continue;
            };
            match decode_auth(v) {
                Err(AuthFieldError::Base64) => r.add(
                    path,
                    line,
                    format!("entry {key:?}: `auth` is not valid base64"),
                    format!(
                        "log in again (ocicred login {key}) or set auth to base64 of user:password"
                    ),
                ),
                Err(AuthFieldError::Shape) => r.add(
                    path,
                    line,
                    format!("entry {key:?}: `auth` does not decode to user:password"),
                    format!("log in again (ocicred login {key})"),
                ),
                Ok(_) => {}
            }
        }
    }
    if format == AuthFileFormat::Auths {
        if let Some(store) = field("credsStore")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            helpers.push((
                store.to_string(),
                path.to_path_buf(),
                line_of(text, "credsStore"),
            ));
        }
        if let Some(map) = field("credHelpers").and_then(Value::as_object) {
            for (host, helper) in map {
                if let Some(h) = helper.as_str().filter(|s| !s.is_empty()) {
                    helpers.push((
                        h.to_string(),
                        path.to_path_buf(),
                        line_of(text, &format!("\"{host}\"")),
                    ));
                }
            }
        }
    }
    holds_secrets
}

/// The registries.conf files ocicred reads: the main file, then the drop-ins (the same plan
/// `registries_conf::load` follows).
fn registries_files(env: &Env) -> Vec<PathBuf> {
    let user_exists = env.user_registries_conf().is_some_and(|u| u.exists());
    let plan = registries_conf::plan(env, user_exists);
    let mut out: Vec<PathBuf> = plan.main.into_iter().collect();
    for dir in plan.dirs {
        let Ok(rd) = fs::read_dir(&dir) else { continue };
        let mut names: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "conf") && !p.is_dir())
            .collect();
        names.sort();
        out.extend(names);
    }
    out
}

fn check_registries_conf(env: &Env, r: &mut Report, helpers: &mut Vec<HelperUse>) {
    let before = r.problems.len();
    check_registries_files(env, r, helpers);
    if r.problems.len() == before
        && let Err(e) = registries_conf::load(env)
    {
        // What the syntax checks above cannot see (a bad prefix, a bad value): the loader's
        // own error, with its file.
        let file = match &e {
            Error::Parse { path, .. } | Error::Config { path, .. } | Error::Io { path, .. } => {
                path.clone()
            }
            _ => PathBuf::from("registries.conf"),
        };
        let fix = "correct it (see containers-registries.conf(5))";
        match &e {
            Error::Parse { .. } => r.add_error(&file, &e, fix),
            Error::Config { message, .. } => r.add(&file, 0, message.clone(), fix.into()),
            other => r.add(&file, 0, one_line(&other.to_string()), fix.into()),
        }
    }
}

fn check_registries_files(env: &Env, r: &mut Report, helpers: &mut Vec<HelperUse>) {
    for path in registries_files(env) {
        if let Some(text) = read_text(&path, r) {
            check_registries_text(&path, &text, r, helpers);
        }
    }
}

/// The checks of one registries.conf (or drop-in) text; the helpers it names go to `helpers`.
fn check_registries_text(path: &Path, text: &str, r: &mut Report, helpers: &mut Vec<HelperUse>) {
    let table: toml::Table = match toml::from_str(text) {
        Ok(t) => t,
        Err(e) => {
            r.add_error(
                path,
                &syntax_error(path, text, &e),
                "correct the TOML (see containers-registries.conf(5))",
            );
            return;
        }
    };
    let key = |name: &str| {
        table
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let v1 = key("registries").is_some();
    let v2 = [
        "registry",
        "unqualified-search-registries",
        "credential-helpers",
        "short-name-mode",
        "aliases",
    ]
    .iter()
    .find(|k| key(k).is_some());
    if let (true, Some(v2key)) = (v1, v2) {
        r.add(
            path,
            line_of(text, "[registries"),
            format!("mixes the v1 format ([registries.*]) with the v2 format ({v2key})"),
            "move the [registries.search]/[registries.insecure]/[registries.block] lists into v2 unqualified-search-registries and [[registry]] tables, then delete the [registries.*] tables".into(),
        );
    }
    if let Some(list) = key("credential-helpers") {
        match list.as_array() {
            Some(items) => {
                for item in items {
                    match item.as_str() {
                        Some(AUTH_FILES_NAME) => {}
                        Some(h) => helpers.push((
                            h.to_string(),
                            path.to_path_buf(),
                            line_of(text, &format!("\"{h}\"")),
                        )),
                        None => r.add(
                            path,
                            line_of(text, "credential-helpers"),
                            "credential-helpers holds a non-string".into(),
                            "list helper names as strings".into(),
                        ),
                    }
                }
            }
            None => r.add(
                path,
                line_of(text, "credential-helpers"),
                "credential-helpers is not a list".into(),
                "write credential-helpers = [\"containers-auth.json\", …]".into(),
            ),
        }
    }
}

fn check_helpers(env: &Env, r: &mut Report, helpers: &[HelperUse]) {
    for (name, file, line) in helpers {
        if name == SELF_NAME {
            continue; // ocicred itself: skipped by design when ocicred reads this file.
        }
        let program = format!("docker-credential-{name}");
        match find_program(env.path.as_ref(), &program) {
            None => r.add(
                file,
                *line,
                format!("helper {program} is not on PATH"),
                format!("install {program}, or remove {name:?} from this file"),
            ),
            Some(found) => {
                let me = env.self_exe.as_ref().and_then(|p| fs::canonicalize(p).ok());
                if me.is_some() && fs::canonicalize(&found).ok() == me {
                    r.add(
                        file,
                        *line,
                        format!("helper {program} ({}) is ocicred itself: it loops back, so ocicred skips it", found.display()),
                        format!("remove {name:?} here, or name it \"ocicred\""),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The checks on values: texts, variables and configs in, problems, notes and helpers out.
    //! What reads the disk (`read_text`, the file modes, `find_program`) is exercised by the
    //! black-box tests in tests/it/commands.rs.

    use super::*;
    use crate::env::EnvVars;

    fn problems(r: &Report) -> Vec<(String, usize, usize, String)> {
        r.problems
            .iter()
            .map(|p| (p.file.clone(), p.line, p.column, p.message.clone()))
            .collect()
    }

    fn auth_text(text: &str, format: AuthFileFormat) -> (Report, Vec<HelperUse>, bool) {
        let (mut r, mut helpers) = (Report::default(), Vec::new());
        let secrets = check_auth_text(Path::new("/a.json"), text, format, &mut r, &mut helpers);
        (r, helpers, secrets)
    }

    fn registries_text(text: &str) -> (Report, Vec<HelperUse>) {
        let (mut r, mut helpers) = (Report::default(), Vec::new());
        check_registries_text(Path::new("/r.conf"), text, &mut r, &mut helpers);
        (r, helpers)
    }

    fn environment(
        vars: &[(&str, &str)],
        config: Option<&str>,
    ) -> (Report, Vec<HelperUse>, Vec<String>) {
        let env = Env {
            vars: EnvVars::from_pairs(vars.iter().copied()),
            ..Env::default()
        };
        let own = config.map(|t| ocicred_config::parse(t, Path::new("/c.toml")).unwrap());
        let (mut r, mut helpers, mut notes) = (Report::default(), Vec::new(), Vec::new());
        check_environment(&env, own.as_ref(), &mut r, &mut helpers, &mut notes);
        (r, helpers, notes)
    }

    fn report(notes: &[&str], problems: &[Problem], checked: usize) -> (i32, String) {
        let r = Report {
            problems: problems.to_vec(),
            seen: BTreeSet::new(),
            checked: vec!["f".to_string(); checked],
        };
        let notes: Vec<String> = notes.iter().map(|n| n.to_string()).collect();
        let mut out = Vec::new();
        let code = write_report(&mut out, &notes, &r).unwrap();
        (code, String::from_utf8(out).unwrap())
    }

    fn problem(line: usize, column: usize, message: &str) -> Problem {
        Problem {
            file: "/f".into(),
            line,
            column,
            message: message.into(),
            fix: "do it".into(),
        }
    }

    #[test]
    fn a_problem_is_reported_once_per_file_line_and_message() {
        let mut r = Report::default();
        let f = Path::new("/f");
        r.add(f, 2, "m".into(), "fix 1".into());
        r.add_at(f, 2, 7, "m".into(), "fix 2".into());
        r.add(f, 3, "m".into(), "fix".into());
        r.add(f, 2, "other".into(), "fix".into());
        r.add(Path::new("/g"), 2, "m".into(), "fix".into());
        assert_eq!(
            problems(&r),
            [
                ("/f".into(), 2, 0, "m".into()),
                ("/f".into(), 3, 0, "m".into()),
                ("/f".into(), 2, 0, "other".into()),
                ("/g".into(), 2, 0, "m".into()),
            ]
        );
        assert_eq!(r.problems[0].fix, "fix 1", "the first fix stands");
    }

    #[test]
    fn a_parse_error_keeps_its_line_and_column_and_others_their_text() {
        let mut r = Report::default();
        let parse = Error::Parse {
            path: "/f".into(),
            line: 4,
            column: 9,
            message: "bad".into(),
        };
        r.add_error(Path::new("/f"), &parse, "fix it");
        r.add_error(
            Path::new("/g"),
            &Error::InvalidInput("odd".into()),
            "fix that",
        );
        assert_eq!(
            problems(&r),
            [
                ("/f".into(), 4, 9, "bad".into()),
                (
                    "/g".into(),
                    0,
                    0,
                    Error::InvalidInput("odd".into()).to_string()
                ),
            ]
        );
        assert_eq!(r.problems[1].fix, "fix that");
    }

    #[test]
    fn no_problems_exits_0_after_the_notes() {
        let (code, out) = report(&["keyring: x: reachable"], &[], 3);
        assert_eq!(code, 0);
        assert_eq!(
            out,
            "keyring: x: reachable\nNo problems found (3 files checked).\n"
        );
    }

    #[test]
    fn each_problem_shows_its_place_as_known_then_its_fix_and_the_count() {
        let (code, out) = report(
            &[],
            &[
                problem(3, 5, "line and column"),
                problem(3, 0, "line only"),
                problem(0, 0, "file only"),
            ],
            1,
        );
        assert_eq!(code, 1);
        assert_eq!(
            out,
            "/f:3:5: line and column\n    fix: do it\n\
             /f:3: line only\n    fix: do it\n\
             /f: file only\n    fix: do it\n\
             3 problems found (1 files checked).\n"
        );
        let (code, out) = report(&[], &[problem(0, 0, "one")], 0);
        assert_eq!(code, 1);
        assert!(
            out.ends_with("\n1 problem found (0 files checked).\n"),
            "{out}"
        );
    }

    #[test]
    fn what_files_and_the_environment_hold_is_printed_escaped() {
        let mut p = problem(1, 0, "key \u{1b}[31m");
        p.file = "/f\nx".into();
        p.fix = "fix\r".into();
        let (_, out) = report(&["note\t\u{202e}"], &[p], 1);
        assert_eq!(
            out,
            "note\\t\\u{202e}\n/f\\nx:1: key \\x1b[31m\n    fix: fix\\r\n1 problem found (1 files checked).\n"
        );
    }

    #[test]
    fn a_good_auth_file_holds_secrets_and_names_its_helpers() {
        let text = "{\n  \"auths\": {\n    \"r.example\": {\"auth\": \"dTpw\"}\n  },\n  \"credsStore\": \"desktop\",\n  \"credHelpers\": {\n    \"gcr.io\": \"gcloud\",\n    \"x.io\": \"\"\n  }\n}\n";
        let (r, helpers, secrets) = auth_text(text, AuthFileFormat::Auths);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert!(secrets);
        assert_eq!(
            helpers,
            [
                ("desktop".into(), PathBuf::from("/a.json"), 5),
                ("gcloud".into(), PathBuf::from("/a.json"), 7),
            ]
        );
    }

    #[test]
    fn an_auth_file_without_secrets_does_not_care_for_its_mode() {
        for text in [
            r#"{"auths": {"r.example": {}}}"#,
            r#"{"auths": {"r.example": {"auth": "", "email": "e"}}}"#,
            r#"{"credsStore": "desktop"}"#,
        ] {
            let (r, _, secrets) = auth_text(text, AuthFileFormat::Auths);
            assert!(!secrets, "{text}");
            assert!(r.problems.is_empty(), "{text}: {:?}", r.problems);
        }
        for field in ["identitytoken", "Password", "registrytoken"] {
            let text = format!(r#"{{"auths": {{"r.example": {{"{field}": "x"}}}}}}"#);
            assert!(auth_text(&text, AuthFileFormat::Auths).2, "{text}");
        }
    }

    #[test]
    fn bad_auth_entries_are_named_with_their_line() {
        let text = "{\"auths\": {\n\"not a registry!\": {},\n\"b.example\": {\"auth\": \"***\"},\n\"c.example\": {\"auth\": \"bm9jb2xvbg==\"}\n}}";
        let (r, _, _) = auth_text(text, AuthFileFormat::Auths);
        assert_eq!(
            problems(&r),
            [
                (
                    "/a.json".into(),
                    2,
                    0,
                    r#"key "not a registry!" is not a registry"#.into()
                ),
                (
                    "/a.json".into(),
                    3,
                    0,
                    r#"entry "b.example": `auth` is not valid base64"#.into()
                ),
                (
                    "/a.json".into(),
                    4,
                    0,
                    r#"entry "c.example": `auth` does not decode to user:password"#.into()
                ),
            ]
        );
        assert!(r.problems[1].fix.contains("ocicred login b.example"));
    }

    #[test]
    fn an_auth_file_that_is_not_an_object_of_maps_stops_the_checks() {
        let (r, helpers, secrets) = auth_text("{\n  \"auths\": x\n}", AuthFileFormat::Auths);
        assert!(!secrets && helpers.is_empty());
        assert_eq!(r.problems.len(), 1);
        assert_eq!((r.problems[0].line, r.problems[0].column), (2, 12));
        assert!(
            r.problems[0].message.starts_with("invalid JSON"),
            "{:?}",
            r.problems
        );

        let (r, _, _) = auth_text("[1]", AuthFileFormat::Auths);
        assert_eq!(
            problems(&r),
            [(
                "/a.json".into(),
                1,
                0,
                "the top level is not a JSON object".into()
            )]
        );

        let text = "{\n\"credsStore\": \"desktop\",\n\"auths\": [{\"auth\": \"dTpw\"}]}";
        let (r, helpers, secrets) = auth_text(text, AuthFileFormat::Auths);
        assert!(!secrets && helpers.is_empty(), "{helpers:?}");
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
        assert_eq!(r.problems[0].line, 3);
        assert!(r.problems[0].fix.starts_with("make auths a JSON object"));
    }

    #[test]
    fn a_legacy_file_is_a_map_of_entries_and_names_no_helpers() {
        let text = "{\n\"r.example\": {\"auth\": \"dTpw\"},\n\"credsStore\": \"desktop\",\n\"bad key!\": {}\n}";
        let (r, helpers, secrets) = auth_text(text, AuthFileFormat::Legacy);
        assert!(secrets && helpers.is_empty());
        assert_eq!(
            problems(&r),
            [(
                "/a.json".into(),
                4,
                0,
                r#"key "bad key!" is not a registry"#.into()
            )]
        );
    }

    #[test]
    fn registries_conf_names_its_helpers_but_not_the_auth_files() {
        let (r, helpers) = registries_text(
            "unqualified-search-registries = [\"docker.io\"]\ncredential-helpers = [\n  \"containers-auth.json\",\n  \"pass\",\n]\n",
        );
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(helpers, [("pass".into(), PathBuf::from("/r.conf"), 4)]);
    }

    #[test]
    fn registries_conf_problems_have_their_line() {
        let (r, _) = registries_text("a = [\n");
        assert_eq!(r.problems.len(), 1);
        assert_eq!(r.problems[0].line, 1);
        assert_eq!(
            r.problems[0].fix,
            "correct the TOML (see containers-registries.conf(5))"
        );

        let (r, _) = registries_text(
            "unqualified-search-registries = [\"a.io\"]\n\n[registries.search]\nregistries = []\n",
        );
        assert_eq!(
            problems(&r),
            [(
                "/r.conf".into(),
                3,
                0,
                "mixes the v1 format ([registries.*]) with the v2 format (unqualified-search-registries)".into()
            )]
        );

        let (r, helpers) = registries_text("\ncredential-helpers = [\"a\", 1]\n");
        assert_eq!(helpers.len(), 1);
        assert_eq!(
            problems(&r),
            [(
                "/r.conf".into(),
                2,
                0,
                "credential-helpers holds a non-string".into()
            )]
        );
        let (r, _) = registries_text("credential-helpers = \"a\"\n");
        assert_eq!(
            problems(&r),
            [(
                "/r.conf".into(),
                1,
                0,
                "credential-helpers is not a list".into()
            )]
        );
    }

    #[test]
    fn half_pairs_in_the_environment_are_named_never_their_values() {
        let (r, _, notes) = environment(
            &[
                ("DOCKER_a_io_USR", "alice-value"),
                ("DOCKER_b_io_PSW", "pw-value"),
                ("DOCKER_c_io_USR", "carol"),
                ("DOCKER_c_io_PSW", "pw"),
            ],
            None,
        );
        let messages: Vec<&str> = r.problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "DOCKER_a_io_USR is set but DOCKER_a_io_PSW is not (or is empty): a half pair is not used",
                "DOCKER_b_io_PSW is set but DOCKER_b_io_USR is not (or is empty): a half pair is not used",
            ]
        );
        assert!(r.problems.iter().all(|p| p.file == "environment"));
        assert_eq!(
            notes,
            [
                "environment: credential variables set: DOCKER_a_io_USR, DOCKER_b_io_PSW, DOCKER_c_io_PSW, DOCKER_c_io_USR"
            ]
        );
        let shown = format!("{:?}{notes:?}", r.problems);
        assert!(
            !shown.contains("value") && !shown.contains("carol"),
            "{shown}"
        );
    }

    #[test]
    fn env_false_reads_no_variables_and_says_so() {
        let (r, _, notes) = environment(
            &[("DOCKER_a_io_USR", "a"), ("DOCKER_AUTH_CONFIG", "{")],
            Some("env = false\n"),
        );
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(notes, ["environment: not read (env = false)"]);
        let (r, _, notes) = environment(&[], None);
        assert!(r.problems.is_empty() && notes.is_empty());
    }

    #[test]
    fn a_docker_auth_config_that_does_not_parse_is_a_problem() {
        let (r, _, _) = environment(
            &[("DOCKER_AUTH_CONFIG", "{\n\"auths\": {\"secret-ish\"")],
            None,
        );
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
        let p = &r.problems[0];
        assert_eq!((p.file.as_str(), p.line), ("$DOCKER_AUTH_CONFIG", 2));
        assert!(p.fix.starts_with("set DOCKER_AUTH_CONFIG to"), "{p:?}");
        let (r, _, _) = environment(&[("DOCKER_AUTH_CONFIG", r#"{"auths": {}}"#)], None);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
    }

    #[test]
    fn routes_name_their_helpers_and_their_half_set_variables() {
        let config = "[[route]]\nmatch = \"a.io\"\nhelper = \"gcloud\"\n\n[[route]]\nmatch = \"b.io\"\nusername-env = \"B_USER\"\npassword-env = \"B_PASS\"\n\n[[route]]\nmatch = \"c.io\"\nusername-env = \"C_USER\"\npassword-env = \"C_PASS\"\n";
        let (r, helpers, notes) = environment(
            &[("B_USER", "bob"), ("C_USER", "carol"), ("C_PASS", "pw")],
            Some(config),
        );
        assert_eq!(helpers, [("gcloud".into(), PathBuf::from("/c.toml"), 1)]);
        assert_eq!(
            problems(&r),
            [(
                "/c.toml".into(),
                5,
                0,
                "route \"b.io\": $B_USER is set but $B_PASS is not (or is empty): it is not used"
                    .into()
            )]
        );
        assert_eq!(
            notes,
            [
                "environment: credential variables set: B_USER, C_USER, C_PASS",
                "route \"a.io\" (/c.toml:1): a.io -> helper docker-credential-gcloud",
                "route \"b.io\" (/c.toml:5): b.io -> $B_USER/$B_PASS",
                "route \"c.io\" (/c.toml:10): c.io -> $C_USER/$C_PASS",
            ]
        );
    }

    #[test]
    fn helpers_missing_from_path_are_problems_and_ocicred_itself_is_skipped() {
        let env = Env::default(); // no PATH: nothing can be found
        let mut r = Report::default();
        let helpers = [
            (SELF_NAME.to_string(), PathBuf::from("/a.json"), 2),
            ("gcloud".to_string(), PathBuf::from("/a.json"), 3),
        ];
        check_helpers(&env, &mut r, &helpers);
        assert_eq!(
            problems(&r),
            [(
                "/a.json".into(),
                3,
                0,
                "helper docker-credential-gcloud is not on PATH".into()
            )]
        );
        assert_eq!(
            r.problems[0].fix,
            "install docker-credential-gcloud, or remove \"gcloud\" from this file"
        );
    }

    #[test]
    fn line_of_counts_from_1_and_one_line_folds_white_space() {
        assert_eq!(line_of("a\nb\nc", "c"), 3);
        assert_eq!(line_of("a\nb", "a"), 1);
        assert_eq!(line_of("a", "z"), 0);
        assert_eq!(one_line(" a\n  b\tc \n"), "a b c");
    }
}
