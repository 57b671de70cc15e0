//! `ocicred list`: every stored credential as a table of registry, user name and source (never
//! the secret), the environment's entries and the `[[route]]`s included.
//!
//! The docker-protocol `list` (a JSON map for clients) is `protocol::docker`'s; this is the
//! table for people. Cells go through [`table`], which makes them printable (a user name can
//! hold an escape sequence or a newline).

use std::io::Write;

use super::{table, write_err};
use crate::error::Result;
use crate::resolver::Resolver;

/// Writes the table of what `resolver` lists. Entries are shown even when a source fails; the
/// first failure is then the error.
pub fn run(resolver: &Resolver, out: &mut dyn Write) -> Result<i32> {
    let (items, errors) = resolver.list_all();
    let mut rows = vec![vec![
        "REGISTRY".to_string(),
        "USERNAME".into(),
        "SOURCE".into(),
    ]];
    rows.extend(items.into_iter().map(|i| vec![i.key, i.username, i.source]));
    out.write_all(table(&rows).as_bytes()).map_err(write_err)?;
    match errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::registry_key::RegistryKey;
    use crate::source::{Found, Listed, Source};

    struct Fixed(Vec<Listed>, bool);

    impl Source for Fixed {
        fn name(&self) -> String {
            "fixed".into()
        }
        fn get(&self, _key: &RegistryKey) -> Result<Option<Found>> {
            Ok(None)
        }
        fn list(&self) -> Result<Vec<Listed>> {
            if self.1 {
                Err(Error::InvalidInput("broken source".into()))
            } else {
                Ok(self.0.clone())
            }
        }
    }

    fn listed(key: &str, username: &str, source: &str) -> Listed {
        Listed {
            key: key.into(),
            username: username.into(),
            source: source.into(),
        }
    }

    fn table_of(sources: Vec<Box<dyn Source>>) -> (Result<i32>, String) {
        let mut out = Vec::new();
        let code = run(&Resolver::new(sources), &mut out);
        (code, String::from_utf8(out).unwrap())
    }

    #[test]
    fn columns_are_aligned_and_cells_printable() {
        let (code, text) = table_of(vec![Box::new(Fixed(
            vec![
                listed("quay.io/team", "alice", "/home/u/auth.json"),
                listed("h", "evil\u{1b}[31m\nrow", "keyring"),
            ],
            false,
        ))]);
        assert_eq!(code.unwrap(), 0);
        assert_eq!(
            text,
            "REGISTRY      USERNAME           SOURCE\n\
             h             evil\\x1b[31m\\nrow  keyring\n\
             quay.io/team  alice              /home/u/auth.json\n"
        );
    }

    #[test]
    fn an_empty_store_is_the_header_alone_and_a_failure_is_the_error() {
        let (code, text) = table_of(Vec::new());
        assert_eq!((code.unwrap(), &*text), (0, "REGISTRY  USERNAME  SOURCE\n"));
        let (code, text) = table_of(vec![
            Box::new(Fixed(Vec::new(), true)),
            Box::new(Fixed(vec![listed("r", "bob", "keyring")], false)),
        ]);
        assert_eq!(code.unwrap_err().to_string(), "broken source");
        assert!(text.contains("r         bob       keyring"), "{text}");
    }
}
