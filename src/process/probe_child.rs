//! Probes of wait targets that never hold up PID 1's loop. A file is
//! checked in place (one stat). Everything that can block — a DNS lookup, a
//! connect to a host that drops packets, an HTTP read, a command — runs in
//! a child process: a forked copy of init for the network kinds, the
//! command itself for `command`. The loop learns the result when it reaps
//! the child; a network check's reason comes back through a pipe.

use std::os::fd::OwnedFd;

use nix::fcntl::OFlag;
use nix::sys::signal::SigSet;
use nix::unistd::Pid;

use crate::process::reap::Exit;
use crate::process::spawn::{self, Command};
use crate::sys;
use mooring::config::Target;
use mooring::probe::{self, NotReady};

/// A check under way in a child.
pub struct ProbeChild {
    pub pid: Pid,
    /// Where a forked network check writes why it failed (none for commands).
    reason: Option<OwnedFd>,
}

/// What starting a check gave: the answer at once (a file), or a child to reap.
pub enum Started {
    Done(Result<(), NotReady>),
    Child(ProbeChild),
}

/// Starts checking `target`. `like` is the command a `command` target runs
/// as: its environment, user and workdir. Waits and watches run with the
/// children's environment (`[env]`, secrets) as init's own user, a ready
/// probe as its service (docs/reference.md, "Waits").
pub fn start(target: &Target, like: &Command, mask: SigSet) -> Started {
    match target {
        Target::File(_) => Started::Done(probe::once(target)),
        Target::Command(argv) => {
            let mut cmd = like.clone();
            cmd.argv = argv.iter().map(Into::into).collect();
            match spawn::spawn_service(&cmd, mask, None, None) {
                Ok(pid) => Started::Child(ProbeChild { pid, reason: None }),
                Err(e) => Started::Done(Err(NotReady::Spawn(Box::new(e)))),
            }
        }
        network => {
            let (rd, wr) = match nix::unistd::pipe2(OFlag::O_CLOEXEC) {
                Ok(pair) => pair,
                Err(errno) => return Started::Done(Err(NotReady::Os { call: "pipe", errno })),
            };
            let forked = sys::fork_call(|| match probe::once(network) {
                Ok(()) => 0,
                Err(why) => {
                    let _ = nix::unistd::write(&wr, why.to_string().as_bytes());
                    1
                }
            });
            drop(wr);
            match forked {
                Ok(pid) => Started::Child(ProbeChild { pid, reason: Some(rd) }),
                Err(errno) => Started::Done(Err(NotReady::Os { call: "fork", errno })),
            }
        }
    }
}

impl ProbeChild {
    /// The result, from how the child ended.
    pub fn result(self, exit: Exit) -> Result<(), NotReady> {
        match (exit, self.reason) {
            (Exit::Code(0), _) => Ok(()),
            (Exit::Code(_), Some(fd)) => {
                let mut buf = [0u8; 512];
                let n = nix::unistd::read(&fd, &mut buf).unwrap_or(0);
                Err(NotReady::Said(String::from_utf8_lossy(&buf[..n]).into_owned()))
            }
            (Exit::Code(code), None) => Err(NotReady::Exited(code)),
            (Exit::Signal(sig), _) => Err(NotReady::Killed(crate::process::signals::name(sig))),
        }
    }

    /// Stops the check (its status is then an orphan's).
    pub fn cancel(self) {
        let _ = sys::kill(-self.pid.as_raw(), libc::SIGKILL);
    }
}
