//! Debug hygiene across the crate: every type that carries a secret, formatted with `{:?}` and
//! `{:#?}`, shows no secret.
//!
//! It reaches into many modules, so it lives in a test-only module of its own that nothing
//! imports (inside `secret.rs` it made `secret` and the modules it names import each other in a
//! circle).

use crate::auth_file::{AuthFileFormat, AuthJson};
use crate::credential::{Credential, decode_auth, encode_auth};
use crate::env::Env;
use crate::protocol::docker::parse_store;
use crate::registry_key::RegistryKey;
use crate::secret::Secret;
use crate::source::helper::HelperOutput;
use crate::source::{Found, Origin};

/// Every type that carries a secret, formatted with `{:?}` and `{:#?}`.
#[test]
fn debug_of_every_secret_holding_type_redacts() {
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
