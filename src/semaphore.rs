//! Semaphores (docs/reference.md, "Semaphores"): the file a service's init
//! writes on a shared volume when the service is ready, refreshes every
//! heartbeat and removes when it stops; and the waiter's side, which counts
//! a semaphore older than three heartbeats as absent. Semaphore directories
//! are shared with other containers, so both sides go through the safe
//! filesystem layer: written atomically under an unpredictable temporary
//! name, touched and removed without following links, read bounded and
//! never from a FIFO or device.

use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::config::{DEFAULT_HEARTBEAT, parse_duration};
use crate::safe_fs::Dir;

/// Keys that make a file a semaphore (a plain file counts when it exists).
const KEYS: [&str; 5] = ["heartbeat", "pid", "service", "hostname", "started"];
/// The most of a semaphore read: ours are ~150 bytes.
pub const MAX_BYTES: usize = 4096;
/// A heartbeat read from a file is capped: no writer may make its
/// semaphore look fresh for longer than this after it stopped.
pub const MAX_HEARTBEAT: Duration = Duration::from_secs(3600);

/// What a waiter needs from a semaphore's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The file has a semaphore's keys (else it is a plain file).
    pub is_semaphore: bool,
    /// Its heartbeat, 5 s when absent or invalid, capped at `MAX_HEARTBEAT`.
    pub heartbeat: Duration,
    pub hostname: Option<String>,
}

/// Parses a semaphore's `key=value` lines; any text is accepted.
pub fn parse(text: &str) -> Parsed {
    let mut parsed = Parsed { is_semaphore: false, heartbeat: DEFAULT_HEARTBEAT, hostname: None };
    for (key, value) in text.lines().filter_map(|l| l.split_once('=')) {
        let key = key.trim();
        parsed.is_semaphore |= KEYS.contains(&key);
        match key {
            "heartbeat" => {
                if let Ok(Some(d)) = parse_duration(value.trim()) {
                    parsed.heartbeat = d.min(MAX_HEARTBEAT);
                }
            }
            "hostname" => parsed.hostname = Some(value.to_string()),
            _ => {}
        }
    }
    parsed
}

/// This container's hostname, as the kernel has it.
pub fn hostname() -> String {
    crate::procfs::system()
        .sysctl("kernel/hostname")
        .map_or_else(|| "unknown".into(), |h| h.trim().to_string())
}

/// The contents that say who made the semaphore and how often it is refreshed.
pub fn contents(service: &str, host: &str, pid: i32, started: u64, heartbeat: Duration) -> String {
    format!(
        "service={service}\nhostname={host}\npid={pid}\nstarted={}\nheartbeat={}ms\n",
        crate::status::rfc3339(started),
        heartbeat.as_millis()
    )
}

/// Why a semaphore (or plain file) is not ready.
#[derive(thiserror::Error)]
pub enum NotFresh {
    #[error("file absent")]
    Absent,
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(
        "stale semaphore: last heartbeat {}s ago, more than 3 × {}s",
        age.as_secs(),
        heartbeat.as_millis().div_ceil(1000)
    )]
    Stale { age: Duration, heartbeat: Duration },
}

crate::error::debug_by_display!(NotFresh);

/// Why a semaphore (or plain file) at `path` is not ready at `now`, if it is not.
pub fn read_fresh(root: &Dir, path: &Path, now: SystemTime) -> Result<Parsed, NotFresh> {
    let (mut file, st) = root.open_input(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => NotFresh::Absent,
        _ => NotFresh::Io(e),
    })?;
    let mut bytes = Vec::new();
    io::Read::read_to_end(&mut io::Read::take(&mut file, MAX_BYTES as u64), &mut bytes)?;
    let parsed = parse(&String::from_utf8_lossy(&bytes));
    if !parsed.is_semaphore {
        return Ok(parsed);
    }
    let mtime = SystemTime::UNIX_EPOCH
        + Duration::from_secs(u64::try_from(st.st_mtime).unwrap_or(0))
        + Duration::from_nanos(u64::try_from(st.st_mtime_nsec).unwrap_or(0));
    let age = now.duration_since(mtime).unwrap_or_default();
    if age > parsed.heartbeat.saturating_mul(3) {
        return Err(NotFresh::Stale { age, heartbeat: parsed.heartbeat });
    }
    Ok(parsed)
}

/// Writes the semaphore at `path` (missing directories made 0755).
pub fn create(root: &Dir, path: &Path, text: &str) -> io::Result<()> {
    let (dir, name) = root.resolve_parent(path, Some(0o755))?;
    dir.write_file(&name, text.as_bytes(), 0o644, None, false)
}

/// Makes the semaphore's directory (missing components 0755).
pub fn make_dir(root: &Dir, path: &Path) -> io::Result<()> {
    let (parent, _) = crate::safe_fs::split(path)?;
    root.resolve_dir(parent, Some(0o755)).map(drop)
}

/// Refreshes the semaphore's mtime: the heartbeat waiters check.
pub fn touch(root: &Dir, path: &Path) -> io::Result<()> {
    let (dir, name) = root.resolve_parent(path, None)?;
    dir.touch(&name)
}

/// Removes the semaphore; an absent one is fine.
pub fn remove(root: &Dir, path: &Path) -> io::Result<()> {
    match root.resolve_parent(path, None) {
        Ok((dir, name)) => dir.remove(&name),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// At boot: a semaphore left at our service's path is false when it is
/// stale or was written by this very host (an earlier run of this
/// container, since nothing of ours runs yet). Returns why it was removed.
pub fn clear_stale(root: &Dir, path: &Path, host: &str) -> Option<String> {
    let why = match read_fresh(root, path, SystemTime::now()) {
        Err(NotFresh::Absent) => return None,
        Err(stale) => stale.to_string(),
        Ok(p) if p.hostname.as_deref() == Some(host) => "left by an earlier run of this container".into(),
        Ok(_) => return None,
    };
    remove(root, path).ok().map(|()| why)
}

#[cfg(test)]
mod tests;
