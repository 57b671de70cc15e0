//! The drop-in merge rules of containers-registries.conf.d(5).
//!
//! This module owns how parsed files combine, in load order: a `[[registry]]` with a prefix
//! seen before replaces that table whole (flags and mirrors it does not set go back to their
//! defaults); the result is sorted by prefix in byte order; `unqualified-search-registries`
//! and `credential-helpers` are replaced whenever a file has the key, even as `[]`;
//! `short-name-mode` and `additional-layer-store-auth-helper` when a file sets a non-empty
//! value; aliases name by name, later files winning, `""` erasing. Each value remembers the
//! file that set it. Pure.

use std::collections::BTreeMap;

use super::{Alias, FileConf, RegistriesConf};

/// Merges files in load order (main file first, then drop-ins).
pub fn merge(files: Vec<FileConf>) -> RegistriesConf {
    let mut out = RegistriesConf::default();
    let mut registries = BTreeMap::new();
    for file in files {
        out.files.push(file.path.clone());
        for reg in file.registries {
            registries.insert(reg.prefix.clone(), reg);
        }
        if let Some(list) = file.unqualified_search {
            out.unqualified_search = list;
            out.unqualified_search_origin = Some(file.path.clone());
        }
        if let Some(list) = file.credential_helpers {
            out.credential_helpers_raw = list;
            out.credential_helpers_origin = Some(file.path.clone());
        }
        if let Some(mode) = file.short_name_mode {
            out.short_name_mode = mode;
            out.short_name_mode_origin = Some(file.path.clone());
        }
        if let Some(helper) = file.additional_layer_store_auth_helper {
            out.additional_layer_store_auth_helper = Some(helper);
        }
        for (name, value) in file.aliases {
            out.aliases.insert(
                name,
                Alias {
                    value,
                    origin: file.path.clone(),
                },
            );
        }
    }
    out.registries = registries.into_values().collect();
    out
}

#[cfg(test)]
mod tests {
    use super::super::ShortNameMode;
    use super::super::parse::parse_file;
    use super::*;
    use std::path::Path;

    fn files(list: &[(&str, &str)]) -> RegistriesConf {
        merge(
            list.iter()
                .enumerate()
                .map(|(i, (p, t))| parse_file(Path::new(p), t, i > 0).unwrap())
                .collect(),
        )
    }

    #[test]
    fn same_prefix_replaces_the_whole_table() {
        let c = files(&[
            (
                "/main",
                "[[registry]]\nlocation=\"base.com\"\ninsecure=true\n\
                 [[registry.mirror]]\nlocation=\"m.com\"\n",
            ),
            (
                "/d/1.conf",
                "[[registry]]\nlocation=\"base.com\"\nblocked=true\n",
            ),
        ]);
        assert_eq!(c.registries.len(), 1);
        let r = &c.registries[0];
        assert!(r.blocked && !r.insecure && r.mirrors.is_empty());
        assert_eq!(r.origin, Path::new("/d/1.conf"));
    }

    #[test]
    fn registries_sorted_by_prefix_bytes() {
        let c = files(&[
            ("/main", "[[registry]]\nlocation=\"b.com\"\n"),
            (
                "/d/1.conf",
                "[[registry]]\nlocation=\"a.com\"\n[[registry]]\nprefix=\"*.z.com\"\n\
                 [[registry]]\nlocation=\"B.com\"\n",
            ),
        ]);
        let p: Vec<_> = c.registries.iter().map(|r| r.prefix.as_str()).collect();
        assert_eq!(p, ["*.z.com", "B.com", "a.com", "b.com"]);
    }

    #[test]
    fn lists_replace_when_present_even_empty() {
        let c = files(&[
            (
                "/main",
                "unqualified-search-registries=[\"a.com\"]\ncredential-helpers=[\"x\"]",
            ),
            ("/d/1.conf", "# nothing"),
        ]);
        assert_eq!(c.unqualified_search, ["a.com"]);
        assert_eq!(
            c.unqualified_search_origin.as_deref(),
            Some(Path::new("/main"))
        );
        assert_eq!(c.credential_helpers(), ["x"]);
        let c = files(&[
            (
                "/main",
                "unqualified-search-registries=[\"a.com\"]\ncredential-helpers=[\"x\"]",
            ),
            (
                "/d/1.conf",
                "unqualified-search-registries=[]\ncredential-helpers=[]",
            ),
        ]);
        assert!(c.unqualified_search.is_empty());
        assert_eq!(
            c.unqualified_search_origin.as_deref(),
            Some(Path::new("/d/1.conf"))
        );
        assert_eq!(c.credential_helpers(), ["containers-auth.json"]);
        assert_eq!(files(&[]).credential_helpers(), ["containers-auth.json"]);
        assert_eq!(files(&[]).unqualified_search_origin, None);
    }

    #[test]
    fn short_name_mode_and_aliases() {
        let c = files(&[
            (
                "/main",
                "short-name-mode=\"enforcing\"\n[aliases]\na=\"quay.io/a\"\nb=\"quay.io/b\"\n",
            ),
            ("/d/1.conf", "[aliases]\na=\"\"\nc=\"docker.io/c\"\n"),
            ("/d/2.conf", "short-name-mode=\"\""),
        ]);
        assert_eq!(c.short_name_mode, ShortNameMode::Enforcing);
        assert_eq!(
            c.short_name_mode_origin.as_deref(),
            Some(Path::new("/main"))
        );
        let a = &c.aliases["a"];
        assert_eq!(
            (a.value.as_deref(), a.origin.as_path()),
            (None, Path::new("/d/1.conf"))
        );
        assert_eq!(c.aliases["b"].value.as_deref(), Some("quay.io/b"));
        assert_eq!(c.aliases["c"].value.as_deref(), Some("docker.io/library/c"));
        assert_eq!(files(&[]).short_name_mode, ShortNameMode::Permissive);
    }

    #[test]
    fn conflicts_across_files_do_not_error() {
        let c = files(&[
            ("/main", "[[registry]]\nlocation=\"a.com\"\ninsecure=true\n"),
            (
                "/d/1.conf",
                "[[registry]]\nprefix=\"p.com\"\nlocation=\"a.com\"\n",
            ),
        ]);
        assert_eq!(c.registries.len(), 2);
    }
}
