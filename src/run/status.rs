//! `$INIT_RUN_DIR/status.json`: PID 1 rewrites it atomically (temp file +
//! rename) on every state change; `init status` and `init health` read it.
//! The JSON is small and ours, so it is written and read here by hand (a
//! serde stack would cost more than the whole supervisor).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use mooring::error::Error;
pub use mooring::status::{ServiceStatus, Status};

pub const DEFAULT_RUN_DIR: &str = "/run/init";

/// The run directory: `INIT_RUN_DIR`, else /run/init.
pub fn run_dir() -> PathBuf {
    std::env::var_os("INIT_RUN_DIR").filter(|v| !v.is_empty()).map_or(DEFAULT_RUN_DIR.into(), PathBuf::from)
}

pub fn status_path() -> PathBuf {
    run_dir().join("status.json")
}

/// Writes `status` to `path` atomically (the directory is created if
/// needed) through the safe layer: a run directory on a volume others may
/// write cannot turn the write against another file.
pub fn write(path: &Path, status: &Status) -> std::io::Result<()> {
    let root = mooring::safe_fs::Dir::base(Path::new("/"))?;
    let (dir, name) = root.resolve_parent(path, Some(0o755))?;
    dir.write_file(&name, status.to_json().as_bytes(), 0o644, None, false)
}

/// The status of the running PID 1, when its file exists and names a live process.
pub fn read_live(path: &Path) -> Result<Status, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::NoStatus {
        path: path.into(),
        why: if e.kind() == std::io::ErrorKind::NotFound {
            "absent: is init running services here?".into()
        } else {
            e.to_string()
        },
    })?;
    let status = Status::from_json(&text).map_err(|why| Error::NoStatus { path: path.into(), why })?;
    if !Path::new(&format!("/proc/{}", status.pid)).exists() {
        return Err(Error::NoStatus {
            path: path.into(),
            why: format!("its init (pid {}) is not running", status.pid),
        });
    }
    Ok(status)
}

pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
