//! `watch = true` on a `[[wait]]` (SPEC.md section 8): after boot the
//! target is checked every second, and three failures in a row mean the
//! dependency has gone, so the container stops with 75 and the orchestrator
//! restarts it. Used by both the single-command and the service loop.

use std::time::{Duration, Instant};

use nix::sys::signal::SigSet;
use tracing::{error, warn};

use crate::run::spawn::{self, Command};
use mooring::config::Wait;

const EVERY: Duration = Duration::from_secs(1);
const FAILURES: u32 = 3;

pub struct Watcher<'w> {
    items: Vec<(&'w Wait, u32)>,
    /// When the next round of checks is due.
    pub next: Instant,
    mask: SigSet,
}

impl<'w> Watcher<'w> {
    /// `None` when no wait is watched.
    pub fn new(waits: &'w [Wait], mask: SigSet) -> Option<Watcher<'w>> {
        let items: Vec<_> = waits.iter().filter(|w| w.watch).map(|w| (w, 0)).collect();
        (!items.is_empty()).then(|| Watcher { items, next: Instant::now() + EVERY, mask })
    }

    /// Checks every target; returns what has gone (target and why), if anything has.
    pub fn check(&mut self, now: Instant) -> Option<String> {
        self.next = now + EVERY;
        let mut gone = None;
        let mask = self.mask;
        for (wait, failures) in &mut self.items {
            match mooring::setup::wait::check(&wait.target, &mut run_blocking(mask)) {
                Ok(()) => *failures = 0,
                Err(why) => {
                    *failures += 1;
                    warn!(target = %wait.target, why, failures = *failures, "watched dependency failing");
                    if *failures >= FAILURES {
                        gone = Some(format!("{} ({why})", wait.target));
                    }
                }
            }
        }
        if let Some(what) = &gone {
            error!(target = what, "watched dependency gone: stopping with 75");
        }
        gone
    }
}

/// A command target run to completion (init's own environment and identity).
fn run_blocking(mask: SigSet) -> impl FnMut(&[String]) -> Result<(), String> {
    move |argv: &[String]| {
        let cmd = Command {
            argv: argv.iter().map(Into::into).collect(),
            env: std::env::vars_os().collect(),
            workdir: None,
            ids: None,
            no_new_privs: false,
        };
        let pid = spawn::spawn_service(&cmd, mask, None).map_err(|e| e.to_string())?;
        match nix::sys::wait::waitpid(pid, None) {
            Ok(nix::sys::wait::WaitStatus::Exited(_, 0)) => Ok(()),
            Ok(nix::sys::wait::WaitStatus::Exited(_, code)) => Err(format!("it exited with code {code}")),
            Ok(other) => Err(format!("it ended: {other:?}")),
            Err(e) => Err(e.to_string()),
        }
    }
}
