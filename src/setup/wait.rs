//! Phase 6: waiting for dependencies. A target is checked with back-off
//! (50 ms doubling to 1 s), each with its own timeout (exit 75 naming it);
//! every 10 s one line says what is still awaited and why. File targets
//! that are semaphores carry liveness: a semaphore whose mtime is older than
//! three heartbeats (its `heartbeat=` line, 5 s when absent) counts as absent,
//! so a container killed with SIGKILL cannot leave a false "ready" behind.
//! Plain files (no `key=value` lines of a semaphore) count when they exist.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use tracing::info;

use crate::config::duration::{deadline, doubled, later, millis};
use crate::config::{Target, Wait};
use crate::error::Error;

const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
const REPORT_EVERY: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Checks `target` once: `Ok` when ready, else why not. A `command` target
/// is the caller's to run (the binary spawns it as a child of init).
pub fn check(target: &Target) -> Result<(), String> {
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
    crate::semaphore::check(&root, path, now).map(drop)
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

/// One target being awaited.
struct Pending<'a> {
    wait: &'a Wait,
    next: Instant,
    backoff: Duration,
    why: String,
}

/// Checks one target, giving up at the deadline; `Err(signal)` when a stop
/// signal came meanwhile. (The binary runs the checks that may block in a
/// child, so that a signal is never kept waiting.)
pub type Probe<'a> = &'a mut dyn FnMut(&Target, Option<Instant>) -> Result<Result<(), String>, i32>;

/// Waits for every target. `pause(d)` sleeps up to `d` and returns a signal
/// number when a stop signal ended the wait early.
pub fn wait_all(
    waits: &[Wait],
    mut pause: impl FnMut(Duration) -> Option<i32>,
    probe: Probe<'_>,
) -> Result<(), Error> {
    let start = Instant::now();
    let mut pending: Vec<Pending> = waits
        .iter()
        .map(|w| Pending { wait: w, next: start, backoff: FIRST_BACKOFF, why: String::new() })
        .collect();
    let mut report = later(start, REPORT_EVERY);
    let all: Vec<String> = waits.iter().map(|w| w.target.to_string()).collect();
    info!("waiting for {}", all.join(", "));
    loop {
        let now = Instant::now();
        let mut i = 0;
        while i < pending.len() {
            let p = &mut pending[i];
            if p.next > now {
                i += 1;
                continue;
            }
            let until = p.wait.timeout.and_then(|t| deadline(start, t));
            match probe(&p.wait.target, until).map_err(Error::Interrupted)? {
                Ok(()) => {
                    info!(target = %p.wait.target, waited_ms = millis(now.duration_since(start)), "ready");
                    pending.remove(i);
                    continue;
                }
                Err(why) => p.why = why,
            }
            let now = Instant::now();
            if p.wait.timeout.is_some_and(|t| now.duration_since(start) >= t) {
                return Err(Error::WaitTimeout { target: p.wait.target.to_string(), why: p.why.clone() });
            }
            p.next = later(now, p.backoff);
            p.backoff = doubled(p.backoff, MAX_BACKOFF);
            i += 1;
        }
        if pending.is_empty() {
            return Ok(());
        }
        if now >= report {
            let list: Vec<String> =
                pending.iter().map(|p| format!("{} ({})", p.wait.target, p.why)).collect();
            info!("still waiting for {}", list.join(", "));
            report = later(now, REPORT_EVERY);
        }
        let mut until = pending.iter().map(|p| p.next).min().unwrap_or(now).min(report);
        for p in &pending {
            if let Some(end) = p.wait.timeout.and_then(|t| deadline(start, t)) {
                until = until.min(end);
            }
        }
        if let Some(sig) = pause(until.saturating_duration_since(Instant::now())) {
            return Err(Error::Interrupted(sig));
        }
    }
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
