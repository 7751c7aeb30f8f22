//! Where a service is, as plain data (docs/development.md, "The
//! supervisor"): each state carries what only it has (the process while
//! one runs, the one timer that state waits for, how its readiness or its
//! stop stands). No descriptors or child handles live here: the loop keeps
//! those beside the state (supervisor.rs), so states can be built, compared
//! and stepped in tests without processes (life.rs).

use std::time::{Duration, Instant};

use nix::unistd::Pid;

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

/// How a starting service's readiness stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// It says so itself (`notify`, `fd`, a log line), by `deadline` if it has one.
    Announce { deadline: Option<Instant> },
    /// Init probes it (a ready probe) with a growing back-off.
    Probe(Probe),
    /// Not ready by its deadline: SIGKILL went, its end is awaited.
    Late,
}

/// Why a ready probe said not ready, in its own words: the core only shows
/// and compares it (the probe's error is mooring::probe::NotReady).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unready(pub String);

impl From<&str> for Unready {
    fn from(why: &str) -> Unready {
        Unready(why.into())
    }
}

/// A ready probe: when it runs next (or the child running it), its
/// back-off, the deadline, and why it failed last (logged when it changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub next: Next,
    pub backoff: Duration,
    pub deadline: Option<Instant>,
    pub why: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    At(Instant),
    /// A command probe runs as this child (process/probe_child.rs).
    Running(Pid),
}

/// Where a stopping service is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopStep {
    /// Waiting out its stop_delay until then.
    Delay(Instant),
    /// Its stop signal went; SIGKILL at its stop_timeout, if it has one.
    Signalled(Option<Instant>),
}

/// What follows a stop once its process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// An operator stopped it (`init stop`): down until `init start`.
    StayDown,
    /// `init restart`, or a reload of a service without reload_signal.
    Restart,
    /// The container stops.
    Exit,
}

/// Where a service is, with what that state holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Its `after` dependencies are not ready yet.
    Waiting,
    /// Spawned; not ready yet.
    Starting { proc: Proc, ready: Readiness },
    /// A oneshot that is running.
    Running { proc: Proc },
    /// Running, and ready (probe passed, announced, or it has no readiness);
    /// when its semaphore's next heartbeat is due.
    Ready { proc: Proc, heartbeat_at: Option<Instant> },
    /// Being stopped, and what then.
    Stopping { proc: Proc, step: StopStep, then: Then },
    /// Ended and will not run again: exit code 0, stopped by init, or never started.
    Exited,
    /// Ended in failure and will not run again (or could not be spawned).
    Failed,
    /// Ended; restarting at the given time (its back-off).
    Backoff { restart_at: Instant },
    /// Stopped by an operator (`init stop`): down until `init start`.
    Stopped,
}

/// The kinds of state, for `init status` and the decisions that only
/// look at where a service is.
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

    /// The child running its ready probe, if one runs.
    pub fn probing(&self) -> Option<Pid> {
        match self {
            State::Starting { ready: Readiness::Probe(Probe { next: Next::Running(pid), .. }), .. } => {
                Some(*pid)
            }
            _ => None,
        }
    }

    /// The one time this state waits for, if any: a back-off's end, a
    /// probe or its deadline, a heartbeat, a stop step.
    pub fn timer(&self) -> Option<Instant> {
        match self {
            State::Backoff { restart_at } => Some(*restart_at),
            State::Stopping { step: StopStep::Delay(t), .. } => Some(*t),
            State::Stopping { step: StopStep::Signalled(kill_at), .. } => *kill_at,
            State::Starting { ready: Readiness::Announce { deadline }, .. } => *deadline,
            State::Starting { ready: Readiness::Probe(c), .. } => match c.next {
                Next::At(t) => Some(t),
                Next::Running(_) => c.deadline,
            },
            State::Ready { heartbeat_at, .. } => *heartbeat_at,
            _ => None,
        }
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
