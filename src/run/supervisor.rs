//! Service mode (`[[service]]`, docs/reference.md, "Services"): one single-threaded
//! event loop over the signalfd, the services' output pipes and timers.
//! Services start in file order once their `after` dependencies are ready,
//! restart with doubling back-off, and a critical or main service that ends
//! for good stops the container. Shutdown spends one budget: services stop
//! in reverse dependency order (stop_delay, then their stop signal), then
//! everything left gets SIGTERM, and SIGKILL when the budget is spent.
//! Every exit status is matched against the pid map before it counts as an
//! orphan's, so the reaper never takes a supervised child's status.

mod ends;
mod events;
mod output;
mod start;
pub mod state;

use std::time::{Duration, Instant};

use nix::sys::signal::SigSet;
use nix::unistd::{Pid, getpid};
use tracing::{debug, error, info, warn};

use crate::run::check::{self, Pending, Started};
use crate::run::oom::{self, OomWatch};
use crate::run::reap::{self, Exit};
use crate::run::signals::{self, Signals};
use crate::run::single::Options;
use crate::run::spawn::{self, Command};
use crate::run::status::{self, ServiceStatus, Status, StatusFile};
use crate::run::watch::Watcher;
use crate::sys;
use events::rewrite;
use mooring::config::{Output, Restart, Service, Wait};
use mooring::error::Error;
use mooring::semaphore;
use output::Source;
use state::{Event, State};

/// Back-off ceiling, uptime after which the back-off starts over, and the
/// window `max_restarts` counts in (docs/reference.md, "Services").
const MAX_DELAY: Duration = Duration::from_secs(30);
const RESET_AFTER: Duration = Duration::from_secs(10);
const RESTART_WINDOW: Duration = Duration::from_secs(60);
/// Probe back-off, as for waits.
const PROBE_FIRST: Duration = Duration::from_millis(50);
const PROBE_MAX: Duration = Duration::from_secs(1);
const REKILL_INTERVAL: Duration = Duration::from_millis(100);

/// A service to supervise: its configuration and its prepared command.
pub struct Spec {
    pub service: Service,
    pub cmd: Command,
}

/// Runs the services until the container stops; returns init's exit code.
/// `checker` is what a watched `command` target runs as (run/check.rs).
pub fn run(specs: Vec<Spec>, watches: &[Wait], checker: &Command, opts: &Options) -> Result<u8, Error> {
    let signals = Signals::block_all()?;
    let me = getpid();
    if me.as_raw() != 1 {
        let _ = nix::sys::prctl::set_child_subreaper(true);
    }
    let mut sv = Supervisor::new(specs, (watches, checker), opts, signals.original_mask, me);
    sv.clear_stale_semaphores();
    // Before the first spawn: a service that runs `init status` or `init run`
    // at once must find init live (docs/reference.md, "Services", Status).
    sv.write_status();
    loop {
        let now = Instant::now();
        sv.tick(now);
        if let Some(code) = sv.finished() {
            // Nothing runs any more: no status file may claim otherwise.
            if let Some(file) = &sv.status_file {
                file.remove();
            }
            info!(code, "exiting");
            return Ok(code);
        }
        sv.write_status_if_changed();
        sv.wait_for_events(&signals);
    }
}

struct Svc {
    spec: Service,
    cmd: Command,
    state: State,
    pid: Option<Pid>,
    /// Seconds since the epoch of the last state change.
    since: u64,
    started_at: Instant,
    restarts: u32,
    /// When recent restarts happened (for max_restarts).
    recent: Vec<Instant>,
    /// The next back-off delay.
    delay: Duration,
    /// Backoff: when to restart. Stopping: when to send the stop signal
    /// (after stop_delay), then when to SIGKILL (after stop_timeout).
    timer: Option<Instant>,
    signalled: bool,
    probe: Probe,
    heartbeat_at: Option<Instant>,
    last_exit: Option<Exit>,
}

impl Svc {
    /// Ready for its dependents and for `init health`: a service once its
    /// probe passed, a oneshot once it exited 0.
    fn ready(&self) -> bool {
        match self.spec.oneshot {
            true => self.state == State::Exited && self.last_exit == Some(Exit::Code(0)),
            false => self.state == State::Ready,
        }
    }
}

#[derive(Default)]
struct Probe {
    next: Option<Instant>,
    backoff: Duration,
    deadline: Option<Instant>,
    /// A check under way in a child (run/check.rs).
    pending: Option<Pending>,
    why: String,
}

struct Supervisor<'a> {
    svcs: Vec<Svc>,
    sources: Vec<Source>,
    watcher: Option<Watcher<'a>>,
    opts: &'a Options,
    mask: SigSet,
    me: Pid,
    host: String,
    started: u64,
    stopping: bool,
    /// The code the container ends with, once something decided it (a
    /// critical service's end, a failed watch); else the main service's.
    exit_code: Option<u8>,
    /// 128+N of the stop signal, for when no main service ever ran.
    signal_code: Option<u8>,
    deadline: Option<Instant>,
    killed: bool,
    leftovers_signalled: bool,
    none_left: bool,
    changed: bool,
    /// Created by the first write (`None` before it).
    status_file: Option<StatusFile>,
    oom: OomWatch,
}

impl<'a> Supervisor<'a> {
    fn new(
        specs: Vec<Spec>,
        (watches, checker): (&'a [Wait], &Command),
        opts: &'a Options,
        mask: SigSet,
        me: Pid,
    ) -> Self {
        let now = Instant::now();
        let svcs = specs
            .into_iter()
            .map(|Spec { service, cmd }| Svc {
                delay: service.restart_delay,
                spec: service,
                cmd,
                state: State::Waiting,
                pid: None,
                since: status::now_secs(),
                started_at: now,
                restarts: 0,
                recent: Vec::new(),
                timer: None,
                signalled: false,
                probe: Probe::default(),
                heartbeat_at: None,
                last_exit: None,
            })
            .collect();
        Supervisor {
            svcs,
            sources: Vec::new(),
            watcher: Watcher::new(watches, checker, mask),
            opts,
            mask,
            me,
            host: semaphore::hostname(),
            started: status::now_secs(),
            stopping: false,
            exit_code: None,
            signal_code: None,
            deadline: None,
            killed: false,
            leftovers_signalled: false,
            none_left: false,
            changed: true,
            status_file: None,
            oom: OomWatch::new(),
        }
    }

    /// At boot: each semaphore's directory made (0755), so dependents never
    /// wait on a semaphore that could not be written, and a stale one of
    /// ours removed.
    fn clear_stale_semaphores(&self) {
        for s in &self.svcs {
            let Some(path) = &s.spec.semaphore else { continue };
            let prepared =
                mooring::safe_fs::root().and_then(|root| semaphore::make_dir(&root, path).map(|()| root));
            match prepared {
                Ok(root) => {
                    if let Some(why) = semaphore::clear_stale(&root, path, &self.host) {
                        info!(service = %s.spec.name, path = %path.display(), why, "removed a stale semaphore");
                    }
                }
                Err(e) => {
                    tracing::error!(service = %s.spec.name, path = %path.display(), error = %e, "cannot make the semaphore's directory")
                }
            }
        }
    }

    fn set_state(&mut self, i: usize, event: Event) {
        let s = &mut self.svcs[i];
        match state::next(s.state, event) {
            Some(to) => {
                debug!(service = %s.spec.name, from = s.state.as_str(), to = to.as_str(), "state");
                s.state = to;
                s.since = status::now_secs();
                self.changed = true;
            }
            None => {
                error!(service = %s.spec.name, state = s.state.as_str(), event = ?event, "transition refused (a bug)")
            }
        }
    }

    /// Everything due at `now`: starts, probes, heartbeats, restarts, watches, shutdown steps.
    fn tick(&mut self, now: Instant) {
        if self.stopping {
            return self.progress_shutdown(now);
        }
        // Starting one service may make it ready at once, which may let the next start.
        let mut progress = true;
        while progress && !self.stopping {
            progress = false;
            for i in 0..self.svcs.len() {
                let s = &self.svcs[i];
                let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
                match s.state {
                    State::Waiting if self.deps_ready(i) => {
                        self.start(i, now);
                        progress = true;
                    }
                    State::Backoff if due(s.timer) => {
                        self.start(i, now);
                        progress = true;
                    }
                    State::Starting if due(s.probe.next) && s.probe.pending.is_none() => {
                        progress |= self.probe(i, now);
                    }
                    State::Starting if due(s.probe.deadline) && s.probe.pending.is_some() => {
                        // A probe command still running at the timeout fails the start.
                        self.end_probe(i);
                        self.probe_result(i, Err("the probe command was still running".into()), now);
                    }
                    State::Ready if due(s.heartbeat_at) => self.heartbeat(i, now),
                    _ => {}
                }
                if self.stopping {
                    return;
                }
            }
        }
        if self.watcher.as_ref().is_some_and(|w| now >= w.next) {
            self.check_watches(now);
        }
        if !self.stopping && self.svcs.iter().all(|s| s.state.is_final()) {
            self.begin_shutdown("no service left running", None);
        }
    }

    /// Every `after` dependency is ready.
    fn deps_ready(&self, i: usize) -> bool {
        self.svcs[i]
            .spec
            .after
            .iter()
            .all(|name| self.svcs.iter().find(|d| &d.spec.name == name).is_some_and(Svc::ready))
    }

    fn check_watches(&mut self, now: Instant) {
        let gone = self.watcher.as_mut().and_then(|w| w.check(now));
        self.stop_if_gone(gone);
    }

    /// A watched dependency went away (the watcher said what): stop with 75.
    fn stop_if_gone(&mut self, gone: Option<String>) {
        if gone.is_some() {
            self.begin_shutdown("a watched dependency went away", Some(75));
        }
    }

    fn write_status_if_changed(&mut self) {
        if self.changed {
            self.write_status();
        }
    }

    fn write_status(&mut self) {
        self.changed = false;
        let services = self
            .svcs
            .iter()
            .map(|s| ServiceStatus {
                name: s.spec.name.clone(),
                state: s.state.as_str().into(),
                pid: s.pid.map(Pid::as_raw),
                ready: s.ready(),
                restarts: s.restarts,
                since: s.since,
                last_exit: s.last_exit.map(Exit::code),
                critical: s.spec.critical || s.spec.main,
                oneshot: s.spec.oneshot,
            })
            .collect();
        let st =
            Status { pid: self.me.as_raw(), pid_start: status::own_start(), started: self.started, services };
        match &self.status_file {
            Some(file) => file.write(&st),
            None => self.status_file = Some(StatusFile::create(&st)),
        }
    }
}
