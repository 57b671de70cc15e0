//! A reader for a strict, simple subset of JSON, so that [`super::AuthLookup`] can walk a large
//! auth file without serde_json's general machinery.
//!
//! The subset is text serde_json certainly accepts, and reads to the same values: objects,
//! arrays, strings without backslash escapes or control characters, `true`/`false`/`null`,
//! integers of at most 18 digits with an optional fraction of at most 18 digits (no exponent),
//! JSON whitespace (space, tab, LF, CR), nesting at most [`MAX_DEPTH`] deep (serde_json allows
//! 127). The input is a `&str`, so it is valid UTF-8. Every method answers `None` on anything
//! outside the subset (including every syntax error): the caller then gives up on this reader
//! and parses with serde_json, which reports errors with their messages and positions.

/// How deep objects and arrays may nest; well under serde_json's limit of 128.
pub(super) const MAX_DEPTH: usize = 64;

/// The longest digit run (integer part, and fraction) a number may have: any such number is
/// finite as an `f64`, so serde_json never refuses it as out of range.
const MAX_DIGITS: usize = 18;

/// What the next value is, from its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

/// A cursor over the text.
pub(super) struct Scanner<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl<'a> Scanner<'a> {
    pub(super) fn new(text: &'a str) -> Scanner<'a> {
        Scanner {
            text,
            pos: 0,
            depth: 0,
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn ws(&mut self) {
        let b = self.bytes();
        let mut i = self.pos;
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
            i += 1;
        }
        self.pos = i;
    }

    /// The next byte after whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes().get(self.pos).copied()
    }

    /// The kind of the next value (after whitespace), not consumed.
    pub(super) fn kind(&mut self) -> Option<Kind> {
        Some(match self.peek()? {
            b'{' => Kind::Object,
            b'[' => Kind::Array,
            b'"' => Kind::String,
            b'-' | b'0'..=b'9' => Kind::Number,
            b't' | b'f' => Kind::Bool,
            b'n' => Kind::Null,
            _ => return None,
        })
    }

    fn open(&mut self, byte: u8) -> Option<()> {
        if self.peek()? != byte || self.depth >= MAX_DEPTH {
            return None;
        }
        self.pos += 1;
        self.depth += 1;
        Some(())
    }

    /// Consumes `{`.
    pub(super) fn begin_object(&mut self) -> Option<()> {
        self.open(b'{')
    }

    /// The next key of the object being read, with its `:` consumed; `Some(None)` when the
    /// object ends (its `}` consumed). `first` is true until the first key is read.
    pub(super) fn next_key(&mut self, first: &mut bool) -> Option<Option<&'a str>> {
        match self.peek()? {
            b'}' => {
                self.pos += 1;
                self.depth -= 1;
                return Some(None);
            }
            b',' if !*first => self.pos += 1,
            b'"' if *first => {}
            _ => return None,
        }
        *first = false;
        self.key().map(Some)
    }

    /// A member's key and its `:`, after whitespace.
    fn key(&mut self) -> Option<&'a str> {
        self.ws();
        let key = self.string()?;
        self.colon()?;
        Some(key)
    }

    /// [`Scanner::key`], without making the `&str`.
    fn skip_key(&mut self) -> Option<()> {
        self.ws();
        self.skip_string()?;
        self.colon()
    }

    fn colon(&mut self) -> Option<()> {
        if self.peek()? != b':' {
            return None;
        }
        self.pos += 1;
        Some(())
    }

    /// A string without escapes or control characters, at the cursor (no whitespace skipped).
    fn string(&mut self) -> Option<&'a str> {
        let start = self.pos + 1;
        self.skip_string()?;
        // Both ends sit next to an ASCII quote, so they are character boundaries.
        self.text.get(start..self.pos - 1)
    }

    /// [`Scanner::string`], without making the `&str`.
    fn skip_string(&mut self) -> Option<()> {
        let b = self.bytes();
        if b.get(self.pos) != Some(&b'"') {
            return None;
        }
        let start = self.pos + 1;
        let mut i = start;
        // Eight bytes at a time up to the first quote, backslash or control character.
        for word in b.get(start..)?.chunks_exact(8) {
            let found = special(u64::from_le_bytes(word.try_into().ok()?));
            if found != 0 {
                i += (found.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        loop {
            match *b.get(i)? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => i += 1,
            }
        }
        self.pos = i + 1;
        Some(())
    }

    fn digits(&mut self) -> usize {
        let b = self.bytes();
        let start = self.pos;
        while let Some(b'0'..=b'9') = b.get(self.pos) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Option<()> {
        let b = self.bytes();
        if b.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let first = *b.get(self.pos)?;
        let n = self.digits();
        if n == 0 || n > MAX_DIGITS || (first == b'0' && n > 1) {
            return None;
        }
        if b.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            let n = self.digits();
            if n == 0 || n > MAX_DIGITS {
                return None;
            }
        }
        // An exponent, or anything else glued to the number, is left to serde_json.
        match b.get(self.pos) {
            Some(b'e' | b'E' | b'0'..=b'9' | b'.') => None,
            _ => Some(()),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.bytes().get(self.pos..self.pos + word.len())? != word {
            return None;
        }
        self.pos += word.len();
        Some(())
    }

    /// Reads one value of the subset, and discards it. One loop, no recursion: most of a large
    /// file is values skipped here.
    pub(super) fn skip_value(&mut self) -> Option<()> {
        // The containers opened here, innermost in the lowest bit: 1 for an array, 0 for an
        // object (at most MAX_DEPTH = 64 of them).
        let mut open: u64 = 0;
        let mut depth = 0usize;
        loop {
            // A value.
            match self.peek()? {
                c @ (b'{' | b'[') => {
                    if self.depth >= MAX_DEPTH {
                        return None;
                    }
                    self.pos += 1;
                    self.depth += 1;
                    depth += 1;
                    open = (open << 1) | u64::from(c == b'[');
                    let close = if c == b'[' { b']' } else { b'}' };
                    if self.peek()? != close {
                        if c == b'{' {
                            self.skip_key()?;
                        }
                        continue;
                    }
                    self.pos += 1;
                    self.depth -= 1;
                    depth -= 1;
                    open >>= 1;
                }
                b'"' => self.skip_string()?,
                b'-' | b'0'..=b'9' => self.number()?,
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                _ => return None,
            }
            // After a value: a comma and the next element or member, or closing brackets.
            loop {
                if depth == 0 {
                    return Some(());
                }
                let array = open & 1 == 1;
                match self.peek()? {
                    b',' => {
                        self.pos += 1;
                        if !array {
                            self.skip_key()?;
                        }
                        break;
                    }
                    b']' if array => {}
                    b'}' if !array => {}
                    _ => return None,
                }
                self.pos += 1;
                self.depth -= 1;
                depth -= 1;
                open >>= 1;
            }
        }
    }

    /// Reads one value of the subset and returns its text (for serde_json to build it; the
    /// text is valid JSON on its own).
    pub(super) fn value_text(&mut self) -> Option<&'a str> {
        self.ws();
        let start = self.pos;
        self.skip_value()?;
        self.text.get(start..self.pos)
    }

    /// Nothing but whitespace is left.
    pub(super) fn end(&mut self) -> Option<()> {
        match self.peek() {
            None => Some(()),
            Some(_) => None,
        }
    }
}

const ONES: u64 = u64::from_le_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);

/// The high bit of each byte of `word` (little-endian) that is a quote, a backslash or below
/// 0x20, exact up to the first such byte (above it a borrow may mark more): so the lowest set
/// bit is the first special byte.
fn special(word: u64) -> u64 {
    let quote = zero_bytes(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_bytes(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    quote | backslash | control
}

/// The high bit of each zero byte of `x`, exact up to the first one (above it a borrow may
/// mark more): so the lowest set bit is the first zero byte.
fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// The first index of `h` whose byte is `lower` ignoring ASCII case (`lower` is lowercase),
/// eight bytes at a time.
pub(super) fn position_ignore_ascii_case(h: &[u8], lower: u8) -> Option<usize> {
    // A letter matches both cases: `b | 0x20 == lower` holds for exactly those two bytes.
    let fold = if lower.is_ascii_lowercase() { 0x20 } else { 0 };
    let mut i = 0;
    while let Some(word) = h.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let x = (u64::from_le_bytes(*word) | (ONES * fold)) ^ (ONES * u64::from(lower));
        let zero = zero_bytes(x);
        if zero != 0 {
            // the lowest flagged byte is exact
            return Some(i + (zero.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let fold = fold as u8;
    h.get(i..)?
        .iter()
        .position(|&b| b | fold == lower)
        .map(|p| i + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the whole text is one value of the subset.
    fn accepts(text: &str) -> bool {
        let mut s = Scanner::new(text);
        s.skip_value().is_some() && s.end().is_some()
    }

    #[test]
    fn the_subset() {
        for ok in [
            "{}",
            " {\"a\" : [1, -2, 0, 0.5, -0.25, true, false, null, \"x\", {}, []]}\r\n\t",
            "[]",
            "\"é ħ \u{7f}\"",
            "123456789012345678",
            "-123456789012345678.123456789012345678",
            "{\"a\":{\"a\":1},\"a\":2}",
        ] {
            assert!(accepts(ok), "{ok:?}");
            // serde_json reads it, and to the same text
            let v: serde_json::Value = serde_json::from_str(ok).unwrap();
            let mut s = Scanner::new(ok);
            let t = s.value_text().unwrap();
            assert_eq!(serde_json::from_str::<serde_json::Value>(t).unwrap(), v);
        }
    }

    #[test]
    fn everything_else_is_left_to_serde() {
        for no in [
            "",
            " ",
            "{",
            "}",
            "{\"a\":1,}",
            "{,\"a\":1}",
            "{\"a\" 1}",
            "{\"a\":}",
            "{1:2}",
            "[1,]",
            "[,1]",
            "[1 2]",
            "{\"a\":1 \"b\":2}",
            // escapes and control characters
            "\"a\\\"b\"",
            "\"a\\u0041\"",
            "\"a\u{1}b\"",
            "\"tab\tin\"",
            "\"unterminated",
            // numbers outside the sure range or grammar
            "1e5",
            "1E5",
            "1.5e-3",
            "1234567890123456789",
            "0.1234567890123456789",
            "01",
            "-",
            "-a",
            "1.",
            ".5",
            "+1",
            "1.2.3",
            "-01",
            // literals
            "tru",
            "nul",
            "True",
            "nan",
            // whitespace JSON does not have, and trailing text
            "\u{c}{}",
            "{}\u{c}",
            "{} x",
            "{}{}",
            "{}\u{a0}",
        ] {
            assert!(!accepts(no), "{no:?}");
        }
    }

    #[test]
    fn the_first_special_byte_of_a_word() {
        let all: Vec<u8> = (0..=255).collect();
        for special_byte in [b'"', b'\\', 0, 0x1f] {
            for at in 0..8 {
                for filler in &all {
                    let mut w = [*filler; 8];
                    w[at] = special_byte;
                    let found = special(u64::from_le_bytes(w));
                    let first = w.iter().position(|b| matches!(b, b'"' | b'\\' | 0..=0x1f));
                    assert_eq!(Some((found.trailing_zeros() / 8) as usize), first);
                }
            }
        }
        for b in 0x20..=0xff_u8 {
            if b != b'"' && b != b'\\' {
                assert_eq!(special(u64::from_le_bytes([b; 8])), 0, "{b}");
            }
        }
    }

    #[test]
    fn positions_ignoring_case() {
        let text: Vec<u8> = (0..=255).chain(0..=255).collect();
        for lower in (0..=255_u8).filter(|b| !b.is_ascii_uppercase()) {
            for start in 0..20 {
                let h = &text[start..];
                let want = h.iter().position(|b| b.to_ascii_lowercase() == lower);
                assert_eq!(
                    position_ignore_ascii_case(h, lower),
                    want,
                    "{lower} {start}"
                );
                let short = &h[..h.len().min(start % 9)];
                let want = short.iter().position(|b| b.to_ascii_lowercase() == lower);
                assert_eq!(position_ignore_ascii_case(short, lower), want);
            }
        }
        assert_eq!(position_ignore_ascii_case(b"xxxxxxxxxxQxx", b'q'), Some(10));
        assert_eq!(position_ignore_ascii_case(b"", b'q'), None);
    }

    #[test]
    fn depth() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(accepts(&ok));
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(!accepts(&deep));
        let deep = format!(
            "{}1{}",
            "{\"a\":".repeat(MAX_DEPTH + 1),
            "}".repeat(MAX_DEPTH + 1)
        );
        assert!(!accepts(&deep));
        let unbalanced = format!("{}{}", "[".repeat(300), "]".repeat(299));
        assert!(!accepts(&unbalanced));
    }

    #[test]
    fn kinds_and_keys() {
        let mut s = Scanner::new(" { \"k\" : \"v\" , \"é\":[1]}");
        s.begin_object().unwrap();
        let mut first = true;
        assert_eq!(s.next_key(&mut first), Some(Some("k")));
        assert_eq!(s.kind(), Some(Kind::String));
        assert_eq!(s.value_text(), Some("\"v\""));
        assert_eq!(s.next_key(&mut first), Some(Some("é")));
        assert_eq!(s.kind(), Some(Kind::Array));
        assert_eq!(s.value_text(), Some("[1]"));
        assert_eq!(s.next_key(&mut first), Some(None));
        assert_eq!(s.end(), Some(()));
    }
}
