//! A service's life as an explicit state machine (docs/reference.md, "Services"):
//! each state carries the data only it has (the process while one runs,
//! the one timer that state waits for), and one table says which
//! transitions are allowed between the kinds of state. The supervisor
//! decides *which* event happened (is a restart due, did the probe pass);
//! this table decides where that leads and refuses anything else, so a bug
//! shows up as a logged refusal rather than a service in a state nobody
//! planned for.

use std::time::Instant;

use nix::unistd::Pid;

use crate::run::probe_child::ProbeChild;

/// A process of the service: its pid (also its process group) and when it
/// was spawned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proc {
    pub pid: Pid,
    pub started_at: Instant,
    /// A process init did not fork (`MAINPID=`): its start time in /proc,
    /// checked again before every signal (supervisor/mainpid.rs).
    pub adopted: Option<u64>,
}

/// The ready probe of a starting service.
#[derive(Default)]
pub struct ReadyProbe {
    /// When to run it next (`None` while a child runs it).
    pub next: Option<Instant>,
    pub backoff: std::time::Duration,
    /// When the service must be ready (`timeout`), if ever.
    pub deadline: Option<Instant>,
    /// A check under way in a child (run/probe_child.rs).
    pub child: Option<ProbeChild>,
    /// `ready = { fd = N }`: the read end of the service's descriptor N.
    pub fd: Option<std::os::fd::OwnedFd>,
    /// Why it failed last, logged only when it changes.
    pub why: String,
}

/// Where a stopping service is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopStep {
    /// Waiting out its stop_delay until then.
    Delay(Instant),
    /// Its stop signal went; SIGKILL at its stop_timeout, if it has one.
    Signalled(Option<Instant>),
}

/// Where a service is, with what that state holds.
pub enum State {
    /// Its `after` dependencies are not ready yet.
    Waiting,
    /// Spawned; its ready probe has not passed yet.
    Starting { proc: Proc, probe: ReadyProbe },
    /// A oneshot that is running.
    Running { proc: Proc },
    /// Running, and ready (probe passed, or it has none); the next semaphore heartbeat.
    Ready { proc: Proc, heartbeat_at: Option<Instant> },
    /// Being stopped; `halt`: by an operator, so it stays down afterwards.
    Stopping { proc: Proc, step: StopStep, halt: bool },
    /// Ended and will not run again: exit code 0, stopped by init, or never started.
    Exited,
    /// Ended in failure and will not run again (or could not be spawned).
    Failed,
    /// Ended; restarting at the given time (its back-off).
    Backoff { restart_at: Instant },
    /// Stopped by an operator (`init stop`): down until `init start`.
    Stopped,
}

/// The kinds of state, for the transition table and `init status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Waiting,
    Starting,
    Running,
    Ready,
    Stopping,
    Exited,
    Failed,
    Backoff,
    Stopped,
}

impl State {
    pub fn kind(&self) -> Kind {
        match self {
            State::Waiting => Kind::Waiting,
            State::Starting { .. } => Kind::Starting,
            State::Running { .. } => Kind::Running,
            State::Ready { .. } => Kind::Ready,
            State::Stopping { .. } => Kind::Stopping,
            State::Exited => Kind::Exited,
            State::Failed => Kind::Failed,
            State::Backoff { .. } => Kind::Backoff,
            State::Stopped => Kind::Stopped,
        }
    }

    /// The process, while one runs.
    pub fn proc(&self) -> Option<Proc> {
        match self {
            State::Starting { proc, .. }
            | State::Running { proc }
            | State::Ready { proc, .. }
            | State::Stopping { proc, .. } => Some(*proc),
            _ => None,
        }
    }

    pub fn pid(&self) -> Option<Pid> {
        self.proc().map(|p| p.pid)
    }
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Waiting => "waiting",
            Kind::Starting => "starting",
            Kind::Running => "running",
            Kind::Ready => "ready",
            Kind::Stopping => "stopping",
            Kind::Exited => "exited",
            Kind::Failed => "failed",
            Kind::Backoff => "backoff",
            Kind::Stopped => "stopped",
        }
    }

    /// A process of this service may be alive.
    pub fn is_live(self) -> bool {
        matches!(self, Kind::Starting | Kind::Running | Kind::Ready | Kind::Stopping)
    }

    /// It will not run again unless an operator starts it.
    pub fn is_final(self) -> bool {
        matches!(self, Kind::Exited | Kind::Failed | Kind::Stopped)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Spawned (a oneshot, or a long-running service).
    Spawned { oneshot: bool },
    /// fork or exec failed: a failed run; `restart`: the policy restarts it.
    SpawnFailed { restart: bool },
    /// Its ready probe passed (or it has none).
    Probed,
    /// The process ended. `ok`: exit code 0; `restart`: the policy restarts it.
    Ended { ok: bool, restart: bool },
    /// The process of a stopping service ended; `halt`: an operator stopped it.
    StopEnded { halt: bool },
    /// Shutdown reached it.
    Stop,
    /// An operator stopped it (`init stop`).
    Halt,
    /// An operator started it again (`init start`).
    Resume,
}

/// The transition table: the kind of state `event` leads to from `from`,
/// or `None` when that event cannot happen there.
pub fn next(from: Kind, event: Event) -> Option<Kind> {
    use Event::*;
    use Kind::*;
    Some(match (from, event) {
        (Waiting | Backoff, Spawned { oneshot: true }) => Running,
        (Waiting | Backoff, Spawned { oneshot: false }) => Starting,
        (Waiting | Backoff, SpawnFailed { restart: true }) => Backoff,
        (Waiting | Backoff, SpawnFailed { restart: false }) => Failed,
        (Starting, Probed) => Ready,
        (Starting | Running | Ready, Ended { restart: true, .. }) => Backoff,
        (Starting | Running | Ready, Ended { ok: true, restart: false }) => Exited,
        (Starting | Running | Ready, Ended { ok: false, restart: false }) => Failed,
        (Starting | Running | Ready, Stop | Halt) => Stopping,
        // Stopped on purpose: whatever its code, it did what was asked; an
        // operator's stop keeps it down.
        (Stopping, StopEnded { halt: false }) => Exited,
        (Stopping, StopEnded { halt: true }) => Stopped,
        // Never started, or not to be restarted any more.
        (Waiting | Backoff, Stop) => Exited,
        (Waiting | Backoff | Exited | Failed, Halt) => Stopped,
        (Exited | Failed | Stopped, Resume) => Waiting,
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
