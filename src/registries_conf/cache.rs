//! The cross-process cache of what a docker `get` needs from registries.conf
//! (BENCHMARKS.md#targets).
//!
//! This module owns [`load_for_get`]: the `credential-helpers` order and the data the
//! `blocked` check needs (every `[[registry]]` prefix, location and `blocked` flag, or nothing
//! when no registry is blocked), kept in one 0600 file, `registries-v2-<hash>.bin`, in
//! `$XDG_RUNTIME_DIR/ocicred` (else the user cache dir). The file is keyed by the environment
//! inputs that choose the files (`CONTAINERS_REGISTRIES_CONF`, the sysconfdir, the XDG config
//! dir) and by a `stat` of every path [`super::load`] looks at: each file read, each drop-in
//! directory, and each candidate that did not exist. Validating it costs `stat` calls and one
//! small read; any mismatch, corruption or I/O problem falls back to a real load, which is what
//! the answer always equals. Errors are never cached, and neither is a configuration whose
//! files changed during the load or less than [`RACY_WINDOW_NS`] before it (see
//! [`is_racy`]). The file holds a serde [`Snapshot`] in postcard's compact binary encoding
//! between a magic number and an FNV-1a checksum. (JSON, as in the token cache, was measured
//! and rejected: a warm `get` with 2,000 registries cost 2.4× the instructions; BENCHMARKS.md.)

use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{RegistriesConf, RegistryEntry, drop_ins, load, plan};
use crate::env::Env;
use crate::error::Result;
use crate::fsio::{self, PrivateDir};

/// The first bytes of a cache file; bump its digit, and [`NAME_PREFIX`]'s, whenever
/// [`Snapshot`] changes, so that a file of another format is never read as this one.
const MAGIC: &[u8; 8] = b"OCRCACH2";

/// The start of a cache file's name (`registries-<hash>.bin` held the hand-written format 1).
const NAME_PREFIX: &str = "registries-v2-";

/// The largest cache file accepted (anything bigger is treated as corrupt).
const MAX_CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// A file changed less than this long before the cache is written is "racy": a second edit in
/// the same timestamp tick (Linux file times use a coarse clock of 1–10 ms) would keep its
/// mtime and ctime, so such a configuration is not cached until it has been quiet this long.
pub const RACY_WINDOW_NS: i128 = 100_000_000;

/// What a `stat` of one path said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PathState {
    /// No such file (or a parent is not a directory).
    Missing,
    /// It exists, with this identity and these times.
    Present(Stat),
}

/// The parts of a `stat` that change when a file or directory does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mode: u32,
    pub mtime: i64,
    pub mtime_ns: i64,
    pub ctime: i64,
    pub ctime_ns: i64,
}

impl Stat {
    #[cfg(unix)]
    fn of(m: &Metadata) -> Stat {
        use std::os::unix::fs::MetadataExt;
        Stat {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mode: m.mode(),
            mtime: m.mtime(),
            mtime_ns: m.mtime_nsec(),
            ctime: m.ctime(),
            ctime_ns: m.ctime_nsec(),
        }
    }

    /// Windows: no device, inode or change time in std; the size, the write time, the creation
    /// time (in place of ctime) and the file attributes (in place of the mode) are compared.
    #[cfg(windows)]
    fn of(m: &Metadata) -> Stat {
        use std::os::windows::fs::MetadataExt;
        let split = |t: std::io::Result<SystemTime>| {
            let d = t
                .ok()
                .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                .unwrap_or_default();
            (d.as_secs() as i64, i64::from(d.subsec_nanos()))
        };
        let (mtime, mtime_ns) = split(m.modified());
        let (ctime, ctime_ns) = split(m.created());
        Stat {
            dev: 0,
            ino: 0,
            size: m.len(),
            mode: m.file_attributes(),
            mtime,
            mtime_ns,
            ctime,
            ctime_ns,
        }
    }

    /// The later of mtime and ctime, in ns since the epoch.
    fn latest_ns(&self) -> i128 {
        let ns = |s: i64, n: i64| s as i128 * 1_000_000_000 + n as i128;
        ns(self.mtime, self.mtime_ns).max(ns(self.ctime, self.ctime_ns))
    }
}

/// `stat` (following symlinks, like the loader's `open`); `None` for an error other than
/// "missing", which makes the configuration uncacheable.
pub fn stat_path(path: &Path) -> Option<PathState> {
    match std::fs::metadata(path) {
        Ok(m) => Some(PathState::Present(Stat::of(&m))),
        Err(e) if fsio::is_missing(&e) => Some(PathState::Missing),
        Err(_) => None,
    }
}

/// Every path [`load`] looks at for `env`, with its state, in load order; `None` when one
/// cannot be examined.
pub fn snapshot(env: &Env) -> Option<Vec<(PathBuf, PathState)>> {
    let mut out = Vec::new();
    let user = match env.containers_registries_conf {
        None => env.user_registries_conf(),
        Some(_) => None,
    };
    let mut user_exists = false;
    if let Some(user) = &user {
        let st = stat_path(user)?;
        user_exists = st != PathState::Missing;
        out.push((user.clone(), st));
    }
    let plan = plan(env, user_exists);
    if let Some(main) = &plan.main
        && Some(main) != user.as_ref()
    {
        out.push((main.clone(), stat_path(main)?));
    }
    for dir in &plan.dirs {
        let st = stat_path(dir)?;
        let exists = st != PathState::Missing;
        out.push((dir.clone(), st));
        if exists {
            for file in drop_ins(dir).ok()? {
                let st = stat_path(&file)?;
                out.push((file, st));
            }
        }
    }
    Some(out)
}

/// True when some path changed within `window_ns` of `now_ns` (or claims a future time): a
/// later same-size edit in the same clock tick could go unseen.
pub fn is_racy(entries: &[(PathBuf, PathState)], now_ns: i128, window_ns: i128) -> bool {
    entries.iter().any(|(_, st)| match st {
        PathState::Present(s) => s.latest_ns() > now_ns - window_ns,
        PathState::Missing => false,
    })
}

/// What a `get` needs from `conf`: `credential-helpers`, and for the `blocked` check every
/// registry's prefix, location and flag (none at all when nothing is blocked). Its
/// `credential_helpers()` and `blocked_prefix()` answer exactly as `conf`'s do.
pub fn get_view(conf: &RegistriesConf) -> RegistriesConf {
    let registries = if conf.registries.iter().any(|r| r.blocked) {
        conf.registries
            .iter()
            .map(|r| RegistryEntry {
                prefix: r.prefix.clone(),
                location: r.location.clone(),
                blocked: r.blocked,
                ..RegistryEntry::default()
            })
            .collect()
    } else {
        Vec::new()
    };
    RegistriesConf {
        credential_helpers_raw: conf.credential_helpers_raw.clone(),
        registries,
        ..RegistriesConf::default()
    }
}

/// The environment inputs that choose the files (the cache file's name hashes them, and the
/// file records them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvKey {
    containers_registries_conf: Option<PathBuf>,
    sysconfdir: PathBuf,
    config_home: Option<PathBuf>,
}

/// The [`EnvKey`] of `env`.
pub fn env_key(env: &Env) -> EnvKey {
    EnvKey {
        containers_registries_conf: env.containers_registries_conf.clone(),
        sysconfdir: env.sysconfdir(),
        config_home: env.config_home(),
    }
}

/// Where the cache for `env` lives, if anywhere (nowhere when a path in its [`EnvKey`] is not
/// UTF-8: such an environment is loaded every time).
pub fn cache_path(env: &Env) -> Option<PathBuf> {
    let dir = env.token_cache_dir()?;
    let key = postcard::to_stdvec(&env_key(env)).ok()?;
    Some(dir.join(format!("{NAME_PREFIX}{:016x}.bin", fnv1a(&key))))
}

/// The effective registries.conf as far as a docker `get` needs it ([`get_view`] of
/// [`load`]), from the cache when it is valid. Errors come from the real load only.
pub fn load_for_get(env: &Env) -> Result<RegistriesConf> {
    load_cached(env, RACY_WINDOW_NS)
}

/// [`load_for_get`] with the racy window as a parameter (tests use 0 to skip the wait).
pub fn load_cached(env: &Env, racy_window_ns: i128) -> Result<RegistriesConf> {
    let Some(path) = cache_path(env) else {
        return load(env).map(|c| get_view(&c));
    };
    if let Some(view) = read_cache(&path, env) {
        return Ok(view);
    }
    let before = snapshot(env);
    let view = get_view(&load(env)?);
    if let Some(before) = before
        && snapshot(env).as_ref() == Some(&before)
        && !is_racy(&before, now_ns(), racy_window_ns)
        && let Some(bytes) = encode(&env_key(env), &before, &view)
    {
        write_cache(&path, env, &bytes);
    }
    Ok(view)
}

/// Writes the cache file atomically (no fsync: a torn file fails its checksum, and the temp
/// file is created exclusively) into the user's [`PrivateDir`]; any failure (unwritable, a
/// directory owned by someone else) only means the next run loads again.
fn write_cache(path: &Path, env: &Env, bytes: &[u8]) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return;
    };
    if let Ok(dir) = PrivateDir::create_own(dir, env.uid) {
        let _ = dir.write_unsynced(name, bytes);
    }
}

fn now_ns() -> i128 {
    match SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(_) => 0,
    }
}

/// The cached view when the file at `path` is a regular file of the user's in a private
/// directory of the user's, intact, for this environment, and every recorded path still has
/// the recorded state.
pub fn read_cache(path: &Path, env: &Env) -> Option<RegistriesConf> {
    let dir = PrivateDir::existing_own(path.parent()?, env.uid).ok()??;
    let bytes = dir
        .read(path.file_name()?.to_str()?, MAX_CACHE_BYTES)
        .ok()??;
    decode(&bytes, &env_key(env), |p, st| {
        stat_path(p).as_ref() == Some(st)
    })
}

/// What a cache file holds between [`MAGIC`] and the checksum (encoded with postcard).
#[derive(Serialize, Deserialize)]
struct Snapshot<'a> {
    /// The environment it was written for.
    env: EnvKey,
    /// Every path the load looked at, with its state then, in load order.
    #[serde(borrow)]
    paths: Vec<(&'a Path, PathState)>,
    /// `credential-helpers` as merged.
    credential_helpers: Vec<String>,
    /// The registries for the `blocked` check (none when nothing is blocked).
    #[serde(with = "blocking")]
    registries: Vec<RegistryEntry>,
}

/// A registry as the `blocked` check reads it: `(prefix, location, blocked)`, read straight
/// into a [`RegistryEntry`] (no intermediate list: a configuration may have thousands).
mod blocking {
    use std::fmt;

    use serde::de::{SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    use super::RegistryEntry;

    pub fn serialize<S: Serializer>(regs: &[RegistryEntry], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(regs.iter().map(|r| (&r.prefix, &r.location, r.blocked)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RegistryEntry>, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = Vec<RegistryEntry>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of (prefix, location, blocked)")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                // The length comes from the file: trust it only so far.
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some((prefix, location, blocked)) = seq.next_element()? {
                    out.push(RegistryEntry {
                        prefix,
                        location,
                        blocked,
                        ..RegistryEntry::default()
                    });
                }
                Ok(out)
            }
        }
        d.deserialize_seq(Entries)
    }
}

/// Encodes a cache file: [`MAGIC`], the [`Snapshot`], and an FNV-1a checksum of both
/// (little-endian). `None` when a path is not UTF-8 (the configuration is then not cached).
pub fn encode(
    env: &EnvKey,
    paths: &[(PathBuf, PathState)],
    view: &RegistriesConf,
) -> Option<Vec<u8>> {
    let snap = Snapshot {
        env: env.clone(),
        paths: paths
            .iter()
            .map(|(p, st)| (p.as_path(), st.clone()))
            .collect(),
        credential_helpers: view.credential_helpers_raw.clone(),
        registries: view.registries.clone(),
    };
    let mut out = postcard::to_extend(&snap, MAGIC.to_vec()).ok()?;
    let sum = fnv1a(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    Some(out)
}

/// Decodes a cache file written by [`encode`]; `None` when it is corrupt, of another format,
/// for another environment, or `still(path, state)` is false for a recorded path.
pub fn decode(
    bytes: &[u8],
    env: &EnvKey,
    mut still: impl FnMut(&Path, &PathState) -> bool,
) -> Option<RegistriesConf> {
    let (body, sum) = bytes.split_at(bytes.len().checked_sub(8)?);
    if u64::from_le_bytes(sum.try_into().ok()?) != fnv1a(body) {
        return None;
    }
    let (snap, rest) = postcard::take_from_bytes::<Snapshot>(body.strip_prefix(MAGIC)?).ok()?;
    if !rest.is_empty() || snap.env != *env || !snap.paths.iter().all(|(p, st)| still(p, st)) {
        return None;
    }
    Some(RegistriesConf {
        credential_helpers_raw: snap.credential_helpers,
        registries: snap.registries,
        ..RegistriesConf::default()
    })
}

/// FNV-1a, 64 bits: a stable hash for the file name and the checksum (not for security).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::super::test_layout::{Layout, SYS, SYS_D, USER, USER_D};
    use super::super::{merge, parse};
    use super::*;
    use crate::registry_key::RegistryKey;
    use std::fs;
    use std::os::unix::fs::MetadataExt;
    use std::time::Duration;

    fn layout() -> Layout {
        Layout::new(|root| Env {
            home: Some(root.join("home")),
            uid: fs::metadata(root).unwrap().uid(),
            xdg_runtime_dir: Some(root.join("run")),
            sysconfdir: Some(root.join("etc")),
            ..Env::default()
        })
    }

    impl Layout {
        /// Whether a cache file written now for `env` would still be valid.
        fn still_valid(&self, bytes: &[u8], env: &Env) -> bool {
            decode(bytes, &env_key(env), |p, st| {
                stat_path(p).as_ref() == Some(st)
            })
            .is_some()
        }
        fn cache_bytes(&self) -> Vec<u8> {
            let entries = snapshot(&self.env).unwrap();
            let view = get_view(&load(&self.env).unwrap());
            encode(&env_key(&self.env), &entries, &view).unwrap()
        }
    }

    fn set_mtime(path: &Path, delta_ns: i64) {
        let m = fs::metadata(path).unwrap().modified().unwrap();
        let t = if delta_ns >= 0 {
            m + Duration::from_nanos(delta_ns as u64)
        } else {
            m - Duration::from_nanos((-delta_ns) as u64)
        };
        fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }

    #[test]
    fn snapshot_lists_every_candidate_in_load_order() {
        let l = layout();
        l.write(SYS, "credential-helpers = [\"a\"]\n");
        l.write(&format!("{SYS_D}/10.conf"), "");
        l.write(&format!("{SYS_D}/ignored.txt"), "");
        let got: Vec<(String, bool)> = snapshot(&l.env)
            .unwrap()
            .into_iter()
            .map(|(p, st)| {
                let rel = p.strip_prefix(&l.root).unwrap().display().to_string();
                (rel, st != PathState::Missing)
            })
            .collect();
        assert_eq!(
            got,
            [
                (USER.to_string(), false),
                (SYS.to_string(), true),
                (SYS_D.to_string(), true),
                (format!("{SYS_D}/10.conf"), true),
                (USER_D.to_string(), false),
            ]
        );
    }

    #[test]
    fn touching_a_file_invalidates_even_within_the_same_second() {
        let l = layout();
        let main = l.write(SYS, "credential-helpers = [\"a\"]\n");
        let drop = l.write(&format!("{SYS_D}/10.conf"), "");
        let bytes = l.cache_bytes();
        assert!(l.still_valid(&bytes, &l.env));
        set_mtime(&main, 1);
        assert!(!l.still_valid(&bytes, &l.env), "1 ns later");
        let bytes = l.cache_bytes();
        set_mtime(&drop, -1);
        assert!(!l.still_valid(&bytes, &l.env), "a drop-in 1 ns earlier");
        let bytes = l.cache_bytes();
        // Same mtime, different size.
        let m = fs::metadata(&main).unwrap().modified().unwrap();
        fs::write(&main, "credential-helpers = [\"ab\"]\n").unwrap();
        fs::File::options()
            .write(true)
            .open(&main)
            .unwrap()
            .set_modified(m)
            .unwrap();
        assert!(!l.still_valid(&bytes, &l.env), "same mtime, new size");
        // Replaced by another file (new inode).
        let bytes = l.cache_bytes();
        let tmp = l.write("etc/containers/new", "credential-helpers = [\"ab\"]\n");
        fs::rename(&tmp, &main).unwrap();
        assert!(!l.still_valid(&bytes, &l.env), "renamed over");
    }

    #[test]
    fn adding_or_removing_a_drop_in_invalidates() {
        let l = layout();
        l.write(SYS, "");
        let d = l.root.join(SYS_D);
        fs::create_dir_all(&d).unwrap();
        let dir_mtime = || fs::metadata(&d).unwrap().modified().unwrap();
        let bytes = l.cache_bytes();
        let before = dir_mtime();
        let added = l.write(&format!("{SYS_D}/20.conf"), "");
        // Even if the directory's mtime were put back, its ctime moved.
        fs::File::open(&d).unwrap().set_modified(before).unwrap();
        assert!(!l.still_valid(&bytes, &l.env), "added");
        let bytes = l.cache_bytes();
        fs::remove_file(&added).unwrap();
        assert!(!l.still_valid(&bytes, &l.env), "removed");
        let bytes = l.cache_bytes();
        fs::remove_dir(&d).unwrap();
        assert!(!l.still_valid(&bytes, &l.env), "directory removed");
    }

    #[test]
    fn a_file_appearing_where_none_was_invalidates() {
        let l = layout();
        l.write(SYS, "credential-helpers = [\"sys\"]\n");
        let bytes = l.cache_bytes();
        l.write(USER, "credential-helpers = [\"user\"]\n");
        assert!(!l.still_valid(&bytes, &l.env), "user file appeared");
        let bytes = l.cache_bytes();
        l.write(&format!("{USER_D}/1.conf"), "");
        assert!(!l.still_valid(&bytes, &l.env), "user drop-in dir appeared");
        // With no system file at all, its appearing counts too.
        let l = layout();
        let bytes = l.cache_bytes();
        assert!(l.still_valid(&bytes, &l.env));
        l.write(SYS, "");
        assert!(!l.still_valid(&bytes, &l.env), "system file appeared");
    }

    #[test]
    fn another_environment_never_matches() {
        let l = layout();
        l.write(SYS, "");
        let bytes = l.cache_bytes();
        let changes = [
            Env {
                containers_registries_conf: Some(l.root.join(SYS)),
                ..l.env.clone()
            },
            Env {
                sysconfdir: Some(l.root.join("etc2")),
                ..l.env.clone()
            },
            Env {
                xdg_config_home: Some(l.root.join("cfg")),
                ..l.env.clone()
            },
            Env {
                home: Some(l.root.join("home2")),
                ..l.env.clone()
            },
        ];
        for env in &changes {
            assert!(!l.still_valid(&bytes, env), "{env:?}");
            assert_ne!(cache_path(env), cache_path(&l.env));
        }
        // What does not choose files does not matter.
        let same = Env {
            docker_config: Some("/elsewhere".into()),
            ..l.env.clone()
        };
        assert!(l.still_valid(&bytes, &same));
        assert_eq!(cache_path(&same), cache_path(&l.env));
    }

    #[test]
    fn corrupt_or_truncated_files_are_refused() {
        let l = layout();
        l.write(SYS, "[[registry]]\nlocation = \"a.io\"\nblocked = true\n");
        let bytes = l.cache_bytes();
        assert!(l.still_valid(&bytes, &l.env));
        for n in 0..bytes.len() {
            assert!(!l.still_valid(&bytes[..n], &l.env), "truncated to {n}");
            let mut b = bytes.clone();
            b[n] ^= 0x20;
            assert!(!l.still_valid(&b, &l.env), "byte {n} flipped");
        }
    }

    #[test]
    fn racy_files_are_not_cached() {
        let st = |t: i64| {
            PathState::Present(Stat {
                dev: 1,
                ino: 2,
                size: 3,
                mode: 0,
                mtime: t,
                mtime_ns: 0,
                ctime: t,
                ctime_ns: 0,
            })
        };
        let now = 100 * 1_000_000_000;
        let e = |t| {
            vec![
                (PathBuf::from("/a"), PathState::Missing),
                ("/b".into(), st(t)),
            ]
        };
        assert!(!is_racy(&e(99), now, RACY_WINDOW_NS));
        assert!(is_racy(&e(100), now, RACY_WINDOW_NS));
        assert!(
            is_racy(&e(101), now, RACY_WINDOW_NS),
            "future times are racy"
        );
        assert!(!is_racy(&e(100), now + RACY_WINDOW_NS, RACY_WINDOW_NS));
    }

    #[test]
    fn load_for_get_writes_a_private_cache_and_reuses_it() {
        let l = layout();
        l.write(SYS, "credential-helpers = [\"a\", \"b\"]\n");
        let path = cache_path(&l.env).unwrap();
        // Fresh files are racy: answered, not cached.
        let first = load_for_get(&l.env).unwrap();
        assert!(!path.exists());
        assert_eq!(first.credential_helpers(), ["a", "b"]);
        let cold = load_cached(&l.env, 0).unwrap();
        assert_eq!(cold, first);
        let mode = fs::metadata(&path).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = fs::metadata(path.parent().unwrap()).unwrap().mode() & 0o777;
        assert_eq!(dmode, 0o700);
        assert_eq!(read_cache(&path, &l.env), Some(first.clone()));
        // A cache file that someone else could write is ignored.
        fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o622)).unwrap();
        assert_eq!(read_cache(&path, &l.env), None);
        // Garbage is replaced by a real load.
        fs::write(&path, b"garbage").unwrap();
        assert_eq!(load_cached(&l.env, 0).unwrap(), first);
        assert_eq!(read_cache(&path, &l.env), Some(first));
    }

    #[test]
    fn errors_are_never_cached() {
        let l = layout();
        l.write(SYS, "credential-helpers = [\n");
        let path = cache_path(&l.env).unwrap();
        for _ in 0..2 {
            let e = load_cached(&l.env, 0).unwrap_err().to_string();
            assert!(
                e.contains("registries.conf: invalid TOML") && e.contains("line 1 column"),
                "{e}"
            );
            assert!(!path.exists());
        }
    }

    #[test]
    fn paths_that_are_not_utf8_are_loaded_every_time() {
        use std::os::unix::ffi::OsStrExt;
        let l = layout();
        let odd = std::ffi::OsStr::from_bytes(b"etc-\xff");
        fs::create_dir_all(l.root.join(odd).join("containers")).unwrap();
        fs::write(
            l.root.join(odd).join("containers/registries.conf"),
            "credential-helpers = [\"a\"]\n",
        )
        .unwrap();
        let env = Env {
            sysconfdir: Some(l.root.join(odd)),
            ..l.env.clone()
        };
        assert_eq!(cache_path(&env), None);
        assert_eq!(load_cached(&env, 0).unwrap().credential_helpers(), ["a"]);
        // A drop-in name that is not UTF-8: answered, not cached.
        l.write(SYS, "credential-helpers = [\"b\"]\n");
        fs::create_dir_all(l.root.join(SYS_D)).unwrap();
        fs::write(
            l.root
                .join(SYS_D)
                .join(std::ffi::OsStr::from_bytes(b"\xff.conf")),
            "",
        )
        .unwrap();
        assert_eq!(load_cached(&l.env, 0).unwrap().credential_helpers(), ["b"]);
        assert!(!cache_path(&l.env).unwrap().exists());
    }

    #[test]
    fn an_unwritable_cache_dir_still_answers() {
        let l = layout();
        l.write(SYS, "credential-helpers = [\"a\"]\n");
        // The runtime dir is a file: nothing can be created under it.
        l.write("run", "");
        assert_eq!(load_cached(&l.env, 0).unwrap().credential_helpers(), ["a"]);
    }

    #[test]
    fn the_get_view_answers_like_the_full_config() {
        let text = "credential-helpers = [\"x\", \"containers-auth.json\"]\n\
                    [[registry]]\nprefix=\"example.com/foo\"\nlocation=\"internal.example.net/bar\"\n\
                    [[registry.mirror]]\nlocation=\"m.io\"\n\
                    [[registry]]\nlocation=\"internal.example.net\"\nblocked=true\n\
                    [[registry]]\nprefix=\"*.evil.io\"\nlocation=\"\"\nblocked=true\n\
                    [[registry]]\nprefix=\"ok.evil.io\"\nlocation=\"ok.evil.io\"\n\
                    [[registry]]\nprefix=\"docker.io/library/nginx\"\nlocation=\"docker.io/library/nginx\"\nblocked=true\n";
        let full = merge::merge(vec![
            parse::parse_file(Path::new("/m"), text, false).unwrap(),
        ]);
        let view = get_view(&full);
        let key = env_key(&Env::default());
        let bytes = encode(&key, &[], &view).unwrap();
        let decoded = decode(&bytes, &key, |_, _| true).unwrap();
        assert_eq!(decoded, view);
        assert_eq!(decoded.credential_helpers(), full.credential_helpers());
        let keys = [
            "internal.example.net",
            "internal.example.net/bar/x",
            "example.com/foo/x",
            "example.com/other",
            "a.evil.io",
            "a.b.evil.io/x",
            "ok.evil.io/x",
            "evil.io",
            "docker.io/nginx",
            "docker.io/library/nginx",
            "docker.io/other",
            "m.io",
            "quay.io",
        ];
        for k in keys {
            let key = RegistryKey::parse(k).unwrap();
            assert_eq!(
                decoded.blocked_prefix(&key),
                full.blocked_prefix(&key),
                "{k}"
            );
        }
        // Nothing blocked: no registry data at all.
        let plain = merge::merge(vec![
            parse::parse_file(Path::new("/m"), "[[registry]]\nlocation=\"a.io\"\n", false).unwrap(),
        ]);
        assert!(get_view(&plain).registries.is_empty());
    }
}
