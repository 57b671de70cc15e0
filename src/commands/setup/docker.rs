//! `ocicred setup docker`: `"credsStore": "ocicred"` (or `credHelpers` entries for the given
//! hosts only) in docker's `config.json`, every other field kept; `--migrate` moves plain-text
//! `auths` credentials into ocicred's store; `--undo` puts back what setup replaced, from the
//! record in [`super::state`].

use std::path::{Path, PathBuf};

use super::state::{self, Record, State};
use super::{Mode, Report, Target};
use crate::auth_file::{self, AuthFileFormat, AuthJson};
use crate::credential::Credential;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::registry_key::RegistryKey;
use crate::source::Source;

/// The helper name docker runs as `docker-credential-ocicred`.
pub const HELPER: &str = "ocicred";

/// `setup docker` arguments.
#[derive(Clone, Debug, Default)]
pub struct Args {
    /// `--registry HOST`: `credHelpers` entries for these hosts instead of `credsStore`.
    pub registries: Vec<String>,
    /// `--migrate`: move plain-text credentials into ocicred's store.
    pub migrate: bool,
    pub mode: Mode,
}

/// ocicred's own store, where `--migrate` puts credentials.
pub struct OwnStore {
    /// The store as a source: `store` then `get` reads each credential back.
    pub source: Box<dyn Source>,
    /// How it is named to people (`the keyring`, a file path).
    pub name: String,
    /// The auth file it writes, for the auth-file store.
    pub auth_file: Option<PathBuf>,
    /// `dual-write = true`: every stored credential is copied back into docker's file.
    pub dual_write: bool,
}

fn show(v: Option<&str>) -> String {
    v.map_or_else(|| "(none)".to_string(), |s| format!("{s:?}"))
}

/// The registry hosts named by `--registry` (a namespace is refused: `credHelpers` is per host).
pub fn parse_hosts(registries: &[String]) -> Result<Vec<RegistryKey>> {
    let mut out: Vec<RegistryKey> = Vec::new();
    for r in registries {
        let key = RegistryKey::parse(r)
            .map_err(|e| Error::InvalidInput(format!("--registry {r:?}: {e}")))?;
        if key.is_namespaced() {
            return Err(Error::InvalidInput(format!(
                "--registry {r:?}: docker's credHelpers are per registry host; give the host alone ({})",
                key.host()
            )));
        }
        if !out.contains(&key) {
            out.push(key);
        }
    }
    Ok(out)
}

/// Points docker at ocicred: `credsStore` when `hosts` is empty, else a `credHelpers` entry
/// per host (an existing entry for the host, however spelled, is the one changed). What was
/// there before goes into `rec`. Returns the changes, one line each.
pub fn apply_setup(json: &mut AuthJson, rec: &mut Record, hosts: &[RegistryKey]) -> Vec<String> {
    let mut changes = Vec::new();
    if hosts.is_empty() {
        let current = json.creds_store().map(str::to_string);
        if current.as_deref() != Some(HELPER) {
            changes.push(format!(
                "credsStore: {} -> {HELPER:?}",
                show(current.as_deref())
            ));
            rec.creds_store = Some(current);
            json.set_creds_store(Some(HELPER));
        }
    }
    for key in hosts {
        let name = json
            .helper_key_for(key)
            .unwrap_or_else(|| key.helper_server());
        let current = json.helper_for(key).map(str::to_string);
        if current.as_deref() != Some(HELPER) {
            changes.push(format!(
                "credHelpers[{name:?}]: {} -> {HELPER:?}",
                show(current.as_deref())
            ));
            rec.set_helper(&name, current);
            json.set_cred_helper(&name, Some(HELPER));
        }
    }
    changes
}

/// Puts back what setup replaced: `credsStore` and every `credHelpers` entry naming ocicred
/// when `hosts` is empty, else only those hosts' entries. A value that names ocicred gets its
/// recorded previous value back (or is removed when none was recorded); a value someone has
/// changed since is left alone (a note says so). Returns (changes, notes).
pub fn apply_undo(
    json: &mut AuthJson,
    rec: &mut Record,
    hosts: &[RegistryKey],
) -> (Vec<String>, Vec<String>) {
    let (mut changes, mut notes) = (Vec::new(), Vec::new());
    if hosts.is_empty() {
        let current = json.creds_store().map(str::to_string);
        let previous = rec.creds_store.take();
        if current.as_deref() == Some(HELPER) {
            let previous = previous.flatten();
            changes.push(format!(
                "credsStore: {HELPER:?} -> {}",
                show(previous.as_deref())
            ));
            json.set_creds_store(previous.as_deref());
        } else if previous.is_some() {
            notes.push(format!(
                "credsStore is {} now, not {HELPER:?}: left as it is",
                show(current.as_deref())
            ));
        }
    }
    let names: Vec<String> = if hosts.is_empty() {
        let mut names: Vec<String> = json
            .cred_helpers()
            .into_iter()
            .filter(|(_, h)| *h == HELPER)
            .map(|(k, _)| k.to_string())
            .collect();
        for (k, _) in &rec.cred_helpers {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
        names
    } else {
        hosts
            .iter()
            .map(|key| {
                json.helper_key_for(key)
                    .unwrap_or_else(|| key.helper_server())
            })
            .collect()
    };
    for name in names {
        let current = json
            .cred_helpers()
            .into_iter()
            .find(|(k, _)| *k == name)
            .map(|(_, h)| h.to_string());
        let previous = rec.helper(&name).cloned();
        rec.forget_helper(&name);
        if current.as_deref() == Some(HELPER) {
            let previous = previous.flatten();
            changes.push(format!(
                "credHelpers[{name:?}]: {HELPER:?} -> {}",
                show(previous.as_deref())
            ));
            json.set_cred_helper(&name, previous.as_deref());
        } else if previous.is_some() {
            notes.push(format!(
                "credHelpers[{name:?}] is {} now, not {HELPER:?}: left as it is",
                show(current.as_deref())
            ));
        }
    }
    (changes, notes)
}

/// A plain-text credential `--migrate` moves: the key as written in `auths`, the key it
/// normalises to, and the credential.
pub struct Migration {
    pub written: String,
    pub key: RegistryKey,
    pub credential: Credential,
}

/// The plain-text `auths` entries to migrate (only the given hosts' when `hosts` is not
/// empty), and a note for each entry left in place because it cannot be read.
pub fn migrations(json: &AuthJson, hosts: &[RegistryKey]) -> (Vec<Migration>, Vec<String>) {
    let (mut moves, mut notes) = (Vec::new(), Vec::new());
    for (written, credential) in json.plain_text_entries() {
        let key = match RegistryKey::parse(&written) {
            Ok(k) => k,
            Err(e) => {
                notes.push(format!(
                    "auths[{written:?}] left in place: its key is not a registry ({e})"
                ));
                continue;
            }
        };
        if !hosts.is_empty() && !hosts.iter().any(|h| h.host() == key.host()) {
            continue;
        }
        match credential {
            Some(credential) => moves.push(Migration {
                written,
                key,
                credential,
            }),
            None => notes.push(format!(
                "auths[{written:?}] left in place: its credential does not decode"
            )),
        }
    }
    (moves, notes)
}

/// Checks that `store` is a place credentials can be moved to from `docker_file`.
fn check_store(env: &Env, store: &OwnStore, docker_file: &Path) -> Result<()> {
    if store.dual_write {
        return Err(Error::InvalidInput(
            "--migrate: dual-write = true in ocicred's config copies every stored credential back into docker's config.json in plain text; turn it off first".into(),
        ));
    }
    if let Some(file) = &store.auth_file {
        let same = std::fs::canonicalize(file)
            .ok()
            .zip(std::fs::canonicalize(docker_file).ok())
            .is_some_and(|(a, b)| a == b)
            || file == docker_file;
        if same {
            return Err(Error::InvalidInput(format!(
                "--migrate: ocicred's store is {} itself; set REGISTRY_AUTH_FILE or store = \"keyring\"",
                docker_file.display()
            )));
        }
        let volatile = env
            .xdg_runtime_dir
            .as_ref()
            .is_some_and(|d| file.starts_with(d))
            || file.starts_with("/run");
        if volatile {
            return Err(Error::InvalidInput(format!(
                "--migrate: ocicred's store is {}, which does not survive a reboot; set store = \"keyring\" in ocicred's config (or REGISTRY_AUTH_FILE to a lasting file) first",
                file.display()
            )));
        }
    }
    Ok(())
}

/// `ocicred setup docker`.
pub fn run(
    env: &Env,
    args: &Args,
    own_store: &dyn Fn() -> Result<OwnStore>,
    out: &mut dyn std::io::Write,
) -> Result<i32> {
    let mode = args.mode;
    if mode.undo && args.migrate {
        return Err(Error::InvalidInput(
            "--undo does not move credentials back into plain text; run it without --migrate"
                .into(),
        ));
    }
    let hosts = parse_hosts(&args.registries)?;
    let path = env.docker_config_file().ok_or_else(|| {
        Error::InvalidInput("cannot find docker's config.json: set HOME or DOCKER_CONFIG".into())
    })?;
    let state_path = state::path(env)?;

    let target = Target::new(&path, env.uid)?;
    let _lock = target.lock()?;
    let original = target.read()?;
    let mut json = match &original {
        Some(bytes) => auth_file::parse_file(&path, bytes, AuthFileFormat::Auths)?,
        None => AuthJson::default(),
    };
    if let Some(problem) = json.shape_problem() {
        return Err(Error::Config {
            path: path.clone(),
            message: format!("{problem}; not changing it"),
        });
    }
    let state_target = Target::new(&state_path, env.uid)?;
    let _state_lock = state_target.lock()?;
    let mut state = match state_target.read()? {
        Some(bytes) => State::parse(&bytes).map_err(|message| Error::Config {
            path: state_path.clone(),
            message: format!("{message}; not changing it"),
        })?,
        None => State::default(),
    };
    let file_key = target.path().display().to_string();
    let mut rec = state.docker(&file_key);
    let before_rec = rec.clone();

    let mut report = Report::new(out, mode);
    let (changes, notes) = if mode.undo {
        apply_undo(&mut json, &mut rec, &hosts)
    } else {
        (apply_setup(&mut json, &mut rec, &hosts), Vec::new())
    };
    for c in &changes {
        report.change(&path, c)?;
    }
    let mut migrated = false;
    if args.migrate {
        let (moves, left) = migrations(&json, &hosts);
        for n in &left {
            report.note(n)?;
        }
        if !moves.is_empty() {
            let store = own_store()?;
            check_store(env, &store, &path)?;
            for m in &moves {
                if !mode.dry_run {
                    move_one(&*store.source, m, &store.name)?;
                }
                json.clear_secrets(&m.written);
                report.change(
                    &path,
                    &format!(
                        "auths[{:?}] (user {}) moved to {}; its entry is now a placeholder",
                        m.written,
                        m.credential.username(),
                        store.name
                    ),
                )?;
            }
            migrated = true;
        }
    }
    for n in &notes {
        report.note(n)?;
    }
    if (changes.is_empty() && !migrated) || mode.dry_run {
        return report.finish(&path);
    }
    // Setup records the previous values before it replaces them; undo restores them before it
    // forgets them. A crash in between leaves a record that the next run handles.
    if !mode.undo && rec != before_rec {
        state.set_docker(&file_key, &rec);
        state_target.write(&state.to_bytes())?;
    }
    target.write(&json.to_bytes())?;
    if mode.undo && rec != before_rec {
        state.set_docker(&file_key, &rec);
        if state.is_empty() {
            state_target.remove()?;
        } else {
            state_target.write(&state.to_bytes())?;
        }
    }
    report.finish(&path)
}

/// Stores one credential in ocicred's store and reads it back; only then may its plain text
/// go. Anything else is an error that stops the migration before docker's file is touched.
fn move_one(store: &dyn Source, m: &Migration, store_name: &str) -> Result<()> {
    store.store(&m.key, &m.credential)?;
    match store.get(&m.key)? {
        Some(found) if found.credential == m.credential => Ok(()),
        _ => Err(Error::InvalidInput(format!(
            "--migrate: {} did not give back the credential for {} after storing it; nothing was removed from docker's config.json",
            store_name, m.key
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> AuthJson {
        AuthJson::parse(text.as_bytes(), AuthFileFormat::Auths).unwrap()
    }

    fn value(j: &AuthJson) -> serde_json::Value {
        serde_json::from_slice(&j.to_bytes()).unwrap()
    }

    fn keys(hosts: &[&str]) -> Vec<RegistryKey> {
        hosts
            .iter()
            .map(|h| RegistryKey::parse(h).unwrap())
            .collect()
    }

    #[test]
    fn creds_store_is_set_once_and_undone_exactly() {
        let text = r#"{"auths":{"a.io":{}},"psFormat":"table","credsStore":"desktop","credHelpers":{"gcr.io":"gcloud"}}"#;
        let mut j = file(text);
        let mut rec = Record::default();
        let changes = apply_setup(&mut j, &mut rec, &[]);
        assert_eq!(changes, [r#"credsStore: "desktop" -> "ocicred""#]);
        assert_eq!(rec.creds_store, Some(Some("desktop".into())));
        let v = value(&j);
        assert_eq!(v["credsStore"], "ocicred");
        assert_eq!(v["psFormat"], "table");
        assert_eq!(v["credHelpers"]["gcr.io"], "gcloud");
        // Idempotent: a second run changes nothing and keeps the record of the first.
        let before = j.clone();
        assert!(apply_setup(&mut j, &mut rec, &[]).is_empty());
        assert_eq!(j, before);
        assert_eq!(rec.creds_store, Some(Some("desktop".into())));

        let (changes, notes) = apply_undo(&mut j, &mut rec, &[]);
        assert_eq!(changes, [r#"credsStore: "ocicred" -> "desktop""#]);
        assert!(notes.is_empty());
        assert!(rec.is_empty());
        assert_eq!(value(&j), value(&file(text)));
        // Undo twice: nothing more.
        assert_eq!(apply_undo(&mut j, &mut rec, &[]).0.len(), 0);
    }

    #[test]
    fn cred_helpers_only_for_the_given_hosts() {
        let text = r#"{"credHelpers":{"gcr.io":"gcloud","https://ghcr.io":"pass"}}"#;
        let mut j = file(text);
        let mut rec = Record::default();
        let changes = apply_setup(
            &mut j,
            &mut rec,
            &keys(&["ghcr.io", "docker.io", "h.example:5000"]),
        );
        assert_eq!(
            changes,
            [
                r#"credHelpers["https://ghcr.io"]: "pass" -> "ocicred""#,
                r#"credHelpers["https://index.docker.io/v1/"]: (none) -> "ocicred""#,
                r#"credHelpers["h.example:5000"]: (none) -> "ocicred""#,
            ]
        );
        let v = value(&j);
        assert_eq!(v["credHelpers"]["gcr.io"], "gcloud");
        assert!(v.get("credsStore").is_none());
        // Undo one host only, then the rest.
        let (changes, _) = apply_undo(&mut j, &mut rec, &keys(&["docker.io"]));
        assert_eq!(
            changes,
            [r#"credHelpers["https://index.docker.io/v1/"]: "ocicred" -> (none)"#]
        );
        let (changes, _) = apply_undo(&mut j, &mut rec, &[]);
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert_eq!(value(&j), value(&file(text)));
        assert!(rec.is_empty());
    }

    #[test]
    fn undo_leaves_values_changed_since_and_works_without_a_record() {
        let mut j = file(r#"{"credsStore":"ocicred","credHelpers":{"a.io":"ocicred"}}"#);
        let mut rec = Record::default();
        let (changes, _) = apply_undo(&mut j, &mut rec, &[]);
        assert_eq!(changes.len(), 2);
        assert_eq!(value(&j), serde_json::json!({}));

        let mut j = file(r#"{"credsStore":"pass"}"#);
        let mut rec = Record {
            creds_store: Some(None),
            cred_helpers: vec![],
        };
        let (changes, notes) = apply_undo(&mut j, &mut rec, &[]);
        assert!(changes.is_empty());
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert_eq!(value(&j)["credsStore"], "pass");
    }

    #[test]
    fn migrations_pick_plain_text_entries_and_placeholders_stay() {
        let mut j = file(
            r#"{"auths":{"a.io":{"auth":"YWxpY2U6c2VjcmV0","email":"a@b"},"b.io":{},"c.io":{"auth":"!!"},"https://index.docker.io/v1/":{"username":"u","password":"p"},"d.io":{"identitytoken":"tok"}}}"#,
        );
        let (moves, notes) = migrations(&j, &[]);
        let written: Vec<&str> = moves.iter().map(|m| m.written.as_str()).collect();
        assert_eq!(written, ["a.io", "https://index.docker.io/v1/", "d.io"]);
        assert_eq!(moves[1].key.to_string(), "docker.io");
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("c.io"));
        let (only, _) = migrations(&j, &keys(&["docker.io"]));
        assert_eq!(only.len(), 1);
        for m in &moves {
            j.clear_secrets(&m.written);
        }
        let v = value(&j);
        assert_eq!(v["auths"]["a.io"], serde_json::json!({"email":"a@b"}));
        assert_eq!(
            v["auths"]["https://index.docker.io/v1/"],
            serde_json::json!({})
        );
        assert_eq!(v["auths"]["c.io"]["auth"], "!!");
        assert!(migrations(&j, &[]).0.is_empty());
    }

    #[test]
    fn null_maps_are_empty_maps() {
        let mut j = file(r#"{"auths":null,"credHelpers":null}"#);
        assert_eq!(j.shape_problem(), None);
        let mut rec = Record::default();
        apply_setup(&mut j, &mut rec, &keys(&["a.io"]));
        assert_eq!(
            value(&j)["credHelpers"],
            serde_json::json!({"a.io": "ocicred"})
        );
    }

    #[test]
    fn namespaces_are_refused_as_hosts() {
        assert!(parse_hosts(&["quay.io/org".into()]).is_err());
        assert_eq!(
            parse_hosts(&["quay.io".into(), "QUAY.io".into()])
                .unwrap()
                .len(),
            1
        );
    }
}
