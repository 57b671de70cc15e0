//! The borrowed auth-file lookup ([`AuthLookup`]): one key against a file's bytes, without
//! building the file. This is what `get` uses.
//!
//! `get` needs one entry of a file that may hold thousands. [`AuthLookup::parse`] walks the
//! bytes once with serde_json's own parser (so it accepts and rejects exactly what
//! [`AuthJson::parse`] does, with the same messages and positions), borrows keys from the input,
//! keeps only the `auths` entries that can answer the key's candidates, and skips every other
//! value without allocating. `credHelpers` and `credsStore` (small) are kept whole in a map that
//! mirrors the file's top level, so the full model's rules (exact field name first, then the
//! last case-insensitive spelling; the last duplicate wins) decide here too. Writes keep using
//! the full [`AuthJson`] model.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::AuthFileFormat;
use super::model::{
    AuthJson, EntryError, FileAnswer, decode_entry, field, normalise_key, section_error,
};
use super::scan::{Kind, Scanner, position_ignore_ascii_case};
use crate::registry_key::{DOCKER_HUB, RegistryKey};

/// What one auth file says about one key, read without building the whole file.
#[derive(PartialEq)]
pub struct AuthLookup {
    /// `credHelpers`/`credsStore` spellings as parsed, plus a placeholder of the same JSON type
    /// (an empty object, `null`, `0`, …) for each `auths` spelling, in file order (so `field`
    /// picks, and a non-object is refused, as on the full model).
    head: AuthJson,
    /// What each `auths` spelling held: `None` when it was not an object.
    auths: Vec<(String, Option<Scan>)>,
    /// The candidates (most specific first) and their canonical spellings.
    candidates: Vec<(RegistryKey, String)>,
}

/// Shows which candidates were looked for, never an entry (entries hold secrets).
impl fmt::Debug for AuthLookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLookup")
            .field(
                "candidates",
                &self.candidates.iter().map(|(_, s)| s).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// The entries of one `auths` map that can answer a candidate, per candidate.
#[derive(PartialEq)]
struct Scan {
    slots: Vec<Slot>,
}

#[derive(Default, PartialEq)]
struct Slot {
    /// The entry under the candidate's exact spelling (the last duplicate wins).
    exact: Option<Value>,
    /// The first key in file order that normalises to the candidate, with its entry.
    normalised: Option<(String, Value)>,
}

impl AuthLookup {
    /// Reads `bytes` for `key`. Errors are the ones [`AuthJson::parse`] gives on the same bytes.
    pub fn parse(
        bytes: &[u8],
        format: AuthFileFormat,
        key: &RegistryKey,
    ) -> Result<AuthLookup, serde_json::Error> {
        Self::parse_by(bytes, format, key, true)
    }

    /// [`AuthLookup::parse`], trying the fast scan first (`scan`) or going straight to
    /// serde_json. Both give the same lookup wherever the scan accepts the file (the fuzz
    /// target `auth_json` checks it); public only for that target.
    #[doc(hidden)]
    pub fn parse_by(
        bytes: &[u8],
        format: AuthFileFormat,
        key: &RegistryKey,
        scan: bool,
    ) -> Result<AuthLookup, serde_json::Error> {
        let candidates: Vec<(RegistryKey, String)> = if format == AuthFileFormat::Legacy {
            vec![key.host_only()]
        } else {
            key.candidates()
        }
        .into_iter()
        .map(|c| {
            let spelled = c.to_string();
            (c, spelled)
        })
        .collect();
        let mut out = AuthLookup {
            head: AuthJson {
                root: Map::new(),
                format: Some(format),
            },
            auths: Vec::new(),
            candidates,
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(out);
        }
        // A top level that is not an object: the full model's error, which never quotes the
        // value (a file holding only a string may hold a secret).
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            AuthJson::parse(bytes, format)?;
        }
        let needle = host_needle(key.host()).to_string();
        let candidates = std::mem::take(&mut out.candidates);
        let ctx = Ctx {
            candidates: &candidates,
            needle: &needle,
            legacy: format == AuthFileFormat::Legacy,
        };
        // Valid UTF-8 (checked once, fast) lets the parser skip checking each string; invalid
        // UTF-8 goes through the byte parser, which reports it exactly as the full model does.
        let text = std::str::from_utf8(bytes);
        let scanned = match text {
            Ok(text) if scan => read_scan(text, format, &ctx),
            _ => None,
        };
        let (root, auths) = match (scanned, text) {
            (Some(read), _) => read,
            (None, Ok(text)) => read_serde(serde_json::Deserializer::from_str(text), format, &ctx)?,
            (None, Err(_)) => {
                read_serde(serde_json::Deserializer::from_slice(bytes), format, &ctx)?
            }
        };
        // After the whole file parsed, as the full model checks (a syntax error comes first).
        if format == AuthFileFormat::Auths {
            if let Some(e) = section_error(&root) {
                return Err(e);
            }
            out.head.root = root;
        }
        out.auths = auths;
        out.candidates = candidates;
        Ok(out)
    }

    /// Same answer as [`AuthJson::lookup`] on the same file.
    pub fn lookup(&self) -> Result<FileAnswer, EntryError> {
        let key = &self.candidates.first().expect("a key has a candidate").0;
        match self.head.helper_or_store(key) {
            Some(answer) => Ok(answer),
            None => self.lookup_auths(),
        }
    }

    /// Same answer as [`AuthJson::lookup_auths`] on the same file.
    pub fn lookup_auths(&self) -> Result<FileAnswer, EntryError> {
        let Some(scan) = self.chosen_auths() else {
            return Ok(FileAnswer::Nothing);
        };
        for ((_, spelled), slot) in self.candidates.iter().zip(&scan.slots) {
            let (entry_key, entry) = match (&slot.exact, &slot.normalised) {
                (Some(v), _) => (spelled.as_str(), v),
                (None, Some((k, v))) => (k.as_str(), v),
                (None, None) => continue,
            };
            return match decode_entry(entry_key, Some(entry))? {
                Some(credential) => Ok(FileAnswer::Found {
                    key: entry_key.to_string(),
                    credential,
                }),
                None => Ok(FileAnswer::Nothing),
            };
        }
        Ok(FileAnswer::Nothing)
    }

    /// The `auths` map the full model would use.
    fn chosen_auths(&self) -> Option<&Scan> {
        if self.head.is_legacy() {
            return self.auths.first().and_then(|(_, s)| s.as_ref());
        }
        let (name, _) = field(&self.head.root, "auths")?;
        self.auths
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, s)| s.as_ref())
    }
}

/// Where one `auths` member's value goes, decided from its key before the value is read (a
/// value nobody keeps is skipped, never built). Both readers ([`read_serde`], [`read_scan`])
/// follow it.
#[derive(Clone, Copy)]
enum Take {
    /// The candidate's exact spelling: the last duplicate wins.
    Exact(usize),
    /// The first key in file order that normalises to the candidate (or that same key again:
    /// its last duplicate wins).
    Normalised(usize),
    Skip,
}

impl Scan {
    fn new(ctx: &Ctx<'_>) -> Scan {
        Scan {
            slots: (0..ctx.candidates.len()).map(|_| Slot::default()).collect(),
        }
    }

    fn take(&self, ctx: &Ctx<'_>, key: &str) -> Take {
        match ctx.classify(key) {
            (Some(i), _) => Take::Exact(i),
            (None, Some(i)) => match &self.slots[i].normalised {
                Some((first, _)) if first != key => Take::Skip,
                _ => Take::Normalised(i),
            },
            (None, None) => Take::Skip,
        }
    }

    fn put(&mut self, take: Take, key: &str, value: Value) {
        match take {
            Take::Exact(i) => self.slots[i].exact = Some(value),
            Take::Normalised(i) => self.slots[i].normalised = Some((key.to_string(), value)),
            Take::Skip => {}
        }
    }
}

/// What a top-level member of an auth file is to the lookup (field names match ignoring ASCII
/// case, as on the full model).
enum Field {
    Auths,
    /// `credHelpers` or `credsStore`: kept whole.
    Kept,
    Other,
}

impl Field {
    fn of(key: &str) -> Field {
        if key.eq_ignore_ascii_case("auths") {
            Field::Auths
        } else if key.eq_ignore_ascii_case("credHelpers") || key.eq_ignore_ascii_case("credsStore")
        {
            Field::Kept
        } else {
            Field::Other
        }
    }
}

/// Records one `auths` spelling's scan: a repeated spelling keeps its first place and its last
/// value.
fn keep_auths(auths: &mut Vec<(String, Option<Scan>)>, key: &str, scan: Option<Scan>) {
    match auths.iter_mut().find(|(k, _)| k == key) {
        Some(slot) => slot.1 = scan,
        None => auths.push((key.to_string(), scan)),
    }
}

/// Reads the file with serde_json: the top-level fields `head` keeps, and the `auths` maps.
fn read_serde<'de, R: serde_json::de::Read<'de>>(
    mut de: serde_json::Deserializer<R>,
    format: AuthFileFormat,
    ctx: &Ctx<'_>,
) -> Result<Root, serde_json::Error> {
    let read = match format {
        AuthFileFormat::Legacy => {
            let (_, scan) = de.deserialize_map(AuthsVisitor { ctx })?;
            (Map::new(), vec![(String::new(), scan)])
        }
        AuthFileFormat::Auths => de.deserialize_map(RootVisitor { ctx })?,
    };
    de.end()?;
    Ok(read)
}

/// What [`read_serde`] reads, by the fast [`Scanner`], or `None` when the file is not all in
/// the scanner's subset of JSON (then serde_json reads it, and reports any error). Mirrors the
/// visitors below step by step; the values kept (matching entries, `credHelpers`,
/// `credsStore`) are built by serde_json from their own text.
fn read_scan(text: &str, format: AuthFileFormat, ctx: &Ctx<'_>) -> Option<Root> {
    let mut sc = Scanner::new(text);
    let read = match format {
        AuthFileFormat::Legacy => {
            if sc.kind()? != Kind::Object {
                return None;
            }
            let (_, scan) = scan_auths(&mut sc, ctx)?;
            (Map::new(), vec![(String::new(), scan)])
        }
        AuthFileFormat::Auths => {
            sc.begin_object()?;
            let mut root = Map::new();
            let mut auths: Vec<(String, Option<Scan>)> = Vec::new();
            let mut first = true;
            while let Some(key) = sc.next_key(&mut first)? {
                match Field::of(key) {
                    Field::Auths => {
                        let (kind, scan) = scan_auths(&mut sc, ctx)?;
                        keep_auths(&mut auths, key, scan);
                        root.insert(key.to_string(), kind);
                    }
                    Field::Kept => {
                        root.insert(key.to_string(), build(&mut sc)?);
                    }
                    Field::Other => sc.skip_value()?,
                }
            }
            (root, auths)
        }
    };
    sc.end()?;
    Some(read)
}

/// The next value, built by serde_json from its text (in the subset, so it parses).
fn build(sc: &mut Scanner<'_>) -> Option<Value> {
    serde_json::from_str(sc.value_text()?).ok()
}

/// [`AuthsVisitor`] on the scanner.
fn scan_auths(sc: &mut Scanner<'_>, ctx: &Ctx<'_>) -> Option<(Value, Option<Scan>)> {
    let placeholder = match sc.kind()? {
        Kind::Object => {
            let mut scan = Scan::new(ctx);
            sc.begin_object()?;
            let mut first = true;
            while let Some(key) = sc.next_key(&mut first)? {
                match scan.take(ctx, key) {
                    Take::Skip => sc.skip_value()?,
                    take => scan.put(take, key, build(sc)?),
                }
            }
            return Some((Value::Object(Map::new()), Some(scan)));
        }
        Kind::Array => Value::Array(Vec::new()),
        Kind::String => Value::String(String::new()),
        Kind::Number => Value::from(0),
        Kind::Bool => Value::Bool(false),
        Kind::Null => Value::Null,
    };
    sc.skip_value()?;
    Some((placeholder, None))
}

/// A substring every key that normalises to `host` contains (ignoring ASCII case): the host
/// itself, or `docker` for Docker Hub, whose aliases all contain it.
fn host_needle(host: &str) -> &str {
    if host == DOCKER_HUB { "docker" } else { host }
}

fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    let Some(first) = n.first().map(u8::to_ascii_lowercase) else {
        return true;
    };
    let Some(starts) = h.len().checked_sub(n.len()).and_then(|last| h.get(..=last)) else {
        return false;
    };
    // Compare whole windows only where the first byte matches: most keys fail fast.
    let mut from = 0;
    while let Some(at) = starts
        .get(from..)
        .and_then(|s| position_ignore_ascii_case(s, first))
    {
        let i = from + at;
        if h.get(i..i + n.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(n))
        {
            return true;
        }
        from = i + 1;
    }
    false
}

/// What the visitors share.
struct Ctx<'c> {
    candidates: &'c [(RegistryKey, String)],
    needle: &'c str,
    /// A legacy `.dockercfg`: keys name registries only.
    legacy: bool,
}

impl Ctx<'_> {
    /// Which candidate `key` spells exactly, and which one it normalises to.
    fn classify(&self, key: &str) -> (Option<usize>, Option<usize>) {
        let exact = self.candidates.iter().position(|(_, s)| s == key);
        if exact.is_some() || !contains_ignore_ascii_case(key, self.needle) {
            return (exact, None);
        }
        let normalised = normalise_key(key, self.legacy)
            .and_then(|k| self.candidates.iter().position(|(c, _)| *c == k));
        (None, normalised)
    }
}

/// A map key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Any JSON value, checked as `Value` would check it (numbers in range, valid strings, depth)
/// but kept nowhere.
struct Skip;

impl<'de> de::Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_str<E>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_unit<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_none<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Skip, D::Error> {
        d.deserialize_any(SkipVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_key::<Skip>()?.is_some() {
            map.next_value::<Skip>()?;
        }
        Ok(Skip)
    }
}

/// The top level of an auth.json / config.json.
struct RootVisitor<'a, 'c> {
    ctx: &'a Ctx<'c>,
}

type Root = (Map<String, Value>, Vec<(String, Option<Scan>)>);

impl<'de> Visitor<'de> for RootVisitor<'_, '_> {
    type Value = Root;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Root, A::Error> {
        let mut root = Map::new();
        let mut auths: Vec<(String, Option<Scan>)> = Vec::new();
        while let Some(Key(key)) = map.next_key::<Key>()? {
            match Field::of(&key) {
                Field::Auths => {
                    let (kind, scan) = map.next_value_seed(AuthsSeed { ctx: self.ctx })?;
                    keep_auths(&mut auths, &key, scan);
                    root.insert(key.into_owned(), kind);
                }
                Field::Kept => {
                    let value: Value = map.next_value()?;
                    root.insert(key.into_owned(), value);
                }
                Field::Other => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok((root, auths))
    }
}

/// An `auths` value: a placeholder of its JSON type, and a scan when it is an object.
struct AuthsSeed<'a, 'c> {
    ctx: &'a Ctx<'c>,
}

impl<'de> DeserializeSeed<'de> for AuthsSeed<'_, '_> {
    type Value = (Value, Option<Scan>);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(AuthsVisitor { ctx: self.ctx })
    }
}

struct AuthsVisitor<'a, 'c> {
    ctx: &'a Ctx<'c>,
}

impl<'de> Visitor<'de> for AuthsVisitor<'_, '_> {
    type Value = (Value, Option<Scan>);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok((Value::Bool(false), None))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok((Value::from(0), None))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok((Value::from(0), None))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok((Value::from(0), None))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok((Value::String(String::new()), None))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok((Value::Null, None))
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok((Value::Null, None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        SkipVisitor
            .visit_seq(seq)
            .map(|_| (Value::Array(Vec::new()), None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut scan = Scan::new(self.ctx);
        while let Some(Key(key)) = map.next_key::<Key>()? {
            match scan.take(self.ctx, &key) {
                Take::Skip => {
                    map.next_value::<Skip>()?;
                }
                take => {
                    let value = map.next_value()?;
                    scan.put(take, &key, value);
                }
            }
        }
        Ok((Value::Object(Map::new()), Some(scan)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "YWxpY2U6c2VjcmV0"; // alice:secret
    const BOB: &str = "Ym9iOnB3"; // bob:pw

    /// Asserts that the borrowed lookup and the full model agree on `text` for every key in `keys`:
    /// the same parse error (message and position), or the same answers.
    fn agree(text: &str, format: AuthFileFormat, keys: &[&str]) {
        let full = AuthJson::parse(text.as_bytes(), format);
        for k in keys {
            let key = RegistryKey::parse(k).unwrap();
            both_paths_agree(text.as_bytes(), format, &key);
            let borrowed = AuthLookup::parse(text.as_bytes(), format, &key);
            match (&full, borrowed) {
                (Err(a), Err(b)) => {
                    assert_eq!(a.to_string(), b.to_string(), "{text:?}");
                    assert_eq!((a.line(), a.column()), (b.line(), b.column()));
                }
                (Ok(full), Ok(borrowed)) => {
                    assert_eq!(full.lookup(&key), borrowed.lookup(), "{text:?} key {k}");
                    assert_eq!(
                        full.lookup_auths(&key),
                        borrowed.lookup_auths(),
                        "{text:?} key {k}"
                    );
                }
                (a, b) => panic!("{text:?}: full {a:?} borrowed {b:?}"),
            }
        }
    }

    /// The fast scan, where it accepts, reads exactly what serde_json reads; where it does not,
    /// both paths are serde_json's.
    fn both_paths_agree(bytes: &[u8], format: AuthFileFormat, key: &RegistryKey) {
        let fast = AuthLookup::parse_by(bytes, format, key, true);
        let serde = AuthLookup::parse_by(bytes, format, key, false);
        match (fast, serde) {
            (Ok(a), Ok(b)) => assert!(a == b, "{:?}", String::from_utf8_lossy(bytes)),
            (Err(a), Err(b)) => assert_eq!(
                (a.to_string(), a.line(), a.column()),
                (b.to_string(), b.line(), b.column())
            ),
            (a, b) => panic!("fast {a:?} serde {b:?}"),
        }
    }

    /// Whether the fast scan reads `text` (for the key `h:5000/ns`) rather than leaving it to
    /// serde_json.
    fn scans(text: &str, format: AuthFileFormat) -> bool {
        let key = RegistryKey::parse("h:5000/ns").unwrap();
        let candidates: Vec<_> = key
            .candidates()
            .into_iter()
            .map(|c| {
                let s = c.to_string();
                (c, s)
            })
            .collect();
        let ctx = Ctx {
            candidates: &candidates,
            needle: "h:5000",
            legacy: format == AuthFileFormat::Legacy,
        };
        read_scan(text, format, &ctx).is_some()
    }

    #[test]
    fn the_fast_scan_reads_plain_files() {
        let files = [
            format!(
                "{{\n\t\"auths\": {{\n\t\t\"h:5000\": {{\n\t\t\t\"auth\": \"{ALICE}\"\n\t\t}}\r\n\t}}\n}}\n"
            ),
            // duplicates, at both levels; spellings that normalise to a candidate
            format!(
                r#"{{"auths":{{"h:5000":{{"auth":"{ALICE}"}},"https://H:5000/v2/":{{"auth":"{BOB}"}},"h:5000":{{}},"http://h:5000":{{"auth":"{BOB}"}},"https://H:5000/v2/":7}},"auths":{{"h:5000/ns":{{"auth":"{BOB}"}}}}}}"#
            ),
            // every field spelling, non-object values, numbers, literals, nesting, non-ASCII
            r#"{"AUTHS":[1,{"a":[]}],"Auths":-0.5,"auths":null,"credHelpers":{"h:5000":"x"},"CREDSSTORE":"é","credsStore":true,"x":[0,-1,123456789012345678,1.25,false,{"y":{}}],"ü":"ħ"}"#
                .to_string(),
            r#"{"auths":"str","credhelpers":{},"credsstore":null}"#.to_string(),
            r#"{"auths":{"h:5000":{"auth":"YWxpY2U6c2VjcmV0","x":{"y":[[[]]]}},"h:5000/ns":[]}}"#
                .to_string(),
            "{}".to_string(),
            " { } ".to_string(),
        ];
        for text in &files {
            for format in [AuthFileFormat::Auths, AuthFileFormat::Legacy] {
                assert!(scans(text, format), "{text:?}");
                both(text);
            }
        }
        // a legacy .dockercfg
        let legacy =
            format!(r#"{{"https://h:5000":{{"auth":"{ALICE}","email":"a@b"}},"h:5000":{{}}}}"#);
        assert!(scans(&legacy, AuthFileFormat::Legacy));
        both(&legacy);
    }

    #[test]
    fn the_fast_scan_leaves_the_rest_to_serde() {
        let deep = |n: usize| format!("{{\"x\":{}{}}}", "[".repeat(n), "]".repeat(n));
        let mut files = vec![
            // escapes, anywhere
            r#"{"a\u0075ths":{"h:5000":{"auth":"YWxpY2U6c2VjcmV0"}}}"#.to_string(),
            r#"{"auths":{"h:5000":{"auth":"YWxpY2U6c2VjcmV0\n"}}}"#.to_string(),
            r#"{"x":"\"","auths":{}}"#.to_string(),
            r#"{"auths":{},"x":"\ud800"}"#.to_string(),
            // control characters in strings
            "{\"x\":\"a\tb\"}".to_string(),
            "{\"auths\":{\"h:5000\u{1}\":{}}}".to_string(),
            // numbers outside the sure range or grammar
            r#"{"x":1e5}"#.to_string(),
            r#"{"x":1E-5}"#.to_string(),
            r#"{"x":1e999}"#.to_string(),
            r#"{"auths":{"h:5000":{"auth":-1e400}}}"#.to_string(),
            r#"{"x":1234567890123456789}"#.to_string(),
            r#"{"x":0.1234567890123456789}"#.to_string(),
            r#"{"x":01}"#.to_string(),
            r#"{"x":-}"#.to_string(),
            r#"{"x":1.}"#.to_string(),
            r#"{"x":NaN}"#.to_string(),
            // syntax errors
            "{".to_string(),
            r#"{"auths":{"h:5000":{}},}"#.to_string(),
            r#"{"auths":{"h:5000":}}"#.to_string(),
            r#"{"x":[1,]}"#.to_string(),
            r#"{"x" 1}"#.to_string(),
            r#"{"x":tru}"#.to_string(),
            r#"{1:2}"#.to_string(),
            // trailing text, and whitespace JSON does not have
            r#"{"auths":{}} x"#.to_string(),
            r#"{"auths":{}}{}"#.to_string(),
            "{}\u{c}".to_string(),
            "{\u{c}}".to_string(),
            "{\u{a0}}".to_string(),
            // nesting deeper than the scan goes (serde_json reads some, refuses others)
            deep(64),
            deep(126),
            deep(127),
            deep(200),
        ];
        files.push(format!(
            "{{\"auths\":{{\"h:5000\":{}1{}}}}}",
            "[".repeat(126),
            "]".repeat(126)
        ));
        for text in &files {
            for format in [AuthFileFormat::Auths, AuthFileFormat::Legacy] {
                assert!(!scans(text, format), "{text:?}");
                both(text);
            }
        }
        assert!(scans(&deep(63), AuthFileFormat::Auths));
        // invalid UTF-8 never reaches the scan; both paths are serde_json's
        let key = RegistryKey::parse("h:5000").unwrap();
        for bad in [
            &b"{\"auths\":{\"h:5000\xff\":{}}}"[..],
            b"{\"x\":\"\xc3\"}",
            b"{\"auths\":{}}\xff",
        ] {
            both_paths_agree(bad, AuthFileFormat::Auths, &key);
            both_paths_agree(bad, AuthFileFormat::Legacy, &key);
        }
    }

    const KEYS: &[&str] = &[
        "h",
        "H:5000",
        "h:5000/ns/repo",
        "quay.io",
        "quay.io/org",
        "quay.io/org/repo/img",
        "quay.io/other",
        "docker.io",
        "docker.io/library/nginx",
        "https://index.docker.io/v1/",
        "https://index.docker.io/v1/access-token",
        "registry-1.docker.io",
        "g",
    ];

    fn both(text: &str) {
        agree(text, AuthFileFormat::Auths, KEYS);
        agree(text, AuthFileFormat::Legacy, KEYS);
    }

    #[test]
    fn same_answers_as_the_full_model() {
        let cases = [
            // namespaced keys, most specific first
            format!(
                r#"{{"auths":{{"quay.io":{{"auth":"{ALICE}"}},"quay.io/org":{{"auth":"{BOB}"}}}}}}"#
            ),
            // an empty specific entry hides the broader one
            format!(r#"{{"auths":{{"quay.io":{{"auth":"{ALICE}"}},"quay.io/org":{{}}}}}}"#),
            // URL spellings and Docker Hub aliases
            format!(
                r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{ALICE}"}},"https://h:5000/v2/":{{"auth":"{BOB}"}}}}}}"#
            ),
            format!(
                r#"{{"auths":{{"https://index.docker.io/v1/access-token":{{"auth":"{BOB}"}},"registry.hub.docker.com":{{"auth":"{ALICE}"}}}}}}"#
            ),
            format!(
                r#"{{"auths":{{"HTTPS://User@Index.Docker.IO/v1/":{{"auth":"{ALICE}"}},"docker.io/library":{{"auth":"{BOB}"}}}}}}"#
            ),
            // the exact spelling beats an earlier key that only normalises to it
            format!(
                r#"{{"auths":{{"http://quay.io":{{"auth":"{BOB}"}},"quay.io":{{"auth":"{ALICE}"}}}}}}"#
            ),
            // among normalised spellings the first in file order wins
            format!(
                r#"{{"auths":{{"https://QUAY.io":{{"auth":"{BOB}"}},"http://quay.io/":{{"auth":"{ALICE}"}}}}}}"#
            ),
            // case-insensitive field names, exact spelling first, else the last spelling
            format!(r#"{{"AUTHS":{{"h":{{"Auth":"{ALICE}"}}}}}}"#),
            format!(
                r#"{{"Auths":{{"h":{{"auth":"{ALICE}"}}}},"AUTHS":{{"h":{{"auth":"{BOB}"}}}}}}"#
            ),
            format!(
                r#"{{"auths":{{"h":{{"auth":"{ALICE}"}}}},"AUTHS":{{"h":{{"auth":"{BOB}"}}}}}}"#
            ),
            format!(r#"{{"AUTHS":{{"h":{{"auth":"{ALICE}"}}}},"Auths":null}}"#),
            format!(
                r#"{{"h":{{"IdentityToken":"T","auth":"{ALICE}"}},"auths":{{"h":{{"USERNAME":"u","Password":"p"}}}}}}"#
            ),
            // duplicates: the last value wins, the first position stays
            format!(
                r#"{{"auths":{{"h":{{"auth":"{ALICE}"}},"h":{{"auth":"{BOB}"}}}},"auths":{{"h":{{}}}}}}"#
            ),
            format!(
                r#"{{"auths":{{"http://h":{{"auth":"{ALICE}"}},"https://h":{{"auth":"{BOB}"}},"http://h":{{}}}}}}"#
            ),
            // helpers and stores, in every spelling
            format!(
                r#"{{"auths":{{"h":{{"auth":"{ALICE}"}}}},"credHelpers":{{"h":"pass","https://G":"gg"}},"credsStore":"desktop"}}"#
            ),
            r#"{"CREDSSTORE":"a","credsstore":"b","credhelpers":{"quay.io":"q"},"CredHelpers":7}"#
                .to_string(),
            r#"{"credsStore":"","auths":{"h":{"auth":"Og=="}}}"#.to_string(),
            // entries that hold nothing, or cannot be read
            r#"{"auths":{"h":{"auth":"!!!"},"quay.io":"str","docker.io":[1],"g":null}}"#
                .to_string(),
            r#"{"auths":{"h":{"auth":"PHRva2VuPjo=","identitytoken":"REFRESH"}},"x":[{"y":1.5e3}]}"#
                .to_string(),
            r#"{"auths":{"h":{"auth":"YWxpY2U="}}}"#.to_string(),
            // not objects, escapes, empty files
            r#"{"auths":null}"#.to_string(),
            r#"{"auths":[{"h":1}],"credHelpers":"x"}"#.to_string(),
            r#"{"a\u0075ths":{"\u0068":{"auth":"YWxpY2U6c2VjcmV0"}}}"#.to_string(),
            // non-ASCII text (the valid-UTF-8 path)
            r#"{"ü":"ß","auths":{"h":{"auth":"YWxpY2U6c2VjcmV0","email":"é@x"},"ħ.io":{}}}"#
                .to_string(),
            String::new(),
            " \n\t".to_string(),
            "{}".to_string(),
        ];
        for text in &cases {
            both(text);
        }
    }

    #[test]
    fn same_errors_as_the_full_model() {
        let cases = [
            "[1]",
            "null",
            "\"x\"",
            "{",
            "{\"auths\":{\"h\":{}}} x",
            "{\"auths\":{\"h\":}}",
            "{\"x\":1e999}",
            "{\"auths\":{\"h\":{\"auth\":-1e400}}}",
            "{\"x\":\"\\ud800\"}",
            "{\"x\":\"\\q\"}",
            "{\"x\":\"a\u{1}b\"}",
            "{\"x\":[1,]}",
            "{\"auths\":{\"h\":{\"auth\":\"x\",}}}",
            "{\"auths\":{1:2}}",
            // a map field that is not a map: refused by both (finding 7)
            "{\"auths\":[\"keep-me\"],\"x\":1}",
            "{\"auths\":42}",
            "{\"credHelpers\":\"x\",\"auths\":{}}",
            "{\"Auths\":{},\"AUTHS\":true}",
            "{\"auths\":{\"h\":{}},\"auths\":5}",
            "{\"auths\":5,\"auths\":{}}",
            "{\"credhelpers\":null,\"auths\":null}",
            "{\"auths\":[1,{\"a\":[]}],\"x\":}",
        ];
        for text in cases {
            both(text);
        }
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(200), "]".repeat(200));
        both(&deep);
        let deep = format!(
            "{{\"auths\":{{\"h\":{}1{}}}}}",
            "[".repeat(126),
            "]".repeat(126)
        );
        both(&deep);
        let key = RegistryKey::parse("h").unwrap();
        for bad_utf8 in [
            &b"{\"auths\":{\"h\xff\":{}}}"[..],
            b"{\"x\":\"\xc3\",\"auths\":{\"h\":{\"auth\":\"YWxpY2U6c2VjcmV0\"}}}",
            b"{\"auths\":{\"h\":{\"auth\":\"YWxpY2U6c2VjcmV0\"}}}\xff",
        ] {
            let a = AuthJson::parse(bad_utf8, AuthFileFormat::Auths).unwrap_err();
            let b = AuthLookup::parse(bad_utf8, AuthFileFormat::Auths, &key).unwrap_err();
            assert_eq!(a.to_string(), b.to_string());
        }
    }

    #[test]
    fn a_large_file_answers_like_the_full_model() {
        let mut auths = String::from("{\n\t\"auths\": {");
        for i in 0..2000 {
            if i > 0 {
                auths.push(',');
            }
            let k = match i % 4 {
                0 => format!("registry-{i}.example:5000"),
                1 => format!("https://quay.io/v2/org{i}"),
                2 => format!("quay.io/org{i}"),
                _ => format!("Docker.io/ns{i}"),
            };
            auths.push_str(&format!("\n\t\t\"{k}\": {{\"auth\": \"{ALICE}\"}}"));
        }
        auths.push_str("\n\t}\n}\n");
        agree(
            &auths,
            AuthFileFormat::Auths,
            &[
                "registry-1000.example:5000",
                "quay.io/org2/x",
                "quay.io/org3",
                "quay.io",
                "docker.io/ns7/img",
                "docker.io/ns8",
                "nowhere",
            ],
        );
    }

    #[test]
    fn debug_output_holds_no_secret() {
        let text = format!(r#"{{"auths":{{"h":{{"auth":"{ALICE}"}}}}}}"#);
        let key = RegistryKey::parse("h/ns").unwrap();
        let shown = format!(
            "{:?}",
            AuthLookup::parse(text.as_bytes(), AuthFileFormat::Auths, &key).unwrap()
        );
        assert!(!shown.contains(ALICE), "{shown}");
        assert!(shown.contains("h/ns"), "{shown}");
    }

    #[test]
    fn needles() {
        assert!(contains_ignore_ascii_case("HTTPS://Quay.IO/v2/", "quay.io"));
        assert!(!contains_ignore_ascii_case("quay.i", "quay.io"));
        assert!(contains_ignore_ascii_case("x", ""));
        assert!(contains_ignore_ascii_case("ab", "AB"));
        assert!(!contains_ignore_ascii_case("a", "ab"));
        assert!(contains_ignore_ascii_case(
            "registry-1.example:5000/x",
            "EXAMPLE:5000"
        ));
        assert!(contains_ignore_ascii_case(
            "127.0.0.1:5000",
            "127.0.0.1:5000"
        ));
        assert!(!contains_ignore_ascii_case(
            "registry-127.0.0.1:500",
            "127.0.0.1:5000"
        ));
        assert!(contains_ignore_ascii_case(
            "1111111111111111127.0.0.1:5000",
            "127.0.0.1:5000"
        ));
        assert!(!contains_ignore_ascii_case("", "x"));
        assert_eq!(host_needle("docker.io"), "docker");
        assert_eq!(host_needle("h:5000"), "h:5000");
    }
}
