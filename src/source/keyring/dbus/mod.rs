//! The D-Bus wire format, as much of it as the keyring's direct `get` needs: building a method
//! call ([`W`], little-endian) and reading any message the bus sends back ([`read_message`], both
//! endiannesses; [`R`] for the body). Pure, and built on every OS: the `dbus_reply` fuzz target
//! reads replies with it. Anything malformed is an `Err` with a fixed text (never bytes from the
//! bus), never a panic or a read past the input.
//!
//! The client that speaks it over a Unix socket is `client.rs` (Secret Service builds only).

#[cfg(secret_service)]
pub mod client;

const MAX_MESSAGE: usize = 1 << 24;

/// A method reply: its body and signature. The body may hold secret bytes: zeroed on drop.
pub struct Reply {
    body: Vec<u8>,
    sig: String,
    big: bool,
}

impl Drop for Reply {
    fn drop(&mut self) {
        self.body.fill(0);
        std::hint::black_box(&self.body);
    }
}

/// The lengths a message's fixed 16-byte start announces: (header fields, body), each at most
/// [`MAX_MESSAGE`].
fn frame(fixed: &[u8; 16]) -> Result<(usize, usize), String> {
    let big = match fixed[0] {
        b'l' => false,
        b'B' => true,
        _ => return Err("bad message from the bus".into()),
    };
    let u = |i: usize| {
        let b = [fixed[i], fixed[i + 1], fixed[i + 2], fixed[i + 3]];
        (if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }) as usize
    };
    let (body_len, fields_len) = (u(4), u(12));
    if body_len > MAX_MESSAGE || fields_len > MAX_MESSAGE {
        return Err("message from the bus too large".into());
    }
    Ok((fields_len, body_len))
}

/// What one message from the bus says.
pub struct Message {
    /// The serial it answers, for a method return or an error; `None` for anything else.
    pub reply_to: Option<u32>,
    /// For an error reply: `"<error name>: <message>"`.
    pub error: Option<String>,
    /// Its body and signature.
    pub reply: Reply,
}

/// Reads a message's header fields (`head`: the fixed 16 bytes and the fields, without the
/// padding after them) and wraps its `body`. Pure: anything malformed is an `Err`, never a
/// panic or a read past the input.
fn decode(head: &[u8], body: Vec<u8>) -> Result<Message, String> {
    let big = head.first() == Some(&b'B');
    if head.len() < 16 {
        return Err(SHORT.into());
    }
    let kind = head[1];
    let (mut reply_to, mut error, mut sig) = (None, None, String::new());
    let mut c = R {
        b: head,
        pos: 16,
        big,
    };
    while c.pos < c.b.len() {
        c.align(8)?;
        let code = c.byte()?;
        let t = c.sig()?;
        match t.as_str() {
            "u" => {
                let v = c.u32()?;
                if code == 5 {
                    reply_to = Some(v);
                }
            }
            "s" | "o" => {
                let v = c.str()?;
                if code == 4 {
                    error = Some(v);
                }
            }
            "g" => {
                let v = c.sig()?;
                if code == 8 {
                    sig = v;
                }
            }
            _ => return Err("unexpected header field from the bus".into()),
        }
    }
    let reply = Reply { body, sig, big };
    // Only a method return (2) or an error (3) answers a call.
    let reply_to = reply_to.filter(|_| matches!(kind, 2 | 3));
    let error = (kind == 3).then(|| {
        let text = reply.reader().str().unwrap_or_default();
        format!("{}: {text}", error.unwrap_or_default())
    });
    Ok(Message {
        reply_to,
        error,
        reply,
    })
}

/// Reads one whole message from the start of `bytes`, as [`Bus::wait`] reads it from the
/// socket; also how many bytes it took. The pure entry point of the reply reader (fuzzed).
pub fn read_message(bytes: &[u8]) -> Result<(Message, usize), String> {
    let fixed: &[u8; 16] = bytes
        .get(..16)
        .and_then(|b| b.try_into().ok())
        .ok_or(SHORT)?;
    let (fields_len, body_len) = frame(fixed)?;
    let head_end = 16 + fields_len.next_multiple_of(8);
    let end = head_end + body_len;
    if bytes.len() < end {
        return Err(SHORT.into());
    }
    let m = decode(&bytes[..16 + fields_len], bytes[head_end..end].to_vec())?;
    Ok((m, end))
}

impl Reply {
    /// The signature of the body.
    pub fn sig(&self) -> &str {
        &self.sig
    }

    /// A reader from the start of the body.
    pub fn reader(&self) -> R<'_> {
        R {
            b: &self.body,
            pos: 0,
            big: self.big,
        }
    }
}

/// Writes a body (little-endian; alignment relative to its start).
pub struct W(pub Vec<u8>);

impl W {
    pub fn align(&mut self, n: usize) {
        while !self.0.len().is_multiple_of(n) {
            self.0.push(0);
        }
    }
    pub fn u32(&mut self, v: u32) {
        self.align(4);
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    /// A string or an object path.
    pub fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
    }
    pub fn sig(&mut self, s: &str) {
        self.0.push(s.len() as u8);
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
    }
    /// `a{ss}`.
    pub fn dict(&mut self, entries: &[(&str, &str)]) {
        self.u32(0);
        let at = self.0.len() - 4;
        self.align(8);
        let start = self.0.len();
        for (k, v) in entries {
            self.align(8);
            self.str(k);
            self.str(v);
        }
        let len = (self.0.len() - start) as u32;
        self.0[at..at + 4].copy_from_slice(&len.to_le_bytes());
    }
}

/// Reads a body.
pub struct R<'a> {
    b: &'a [u8],
    pos: usize,
    big: bool,
}

const SHORT: &str = "short message from the bus";

impl<'a> R<'a> {
    pub fn align(&mut self, n: usize) -> Result<(), String> {
        self.pos = self.pos.next_multiple_of(n);
        if self.pos > self.b.len() {
            return Err(SHORT.into());
        }
        Ok(())
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.b.len());
        let s = &self.b[self.pos..end.ok_or(SHORT)?];
        self.pos += n;
        Ok(s)
    }
    pub fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    pub fn u32(&mut self) -> Result<u32, String> {
        self.align(4)?;
        let b: [u8; 4] = self.take(4)?.try_into().map_err(|_| SHORT)?;
        Ok(if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }
    /// A string or an object path.
    pub fn str(&mut self) -> Result<String, String> {
        let n = self.u32()? as usize;
        let s = self.take(n)?;
        self.take(1)?;
        String::from_utf8(s.to_vec()).map_err(|_| "bad string from the bus".into())
    }
    pub fn sig(&mut self) -> Result<String, String> {
        let n = self.byte()? as usize;
        let s = self.take(n)?;
        self.take(1)?;
        String::from_utf8(s.to_vec()).map_err(|_| "bad signature from the bus".into())
    }
    /// `ay`.
    pub fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    /// `ao`.
    pub fn paths(&mut self) -> Result<Vec<String>, String> {
        let n = self.u32()? as usize;
        let end = self.pos + n;
        let mut out = Vec::new();
        while self.pos < end {
            out.push(self.str()?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dict_and_strings_round_trip() {
        let mut w = W(Vec::new());
        w.str("x");
        w.dict(&[("service", "ocicred"), ("username", "quay.io/org")]);
        let r = Reply {
            body: w.0.clone(),
            sig: "sa{ss}".into(),
            big: false,
        };
        let mut c = r.reader();
        assert_eq!(c.str().unwrap(), "x");
        let n = c.u32().unwrap() as usize;
        c.align(8).unwrap();
        let end = c.pos + n;
        let mut got = Vec::new();
        while c.pos < end {
            c.align(8).unwrap();
            got.push((c.str().unwrap(), c.str().unwrap()));
        }
        assert_eq!(got[1], ("username".into(), "quay.io/org".into()));
        assert!(c.str().is_err(), "past the end is an error, not a panic");
    }

    #[test]
    fn reads_messages_as_the_bus_sends_them() {
        // The fuzz seeds: real reply layouts (both byte orders), an error, a signal, bad frames.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/dbus_reply");
        let bytes = |n: &str| std::fs::read(dir.join(n)).unwrap();
        let (m, used) = read_message(&bytes("get_secret")).unwrap();
        assert_eq!((m.reply_to, used), (Some(4), bytes("get_secret").len()));
        assert_eq!(m.reply.sig(), "(oayays)");
        let mut c = m.reply.reader();
        c.str().unwrap();
        assert_eq!(c.bytes().unwrap(), b"");
        assert_eq!(
            c.bytes().unwrap(),
            br#"{"ServerURL":"h","Username":"u","Secret":"s"}"#
        );
        let (m, _) = read_message(&bytes("get_secret_big_endian")).unwrap();
        let mut c = m.reply.reader();
        assert_eq!(c.str().unwrap(), "/s");
        c.bytes().unwrap();
        assert_eq!(c.bytes().unwrap(), b"x");
        let (m, _) = read_message(&bytes("search_locked")).unwrap();
        let mut c = m.reply.reader();
        assert!(c.paths().unwrap().is_empty());
        assert_eq!(c.paths().unwrap().len(), 1);
        let (m, _) = read_message(&bytes("error")).unwrap();
        assert_eq!(
            m.error.as_deref(),
            Some("org.freedesktop.Secret.Error.NoSuchObject: Cannot find item")
        );
        assert_eq!(read_message(&bytes("signal")).unwrap().0.reply_to, None);
        assert!(read_message(&bytes("truncated")).is_err());
        assert!(read_message(&bytes("too_large")).is_err());
        assert!(read_message(b"").is_err());
    }
}
