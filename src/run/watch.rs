//! `watch = true` on a `[[wait]]` (docs/reference.md, "Waits"): after boot the
//! target is checked every second, and three failures in a row mean the
//! dependency has gone, so the container stops with 75 and the orchestrator
//! restarts it. Checks run as children (process/probe_child.rs), so a dead DNS server
//! or a host that drops packets never holds up the loop. Used by both the
//! single-command and the service loop, which hand it the statuses of its
//! children.

use std::time::{Duration, Instant};

use nix::sys::signal::SigSet;
use nix::unistd::Pid;
use tracing::{error, info, warn};

use crate::process::probe_child::{self, ProbeChild, Started};
use crate::process::reap::Exit;
use crate::process::spawn::Command;
use mooring::config::Wait;
use mooring::config::duration::later;
use mooring::probe::NotReady;

const EVERY: Duration = Duration::from_secs(1);
const FAILURES: u32 = 3;

struct Item<'w> {
    wait: &'w Wait,
    failures: u32,
    pending: Option<ProbeChild>,
}

pub struct Watcher<'w> {
    items: Vec<Item<'w>>,
    /// When the next round of checks is due.
    pub next: Instant,
    mask: SigSet,
    /// What a `command` target runs as (process/probe_child.rs).
    like: Command,
}

impl<'w> Watcher<'w> {
    /// `None` when no wait is watched.
    pub fn new(waits: &'w [Wait], like: &Command, mask: SigSet) -> Option<Watcher<'w>> {
        let items: Vec<_> =
            waits.iter().filter(|w| w.watch).map(|wait| Item { wait, failures: 0, pending: None }).collect();
        let next = later(Instant::now(), EVERY);
        (!items.is_empty()).then(|| Watcher { items, next, mask, like: like.clone() })
    }

    /// Starts a round of checks (a target whose last check still runs is
    /// left to it); returns what has gone, if a file check already says so.
    pub fn poll(&mut self, now: Instant) -> Option<String> {
        self.next = later(now, EVERY);
        let mut gone = None;
        for item in self.items.iter_mut().filter(|i| i.pending.is_none()) {
            match probe_child::start(&item.wait.target, &self.like, self.mask) {
                Started::Child(p) => item.pending = Some(p),
                Started::Done(result) => gone = gone.or(item.record(result)),
            }
        }
        gone
    }

    /// True when `pid` is one of the watcher's checks.
    pub fn owns(&self, pid: Pid) -> bool {
        self.items.iter().any(|i| i.pending.as_ref().is_some_and(|p| p.pid == pid))
    }

    /// A check's child ended; returns what has gone, if this makes it gone.
    pub fn reaped(&mut self, pid: Pid, exit: Exit) -> Option<String> {
        let item = self.items.iter_mut().find(|i| i.pending.as_ref().is_some_and(|p| p.pid == pid))?;
        let result = item.pending.take()?.result(exit);
        item.record(result)
    }

    /// Stops every check still running.
    pub fn cancel(&mut self) {
        for p in self.items.iter_mut().filter_map(|i| i.pending.take()) {
            p.cancel();
        }
    }
}

impl Item<'_> {
    fn record(&mut self, result: Result<(), NotReady>) -> Option<String> {
        let why = match result {
            Ok(()) => {
                // Back within its grace: said once, as the failures were.
                if self.failures > 0 {
                    info!(target = %self.wait.target, failures = self.failures, "watched dependency is back");
                }
                self.failures = 0;
                return None;
            }
            Err(why) => why,
        };
        self.failures += 1;
        warn!(target = %self.wait.target, why = %why, failures = self.failures, "watched dependency failing");
        if self.failures < FAILURES {
            return None;
        }
        let what = format!("{} ({why})", self.wait.target);
        error!(target = what, "watched dependency gone: stopping with 75");
        Some(what)
    }
}
