//! The source order (README.md#where-credentials-are-looked-up): which sources the resolver
//! asks, in which order.
//!
//! Pure: it takes registries.conf's `credential-helpers` list and ocicred's own store (where
//! `store = "…"` in ocicred's configuration points, see
//! [`StoreKind::source_spec`](crate::ocicred_config::StoreKind::source_spec)) and returns the
//! [`SourceSpec`]s; building the sources themselves is the wiring's job (`app`).

use super::SourceSpec;

/// The keyring first when it is ocicred's own store, then registries.conf's
/// `credential-helpers` in their order (`containers-auth.json` is the auth files, `ocicred`
/// means ocicred's own store, anything else is a `docker-credential-<name>` helper), each
/// source once.
pub fn source_order(credential_helpers: &[String], own: &SourceSpec) -> Vec<SourceSpec> {
    let mut specs: Vec<SourceSpec> = Vec::new();
    if *own == SourceSpec::Keyring {
        specs.push(SourceSpec::Keyring);
    }
    for name in credential_helpers {
        let spec = SourceSpec::from_helper_name(name, own);
        if !specs.contains(&spec) {
            specs.push(spec);
        }
    }
    specs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(helpers: &[&str], own: SourceSpec) -> Vec<SourceSpec> {
        let helpers: Vec<String> = helpers.iter().map(|s| s.to_string()).collect();
        source_order(&helpers, &own)
    }

    fn helper(name: &str) -> SourceSpec {
        SourceSpec::Helper(name.into())
    }

    #[test]
    fn the_default_is_the_auth_files_alone() {
        assert_eq!(
            order(&["containers-auth.json"], SourceSpec::AuthFiles),
            [SourceSpec::AuthFiles]
        );
    }

    #[test]
    fn the_keyring_comes_first_when_ocicred_stores_there() {
        assert_eq!(
            order(&["containers-auth.json"], SourceSpec::Keyring),
            [SourceSpec::Keyring, SourceSpec::AuthFiles]
        );
        assert_eq!(
            order(
                &["pass", "ocicred", "containers-auth.json"],
                SourceSpec::Keyring
            ),
            [SourceSpec::Keyring, helper("pass"), SourceSpec::AuthFiles]
        );
    }

    #[test]
    fn ocicred_means_its_own_store_and_each_source_comes_once() {
        assert_eq!(
            order(
                &["pass", "ocicred", "containers-auth.json", "pass"],
                SourceSpec::AuthFiles
            ),
            [helper("pass"), SourceSpec::AuthFiles]
        );
        assert_eq!(
            order(&["secretservice", "ocicred"], SourceSpec::AuthFiles),
            [helper("secretservice"), SourceSpec::AuthFiles]
        );
        assert_eq!(order(&[], SourceSpec::AuthFiles), []);
    }
}
