//! `init shell` from root on a terminal: the unprivileged shell gets a fresh
//! pseudo-terminal whose session it leads, and init relays bytes between it
//! and root's terminal. The shell never holds a descriptor of root's
//! terminal, so it cannot push keystrokes into it (TIOCSTI). Window size
//! changes and Ctrl-C pass through; init exits with the shell's code.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::termios::{self, SetArg, Termios};
use nix::unistd::Pid;
use tracing::{debug, info};

use crate::run::reap::{self, Exit};
use crate::run::signals::{self, Signals};
use crate::run::spawn::{self, Command};
use crate::sys;
use mooring::error::Error;

/// Puts the terminal back as it was, however the relay ends.
struct RawMode<'a> {
    fd: BorrowedFd<'a>,
    saved: Termios,
}

impl Drop for RawMode<'_> {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(self.fd, SetArg::TCSADRAIN, &self.saved);
    }
}

/// Runs `cmd` on a new pty owned by `owner_uid` and relays it to init's
/// stdin/stdout until the shell exits; returns its exit code.
pub fn run_on_pty(cmd: &Command, owner_uid: u32) -> Result<u8, Error> {
    let signals = Signals::block_all()?;
    let pty = nix::pty::openpty(None, None).map_err(|e| Error::os("openpty", e))?;
    if let Some(ws) = sys::window_size(0) {
        sys::set_window_size(pty.slave.as_raw_fd(), &ws);
    }
    // The user owns its terminal, as login(1) arranges.
    let _ = std::os::unix::fs::fchown(&pty.slave, Some(owner_uid), None);
    let child = spawn::spawn_on_pty(cmd, signals.original_mask, pty.slave.as_raw_fd())?;
    drop(pty.slave);
    info!(pid = child.as_raw(), command = %cmd.argv.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "), "shell started on a new pty");
    let stdin = std::io::stdin();
    let _raw = termios::tcgetattr(stdin.as_fd()).ok().map(|saved| {
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSADRAIN, &raw);
        RawMode { fd: stdin.as_fd(), saved }
    });
    let exit = relay(&pty.master, &signals, child);
    Ok(exit.byte())
}

/// Copies stdin to the pty and the pty to stdout until the shell is gone and
/// its output drained; handles SIGWINCH, SIGCHLD and forwards the rest.
fn relay(master: &OwnedFd, signals: &Signals, child: Pid) -> Exit {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut stdin_open = true;
    let mut exit = None;
    let mut buf = [0u8; 8192];
    loop {
        let mut fds = vec![
            PollFd::new(master.as_fd(), PollFlags::POLLIN),
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
        ];
        if stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        // Once the shell has exited, only drain what it left.
        let timeout = if exit.is_some() { PollTimeout::ZERO } else { PollTimeout::NONE };
        match poll(&mut fds, timeout) {
            Ok(0) => break,
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(_) => break,
        }
        let ready = |i: usize| fds.get(i).and_then(PollFd::revents).is_some_and(|r| !r.is_empty());
        let (from_master, from_signals, from_stdin) = (ready(0), ready(1), ready(2));
        if from_master {
            match nix::unistd::read(master, &mut buf) {
                Ok(n) if n > 0 => write_all(stdout.as_fd(), &buf[..n]),
                // EIO: every holder of the slave is gone.
                _ => {
                    if exit.is_some() {
                        break;
                    }
                }
            }
        }
        if from_stdin {
            match nix::unistd::read(stdin.as_fd(), &mut buf) {
                Ok(n) if n > 0 => write_all(master.as_fd(), &buf[..n]),
                _ => stdin_open = false,
            }
        }
        if from_signals && let Ok(sig) = signals.read() {
            match sig.signo {
                libc::SIGCHLD => {
                    reap::drain(|pid, e| {
                        if pid == child {
                            exit = Some(e);
                        }
                    });
                }
                libc::SIGWINCH => {
                    if let Some(ws) = sys::window_size(0) {
                        sys::set_window_size(master.as_raw_fd(), &ws);
                    }
                }
                other => {
                    debug!(signal = %signals::name(other), pid = child.as_raw(), "forwarded to the shell's session");
                    let _ = sys::kill(-child.as_raw(), other);
                }
            }
        }
    }
    exit.unwrap_or(Exit::Code(0))
}

fn write_all(fd: BorrowedFd<'_>, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match nix::unistd::write(fd, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::EINTR) | Err(Errno::EAGAIN) => continue,
            Err(_) => return,
        }
    }
}
