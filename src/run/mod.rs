//! The long-lived PID 1 part: spawning, signals, reaping, supervision.

pub mod budget;
pub mod oom;
pub mod probe_child;
pub mod reap;
pub mod retry;
pub mod shell;
pub mod signals;
pub mod single;
pub mod spawn;
pub mod status;
pub mod streak;
pub mod supervisor;
pub mod watch;
