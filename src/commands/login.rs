//! `ocicred login [-u USER] [--password-stdin] [--no-verify] REGISTRY[/NAMESPACE]`.
//!
//! It owns getting the user name and password from a person (a terminal prompt without echo,
//! or stdin with `--password-stdin`), checking them against the registry before anything is
//! stored, and saying where they went. The check: `GET /v2/` without credentials; a Basic
//! challenge → the same `GET` with Basic auth must answer 200; a Bearer challenge → `GET
//! realm?service=…` with Basic auth must answer 200; a registry that answers 200 needs no
//! credentials and they are stored unchecked. HTTPS always; plain HTTP only for loopback
//! hosts after HTTPS fails. Refused credentials are never stored.

use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::commands::probe::{Probe, ProbeAnswer, describe};
use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::registry::RegistryKey;
use crate::resolver::Resolver;
use crate::secret::Secret;

/// What `login` was asked.
#[derive(Clone, Debug, Default)]
pub struct LoginArgs {
    pub registry: String,
    pub username: Option<String>,
    pub password_stdin: bool,
    pub no_verify: bool,
}

/// Asks a person for what was not given on the command line.
pub trait Prompter {
    /// A visible line (the user name).
    fn line(&self, prompt: &str) -> Result<String>;
    /// A hidden line (the password).
    fn hidden(&self, prompt: &str) -> Result<Secret<String>>;
}

/// Prompts on the controlling terminal (`/dev/tty`), never on stdout.
pub struct TtyPrompter;

fn no_tty(e: std::io::Error) -> Error {
    Error::InvalidInput(format!(
        "cannot prompt: no terminal ({e}); pass -u USER and --password-stdin"
    ))
}

impl Prompter for TtyPrompter {
    fn line(&self, prompt: &str) -> Result<String> {
        use std::io::BufRead;
        let mut tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .map_err(no_tty)?;
        tty.write_all(prompt.as_bytes()).map_err(no_tty)?;
        let mut line = String::new();
        std::io::BufReader::new(tty)
            .read_line(&mut line)
            .map_err(no_tty)?;
        Ok(line.trim().to_string())
    }

    fn hidden(&self, prompt: &str) -> Result<Secret<String>> {
        rpassword::prompt_password(prompt)
            .map(Secret::new)
            .map_err(no_tty)
    }
}

/// Runs `login`; `resolver` stores, `probe` checks.
pub fn run(
    args: &LoginArgs,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    prompter: &dyn Prompter,
    probe: &dyn Probe,
    resolver: &Resolver,
) -> Result<i32> {
    let key = RegistryKey::parse(&args.registry)?;
    if key.is_hub_web_login() {
        return Err(Error::InvalidInput(
            "log in to docker.io, not to its web-login keys".into(),
        ));
    }
    resolver.check_blocked(&key)?;
    let username = match &args.username {
        Some(u) => u.trim().to_string(),
        None => prompter.line("Username: ")?,
    };
    if username.is_empty() {
        return Err(Error::NoUsername);
    }
    let password = if args.password_stdin {
        let mut buf = Vec::new();
        stdin
            .take(crate::protocol::MAX_STDIN as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(|e| Error::InvalidInput(format!("cannot read stdin: {e}")))?;
        let text = String::from_utf8(buf)
            .map_err(|_| Error::InvalidInput("the password on stdin is not UTF-8".into()))?;
        Secret::new(text.trim_end_matches(['\n', '\r']).to_string())
    } else {
        prompter.hidden("Password: ")?
    };
    if password.expose().is_empty() {
        return Err(Error::InvalidInput("empty password".into()));
    }
    let w = |e: std::io::Error| Error::InvalidInput(format!("cannot write output: {e}"));
    let cred = Credential::basic(username.clone(), password.expose().clone());
    if !args.no_verify {
        match verify(probe, key.host(), &username, &password)? {
            Verdict::Accepted => {}
            Verdict::Open => writeln!(
                out,
                "{} asks for no credentials; storing them unchecked",
                key.host()
            )
            .map_err(w)?,
            Verdict::Refused(status) => {
                return Err(Error::Http(format!(
                    "{} refused the credentials for {username} (HTTP {status}); nothing was stored",
                    key.host()
                )));
            }
        }
    }
    let place = resolver.store(&key, &cred)?;
    writeln!(
        out,
        "Login Succeeded: {username} for {key}, stored in {place}"
    )
    .map_err(w)?;
    Ok(0)
}

/// What the registry said about the credentials.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    Open,
    Refused(u16),
}

fn is_loopback(host: &str) -> bool {
    let h = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, p)| {
            if p.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        }),
    };
    h == "localhost"
        || h.ends_with(".localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Checks `username`/`password` against `host` (`host[:port]`).
pub fn verify(
    probe: &dyn Probe,
    host: &str,
    username: &str,
    password: &Secret<String>,
) -> Result<Verdict> {
    let host = if host == crate::registry::DOCKER_HUB {
        "registry-1.docker.io"
    } else {
        host
    };
    let mut base = format!("https://{host}");
    let first = match probe.get(&format!("{base}/v2/"), None) {
        Ok(a) => a,
        Err(e) if is_loopback(host) => {
            base = format!("http://{host}");
            probe.get(&format!("{base}/v2/"), None).map_err(|_| e)?
        }
        Err(e) => return Err(e),
    };
    let basic = Secret::new(format!(
        "Basic {}",
        STANDARD.encode(format!("{username}:{}", password.expose()))
    ));
    match first.status {
        200 => return Ok(Verdict::Open),
        401 => {}
        s => {
            return Err(Error::Http(format!(
                "{}/v2/ answered HTTP {s}; cannot check the credentials (use --no-verify to store them unchecked)",
                describe(&base)
            )));
        }
    }
    let check = |url: &str| -> Result<Verdict> {
        let ProbeAnswer { status, .. } = probe.get(url, Some(&basic))?;
        Ok(match status {
            200 => Verdict::Accepted,
            401 | 403 => Verdict::Refused(status),
            s => {
                return Err(Error::Http(format!(
                    "{} answered HTTP {s} while checking the credentials (use --no-verify to store them unchecked)",
                    describe(url)
                )));
            }
        })
    };
    for value in &first.www_authenticate {
        let (scheme, params) = parse_challenge(value);
        if scheme.eq_ignore_ascii_case("basic") {
            return check(&format!("{base}/v2/"));
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            let Some(realm) = param(&params, "realm") else {
                continue;
            };
            if !realm_allowed(realm) {
                return Err(Error::Http(format!(
                    "the token realm {} is not HTTPS; refusing to send the password there",
                    describe(realm)
                )));
            }
            let mut url = realm.to_string();
            if let Some(service) = param(&params, "service") {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str("service=");
                url.push_str(&query_escape(service));
            }
            return check(&url);
        }
    }
    Err(Error::Http(format!(
        "{}/v2/ asks for credentials without a Basic or Bearer challenge; cannot check them (use --no-verify)",
        describe(&base)
    )))
}

/// A realm gets the password only over HTTPS, or plain HTTP on a loopback host.
fn realm_allowed(realm: &str) -> bool {
    realm.starts_with("https://")
        || realm
            .strip_prefix("http://")
            .is_some_and(|rest| is_loopback(rest.split(['/', '?']).next().unwrap_or("")))
}

fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `Scheme k=v, k="v"` → (scheme, params). Minimal: one challenge per header value.
fn parse_challenge(value: &str) -> (String, Vec<(String, String)>) {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let mut params = Vec::new();
    let mut s = rest.trim();
    while !s.is_empty() {
        let Some((k, after)) = s.split_once('=') else {
            break;
        };
        let k = k.trim().trim_start_matches(',').trim().to_string();
        let after = after.trim_start();
        let (v, next) = if let Some(q) = after.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = q.char_indices();
            let mut end = q.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            v.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => v.push(c),
                }
            }
            (v, &q[end..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        params.push((k, v));
        s = next.trim_start().trim_start_matches(',').trim_start();
    }
    (scheme.to_string(), params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// (url, with credentials, status, WWW-Authenticate values).
    type Answer = (String, bool, u16, Vec<String>);

    struct Scripted {
        answers: RefCell<Vec<Answer>>,
        seen: RefCell<Vec<(String, bool)>>,
    }

    impl Scripted {
        fn new(answers: &[(&str, bool, u16, &[&str])]) -> Self {
            Scripted {
                answers: RefCell::new(
                    answers
                        .iter()
                        .map(|(u, a, s, w)| {
                            (
                                u.to_string(),
                                *a,
                                *s,
                                w.iter().map(|x| x.to_string()).collect(),
                            )
                        })
                        .collect(),
                ),
                seen: RefCell::default(),
            }
        }
    }

    impl Probe for Scripted {
        fn get(&self, url: &str, auth: Option<&Secret<String>>) -> Result<ProbeAnswer> {
            self.seen.borrow_mut().push((url.into(), auth.is_some()));
            let answers = self.answers.borrow();
            let (_, _, status, www) = answers
                .iter()
                .find(|(u, a, _, _)| u == url && *a == auth.is_some())
                .ok_or_else(|| Error::Http(format!("{url}: connection refused")))?;
            Ok(ProbeAnswer {
                status: *status,
                www_authenticate: www.clone(),
            })
        }
    }

    fn pw() -> Secret<String> {
        Secret::new("pw".into())
    }

    #[test]
    fn basic_and_bearer_flows() {
        let p = Scripted::new(&[
            ("https://r.io/v2/", false, 401, &["Basic realm=\"x\""]),
            ("https://r.io/v2/", true, 200, &[]),
        ]);
        assert_eq!(verify(&p, "r.io", "u", &pw()).unwrap(), Verdict::Accepted);
        let p = Scripted::new(&[
            (
                "https://r.io/v2/",
                false,
                401,
                &["Bearer realm=\"https://auth.r.io/token\",service=\"r io\""],
            ),
            ("https://auth.r.io/token?service=r%20io", true, 401, &[]),
        ]);
        assert_eq!(
            verify(&p, "r.io", "u", &pw()).unwrap(),
            Verdict::Refused(401)
        );
        let p = Scripted::new(&[("https://r.io/v2/", false, 200, &[])]);
        assert_eq!(verify(&p, "r.io", "u", &pw()).unwrap(), Verdict::Open);
    }

    #[test]
    fn plain_http_only_for_loopback() {
        let p = Scripted::new(&[
            ("http://127.0.0.1:5000/v2/", false, 401, &["Basic realm=x"]),
            ("http://127.0.0.1:5000/v2/", true, 200, &[]),
        ]);
        assert_eq!(
            verify(&p, "127.0.0.1:5000", "u", &pw()).unwrap(),
            Verdict::Accepted
        );
        let p = Scripted::new(&[("http://r.io/v2/", false, 200, &[])]);
        assert!(verify(&p, "r.io", "u", &pw()).is_err());
        assert_eq!(p.seen.borrow().len(), 1, "no plain-HTTP retry");
        let p = Scripted::new(&[(
            "https://r.io/v2/",
            false,
            401,
            &["Bearer realm=\"http://evil.example/token\""],
        )]);
        assert!(verify(&p, "r.io", "u", &pw()).is_err());
        assert_eq!(p.seen.borrow().len(), 1, "password never sent over HTTP");
    }

    #[test]
    fn challenge_parsing() {
        let (s, p) =
            parse_challenge(r#"Bearer realm="https://a/t?x=1",service="reg, one",scope="""#);
        assert_eq!(s, "Bearer");
        assert_eq!(param(&p, "realm"), Some("https://a/t?x=1"));
        assert_eq!(param(&p, "service"), Some("reg, one"));
        assert!(is_loopback("127.0.0.1:5000") && is_loopback("[::1]:5000"));
        assert!(is_loopback("localhost") && !is_loopback("example.org:5000"));
    }
}
