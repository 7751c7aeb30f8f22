//! Service mode (`[[service]]`, docs/reference.md, "Services"): one single-threaded
//! event loop over the signalfd, the services' output pipes, the control
//! socket and timers. What to do is decided by pure functions (decide.rs)
//! over states that carry their own data (state.rs); this module and its
//! parts only carry the decisions out: spawn, signal, write semaphores and
//! the status file. Services start in file order once their `after`
//! dependencies are ready, restart with doubling back-off, and a critical or
//! main service that ends for good stops the container. Shutdown spends one
//! budget: services stop in reverse dependency order (stop_delay, then their
//! stop signal), then everything left gets SIGTERM, and SIGKILL when the
//! budget is spent. Every exit status is matched against the pid map before
//! it counts as an orphan's, so the reaper never takes a supervised child's
//! status.

mod announce;
mod control;
mod decide;
pub use control::SOCKET_NAME;
pub use reload::{Loader, Reloader};
mod events;
mod exits;
mod mainpid;
mod notify;
mod operate;
mod output;
mod publish;
mod reload;
mod shutdown;
mod start;
pub mod state;

use std::time::{Duration, Instant};

use nix::sys::signal::SigSet;
use nix::unistd::{Pid, getpid};
use tracing::{debug, error, info, warn};

use crate::run::budget::{self, Budget};
use crate::run::oom::{self, OomWatch};
use crate::run::probe_child::{self, Started};
use crate::run::reap::{self, Exit};
use crate::run::signals::{self, Signals};
use crate::run::single::Options;
use crate::run::spawn::{self, Command};
use crate::run::status::{self, ServiceStatus, Status, StatusFile};
use crate::run::streak::Streak;
use crate::run::watch::Watcher;
use crate::sys;
use decide::View;
use events::rewrite;
use mooring::config::{Output, ReadyHow, Service, Wait};
use mooring::error::Error;
use mooring::semaphore;
use output::Source;
use state::{Event, Kind, Proc, ReadyProbe, State, StopStep};

/// Probe back-off, as for waits.
const PROBE_FIRST: Duration = Duration::from_millis(50);
const PROBE_MAX: Duration = Duration::from_secs(1);

/// A service to supervise: its configuration and its prepared command.
pub struct Spec {
    pub service: Service,
    pub cmd: Command,
}

/// Runs the services until the container stops; returns init's exit code.
/// `checker` is what a watched `command` target runs as (run/probe_child.rs).
pub fn run(
    specs: Vec<Spec>,
    (watches, checker): (&[Wait], &Command),
    reloader: Option<Reloader>,
    opts: &Options,
) -> Result<u8, Error> {
    let signals = Signals::block_all()?;
    let me = getpid();
    budget::become_subreaper(me);
    let mut sv = Supervisor::new(specs, (watches, checker), opts, signals.original_mask, me);
    sv.reloader = reloader;
    sv.clear_stale_semaphores();
    // Before the first spawn: a service that runs `init status` or `init run`
    // at once must find init live (docs/reference.md, "Services", Status).
    sv.write_status();
    sv.control = sv.status_file.as_ref().and_then(StatusFile::dir).and_then(control::Control::open);
    // Clients can tell a missing socket from single-command mode (app/control.rs).
    sv.control_state = Some(sv.control.is_some());
    sv.changed = true;
    sv.open_notify_sockets();
    loop {
        sv.tick(Instant::now());
        if sv.answer_requests() {
            continue;
        }
        if let Some(code) = sv.finished() {
            sv.close();
            info!(code, "exiting");
            return Ok(code);
        }
        sv.write_status_if_changed();
        if let Some(file) = &sv.status_file {
            file.retry(Instant::now());
        }
        sv.wait_for_events(&signals);
    }
}

struct Svc {
    spec: Service,
    cmd: Command,
    state: State,
    /// Seconds since the epoch of the last state change.
    since: u64,
    restarts: u32,
    /// Runs in a row that ended before being ready for 10 s (for
    /// `max_restarts`, decide.rs).
    failed_runs: u32,
    /// When the running process became ready (`None`: it has not).
    ready_since: Option<Instant>,
    /// The next back-off delay.
    delay: Duration,
    last_exit: Option<Exit>,
    /// `ready = { notify = true }`: its socket, the last `STATUS=` it sent,
    /// and the `MAINPID=` it named.
    notify: Option<notify::NotifySocket>,
    status_text: Option<String>,
    /// The `MAINPID=` believed, with its start time (supervisor/mainpid.rs),
    /// and the start time of the process init started, read at its spawn
    /// (it may exit right after naming its main process).
    main_pid: Option<(Pid, u64)>,
    spawned_at_tick: Option<u64>,
    /// Stopped to be started again (a reload of a service without reload_signal).
    resume_after_stop: bool,
}

impl Svc {
    fn kind(&self) -> Kind {
        self.state.kind()
    }

    /// Ready for its dependents and for `init health`: a service once its
    /// probe passed, a oneshot once it exited 0.
    fn ready(&self) -> bool {
        match self.spec.oneshot {
            true => self.kind() == Kind::Exited && self.last_exit == Some(Exit::Code(0)),
            false => self.kind() == Kind::Ready,
        }
    }
}

/// How the container's stop stands (docs/reference.md, "Shutdown").
#[derive(Default)]
struct Shutdown {
    /// Started by a stop signal or an end that stops the container.
    budget: Budget,
    /// The code the container ends with, once something decided it (a
    /// critical service's end, a failed watch); else the main service's.
    decided: Option<u8>,
    /// 128+N of the stop signal, for when no main service ever ran.
    signal_code: Option<u8>,
    /// Everything left after the services got SIGTERM.
    leftovers_signalled: bool,
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
    shutdown: Shutdown,
    changed: bool,
    /// Created by the first write (`None` before it).
    status_file: Option<StatusFile>,
    control: Option<control::Control>,
    /// What status.json says of the control socket (`None` until it was made or not).
    control_state: Option<bool>,
    /// Live reload of notifying templates (`None`: none notifies anyone).
    reloader: Option<Reloader>,
    oom: OomWatch,
    /// Failures of the loop's own poll.
    polling: Streak,
}

impl<'a> Supervisor<'a> {
    fn new(
        specs: Vec<Spec>,
        (watches, checker): (&'a [Wait], &Command),
        opts: &'a Options,
        mask: SigSet,
        me: Pid,
    ) -> Self {
        let svcs = specs
            .into_iter()
            .map(|Spec { service, cmd }| Svc {
                delay: service.restart_delay,
                spec: service,
                cmd,
                state: State::Waiting,
                since: status::now_secs(),
                restarts: 0,
                failed_runs: 0,
                ready_since: None,
                last_exit: None,
                notify: None,
                status_text: None,
                main_pid: None,
                spawned_at_tick: None,
                resume_after_stop: false,
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
            shutdown: Shutdown::default(),
            changed: true,
            status_file: None,
            control: None,
            control_state: None,
            reloader: None,
            oom: OomWatch::new(),
            polling: Streak::new(),
        }
    }

    fn stopping(&self) -> bool {
        self.shutdown.budget.started()
    }

    /// The services as the decisions see them.
    fn views(&self) -> Vec<View<'_>> {
        self.svcs
            .iter()
            .map(|s| View { name: &s.spec.name, after: &s.spec.after, kind: s.kind(), ready: s.ready() })
            .collect()
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

    /// Moves service `i` to `to` on `event`, when the transition table
    /// allows it (a refusal is a bug, logged). What the old state held goes
    /// with it: a probe still running is stopped, a semaphore removed.
    fn enter(&mut self, i: usize, event: Event, to: State) {
        let s = &mut self.svcs[i];
        let from = s.kind();
        if state::next(from, event) != Some(to.kind()) {
            let to = to.kind().as_str();
            return error!(service = %s.spec.name, state = from.as_str(), to, event = ?event, "transition refused (a bug)");
        }
        debug!(service = %s.spec.name, from = from.as_str(), to = to.kind().as_str(), "state");
        let old = std::mem::replace(&mut s.state, to);
        s.since = status::now_secs();
        self.changed = true;
        if let State::Starting { probe: ReadyProbe { child: Some(child), .. }, .. } = old {
            child.cancel();
        }
        if from == Kind::Ready {
            self.drop_semaphore(i);
        }
    }

    /// Everything due at `now`: starts, probes, heartbeats, restarts, watches, shutdown steps.
    fn tick(&mut self, now: Instant) {
        if self.stopping() {
            return self.progress_shutdown(now);
        }
        // Starting one service may make it ready at once, which may let the next start.
        let mut progress = true;
        while progress && !self.stopping() {
            progress = false;
            for i in 0..self.svcs.len() {
                progress |= self.tick_one(i, now);
                if self.stopping() {
                    return;
                }
            }
        }
        // A failed render was logged (an ERROR) and changed nothing.
        if self.reloader.as_mut().is_some_and(|r| r.due(now))
            && let Ok(done) = self.reload(None)
        {
            info!(done, "templates changed");
        }
        if self.watcher.as_ref().is_some_and(|w| now >= w.next) {
            let gone = self.watcher.as_mut().and_then(|w| w.poll(now));
            self.stop_if_gone(gone);
        }
        if !self.stopping() && self.svcs.iter().all(|s| s.kind().is_final()) && !self.all_down_on_purpose() {
            self.begin_shutdown("no service left running", None);
        }
    }

    /// What is due for service `i`; true when it started or became ready.
    fn tick_one(&mut self, i: usize, now: Instant) -> bool {
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        let backoff_over = matches!(self.svcs[i].state, State::Backoff { restart_at } if restart_at <= now);
        if decide::should_start(i, &self.views(), backoff_over) {
            self.start(i, now);
            return true;
        }
        match &self.svcs[i].state {
            State::Starting { probe, .. } if probe.child.is_none() && due(probe.next) => self.probe(i, now),
            State::Starting { probe, .. } if probe.child.is_some() && due(probe.deadline) => {
                // A probe command still running at the timeout fails the start.
                self.probe_result(i, Err("the probe command was still running".into()), now)
            }
            State::Starting { probe, .. } if probe.next.is_none() && due(probe.deadline) => {
                self.probe_result(i, Err(self.silent_why(i)), now)
            }
            State::Ready { heartbeat_at, .. } if due(*heartbeat_at) => {
                self.heartbeat(i, now);
                false
            }
            // An operator's stop, under way while the container runs on.
            State::Stopping { .. } => {
                self.stop_service(i, now, true);
                false
            }
            // Stopped by a reload, to start again with its new files.
            State::Stopped if self.svcs[i].resume_after_stop => {
                self.svcs[i].resume_after_stop = false;
                self.enter(i, Event::Resume, State::Waiting);
                true
            }
            _ => false,
        }
    }

    /// Every service is down, and at least one because an operator said so:
    /// the container stays up for `init start`.
    fn all_down_on_purpose(&self) -> bool {
        self.svcs.iter().any(|s| s.kind() == Kind::Stopped)
    }

    /// Nothing runs any more: no status file or control socket may claim otherwise.
    fn close(&mut self) {
        if let Some(control) = self.control.take() {
            control.close();
        }
        for s in &mut self.svcs {
            if let Some(socket) = s.notify.take() {
                socket.close();
            }
        }
        if let Some(file) = &self.status_file {
            file.remove();
        }
    }
}

/// Sends `sig` to a service's process group, or to its process alone when
/// it has left that group. A process init did not fork (`MAINPID=`) is
/// signalled only while /proc shows the same process (its start time), and
/// its group only when it leads one: a reused pid is never signalled.
fn signal_proc(proc: &Proc, sig: i32) {
    let pid = proc.pid.as_raw();
    if let Some(start) = proc.adopted {
        match mainpid::read(pid) {
            Some(seen) if seen.stat.start == start => {
                let _ = sys::kill(if seen.stat.pgid == pid { -pid } else { pid }, sig);
            }
            _ => {
                warn!(pid, signal = %signals::name(sig), "not sent: its main process is gone and the pid is not its")
            }
        }
        return;
    }
    if sys::kill(-pid, sig).is_err() {
        let _ = sys::kill(pid, sig);
    }
}
