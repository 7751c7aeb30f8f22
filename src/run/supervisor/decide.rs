//! The supervisor's decisions as pure functions of what it knows
//! (docs/reference.md, "Services"): whether a service may start, whether it
//! restarts, waits longer or gives up, which service may be stopped now,
//! whether an end stops the container and with which code. The loop
//! (supervisor.rs) only carries them out, so each is tested here by table,
//! without processes or root.

use std::time::Duration;

use super::state::Kind;
use crate::run::reap::Exit;
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
    /// The policy wanted a restart, but `max_restarts` came within 60 s: a failure.
    GiveUp,
    /// The policy does not restart it; `ok` when it succeeded.
    Done { ok: bool },
}

/// The restart policy: `ok` is an exit code 0, `recent` how many restarts
/// happened in the last 60 s. Nothing restarts while the container stops.
pub fn after_exit(
    policy: Restart,
    oneshot: bool,
    ok: bool,
    stopping: bool,
    recent: usize,
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
        true if recent < max as usize => AfterExit::Restart,
        true => AfterExit::GiveUp,
    }
}

/// The next back-off delay: the current one, or `first` again after a run
/// long enough to count as healthy.
pub fn next_delay(current: Duration, uptime: Duration, first: Duration) -> Duration {
    if uptime >= RESET_AFTER { first } else { current.min(MAX_DELAY) }
}

/// Why a service's end stops the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ends {
    /// The main service ended: the container ends with its code.
    Main,
    /// A critical service ended (not a oneshot's success): with its code.
    Critical,
}

/// Whether a service that will not run again stops the container. One an
/// operator stopped never does, critical or not.
pub fn ends_container(
    main: bool,
    critical: bool,
    oneshot: bool,
    ok: bool,
    by_operator: bool,
) -> Option<Ends> {
    if by_operator {
        return None;
    }
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
