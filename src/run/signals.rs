//! Signal intake for PID 1: every signal is blocked before the first fork
//! and read from a signalfd, so no handler ever runs and nothing is lost
//! between checks. Children get the inherited mask back before they exec.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use mooring::config::duration::deadline;
use mooring::error::Error;

/// Signals the kernel raises synchronously for a fault in init itself. They
/// stay unblocked so that a bug kills init loudly instead of hanging it.
const SYNCHRONOUS: [Signal; 7] = [
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGILL,
    Signal::SIGFPE,
    Signal::SIGABRT,
    Signal::SIGTRAP,
    Signal::SIGSYS,
];

/// One received signal: its number and who sent it (0 for the kernel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub signo: i32,
    pub sender: i32,
}

pub struct Signals {
    fd: SignalFd,
    /// The mask init was started with; every child gets it back.
    pub original_mask: SigSet,
}

impl Signals {
    /// Blocks every asynchronous signal and opens a close-on-exec signalfd for
    /// them. Called again (waits, then the PID 1 loop), it keeps the mask init
    /// was started with as the one children get back.
    pub fn block_all() -> Result<Signals, Error> {
        static ORIGINAL: std::sync::OnceLock<SigSet> = std::sync::OnceLock::new();
        let mut mask = SigSet::all();
        for sig in SYNCHRONOUS {
            mask.remove(sig);
        }
        let mut before = SigSet::empty();
        sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), Some(&mut before))
            .map_err(|e| Error::os("sigprocmask", e))?;
        let original_mask = *ORIGINAL.get_or_init(|| before);
        let fd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC).map_err(|e| Error::os("signalfd", e))?;
        Ok(Signals { fd, original_mask })
    }

    /// Waits until a signal arrives or `deadline` passes (`None`: no deadline).
    /// Returns `None` on timeout. Without a deadline this is one blocking
    /// read: the common case, once per SIGCHLD.
    pub fn wait(&self, deadline: Option<Instant>) -> Result<Option<Received>, Error> {
        let Some(at) = deadline else {
            return self.read().map(Some);
        };
        loop {
            let left = at.saturating_duration_since(Instant::now());
            let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, poll_timeout(left)) {
                Ok(n) if n > 0 => return self.read().map(Some),
                Ok(_) if left.is_zero() => return Ok(None),
                Ok(_) | Err(Errno::EINTR) => continue,
                Err(e) => return Err(Error::os("poll", e)),
            }
        }
    }

    /// The signalfd, for a caller's own poll set.
    pub fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Sleeps up to `d`; returns a stop signal (TERM, INT, QUIT) if one came.
    /// Other signals are logged and dropped: there is no child to forward them to.
    pub fn pause(&self, d: Duration) -> Option<i32> {
        let end = deadline(Instant::now(), d);
        loop {
            match self.wait(end) {
                Ok(Some(sig)) if matches!(sig.signo, libc::SIGTERM | libc::SIGINT | libc::SIGQUIT) => {
                    return Some(sig.signo);
                }
                Ok(Some(sig)) => tracing::debug!(signal = %name(sig.signo), "ignored while waiting"),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// One signal from the (blocking) signalfd.
    pub fn read(&self) -> Result<Received, Error> {
        loop {
            match self.fd.read_signal() {
                Ok(Some(info)) => {
                    return Ok(Received { signo: info.ssi_signo as i32, sender: info.ssi_pid as i32 });
                }
                Ok(None) | Err(Errno::EINTR) => continue,
                Err(e) => return Err(Error::os("read(signalfd)", e)),
            }
        }
    }
}

/// What a received signal means to init's loops (SPEC.md section 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    /// SIGCHLD: reap.
    ChildEnded,
    /// SIGTERM, SIGINT or SIGQUIT: start stopping.
    Stop,
    /// SIGTERM or SIGINT again while stopping: SIGKILL everything now.
    KillNow,
    /// Anything else: pass it on.
    Other,
}

impl Meaning {
    pub fn of(signo: i32, stopping: bool) -> Meaning {
        match signo {
            libc::SIGCHLD => Meaning::ChildEnded,
            libc::SIGTERM | libc::SIGINT if stopping => Meaning::KillNow,
            libc::SIGTERM | libc::SIGINT | libc::SIGQUIT if !stopping => Meaning::Stop,
            _ => Meaning::Other,
        }
    }
}

/// Rounds up to whole milliseconds so a deadline is never woken early.
fn poll_timeout(left: Duration) -> PollTimeout {
    let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
    PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
}

/// The conventional name of signal number `signo`, e.g. `SIGTERM` or `SIGRTMIN+3`.
pub fn name(signo: i32) -> String {
    if let Ok(sig) = Signal::try_from(signo) {
        return sig.as_str().to_string();
    }
    let rtmin = libc::SIGRTMIN();
    if (rtmin..=libc::SIGRTMAX()).contains(&signo) {
        return format!("SIGRTMIN+{}", signo - rtmin);
    }
    format!("signal {signo}")
}
