//! The token cache shared by every ocicred process of one user
//! (docs/protocol.md#the-oci-token-exchange).
//!
//! It owns the files under `Env::token_cache_dir()`, a [`PrivateDir`] of the user's (0700,
//! every component of its path vetted; a directory others could write to is emptied first):
//! one 0600 JSON file per token keyed by a SHA-256 of (registry, repository, action,
//! credential identity), where the identity is itself a hash and never the secret; one file
//! per registry remembering its `/v2/` challenge, so a warm registry costs one request; and a
//! lock file per token key, so N parallel cold calls do one exchange. Expiry is checked on
//! every read. Only regular files of the user's are read (a file planted by someone else, a
//! symlink or a FIFO is a miss, and is replaced by the next write); temp files are created
//! exclusively. Every failure here is swallowed: a broken, foreign or unwritable cache makes
//! the caller exchange directly, it never fails a call.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::credential::Credential;
use crate::fsio::{FileLock, PrivateDir};
use crate::oci::token::unix_secs;
use crate::secret::Secret;

/// How long a registry's remembered challenge is trusted.
pub const CHALLENGE_TTL: u64 = 3600;

/// The largest cache file read.
const MAX_FILE: u64 = 64 * 1024;

/// How old a temp file must be before a write sweeps it away as a killed writer's leftover.
const STALE_TEMP: Duration = Duration::from_secs(60);

/// A cache key: hex SHA-256, safe as a file name, revealing nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key(String);

fn sha256_hex(parts: &[&str]) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for p in parts {
        // Length-prefix each part so that ("ab","c") and ("a","bc") differ.
        ctx.update(&(p.len() as u64).to_be_bytes());
        ctx.update(p.as_bytes());
    }
    ctx.finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Which credential a token was obtained with: a hash of its kind, user and secret, or
/// `anonymous`. A changed password gives a new identity, so its tokens are not reused.
pub fn credential_identity(cred: Option<&Credential>) -> String {
    match cred {
        None => "anonymous".to_string(),
        Some(Credential::Basic { username, password }) => {
            sha256_hex(&["basic", username, password.expose()])
        }
        Some(Credential::IdentityToken { token }) => sha256_hex(&["identity", token.expose()]),
    }
}

/// The key of a token: registry origin, repository, action, credential identity.
pub fn token_key(origin: &str, repository: &str, action: &str, identity: &str) -> Key {
    Key(sha256_hex(&[
        "token-v1", origin, repository, action, identity,
    ]))
}

/// A cached token and the expiry Bazel is told.
#[derive(Debug, Serialize, Deserialize)]
pub struct CachedToken {
    /// The bearer token.
    #[serde(with = "secret_string")]
    pub token: Secret<String>,
    /// The reported expiry, Unix seconds (already minus the safety margin).
    pub expires: u64,
    /// The token's lifetime in seconds, to spot entries from a clock that went back.
    pub lifetime: u64,
}

mod secret_string {
    use crate::secret::Secret;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(s: &Secret<String>, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.expose())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Secret<String>, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

/// What a registry's `/v2/` said, remembered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "lowercase")]
pub enum Remembered {
    /// Bearer token auth at `realm`.
    Bearer {
        realm: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<String>,
    },
    /// HTTP Basic auth directly.
    Basic,
    /// `/v2/` answered 200: no auth.
    Open,
}

#[derive(Serialize, Deserialize)]
struct RememberedFile {
    checked: u64,
    challenge: Remembered,
}

/// The cache directory, opened.
#[derive(Debug)]
pub struct TokenCache {
    dir: PrivateDir,
}

/// Holds a key's lock until dropped.
pub type Lock = FileLock;

impl TokenCache {
    /// Opens (creating, 0700) the cache directory. `None` when it cannot be used safely.
    pub fn open(dir: &Path, uid: u32) -> Option<TokenCache> {
        PrivateDir::create_own(dir, uid)
            .ok()
            .map(|dir| TokenCache { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn read(&self, name: &str) -> Option<Vec<u8>> {
        self.dir.read(name, MAX_FILE).ok().flatten()
    }

    /// Writes `name` atomically (exclusive temp file + rename), mode 0600. Errors are ignored.
    fn write(&self, name: &str, data: &[u8]) {
        let _ = self.dir.write_unsynced(name, data);
        self.sweep_stale_temps(SystemTime::now());
    }

    /// Removes temp files left by processes killed mid-write (each holds a token): any
    /// `.*.tmp` not touched for [`STALE_TEMP`]. A live write takes milliseconds. Runs on the
    /// cold path only (after an exchange), so a warm `get` never lists the directory.
    fn sweep_stale_temps(&self, now: SystemTime) {
        let Ok(entries) = fs::read_dir(self.dir()) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if !(name.starts_with('.') && name.ends_with(".tmp")) {
                continue;
            }
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age >= STALE_TEMP));
            if old {
                let _ = fs::remove_file(e.path());
            }
        }
    }

    /// The token under `key`, if it has not reached its reported expiry at `now`.
    pub fn get_token(&self, key: &Key, now: SystemTime) -> Option<CachedToken> {
        let data = self.read(&format!("{}.json", key.0))?;
        let entry: CachedToken = serde_json::from_slice(&data).ok()?;
        let now = unix_secs(now);
        let fresh = entry.expires > now && entry.expires - now <= entry.lifetime;
        (fresh && !entry.token.expose().is_empty()).then_some(entry)
    }

    /// Stores a token under `key`.
    pub fn put_token(&self, key: &Key, entry: &CachedToken) {
        if let Ok(data) = serde_json::to_vec(entry) {
            self.write(&format!("{}.json", key.0), &data);
        }
    }

    /// Takes `key`'s lock, waiting until `deadline`. `None` when it could not be had in time
    /// (or the lock file cannot be made, or is not a regular file of the user's): the caller
    /// then goes on without it.
    pub fn lock(&self, key: &Key, deadline: Instant) -> Option<Lock> {
        self.dir.lock(&format!("{}.lock", key.0), deadline).ok()
    }

    fn challenge_name(origin: &str) -> String {
        format!("registry-{}.json", sha256_hex(&["registry-v1", origin]))
    }

    /// The remembered challenge of the registry at `origin`, if checked within the TTL.
    pub fn get_challenge(&self, origin: &str, now: SystemTime) -> Option<Remembered> {
        let data = self.read(&Self::challenge_name(origin))?;
        let f: RememberedFile = serde_json::from_slice(&data).ok()?;
        let now = unix_secs(now);
        let fresh = f.checked <= now + 60 && now < f.checked + CHALLENGE_TTL;
        fresh.then_some(f.challenge)
    }

    /// Remembers the challenge of the registry at `origin`.
    pub fn put_challenge(&self, origin: &str, challenge: &Remembered, now: SystemTime) {
        let f = RememberedFile {
            checked: unix_secs(now),
            challenge: challenge.clone(),
        };
        if let Ok(data) = serde_json::to_vec(&f) {
            self.write(&Self::challenge_name(origin), &data);
        }
    }

    /// Forgets the challenge of the registry at `origin` (it led to a failure).
    pub fn forget_challenge(&self, origin: &str) {
        self.dir.remove(&Self::challenge_name(origin));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::time::UNIX_EPOCH;

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(s)
    }

    /// Our uid, as the owner of a directory we just made.
    fn uid() -> u32 {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let t = tempfile::tempdir().unwrap();
            fs::metadata(t.path()).unwrap().uid()
        }
        #[cfg(not(unix))]
        0
    }

    fn entry(tok: &str, expires: u64, lifetime: u64) -> CachedToken {
        CachedToken {
            token: Secret::new(tok.into()),
            expires,
            lifetime,
        }
    }

    #[test]
    fn stale_temp_files_are_swept_fresh_ones_kept() {
        let t = tempfile::tempdir().unwrap();
        let c = TokenCache::open(&t.path().join("c"), uid()).unwrap();
        let stale = c.dir().join(".abc.json.4242.tmp");
        let fresh = c.dir().join(".def.json.4343.tmp");
        let other = c.dir().join("keep.json");
        for p in [&stale, &fresh, &other] {
            fs::write(p, "{}").unwrap();
        }
        let old = SystemTime::now() - Duration::from_secs(3600);
        File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(old)
            .unwrap();
        c.put_token(
            &token_key("o", "r", "pull", "anonymous"),
            &entry("T", 10, 10),
        );
        assert!(!stale.exists());
        assert!(fresh.exists() && other.exists());
        let temps = fs::read_dir(c.dir())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count();
        assert_eq!(temps, 1);
    }

    #[test]
    fn keys_differ_by_every_part_and_hide_secrets() {
        let a = credential_identity(Some(&Credential::basic("alice", "pw")));
        let b = credential_identity(Some(&Credential::basic("alice", "pw2")));
        assert_ne!(a, b);
        assert!(!a.contains("pw") && !a.contains("alice"));
        let k = |o, r, act, id| token_key(o, r, act, id);
        let base = k("https://r", "a/b", "pull", &a);
        assert_ne!(base, k("https://r2", "a/b", "pull", &a));
        assert_ne!(base, k("https://r", "a/c", "pull", &a));
        assert_ne!(base, k("https://r", "a/b", "push", &a));
        assert_ne!(base, k("https://r", "a/b", "pull", "anonymous"));
        assert_ne!(
            k("https://r", "ab", "c", "d"),
            k("https://r", "a", "bc", "d")
        );
    }

    #[test]
    fn tokens_round_trip_and_expire() {
        let t = tempfile::tempdir().unwrap();
        let c = TokenCache::open(&t.path().join("x/ocicred"), uid()).unwrap();
        let key = token_key("https://r", "a", "pull", "anonymous");
        assert!(c.get_token(&key, at(1000)).is_none());
        c.put_token(&key, &entry("tok", 1240, 300));
        assert_eq!(c.get_token(&key, at(1000)).unwrap().token.expose(), "tok");
        assert_eq!(c.get_token(&key, at(1239)).unwrap().expires, 1240);
        assert!(
            c.get_token(&key, at(1240)).is_none(),
            "expired is never served"
        );
        assert!(c.get_token(&key, at(100)).is_none(), "clock went back");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(c.dir()), 0o700);
            for e in fs::read_dir(c.dir()).unwrap() {
                assert_eq!(mode(&e.unwrap().path()), 0o600);
            }
        }
    }

    #[test]
    fn broken_files_are_misses() {
        let t = tempfile::tempdir().unwrap();
        let c = TokenCache::open(t.path(), uid()).unwrap();
        let key = token_key("https://r", "a", "pull", "anonymous");
        fs::write(t.path().join(format!("{}.json", key.0)), b"{not json").unwrap();
        assert!(c.get_token(&key, at(1)).is_none());
        fs::write(
            t.path().join(TokenCache::challenge_name("https://r")),
            b"[]",
        )
        .unwrap();
        assert!(c.get_challenge("https://r", at(1)).is_none());
    }

    #[test]
    fn challenges_are_remembered_for_a_while() {
        let t = tempfile::tempdir().unwrap();
        let c = TokenCache::open(t.path(), uid()).unwrap();
        let ch = Remembered::Bearer {
            realm: "https://auth/token".into(),
            service: Some("svc".into()),
        };
        c.put_challenge("https://r", &ch, at(1000));
        assert_eq!(c.get_challenge("https://r", at(1001)), Some(ch));
        assert_eq!(c.get_challenge("https://other", at(1001)), None);
        assert_eq!(c.get_challenge("https://r", at(1000 + CHALLENGE_TTL)), None);
        c.put_challenge("https://r", &Remembered::Basic, at(1000));
        assert_eq!(
            c.get_challenge("https://r", at(1001)),
            Some(Remembered::Basic)
        );
        c.forget_challenge("https://r");
        assert_eq!(c.get_challenge("https://r", at(1001)), None);
    }

    #[test]
    fn unusable_dirs_are_refused_or_tightened() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join("f");
        fs::write(&file, b"").unwrap();
        assert!(TokenCache::open(&file, uid()).is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let d = t.path().join("loose");
            fs::create_dir(&d).unwrap();
            fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
            TokenCache::open(&d, uid()).unwrap();
            assert_eq!(
                fs::metadata(&d).unwrap().permissions().mode() & 0o777,
                0o700
            );
            assert!(TokenCache::open(&d, uid() + 1).is_none(), "foreign owner");
        }
    }

    #[test]
    fn lock_is_exclusive_and_times_out() {
        let t = tempfile::tempdir().unwrap();
        let c = TokenCache::open(t.path(), uid()).unwrap();
        let key = token_key("https://r", "a", "pull", "anonymous");
        let held = c.lock(&key, Instant::now()).unwrap();
        let start = Instant::now();
        assert!(
            c.lock(&key, Instant::now() + Duration::from_millis(60))
                .is_none()
        );
        assert!(start.elapsed() >= Duration::from_millis(50));
        drop(held);
        assert!(c.lock(&key, Instant::now()).is_some());
    }
}
