//! A service's life as one pure function (docs/development.md, "The
//! supervisor"): `Life::step(rules, event, now)` returns the next life and
//! the effects the loop must carry out (signal, run a probe, write the
//! semaphore, log a note, tell the container). Nothing here spawns, signals,
//! reads a clock or logs, so every transition and every timer is tested
//! by table and by scenario (life/tests.rs, scenarios/) without processes.

use std::time::{Duration, Instant};

use nix::unistd::Pid;

use super::decide::{self, AfterExit};
use super::state::{Kind, Next, Probe, Proc, Readiness, State, StopStep, Then, Unready};
use crate::process::reap::Exit;
use mooring::config::duration::{deadline, doubled, later};

/// Probe back-off, as for waits.
pub const PROBE_FIRST: Duration = Duration::from_millis(50);
pub const PROBE_MAX: Duration = Duration::from_secs(1);

mod rules;
pub use rules::{Becomes, Rules};

/// What happened to a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Its process was spawned.
    Spawned(Proc),
    /// fork or exec failed, as a run that ended at once with `code`.
    SpawnFailed { code: i32 },
    /// Its ready probe runs as this child.
    Probing(Pid),
    /// What its ready probe said (`Err`: why not).
    Probed(Result<(), Unready>),
    /// It said it is ready (a ready line, `READY=1`, a matching log line).
    Announced,
    /// Its process ended; `stopping`: the container is stopping.
    Ended { exit: Exit, stopping: bool },
    /// It named its main process (`MAINPID=`), which goes on after it.
    Adopted(Proc),
    /// Time passed: whatever its state waits for is done if due.
    Tick,
    /// The container's stop reached it.
    Shutdown,
    /// `init stop`.
    Halt,
    /// `init start`.
    Resume,
    /// `init restart`, or a reload of a service without reload_signal.
    Restart,
}

/// Why init sends a signal of its own to a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// Its stop signal (`stop_signal` through its `signals` table).
    Stop,
    /// SIGKILL: its stop_timeout is spent.
    StopTimeout,
    /// SIGKILL: not ready by its deadline, and why.
    Late(Lateness),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lateness {
    /// Its last probe said this.
    Probe(String),
    /// The probe command was still running.
    ProbeRunning,
    /// It never said it was ready.
    Silent,
}

/// What the loop carries out for a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Run its ready probe now (the answer comes back as `Probing` or `Probed`).
    Probe,
    /// Stop the child running its probe.
    CancelProbe,
    Signal(i32, Why),
    /// It became ready after this long: its semaphore is written.
    BecameReady {
        after: Duration,
    },
    /// Refresh its semaphore.
    Heartbeat,
    /// No longer ready: its semaphore goes.
    NotReady,
    /// Restarting after this back-off.
    Backoff(Duration),
    /// More than `max_restarts` runs in a row failed.
    GaveUp {
        runs: u32,
    },
    /// Waiting out its stop_delay first.
    StopDelay(Duration),
    /// Its `signals` table drops its stop signal.
    StopSignalDropped,
    /// Its probe failed, and says something new.
    NotReadyYet(String),
    /// It will not run again (the container decides what follows).
    EndedForGood {
        ok: bool,
    },
}

/// A service's state and what it counts across runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Life {
    pub state: State,
    /// Restarts after back-off, for `init status`.
    pub restarts: u32,
    /// Runs in a row that ended before being ready for 10 s (`max_restarts`).
    pub failed_runs: u32,
    /// The next back-off delay.
    pub delay: Duration,
    /// When the running process became ready.
    pub ready_since: Option<Instant>,
    pub last_exit: Option<Exit>,
}

impl Life {
    pub fn new(rules: &Rules) -> Life {
        Life {
            state: State::Waiting,
            restarts: 0,
            failed_runs: 0,
            delay: rules.restart_delay,
            ready_since: None,
            last_exit: None,
        }
    }

    pub fn kind(&self) -> Kind {
        self.state.kind()
    }

    /// The next life after `event` at `now`, and what the loop must do.
    pub fn step(&self, rules: &Rules, event: Event, now: Instant) -> (Life, Vec<Effect>) {
        let mut next = self.clone();
        let mut fx = Vec::new();
        next.apply(rules, event, now, &mut fx);
        (next, fx)
    }

    fn apply(&mut self, r: &Rules, event: Event, now: Instant, fx: &mut Vec<Effect>) {
        match event {
            Event::Spawned(proc) => self.spawned(r, proc, now, fx),
            Event::SpawnFailed { code } if matches!(self.kind(), Kind::Waiting | Kind::Backoff) => {
                self.run_ended(r, Exit::Code(code), false, now, fx)
            }
            Event::Probing(child) => self.probing(child),
            Event::Probed(result) => self.probed(r, result, now, fx),
            Event::Announced if self.kind() == Kind::Starting => self.ready(r, now, fx),
            Event::Ended { exit, stopping } => self.ended(r, exit, stopping, now, fx),
            Event::Adopted(new) => self.adopted(new),
            Event::Tick => self.tick(r, now, fx),
            Event::Shutdown => self.stop(r, Then::Exit, now, fx),
            Event::Halt => self.stop(r, Then::StayDown, now, fx),
            Event::Restart => {
                self.failed_runs = 0;
                self.stop(r, Then::Restart, now, fx);
            }
            Event::Resume if self.kind().is_final() => {
                self.failed_runs = 0;
                self.go(State::Waiting, fx);
            }
            Event::SpawnFailed { .. } | Event::Announced | Event::Resume => {}
        }
    }

    /// Moves to `to`; what the old state held goes with it: a probe still
    /// running is stopped, a semaphore removed.
    fn go(&mut self, to: State, fx: &mut Vec<Effect>) {
        if self.state.probing().is_some() && to.probing().is_none() {
            fx.push(Effect::CancelProbe);
        }
        if self.kind() == Kind::Ready && to.kind() != Kind::Ready {
            fx.push(Effect::NotReady);
        }
        self.state = to;
    }

    fn spawned(&mut self, r: &Rules, proc: Proc, now: Instant, fx: &mut Vec<Effect>) {
        if !matches!(self.state, State::Waiting | State::Backoff { .. }) {
            return;
        }
        self.ready_since = None;
        let deadline = r.ready_timeout.and_then(|t| deadline(now, t));
        let to = match r.becomes {
            _ if r.oneshot => State::Running { proc },
            Becomes::Probed => {
                let probe = Probe { next: Next::At(now), backoff: PROBE_FIRST, deadline, why: String::new() };
                State::Starting { proc, ready: Readiness::Probe(probe) }
            }
            Becomes::Announced | Becomes::AtOnce => {
                State::Starting { proc, ready: Readiness::Announce { deadline } }
            }
        };
        self.go(to, fx);
        if r.becomes == Becomes::AtOnce && !r.oneshot {
            self.ready(r, now, fx);
        }
    }

    fn probing(&mut self, child: Pid) {
        if let State::Starting { ready: Readiness::Probe(probe), .. } = &mut self.state {
            probe.next = Next::Running(child);
        }
    }

    /// What a probe said: ready, or the next probe after a back-off, or
    /// SIGKILL when its deadline has passed.
    fn probed(&mut self, r: &Rules, result: Result<(), Unready>, now: Instant, fx: &mut Vec<Effect>) {
        let State::Starting { ready: Readiness::Probe(probe), .. } = &self.state else { return };
        if matches!(probe.next, Next::Running(_)) {
            fx.push(Effect::CancelProbe);
        }
        let why = match result {
            Ok(()) => return self.ready(r, now, fx),
            Err(Unready(why)) => why,
        };
        if probe.deadline.is_some_and(|d| now >= d) {
            return self.late(Lateness::Probe(why), fx);
        }
        if why != probe.why {
            fx.push(Effect::NotReadyYet(why.clone()));
        }
        let State::Starting { ready: Readiness::Probe(probe), .. } = &mut self.state else { return };
        *probe = Probe {
            next: Next::At(later(now, probe.backoff)),
            backoff: doubled(probe.backoff, PROBE_MAX),
            deadline: probe.deadline,
            why,
        };
    }

    /// Not ready in time: SIGKILL, and its end awaited (the restart policy
    /// then decides, as for any failed run).
    fn late(&mut self, why: Lateness, fx: &mut Vec<Effect>) {
        let State::Starting { ready, .. } = &mut self.state else { return };
        *ready = Readiness::Late;
        fx.push(Effect::Signal(libc::SIGKILL, Why::Late(why)));
    }

    /// Starting → Ready: its semaphore written, the heartbeat planned.
    fn ready(&mut self, r: &Rules, now: Instant, fx: &mut Vec<Effect>) {
        let Some(proc) = self.state.proc().filter(|_| self.kind() == Kind::Starting) else { return };
        let heartbeat_at = r.heartbeat.map(|h| later(now, h));
        self.go(State::Ready { proc, heartbeat_at }, fx);
        self.ready_since = Some(now);
        fx.push(Effect::BecameReady { after: now.saturating_duration_since(proc.started_at) });
    }

    fn adopted(&mut self, new: Proc) {
        if let State::Starting { proc, .. } | State::Ready { proc, .. } | State::Stopping { proc, .. } =
            &mut self.state
        {
            *proc = new;
        }
    }

    /// Its process ended: a stop ends as it was meant to; anything else is
    /// a run the restart policy judges.
    fn ended(&mut self, r: &Rules, exit: Exit, stopping: bool, now: Instant, fx: &mut Vec<Effect>) {
        if !self.kind().is_live() {
            return;
        }
        if let State::Stopping { then, .. } = self.state {
            self.last_exit = Some(exit);
            self.ready_since = None;
            let to = match then {
                Then::StayDown => State::Stopped,
                Then::Restart if !stopping => State::Waiting,
                Then::Restart | Then::Exit => State::Exited,
            };
            return self.go(to, fx);
        }
        self.run_ended(r, exit, stopping, now, fx);
    }

    /// A run ended (or never began: a failed spawn): the restart policy
    /// restarts it after its back-off, gives up, or lets it end.
    fn run_ended(&mut self, r: &Rules, exit: Exit, stopping: bool, now: Instant, fx: &mut Vec<Effect>) {
        self.last_exit = Some(exit);
        let ok = exit == Exit::Code(0);
        let ready_for = self.ready_since.take().map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        self.failed_runs = decide::failed_runs(self.failed_runs, ready_for);
        match decide::after_exit(r.restart, r.oneshot, ok, stopping, self.failed_runs, r.max_restarts) {
            AfterExit::Restart => {
                let delay = decide::next_delay(self.delay, ready_for, r.restart_delay);
                self.restarts += 1;
                self.delay = doubled(delay, decide::MAX_DELAY);
                self.go(State::Backoff { restart_at: later(now, delay) }, fx);
                fx.push(Effect::Backoff(delay));
            }
            AfterExit::GiveUp => {
                self.go(State::Failed, fx);
                fx.push(Effect::GaveUp { runs: self.failed_runs });
                fx.push(Effect::EndedForGood { ok: false });
            }
            AfterExit::Done { ok } => {
                self.go(if ok { State::Exited } else { State::Failed }, fx);
                fx.push(Effect::EndedForGood { ok });
            }
        }
    }

    /// Whatever is due at `now`: a probe, a missed deadline, a heartbeat,
    /// the next step of a stop. (A back-off's end is the container's to
    /// act on: it starts the service, fleet.rs.)
    fn tick(&mut self, r: &Rules, now: Instant, fx: &mut Vec<Effect>) {
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        match &self.state {
            State::Starting { ready: Readiness::Probe(c), .. } => match c.next {
                Next::At(t) if t <= now => fx.push(Effect::Probe),
                Next::Running(_) if due(c.deadline) => {
                    fx.push(Effect::CancelProbe);
                    self.late(Lateness::ProbeRunning, fx);
                }
                _ => {}
            },
            State::Starting { ready: Readiness::Announce { deadline }, .. } if due(*deadline) => {
                self.late(Lateness::Silent, fx)
            }
            State::Ready { proc, heartbeat_at } if due(*heartbeat_at) => {
                let proc = *proc;
                self.state = State::Ready { proc, heartbeat_at: r.heartbeat.map(|h| later(now, h)) };
                fx.push(Effect::Heartbeat);
            }
            State::Stopping { .. } => self.advance_stop(r, now, fx),
            _ => {}
        }
    }

    /// A stop, for what `then` says. A live service goes into Stopping
    /// (its stop_delay first); one already stopping keeps its timers and
    /// takes the new `then`, except that an operator's stop stays one; one
    /// that does not run goes where `then` leads at once.
    fn stop(&mut self, r: &Rules, then: Then, now: Instant, fx: &mut Vec<Effect>) {
        match (&mut self.state, then) {
            (State::Stopping { then: old, .. }, _) => {
                *old = match (*old, then) {
                    (Then::StayDown, Then::Exit) => Then::StayDown,
                    (Then::Exit, _) => Then::Exit,
                    (_, new) => new,
                };
                self.advance_stop(r, now, fx);
            }
            (State::Starting { proc, .. } | State::Running { proc } | State::Ready { proc, .. }, _) => {
                let proc = *proc;
                let until = r.stop_delay.map_or(now, |d| later(now, d));
                self.go(State::Stopping { proc, step: StopStep::Delay(until), then }, fx);
                if let Some(d) = r.stop_delay {
                    fx.push(Effect::StopDelay(d));
                }
                self.advance_stop(r, now, fx);
            }
            (State::Waiting | State::Backoff { .. }, Then::Exit) => self.go(State::Exited, fx),
            (State::Waiting | State::Backoff { .. } | State::Exited | State::Failed, Then::StayDown) => {
                self.go(State::Stopped, fx)
            }
            (State::Exited | State::Failed | State::Stopped, Then::Restart) => self.go(State::Waiting, fx),
            _ => {}
        }
    }

    /// Its stop signal once the stop_delay is over; SIGKILL at its stop_timeout.
    fn advance_stop(&mut self, r: &Rules, now: Instant, fx: &mut Vec<Effect>) {
        let State::Stopping { step, .. } = &mut self.state else { return };
        match *step {
            StopStep::Delay(until) if until <= now => {
                // Past the clock's end there is no SIGKILL deadline at all.
                *step = StopStep::Signalled(r.stop_timeout.and_then(|t| deadline(now, t)));
                fx.push(match r.stop_signal {
                    Some(sig) => Effect::Signal(sig, Why::Stop),
                    None => Effect::StopSignalDropped,
                });
            }
            StopStep::Signalled(Some(kill_at)) if kill_at <= now => {
                *step = StopStep::Signalled(None);
                fx.push(Effect::Signal(libc::SIGKILL, Why::StopTimeout));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
