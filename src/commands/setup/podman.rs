//! `ocicred setup podman`: a user drop-in that puts ocicred first in `credential-helpers`.
//!
//! A drop-in, never a user `registries.conf`: that file would replace the system one (and its
//! drop-ins) entirely, switching off whatever the administrator configured there.

use std::path::PathBuf;

use super::{Mode, Report, Target};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::registries_conf;

/// The drop-in's file name: after the usual system drop-ins' names, before `99-` overrides.
pub const FILE_NAME: &str = "50-ocicred.conf";

/// The first line, by which setup knows the file is its own.
const MARKER: &str = "# Written by `ocicred setup podman`";

/// The whole drop-in.
pub fn content() -> String {
    format!(
        "{MARKER}; `ocicred setup podman --undo` removes it.\n\
         # podman, skopeo and buildah ask ocicred for credentials first, then their own auth files.\n\
         credential-helpers = [\"ocicred\", \"containers-auth.json\"]\n"
    )
}

/// Where the drop-in goes: `$XDG_CONFIG_HOME/containers/registries.conf.d/50-ocicred.conf`.
pub fn path(env: &Env) -> Result<PathBuf> {
    env.config_home()
        .map(|d| d.join("containers/registries.conf.d").join(FILE_NAME))
        .ok_or_else(|| {
            Error::InvalidInput("cannot find the user config directory: set HOME".into())
        })
}

/// `ocicred setup podman`.
pub fn run(env: &Env, mode: Mode, out: &mut dyn std::io::Write) -> Result<i32> {
    let path = path(env)?;
    let target = Target::new(&path, env.uid)?;
    let _lock = target.lock()?;
    let current = target.read()?;
    let ours = content();
    let mut report = Report::new(out, mode);
    let is_ours = |bytes: &[u8]| bytes.starts_with(MARKER.as_bytes());
    match (&current, mode.undo) {
        (Some(bytes), _) if !is_ours(bytes) => {
            return Err(Error::Config {
                path,
                message: "exists and was not written by ocicred setup; not changing it".into(),
            });
        }
        (None, true) => {}
        (Some(_), true) => {
            report.change(&path, "removed the drop-in")?;
            if !mode.dry_run {
                target.remove()?;
            }
        }
        (Some(bytes), false) if bytes == ours.as_bytes() => {}
        (_, false) => {
            report.change(
                &path,
                "credential-helpers = [\"ocicred\", \"containers-auth.json\"] (a user drop-in; the system registries.conf stays in effect)",
            )?;
            if !mode.dry_run {
                target.write(ours.as_bytes())?;
            }
        }
    }
    if !mode.undo {
        if let Some(user) = env.user_registries_conf()
            && user.exists()
        {
            report.note(&format!(
                "{} exists, so podman reads it instead of /etc/containers/registries.conf and the system drop-ins; this drop-in applies either way",
                user.display()
            ))?;
        }
        // What the tools will really use, after every file and drop-in.
        if !mode.dry_run
            && let Ok(conf) = registries_conf::load(env)
        {
            let helpers = conf.credential_helpers();
            if helpers.first().map(String::as_str) != Some("ocicred") {
                report.note(&format!(
                    "a later file sets credential-helpers = {helpers:?}, which wins over this drop-in"
                ))?;
            }
        }
    }
    report.finish(&path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drop_in_is_valid_registries_conf_that_names_ocicred_first() {
        let v: toml::Value = toml::from_str(&content()).unwrap();
        assert_eq!(
            v["credential-helpers"],
            toml::Value::Array(vec!["ocicred".into(), "containers-auth.json".into()])
        );
        assert!(content().starts_with(MARKER));
    }
}
