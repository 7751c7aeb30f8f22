//! Scenario tests of the supervisor's pure core (docs/development.md, "The
//! supervisor"): event sequences fed to a service's life (service.rs) and
//! to the fleet (container.rs), and the effects and orders they must give.
//! No process runs, nothing needs root; time is a fake clock.

use std::time::{Duration, Instant};

use nix::unistd::Pid;

use super::fleet::{Fleet, Order, Unit};
use super::life::{Becomes, Effect, Event, Life, Rules};
use super::state::{Kind, Proc};
use crate::process::reap::Exit;
use mooring::config::Restart;

mod container;
mod service;

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Rules of a plain long-running service: restarts always, 100 ms first
/// back-off, 3 restarts, SIGTERM, 10 s stop_timeout, ready at once.
pub fn rules() -> Rules {
    Rules {
        oneshot: false,
        restart: Restart::Always,
        max_restarts: 3,
        restart_delay: ms(100),
        becomes: Becomes::AtOnce,
        ready_timeout: None,
        heartbeat: None,
        stop_delay: None,
        stop_signal: Some(libc::SIGTERM),
        stop_timeout: Some(ms(10_000)),
    }
}

/// One service stepped by hand, with a fake clock.
pub struct One {
    pub rules: Rules,
    pub life: Life,
    pub t0: Instant,
    pub now: Instant,
    next_pid: i32,
}

impl One {
    pub fn new(rules: Rules) -> One {
        let t0 = Instant::now();
        One { life: Life::new(&rules), rules, t0, now: t0, next_pid: 100 }
    }

    pub fn at(&mut self, after_t0: u64) -> &mut Self {
        self.now = self.t0 + ms(after_t0);
        self
    }

    pub fn on(&mut self, event: Event) -> Vec<Effect> {
        let (life, effects) = self.life.step(&self.rules, event, self.now);
        self.life = life;
        effects
    }

    pub fn spawn(&mut self) -> Vec<Effect> {
        self.next_pid += 1;
        let proc = Proc { pid: Pid::from_raw(self.next_pid), started_at: self.now, adopted: None };
        self.on(Event::Spawned(proc))
    }

    pub fn end(&mut self, code: i32) -> Vec<Effect> {
        self.on(Event::Ended { exit: Exit::Code(code), stopping: false })
    }

    pub fn kind(&self) -> Kind {
        self.life.kind()
    }
}

/// A fleet driven as the loop drives it: every due start spawned (each
/// spawn succeeds with a new pid), ticks, ends, signals; every order kept.
pub struct World {
    pub fleet: Fleet,
    pub t0: Instant,
    pub now: Instant,
    pub orders: Vec<Order>,
    next_pid: i32,
}

impl World {
    /// `units`: (name, after, main, critical, rules).
    pub fn new(units: &[(&str, &[&str], bool, bool, Rules)]) -> World {
        Self::with(units, Some(ms(10_000)), vec![])
    }

    pub fn with(
        units: &[(&str, &[&str], bool, bool, Rules)],
        limit: Option<Duration>,
        remap: Vec<u8>,
    ) -> World {
        let units = units
            .iter()
            .map(|(name, after, main, critical, rules)| {
                let after: Vec<String> = after.iter().map(|a| a.to_string()).collect();
                Unit::new(name, &after, (*main, *critical), rules.clone())
            })
            .collect();
        let t0 = Instant::now();
        World { fleet: Fleet::new(units, limit, remap), t0, now: t0, orders: Vec::new(), next_pid: 1000 }
    }

    pub fn at(&mut self, after_t0: u64) -> &mut Self {
        self.now = self.t0 + ms(after_t0);
        self
    }

    pub fn idx(&self, name: &str) -> usize {
        self.fleet.units.iter().position(|u| u.name == name).expect("a unit of the scenario")
    }

    pub fn kind(&self, name: &str) -> Kind {
        self.fleet.units[self.idx(name)].kind()
    }

    pub fn pid(&self, name: &str) -> Option<Pid> {
        self.fleet.units[self.idx(name)].life.state.pid()
    }

    /// Spawns everything due, then ticks, until nothing more starts; the
    /// orders of this round.
    pub fn run(&mut self) -> Vec<Order> {
        let mut round = Vec::new();
        loop {
            let mut started = false;
            while let Some(i) = self.fleet.due_start(self.now) {
                self.next_pid += 1;
                let proc = Proc { pid: Pid::from_raw(self.next_pid), started_at: self.now, adopted: None };
                round.extend(self.fleet.feed(i, Event::Spawned(proc), self.now));
                started = true;
            }
            round.extend(self.fleet.tick(self.now));
            if !started {
                break;
            }
        }
        self.orders.extend(round.clone());
        round
    }

    pub fn feed(&mut self, name: &str, event: Event) -> Vec<Order> {
        let i = self.idx(name);
        let orders = self.fleet.feed(i, event, self.now);
        self.orders.extend(orders.clone());
        orders
    }

    pub fn end(&mut self, name: &str, exit: Exit) -> Vec<Order> {
        let i = self.idx(name);
        let orders = self.fleet.ended(i, exit, self.now);
        self.orders.extend(orders.clone());
        orders
    }

    pub fn signal(&mut self, signo: i32) -> Vec<Order> {
        let orders = self.fleet.stop_signal(signo, self.now);
        self.orders.extend(orders.clone());
        orders
    }

    /// The signals init sent to service `name` in `orders`.
    pub fn signals_to(&self, name: &str, orders: &[Order]) -> Vec<i32> {
        let i = self.idx(name);
        orders
            .iter()
            .filter_map(|o| match o {
                Order::Svc(j, Effect::Signal(sig, _)) if *j == i => Some(*sig),
                _ => None,
            })
            .collect()
    }
}
