//! The long-lived part: the two loops (one command: single.rs; services:
//! supervisor.rs), what only they use (watch.rs, oom.rs), and the pty relay
//! of `init run` and `init shell` (shell.rs).

pub mod oom;
pub mod shell;
pub mod single;
pub mod supervisor;
pub mod watch;
