//! The safe filesystem layer (docs/security.md, "Hostile paths"): every
//! write, walk and read init makes on a path that an unprivileged party may
//! control goes through here. Paths are resolved one component at a time
//! relative to directory descriptors; a symlink on the way is followed only
//! when the link and the directory holding it belong to root (or init's own
//! uid) and no one else may write that directory (or it sits on a read-only
//! mount, as Kubernetes' ConfigMap and Secret volumes do). The last
//! component of a write is never followed: files are made under an
//! unpredictable temporary name with O_EXCL and renamed over it; owners and
//! modes are changed on open descriptors; nothing is opened that could block
//! (FIFOs and devices are refused); every read is bounded.
// One of the two layers allowed path-based filesystem calls (clippy.toml).
#![allow(clippy::disallowed_methods)]

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat, readlinkat};
use nix::sys::stat::{FileStat, Mode, SFlag, fchmod, fstat, fstatat, mkdirat};
use nix::unistd::{Gid, Uid, UnlinkatFlags, fchown, unlinkat};

mod dirs;
mod socket;
mod step;
mod temp;
pub use dirs::Dirs;
pub use socket::Kind as SocketKind;
use step::{Step, step, trusted_link};
pub use temp::Temp;

/// Symlinks followed while resolving one path, as the kernel allows.
const MAX_LINKS: usize = 40;

/// An open directory and the path it was reached by (its real path when it
/// came from `resolve_dir`, symlinks expanded), for messages and checks.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

fn sys(e: Errno) -> io::Error {
    io::Error::from(e)
}

fn refused(kind: io::ErrorKind, what: String) -> io::Error {
    io::Error::new(kind, what)
}

/// The file type bits of a stat.
pub fn kind(st: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits())
}

/// What a file type is called in messages.
pub fn kind_name(st: &FileStat) -> &'static str {
    match kind(st) {
        SFlag::S_IFREG => "a regular file",
        SFlag::S_IFDIR => "a directory",
        SFlag::S_IFLNK => "a symlink",
        SFlag::S_IFIFO => "a FIFO",
        SFlag::S_IFSOCK => "a socket",
        SFlag::S_IFCHR | SFlag::S_IFBLK => "a device",
        _ => "not a regular file",
    }
}

const DIR_FLAGS: OFlag = OFlag::O_RDONLY.union(OFlag::O_DIRECTORY).union(OFlag::O_CLOEXEC);
const PATH_FLAGS: OFlag = OFlag::O_PATH.union(OFlag::O_NOFOLLOW).union(OFlag::O_CLOEXEC);

/// The container's root, where absolute paths start.
pub fn root() -> io::Result<Dir> {
    Dir::base(Path::new("/"))
}

impl Dir {
    /// `path` opened as the start of later resolutions: `/`, or a test's
    /// root. Trusted as given (it is init's configuration, not an input).
    pub fn base(path: &Path) -> io::Result<Dir> {
        let fd = nix::fcntl::open(path, DIR_FLAGS, Mode::empty()).map_err(sys)?;
        Ok(Dir { fd, path: path.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub fn into_fd(self) -> OwnedFd {
        self.fd
    }

    pub fn stat(&self) -> io::Result<FileStat> {
        fstat(&self.fd).map_err(sys)
    }

    /// The entry `name` itself (a symlink is not followed); `None` when absent.
    pub fn stat_at(&self, name: &OsStr) -> io::Result<Option<FileStat>> {
        match fstatat(&self.fd, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(st)),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(sys(e)),
        }
    }

    /// The subdirectory `name`, never through a symlink.
    pub fn subdir(&self, name: &OsStr) -> io::Result<Dir> {
        let flags = DIR_FLAGS | OFlag::O_NOFOLLOW;
        let fd = openat(&self.fd, name, flags, Mode::empty()).map_err(|e| match e {
            Errno::ELOOP | Errno::ENOTDIR => refused(
                io::ErrorKind::InvalidInput,
                format!("{} is not a directory", self.path.join(name).display()),
            ),
            e => sys(e),
        })?;
        Ok(Dir { fd, path: self.path.join(name) })
    }

    /// Makes the subdirectory `name` (an existing directory is fine, a
    /// symlink is not) and opens it.
    pub fn make_subdir(&self, name: &OsStr, mode: u32) -> io::Result<Dir> {
        match mkdirat(&self.fd, name, Mode::from_bits_truncate(mode)) {
            Ok(()) | Err(Errno::EEXIST) => self.subdir(name),
            Err(e) => Err(sys(e)),
        }
    }

    pub fn chown(&self, uid: u32, gid: u32) -> io::Result<()> {
        fchown(&self.fd, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid))).map_err(sys)
    }

    pub fn chmod(&self, mode: u32) -> io::Result<()> {
        fchmod(&self.fd, Mode::from_bits_truncate(mode)).map_err(sys)
    }

    /// Whether the directory has no entries (read through a descriptor of
    /// its own: a dup would move this one's offset).
    pub fn is_empty(&self) -> io::Result<bool> {
        let mut listing = nix::dir::Dir::openat(&self.fd, ".", DIR_FLAGS, Mode::empty()).map_err(sys)?;
        for entry in listing.iter() {
            if !matches!(entry.map_err(sys)?.file_name().to_bytes(), b"." | b"..") {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Removes the file `name` (not a directory); an absent one is fine.
    pub fn remove(&self, name: &OsStr) -> io::Result<()> {
        match unlinkat(&self.fd, name, UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(sys(e)),
        }
    }

    /// Sets the mtime of the entry `name` to now, never through a symlink.
    pub fn touch(&self, name: &OsStr) -> io::Result<()> {
        use nix::sys::stat::{UtimensatFlags, utimensat};
        use nix::sys::time::TimeSpec;
        let now = TimeSpec::new(0, libc::UTIME_NOW);
        let omit = TimeSpec::new(0, libc::UTIME_OMIT);
        utimensat(&self.fd, name, &omit, &now, UtimensatFlags::NoFollowSymlink).map_err(sys)
    }

    /// Creates the file `name`, which must not exist yet (a symlink there
    /// counts as existing), with `mode`.
    pub fn create_new(&self, name: &OsStr, mode: u32) -> io::Result<File> {
        let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(&self.fd, name, flags, Mode::from_bits_truncate(mode)).map_err(sys)?;
        Ok(File::from(fd))
    }

    /// Writes `bytes` as the file `name`, atomically: an exclusive temporary
    /// file beside it, owner and mode set on it, synced when `sync`, then
    /// renamed over whatever `name` was (a symlink there is replaced, not followed).
    pub fn write_file(
        &self,
        name: &OsStr,
        bytes: &[u8],
        mode: u32,
        owner: Option<(u32, u32)>,
        sync: bool,
    ) -> io::Result<()> {
        let temp = Temp::write(self, name, bytes, mode, owner)?;
        if sync {
            temp.sync()?;
        }
        temp.commit()
    }

    /// Reads the regular file `name`, at most `cap` bytes (more is an
    /// error), never through a symlink and without blocking on a FIFO.
    pub fn read(&self, name: &OsStr, cap: usize) -> io::Result<Vec<u8>> {
        let (file, st) = self.open_regular(name)?;
        read_bounded(file, &st, cap)
    }

    /// Resolves `path` (absolute: from this base; relative: from this
    /// directory) to a directory, following only trusted symlinks, creating
    /// missing components with `create`'s mode when given. The result's path
    /// is the real one (links expanded).
    pub fn resolve_dir(&self, path: &Path, create: Option<u32>) -> io::Result<Dir> {
        // Directories entered so far (the base is `self`), with their real
        // path and whether the descriptor may be read (not O_PATH).
        let mut stack: Vec<(OwnedFd, PathBuf, bool)> = Vec::new();
        let mut todo: VecDeque<OsString> = components(&self.anchored(path));
        let (mut links, mut creates) = (0, 0);
        while let Some(name) = todo.pop_front() {
            if name.as_bytes() == b".." {
                stack.pop();
                continue;
            }
            let (top, real) =
                stack.last().map_or((self.fd.as_fd(), Path::new("")), |(fd, r, _)| (fd.as_fd(), r));
            let shown = || self.path.join(real).join(&name);
            match step(top, &name, &shown)? {
                Step::Dir(fd, readable) => {
                    let real = real.join(&name);
                    stack.push((fd, real, readable));
                }
                Step::Absent if create.is_some() && creates < MAX_LINKS => {
                    creates += 1;
                    match mkdirat(top, name.as_os_str(), Mode::from_bits_truncate(create.unwrap_or(0o755))) {
                        Ok(()) | Err(Errno::EEXIST) => todo.push_front(name),
                        Err(e) => return Err(context(&shown(), sys(e))),
                    }
                }
                Step::Absent => return Err(context(&shown(), sys(Errno::ENOENT))),
                Step::Link(target) => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(context(&shown(), sys(Errno::ELOOP)));
                    }
                    if Path::new(&target).is_absolute() {
                        stack.clear();
                    }
                    for (i, c) in components(Path::new(&target)).into_iter().enumerate() {
                        todo.insert(i, c);
                    }
                }
            }
        }
        let Some((fd, real, readable)) = stack.pop() else {
            return Ok(Dir { fd: self.fd.try_clone()?, path: self.path.clone() });
        };
        let fd = if readable { fd } else { openat(&fd, ".", DIR_FLAGS, Mode::empty()).map_err(sys)? };
        Ok(Dir { fd, path: self.path.join(real) })
    }

    /// `path` as resolution takes it: from the root `/`, a relative path
    /// means what it means to the user, relative to the working directory.
    fn anchored<'p>(&self, path: &'p Path) -> std::borrow::Cow<'p, Path> {
        match path.is_relative() && self.path == Path::new("/") {
            true => std::path::absolute(path).map_or(path.into(), Into::into),
            false => path.into(),
        }
    }

    /// The directory holding `path` (resolved as `resolve_dir` does) and the
    /// last component's name.
    pub fn resolve_parent(&self, path: &Path, create: Option<u32>) -> io::Result<(Dir, OsString)> {
        let path = self.anchored(path);
        let (parent, name) = split(&path)?;
        Ok((self.resolve_dir(parent, create)?, name.to_os_string()))
    }

    /// Reads the input file at `path` (a template source, a `_FILE`
    /// secret), at most `cap` bytes; see `open_input`.
    pub fn read_input(&self, path: &Path, cap: usize) -> io::Result<Vec<u8>> {
        let (file, st) = self.open_input(path)?;
        read_bounded(file, &st, cap)
    }

    /// Opens the regular file at `path` for reading: trusted symlinks are
    /// followed, the last component's too; a FIFO, device or socket is
    /// refused without blocking.
    pub fn open_input(&self, path: &Path) -> io::Result<(File, FileStat)> {
        let mut path = self.anchored(path).into_owned();
        for _ in 0..MAX_LINKS {
            let (dir, name) = self.resolve_parent(&path, None)?;
            let Some(st) = dir.stat_at(&name)? else {
                return Err(sys(Errno::ENOENT));
            };
            if kind(&st) != SFlag::S_IFLNK {
                return dir.open_regular(&name);
            }
            trusted_link(dir.fd(), &st, &dir.path.join(&name))?;
            let target = PathBuf::from(readlinkat(dir.fd(), name.as_os_str()).map_err(sys)?);
            let from = dir.path.strip_prefix(&self.path).unwrap_or(&dir.path);
            path = Path::new("/").join(from).join(target);
        }
        Err(sys(Errno::ELOOP))
    }

    /// Opens the regular file `name` to append to it (and read it), never
    /// through a symlink and without blocking on a FIFO.
    pub fn open_append(&self, name: &OsStr) -> io::Result<File> {
        let flags =
            OFlag::O_RDWR | OFlag::O_APPEND | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        let fd = openat(&self.fd, name, flags | OFlag::O_NOCTTY, Mode::empty()).map_err(sys)?;
        match kind(&fstat(&fd).map_err(sys)?) {
            SFlag::S_IFREG => Ok(File::from(fd)),
            _ => Err(refused(io::ErrorKind::InvalidInput, "not a regular file".into())),
        }
    }

    /// Opens the regular file `name` for reading, never through a symlink
    /// and without blocking on a FIFO.
    pub fn open_regular(&self, name: &OsStr) -> io::Result<(File, FileStat)> {
        let flags =
            OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
        let fd = openat(&self.fd, name, flags, Mode::empty()).map_err(|e| match e {
            Errno::ELOOP => {
                refused(io::ErrorKind::InvalidInput, "a symlink, which init does not follow here".into())
            }
            e => sys(e),
        })?;
        let st = fstat(&fd).map_err(sys)?;
        if kind(&st) != SFlag::S_IFREG {
            return Err(refused(
                io::ErrorKind::InvalidInput,
                format!("{}, not a regular file", kind_name(&st)),
            ));
        }
        Ok((File::from(fd), st))
    }
}

/// Reads at most `cap` bytes of an open regular file (more is an error):
/// up to the size fstat gave, with no last read to see the end, so a
/// template or a secret takes one read. A file that grows meanwhile is
/// read as it was; one that says size 0 (procfs, sysfs) is read to its end.
fn read_bounded(file: File, st: &FileStat, cap: usize) -> io::Result<Vec<u8>> {
    let too_large = || refused(io::ErrorKind::InvalidData, format!("larger than the {cap}-byte limit"));
    let size = usize::try_from(st.st_size).unwrap_or(usize::MAX);
    if size > cap {
        return Err(too_large());
    }
    if size == 0 {
        let mut bytes = Vec::new();
        file.take(cap as u64 + 1).read_to_end(&mut bytes)?;
        return if bytes.len() > cap { Err(too_large()) } else { Ok(bytes) };
    }
    // Read into spare capacity through `take`: its limit ends the read
    // without another system call once `size` bytes are in.
    let mut bytes = Vec::with_capacity(size);
    file.take(size as u64).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// An OS error on `path`, saying where.
fn context(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// The normal components of `path`, with `..` kept (`.` and `/` dropped).
fn components(path: &Path) -> VecDeque<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from_vec(b"..".to_vec())),
            _ => None,
        })
        .collect()
}

/// `path`'s directory and last component; `/` and paths ending in `..` have none.
pub fn split(path: &Path) -> io::Result<(&Path, &OsStr)> {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !path.ends_with("..") => Ok((parent, name)),
        _ => Err(refused(io::ErrorKind::InvalidInput, format!("{}: names no file", path.display()))),
    }
}

#[cfg(test)]
mod tests;
