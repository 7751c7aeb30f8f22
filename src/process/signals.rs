//! Signal intake for PID 1: every signal is blocked before the first fork
//! and read from a signalfd, so no handler ever runs and nothing is lost
//! between checks. Children get the inherited mask back before they exec.

use std::cell::Cell;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use mooring::config::duration::deadline;
use mooring::error::Error;

use crate::process::streak::{self, Streak};

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
    fn own_broken_pipe(&self, me: i32) -> bool {
        self.signo == libc::SIGPIPE && self.sender == me
    }
}

pub struct Signals {
    fd: SignalFd,
    /// Every signal: all are blocked and taken here.
    mask: SigSet,
    /// The mask init was started with; every child gets it back.
    pub original_mask: SigSet,
    /// Init's own pid, to tell its own SIGPIPE from one sent from outside.
    me: i32,
    /// Failures of the way signals are taken (sigtimedwait, or the
    /// signalfd's read); the other way stands in meanwhile.
    streak: Cell<Streak>,
    /// Both ways failed: the signalfd is not polled before then.
    resume_at: Cell<Option<Instant>>,
}

/// How often a call interrupted by a tracer or a stop (EINTR, with every
/// signal blocked) is made again at once before it counts as failed.
const TRIES: u32 = 8;

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
        let (me, streak, resume_at) = (nix::unistd::getpid().as_raw(), Cell::default(), Cell::new(None));
        Ok(Signals { fd, mask, original_mask, me, streak, resume_at })
    }

    /// Waits until a signal arrives or `deadline` passes (`None`: no
    /// deadline); `None` at the deadline. One sigtimedwait(2) per signal, as
    /// tini waits (the signalfd is for callers that poll other descriptors
    /// too). Init's own SIGPIPE is passed over.
    pub fn wait(&self, deadline: Option<Instant>) -> Option<Received> {
        loop {
            let left = deadline.map(|at| at.saturating_duration_since(Instant::now()));
            let got = match crate::sys::sigtimedwait(&self.mask, left) {
                Ok(got) => self.worked(got),
                Err(e) => {
                    self.failed(e);
                    self.wait_another_way(deadline)
                }
            };
            match got.map(|(signo, sender)| Received { signo, sender }) {
                Some(sig) if sig.own_broken_pipe(self.me) => {
                    own_broken_pipe();
                }
                Some(sig) => return Some(sig),
                None if deadline.is_some_and(|d| Instant::now() >= d) => return None,
                None => {}
            }
        }
    }

    /// sigtimedwait failed: the signalfd is polled until the deadline or
    /// the next try, and read. Should that fail too, a plain sleep until
    /// then: a persistent error costs a few calls a second, never a busy
    /// loop (docs/reference.md, "When system calls fail").
    fn wait_another_way(&self, deadline: Option<Instant>) -> Option<(i32, i32)> {
        let until = [deadline, self.streak.get().retry_at()].into_iter().flatten().min();
        let left = until.map_or(Duration::from_secs(5), |t| t.saturating_duration_since(Instant::now()));
        let ms = i32::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i32::MAX);
        let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)) {
            Ok(n) if n > 0 => self.read_fd().ok().flatten(),
            Ok(_) => None,
            Err(_) => {
                std::thread::sleep(left);
                None
            }
        }
    }

    /// The signalfd, for a caller's own poll set.
    pub fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// When a caller's poll set may hold the signalfd again: both ways
    /// of taking signals failed, and polling it now would spin.
    pub fn resume_at(&self) -> Option<Instant> {
        self.resume_at.get().filter(|&t| t > Instant::now())
    }

    /// Sleeps up to `d`; returns a stop signal (TERM, INT, QUIT) if one came.
    /// Other signals are logged and dropped: there is no child to forward them to.
    pub fn pause(&self, d: Duration) -> Option<i32> {
        let end = deadline(Instant::now(), d);
        loop {
            match self.wait(end) {
                Some(sig) if matches!(sig.signo, libc::SIGTERM | libc::SIGINT | libc::SIGQUIT) => {
                    return Some(sig.signo);
                }
                Some(sig) => tracing::debug!(signal = %name(sig.signo), "ignored while waiting"),
                None => return None,
            }
        }
    }

    /// One signal, once a poll found the signalfd readable: read from it,
    /// or, when that fails, taken by a sigtimedwait that does not wait.
    /// `None`: nothing to take, or init's own SIGPIPE.
    pub fn read(&self) -> Option<Received> {
        self.resume_at.set(None);
        let got = match self.read_fd() {
            Ok(got) => self.worked(got),
            Err(e) => {
                self.failed(e);
                let got = crate::sys::sigtimedwait(&self.mask, Some(Duration::ZERO)).ok().flatten();
                if got.is_none() {
                    self.resume_at.set(self.streak.get().retry_at());
                }
                got
            }
        };
        match got.map(|(signo, sender)| Received { signo, sender }) {
            Some(sig) if sig.own_broken_pipe(self.me) => own_broken_pipe(),
            got => got,
        }
    }

    /// One read of the signalfd: a signal's number and sender, `None` when
    /// none was there.
    fn read_fd(&self) -> Result<Option<(i32, i32)>, Errno> {
        let mut tries = 0;
        loop {
            match self.fd.read_signal() {
                Ok(info) => return Ok(info.map(|i| (i.ssi_signo as i32, i.ssi_pid as i32))),
                Err(Errno::EINTR) if tries < TRIES => tries += 1,
                Err(e) => return Err(e),
            }
        }
    }

    fn worked<T>(&self, got: T) -> T {
        if self.streak.get().failing() {
            let mut streak = self.streak.get();
            streak::log(streak.ok(), "taking signals");
            self.streak.set(streak);
        }
        got
    }

    fn failed(&self, e: Errno) {
        let mut streak = self.streak.get();
        streak::log(streak.fail(e, Instant::now()), "taking signals");
        self.streak.set(streak);
    }
}

/// A SIGPIPE init raised itself is not a signal to act on.
fn own_broken_pipe() -> Option<Received> {
    tracing::debug!("SIGPIPE from init's own write to a closed output: not forwarded");
    None
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
