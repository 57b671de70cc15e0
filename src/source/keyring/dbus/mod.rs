//! A minimal blocking D-Bus client for the hot path of a keyring `get`: one Unix socket on the
//! calling thread, SASL `EXTERNAL`, and just enough of the wire format (little-endian out, both
//! endiannesses in) for `Hello`, `OpenSession("plain")`, `SearchItems` and `Item.GetSecret`.
//!
//! It exists because zbus on async-io hands every message between three or four threads, which
//! costs more wall time than the few round trips themselves. Every read and write is bounded by
//! one deadline (socket timeouts). Anything it does not understand is an error, and the caller
//! then falls back to the full client; errors carry D-Bus error names, never secret bytes.
//! Reading a message is pure ([`read_message`], fuzzed by the `dbus_reply` target): the
//! socket code only gathers the bytes the fixed header announces.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

const MAX_MESSAGE: usize = 1 << 24;

/// Why a call failed.
#[derive(Debug)]
pub enum BusError {
    /// The deadline passed: the peer did not answer in time.
    TimedOut,
    /// Anything else (the text names D-Bus errors, never secret bytes; seen only in `Debug`).
    Other(#[allow(dead_code)] String),
}

impl From<String> for BusError {
    fn from(s: String) -> Self {
        BusError::Other(s)
    }
}

impl From<&str> for BusError {
    fn from(s: &str) -> Self {
        BusError::Other(s.into())
    }
}

fn io_err(e: std::io::Error) -> BusError {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => BusError::TimedOut,
        _ => BusError::Other(e.to_string()),
    }
}

/// One connection to a bus.
pub struct Bus {
    sock: UnixStream,
    serial: u32,
    deadline: Instant,
    /// Messages not sent yet: written in one go by [`Bus::wait`].
    out: Vec<u8>,
    /// Bytes received and not consumed yet (`rbuf[rpos..]`).
    rbuf: Vec<u8>,
    rpos: usize,
    /// Replies that arrived before they were waited for.
    stash: Vec<(u32, Result<Reply, String>)>,
}

/// A method reply: its body and signature. The body may hold secret bytes: zeroed on drop.
pub struct Reply {
    body: Vec<u8>,
    sig: String,
    big: bool,
}

impl Drop for Bus {
    fn drop(&mut self) {
        // Bytes drained earlier may linger past the length: clear the whole allocation.
        self.rbuf.resize(self.rbuf.capacity(), 0);
        self.rbuf.fill(0);
        std::hint::black_box(&self.rbuf);
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        self.body.fill(0);
        std::hint::black_box(&self.body);
    }
}

fn unescape(v: &str) -> Result<Vec<u8>, String> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = v
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("bad escape in the bus address")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// Connects without blocking: a bus that does not accept at once (a full backlog) is an error.
fn connect_now(addr: &rustix::net::SocketAddrUnix) -> Result<UnixStream, String> {
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    let fd = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )
    .and_then(|fd| rustix::net::connect(&fd, addr).map(|()| fd))
    .and_then(|fd| rustix::io::ioctl_fionbio(&fd, false).map(|()| fd))
    .map_err(|e| e.to_string())?;
    Ok(UnixStream::from(fd))
}

fn open(addr: &str) -> Result<UnixStream, String> {
    use rustix::net::SocketAddrUnix;
    let Some(("unix", params)) = addr.split_once(':') else {
        return Err("not a unix: bus address".into());
    };
    for kv in params.split(',') {
        let sa = match kv.split_once('=') {
            Some(("path", v)) => {
                use std::os::unix::ffi::OsStringExt;
                SocketAddrUnix::new(std::ffi::OsString::from_vec(unescape(v)?))
            }
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Some(("abstract", v)) => SocketAddrUnix::new_abstract_name(&unescape(v)?),
            _ => continue,
        };
        return connect_now(&sa.map_err(|e| e.to_string())?);
    }
    Err("no path in the bus address".into())
}

impl Bus {
    /// Connects to the first usable address of `address` and authenticates as `uid`.
    pub fn connect(address: &str, uid: u32, timeout: Duration) -> Result<Bus, BusError> {
        let deadline = Instant::now() + timeout;
        let mut last = BusError::from("empty bus address");
        for addr in address.split(';').filter(|a| !a.is_empty()) {
            match open(addr) {
                Ok(sock) => {
                    let mut bus = Bus {
                        sock,
                        serial: 0,
                        deadline,
                        out: Vec::new(),
                        rbuf: Vec::new(),
                        rpos: 0,
                        stash: Vec::new(),
                    };
                    bus.auth(uid)?;
                    return Ok(bus);
                }
                Err(e) => last = e.into(),
            }
        }
        Err(last)
    }

    /// What is left of the deadline.
    fn left(&self) -> Result<Duration, BusError> {
        self.deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or(BusError::TimedOut)
    }

    /// The rest of the deadline as the read timeout.
    fn arm(&self) -> Result<(), BusError> {
        let left = self.left()?;
        self.sock.set_read_timeout(Some(left)).map_err(io_err)
    }

    fn flush(&mut self) -> Result<(), BusError> {
        if self.out.is_empty() {
            return Ok(());
        }
        let left = self.left()?;
        self.sock.set_write_timeout(Some(left)).map_err(io_err)?;
        let r = self.sock.write_all(&self.out).map_err(io_err);
        self.out.clear();
        r
    }

    /// Fills `b`, reading the socket in large chunks.
    fn read(&mut self, b: &mut [u8]) -> Result<(), BusError> {
        while self.rbuf.len() - self.rpos < b.len() {
            self.rbuf.drain(..self.rpos);
            self.rpos = 0;
            let have = self.rbuf.len();
            self.rbuf.resize(have + (b.len() - have).max(4096), 0);
            self.arm()?;
            let n = match self.sock.read(&mut self.rbuf[have..]) {
                Ok(0) => Err(BusError::from("the bus closed the connection")),
                Ok(n) => Ok(n),
                Err(e) => Err(io_err(e)),
            };
            self.rbuf.truncate(have + n.as_ref().map_or(0, |n| *n));
            n?;
        }
        b.copy_from_slice(&self.rbuf[self.rpos..self.rpos + b.len()]);
        self.rpos += b.len();
        Ok(())
    }

    fn auth(&mut self, uid: u32) -> Result<(), BusError> {
        let hex: String = uid
            .to_string()
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.out = format!("\0AUTH EXTERNAL {hex}\r\n").into_bytes();
        self.flush()?;
        // The server says nothing more until BEGIN, so one line is all there is to read.
        let mut line = Vec::new();
        let mut buf = [0u8; 256];
        while !line.ends_with(b"\r\n") {
            self.arm()?;
            let n = self.sock.read(&mut buf).map_err(io_err)?;
            if n == 0 || line.len() > 4096 {
                return Err("the bus closed during authentication".into());
            }
            line.extend_from_slice(&buf[..n]);
        }
        if !line.starts_with(b"OK ") {
            return Err("the bus refused EXTERNAL authentication".into());
        }
        self.out.extend_from_slice(b"BEGIN\r\n");
        Ok(())
    }

    /// Queues a method call; its serial is what [`Bus::wait`] takes.
    pub fn send(
        &mut self,
        dest: &str,
        path: &str,
        iface: &str,
        member: &str,
        sig: &str,
        body: &[u8],
    ) -> Result<u32, BusError> {
        self.serial += 1;
        let mut m = W(Vec::with_capacity(160 + body.len()));
        m.0.extend_from_slice(&[b'l', 1, 0, 1]);
        m.u32(u32::try_from(body.len()).map_err(|_| BusError::from("body too long"))?);
        m.u32(self.serial);
        m.u32(0);
        let fields: [(u8, u8, &str); 5] = [
            (1, b'o', path),
            (6, b's', dest),
            (2, b's', iface),
            (3, b's', member),
            (8, b'g', sig),
        ];
        for (code, t, v) in fields {
            if v.is_empty() {
                continue;
            }
            m.align(8);
            m.0.extend_from_slice(&[code, 1, t, 0]);
            if t == b'g' {
                m.sig(v);
            } else {
                m.str(v);
            }
        }
        let len = (m.0.len() - 16) as u32;
        m.0[12..16].copy_from_slice(&len.to_le_bytes());
        m.align(8);
        m.0.extend_from_slice(body);
        self.out.extend_from_slice(&m.0);
        Ok(self.serial)
    }

    /// The reply to `serial`; an error reply becomes `Err("name: message")`.
    pub fn wait(&mut self, serial: u32) -> Result<Reply, BusError> {
        if let Some(i) = self.stash.iter().position(|(s, _)| *s == serial) {
            return self.stash.swap_remove(i).1.map_err(BusError::Other);
        }
        self.flush()?;
        loop {
            let mut fixed = [0u8; 16];
            self.read(&mut fixed)?;
            let (fields_len, body_len) = frame(&fixed)?;
            let mut head = vec![0u8; 16 + fields_len.next_multiple_of(8)];
            head[..16].copy_from_slice(&fixed);
            self.read(&mut head[16..])?;
            let mut body = vec![0u8; body_len];
            self.read(&mut body)?;
            let m = decode(&head[..16 + fields_len], body)?;
            let Some(to) = m.reply_to else {
                continue; // a signal or a call to us: not ours to answer
            };
            let result = match m.error {
                Some(e) => Err(e),
                None => Ok(m.reply),
            };
            if to == serial {
                return result.map_err(BusError::Other);
            }
            self.stash.push((to, result));
        }
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

    #[test]
    fn addresses() {
        assert_eq!(unescape("/tmp/a%2cb").unwrap(), b"/tmp/a,b");
        assert!(unescape("%zz").is_err());
        assert!(open("tcp:host=localhost,port=1").is_err());
    }
}
