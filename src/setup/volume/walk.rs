//! The recursive chown of a volume (docs/security.md): it changes only
//! entries whose owner differs, never follows a symlink (the link itself is
//! changed), stops at other filesystems when asked, and leaves hard-linked
//! files alone (a hard link can point at /etc/shadow). Every directory is
//! opened by name relative to its parent's descriptor with O_NOFOLLOW, and
//! every entry is changed through a descriptor of its own after a fresh
//! fstat, so swapping a directory for a symlink or a file for a hard link
//! while the walk runs leads nowhere. Paths are never built for system
//! calls, so depth is unbounded by PATH_MAX; when too many directories are
//! open at once, a walker goes depth-first on its own, holding two.

use std::ffi::{CStr, OsStr, OsString};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat, fstatat};
use nix::unistd::{Gid, Uid, fchown, fchownat};

use super::Report;
use crate::error::Error;
use crate::safe_fs::{Dir, kind};

/// Threads of a chown walk (the kernel's stat and chown work is the bound).
const WALKERS: usize = 2;
/// Directory descriptors held open by queued work before walkers go
/// depth-first: at most this many, and a quarter of the descriptor limit.
const FD_BUDGET: usize = 64;

fn fd_budget() -> usize {
    let soft =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).map_or(1024, |(s, _)| s);
    usize::try_from(soft / 4).unwrap_or(FD_BUDGET).clamp(4, FD_BUDGET)
}

/// A directory's name and its parent's, for messages only.
struct Node {
    parent: Option<Arc<Node>>,
    name: OsString,
}

impl Node {
    fn child(self: &Arc<Node>, name: &OsStr) -> Arc<Node> {
        Arc::new(Node { parent: Some(self.clone()), name: name.to_os_string() })
    }

    fn path(&self, root: &Path) -> PathBuf {
        let mut names = vec![self.name.as_os_str()];
        let mut at = self.parent.as_deref();
        while let Some(n) = at {
            names.push(n.name.as_os_str());
            at = n.parent.as_deref();
        }
        names.iter().rev().fold(root.to_path_buf(), |p, n| p.join(n))
    }
}

/// An open directory, counted while it is held.
struct Held<'a> {
    fd: OwnedFd,
    live: &'a AtomicUsize,
}

impl<'a> Held<'a> {
    fn new(fd: OwnedFd, live: &'a AtomicUsize) -> Held<'a> {
        live.fetch_add(1, Ordering::Relaxed);
        Held { fd, live }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A directory still to walk: its name in a parent that is held open.
struct Job<'a> {
    parent: Arc<Held<'a>>,
    node: Arc<Node>,
}

struct Queue<'a> {
    jobs: Vec<Job<'a>>,
    busy: usize,
    error: Option<Error>,
}

/// What every walker shares.
struct Walk<'a> {
    root: &'a Path,
    dev: u64,
    one_fs: bool,
    owner: (u32, u32),
    live: &'a AtomicUsize,
    budget: usize,
    /// The kernel refuses hard links to other users' files
    /// (fs.protected_hardlinks = 1), so a name cannot turn into a link to
    /// /etc/shadow between the fstatat and a chown by name.
    by_name: bool,
    queue: Mutex<Queue<'a>>,
    wake: Condvar,
}

/// Chowns everything below `dir` (the volume `shown`, already chowned itself).
pub fn chown_tree(
    dir: &Dir,
    shown: &Path,
    dev: u64,
    one_fs: bool,
    owner: (u32, u32),
    report: &mut Report,
) -> Result<(), Error> {
    let live = AtomicUsize::new(0);
    let queue = Mutex::new(Queue { jobs: Vec::new(), busy: 0, error: None });
    let walk = Walk {
        root: shown,
        dev,
        one_fs,
        owner,
        live: &live,
        budget: fd_budget(),
        by_name: hardlinks_protected(),
        queue,
        wake: Condvar::new(),
    };
    let top = Arc::new(Node { parent: None, name: OsString::new() });
    let fd = dir.fd().try_clone_to_owned().map_err(|e| Error::io(shown, e))?;
    let subdirs = walk.list(&fd, &top, report)?;
    let held = Arc::new(Held::new(fd, &live));
    let jobs = subdirs.iter().map(|n| Job { parent: held.clone(), node: top.child(n) }).collect();
    drop(held);
    walk.queue.lock().expect("not yet shared").jobs = jobs;
    let tallies = std::thread::scope(|s| {
        let walkers: Vec<_> = (0..WALKERS).map(|_| s.spawn(|| walk.work())).collect();
        // Joined for real (pthread_join): no walker may exist when init forks.
        walkers.into_iter().filter_map(|w| w.join().ok()).collect::<Vec<_>>()
    });
    for t in tallies {
        report.scanned += t.scanned;
        report.changed += t.changed;
        report.skipped_total += t.skipped_total - t.skipped.len() as u64;
        for (p, why) in t.skipped {
            report.skip(p, why);
        }
    }
    match walk.queue.into_inner().expect("walkers joined").error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

impl<'a> Walk<'a> {
    /// One walker: takes jobs until none are left (or one failed).
    fn work(&self) -> Report {
        // A walker must never take a signal meant for PID 1 (a SIGCHLD taken
        // here would be lost): block them all.
        let all = nix::sys::signal::SigSet::all();
        let _ = nix::sys::signal::pthread_sigmask(nix::sys::signal::SigmaskHow::SIG_BLOCK, Some(&all), None);
        let mut mine = Report::default();
        while let Some(job) = self.next() {
            let result = self.run(job, &mut mine);
            let mut q = self.queue.lock().expect("no walker panics holding the queue");
            match result {
                Ok(jobs) => q.jobs.extend(jobs),
                Err(e) => {
                    q.error.get_or_insert(e);
                }
            }
            q.busy -= 1;
            self.wake.notify_all();
        }
        mine
    }

    fn next(&self) -> Option<Job<'a>> {
        let mut q = self.queue.lock().expect("no walker panics holding the queue");
        loop {
            if q.error.is_some() {
                return None;
            }
            if let Some(job) = q.jobs.pop() {
                q.busy += 1;
                return Some(job);
            }
            if q.busy == 0 {
                return None;
            }
            q = self.wake.wait(q).expect("no walker panics holding the queue");
        }
    }

    /// Opens and walks one directory; returns its subdirectories as jobs, or
    /// walks them itself when too many directories are held open.
    fn run(&self, job: Job<'a>, t: &mut Report) -> Result<Vec<Job<'a>>, Error> {
        let Some(fd) = self.open_dir(&job.parent.fd, &job.node, t)? else { return Ok(Vec::new()) };
        drop(job.parent);
        let subdirs = self.list(&fd, &job.node, t)?;
        if self.live.load(Ordering::Relaxed) >= self.budget {
            return subdirs
                .iter()
                .try_for_each(|n| self.deep(&fd, job.node.child(n), t))
                .map(|()| Vec::new());
        }
        let held = Arc::new(Held::new(fd, self.live));
        Ok(subdirs.iter().map(|n| Job { parent: held.clone(), node: job.node.child(n) }).collect())
    }

    /// Walks the subtree `node` (a subdirectory of `parent`) depth-first,
    /// holding two descriptors: going up is `..`, checked to be the very
    /// directory that was left (else the subtree was moved: left alone).
    fn deep(&self, parent: &OwnedFd, node: Arc<Node>, t: &mut Report) -> Result<(), Error> {
        let Some(mut fd) = self.open_dir(parent, &node, t)? else { return Ok(()) };
        let mut stack = vec![(self.id(&fd, &node)?, self.list(&fd, &node, t)?, node)];
        while let Some((_, subdirs, node)) = stack.last_mut() {
            if let Some(name) = subdirs.pop() {
                let child = node.child(&name);
                if let Some(next) = self.open_dir(&fd, &child, t)? {
                    let entry = (self.id(&next, &child)?, self.list(&next, &child, t)?, child);
                    stack.push(entry);
                    fd = next;
                }
                continue;
            }
            let (_, _, left) = stack.pop().expect("not empty");
            let Some((want, _, _)) = stack.last() else { break };
            let up =
                openat(&fd, "..", DIR | OFlag::O_NOFOLLOW, Mode::empty()).map_err(|e| self.fail(&left, e))?;
            if self.id(&up, &left)? != *want {
                t.skip(left.path(self.root), "moved during the walk");
                return Ok(());
            }
            fd = up;
        }
        Ok(())
    }

    fn id(&self, fd: &OwnedFd, node: &Node) -> Result<(u64, u64), Error> {
        let st = fstat(fd).map_err(|e| self.fail(node, e))?;
        Ok((st.st_dev, st.st_ino))
    }

    /// Opens the directory `node` in `parent` and gives it its owner; `None`
    /// when it was replaced (by a symlink, a file) or crossed filesystems.
    fn open_dir(&self, parent: &OwnedFd, node: &Node, t: &mut Report) -> Result<Option<OwnedFd>, Error> {
        let fd = match openat(parent, node.name.as_os_str(), DIR | OFlag::O_NOFOLLOW, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::ENOENT | Errno::ELOOP | Errno::ENOTDIR) => {
                t.skip(node.path(self.root), "replaced during the walk");
                return Ok(None);
            }
            Err(e) => return Err(self.fail(node, e)),
        };
        let st = fstat(&fd).map_err(|e| self.fail(node, e))?;
        if self.one_fs && st.st_dev != self.dev {
            t.skip(node.path(self.root), "on another filesystem");
            return Ok(None);
        }
        if (st.st_uid, st.st_gid) != self.owner {
            fchown(&fd, Some(Uid::from_raw(self.owner.0)), Some(Gid::from_raw(self.owner.1)))
                .map_err(|e| self.fail(node, e))?;
            t.changed += 1;
        }
        Ok(Some(fd))
    }

    /// Gives the entries of the open directory `fd` their owner (directories
    /// are left to `open_dir`); returns the subdirectories' names.
    fn list(&self, fd: &OwnedFd, node: &Node, t: &mut Report) -> Result<Vec<OsString>, Error> {
        // A descriptor of its own (not a dup, which would share the offset).
        let mut listing =
            nix::dir::Dir::openat(fd, ".", DIR, Mode::empty()).map_err(|e| self.fail(node, e))?;
        let mut subdirs = Vec::new();
        for entry in listing.iter() {
            let entry = entry.map_err(|e| self.fail(node, e))?;
            let name = entry.file_name();
            if matches!(name.to_bytes(), b"." | b"..") {
                continue;
            }
            let st = match fstatat(fd, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
                Ok(st) => st,
                Err(Errno::ENOENT) => continue,
                Err(e) => return Err(Error::io(&node.path(self.root).join(os(name)), e.into())),
            };
            t.scanned += 1;
            if self.one_fs && st.st_dev != self.dev {
                t.skip(node.path(self.root).join(os(name)), "on another filesystem");
            } else if kind(&st) == SFlag::S_IFDIR {
                subdirs.push(os(name));
            } else if hard_linked(&st) {
                t.skip(node.path(self.root).join(os(name)), "a hard-linked file");
            } else if (st.st_uid, st.st_gid) != self.owner {
                self.chown_entry(fd, name, node, t)?;
            }
        }
        Ok(subdirs)
    }

    /// Changes the owner of the entry `name` (never through a symlink): by
    /// name when the kernel protects hard links, else through a descriptor
    /// of its own (O_PATH), after checking what that descriptor is.
    fn chown_entry(&self, dir: &OwnedFd, name: &CStr, node: &Node, t: &mut Report) -> Result<(), Error> {
        let shown = || node.path(self.root).join(os(name));
        let (uid, gid) = (Some(Uid::from_raw(self.owner.0)), Some(Gid::from_raw(self.owner.1)));
        if self.by_name {
            return match fchownat(dir, name, uid, gid, AtFlags::AT_SYMLINK_NOFOLLOW) {
                Ok(()) => {
                    t.changed += 1;
                    Ok(())
                }
                Err(Errno::ENOENT) => Ok(()),
                Err(e) => Err(Error::io(&shown(), e.into())),
            };
        }
        let flags = OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = match openat(dir, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => return Ok(()),
            Err(e) => return Err(Error::io(&shown(), e.into())),
        };
        let st = fstat(&fd).map_err(|e| Error::io(&shown(), e.into()))?;
        if kind(&st) == SFlag::S_IFDIR || hard_linked(&st) || (self.one_fs && st.st_dev != self.dev) {
            t.skip(shown(), "replaced during the walk");
            return Ok(());
        }
        fchownat(fd.as_fd(), c"", uid, gid, AtFlags::AT_EMPTY_PATH)
            .map_err(|e| Error::io(&shown(), e.into()))?;
        t.changed += 1;
        Ok(())
    }

    fn fail(&self, node: &Node, e: Errno) -> Error {
        Error::io(&node.path(self.root), e.into())
    }
}

const DIR: OFlag = OFlag::O_RDONLY.union(OFlag::O_DIRECTORY).union(OFlag::O_CLOEXEC);

/// Whether fs.protected_hardlinks is on (the kernel's and every major
/// distribution's default); unknown counts as off.
fn hardlinks_protected() -> bool {
    crate::procfs::system().sysctl("fs/protected_hardlinks").is_some_and(|v| v.starts_with('1'))
}

fn hard_linked(st: &FileStat) -> bool {
    kind(st) == SFlag::S_IFREG && st.st_nlink > 1
}

fn os(name: &CStr) -> OsString {
    OsStr::from_bytes(name.to_bytes()).to_os_string()
}
