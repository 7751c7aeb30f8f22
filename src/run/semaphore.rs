//! Semaphores a service's init writes (SPEC.md section 8): created (atomically)
//! when the service is ready, its mtime refreshed every heartbeat while it
//! runs, removed when it stops. The waiter side (staleness after three
//! heartbeats) is setup/wait.rs.

use std::path::Path;
use std::time::{Duration, SystemTime};

use mooring::setup::wait::check_file;

/// This container's hostname, as the kernel has it.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map_or_else(|_| "unknown".into(), |h| h.trim().to_string())
}

/// The contents that say who made the semaphore and how often it is refreshed.
pub fn contents(service: &str, host: &str, pid: i32, started: u64, heartbeat: Duration) -> String {
    format!(
        "service={service}\nhostname={host}\npid={pid}\nstarted={}\nheartbeat={}ms\n",
        crate::run::status::rfc3339(started),
        heartbeat.as_millis()
    )
}

/// Creates the semaphore at `path` with `text`: written beside it, then renamed.
pub fn create(path: &Path, text: &str) -> std::io::Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Refreshes the semaphore's mtime: the heartbeat waiters check.
pub fn touch(path: &Path) -> std::io::Result<()> {
    std::fs::File::options().write(true).open(path)?.set_modified(SystemTime::now())
}

pub fn remove(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// At boot: a semaphore left at our service's path is false when it is stale
/// or was written by this very host (a previous run of this container, since
/// nothing of ours runs yet). Returns why it was removed, if it was.
pub fn clear_stale(path: &Path, host: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let ours = text.lines().any(|l| l.strip_prefix("hostname=") == Some(host));
    let why = match check_file(path, SystemTime::now()) {
        Err(stale) => stale,
        Ok(()) if ours => "left by an earlier run of this container".into(),
        Ok(()) => return None,
    };
    remove(path).ok().map(|()| why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_semaphore_is_fresh_and_names_its_maker() {
        let dir = std::env::temp_dir().join(format!("mooring-sem-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("db.ready");
        let text = contents("db", "host-a", 42, 0, Duration::from_secs(2));
        create(&path, &text).unwrap();
        assert_eq!(check_file(&path, SystemTime::now()), Ok(()));
        let back = std::fs::read_to_string(&path).unwrap();
        assert!(
            back.contains("service=db\n") && back.contains("pid=42\n") && back.contains("heartbeat=2000ms\n")
        );
        // Fresh and written by another host: left alone; by this host: removed.
        assert_eq!(clear_stale(&path, "host-b"), None);
        assert!(path.exists());
        assert!(clear_stale(&path, "host-a").is_some());
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "no temp file left");
        std::fs::remove_dir(&dir).unwrap();
    }
}
