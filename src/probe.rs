//! The one probe module (docs/reference.md, "Waits"): a wait target
//! checked once, as boot's waits, services' ready probes and `watch = true`
//! all check theirs. A file is ready when it exists and, if it is a
//! semaphore, is fresh; tcp and unix when a connection is accepted; http
//! on a 2xx answer, read whole so that no server sees its connection
//! reset. Pure of the process: a `command` target is the caller's to run,
//! and the binary runs the kinds that may block in a child
//! (process/probe_child.rs), so no check ever holds up PID 1's loop.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use crate::config::Target;
use crate::semaphore::NotFresh;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Why a target is not ready. A reason is shown whole, in parentheses
/// after its target as often as at the end of a line, so each message
/// holds its cause and none has a `source()` (src/error.rs). The last
/// variants are the binary's, for the checks it runs in a child
/// (process/probe_child.rs).
#[derive(thiserror::Error)]
pub enum NotReady {
    #[error(transparent)]
    Semaphore(#[from] NotFresh),
    /// A connection refused, a read or write that failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("cannot resolve {host}: {error}")]
    Resolve { host: String, error: std::io::Error },
    #[error("{0} has no address")]
    NoAddress(String),
    #[error("not an http:// URL")]
    NotHttp,
    #[error("unclosed [ in the host")]
    Unclosed,
    #[error("bad port {0:?}")]
    Port(String),
    #[error("no answer")]
    NoAnswer,
    #[error("no end of the headers in {HEAD_MAX} bytes")]
    LongHead,
    #[error("the answer ended within its headers")]
    CutHead,
    #[error("HTTP status {0:?}")]
    Status(String),
    #[error("command {0:?} must be run by the caller")]
    Command(Vec<String>),
    /// What a check run in a forked child wrote back before it failed.
    #[error("{0}")]
    Said(String),
    #[error("it exited with code {0}")]
    Exited(i32),
    /// By the named signal.
    #[error("it was killed by {0}")]
    Killed(String),
    #[error("the check was still running at the timeout")]
    Timeout,
    /// A call needed to run the check failed (`pipe`, `fork`, `waitpid`).
    #[error("{call}: {errno}")]
    Os { call: &'static str, errno: nix::errno::Errno },
    /// A `command` that could not be started.
    #[error("{0}")]
    Spawn(Box<crate::error::Error>),
}

crate::error::debug_by_display!(NotReady);

/// Checks `target` once: `Ok` when ready, else why not. A `command` target
/// is the caller's to run (the binary spawns it as a child of init).
pub fn once(target: &Target) -> Result<(), NotReady> {
    match target {
        Target::File(path) => file_ready(path, SystemTime::now()),
        Target::Tcp { host, port } => connect(host, *port).map(drop),
        Target::Unix(path) => Ok(UnixStream::connect(path).map(drop)?),
        Target::Http(url) => http_ready(url),
        Target::Command(argv) => Err(NotReady::Command(argv.clone())),
    }
}

/// A file is ready when it exists and, if it is a semaphore, is fresh
/// (read through the safe layer: bounded, never a FIFO).
pub fn file_ready(path: &Path, now: SystemTime) -> Result<(), NotReady> {
    let root = crate::safe_fs::root()?;
    Ok(crate::semaphore::read_fresh(&root, path, now).map(drop)?)
}

fn connect(host: &str, port: u16) -> Result<TcpStream, NotReady> {
    let addrs =
        (host, port).to_socket_addrs().map_err(|error| NotReady::Resolve { host: host.into(), error })?;
    let mut last = NotReady::NoAddress(host.into());
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(s) => return Ok(s),
            Err(e) => last = NotReady::Io(e),
        }
    }
    Err(last)
}

/// The most of an answer's status line and headers read (docs/reference.md,
/// "Waits"); a longer head is not an answer a probe believes.
const HEAD_MAX: usize = 8 * 1024;
/// The most of an answer read in all, its body drained so that closing
/// the connection does not reset it; past it, the probe closes anyway.
const ANSWER_MAX: usize = 64 * 1024;
const READ_TIMEOUT: Duration = Duration::from_secs(2);

/// `http://host[:port][/path]` answers with a 2xx status (plain HTTP/1.0).
fn http_ready(url: &str) -> Result<(), NotReady> {
    let rest = url.strip_prefix("http://").ok_or(NotReady::NotHttp)?;
    let (authority, path) =
        rest.split_once('/').map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let (host, port) = split_authority(authority)?;
    let mut stream = connect(host, port)?;
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {authority}\r\nUser-Agent: mooring-init\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes())?;
    // No half-close after the request: some servers take it for a
    // cancelled request (docs/reference.md, "Services", Ready probes).
    let answer = read_answer(&mut stream, Instant::now() + READ_TIMEOUT)?;
    judge_answer(&answer)
}

/// Reads an HTTP/1.0 answer until the server closes the connection (so
/// that ours closes without a reset), at most ANSWER_MAX bytes and until
/// `deadline`. A status line and headers split over many reads are read
/// whole; once the head is in, a body cut short by the bound or the
/// deadline does not matter.
fn read_answer(stream: &mut impl Read, deadline: Instant) -> Result<Vec<u8>, NotReady> {
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while answer.len() < ANSWER_MAX && Instant::now() < deadline && !complete(&answer) {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) if head_end(&answer).is_some() => break,
            Err(e) => return Err(NotReady::Io(e)),
        }
    }
    Ok(answer)
}

/// The head is in and so is the body its Content-Length announced: the
/// whole answer, though the server keeps the connection open.
fn complete(answer: &[u8]) -> bool {
    let Some(end) = head_end(answer) else { return false };
    let head = String::from_utf8_lossy(&answer[..end]);
    let length = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim().eq_ignore_ascii_case("content-length").then(|| value.trim().parse::<usize>().ok())?
    });
    length.is_some_and(|n| answer.len() >= end.saturating_add(n))
}

/// Where the head (status line and headers) ends: after its blank line.
fn head_end(answer: &[u8]) -> Option<usize> {
    let head = &answer[..answer.len().min(HEAD_MAX)];
    let crlf = head.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    crlf.or_else(|| head.windows(2).position(|w| w == b"\n\n").map(|i| i + 2))
}

/// `Ok` when the answer's head is complete and its status is 2xx.
fn judge_answer(answer: &[u8]) -> Result<(), NotReady> {
    let Some(end) = head_end(answer) else {
        return Err(match answer.len() {
            0 => NotReady::NoAnswer,
            n if n >= HEAD_MAX => NotReady::LongHead,
            _ => NotReady::CutHead,
        });
    };
    let head = String::from_utf8_lossy(&answer[..end]);
    let line = head.lines().next().unwrap_or("");
    let code = line.split_whitespace().nth(1).unwrap_or("");
    if line.starts_with("HTTP/") && code.starts_with('2') && code.len() == 3 {
        Ok(())
    } else {
        Err(NotReady::Status(code.into()))
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port` → host and port (80 by default).
fn split_authority(authority: &str) -> Result<(&str, u16), NotReady> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, rest) = v6.split_once(']').ok_or(NotReady::Unclosed)?;
            (host, rest.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        },
    };
    let port = port.map_or(Ok(80), |p| p.parse().map_err(|_| NotReady::Port(p.into())))?;
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves one connection: reads the request, writes `pieces` one by
    /// one, each after the client's previous read could have returned,
    /// then reads until the client closes; true when nothing failed (no
    /// reset met by a write or the last read).
    fn serve_in_pieces(pieces: &'static [&'static [u8]]) -> (String, std::thread::JoinHandle<bool>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/health", listener.local_addr().expect("addr"));
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().expect("accept");
            let _ = conn.set_nodelay(true);
            let mut request = [0u8; 1024];
            let mut ok = conn.read(&mut request).is_ok();
            for piece in pieces {
                ok &= conn.write_all(piece).is_ok();
                // A slow server: the client reads each piece on its own.
                std::thread::sleep(Duration::from_millis(30));
            }
            // HTTP/1.0: the answer ends where the connection does.
            let _ = conn.shutdown(std::net::Shutdown::Write);
            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
            ok & conn.read(&mut request).is_ok()
        });
        (url, server)
    }

    /// A reader that hands out its pieces one read at a time.
    struct Pieces(Vec<&'static [u8]>);

    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Ok(0);
            }
            let n = self.0[0].len().min(buf.len());
            buf[..n].copy_from_slice(&self.0[0][..n]);
            self.0[0] = &self.0[0][n..];
            if self.0[0].is_empty() {
                self.0.remove(0);
            }
            Ok(n)
        }
    }

    #[test]
    fn answers_are_read_whole_and_judged_by_their_status_line() {
        let later = Instant::now() + Duration::from_secs(5);
        let read =
            |pieces: Vec<&'static [u8]>| judge_answer(&read_answer(&mut Pieces(pieces), later).unwrap());
        assert!(read(vec![b"H", b"TTP/1.0 2", b"00 OK\r", b"\n\r\n", b"body"]).is_ok());
        assert!(read(vec![b"HTTP/1.1 204 No Content\n\n"]).is_ok());
        let busy = read(vec![b"HTTP/1.0 503 Busy\r\n\r\n"]).unwrap_err();
        assert!(matches!(&busy, NotReady::Status(code) if code == "503"), "{busy}");
        assert_eq!(busy.to_string(), "HTTP status \"503\"");
        let cut = read(vec![b"HTTP/1.0 200 OK\r\nServer: x"]).unwrap_err();
        assert!(matches!(cut, NotReady::CutHead), "{cut}");
        assert_eq!(cut.to_string(), "the answer ended within its headers");
        assert!(matches!(read(vec![]), Err(NotReady::NoAnswer)));
        let ssh = read(vec![b"SSH-2.0-OpenSSH 200 x\r\n\r\n"]);
        assert!(matches!(ssh, Err(NotReady::Status(code)) if code == "200"));
        let long: &'static [u8] = Box::leak(vec![b'x'; HEAD_MAX].into_boxed_slice());
        let long = read(vec![b"HTTP/1.0 200 OK\r\n", long, b"\r\n\r\n"]);
        assert!(matches!(long, Err(NotReady::LongHead)), "a head past 8 KiB");
        // Content-Length says where a kept-open answer ends: no more reads.
        let mut kept_open =
            Pieces(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", b"ok", b"never read"]);
        assert!(read_answer(&mut kept_open, later).unwrap().ends_with(b"ok"));
        assert_eq!(kept_open.0.len(), 1);
    }

    #[test]
    fn a_status_line_split_over_reads_still_parses_and_nothing_is_reset() {
        let body: &'static [u8] = Box::leak(vec![b'x'; 16 * 1024].into_boxed_slice());
        let pieces: &'static [&'static [u8]] =
            Box::leak(Box::new([&b"HTT"[..], b"P/1.1 20", b"4 No Content\r\nServer: t\r\n", b"\r\n", body]));
        let (url, server) = serve_in_pieces(pieces);
        assert!(http_ready(&url).is_ok());
        assert!(server.join().expect("server"), "the server met a reset");
    }

    #[test]
    fn http_authorities_with_and_without_ports() {
        assert_eq!(split_authority("api").unwrap(), ("api", 80));
        assert_eq!(split_authority("api:8080").unwrap(), ("api", 8080));
        assert_eq!(split_authority("[::1]").unwrap(), ("::1", 80));
        assert_eq!(split_authority("[::1]:81").unwrap(), ("::1", 81));
        assert!(matches!(split_authority("api:x"), Err(NotReady::Port(p)) if p == "x"));
        assert!(matches!(split_authority("[::1"), Err(NotReady::Unclosed)));
    }
}
