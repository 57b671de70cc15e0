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

use crate::auth_json::AuthJson;
use crate::commands::printable;
use crate::credential::{AuthFieldError, decode_auth};
use crate::env::{AuthFileFormat, Env};
use crate::error::{Error, Result};
use crate::ocicred_config::{self, OcicredConfig, StoreKind, line_col, toml_error};
use crate::registries_conf;
use crate::registry_key::RegistryKey;
use crate::route::Target;
use crate::source::auth_file::DocumentError;
use crate::source::env as envsrc;
use crate::source::helper::find_program;
use crate::source::{AUTH_FILES_NAME, SELF_NAME};

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
    let mut r = Report {
        problems: Vec::new(),
        seen: BTreeSet::new(),
        checked: Vec::new(),
    };
    let w = |e: std::io::Error| Error::InvalidInput(format!("cannot write output: {e}"));
    let mut notes = Vec::new();
    let own = check_own_config(env, &mut r, keyring_probe, &mut notes);
    let mut helpers: Vec<(String, PathBuf, usize)> = Vec::new();
    check_environment(env, own.as_ref(), &mut r, &mut helpers, &mut notes);
    check_auth_files(env, &mut r, &mut helpers);
    check_registries_conf(env, &mut r, &mut helpers);
    check_helpers(env, &mut r, &helpers);

    // Paths, keys and helper names come from files and the environment: made printable.
    let p_ = |s: &str| printable(s).into_owned();
    for n in &notes {
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
    helpers: &mut Vec<(String, PathBuf, usize)>,
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

fn check_auth_files(env: &Env, r: &mut Report, helpers: &mut Vec<(String, PathBuf, usize)>) {
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
        let root: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                r.add_error(
                    path,
                    &Error::json(path, &e),
                    "correct the JSON (a file that does not parse is never rewritten by ocicred)",
                );
                continue;
            }
        };
        let Some(root) = root.as_object() else {
            r.add(
                path,
                1,
                "the top level is not a JSON object".into(),
                "make it {\"auths\": {}}".into(),
            );
            continue;
        };
        if file.format == AuthFileFormat::Auths
            && let Some((name, kind)) = crate::auth_json::bad_map_field(root)
        {
            r.add(
                path,
                line_of(&text, &format!("\"{name}\"")),
                crate::auth_json::bad_map_field_message(name, kind),
                format!("make {name} a JSON object ({{\"registry\": {{…}}}}); until then ocicred, docker and podman refuse this file, and ocicred never rewrites it"),
            );
            continue;
        }
        let field = |name: &str| {
            root.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        let auths = match file.format {
            AuthFileFormat::Legacy => Some(root),
            AuthFileFormat::Auths => field("auths").and_then(Value::as_object),
        };
        let mut holds_secrets = false;
        for (key, entry) in auths.into_iter().flatten() {
            let line = line_of(&text, &format!("\"{key}\""));
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
                        format!("log in again (ocicred login {key}) or set auth to base64 of user:password"),
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
        if holds_secrets
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
        if file.format == AuthFileFormat::Auths {
            if let Some(store) = field("credsStore")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                helpers.push((
                    store.to_string(),
                    path.clone(),
                    line_of(&text, "credsStore"),
                ));
            }
            if let Some(map) = field("credHelpers").and_then(Value::as_object) {
                for (host, helper) in map {
                    if let Some(h) = helper.as_str().filter(|s| !s.is_empty()) {
                        helpers.push((
                            h.to_string(),
                            path.clone(),
                            line_of(&text, &format!("\"{host}\"")),
                        ));
                    }
                }
            }
        }
    }
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

fn check_registries_conf(env: &Env, r: &mut Report, helpers: &mut Vec<(String, PathBuf, usize)>) {
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

fn check_registries_files(env: &Env, r: &mut Report, helpers: &mut Vec<(String, PathBuf, usize)>) {
    for path in registries_files(env) {
        let Some(text) = read_text(&path, r) else {
            continue;
        };
        let table: toml::Table = match toml::from_str(&text) {
            Ok(t) => t,
            Err(e) => {
                r.add_error(
                    &path,
                    &toml_error(&path, &text, &e),
                    "correct the TOML (see containers-registries.conf(5))",
                );
                continue;
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
                &path,
                line_of(&text, "[registries"),
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
                                path.clone(),
                                line_of(&text, &format!("\"{h}\"")),
                            )),
                            None => r.add(
                                &path,
                                line_of(&text, "credential-helpers"),
                                "credential-helpers holds a non-string".into(),
                                "list helper names as strings".into(),
                            ),
                        }
                    }
                }
                None => r.add(
                    &path,
                    line_of(&text, "credential-helpers"),
                    "credential-helpers is not a list".into(),
                    "write credential-helpers = [\"containers-auth.json\", …]".into(),
                ),
            }
        }
    }
}

fn check_helpers(env: &Env, r: &mut Report, helpers: &[(String, PathBuf, usize)]) {
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
