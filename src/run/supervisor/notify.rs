//! `ready = { notify = true }`: the systemd notification protocol
//! (docs/reference.md, "Services"). Each such service gets a datagram socket
//! of its own beside the status file, named in its `NOTIFY_SOCKET`, owned by
//! the service's uid with mode 0600; every message's sender credentials are
//! checked too (only that uid or root counts). `READY=1` makes it ready,
//! `STATUS=` is shown by `init status`, `STOPPING=1` and `RELOADING=1` are
//! logged and shown, `MAINPID=` names the process to supervise.

use std::ffi::OsString;
use std::io::IoSliceMut;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::rc::Rc;

use crate::process::streak::Streak;
use mooring::safe_fs::{Dir, SocketKind};
use nix::errno::Errno;
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg, setsockopt, sockopt};

/// Longest message read; longer ones are cut (systemd allows more, services send little).
const MAX_MESSAGE: usize = 4096;
/// Most messages read per wake-up: more wait in the socket's queue, whose
/// size the kernel bounds (senders then block or get EAGAIN), so a flood
/// costs init neither memory nor a wake-up that never ends.
const MAX_PER_WAKE: usize = 16;

pub use mooring::notice::{Notice, parse};

/// A service's notification socket.
pub struct NotifySocket {
    fd: OwnedFd,
    /// The run directory it is bound in, for its removal.
    dir: Rc<Dir>,
    name: OsString,
    /// What the service is told (`NOTIFY_SOCKET`).
    pub path: PathBuf,
    /// The uid allowed to send (besides root).
    uid: u32,
    /// `recvmsg` kept failing: left unpolled until the retry, with the error.
    pub failing: Streak,
}

impl NotifySocket {
    /// Binds `notify-NAME.sock` in the run directory `dir` (through its
    /// descriptor) for a service running as `uid`: mode 0600, owned by `uid`.
    pub fn open(dir: &Rc<Dir>, name: &str, uid: u32) -> std::io::Result<NotifySocket> {
        let file = OsString::from(format!("notify-{name}.sock"));
        let owner = nix::unistd::geteuid().is_root().then_some(uid);
        let fd = dir.bind_socket(&file, SocketKind::Datagram, 0o600, owner)?;
        if let Err(e) = setsockopt(&fd, sockopt::PassCred, &true) {
            let _ = dir.remove(&file);
            return Err(e.into());
        }
        let path = dir.path().join(&file);
        Ok(NotifySocket { fd, dir: Rc::clone(dir), name: file, path, uid, failing: Streak::new() })
    }

    /// The descriptor to poll, unless receiving is paused after errors.
    pub fn poll_fd(&self) -> Option<BorrowedFd<'_>> {
        (!self.failing.failing()).then(|| self.fd.as_fd())
    }

    /// The messages waiting, at most `MAX_PER_WAKE`, parsed; a sender
    /// other than the service's uid or root is refused (its uid returned as
    /// `Err`). A failing `recvmsg` ends the read with its error.
    pub fn receive(&self) -> (Vec<Result<Vec<Notice>, u32>>, Option<Errno>) {
        let mut all = Vec::new();
        let mut buf = [0u8; MAX_MESSAGE];
        while all.len() < MAX_PER_WAKE {
            let mut space = nix::cmsg_space!(nix::sys::socket::UnixCredentials);
            let mut iov = [IoSliceMut::new(&mut buf)];
            let raw = std::os::fd::AsRawFd::as_raw_fd(&self.fd);
            let msg = match recvmsg::<()>(raw, &mut iov, Some(&mut space), MsgFlags::MSG_DONTWAIT) {
                Ok(msg) => msg,
                Err(Errno::EAGAIN | Errno::EINTR) => break,
                Err(e) => return (all, Some(e)),
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
        (all, None)
    }

    pub fn close(self) {
        let _ = self.dir.remove(&self.name);
    }
}
