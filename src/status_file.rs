//! `$INIT_RUN_DIR/status.json`: PID 1 rewrites it atomically (temp file +
//! rename) on every state change; `init status` and `init health` read it.
//! The JSON is small and ours, so it is written and read here by hand (a
//! serde stack would cost more than the whole supervisor).

use std::cell::RefCell;
use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::process::retry::Retry;

use mooring::error::Error;
use mooring::procfs::{self, Procfs};
use mooring::safe_fs::Dir;
use mooring::status::Error as Untrusted;
pub use mooring::status::{ServiceStatus, Status};

pub const DEFAULT_RUN_DIR: &str = "/run/init";

/// Where init goes when the run directory cannot be written (a read-only
/// root filesystem, not root): docs/reference.md, "Status".
const FALLBACK_DIRS: [&str; 2] = ["/dev/shm/init", "/tmp/init"];

/// The run directory: `INIT_RUN_DIR`, else /run/init.
pub fn run_dir() -> PathBuf {
    std::env::var_os("INIT_RUN_DIR").filter(|v| !v.is_empty()).map_or(DEFAULT_RUN_DIR.into(), PathBuf::from)
}

/// Every place a status file may be, in the order init tries them.
pub fn places() -> Vec<PathBuf> {
    let mut dirs = vec![run_dir()];
    for d in FALLBACK_DIRS.map(PathBuf::from) {
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    dirs.into_iter().map(|d| d.join("status.json")).collect()
}

/// The status file this init keeps: at the first place it could write, in
/// the run directory it holds open from then on (the control and notify
/// sockets are bound through the same descriptor: docs/security.md).
pub struct StatusFile {
    at: Option<(Rc<Dir>, PathBuf)>,
    /// The last write, when it failed: retried on a timer until it works.
    failed: RefCell<Option<Failed>>,
}

/// A status write that failed, and when to try it again.
struct Failed {
    json: String,
    retry: Retry,
}

impl StatusFile {
    /// Writes the status `first` gives at the first place that takes it,
    /// with one WARN when that is a fallback or when no place did. `first`
    /// is handed each place's directory before the write: the supervisor
    /// binds its control socket there, so no client ever reads a status
    /// whose socket is not listening yet.
    pub fn create(mut first: impl FnMut(&Rc<Dir>) -> Status) -> StatusFile {
        let mut refused = Vec::new();
        for path in places() {
            let placed = open_run_dir(&path)
                .map(Rc::new)
                .and_then(|dir| write(&dir, &first(&dir).to_json()).map(|()| dir));
            match placed {
                Ok(dir) => {
                    if !refused.is_empty() {
                        tracing::warn!(path = %path.display(), "status file moved: {}", refused.join("; "));
                    }
                    return StatusFile { at: Some((dir, path)), failed: RefCell::new(None) };
                }
                Err(e) => refused.push(e.to_string()),
            }
        }
        tracing::warn!(
            "no status file ({}): init status and init health cannot find this init",
            refused.join("; ")
        );
        StatusFile { at: None, failed: RefCell::new(None) }
    }

    /// The run directory, held open (`None`: no place could be written).
    pub fn dir(&self) -> Option<&Rc<Dir>> {
        self.at.as_ref().map(|(dir, _)| dir)
    }

    /// Rewrites the file. A failure is one WARN naming the path and the
    /// error, and the write is retried (`retry`) until it works: a status
    /// that says `starting` for a service that is ready would make probes
    /// fail while everything works (docs/reference.md, "Status").
    pub fn write(&self, status: &Status) {
        let json = status.to_json();
        let mut failed = self.failed.borrow_mut();
        if let Some(f) = failed.as_mut() {
            f.json = json;
            return;
        }
        let Some((dir, path)) = &self.at else { return };
        if let Err(e) = write(dir, &json) {
            tracing::warn!(path = %path.display(), error = %e, "status file not written; retrying");
            *failed = Some(Failed { json, retry: Retry::first(Instant::now()) });
        }
    }

    /// When a failed write is to be tried again (`None`: nothing failed).
    pub fn retry_at(&self) -> Option<Instant> {
        self.failed.borrow().as_ref().map(|f| f.retry.at)
    }

    /// Tries a failed write again when its time came; one INFO when it works.
    pub fn retry(&self, now: Instant) {
        let mut failed = self.failed.borrow_mut();
        let (Some(f), Some((dir, path))) = (failed.as_mut(), &self.at) else { return };
        if !f.retry.due(now) {
            return;
        }
        match write(dir, &f.json) {
            Ok(()) => {
                let failures = f.retry.failures;
                tracing::info!(path = %path.display(), failures, "status file written again");
                *failed = None;
            }
            Err(e) => {
                f.retry.again(now);
                let failures = f.retry.failures;
                tracing::debug!(path = %path.display(), error = %e, failures, "status file still not written");
            }
        }
    }

    /// Nothing runs any more: no status file may claim otherwise.
    pub fn remove(&self) {
        if let Some((dir, _)) = &self.at {
            let _ = dir.remove(OsStr::new(STATUS_NAME));
        }
    }
}

/// The status file's name in the run directory.
const STATUS_NAME: &str = "status.json";

fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or(path)
}

/// The directory of the status file `path`, made if needed and opened
/// through the safe layer (only root's links followed on the way). It must
/// be init's or root's and writable by no one else, or others could
/// remove or replace what init puts there (the fallbacks live in
/// world-writable /dev/shm and /tmp).
fn open_run_dir(path: &Path) -> std::io::Result<Dir> {
    let root = mooring::safe_fs::root()?;
    let (dir, _) = root.resolve_parent(path, Some(0o755))?;
    let st = dir.stat()?;
    let me = nix::unistd::geteuid().as_raw();
    let shown = parent(path).display();
    if st.st_uid != me && st.st_uid != 0 {
        return Err(std::io::Error::other(format!("{shown}: owned by uid {}", st.st_uid)));
    }
    if st.st_mode & 0o022 != 0 {
        let mode = st.st_mode & 0o7777;
        return Err(std::io::Error::other(format!("{shown}: others may write it (mode {mode:04o})")));
    }
    Ok(dir)
}

/// Writes the status `json` atomically in the run directory `dir`.
fn write(dir: &Dir, json: &str) -> std::io::Result<()> {
    dir.write_file(OsStr::new(STATUS_NAME), json.as_bytes(), 0o644, None, false)
}

/// The status of the live init, from the first place that has one. When
/// none does, the first problem other than an absent file, else the run
/// directory's "absent".
pub fn find_live() -> Result<Status, Error> {
    find_live_at().map(|(status, _)| status)
}

/// As `find_live`, with the path of the status file.
pub fn find_live_at() -> Result<(Status, PathBuf), Error> {
    let mut problem = None;
    let mut absent = None;
    for path in places() {
        match read_live(&path) {
            Ok(status) => return Ok((status, path)),
            Err(e) if std::fs::symlink_metadata(&path).is_err() => absent = absent.or(Some(e)),
            Err(e) => problem = problem.or(Some(e)),
        }
    }
    Err(problem.or(absent).unwrap_or_else(|| Error::NoStatus {
        path: run_dir().join("status.json"),
        source: Untrusted::Nowhere,
    }))
}

/// Status files are small; anything larger is not one of ours.
const MAX_STATUS_BYTES: u64 = 1 << 20;

/// The status of the running init: its file read without blocking (a FIFO
/// planted there is refused, not waited on) and bounded, then trusted only
/// when the pid it names is alive, is mooring, owns the file and started
/// when the file says (docs/security.md).
fn read_live(path: &Path) -> Result<Status, Error> {
    let no_status = |source| Error::NoStatus { path: path.into(), source };
    let (text, owner, dir_owner) = read_small(path).map_err(no_status)?;
    believed(owner, dir_owner).map_err(no_status)?;
    let status = Status::from_json(&text).map_err(no_status)?;
    trust(&status, owner, &procfs::system()).map_err(no_status)?;
    Ok(status)
}

/// Whom a client believes (docs/security.md, "Whom a client believes"): a
/// status file and its directory owned by root, by the caller's own uid,
/// or by the uid that PID 1 of the caller's pid namespace runs as. A file
/// another uid planted (in /dev/shm before init started) is not init's.
fn believed(owner: u32, dir_owner: u32) -> Result<(), Untrusted> {
    let me = nix::unistd::geteuid().as_raw();
    let pid1 = procfs::system().uids(1).map(|(u, _)| u);
    let ok = |uid: u32| uid == 0 || uid == me || Some(uid) == pid1;
    match [("file", owner), ("directory", dir_owner)].into_iter().find(|&(_, uid)| !ok(uid)) {
        None => Ok(()),
        Some((what, uid)) => Err(Untrusted::Owner { what, uid, me }),
    }
}

/// The file's text, its owner's uid and its directory's: a regular file of
/// at most 1 MiB, read through the safe layer (no blocking open, only
/// root's links followed on the way, none at the end).
fn read_small(path: &Path) -> Result<(String, u32, u32), Untrusted> {
    let opened = mooring::safe_fs::root().and_then(|root| {
        let (dir, name) = root.resolve_parent(path, None)?;
        Ok((dir.stat()?.st_uid, dir.open_regular(&name)?))
    });
    let (dir_owner, (file, st)) = opened.map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Untrusted::Absent,
        _ => Untrusted::Io(e),
    })?;
    if st.st_size > MAX_STATUS_BYTES as i64 {
        return Err(Untrusted::TooLarge(st.st_size));
    }
    let mut text = String::new();
    file.take(MAX_STATUS_BYTES).read_to_string(&mut text)?;
    Ok((text, st.st_uid, dir_owner))
}

/// Whether `status`, from a file owned by `owner`, speaks for a running
/// init: `Err` says why not. `proc` is /proc (a parameter for tests).
fn trust(status: &Status, owner: u32, proc: &Procfs) -> Result<(), Untrusted> {
    let pid = status.pid;
    let Some(theirs) = proc.stat(pid).filter(|_| pid > 0) else {
        return Err(Untrusted::NotRunning(pid));
    };
    let own = proc.stat("self");
    let same_exe = match (proc.exe_id(pid), proc.exe_id("self")) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    };
    if !same_exe && own.as_ref().is_none_or(|o| o.comm != theirs.comm) {
        return Err(Untrusted::NotMooring { pid, comm: theirs.comm });
    }
    match status.pid_start {
        Some(start) if start == theirs.start => {}
        Some(recorded) => return Err(Untrusted::Restarted { pid, started: theirs.start, recorded }),
        None => return Err(Untrusted::NoPidStart(pid)),
    }
    // A file someone else wrote (a planted one in a shared fallback
    // directory such as /tmp/init) does not speak for the init.
    match proc.owner(pid) {
        Ok(uid) if uid == owner => Ok(()),
        Ok(uid) => Err(Untrusted::OtherOwner { owner, pid, uid }),
        Err(source) => Err(Untrusted::Proc { pid, source }),
    }
}

/// This process's start time, for the status file it writes.
pub fn own_start() -> Option<u64> {
    static START: OnceLock<Option<u64>> = OnceLock::new();
    *START.get_or_init(|| procfs::system().stat("self").map(|s| s.start))
}

pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
