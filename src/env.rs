//! `Env`: the one snapshot of the process environment, and the paths derived from it.
//!
//! `Env::from_process` is the only place in the crate that reads `std::env`; everything else
//! receives an `Env` (tests build one with a struct literal). The path functions here are pure:
//! they decide where files would be, and never look at the filesystem. The auth files' format
//! is in [`crate::auth_file`]; here is only which of them are read, and in which order.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::rc::Rc;

use crate::auth_file::{AuthFile, AuthFileFormat};
use crate::secret::Secret;

/// What ocicred reads from its environment. `Debug` hides the user and password a proxy URL
/// may carry (`http://user:pass@proxy:3128`).
#[derive(Clone, Default)]
pub struct Env {
    /// `$HOME`.
    pub home: Option<PathBuf>,
    /// The real user id (for `/run/containers/$UID`).
    pub uid: u32,
    /// `$XDG_RUNTIME_DIR`.
    pub xdg_runtime_dir: Option<PathBuf>,
    /// `$DBUS_SESSION_BUS_ADDRESS`: where the Secret Service is.
    pub dbus_session_bus_address: Option<String>,
    /// `$XDG_CONFIG_HOME`.
    pub xdg_config_home: Option<PathBuf>,
    /// `$XDG_CACHE_HOME`.
    pub xdg_cache_home: Option<PathBuf>,
    /// `$DOCKER_CONFIG`: the directory holding docker's `config.json`.
    pub docker_config: Option<PathBuf>,
    /// `$REGISTRY_AUTH_FILE`: the only auth file read and written when set.
    pub registry_auth_file: Option<PathBuf>,
    /// `$CONTAINERS_REGISTRIES_CONF`: replaces the main registries.conf.
    pub containers_registries_conf: Option<PathBuf>,
    /// `$OCICRED_SYSCONFDIR` (default `/etc`): the system configuration root.
    pub sysconfdir: Option<PathBuf>,
    /// `$OCICRED_CONFIG`: ocicred's own config file.
    pub ocicred_config: Option<PathBuf>,
    /// `$OCICRED_STORE`: overrides `store` in ocicred's config.
    pub ocicred_store: Option<String>,
    /// `$OCICRED_HELPER_CHAIN`: ocicred processes above this one in a helper chain (loop guard).
    pub helper_chain: Option<String>,
    /// `$PATH`, for finding `docker-credential-*` helpers.
    pub path: Option<OsString>,
    /// `$HTTPS_PROXY` / `$https_proxy`.
    pub https_proxy: Option<String>,
    /// `$HTTP_PROXY` / `$http_proxy`.
    pub http_proxy: Option<String>,
    /// `$NO_PROXY` / `$no_proxy`.
    pub no_proxy: Option<String>,
    /// `$SSL_CERT_FILE`: extra CA certificates for HTTPS.
    pub ssl_cert_file: Option<PathBuf>,
    /// This program's own path (to detect a helper that is ocicred itself).
    pub self_exe: Option<PathBuf>,
    /// Every other variable with a non-empty UTF-8 value, by name, for the credentials CI hands
    /// over (README.md#credentials-from-the-environment-ci: `DOCKER_<host>_USR`/`_PSW`,
    /// `DOCKER_AUTH_CONFIG`, `GHCR_TOKEN`, `GITHUB_TOKEN`, …) and the variables a `[[route]]` names
    /// (README.md#routes-wildcard-and-per-registry-sources). Values are secrets.
    pub vars: EnvVars,
}

/// Environment variables by name. Values are [`Secret`]s: `Debug` shows the names only. An
/// empty value counts as unset (CI systems expand a missing secret to `""`).
/// Shared: the sources that read it hold cheap clones.
#[derive(Clone, Default)]
pub struct EnvVars(Rc<BTreeMap<String, Secret<String>>>);

impl EnvVars {
    /// Builds the set from `(name, value)` pairs; empty values are dropped.
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> EnvVars {
        EnvVars(Rc::new(
            pairs
                .into_iter()
                .map(|(n, v)| (n.into(), v.into()))
                .filter(|(_, v)| !v.is_empty())
                .map(|(n, v)| (n, Secret::new(v)))
                .collect(),
        ))
    }

    /// The value of `name`, when set and not empty.
    pub fn get(&self, name: &str) -> Option<&Secret<String>> {
        self.0.get(name)
    }

    /// True when `name` is set and not empty.
    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// The names of the set variables that start with `prefix`, in byte order.
    pub fn names_with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> {
        self.0
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .map(|(k, _)| k.as_str())
            .take_while(move |k| k.starts_with(prefix))
    }
}

impl std::fmt::Debug for EnvVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// A proxy URL with any `user:password@` replaced (for `Debug` output).
pub fn redact_proxy(url: &Option<String>) -> Option<String> {
    url.as_ref().map(|u| {
        let (scheme, rest) = u.split_once("://").unwrap_or(("", u));
        let authority_end = rest.find('/').unwrap_or(rest.len());
        match rest[..authority_end].rfind('@') {
            Some(at) if scheme.is_empty() => format!("<redacted>@{}", &rest[at + 1..]),
            Some(at) => format!("{scheme}://<redacted>@{}", &rest[at + 1..]),
            None => u.clone(),
        }
    })
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("home", &self.home)
            .field("uid", &self.uid)
            .field("xdg_runtime_dir", &self.xdg_runtime_dir)
            .field("dbus_session_bus_address", &self.dbus_session_bus_address)
            .field("xdg_config_home", &self.xdg_config_home)
            .field("xdg_cache_home", &self.xdg_cache_home)
            .field("docker_config", &self.docker_config)
            .field("registry_auth_file", &self.registry_auth_file)
            .field(
                "containers_registries_conf",
                &self.containers_registries_conf,
            )
            .field("sysconfdir", &self.sysconfdir)
            .field("ocicred_config", &self.ocicred_config)
            .field("ocicred_store", &self.ocicred_store)
            .field("helper_chain", &self.helper_chain)
            .field("path", &self.path)
            .field("https_proxy", &redact_proxy(&self.https_proxy))
            .field("http_proxy", &redact_proxy(&self.http_proxy))
            .field("no_proxy", &self.no_proxy)
            .field("ssl_cert_file", &self.ssl_cert_file)
            .field("self_exe", &self.self_exe)
            .field("vars", &self.vars)
            .finish()
    }
}

impl Env {
    /// Reads the process environment. Called once, from `main`.
    #[allow(clippy::disallowed_methods)]
    pub fn from_process() -> Env {
        fn path(name: &str) -> Option<PathBuf> {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        }
        fn string(name: &str) -> Option<String> {
            std::env::var(name).ok().filter(|v| !v.is_empty())
        }
        fn either(upper: &str, lower: &str) -> Option<String> {
            string(upper).or_else(|| string(lower))
        }
        let uid = crate::fsio::current_uid();
        // The home directory: `$HOME`; on Windows `%USERPROFILE%` (as docker and podman use
        // there), else `$HOME`.
        let home = if cfg!(windows) {
            path("USERPROFILE").or_else(|| path("HOME"))
        } else {
            path("HOME")
        };
        Env {
            home,
            uid,
            xdg_runtime_dir: path("XDG_RUNTIME_DIR"),
            dbus_session_bus_address: string("DBUS_SESSION_BUS_ADDRESS"),
            xdg_config_home: path("XDG_CONFIG_HOME"),
            xdg_cache_home: path("XDG_CACHE_HOME"),
            docker_config: path("DOCKER_CONFIG"),
            registry_auth_file: path("REGISTRY_AUTH_FILE"),
            containers_registries_conf: path("CONTAINERS_REGISTRIES_CONF"),
            sysconfdir: path("OCICRED_SYSCONFDIR"),
            ocicred_config: path("OCICRED_CONFIG"),
            ocicred_store: string("OCICRED_STORE"),
            helper_chain: string("OCICRED_HELPER_CHAIN"),
            path: std::env::var_os("PATH"),
            https_proxy: either("HTTPS_PROXY", "https_proxy"),
            http_proxy: either("HTTP_PROXY", "http_proxy"),
            no_proxy: either("NO_PROXY", "no_proxy"),
            ssl_cert_file: path("SSL_CERT_FILE"),
            self_exe: std::env::current_exe().ok(),
            vars: EnvVars::from_pairs(
                std::env::vars_os()
                    .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
            ),
        }
    }

    fn home_join(&self, rel: &str) -> Option<PathBuf> {
        self.home.as_ref().map(|h| h.join(rel))
    }

    /// The D-Bus session bus address: `$DBUS_SESSION_BUS_ADDRESS`, else the systemd default
    /// `unix:path=$XDG_RUNTIME_DIR/bus` (when that path needs no escaping).
    pub fn session_bus_address(&self) -> Option<String> {
        self.dbus_session_bus_address.clone().or_else(|| {
            let bus = self.xdg_runtime_dir.as_ref()?.join("bus");
            let p = bus.to_str().filter(|p| !p.contains([',', ';', '%', '=']))?;
            Some(format!("unix:path={p}"))
        })
    }

    /// `$XDG_CONFIG_HOME`, else `~/.config`.
    pub fn config_home(&self) -> Option<PathBuf> {
        self.xdg_config_home
            .clone()
            .or_else(|| self.home_join(".config"))
    }

    /// `$XDG_CACHE_HOME`, else `~/.cache`.
    pub fn cache_home(&self) -> Option<PathBuf> {
        self.xdg_cache_home
            .clone()
            .or_else(|| self.home_join(".cache"))
    }

    /// The system configuration root (`$OCICRED_SYSCONFDIR`, default `/etc`).
    pub fn sysconfdir(&self) -> PathBuf {
        self.sysconfdir
            .clone()
            .unwrap_or_else(|| PathBuf::from("/etc"))
    }

    /// The primary auth.json: `$XDG_RUNTIME_DIR/containers/auth.json`, or
    /// `/run/containers/$UID/auth.json` when `XDG_RUNTIME_DIR` is unset.
    pub fn runtime_auth_file(&self) -> PathBuf {
        match &self.xdg_runtime_dir {
            Some(dir) => dir.join("containers/auth.json"),
            None => PathBuf::from(format!("/run/containers/{}/auth.json", self.uid)),
        }
    }

    /// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    pub fn docker_config_file(&self) -> Option<PathBuf> {
        match &self.docker_config {
            Some(dir) => Some(dir.join("config.json")),
            None => self.home_join(".docker/config.json"),
        }
    }

    /// The auth files read for a lookup, in containers-auth.json(5) order.
    pub fn auth_files(&self) -> Vec<AuthFile> {
        if let Some(file) = &self.registry_auth_file {
            return vec![AuthFile::new(file, AuthFileFormat::Auths)];
        }
        let mut out = Vec::new();
        // Without `XDG_RUNTIME_DIR`, `/run/containers/$UID` is a Linux place only (as in
        // containers/image: elsewhere the first file is `~/.config/containers/auth.json`).
        if self.xdg_runtime_dir.is_some() || cfg!(target_os = "linux") {
            out.push(AuthFile::new(
                &self.runtime_auth_file(),
                AuthFileFormat::Auths,
            ));
        }
        if let Some(dir) = self.config_home() {
            out.push(AuthFile::new(
                &dir.join("containers/auth.json"),
                AuthFileFormat::Auths,
            ));
        }
        if let Some(file) = self.docker_config_file() {
            out.push(AuthFile::new(&file, AuthFileFormat::Auths));
        }
        if let Some(file) = self.home_join(".dockercfg") {
            out.push(AuthFile::new(&file, AuthFileFormat::Legacy));
        }
        out
    }

    /// The auth file that `store`/`erase` write: `$REGISTRY_AUTH_FILE`, else the runtime file
    /// when `XDG_RUNTIME_DIR` is set, else `~/.config/containers/auth.json`.
    pub fn write_auth_file(&self) -> PathBuf {
        if let Some(file) = &self.registry_auth_file {
            return file.clone();
        }
        if let Some(dir) = &self.xdg_runtime_dir {
            return dir.join("containers/auth.json");
        }
        match self.config_home() {
            Some(dir) => dir.join("containers/auth.json"),
            None => self.runtime_auth_file(),
        }
    }

    /// ocicred's own config: `$OCICRED_CONFIG`, else `$XDG_CONFIG_HOME/ocicred/config.toml`.
    pub fn ocicred_config_file(&self) -> Option<PathBuf> {
        self.ocicred_config
            .clone()
            .or_else(|| self.config_home().map(|d| d.join("ocicred/config.toml")))
    }

    /// The user's registries.conf (`$XDG_CONFIG_HOME/containers/registries.conf`).
    pub fn user_registries_conf(&self) -> Option<PathBuf> {
        self.config_home()
            .map(|d| d.join("containers/registries.conf"))
    }

    /// The system registries.conf (`$OCICRED_SYSCONFDIR/containers/registries.conf`).
    pub fn system_registries_conf(&self) -> PathBuf {
        self.sysconfdir().join("containers/registries.conf")
    }

    /// The machine-written short-name alias cache.
    pub fn short_name_aliases_cache(&self) -> Option<PathBuf> {
        self.cache_home()
            .map(|d| d.join("containers/short-name-aliases.conf"))
    }

    /// Where the Bazel token cache lives: `$XDG_RUNTIME_DIR/ocicred`, else the user cache dir.
    pub fn token_cache_dir(&self) -> Option<PathBuf> {
        match &self.xdg_runtime_dir {
            Some(dir) => Some(dir.join("ocicred")),
            None => self.cache_home().map(|d| d.join("ocicred")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env {
            home: Some("/home/u".into()),
            uid: 1000,
            ..Env::default()
        }
    }

    fn paths(e: &Env) -> Vec<String> {
        e.auth_files()
            .iter()
            .map(|f| f.path.display().to_string())
            .collect()
    }

    #[test]
    fn debug_hides_proxy_passwords() {
        let e = Env {
            https_proxy: Some("http://bob:hunter2@proxy:3128/".into()),
            http_proxy: Some("bob:hunter2@proxy:3128".into()),
            no_proxy: Some("localhost".into()),
            ..env()
        };
        let shown = format!("{e:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("http://<redacted>@proxy:3128/"), "{shown}");
        assert!(shown.contains("<redacted>@proxy:3128"), "{shown}");
        assert!(shown.contains("/home/u"), "{shown}");
    }

    #[test]
    fn vars_hide_values_and_drop_empty_ones() {
        let v = EnvVars::from_pairs([
            ("DOCKER_a_USR", "alice"),
            ("DOCKER_a_PSW", "hunter2"),
            ("DOCKER_b_USR", ""),
            ("DOCKEX", "x"),
        ]);
        let shown = format!(
            "{:?}",
            Env {
                vars: v.clone(),
                ..env()
            }
        );
        assert!(
            !shown.contains("hunter2") && !shown.contains("alice"),
            "{shown}"
        );
        assert!(shown.contains("DOCKER_a_PSW"), "{shown}");
        assert!(!v.has("DOCKER_b_USR"));
        assert_eq!(v.get("DOCKER_a_PSW").unwrap().expose(), "hunter2");
        let names: Vec<_> = v.names_with_prefix("DOCKER_").collect();
        assert_eq!(names, ["DOCKER_a_PSW", "DOCKER_a_USR"]);
    }

    #[test]
    fn auth_file_order_defaults() {
        assert_eq!(
            paths(&env()),
            [
                "/run/containers/1000/auth.json",
                "/home/u/.config/containers/auth.json",
                "/home/u/.docker/config.json",
                "/home/u/.dockercfg",
            ]
        );
        assert_eq!(env().auth_files()[3].format, AuthFileFormat::Legacy);
        assert_eq!(
            env().write_auth_file(),
            PathBuf::from("/home/u/.config/containers/auth.json")
        );
    }

    #[test]
    fn auth_file_order_with_variables() {
        let e = Env {
            xdg_runtime_dir: Some("/run/user/1000".into()),
            xdg_config_home: Some("/cfg".into()),
            docker_config: Some("/dk".into()),
            ..env()
        };
        assert_eq!(
            paths(&e),
            [
                "/run/user/1000/containers/auth.json",
                "/cfg/containers/auth.json",
                "/dk/config.json",
                "/home/u/.dockercfg",
            ]
        );
        assert_eq!(
            e.write_auth_file(),
            PathBuf::from("/run/user/1000/containers/auth.json")
        );
        let only = Env {
            registry_auth_file: Some("/a.json".into()),
            ..e
        };
        assert_eq!(paths(&only), ["/a.json"]);
        assert_eq!(only.write_auth_file(), PathBuf::from("/a.json"));
    }
}
