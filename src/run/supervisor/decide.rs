//! The supervisor's decisions as pure functions of what it knows
//! (docs/reference.md, "Services"): whether a service may start, whether it
//! restarts, waits longer or gives up, which service may be stopped now,
//! whether an end stops the container and with which code. The loop
//! (supervisor.rs) only carries them out, so each is tested here by table,
//! without processes or root.

use std::time::Duration;

use super::state::Kind;
use crate::process::reap::Exit;
use mooring::config::Restart;

/// Back-off ceiling, and the uptime after which the back-off starts over
/// (docs/reference.md, "Services").
pub const MAX_DELAY: Duration = Duration::from_secs(30);
pub const RESET_AFTER: Duration = Duration::from_secs(10);

/// One service as the ordering decisions see it.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    pub name: &'a str,
    pub after: &'a [String],
    pub kind: Kind,
    /// Ready for its dependents: a service whose probe passed, a oneshot that exited 0.
    pub ready: bool,
}

/// Every `after` dependency of `i` is ready.
pub fn deps_ready(i: usize, all: &[View]) -> bool {
    all[i].after.iter().all(|name| all.iter().any(|d| d.name == name && d.ready))
}

/// Service `i` starts now: it waits and its dependencies are ready, or its
/// back-off is over.
pub fn should_start(i: usize, all: &[View], backoff_over: bool) -> bool {
    match all[i].kind {
        Kind::Waiting => deps_ready(i, all),
        Kind::Backoff => backoff_over,
        _ => false,
    }
}

/// At shutdown, service `i` may get its stop signal once no service that
/// names it in `after` still has a process (reverse dependency order).
pub fn may_stop(i: usize, all: &[View]) -> bool {
    let name = all[i].name;
    !all.iter().any(|d| d.kind.is_live() && d.after.iter().any(|a| a == name))
}

/// What follows the end of a process that nobody was stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterExit {
    /// Back-off, then start again.
    Restart,
    /// The policy wanted a restart, but more than `max_restarts` runs in a
    /// row failed: the service is `failed`.
    GiveUp,
    /// The policy does not restart it; `ok` when it succeeded.
    Done { ok: bool },
}

/// The consecutive failed runs once a run ended that had been ready for
/// `ready_for` (zero: never ready). A run counts as failed when it ended
/// before being ready for RESET_AFTER, whatever its exit code; one that
/// stayed ready that long starts the count over (docs/reference.md,
/// "Services", Restarts). An operator's stop never comes here.
pub fn failed_runs(before: u32, ready_for: Duration) -> u32 {
    if ready_for >= RESET_AFTER { 0 } else { before.saturating_add(1) }
}

/// The restart policy: `ok` is an exit code 0, `failed` the consecutive
/// failed runs counting this one (`failed_runs`). Up to `max` restarts
/// follow failed runs; the next failure gives up. Nothing restarts while
/// the container stops.
pub fn after_exit(
    policy: Restart,
    oneshot: bool,
    ok: bool,
    stopping: bool,
    failed: u32,
    max: u32,
) -> AfterExit {
    let wanted = !stopping
        && match policy {
            Restart::Never => false,
            Restart::OnFailure => !ok,
            // A oneshot that succeeded has done its job.
            Restart::Always => !(ok && oneshot),
        };
    match wanted {
        false => AfterExit::Done { ok },
        true if failed <= max => AfterExit::Restart,
        true => AfterExit::GiveUp,
    }
}

/// The next back-off delay: the current one, or `first` again after a run
/// that stayed ready long enough to count as healthy (the window that
/// also starts the failure count over).
pub fn next_delay(current: Duration, ready_for: Duration, first: Duration) -> Duration {
    if ready_for >= RESET_AFTER { first } else { current.min(MAX_DELAY) }
}

/// Why a service's end stops the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ends {
    /// The main service ended: the container ends with its code.
    Main,
    /// A critical service ended (not a oneshot's success): with its code.
    Critical,
}

/// Whether a service that ended for good stops the container. (One an
/// operator stopped never ends for good: it is `stopped`, life.rs.)
pub fn ends_container(main: bool, critical: bool, oneshot: bool, ok: bool) -> Option<Ends> {
    match (main, critical && !(oneshot && ok)) {
        (true, _) => Some(Ends::Main),
        (false, true) => Some(Ends::Critical),
        (false, false) => None,
    }
}

/// The container's exit code once everything has ended: the code something
/// decided (a critical service, the main one, a watch), else the main
/// service's (`main_code`: `--remap-exit` applied), else 128+N of the stop
/// signal, else 0.
pub fn exit_code(
    decided: Option<u8>,
    main: Option<Exit>,
    signal: Option<u8>,
    main_code: impl Fn(Exit) -> u8,
) -> u8 {
    decided.unwrap_or_else(|| main.map_or(signal.unwrap_or(0), main_code))
}

#[cfg(test)]
mod tests;
