//! `[[volume]]`: create the directory, give the tree its owner, set the
//! mode of the path itself, seed an empty volume from the image. The chown
//! walk changes only entries whose owner differs, never follows a symlink
//! (it changes the link itself), never leaves the tree, stops at other
//! filesystems when asked, and leaves hard-linked files alone (a hard link
//! can point at a file outside the volume, e.g. /etc/shadow). It walks with
//! a few threads, all joined before this returns, so before any child runs.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{Mode, SFlag, fstatat};
use nix::unistd::{Gid, Uid, fchownat};

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

/// Threads of a chown walk.
const WALKERS: usize = 2;

/// Directories a volume may never be (a recursive chown there breaks the image).
pub const SYSTEM_DIRS: [&str; 9] = ["/", "/etc", "/usr", "/bin", "/sbin", "/lib", "/proc", "/sys", "/dev"];

/// A volume that cannot be prepared is an OS failure (71), or 77.
fn fail(path: &Path, e: &std::io::Error) -> Error {
    Error::io(path, e, 71)
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

/// What one directory's pass found.
#[derive(Default)]
struct Tally {
    scanned: u64,
    changed: u64,
    skipped: Vec<PathBuf>,
}

/// Chowns everything below `root` whose owner differs, with a few threads.
fn walk(root: &Path, dev: u64, one_fs: bool, uid: u32, gid: u32) -> Result<Report, Error> {
    let queue = Mutex::new(Queue { dirs: vec![root.to_path_buf()], busy: 0, error: None });
    let wake = Condvar::new();
    let total = Mutex::new(Tally::default());
    // A fixed few: the walk is bound by the kernel's stat and chown work, and
    // `available_parallelism` (cgroup quota parsing) would cost 12 kB.
    let threads = WALKERS;
    std::thread::scope(|s| {
        let walkers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    // These threads must never take a signal meant for PID 1
                    // (a SIGCHLD taken here would be lost): block them all.
                    let _ = nix::sys::signal::pthread_sigmask(
                        nix::sys::signal::SigmaskHow::SIG_BLOCK,
                        Some(&nix::sys::signal::SigSet::all()),
                        None,
                    );
                    let mut mine = Tally::default();
                    while let Some(dir) = next_dir(&queue, &wake) {
                        let result = chown_dir(&dir, dev, one_fs, uid, gid, &mut mine);
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
                    let mut t = total.lock().expect("held briefly");
                    t.scanned += mine.scanned;
                    t.changed += mine.changed;
                    t.skipped.append(&mut mine.skipped);
                })
            })
            .collect();
        // Joined for real (pthread_join), not only counted out by the scope:
        // no walker thread may still exist when init forks its first child.
        for w in walkers {
            let _ = w.join();
        }
    });
    let q = queue.into_inner().expect("threads joined");
    if let Some(e) = q.error {
        return Err(e);
    }
    let t = total.into_inner().expect("threads joined");
    Ok(Report { scanned: t.scanned, changed: t.changed, skipped: t.skipped, ..Report::default() })
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

/// Chowns the entries of one directory, by name relative to the directory's
/// own descriptor (no path walk per entry, no allocation per entry, and a
/// directory replaced by a symlink is not entered: O_NOFOLLOW); returns its
/// subdirectories to walk.
fn chown_dir(
    dir: &Path,
    dev: u64,
    one_fs: bool,
    uid: u32,
    gid: u32,
    t: &mut Tally,
) -> Result<Vec<PathBuf>, Error> {
    let errno = |path: &Path, e: Errno| fail(path, &std::io::Error::from(e));
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = nix::fcntl::open(dir, flags, Mode::empty()).map_err(|e| errno(dir, e))?;
    let mut listing = Dir::from_fd(fd.try_clone().map_err(|e| fail(dir, &e))?).map_err(|e| errno(dir, e))?;
    let mut subdirs = Vec::new();
    for entry in listing.iter() {
        let entry = entry.map_err(|e| errno(dir, e))?;
        let name = entry.file_name();
        if matches!(name.to_bytes(), b"." | b"..") {
            continue;
        }
        let st = match fstatat(&fd, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(errno(&dir.join(OsStr::from_bytes(name.to_bytes())), e)),
        };
        t.scanned += 1;
        let kind = st.st_mode & SFlag::S_IFMT.bits();
        let is_dir = kind == SFlag::S_IFDIR.bits();
        if (one_fs && st.st_dev != dev) || (kind == SFlag::S_IFREG.bits() && st.st_nlink > 1) {
            t.skipped.push(dir.join(OsStr::from_bytes(name.to_bytes())));
            continue;
        }
        if (st.st_uid, st.st_gid) != (uid, gid) {
            fchownat(
                &fd,
                name,
                Some(Uid::from_raw(uid)),
                Some(Gid::from_raw(gid)),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .map_err(|e| errno(&dir.join(OsStr::from_bytes(name.to_bytes())), e))?;
            t.changed += 1;
        }
        if is_dir {
            subdirs.push(dir.join(OsStr::from_bytes(name.to_bytes())));
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
