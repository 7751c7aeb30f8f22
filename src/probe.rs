//! The one probe module (docs/reference.md, "Waits"): a wait target
//! checked once, as boot's waits, services' ready probes and `watch = true`
//! all check theirs. A file is ready when it exists and, if it is a
//! semaphore, is fresh; tcp and unix when a connection is accepted; http
//! on a 2xx answer. Pure of the process: a `command` target is the
//! caller's to run, and the binary runs the kinds that may block in a child
//! (run/probe_child.rs), so no check ever holds up PID 1's loop.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::config::Target;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Checks `target` once: `Ok` when ready, else why not. A `command` target
/// is the caller's to run (the binary spawns it as a child of init).
pub fn once(target: &Target) -> Result<(), String> {
    match target {
        Target::File(path) => check_file(path, SystemTime::now()),
        Target::Tcp { host, port } => connect(host, *port).map(drop),
        Target::Unix(path) => UnixStream::connect(path).map(drop).map_err(|e| e.to_string()),
        Target::Http(url) => check_http(url),
        Target::Command(argv) => Err(format!("command {argv:?} must be run by the caller")),
    }
}

/// A file is ready when it exists and, if it is a semaphore, is fresh
/// (read through the safe layer: bounded, never a FIFO).
pub fn check_file(path: &Path, now: SystemTime) -> Result<(), String> {
    let root = crate::safe_fs::root().map_err(|e| e.to_string())?;
    crate::semaphore::read_fresh(&root, path, now).map(drop)
}

fn connect(host: &str, port: u16) -> Result<TcpStream, String> {
    let addrs = (host, port).to_socket_addrs().map_err(|e| format!("cannot resolve {host}: {e}"))?;
    let mut last = format!("{host} has no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(s) => return Ok(s),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

/// `http://host[:port][/path]` answers with a 2xx status (plain HTTP/1.0).
fn check_http(url: &str) -> Result<(), String> {
    let rest = url.strip_prefix("http://").ok_or("not an http:// URL")?;
    let (authority, path) =
        rest.split_once('/').map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let (host, port) = split_authority(authority)?;
    let mut stream = connect(host, port)?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\nUser-Agent: mooring-init\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).map_err(|e| e.to_string())?;
    let line = String::from_utf8_lossy(&head[..n]);
    let code = line.split_whitespace().nth(1).unwrap_or("");
    if code.starts_with('2') && code.len() == 3 { Ok(()) } else { Err(format!("HTTP status {code:?}")) }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port` → host and port (80 by default).
fn split_authority(authority: &str) -> Result<(&str, u16), String> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, rest) = v6.split_once(']').ok_or("unclosed [ in the host")?;
            (host, rest.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        },
    };
    let port = port.map_or(Ok(80), |p| p.parse().map_err(|_| format!("bad port {p:?}")))?;
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_authorities_with_and_without_ports() {
        assert_eq!(split_authority("api"), Ok(("api", 80)));
        assert_eq!(split_authority("api:8080"), Ok(("api", 8080)));
        assert_eq!(split_authority("[::1]"), Ok(("::1", 80)));
        assert_eq!(split_authority("[::1]:81"), Ok(("::1", 81)));
        assert!(split_authority("api:x").is_err());
        assert!(split_authority("[::1").is_err());
    }
}
