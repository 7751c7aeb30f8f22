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

/// The stop budget: not started, running until its deadline (`None`: no
/// limit), or spent, with SIGKILL rounds every `REKILL_INTERVAL`. Pure: the
/// caller gives the time and logs (`announce`, `spent`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    #[default]
    Unstarted,
    Running {
        deadline: Option<Instant>,
    },
    Killing {
        next_round: Instant,
    },
}

impl Budget {
    /// Starts the budget at `now`; a second start changes nothing.
    pub fn start(&mut self, limit: Option<Duration>, now: Instant) {
        if *self == Budget::Unstarted {
            *self = Budget::Running { deadline: limit.and_then(|b| deadline(now, b)) };
        }
    }

    pub fn started(&self) -> bool {
        *self != Budget::Unstarted
    }

    /// SIGKILL has been sent to everything.
    pub fn killed(&self) -> bool {
        matches!(self, Budget::Killing { .. })
    }

    /// When the loop must wake for it.
    pub fn deadline(&self) -> Option<Instant> {
        match *self {
            Budget::Unstarted => None,
            Budget::Running { deadline } => deadline,
            Budget::Killing { next_round } => Some(next_round),
        }
    }

    pub fn due(&self, now: Instant) -> bool {
        self.deadline().is_some_and(|d| now >= d)
    }

    /// From now on SIGKILL every `REKILL_INTERVAL` (the budget ran out, or a
    /// second stop signal came). The caller sends this round's.
    pub fn kill_round(&mut self, now: Instant) {
        *self = Budget::Killing { next_round: later(now, REKILL_INTERVAL) };
    }
}

/// The one INFO line that says why the container stops, and its budget.
pub fn announce(limit: Option<Duration>, reason: &str) {
    match limit {
        Some(b) => info!(reason, budget_ms = millis(b), "stopping"),
        None => info!(reason, "stopping, no time limit"),
    }
}

/// The one WARN line when the budget runs out.
pub fn spent() {
    warn!("stop budget spent: SIGKILL to everything left");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_runs_then_kills_in_rounds() {
        let t0 = Instant::now();
        let mut b = Budget::default();
        assert!(!b.started() && b.deadline().is_none() && !b.due(t0));
        b.start(Some(Duration::from_secs(2)), t0);
        assert_eq!(b, Budget::Running { deadline: Some(t0 + Duration::from_secs(2)) });
        b.start(Some(Duration::from_secs(9)), t0);
        assert_eq!(b.deadline(), Some(t0 + Duration::from_secs(2)), "a second start changes nothing");
        assert!(!b.due(t0 + Duration::from_secs(1)) && b.due(t0 + Duration::from_secs(2)));
        b.kill_round(t0 + Duration::from_secs(2));
        assert!(b.killed());
        assert_eq!(b.deadline(), Some(t0 + Duration::from_secs(2) + REKILL_INTERVAL));
    }

    #[test]
    fn without_a_limit_nothing_is_ever_due() {
        let t0 = Instant::now();
        let mut b = Budget::default();
        b.start(None, t0);
        assert!(b.started() && !b.killed());
        assert!(!b.due(t0 + Duration::from_secs(86_400)));
    }
}
