//! Unix sockets bound inside a directory init holds open (docs/security.md,
//! "Sockets"): the name is reached through the directory's descriptor
//! (`/proc/self/fd/N/NAME`), never through the path the directory was
//! found by, so swapping that path for a link between two steps leads
//! nowhere. The mode comes from the umask around `bind` and the owner is
//! set relative to the directory with no link followed: no chmod, chown or
//! unlink of a path string.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::fcntl::AtFlags;
use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr, bind, socket};
use nix::sys::stat::{Mode, SFlag, umask};
use nix::unistd::{Gid, Uid, fchownat};

use super::{Dir, kind, sys};

/// What a socket is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A listener (control requests).
    Stream,
    /// Datagrams (notify messages).
    Datagram,
}

impl Dir {
    /// A non-blocking, close-on-exec socket bound as `name` in this
    /// directory with `mode`, owned by `owner` (uid) when given. A socket
    /// left under that name by an init that is gone is replaced; anything
    /// else there is refused. A failed step leaves no name behind.
    pub fn bind_socket(
        &self,
        name: &OsStr,
        kind: Kind,
        mode: u32,
        owner: Option<u32>,
    ) -> io::Result<OwnedFd> {
        self.remove_stale_socket(name)?;
        let ty = match kind {
            Kind::Stream => SockType::Stream,
            Kind::Datagram => SockType::Datagram,
        };
        let flags = SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK;
        let fd = socket(AddressFamily::Unix, ty, flags, None).map_err(sys)?;
        let mut through = format!("/proc/self/fd/{}/", self.fd.as_raw_fd()).into_bytes();
        through.extend_from_slice(name.as_bytes());
        let addr = UnixAddr::new(through.as_slice()).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("{:?}: too long for a socket name", name))
        })?;
        // The mode is set at creation: the umask (process-wide; init is
        // single-threaded here) is restored at once.
        let old = umask(Mode::from_bits_truncate(!mode & 0o777));
        let bound = bind(fd.as_raw_fd(), &addr);
        umask(old);
        bound.map_err(sys)?;
        if let Some(uid) = owner {
            let chowned =
                fchownat(&self.fd, name, Some(Uid::from_raw(uid)), None::<Gid>, AtFlags::AT_SYMLINK_NOFOLLOW);
            if let Err(e) = chowned {
                let _ = self.remove(name);
                return Err(sys(e));
            }
        }
        Ok(fd)
    }

    /// Removes `name` when it is a socket; an absent name is fine.
    fn remove_stale_socket(&self, name: &OsStr) -> io::Result<()> {
        match self.stat_at(name)? {
            None => Ok(()),
            Some(st) if kind(&st) == SFlag::S_IFSOCK => self.remove(name),
            Some(st) => Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{}: {}, not a socket", self.path.join(name).display(), super::kind_name(&st)),
            )),
        }
    }
}
