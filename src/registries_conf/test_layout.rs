//! A temporary directory tree laid out like a machine's registries.conf files, for the tests of
//! the loader (`tests.rs`) and of the cache (`cache.rs`).

use std::fs;
use std::path::{Path, PathBuf};

use crate::env::Env;

/// The system file and drop-in directory, and the user's, relative to [`Layout::root`].
pub const SYS: &str = "etc/containers/registries.conf";
pub const SYS_D: &str = "etc/containers/registries.conf.d";
pub const USER: &str = "home/.config/containers/registries.conf";
pub const USER_D: &str = "home/.config/containers/registries.conf.d";

/// A temporary root and the `Env` a test reads it through.
pub struct Layout {
    _tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub env: Env,
}

impl Layout {
    /// A fresh temporary root; `env` says which of its directories the test's `Env` names.
    pub fn new(env: impl FnOnce(&Path) -> Env) -> Layout {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let env = env(&root);
        Layout {
            _tmp: tmp,
            root,
            env,
        }
    }

    /// Writes `text` to `rel` under the root, making its directories; returns the full path.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
        p
    }
}
