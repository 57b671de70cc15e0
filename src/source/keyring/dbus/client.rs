//! A minimal blocking D-Bus client for the hot path of a keyring `get`: one Unix socket on the
//! calling thread, SASL `EXTERNAL`, and the messages `Hello`, `OpenSession("plain")`,
//! `SearchItems` and `Item.GetSecret` in the wire format of [`super`].
//!
//! It exists because zbus on async-io hands every message between three or four threads, which
//! costs more wall time than the few round trips themselves. Every read and write is bounded by
//! one deadline (socket timeouts). Anything it does not understand is an error, and the caller
//! then falls back to the full client; errors carry D-Bus error names, never secret bytes.
//! Reading a message is pure ([`super::read_message`]): this code only gathers the bytes the
//! fixed header announces.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use super::{Reply, W, decode, frame};

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

impl Drop for Bus {
    fn drop(&mut self) {
        // Bytes drained earlier may linger past the length: clear the whole allocation.
        self.rbuf.resize(self.rbuf.capacity(), 0);
        self.rbuf.fill(0);
        std::hint::black_box(&self.rbuf);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(unescape("/tmp/a%2cb").unwrap(), b"/tmp/a,b");
        assert!(unescape("%zz").is_err());
        assert!(open("tcp:host=localhost,port=1").is_err());
    }
}
