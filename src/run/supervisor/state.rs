//! A service's life as an explicit state machine (docs/reference.md, "Services"): the
//! states `init status` shows and the one table of the transitions allowed
//! between them. The supervisor decides *which* event happened (is a restart
//! due, did the probe pass); this table decides where that leads, and refuses
//! anything else, so a bug shows up as a logged refusal rather than a service
//! in a state nobody planned for.

/// Where a service is. Long-running: Waiting → Starting → Ready → (exit)
/// → Backoff → Starting … or Exited / Failed. Oneshot: Waiting → Running →
/// Exited (code 0) or Failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Its `after` dependencies are not ready yet.
    Waiting,
    /// Spawned; its ready probe has not passed yet.
    Starting,
    /// A oneshot that is running.
    Running,
    /// Running, and ready (probe passed, or it has none).
    Ready,
    /// Being stopped: waiting out its stop_delay, or signalled.
    Stopping,
    /// Ended and will not run again: exit code 0, stopped by init, or never started.
    Exited,
    /// Ended in failure and will not run again (or could not be spawned).
    Failed,
    /// Ended; restarting after its back-off delay.
    Backoff,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Waiting => "waiting",
            State::Starting => "starting",
            State::Running => "running",
            State::Ready => "ready",
            State::Stopping => "stopping",
            State::Exited => "exited",
            State::Failed => "failed",
            State::Backoff => "backoff",
        }
    }

    /// A process of this service may be alive.
    pub fn is_live(self) -> bool {
        matches!(self, State::Starting | State::Running | State::Ready | State::Stopping)
    }

    /// It will not run again.
    pub fn is_final(self) -> bool {
        matches!(self, State::Exited | State::Failed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Spawned (a oneshot, or a long-running service).
    Spawned { oneshot: bool },
    /// fork or exec failed.
    SpawnFailed,
    /// Its ready probe passed (or it has none).
    Probed,
    /// The process ended. `ok`: exit code 0; `restart`: the policy restarts it.
    Ended { ok: bool, restart: bool },
    /// Shutdown reached it.
    Stop,
}

/// The transition table: the state `event` leads to from `from`, or `None`
/// when that event cannot happen there.
pub fn next(from: State, event: Event) -> Option<State> {
    use Event::*;
    use State::*;
    Some(match (from, event) {
        (Waiting | Backoff, Spawned { oneshot: true }) => Running,
        (Waiting | Backoff, Spawned { oneshot: false }) => Starting,
        (Waiting | Backoff, SpawnFailed) => Failed,
        (Starting, Probed) => Ready,
        (Starting | Running | Ready, Ended { restart: true, .. }) => Backoff,
        (Starting | Running | Ready, Ended { ok: true, restart: false }) => Exited,
        (Starting | Running | Ready, Ended { ok: false, restart: false }) => Failed,
        // Stopped on purpose: whatever its code, it did what was asked.
        (Stopping, Ended { .. }) => Exited,
        (Starting | Running | Ready, Stop) => Stopping,
        // Never started, or not to be restarted any more.
        (Waiting | Backoff, Stop) => Exited,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Event::*;
    use State::*;

    const ALL: [State; 8] = [Waiting, Starting, Running, Ready, Stopping, Exited, Failed, Backoff];

    fn events() -> Vec<Event> {
        let mut e = vec![Spawned { oneshot: true }, Spawned { oneshot: false }, SpawnFailed, Probed, Stop];
        for ok in [false, true] {
            for restart in [false, true] {
                e.push(Ended { ok, restart });
            }
        }
        e
    }

    #[test]
    fn a_long_running_service_starts_gets_ready_and_restarts() {
        let mut s = Waiting;
        for (event, want) in [
            (Spawned { oneshot: false }, Starting),
            (Probed, Ready),
            (Ended { ok: false, restart: true }, Backoff),
            (Spawned { oneshot: false }, Starting),
            (Ended { ok: false, restart: false }, Failed),
        ] {
            s = next(s, event).unwrap_or_else(|| panic!("{s:?} --{event:?}--> refused"));
            assert_eq!(s, want);
        }
    }

    #[test]
    fn a_oneshot_runs_then_exits_or_fails() {
        let running = next(Waiting, Spawned { oneshot: true }).unwrap();
        assert_eq!(running, Running);
        assert_eq!(next(running, Ended { ok: true, restart: false }), Some(Exited));
        assert_eq!(next(running, Ended { ok: false, restart: false }), Some(Failed));
        assert_eq!(next(running, Probed), None, "a oneshot has no readiness of its own");
    }

    #[test]
    fn stopping_always_ends_in_exited_whatever_the_code() {
        for ok in [false, true] {
            for restart in [false, true] {
                assert_eq!(next(Stopping, Ended { ok, restart }), Some(Exited));
            }
        }
        assert_eq!(next(Waiting, Stop), Some(Exited));
        assert_eq!(next(Backoff, Stop), Some(Exited));
        assert_eq!(next(Ready, Stop), Some(Stopping));
    }

    #[test]
    fn final_states_accept_nothing() {
        for from in [Exited, Failed] {
            for e in events() {
                assert_eq!(next(from, e), None, "{from:?} --{e:?}-->");
            }
        }
    }

    #[test]
    fn the_table_has_exactly_the_planned_transitions() {
        let allowed =
            ALL.iter().flat_map(|&s| events().into_iter().filter(move |&e| next(s, e).is_some())).count();
        // Waiting/Backoff: 2 spawns + spawn failure + stop = 4 each; Starting: probe, 4 ends, stop = 6;
        // Running and Ready: 4 ends + stop = 5 each; Stopping: 4 ends.
        assert_eq!(allowed, 4 + 4 + 6 + 5 + 5 + 4);
        for s in ALL {
            assert_eq!(next(s, Spawned { oneshot: false }).is_some(), matches!(s, Waiting | Backoff));
            assert_eq!(s.is_live(), matches!(s, Starting | Running | Ready | Stopping));
        }
    }
}
