//! `Secret<T>`: the wrapper every password, identity token and bearer token travels in.
//!
//! It owns one promise: a secret never shows up in `Debug` output, and it has no `Display`, so
//! it cannot be formatted into an error message or a log line by accident. The value is reached
//! only through [`Secret::expose`], which makes every use easy to find.

use std::fmt;

/// A value that must never be printed. `Debug` shows `Secret(<redacted>)`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The wrapped value. Every call site is a place where the secret leaves its wrapper.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// Makes the process non-dumpable (docs/protocol.md#time-limits-and-safety-rules): no core file,
/// and no ptrace or `/proc/<pid>/mem` read by another process of the same user, can carry a secret
/// it holds. Called first thing in `main`, before any secret is read; failures are ignored (there
/// is nothing better to do).
pub fn protect_process() {
    // The flag is not inherited across `exec`: helpers ocicred runs are left as they were.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Secret(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts() {
        let s = Secret::new("hunter2".to_string());
        let shown = format!("{s:?} {:#?}", Some(&s));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(s.expose(), "hunter2");
    }

    /// Every type that carries a secret, formatted with `{:?}` and `{:#?}`.
    #[test]
    fn debug_of_every_secret_holding_type_redacts() {
        use crate::auth_json::AuthJson;
        use crate::credential::{Credential, decode_auth, encode_auth};
        use crate::env::{AuthFileFormat, Env};
        use crate::protocol::docker::parse_store;
        use crate::registry_key::RegistryKey;
        use crate::source::helper::HelperOutput;
        use crate::source::{Found, Origin};

        const PW: &str = "hunter2-pw";
        let basic = Credential::basic("alice", PW);
        let token = Credential::from_docker("<token>".into(), PW.into());
        let found = Found {
            credential: basic.clone(),
            origin: Origin {
                source: "/auth.json".into(),
                key: "h".into(),
            },
        };
        let auth = encode_auth("alice", PW);
        let file = AuthJson::parse(
            format!(r#"{{"auths":{{"h":{{"auth":"{auth}","identitytoken":"{PW}"}}}}}}"#).as_bytes(),
            AuthFileFormat::Auths,
        )
        .unwrap();
        let answer = file.lookup(&RegistryKey::parse("h").unwrap()).unwrap();
        let request = parse_store(
            format!(r#"{{"ServerURL":"h","Username":"alice","Secret":"{PW}"}}"#).as_bytes(),
        )
        .unwrap();
        let output = HelperOutput {
            success: true,
            stdout: format!(r#"{{"Secret":"{PW}"}}"#).into_bytes(),
        };
        let env = Env {
            https_proxy: Some(format!("http://alice:{PW}@proxy:3128")),
            ..Env::default()
        };
        let decoded = decode_auth(&auth).unwrap();
        let response = crate::oci::http::Response {
            status: 200,
            www_authenticate: Vec::new(),
            body: format!(r#"{{"token":"{PW}"}}"#).into_bytes(),
        };
        let client = crate::oci::http::ClientConfig::from_env(&env);
        let oci_token = crate::oci::token::parse_response(&response.body, "h").unwrap();
        let cached = crate::oci::cache::CachedToken {
            token: Secret::new(PW.to_string()),
            expires: 1,
            lifetime: 1,
        };
        let answer_header = crate::oci::Answer {
            authorization: Some(Secret::new(format!("Bearer {PW}"))),
            expires: None,
        };
        let shown = [
            format!("{basic:?} {basic:#?} {token:?} {token:#?}"),
            format!("{found:?} {found:#?} {answer:?} {answer:#?}"),
            format!("{file:?} {file:#?} {request:?} {request:#?}"),
            format!("{output:?} {output:#?} {env:?} {env:#?} {decoded:?}"),
            format!("{response:?} {client:?} {oci_token:?} {cached:?} {answer_header:?}"),
        ]
        .join("\n");
        assert!(!shown.contains(PW), "{shown}");
        assert!(!shown.contains(&auth), "{shown}");
        // Nor as the numbers a `Vec<u8>` prints ("hunt" is 104, 117, 110, 116).
        assert!(!shown.contains("104, 117, 110, 116"), "{shown}");
    }
}
