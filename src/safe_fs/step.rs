//! One step of a safe resolution: a path component opened as a directory
//! without following it, and the rule for the symlinks that may be
//! followed (docs/security.md, "Hostile paths").

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, readlinkat};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat};

use super::{DIR_FLAGS, PATH_FLAGS, context, kind, kind_name, refused, sys};
use nix::fcntl::OFlag;

/// What one component of a path turned out to be.
pub(super) enum Step {
    /// A directory, and whether its descriptor may be read (else O_PATH).
    Dir(OwnedFd, bool),
    Absent,
    /// A trusted symlink's target.
    Link(OsString),
}

/// Opens the component `name` in `dir` as a directory, never through a
/// link: one `openat` for the common case, a look at what it is otherwise.
pub(super) fn step(dir: BorrowedFd<'_>, name: &OsStr, shown: &dyn Fn() -> PathBuf) -> io::Result<Step> {
    let fd = match openat(dir, name, DIR_FLAGS | OFlag::O_NOFOLLOW, Mode::empty()) {
        Ok(fd) => return Ok(Step::Dir(fd, true)),
        Err(Errno::ENOENT) => return Ok(Step::Absent),
        // A link, a file, or a directory we may search but not read: look
        // at it through an O_PATH descriptor.
        Err(Errno::EACCES | Errno::ELOOP | Errno::ENOTDIR) => {
            openat(dir, name, PATH_FLAGS, Mode::empty()).map_err(|e| context(&shown(), sys(e)))?
        }
        Err(e) => return Err(context(&shown(), sys(e))),
    };
    let st = fstat(&fd).map_err(sys)?;
    match kind(&st) {
        SFlag::S_IFDIR => Ok(Step::Dir(fd, false)),
        SFlag::S_IFLNK => {
            trusted_link(dir, &st, &shown())?;
            Ok(Step::Link(readlinkat(dir, name).map_err(sys)?))
        }
        _ => {
            let why = format!("{} is {}, not a directory", shown().display(), kind_name(&st));
            Err(refused(io::ErrorKind::InvalidInput, why))
        }
    }
}

/// A symlink may be followed only when root (or init's own uid) owns it and
/// the directory holding it, and no one else may write that directory
/// (unless it is on a read-only mount).
pub(super) fn trusted_link(dir: BorrowedFd<'_>, link: &FileStat, shown: &Path) -> io::Result<()> {
    let me = nix::unistd::geteuid().as_raw();
    let ours = |uid: u32| uid == 0 || uid == me;
    let parent = fstat(dir).map_err(sys)?;
    let read_only = || {
        nix::sys::statvfs::fstatvfs(dir)
            .is_ok_and(|v| v.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
    };
    let why = if !ours(link.st_uid) {
        format!("owned by uid {}", link.st_uid)
    } else if !ours(parent.st_uid) {
        format!("in a directory owned by uid {}", parent.st_uid)
    } else if parent.st_mode & 0o022 != 0 && !read_only() {
        format!("in a directory others may write (mode {:o})", parent.st_mode & 0o7777)
    } else {
        return Ok(());
    };
    Err(refused(
        io::ErrorKind::PermissionDenied,
        format!("{} is a symlink {why}; init follows only root's links", shown.display()),
    ))
}
