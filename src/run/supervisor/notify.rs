//! `ready = { notify = true }`: the systemd notification protocol
//! (docs/reference.md, "Services"). Each such service gets a datagram socket
//! of its own beside the status file, named in its `NOTIFY_SOCKET`, owned by
//! the service's uid with mode 0600; every message's sender credentials are
//! checked too (only that uid or root counts). `READY=1` makes it ready,
//! `STATUS=` is shown by `init status`, `STOPPING=1` and `RELOADING=1` are
//! logged and shown, `MAINPID=` names the process to supervise.

use std::io::IoSliceMut;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::sys::socket::{
    AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType, UnixAddr, bind, recvmsg, setsockopt,
    socket, sockopt,
};

/// Longest message read; longer ones are cut (systemd allows more, services send little).
const MAX_MESSAGE: usize = 4096;

pub use mooring::notice::{Notice, parse};

/// A service's notification socket.
pub struct NotifySocket {
    fd: OwnedFd,
    pub path: PathBuf,
    /// The uid allowed to send (besides root).
    uid: u32,
}

impl NotifySocket {
    /// Binds `dir/notify-NAME.sock` for a service running as `uid`.
    pub fn open(dir: &Path, name: &str, uid: u32) -> std::io::Result<NotifySocket> {
        let path = dir.join(format!("notify-{name}.sock"));
        // The directory is init's or root's alone (run/status.rs): a name
        // left there is a socket of an init that is gone.
        let _ = std::fs::remove_file(&path);
        let flags = SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK;
        let fd = socket(AddressFamily::Unix, SockType::Datagram, flags, None)?;
        bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &UnixAddr::new(&path)?)?;
        setsockopt(&fd, sockopt::PassCred, &true)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        if nix::unistd::geteuid().is_root() {
            std::os::unix::fs::chown(&path, Some(uid), None)?;
        }
        Ok(NotifySocket { fd, path, uid })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Every message waiting, parsed; a sender other than the service's
    /// uid or root is refused (its uid returned as `Err`).
    pub fn receive(&self) -> Vec<Result<Vec<Notice>, u32>> {
        let mut all = Vec::new();
        let mut buf = [0u8; MAX_MESSAGE];
        loop {
            let mut space = nix::cmsg_space!(nix::sys::socket::UnixCredentials);
            let mut iov = [IoSliceMut::new(&mut buf)];
            let raw = std::os::fd::AsRawFd::as_raw_fd(&self.fd);
            let Ok(msg) = recvmsg::<()>(raw, &mut iov, Some(&mut space), MsgFlags::MSG_DONTWAIT) else {
                break;
            };
            let uid = msg.cmsgs().ok().into_iter().flatten().find_map(|c| match c {
                ControlMessageOwned::ScmCredentials(cred) => Some(cred.uid()),
                _ => None,
            });
            let len = msg.bytes;
            match uid {
                Some(uid) if uid == 0 || uid == self.uid => {
                    all.push(Ok(parse(&String::from_utf8_lossy(&buf[..len.min(MAX_MESSAGE)]))));
                }
                other => all.push(Err(other.unwrap_or(u32::MAX))),
            }
        }
        all
    }

    pub fn close(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
