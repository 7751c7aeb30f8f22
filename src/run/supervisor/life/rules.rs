//! What of a service's configuration its life depends on, as plain data.

use std::time::Duration;

use mooring::config::{ReadyHow, Restart, Service};

/// How a service becomes ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Becomes {
    /// As soon as it runs (no `ready`).
    AtOnce,
    /// When init's probe passes (`ready = { tcp | http | command | file … }`).
    Probed,
    /// When it says so (`notify`, `fd`, `log`).
    Announced,
}

/// What of a service's configuration its life depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub oneshot: bool,
    pub restart: Restart,
    pub max_restarts: u32,
    pub restart_delay: Duration,
    pub becomes: Becomes,
    pub ready_timeout: Option<Duration>,
    /// Its semaphore's heartbeat (`None`: it has no semaphore).
    pub heartbeat: Option<Duration>,
    pub stop_delay: Option<Duration>,
    /// Its stop signal after its `signals` table (`None`: dropped).
    pub stop_signal: Option<i32>,
    pub stop_timeout: Option<Duration>,
}

impl Rules {
    pub fn of(s: &Service) -> Rules {
        let becomes = match s.ready.as_ref().map(|r| &r.how) {
            None => Becomes::AtOnce,
            Some(ReadyHow::Probe(_)) => Becomes::Probed,
            Some(_) => Becomes::Announced,
        };
        Rules {
            oneshot: s.oneshot,
            restart: s.restart,
            max_restarts: s.max_restarts,
            restart_delay: s.restart_delay,
            becomes,
            ready_timeout: s.ready.as_ref().and_then(|r| r.timeout),
            heartbeat: s.semaphore.as_ref().map(|_| s.heartbeat),
            stop_delay: s.stop_delay,
            stop_signal: crate::run::supervisor::events::rewrite(s, s.stop_signal),
            stop_timeout: s.stop_timeout,
        }
    }
}
