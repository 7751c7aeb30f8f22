//! Signal intake for PID 1: every signal is blocked before the first fork
//! and read from a signalfd, so no handler ever runs and nothing is lost
//! between checks. Children get the inherited mask back before they exec.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use mooring::config::duration::deadline;
use mooring::error::Error;

/// One received signal: its number and who sent it (0 for the kernel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub signo: i32,
    pub sender: i32,
}

impl Received {
    /// A SIGPIPE init raised itself by writing to a pipe whose reader is
    /// gone (its stdout's log reader): not a signal from outside, so not
    /// one to forward (docs/reference.md, "Signals and processes").
    pub fn own_broken_pipe(&self, me: i32) -> bool {
        self.signo == libc::SIGPIPE && self.sender == me
    }
}

pub struct Signals {
    fd: SignalFd,
    /// Every signal: all are blocked and taken here.
    mask: SigSet,
    /// The mask init was started with; every child gets it back.
    pub original_mask: SigSet,
}

impl Signals {
    /// Blocks every signal and opens a close-on-exec signalfd for
    /// them. Called again (waits, then the PID 1 loop), it keeps the mask init
    /// was started with as the one children get back.
    pub fn block_all() -> Result<Signals, Error> {
        static ORIGINAL: std::sync::OnceLock<SigSet> = std::sync::OnceLock::new();
        // Fault signals (SEGV, BUS, ILL, FPE, ABRT, TRAP, SYS) are blocked too:
        // sent with kill(2) (`docker kill -s ABRT`) they are the workload's, to
        // forward (docs/reference.md, "Signals and processes"). A real fault in init
        // still kills it: the kernel delivers a synchronous fault signal by
        // force, unblocking it and resetting it to the default action (and
        // lifting PID 1's protection) when it is blocked, so it never waits in
        // the signalfd. abort() ends in such a fault when its SIGABRT is held.
        let mask = SigSet::all();
        let mut before = SigSet::empty();
        sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), Some(&mut before))
            .map_err(|e| Error::os("sigprocmask", e))?;
        let original_mask = *ORIGINAL.get_or_init(|| before);
        let fd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC).map_err(|e| Error::os("signalfd", e))?;
        Ok(Signals { fd, mask, original_mask })
    }

    /// Waits until a signal arrives or `deadline` passes (`None`: no
    /// deadline); `None` on timeout. One sigtimedwait(2) per signal, as tini
    /// waits (the signalfd is for callers that poll other descriptors too).
    pub fn wait(&self, deadline: Option<Instant>) -> Result<Option<Received>, Error> {
        let left = deadline.map(|at| at.saturating_duration_since(Instant::now()));
        match crate::sys::sigtimedwait(&self.mask, left) {
            Ok(Some((signo, sender))) => Ok(Some(Received { signo, sender })),
            Ok(None) => Ok(None),
            Err(e) => Err(Error::os("sigtimedwait", e)),
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

/// What a received signal means to the supervisor (service mode, docs/reference.md,
/// "Shutdown"): TERM, INT and QUIT stop the container, a second TERM or INT
/// is the impatient user's SIGKILL.
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

/// Where single-command mode stands when a signal comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The command runs and nobody asked it to stop.
    Running,
    /// The stop budget runs (a SIGTERM came, or a watched dependency went).
    Stopping,
    /// The command has exited; only leftovers may remain.
    MainGone,
}

/// What single-command mode does with one signal. It is transparent, as
/// docs/reference.md, "Signals and processes", says: the command gets every signal
/// unchanged, and only SIGTERM, what `docker stop` and Kubernetes send, also
/// starts the budget that ends in SIGKILL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// SIGCHLD: reap.
    Reap,
    /// Pass it on, nothing more (INT, QUIT, HUP, ABRT, a repeated TERM, ...).
    Forward,
    /// The first SIGTERM: pass it on and start the stop budget.
    ForwardAndStop,
    /// The command is gone: there is no one to pass it to.
    Drop,
}

impl Action {
    pub fn single(signo: i32, phase: Phase) -> Action {
        match (signo, phase) {
            (libc::SIGCHLD, _) => Action::Reap,
            (_, Phase::MainGone) => Action::Drop,
            (libc::SIGTERM, Phase::Running) => Action::ForwardAndStop,
            _ => Action::Forward,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every signal number a sender can name (1..=SIGRTMAX).
    fn every_signal() -> impl Iterator<Item = i32> {
        1..=libc::SIGRTMAX()
    }

    #[test]
    fn single_mode_forwards_every_signal_and_only_the_first_sigterm_starts_the_budget() {
        use Action::*;
        use Phase::*;
        let table = [
            (libc::SIGTERM, Running, ForwardAndStop),
            (libc::SIGTERM, Stopping, Forward),
            (libc::SIGTERM, MainGone, Drop),
            (libc::SIGINT, Running, Forward),
            (libc::SIGINT, Stopping, Forward),
            (libc::SIGQUIT, Running, Forward),
            (libc::SIGQUIT, Stopping, Forward),
            (libc::SIGHUP, Running, Forward),
            (libc::SIGABRT, Running, Forward),
            (libc::SIGSEGV, Stopping, Forward),
            (libc::SIGTSTP, Running, Forward),
            (libc::SIGUSR1, MainGone, Drop),
            (libc::SIGCHLD, Running, Reap),
            (libc::SIGCHLD, Stopping, Reap),
            (libc::SIGCHLD, MainGone, Reap),
        ];
        for (signo, phase, want) in table {
            assert_eq!(Action::single(signo, phase), want, "{} while {phase:?}", name(signo));
        }
    }

    #[test]
    fn single_mode_passes_on_everything_but_sigchld_while_the_command_runs() {
        for phase in [Phase::Running, Phase::Stopping] {
            for signo in every_signal().filter(|&s| s != libc::SIGCHLD) {
                let got = Action::single(signo, phase);
                let starts = signo == libc::SIGTERM && phase == Phase::Running;
                let want = if starts { Action::ForwardAndStop } else { Action::Forward };
                assert_eq!(got, want, "{} while {phase:?}", name(signo));
            }
        }
    }

    #[test]
    fn service_mode_stops_on_term_int_quit_and_a_second_term_or_int_kills() {
        use Meaning::*;
        let table = [
            (libc::SIGTERM, false, Stop),
            (libc::SIGINT, false, Stop),
            (libc::SIGQUIT, false, Stop),
            (libc::SIGTERM, true, KillNow),
            (libc::SIGINT, true, KillNow),
            (libc::SIGQUIT, true, Other),
            (libc::SIGHUP, false, Other),
            (libc::SIGABRT, false, Other),
            (libc::SIGCHLD, false, ChildEnded),
            (libc::SIGCHLD, true, ChildEnded),
        ];
        for (signo, stopping, want) in table {
            assert_eq!(Meaning::of(signo, stopping), want, "{} stopping={stopping}", name(signo));
        }
    }
}
