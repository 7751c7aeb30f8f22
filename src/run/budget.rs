//! What both loops (one command, services) share about stopping: the one
//! stop budget, spent from the first stop signal, then SIGKILL rounds for
//! whatever is left (docs/reference.md, "Signals and processes"), and the
//! subreaper setup of an init that is not PID 1.

use std::time::{Duration, Instant};

use nix::unistd::Pid;
use tracing::{debug, info, warn};

use mooring::config::duration::{deadline, later, millis};

/// How often leftovers are SIGKILLed again once the budget is spent, for
/// processes forked after the previous round (only matters as a subreaper).
pub const REKILL_INTERVAL: Duration = Duration::from_millis(100);

/// The stop budget: not started, running until its deadline, or spent (the
/// SIGKILL rounds).
#[derive(Debug, Default)]
pub struct Budget {
    started: bool,
    deadline: Option<Instant>,
    killed: bool,
}

impl Budget {
    /// Starts the budget (`None`: no limit), with the one INFO line that
    /// says why; a second start changes nothing.
    pub fn start(&mut self, limit: Option<Duration>, reason: &str) {
        if self.started {
            return;
        }
        self.started = true;
        self.deadline = limit.and_then(|b| deadline(Instant::now(), b));
        match limit {
            Some(b) => info!(reason, budget_ms = millis(b), "stopping"),
            None => info!(reason, "stopping, no time limit"),
        }
    }

    pub fn started(&self) -> bool {
        self.started
    }

    /// SIGKILL has been sent to everything.
    pub fn killed(&self) -> bool {
        self.killed
    }

    /// When the loop must wake for it.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    pub fn due(&self, now: Instant) -> bool {
        self.deadline.is_some_and(|d| now >= d)
    }

    /// The budget ran out: one WARN (the first time), then as `kill_round`.
    pub fn spent(&mut self) {
        if !self.killed {
            warn!("stop budget spent: SIGKILL to everything left");
        }
        self.kill_round();
    }

    /// From now on SIGKILL every `REKILL_INTERVAL` (the budget ran out, or a
    /// second stop signal came). The caller sends this round's.
    pub fn kill_round(&mut self) {
        self.started = true;
        self.killed = true;
        self.deadline = Some(later(Instant::now(), REKILL_INTERVAL));
    }
}

/// Not PID 1 (`docker run --init`, Kubernetes `shareProcessNamespace`, a
/// shell): orphans of init's tree must still come to init to be reaped.
pub fn become_subreaper(me: Pid) {
    if me.as_raw() == 1 {
        return;
    }
    match nix::sys::prctl::set_child_subreaper(true) {
        Ok(()) => debug!(pid = me.as_raw(), "not PID 1: made init a child subreaper"),
        Err(e) => warn!(error = %e, "not PID 1 and cannot become a subreaper; orphans go elsewhere"),
    }
}
