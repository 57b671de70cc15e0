//! `ocicred login [-u USER] [--password-stdin] [--no-verify] REGISTRY[/NAMESPACE]`.
//!
//! It owns getting the user name and password from a person (a terminal prompt without echo,
//! or stdin with `--password-stdin`), checking them against the registry before anything is
//! stored, and saying where they went. The check: `GET /v2/` without credentials; a Basic
//! challenge → the same `GET` with Basic auth must answer 200; a Bearer challenge → `GET
//! realm?service=…` with Basic auth must answer 200; a registry that answers 200 needs no
//! credentials and they are stored unchecked. HTTPS first; plain HTTP only for loopback hosts
//! or hosts marked `insecure` in registries.conf, after HTTPS fails. Refused credentials are
//! never stored. HTTP goes through the crate's one client ([`crate::oci::http`]).

use std::io::{Read, Write};

use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::registry_key::RegistryKey;
use crate::resolver::Resolver;
use crate::secret::Secret;

use crate::oci::cache::Remembered;
pub use crate::oci::http::{HttpClient, Method, Request, Response, describe};
use crate::oci::{plain_http_allowed, token};

/// How long one HTTP call of the check may take.
pub const PER_CALL: std::time::Duration = std::time::Duration::from_secs(10);

pub use crate::oci::InsecureFn;

fn get(
    http: &dyn HttpClient,
    url: &str,
    authorization: Option<&Secret<String>>,
) -> Result<Response> {
    http.send(&Request {
        method: Method::Get,
        url: url.to_string(),
        authorization: authorization.cloned(),
        form: None,
        timeout: PER_CALL,
    })
}

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
    http: &dyn HttpClient,
    insecure: InsecureFn,
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
        match verify(http, insecure, key.host(), &username, &password)? {
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

/// How long the check that a name is loopback may take.
const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Checks `username`/`password` against `host` (`host[:port]`).
pub fn verify(
    http: &dyn HttpClient,
    insecure: InsecureFn,
    host: &str,
    username: &str,
    password: &Secret<String>,
) -> Result<Verdict> {
    let host = if host == crate::registry_key::DOCKER_HUB {
        "registry-1.docker.io"
    } else {
        host
    };
    let mut base = format!("https://{host}");
    let first = match get(http, &format!("{base}/v2/"), None) {
        Ok(a) => a,
        Err(e) if plain_http_allowed(http, host, insecure, RESOLVE_TIMEOUT) => {
            base = format!("http://{host}");
            get(http, &format!("{base}/v2/"), None).map_err(|_| e)?
        }
        Err(e) => return Err(e),
    };
    let basic = crate::oci::basic_value(username, password.expose());
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
        let status = get(http, url, Some(&basic))?.status;
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
    // The same choice, realm check and realm URL as the Bazel token exchange.
    match crate::oci::choose_challenge(&first.www_authenticate) {
        Some(Remembered::Basic) => check(&format!("{base}/v2/")),
        Some(Remembered::Bearer { realm, service }) => {
            crate::oci::check_realm(http, &realm, insecure, RESOLVE_TIMEOUT).map_err(|e| {
                Error::Http(format!(
                    "{e}; refusing to send the password to the token realm"
                ))
            })?;
            check(&token::get_url(&realm, service.as_deref(), None))
        }
        Some(Remembered::Open) | None => Err(Error::Http(format!(
            "{}/v2/ asks for credentials without a Basic or Bearer challenge; cannot check them (use --no-verify)",
            describe(&base)
        ))),
    }
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

    impl HttpClient for Scripted {
        fn send(&self, req: &Request) -> Result<Response> {
            let (url, auth) = (req.url.as_str(), req.authorization.is_some());
            self.seen.borrow_mut().push((url.into(), auth));
            let answers = self.answers.borrow();
            let (_, _, status, www) = answers
                .iter()
                .find(|(u, a, _, _)| u == url && *a == auth)
                .ok_or_else(|| Error::Http(format!("{url}: connection refused")))?;
            Ok(Response {
                status: *status,
                www_authenticate: www.clone(),
                body: Vec::new(),
            })
        }

        fn resolve_loopback(&self, _: &str, _: std::time::Duration) -> bool {
            false
        }
    }

    fn none(_: &str) -> bool {
        false
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
        assert_eq!(
            verify(&p, &none, "r.io", "u", &pw()).unwrap(),
            Verdict::Accepted
        );
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
            verify(&p, &none, "r.io", "u", &pw()).unwrap(),
            Verdict::Refused(401)
        );
        let p = Scripted::new(&[("https://r.io/v2/", false, 200, &[])]);
        assert_eq!(
            verify(&p, &none, "r.io", "u", &pw()).unwrap(),
            Verdict::Open
        );
    }

    #[test]
    fn plain_http_only_for_loopback() {
        let p = Scripted::new(&[
            ("http://127.0.0.1:5000/v2/", false, 401, &["Basic realm=x"]),
            ("http://127.0.0.1:5000/v2/", true, 200, &[]),
        ]);
        assert_eq!(
            verify(&p, &none, "127.0.0.1:5000", "u", &pw()).unwrap(),
            Verdict::Accepted
        );
        let p = Scripted::new(&[("http://r.io/v2/", false, 200, &[])]);
        assert!(verify(&p, &none, "r.io", "u", &pw()).is_err());
        assert_eq!(p.seen.borrow().len(), 1, "no plain-HTTP retry");
        let p = Scripted::new(&[(
            "https://r.io/v2/",
            false,
            401,
            &["Bearer realm=\"http://evil.example/token\""],
        )]);
        assert!(verify(&p, &none, "r.io", "u", &pw()).is_err());
        assert_eq!(p.seen.borrow().len(), 1, "password never sent over HTTP");
    }

    #[test]
    fn loopback_and_insecure_hosts() {
        let p = Scripted::new(&[]);
        let lo = |a: &str| plain_http_allowed(&p, a, &none, RESOLVE_TIMEOUT);
        assert!(lo("127.0.0.1:5000") && lo("[::1]:5000") && lo("localhost"));
        assert!(!lo("example.org:5000"));
        // `*.localhost` is loopback only if it resolves so (the scripted resolver says no).
        assert!(!lo("reg.localhost:5000"));
        let realm_allowed = |realm: &str, insecure: InsecureFn| {
            crate::oci::check_realm(&p, realm, insecure, RESOLVE_TIMEOUT).is_ok()
        };
        assert!(!realm_allowed("http://reg.localhost/token", &none));
        let insecure = |h: &str| h == "reg.lan:5000";
        let p = Scripted::new(&[
            ("http://reg.lan:5000/v2/", false, 401, &["Basic realm=x"]),
            ("http://reg.lan:5000/v2/", true, 403, &[]),
        ]);
        assert_eq!(
            verify(&p, &insecure, "reg.lan:5000", "u", &pw()).unwrap(),
            Verdict::Refused(403)
        );
        assert!(realm_allowed("http://reg.lan:5000/token", &insecure));
        assert!(!realm_allowed("http://other/token", &insecure));
        assert!(!realm_allowed("ftp://reg.lan:5000/token", &insecure));
    }
}
