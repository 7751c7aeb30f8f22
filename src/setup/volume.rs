//! `[[volume]]`: create the directory, give the tree its owner, set the
//! mode of the path itself, seed an empty volume from the image. The chown
//! walk changes only entries whose owner differs, never follows a symlink
//! (it changes the link itself), never leaves the tree, stops at other
//! filesystems when asked, and leaves hard-linked files alone (a hard link
//! can point at a file outside the volume, e.g. /etc/shadow). It walks with
//! a few threads, all joined before this returns, so before any child runs.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};

use crate::config::Volume;
use crate::error::Error;

/// What a volume's preparation did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub created: bool,
    pub seeded: u64,
    pub scanned: u64,
    pub changed: u64,
    /// Hard-linked files left alone, and mount points not crossed.
    pub skipped: Vec<PathBuf>,
}

/// Directories a volume may never be (a recursive chown there breaks the image).
pub const SYSTEM_DIRS: [&str; 9] = ["/", "/etc", "/usr", "/bin", "/sbin", "/lib", "/proc", "/sys", "/dev"];

fn fail(path: &Path, e: &std::io::Error) -> Error {
    let code = if e.kind() == std::io::ErrorKind::PermissionDenied { 77 } else { 71 };
    Error::Destination { path: path.to_path_buf(), reason: e.to_string(), code }
}

/// Prepares one volume; `owner` is the resolved (uid, gid), if any.
pub fn prepare(v: &Volume, owner: Option<(u32, u32)>) -> Result<Report, Error> {
    let mut report = Report::default();
    if !v.path.exists() {
        if !v.create {
            return Err(Error::Destination {
                path: v.path.clone(),
                reason: "does not exist (create = false)".into(),
                code: 78,
            });
        }
        fs::create_dir_all(&v.path).map_err(|e| fail(&v.path, &e))?;
        report.created = true;
    }
    let real = fs::canonicalize(&v.path).map_err(|e| fail(&v.path, &e))?;
    if SYSTEM_DIRS.iter().any(|s| real == Path::new(s)) {
        return Err(Error::Destination {
            path: v.path.clone(),
            reason: format!("resolves to {}, a system directory", real.display()),
            code: 78,
        });
    }
    let meta = fs::metadata(&real).map_err(|e| fail(&real, &e))?;
    if !meta.is_dir() {
        return Err(Error::Destination {
            path: v.path.clone(),
            reason: "is not a directory".into(),
            code: 78,
        });
    }
    if let Some(seed) = &v.seed {
        let empty = fs::read_dir(&real).map_err(|e| fail(&real, &e))?.next().is_none();
        if empty {
            report.seeded = copy_tree(seed, &real)?;
        }
    }
    if let Some((uid, gid)) = owner {
        if (meta.uid(), meta.gid()) != (uid, gid) {
            std::os::unix::fs::lchown(&real, Some(uid), Some(gid)).map_err(|e| fail(&real, &e))?;
            report.changed += 1;
        }
        report.scanned += 1;
        if v.recursive {
            let walked = walk(&real, meta.dev(), v.one_filesystem, uid, gid)?;
            report.scanned += walked.scanned;
            report.changed += walked.changed;
            report.skipped = walked.skipped;
        }
    }
    if let Some(mode) = v.mode
        && meta.mode() & 0o7777 != mode
    {
        fs::set_permissions(&real, fs::Permissions::from_mode(mode)).map_err(|e| fail(&real, &e))?;
    }
    Ok(report)
}

/// The shared state of a parallel walk: directories still to read.
struct Queue {
    dirs: Vec<PathBuf>,
    busy: usize,
    error: Option<Error>,
}

/// Chowns everything below `root` whose owner differs, with a few threads.
fn walk(root: &Path, dev: u64, one_fs: bool, uid: u32, gid: u32) -> Result<Report, Error> {
    let queue = Mutex::new(Queue { dirs: vec![root.to_path_buf()], busy: 0, error: None });
    let wake = Condvar::new();
    let (scanned, changed) = (AtomicU64::new(0), AtomicU64::new(0));
    let skipped = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while let Some(dir) = next_dir(&queue, &wake) {
                    let result = chown_dir(&dir, dev, one_fs, uid, gid, &scanned, &changed, &skipped);
                    let mut q = queue.lock().expect("no thread panics while holding the queue");
                    match result {
                        Ok(subdirs) => q.dirs.extend(subdirs),
                        Err(e) => {
                            q.error.get_or_insert(e);
                        }
                    }
                    q.busy -= 1;
                    wake.notify_all();
                }
            });
        }
    });
    let q = queue.into_inner().expect("threads joined");
    if let Some(e) = q.error {
        return Err(e);
    }
    Ok(Report {
        scanned: scanned.into_inner(),
        changed: changed.into_inner(),
        skipped: skipped.into_inner().expect("threads joined"),
        ..Report::default()
    })
}

/// The next directory to read, or `None` when the walk is over.
fn next_dir(queue: &Mutex<Queue>, wake: &Condvar) -> Option<PathBuf> {
    let mut q = queue.lock().expect("no thread panics while holding the queue");
    loop {
        if q.error.is_some() {
            return None;
        }
        if let Some(dir) = q.dirs.pop() {
            q.busy += 1;
            return Some(dir);
        }
        if q.busy == 0 {
            return None;
        }
        q = wake.wait(q).expect("no thread panics while holding the queue");
    }
}

/// Chowns the entries of one directory; returns its subdirectories to walk.
#[allow(clippy::too_many_arguments)]
fn chown_dir(
    dir: &Path,
    dev: u64,
    one_fs: bool,
    uid: u32,
    gid: u32,
    scanned: &AtomicU64,
    changed: &AtomicU64,
    skipped: &Mutex<Vec<PathBuf>>,
) -> Result<Vec<PathBuf>, Error> {
    let mut subdirs = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| fail(dir, &e))? {
        let entry = entry.map_err(|e| fail(dir, &e))?;
        let path = entry.path();
        // DirEntry::metadata is fstatat(AT_SYMLINK_NOFOLLOW): a link is itself.
        let meta = match entry.metadata() {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(fail(&path, &e)),
        };
        scanned.fetch_add(1, Ordering::Relaxed);
        if one_fs && meta.dev() != dev {
            skipped.lock().expect("held briefly").push(path);
            continue;
        }
        if meta.is_file() && meta.nlink() > 1 {
            skipped.lock().expect("held briefly").push(path);
            continue;
        }
        if (meta.uid(), meta.gid()) != (uid, gid) {
            std::os::unix::fs::lchown(&path, Some(uid), Some(gid)).map_err(|e| fail(&path, &e))?;
            changed.fetch_add(1, Ordering::Relaxed);
        }
        if meta.is_dir() {
            subdirs.push(path);
        }
    }
    Ok(subdirs)
}

/// Copies the tree `from` into the (empty) directory `to`; returns the
/// number of entries copied. Symlinks are copied as links.
fn copy_tree(from: &Path, to: &Path) -> Result<u64, Error> {
    let mut count = 0;
    for entry in fs::read_dir(from).map_err(|e| fail(from, &e))? {
        let entry = entry.map_err(|e| fail(from, &e))?;
        let (src, dest) = (entry.path(), to.join(entry.file_name()));
        let meta = entry.metadata().map_err(|e| fail(&src, &e))?;
        if meta.is_dir() {
            fs::create_dir(&dest).map_err(|e| fail(&dest, &e))?;
            fs::set_permissions(&dest, meta.permissions()).map_err(|e| fail(&dest, &e))?;
            count += 1 + copy_tree(&src, &dest)?;
        } else if meta.file_type().is_symlink() {
            let target = fs::read_link(&src).map_err(|e| fail(&src, &e))?;
            std::os::unix::fs::symlink(target, &dest).map_err(|e| fail(&dest, &e))?;
            count += 1;
        } else if meta.is_file() {
            fs::copy(&src, &dest).map_err(|e| fail(&dest, &e))?;
            count += 1;
        }
    }
    Ok(count)
}
