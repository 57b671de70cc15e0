//! TOML errors as the one line a user reads: the file, the message, and the 1-based line and
//! column (`/path/file.toml: invalid TOML: … at line 2 column 12`).
//!
//! Shared by every reader of a TOML file: registries.conf and its drop-ins
//! (`registries_conf::parse`), ocicred's own config (`ocicred_config`) and `doctor`. The TOML
//! parser reports byte spans; this module turns them into lines and columns (counted in
//! characters, so a column matches what an editor shows) and keeps the parser's message to its
//! first line.

use std::path::Path;

use crate::error::{Error, Result};

/// 1-based line and column (in characters) of byte `offset` in `text`. An offset past the end
/// is the end; one inside a multi-byte character is that character.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// An error about the file at `path` whose text is `text`, at byte `offset`.
pub fn error_at(path: &Path, text: &str, offset: usize, message: impl Into<String>) -> Error {
    let (line, column) = line_col(text, offset);
    Error::Parse {
        path: path.to_path_buf(),
        line,
        column,
        message: message.into(),
    }
}

/// A TOML syntax (or decoding) error: `invalid TOML: ` and the first line of the parser's
/// message, at the start of its span (no position when it has none).
pub fn syntax_error(path: &Path, text: &str, e: &toml::de::Error) -> Error {
    let (line, column) = e.span().map_or((0, 0), |span| line_col(text, span.start));
    let message = e.message().lines().next().unwrap_or("").trim();
    Error::Parse {
        path: path.to_path_buf(),
        line,
        column,
        message: format!("invalid TOML: {message}"),
    }
}

/// A TOML file's bytes as text; bytes that are not UTF-8 are `invalid TOML: not UTF-8` at
/// the first bad byte.
pub fn utf8_text(path: &Path, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let prefix = std::str::from_utf8(&e.as_bytes()[..valid]).unwrap_or_default();
        error_at(path, prefix, valid, "invalid TOML: not UTF-8")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncé d", 7), (2, 4));
        assert_eq!(line_col("", 0), (1, 1));
        assert_eq!(line_col("a\n", 2), (2, 1));
        assert_eq!(line_col("ab", 99), (1, 3));
        // Inside a multi-byte character: that character's position.
        assert_eq!(line_col("\u{e9}x", 1), (1, 1));
    }

    #[test]
    fn error_at_names_file_line_and_column() {
        let e = error_at(Path::new("/c.toml"), "a = 1\nb = 2\n", 6, "bad b");
        assert_eq!(e.to_string(), "/c.toml: bad b at line 2 column 1");
    }

    fn syntax(text: &str) -> String {
        let e = toml::de::DeTable::parse(text).unwrap_err();
        syntax_error(Path::new("/r.conf"), text, &e).to_string()
    }

    #[test]
    fn syntax_errors_are_one_line_with_a_position() {
        let e = syntax("a = 1\n[[registry]\n");
        assert!(e.starts_with("/r.conf: invalid TOML: "), "{e}");
        assert!(e.ends_with(" at line 2 column 12"), "{e}");
        for text in [
            "store = \"\u{e9}\u{e9}",
            "a = \"\\q\"",
            "a = [1,\n",
            "a.b = 1\na = 2\n",
            "[t]\n[t]\n",
            "a = 1979-05-27T",
            "= 1",
            "a = 'x\n'",
        ] {
            let e = syntax(text);
            assert!(!e.contains('\n'), "{text:?}: {e}");
            assert!(e.contains(" at line "), "{text:?}: {e}");
        }
    }

    #[test]
    fn text_that_is_not_utf8_names_the_first_bad_byte() {
        let path = Path::new("/r.conf");
        assert_eq!(utf8_text(path, b"a = 1\n".to_vec()).unwrap(), "a = 1\n");
        let e = utf8_text(path, b"a = 1\nb = \"\xc3\xa9\xff\"\n".to_vec()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/r.conf: invalid TOML: not UTF-8 at line 2 column 7"
        );
    }

    #[test]
    fn decoding_errors_keep_their_position() {
        let text = "a = 1\na = 2\n";
        let e = toml::from_str::<toml::Table>(text).unwrap_err();
        let shown = syntax_error(Path::new("/x.toml"), text, &e).to_string();
        assert!(shown.starts_with("/x.toml: invalid TOML: "), "{shown}");
        assert!(shown.contains(" at line 2 column 1"), "{shown}");
        assert!(!shown.contains('\n'), "{shown}");
    }
}
