//! The `WWW-Authenticate` parser: pure, total, and forgiving.
//!
//! It owns RFC 9110 §11.6.1 as registries use it: one header value (or several) may hold
//! several challenges; a scheme is case-insensitive; parameters are `key=token` or
//! `key="quoted string"` with `\` escapes, and a quoted value may contain commas; a scheme may
//! carry a token68 instead of parameters. Garbage never fails the parse: what cannot be read is
//! skipped, and the caller decides what to do when no usable challenge remains.

/// One challenge: a lower-cased scheme and its parameters (keys lower-cased, values as sent).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Challenge {
    /// `bearer`, `basic`, … (lower-cased).
    pub scheme: String,
    /// `(key, value)` pairs in order; keys lower-cased.
    pub params: Vec<(String, String)>,
    /// A token68 given instead of parameters.
    pub token68: Option<String>,
}

impl Challenge {
    /// The first value of parameter `key` (give it lower-cased).
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses every header value in `values` into challenges, in order.
pub fn parse_all<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    values.into_iter().flat_map(parse).collect()
}

/// Parses one `WWW-Authenticate` header value.
pub fn parse(value: &str) -> Vec<Challenge> {
    let mut p = Cursor {
        s: value.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    loop {
        p.skip(|b| b == b',' || is_ws(b));
        if p.eof() {
            break;
        }
        let scheme = p.token();
        if scheme.is_empty() {
            // Not a token start (stray quote, `=`, …): drop one byte and resynchronise.
            p.i += 1;
            continue;
        }
        let mut ch = Challenge {
            scheme: scheme.to_ascii_lowercase(),
            ..Challenge::default()
        };
        let had_space = p.skip(is_ws) > 0;
        let mut first = true;
        while had_space || !first {
            p.skip(is_ws);
            let start = p.i;
            let key = p.token();
            if key.is_empty() {
                break;
            }
            p.skip(is_ws);
            if p.peek() == Some(b'=') {
                // `key=value`, or a token68 that ends in `=` padding (only right after the scheme).
                let eq_start = p.i;
                let pad = p.skip(|b| b == b'=');
                let after_pad = p.i;
                p.skip(is_ws);
                let ends = p.eof() || p.peek() == Some(b',');
                if first && ends {
                    ch.token68 = Some(format!("{key}{}", "=".repeat(pad)));
                    break;
                }
                p.i = eq_start + 1;
                if pad > 1 && after_pad > p.i {
                    // `a==b` is not a parameter; give up on the rest of this challenge.
                    p.i = after_pad;
                    p.skip(|b| b != b',');
                    break;
                }
                p.skip(is_ws);
                let value = if p.peek() == Some(b'"') {
                    p.quoted()
                } else {
                    p.token().to_string()
                };
                ch.params.push((key.to_ascii_lowercase(), value));
            } else if first && (p.eof() || p.peek() == Some(b',')) {
                ch.token68 = Some(key.to_string());
                break;
            } else {
                // The token starts the next challenge.
                p.i = start;
                break;
            }
            first = false;
            // After a parameter: a comma continues this challenge's list, or ends it.
            p.skip(is_ws);
            if p.peek() != Some(b',') {
                if !p.eof() {
                    // Junk after a value: skip to the next comma.
                    p.skip(|b| b != b',');
                }
                if p.eof() {
                    break;
                }
            }
            p.skip(|b| b == b',' || is_ws(b));
            if p.eof() {
                break;
            }
        }
        out.push(ch);
    }
    out
}

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// RFC 9110 tchar, plus `/` so that token68 values read as one token.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/".contains(&b)
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn eof(&self) -> bool {
        self.i >= self.s.len()
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn skip(&mut self, f: impl Fn(u8) -> bool) -> usize {
        let start = self.i;
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
        self.i - start
    }
    fn token(&mut self) -> &'a str {
        let start = self.i;
        self.skip(is_tchar);
        // tchar bytes are ASCII, so this slice is valid UTF-8.
        std::str::from_utf8(&self.s[start..self.i]).unwrap_or("")
    }
    /// Reads a quoted string starting at `"`; an unterminated one runs to the end.
    fn quoted(&mut self) -> String {
        let mut out = Vec::new();
        self.i += 1;
        while let Some(b) = self.peek() {
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(n) = self.peek() {
                        out.push(n);
                        self.i += 1;
                    }
                }
                _ => out.push(b),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Challenge {
        let v = parse(s);
        assert_eq!(v.len(), 1, "{s:?} -> {v:?}");
        v.into_iter().next().unwrap()
    }

    #[test]
    fn bearer_as_distribution_sends_it() {
        let c = one(
            r#"Bearer realm="http://127.0.0.1:45439/token",service="registry.test",scope="repository:foo/bar:pull""#,
        );
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.param("realm"), Some("http://127.0.0.1:45439/token"));
        assert_eq!(c.param("service"), Some("registry.test"));
        assert_eq!(c.param("scope"), Some("repository:foo/bar:pull"));
    }

    #[test]
    fn case_insensitive_scheme_and_keys_spaces_and_tokens() {
        let c = one("bEaReR  Realm = \"https://a/token\" , SERVICE=svc.io ,");
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.param("realm"), Some("https://a/token"));
        assert_eq!(c.param("service"), Some("svc.io"));
    }

    #[test]
    fn quoted_commas_and_escapes() {
        let c = one(
            r#"Bearer realm="https://a/t?x=1,2",service="a \"q\" \\ b",scope="repository:a:pull,push""#,
        );
        assert_eq!(c.param("realm"), Some("https://a/t?x=1,2"));
        assert_eq!(c.param("service"), Some(r#"a "q" \ b"#));
        assert_eq!(c.param("scope"), Some("repository:a:pull,push"));
    }

    #[test]
    fn several_challenges_in_one_value_and_across_values() {
        let v = parse(r#"Basic realm="x, y", Bearer realm="https://r/t",service="s", Negotiate"#);
        let schemes: Vec<_> = v.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["basic", "bearer", "negotiate"]);
        assert_eq!(v[0].param("realm"), Some("x, y"));
        assert_eq!(v[1].param("service"), Some("s"));
        let v = parse_all(["Basic realm=\"a\"", "Bearer realm=\"b\""]);
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].param("realm"), Some("b"));
    }

    #[test]
    fn token68_and_bare_schemes() {
        let c = one("Negotiate abc+/d==");
        assert_eq!(c.token68.as_deref(), Some("abc+/d=="));
        let v = parse("Negotiate a1b2, Basic realm=r");
        assert_eq!(v[0].token68.as_deref(), Some("a1b2"));
        assert_eq!(v[1].param("realm"), Some("r"));
        let c = one("Basic");
        assert_eq!((c.scheme.as_str(), c.params.len()), ("basic", 0));
    }

    #[test]
    fn garbage_never_panics() {
        for s in [
            "",
            ",,,",
            "=",
            "\"",
            "Bearer realm=\"unterminated",
            "Bearer realm=",
            "Bearer =x",
            "Bearer a==b, Basic realm=r",
            "Bearer realm=\"a\" junk, service=s",
            "é Bearer realm=x",
        ] {
            let _ = parse(s);
        }
        assert_eq!(
            one("Bearer realm=\"unterminated").param("realm"),
            Some("unterminated")
        );
        let v = parse("Bearer realm=\"a\" junk, service=s");
        assert_eq!(v[0].param("service"), Some("s"));
        let v = parse("Bearer a==b, Basic realm=r");
        assert_eq!(v.last().unwrap().param("realm"), Some("r"));
    }

    #[test]
    fn empty_quoted_value() {
        let c = one(r#"Bearer realm="https://r/t",service="""#);
        assert_eq!(c.param("service"), Some(""));
    }
}
