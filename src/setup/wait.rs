//! Phase 6: waiting for dependencies. A target is checked with back-off
//! (50 ms doubling to 1 s), each with its own timeout (exit 75 naming it);
//! every 10 s one line says what is still awaited and why. File targets
//! that are semaphores carry liveness: a semaphore whose mtime is older than
//! three heartbeats (its `heartbeat=` line, 5 s when absent) counts as absent,
//! so a container killed with SIGKILL cannot leave a false "ready" behind.
//! Plain files (no `key=value` lines of a semaphore) count when they exist.

use std::time::{Duration, Instant};

use tracing::info;

use crate::config::duration::{deadline, doubled, later, millis};
use crate::config::{Target, Wait};
use crate::error::Error;
use crate::probe::NotReady;

const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// One target being awaited.
struct Awaited<'a> {
    wait: &'a Wait,
    next: Instant,
    backoff: Duration,
    /// Why it was not ready at its last check.
    why: Option<NotReady>,
}

/// Checks one target, giving up at the deadline; `Err(signal)` when a stop
/// signal came meanwhile. (The binary runs the checks that may block in a
/// child, so that a signal is never kept waiting.)
pub type RunProbe<'a> = &'a mut dyn FnMut(&Target, Option<Instant>) -> Result<Result<(), NotReady>, i32>;

/// Waits for every target. `pause(d)` sleeps up to `d` and returns a signal
/// number when a stop signal ended the wait early.
pub fn wait_all(
    waits: &[Wait],
    mut pause: impl FnMut(Duration) -> Option<i32>,
    probe: RunProbe<'_>,
) -> Result<(), Error> {
    let start = Instant::now();
    let mut pending: Vec<Awaited> =
        waits.iter().map(|w| Awaited { wait: w, next: start, backoff: FIRST_BACKOFF, why: None }).collect();
    let mut report = later(start, REPORT_EVERY);
    let all: Vec<String> = waits.iter().map(|w| w.target.to_string()).collect();
    info!("waiting for {}", all.join(", "));
    loop {
        let now = Instant::now();
        let mut i = 0;
        while i < pending.len() {
            let p = &mut pending[i];
            if p.next > now {
                i += 1;
                continue;
            }
            let until = p.wait.timeout.and_then(|t| deadline(start, t));
            let why = match probe(&p.wait.target, until).map_err(Error::Interrupted)? {
                Ok(()) => {
                    info!(target = %p.wait.target, waited_ms = millis(now.duration_since(start)), "ready");
                    pending.remove(i);
                    continue;
                }
                Err(why) => why,
            };
            let now = Instant::now();
            if p.wait.timeout.is_some_and(|t| now.duration_since(start) >= t) {
                return Err(Error::WaitTimeout { target: p.wait.target.to_string(), source: why });
            }
            p.why = Some(why);
            p.next = later(now, p.backoff);
            p.backoff = doubled(p.backoff, MAX_BACKOFF);
            i += 1;
        }
        if pending.is_empty() {
            return Ok(());
        }
        if now >= report {
            let why = |p: &Awaited| p.why.as_ref().map_or(String::new(), ToString::to_string);
            let list: Vec<String> =
                pending.iter().map(|p| format!("{} ({})", p.wait.target, why(p))).collect();
            info!("still waiting for {}", list.join(", "));
            report = later(now, REPORT_EVERY);
        }
        let mut until = pending.iter().map(|p| p.next).min().unwrap_or(now).min(report);
        for p in &pending {
            if let Some(end) = p.wait.timeout.and_then(|t| deadline(start, t)) {
                until = until.min(end);
            }
        }
        if let Some(sig) = pause(until.saturating_duration_since(Instant::now())) {
            return Err(Error::Interrupted(sig));
        }
    }
}
