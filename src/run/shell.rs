//! A child that switches from root to another user while any of init's fds
//! 0-2 is a terminal (`init shell`, `init run` with a user): it gets a fresh
//! pseudo-terminal whose session it leads, and init relays bytes between it
//! and init's own stdio. The child never holds a descriptor of root's
//! terminal, so it cannot push keystrokes into it (TIOCSTI; docs/security.md). Window size changes and Ctrl-C pass through; init exits with the
//! child's code. When stdin is not a terminal (`< file`, `</dev/null`, a
//! pipe) it is copied to the pty until its end, which the child then reads
//! as end of file; the pty does not echo it back into the output.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::termios::{self, LocalFlags, OutputFlags, SetArg, SpecialCharacterIndices, Termios};
use nix::unistd::Pid;
use tracing::{debug, info};

use crate::process::reap::{self, Exit};
use crate::process::signals::{self, Signals};
use crate::process::spawn::{self, Command};
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
/// stdin/stdout until the child exits; returns its exit code.
pub fn run_on_pty(cmd: &Command, owner_uid: u32) -> Result<u8, Error> {
    let signals = Signals::block_all()?;
    let pty = nix::pty::openpty(None, None).map_err(|e| Error::os("openpty", e))?;
    let terminal = (0..3).find(|&fd| sys::isatty(fd));
    if let Some(ws) = terminal.and_then(sys::window_size) {
        sys::set_window_size(pty.slave.as_raw_fd(), &ws);
    }
    let stdin_tty = sys::isatty(0);
    let veof = shape_pty(&pty.slave, stdin_tty, sys::isatty(1));
    // The user owns its terminal, as login(1) arranges.
    let _ = std::os::unix::fs::fchown(&pty.slave, Some(owner_uid), None);
    let child = spawn::spawn_on_pty(cmd, signals.original_mask, pty.slave.as_raw_fd())?;
    drop(pty.slave);
    info!(pid = child.as_raw(), command = %cmd.argv.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "), "started on a new pty");
    let stdin = std::io::stdin();
    let _raw = termios::tcgetattr(stdin.as_fd()).ok().map(|saved| {
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSADRAIN, &raw);
        RawMode { fd: stdin.as_fd(), saved }
    });
    let eof = (!stdin_tty).then_some(veof);
    let mut relay =
        Relay { master: &pty.master, child, terminal, eof, stdin_open: true, last_in: b'\n', exit: None };
    relay.run(&signals);
    Ok(relay.exit.unwrap_or(Exit::Code(0)).byte())
}

/// Sets the pty up for what init's stdio is: input that is not typed is not
/// echoed, output that goes to no terminal is passed byte for byte (no CR
/// added). Returns the pty's end-of-file character.
fn shape_pty(slave: &OwnedFd, stdin_tty: bool, stdout_tty: bool) -> u8 {
    let Ok(mut t) = termios::tcgetattr(slave.as_fd()) else { return 4 };
    if !stdin_tty {
        t.local_flags.remove(LocalFlags::ECHO | LocalFlags::ECHONL);
    }
    if !stdout_tty {
        t.output_flags.remove(OutputFlags::OPOST);
    }
    let _ = termios::tcsetattr(slave.as_fd(), SetArg::TCSANOW, &t);
    t.control_chars[SpecialCharacterIndices::VEOF as usize]
}

/// The relay's state: what is still open and how the child ended.
struct Relay<'a> {
    master: &'a OwnedFd,
    child: Pid,
    /// The first of fds 0-2 that is a terminal (window size source).
    terminal: Option<i32>,
    /// stdin is no terminal: its end is passed on as this EOF character.
    eof: Option<u8>,
    stdin_open: bool,
    /// The last byte copied in (an EOF character after a partial line only
    /// ends that line, so a second one is needed).
    last_in: u8,
    exit: Option<Exit>,
}

impl Relay<'_> {
    /// Copies stdin to the pty and the pty to stdout until the child is gone
    /// and its output drained; handles SIGWINCH, SIGCHLD and forwards the rest.
    fn run(&mut self, signals: &Signals) {
        let stdin = std::io::stdin();
        let mut buf = [0u8; 8192];
        loop {
            let mut fds = vec![
                PollFd::new(self.master.as_fd(), PollFlags::POLLIN),
                PollFd::new(signals.as_fd(), PollFlags::POLLIN),
            ];
            // Once the child has exited, only drain what it left.
            if self.stdin_open && self.exit.is_none() {
                fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            }
            let timeout = if self.exit.is_some() { PollTimeout::ZERO } else { PollTimeout::NONE };
            match poll(&mut fds, timeout) {
                Ok(0) => break,
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(_) => break,
            }
            let ready = |i: usize| fds.get(i).and_then(PollFd::revents).is_some_and(|r| !r.is_empty());
            let (from_master, from_signals, from_stdin) = (ready(0), ready(1), ready(2));
            drop(fds);
            if from_master && !self.copy_out(&mut buf) {
                break;
            }
            if from_stdin {
                self.copy_in(stdin.as_fd(), &mut buf);
            }
            if from_signals && let Some(sig) = signals.read() {
                self.on_signal(sig.signo);
            }
        }
    }

    /// Copies the child's output out; `false` when the relay is over.
    fn copy_out(&mut self, buf: &mut [u8]) -> bool {
        match nix::unistd::read(self.master, buf) {
            Ok(n) if n > 0 => {
                write_all(std::io::stdout().as_fd(), &buf[..n]);
                true
            }
            // EIO: every holder of the slave is gone.
            _ => self.exit.is_none(),
        }
    }

    fn copy_in(&mut self, stdin: BorrowedFd<'_>, buf: &mut [u8]) {
        match nix::unistd::read(stdin, buf) {
            Ok(n) if n > 0 => {
                write_all(self.master.as_fd(), &buf[..n]);
                self.last_in = buf[n - 1];
            }
            Err(Errno::EINTR | Errno::EAGAIN) => {}
            _ => {
                self.stdin_open = false;
                if let Some(eof) = self.eof {
                    let ends = if self.last_in == b'\n' { &[eof][..] } else { &[eof, eof][..] };
                    write_all(self.master.as_fd(), ends);
                }
            }
        }
    }

    fn on_signal(&mut self, signo: i32) {
        match signo {
            libc::SIGCHLD => {
                let child = self.child;
                let exit = &mut self.exit;
                reap::drain(|pid, e| {
                    if pid == child {
                        *exit = Some(e);
                    }
                });
            }
            libc::SIGWINCH => {
                if let Some(ws) = self.terminal.and_then(sys::window_size) {
                    sys::set_window_size(self.master.as_raw_fd(), &ws);
                }
            }
            other => {
                debug!(signal = %signals::name(other), pid = self.child.as_raw(), "forwarded to the child's session");
                let _ = sys::kill(-self.child.as_raw(), other);
            }
        }
    }
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
