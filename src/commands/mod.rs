//! The person-facing commands: `resolve` and `config` explain the configuration; `list` shows
//! what is stored; `login`, `logout` and `doctor` change and check it.
//!
//! Each command loads what it needs, writes to a `&mut dyn Write` (never the process streams) and
//! returns an exit code or an [`Error`](crate::error::Error). The JSON shapes are the contract of
//! docs/protocol.md#the-json-of-resolve-and-config; the JSON pieces both commands share (a
//! `[[registry]]`, an origin) live here. Nothing here ever prints a secret: credentials appear as
//! source, key and user name only.

pub mod config;
pub mod doctor;
pub mod list;
pub mod login;
pub mod logout;
pub mod manual;
pub mod resolve;
pub mod setup;

use std::borrow::Cow;
use std::path::Path;

use serde_json::{Value, json};

use crate::error::Error;
use crate::registries_conf::RegistryEntry;

/// A path as shown to people and in JSON; `""` for none.
pub fn origin(p: Option<&Path>) -> String {
    p.map(|p| p.display().to_string()).unwrap_or_default()
}

/// A `[[registry]]` as JSON (docs/protocol.md#the-json-of-resolve-and-config). `blocked` is the
/// effective decision.
pub fn registry_json(r: &RegistryEntry, blocked: bool) -> Value {
    json!({
        "prefix": r.prefix,
        "location": r.location,
        "blocked": blocked,
        "insecure": r.insecure,
        "mirror_by_digest_only": r.mirror_by_digest_only,
        "mirrors": r.mirrors.iter().map(|m| json!({
            "location": m.location,
            "insecure": m.insecure,
            "pull_from_mirror": m.pull_from_mirror,
        })).collect::<Vec<_>>(),
    })
}

/// Maps a write failure to the crate error.
pub fn write_err(e: std::io::Error) -> Error {
    Error::InvalidInput(format!("cannot write output: {e}"))
}

/// Writes pretty JSON and a newline.
pub fn write_json(out: &mut dyn std::io::Write, v: &Value) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(v)
        .map_err(|e| Error::InvalidInput(format!("cannot encode JSON: {e}")))?;
    writeln!(out, "{text}").map_err(write_err)
}

/// Text for a person's terminal (docs/protocol.md#time-limits-and-safety-rules): control characters
/// (C0, DEL, C1) and the Unicode bidirectional controls are escaped (`\n`, `\x1b`, `\u{202e}`), so
/// a stored user name or key cannot recolour the terminal, move the cursor or forge a row.
/// Everything else is kept.
pub fn printable(s: &str) -> Cow<'_, str> {
    fn hostile(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !s.chars().any(hostile) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if hostile(c) && (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if hostile(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Left-aligned columns: every row padded to the widest cell of its column. Cells are made
/// [`printable`].
pub fn table(rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<Cow<'_, str>>> = rows
        .iter()
        .map(|r| r.iter().map(|c| printable(c)).collect())
        .collect();
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                let pad = widths[c] - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod printable_tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert!(matches!(printable("alice é ü"), Cow::Borrowed("alice é ü")));
        assert_eq!(
            printable("evil\u{1b}[31m\nrow\t\r\u{7}\u{7f}\u{9b}\u{202e}x"),
            "evil\\x1b[31m\\nrow\\t\\r\\x07\\x7f\\u{9b}\\u{202e}x"
        );
        let t = table(&[
            vec!["a\nb".into(), "c".into()],
            vec!["x".into(), "y".into()],
        ]);
        assert_eq!(t, "a\\nb  c\nx     y\n");
    }
}
