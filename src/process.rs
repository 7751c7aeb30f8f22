//! What preparation (app/prepare.rs) and the two loops (run/) share about
//! init's processes: starting children (spawn.rs), reading signals
//! (signals.rs), reaping (reap.rs), probes that run as children
//! (probe_child.rs), the stop budget and subreaper setup (budget.rs), and
//! how a call that keeps failing is retried and logged (retry.rs,
//! streak.rs). Beside both, so neither imports the other (docs/development.md,
//! "Layout").

pub mod budget;
pub mod probe_child;
pub mod reap;
pub mod retry;
pub mod signals;
pub mod spawn;
pub mod streak;
