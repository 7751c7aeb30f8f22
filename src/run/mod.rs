//! The long-lived PID 1 part: spawning, signals, reaping, supervision.

pub mod reap;
pub mod shell;
pub mod signals;
pub mod single;
pub mod spawn;
