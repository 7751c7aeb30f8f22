//! The container's services together, as pure decisions (docs/development.md,
//! "The supervisor"): which service starts now (its `after` ready, its
//! back-off over), what a service's end means for the others and for the
//! container (critical, main, give-up), the stop in reverse dependency
//! order under one budget, and the exit code. Each call takes the time and
//! returns orders for the loop; nothing here touches a process.

use std::time::{Duration, Instant};

use super::decide::{self, Ends, View};
use super::life::{Effect, Event, Life, Rules};
use super::state::{Kind, State};
use crate::process::budget::Budget;
use crate::process::reap::Exit;

/// One service: what the container-level decisions read of its
/// configuration, its rules and its life.
#[derive(Debug, Clone)]
pub struct Unit {
    pub name: String,
    pub after: Vec<String>,
    pub main: bool,
    pub critical: bool,
    pub rules: Rules,
    pub life: Life,
}

impl Unit {
    pub fn new(name: &str, after: &[String], (main, critical): (bool, bool), rules: Rules) -> Unit {
        let life = Life::new(&rules);
        Unit { name: name.into(), after: after.to_vec(), main, critical, rules, life }
    }

    pub fn kind(&self) -> Kind {
        self.life.kind()
    }

    /// Ready for its dependents and for `init health`: a service once it
    /// is ready, a oneshot once it exited 0.
    pub fn ready(&self) -> bool {
        match self.rules.oneshot {
            true => self.kind() == Kind::Exited && self.life.last_exit == Some(Exit::Code(0)),
            false => self.kind() == Kind::Ready,
        }
    }
}

/// Why the container stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A stop signal came (its number).
    Signal(i32),
    MainEnded,
    /// A critical service ended (its index).
    CriticalEnded(usize),
    NoneLeft,
    WatchGone,
}

/// What the loop carries out for the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Order {
    /// Service `i`'s effect.
    Svc(usize, Effect),
    /// The container stops, with this budget: log it, end the watches.
    Stopping { reason: Reason, limit: Option<Duration> },
    /// Service `i` will not start: its dependency ended for good.
    WontStart { i: usize, dependency: usize },
    /// The budget is spent: one WARN, then `KillAll`.
    BudgetSpent,
    /// SIGKILL to every service's process and to everything left.
    KillAll,
    /// No service has a process: collect what ended, then SIGTERM the rest.
    TermLeftovers,
}

/// How the container's stop stands once it began.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stop {
    pub budget: Budget,
    /// The code something decided (a critical or the main service's end, a watch).
    pub decided: Option<u8>,
    /// 128+N of the stop signal, for when no main service ever ran.
    pub signal_code: Option<u8>,
    /// Everything left got SIGTERM once no service had a process.
    pub leftovers_signalled: bool,
}

#[derive(Debug, Clone)]
pub struct Fleet {
    pub units: Vec<Unit>,
    pub stop: Option<Stop>,
    /// `--stop-timeout` (`None`: no limit).
    limit: Option<Duration>,
    /// `--remap-exit`: the main service's codes that count as 0.
    remap: Vec<u8>,
}

impl Fleet {
    pub fn new(units: Vec<Unit>, limit: Option<Duration>, remap: Vec<u8>) -> Fleet {
        Fleet { units, stop: None, limit, remap }
    }

    pub fn stopping(&self) -> bool {
        self.stop.is_some()
    }

    fn views(&self) -> Vec<View<'_>> {
        self.units
            .iter()
            .map(|u| View { name: &u.name, after: &u.after, kind: u.kind(), ready: u.ready() })
            .collect()
    }

    /// The first service to spawn now: waiting with its dependencies
    /// ready, or its back-off over. None while the container stops.
    pub fn due_start(&self, now: Instant) -> Option<usize> {
        if self.stopping() {
            return None;
        }
        let views = self.views();
        (0..self.units.len()).find(|&i| {
            let over = matches!(self.units[i].life.state, State::Backoff { restart_at } if restart_at <= now);
            decide::should_start(i, &views, over)
        })
    }

    /// Service `i`'s process ended.
    pub fn ended(&mut self, i: usize, exit: Exit, now: Instant) -> Vec<Order> {
        let stopping = self.stopping();
        self.feed(i, Event::Ended { exit, stopping }, now)
    }

    /// Steps service `i`; what follows for the others and the container
    /// comes after its own effects. A probe's answer no longer counts once
    /// the container stops.
    pub fn feed(&mut self, i: usize, event: Event, now: Instant) -> Vec<Order> {
        if self.stopping() && matches!(event, Event::Probed(_) | Event::Probing(_)) {
            return Vec::new();
        }
        let unit = &mut self.units[i];
        let (life, effects) = unit.life.step(&unit.rules, event, now);
        unit.life = life;
        let mut orders = Vec::new();
        for effect in effects {
            let ended = match effect {
                Effect::EndedForGood { ok } => Some(ok),
                _ => None,
            };
            orders.push(Order::Svc(i, effect));
            if let Some(ok) = ended {
                orders.extend(self.ended_for_good(i, ok, now));
            }
        }
        orders
    }

    /// Every service's timers at `now`, then whether anything is left to run.
    pub fn tick(&mut self, now: Instant) -> Vec<Order> {
        if self.stopping() {
            return self.progress_stop(now);
        }
        let mut orders = Vec::new();
        for i in 0..self.units.len() {
            orders.extend(self.feed(i, Event::Tick, now));
            if self.stopping() {
                return orders;
            }
        }
        let all_final = self.units.iter().all(|u| u.kind().is_final());
        // Down on purpose (an operator's stop): the container stays up for `init start`.
        if all_final && !self.units.iter().any(|u| u.kind() == Kind::Stopped) {
            orders.extend(self.begin_stop(Reason::NoneLeft, None, now));
        }
        orders
    }

    /// Service `i` will not run again: the services waiting for it are
    /// told, and the main one, or a critical one that did not succeed as a
    /// oneshot, stops the container.
    fn ended_for_good(&mut self, i: usize, ok: bool, now: Instant) -> Vec<Order> {
        let unit = &self.units[i];
        let mut orders = Vec::new();
        if !(unit.rules.oneshot && ok) {
            let waiting = |d: &Unit| d.kind() == Kind::Waiting && d.after.contains(&unit.name);
            let wont = self.units.iter().enumerate().filter(|(_, d)| waiting(d));
            orders.extend(wont.map(|(j, _)| Order::WontStart { i: j, dependency: i }));
        }
        let exit = unit.life.last_exit.unwrap_or(Exit::Code(0));
        match decide::ends_container(unit.main, unit.critical, unit.rules.oneshot, ok) {
            Some(Ends::Main) => {
                orders.extend(self.begin_stop(Reason::MainEnded, Some(exit.remapped(&self.remap)), now))
            }
            Some(Ends::Critical) => {
                orders.extend(self.begin_stop(Reason::CriticalEnded(i), Some(exit.byte()), now))
            }
            None => {}
        }
        orders
    }

    /// A stop signal: the container stops with 128+N unless something else decides.
    pub fn stop_signal(&mut self, signo: i32, now: Instant) -> Vec<Order> {
        let orders = self.begin_stop(Reason::Signal(signo), None, now);
        if let Some(stop) = self.stop.as_mut().filter(|s| s.signal_code.is_none()) {
            stop.signal_code = u8::try_from(128 + signo).ok();
        }
        orders
    }

    /// The container's stop begins (once): services that never ran end
    /// here, the others stop in reverse dependency order.
    pub fn begin_stop(&mut self, reason: Reason, code: Option<u8>, now: Instant) -> Vec<Order> {
        if self.stopping() {
            return Vec::new();
        }
        let mut budget = Budget::default();
        budget.start(self.limit, now);
        self.stop = Some(Stop { budget, decided: code, ..Stop::default() });
        let mut orders = vec![Order::Stopping { reason, limit: self.limit }];
        for i in 0..self.units.len() {
            if matches!(self.units[i].kind(), Kind::Waiting | Kind::Backoff) {
                orders.extend(self.feed(i, Event::Shutdown, now));
            }
        }
        orders.extend(self.progress_stop(now));
        orders
    }

    /// Stops each service whose dependents have all ended; once none has a
    /// process, everything left gets SIGTERM; SIGKILL when the budget is spent.
    pub fn progress_stop(&mut self, now: Instant) -> Vec<Order> {
        let Some(stop) = self.stop.as_mut() else { return Vec::new() };
        if stop.budget.due(now) {
            let first = !stop.budget.killed();
            stop.budget.kill_round(now);
            return if first { vec![Order::BudgetSpent, Order::KillAll] } else { vec![Order::KillAll] };
        }
        let mut orders = Vec::new();
        for i in 0..self.units.len() {
            if self.units[i].kind().is_live() && decide::may_stop(i, &self.views()) {
                orders.extend(self.feed(i, Event::Shutdown, now));
            }
        }
        let procs_gone = self.units.iter().all(|u| u.life.state.pid().is_none());
        if let Some(stop) = self.stop.as_mut().filter(|s| !s.leftovers_signalled && procs_gone) {
            stop.leftovers_signalled = true;
            orders.push(Order::TermLeftovers);
        }
        orders
    }

    /// A second stop signal: SIGKILL to everything now, and again every
    /// round until nothing is left.
    pub fn kill_now(&mut self, now: Instant) -> Vec<Order> {
        if let Some(stop) = self.stop.as_mut() {
            stop.budget.kill_round(now);
        }
        vec![Order::KillAll]
    }

    /// SIGKILL was sent to everything (SIGTERM to leftovers is then moot).
    pub fn killed(&self) -> bool {
        self.stop.is_some_and(|s| s.budget.killed())
    }

    /// Every service has ended while the container stops (the loop still
    /// waits for the last children before it exits).
    pub fn all_ended(&self) -> bool {
        self.stopping() && self.units.iter().all(|u| u.kind().is_final())
    }

    /// The container's exit code: what something decided, else the main
    /// service's (remapped), else 128+N of the stop signal, else 0.
    pub fn exit_code(&self) -> u8 {
        let main = self.units.iter().find(|u| u.main).and_then(|u| u.life.last_exit);
        let (decided, signal) = self.stop.map_or((None, None), |s| (s.decided, s.signal_code));
        decide::exit_code(decided, main, signal, |e| e.remapped(&self.remap))
    }

    /// The earliest time a service or the budget waits for; while the
    /// container stops, only stops and the budget count (nothing else is
    /// acted on then).
    pub fn next_timer(&self) -> Option<Instant> {
        let budget = self.stop.and_then(|s| s.budget.deadline());
        let counts = |u: &&Unit| !self.stopping() || u.kind() == Kind::Stopping;
        self.units.iter().filter(counts).filter_map(|u| u.life.state.timer()).chain(budget).min()
    }
}
