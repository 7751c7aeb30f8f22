//! The shell's one door into the pure core: an event goes into the fleet
//! (fleet.rs, life.rs), and the orders that come back are carried out here
//! (docs/development.md, "The supervisor"). What a state change means for
//! `init status` (its `since`, a rewrite) is noted here too, once per step.

use super::fleet::Reason;
use super::life::{Effect, Lateness, Why};
use super::*;
use mooring::config::duration::millis;

impl Supervisor<'_> {
    /// Feeds `event` to service `i` and carries out what follows.
    pub(super) fn feed(&mut self, i: usize, event: Event, now: Instant) {
        let orders = self.fleet.feed(i, event, now);
        self.carry(orders, now);
    }

    /// Carries out the fleet's orders, in their order.
    pub(super) fn carry(&mut self, orders: Vec<Order>, now: Instant) {
        self.note_changes();
        for order in orders {
            match order {
                Order::Svc(i, effect) => self.effect(i, effect, now),
                Order::Stopping { reason, limit } => {
                    budget::announce(limit, &self.reason(&reason));
                    if let Some(w) = self.watcher.as_mut() {
                        w.cancel();
                    }
                }
                Order::WontStart { i, dependency } => {
                    let (d, s) = (&self.svcs[i].spec.name, &self.svcs[dependency].spec.name);
                    warn!(service = %d, dependency = %s, "will not start: its dependency ended");
                }
                Order::BudgetSpent => budget::spent(),
                Order::KillAll => self.kill_everything(),
                Order::TermLeftovers => {
                    if !self.reap() && !self.fleet.killed() {
                        reap::signal_everything(self.me, libc::SIGTERM);
                    }
                }
            }
        }
        self.note_changes();
    }

    fn reason(&self, reason: &Reason) -> String {
        match reason {
            Reason::Signal(signo) => signals::name(*signo),
            Reason::MainEnded => "the main service ended".into(),
            Reason::CriticalEnded(i) => format!("critical service {} ended", self.svcs[*i].spec.name),
            Reason::NoneLeft => "no service left running".into(),
            Reason::WatchGone => "a watched dependency went away".into(),
        }
    }

    /// Services whose state or process changed since status.json last
    /// showed them: their `since` is now, the file is rewritten; a state
    /// they left takes its descriptors with it.
    fn note_changes(&mut self) {
        for (s, unit) in self.svcs.iter_mut().zip(&self.fleet.units) {
            let now = (unit.kind(), unit.life.state.pid());
            if now == s.shown {
                continue;
            }
            if now.0 != s.shown.0 {
                debug!(service = %s.spec.name, from = s.shown.0.as_str(), to = now.0.as_str(), "state");
                s.since = status_file::now_secs();
            }
            if now.0 != Kind::Starting {
                s.ready_fd = None;
            }
            s.shown = now;
            self.changed = true;
        }
    }

    fn effect(&mut self, i: usize, effect: Effect, now: Instant) {
        let name = self.svcs[i].spec.name.clone();
        match effect {
            Effect::Probe => self.probe(i, now),
            Effect::CancelProbe => {
                if let Some(child) = self.svcs[i].probe.take() {
                    child.cancel();
                }
            }
            Effect::Signal(sig, why) => self.signal(i, sig, why),
            Effect::BecameReady { after } => {
                info!(service = %name, after_ms = millis(after), "ready");
                self.semaphore_ready(i);
            }
            Effect::Heartbeat => self.heartbeat(i),
            Effect::NotReady => self.drop_semaphore(i),
            Effect::Backoff(delay) => {
                info!(service = %name, delay_ms = millis(delay), "restarting after back-off")
            }
            Effect::GaveUp { runs } => error!(service = %name, runs, "no run was ready for 10 s: giving up"),
            Effect::StopDelay(d) => {
                info!(service = %name, delay_ms = millis(d), "stop_delay before signalling")
            }
            Effect::StopSignalDropped => {
                info!(service = %name, "stop signal dropped by its signals table; waiting")
            }
            Effect::NotReadyYet(why) => debug!(service = %name, why, "not ready yet"),
            Effect::EndedForGood { .. } => {}
        }
    }

    /// A signal of init's own to service `i`'s process, with its one line.
    fn signal(&mut self, i: usize, sig: i32, why: Why) {
        let Some(proc) = self.state(i).proc() else { return };
        let name = &self.svcs[i].spec.name;
        match why {
            Why::Stop => {
                signal_proc(&proc, sig);
                info!(service = %name, pid = proc.pid.as_raw(), signal = %signals::name(sig), "stop signal sent");
            }
            Why::StopTimeout => {
                warn!(service = %name, "stop_timeout spent: SIGKILL");
                signal_proc(&proc, sig);
            }
            Why::Late(late) => {
                let why = match late {
                    Lateness::Probe(why) => why,
                    Lateness::ProbeRunning => "the probe command was still running".into(),
                    Lateness::Silent => self.silent_why(i),
                };
                error!(service = %self.svcs[i].spec.name, why, "not ready in time: SIGKILL");
                signal_proc(&proc, sig);
            }
        }
    }
}
