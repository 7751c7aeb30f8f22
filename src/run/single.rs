//! Single-command mode (`init -- CMD`): PID 1 runs one child in its own
//! process group, forwards every signal to it unchanged, reaps every orphan,
//! and on SIGTERM spends one budget before SIGKILL. Once the child runs nothing here may
//! abort init: every later failure is logged and the loop goes on.

use std::time::{Duration, Instant};

use nix::unistd::{Pid, getpid};
use tracing::{debug, info, warn};

use crate::process::budget::{self, Budget};
use crate::process::reap::{self, Exit};
use crate::process::signals::{self, Action, Phase, Received, Signals};
use crate::process::spawn::{self, Command};
use crate::run::oom::{self, OomWatch};
use crate::run::watch::Watcher;
use crate::status_file;
use crate::sys;
use mooring::config::Wait;
use mooring::error::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Group,
    Child,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// `None`: no limit.
    pub stop_timeout: Option<Duration>,
    pub scope: Scope,
    pub remap_exit: Vec<u8>,
}

/// Runs `cmd` as init's only child and returns the exit code init should end
/// with (`init run`, `init shell`: no status file, no watches).
pub fn run(cmd: &Command, opts: &Options) -> Result<u8, Error> {
    run_with(cmd, opts, &[], cmd, false)
}

/// The boot form (`init CMD`): as `run`, stopping with 75 when a `watch =
/// true` wait's target goes away, and keeping $INIT_RUN_DIR/status.json
/// (the command as one service) for `init status`, `init health` and for
/// `init run` beside it.
/// `probes_as` is what a watched `command` target runs as (process/probe_child.rs).
pub fn boot(cmd: &Command, opts: &Options, waits: &[Wait], probes_as: &Command) -> Result<u8, Error> {
    run_with(cmd, opts, waits, probes_as, true)
}

fn run_with(
    cmd: &Command,
    opts: &Options,
    waits: &[Wait],
    probes_as: &Command,
    keep_status: bool,
) -> Result<u8, Error> {
    let signals = Signals::block_all()?;
    let me = getpid();
    budget::become_subreaper(me);
    let status = keep_status.then(|| SingleStatus::new(cmd, me));
    let child = spawn_with_status(cmd, signals.original_mask, status.as_ref())?;
    // Quiet where the program speaks: its start and clean exit are DEBUG (docs/reference.md, "Logging").
    debug!(pid = child.as_raw(), command = %display_argv(cmd), "started");
    let mut state = Single::new(child, me, opts);
    state.watcher = Watcher::new(waits, probes_as, signals.original_mask);
    // What the status file shows: `ready` (not stopping), written above.
    let mut shown = Some(false);
    // A child that ended before the loop started is collected here too.
    state.reap();
    loop {
        if let Some(code) = state.finished() {
            if let Some(st) = &status {
                st.remove();
            }
            debug!(code, "exiting");
            return Ok(code);
        }
        if let Some(st) = &status
            && shown != Some(state.budget.started())
        {
            shown = Some(state.budget.started());
            st.write(&state);
        }
        let retry_at = status.as_ref().and_then(SingleStatus::retry_at);
        crate::outlet::flush();
        match signals.wait([state.wake_at(), retry_at].into_iter().flatten().min()) {
            Some(sig) => state.on_signal(sig),
            None if state.budget.due(Instant::now()) => state.on_deadline(),
            None if retry_at.is_some_and(|t| t <= Instant::now()) => {
                if let Some(st) = &status {
                    st.retry();
                }
            }
            None => {
                // The wake-up may be the output's retry, before the watches are due.
                let now = Instant::now();
                let gone = state.watcher.as_mut().filter(|w| now >= w.next).and_then(|w| w.poll(now));
                if gone.is_some() {
                    state.dependency_gone();
                }
            }
        }
    }
}

/// Spawns `cmd`. With a status file, it is written once the child exists,
/// with its pid, before the child may exec: a child that runs `init status`
/// or `init run` at once must find init live (docs/reference.md, "Services",
/// Status). One write, not a `starting` one and then the pid: on ext4,
/// replacing the file makes its block be allocated at once, and freeing that
/// block at exit cost ~3 ms (docs/benchmarks.md).
fn spawn_with_status(
    cmd: &Command,
    mask: nix::sys::signal::SigSet,
    status: Option<&SingleStatus>,
) -> Result<Pid, Error> {
    let spawned = match status {
        Some(st) => spawn::spawn_then(cmd, mask, |pid| st.write_with(Some(pid.as_raw()), "ready", true)),
        None => spawn::spawn(cmd, mask),
    };
    spawned.inspect_err(|_| {
        if let Some(st) = status {
            st.remove();
        }
    })
}

/// The status file of the boot form: the command as the one, critical service.
struct SingleStatus {
    file: std::cell::OnceCell<status_file::StatusFile>,
    name: String,
    started: u64,
    me: Pid,
}

impl SingleStatus {
    fn new(cmd: &Command, me: Pid) -> SingleStatus {
        let program = cmd.argv.first().map(|a| a.to_string_lossy().into_owned()).unwrap_or_default();
        let name = program.rsplit('/').next().unwrap_or("main").to_string();
        SingleStatus { file: std::cell::OnceCell::new(), name, started: status_file::now_secs(), me }
    }

    fn write(&self, state: &Single) {
        let name = if state.budget.started() { "stopping" } else { "ready" };
        self.write_with(Some(state.child.as_raw()), name, !state.budget.started());
    }

    /// Rewrites the file: the command in `state`, with its pid once it has one.
    fn write_with(&self, pid: Option<i32>, state: &str, ready: bool) {
        let service = status_file::ServiceStatus {
            name: self.name.clone(),
            state: state.into(),
            pid,
            ready,
            restarts: 0,
            since: status_file::now_secs(),
            last_exit: None,
            critical: true,
            oneshot: false,
            main: true,
            status_text: None,
        };
        let st = status_file::Status {
            pid: self.me.as_raw(),
            pid_start: status_file::own_start(),
            control: None,
            started: self.started,
            services: vec![service],
        };
        match self.file.get() {
            Some(file) => file.write(&st),
            None => {
                let _ = self.file.set(status_file::StatusFile::create(|_| st.clone()));
            }
        }
    }

    fn remove(&self) {
        if let Some(file) = self.file.get() {
            file.remove();
        }
    }

    /// When a failed write is to be tried again.
    fn retry_at(&self) -> Option<Instant> {
        self.file.get().and_then(status_file::StatusFile::retry_at)
    }

    fn retry(&self) {
        if let Some(file) = self.file.get() {
            file.retry(Instant::now());
        }
    }
}

fn display_argv(cmd: &Command) -> String {
    let words: Vec<_> = cmd.argv.iter().map(|a| a.to_string_lossy()).collect();
    words.join(" ")
}

struct Single<'a> {
    child: Pid,
    me: Pid,
    opts: &'a Options,
    /// How the main child ended, once it has.
    main_exit: Option<Exit>,
    /// The stop budget: started by a stop signal or the main child's end.
    budget: Budget,
    /// No child of init is left.
    none_left: bool,
    /// The cgroup's OOM-kill counter, to explain a SIGKILL.
    oom: OomWatch,
    /// The code to end with whatever the child's (a watched dependency went away: 75).
    exit_override: Option<u8>,
    /// `watch = true` waits (the boot form only).
    watcher: Option<Watcher<'a>>,
}

impl<'a> Single<'a> {
    fn new(child: Pid, me: Pid, opts: &'a Options) -> Self {
        Single {
            child,
            me,
            opts,
            main_exit: None,
            budget: Budget::default(),
            none_left: false,
            oom: OomWatch::new(),
            exit_override: None,
            watcher: None,
        }
    }

    /// Where the run stands, for the signal decision.
    fn phase(&self) -> Phase {
        match (self.main_exit, self.budget.started()) {
            (Some(_), _) => Phase::MainGone,
            (None, true) => Phase::Stopping,
            (None, false) => Phase::Running,
        }
    }

    fn on_signal(&mut self, sig: Received) {
        let name = signals::name(sig.signo);
        match Action::single(sig.signo, self.phase()) {
            Action::Reap => self.reap(),
            Action::ForwardAndStop => {
                self.forward(sig.signo, &name);
                self.start_stop(&name);
            }
            Action::Forward => self.forward(sig.signo, &name),
            Action::Drop => debug!(signal = %name, "main command gone; signal dropped"),
        }
    }

    /// Starts the stop budget; at its end everything left gets SIGKILL.
    fn start_stop(&mut self, reason: &str) {
        if !self.budget.started() {
            budget::announce(self.opts.stop_timeout, reason);
        }
        self.budget.start(self.opts.stop_timeout, Instant::now());
    }

    fn forward(&self, signo: i32, name: &str) {
        let result = match self.opts.scope {
            Scope::Group => {
                sys::kill(-self.child.as_raw(), signo).or_else(|_| sys::kill(self.child.as_raw(), signo))
            }
            Scope::Child => sys::kill(self.child.as_raw(), signo),
        };
        let (to, pid) = match self.opts.scope {
            Scope::Group => ("process group", self.child.as_raw()),
            Scope::Child => ("pid", self.child.as_raw()),
        };
        match result {
            Ok(()) => info!(signal = %name, to, pid, "forwarded"),
            Err(e) => warn!(signal = %name, to, pid, error = %e, "could not forward"),
        }
    }

    fn reap(&mut self) {
        let child = self.child;
        let mut main_exit = None;
        let mut gone = None;
        let watcher = &mut self.watcher;
        self.none_left = reap::drain(|pid, exit| {
            if pid == child {
                main_exit = Some(exit);
            } else if let Some(w) = watcher.as_mut().filter(|w| w.owns(pid)) {
                gone = gone.take().or(w.reaped(pid, exit));
            } else {
                debug!(pid = pid.as_raw(), "reaped orphan");
            }
        });
        if gone.is_some() && !self.budget.started() {
            self.dependency_gone();
        }
        let Some(exit) = main_exit else { return };
        match exit {
            Exit::Code(0) => debug!(pid = child.as_raw(), code = 0, "main command exited"),
            Exit::Code(code) => info!(pid = child.as_raw(), code, "main command exited"),
            Exit::Signal(s) => info!(pid = child.as_raw(), signal = %signals::name(s), "main command killed"),
        }
        if exit == Exit::Signal(libc::SIGKILL) {
            oom::explain_sigkill(&mut self.oom, "main command", child.as_raw());
        }
        self.main_exit = Some(exit);
        if !self.none_left {
            self.end_leftovers();
        }
    }

    /// A watched dependency went away: stop the command, end with 75.
    fn dependency_gone(&mut self) {
        if let Some(w) = self.watcher.as_mut() {
            w.cancel();
        }
        self.exit_override = Some(75);
        self.forward(libc::SIGTERM, "SIGTERM");
        self.start_stop("a watched dependency went away");
    }

    /// The main child is gone but other processes remain: they get SIGTERM
    /// and the budget runs on (once it is spent, the SIGKILL rounds go on).
    fn end_leftovers(&mut self) {
        self.start_stop("main command exited");
        // After SIGKILL the re-kill timer already covers what is left.
        if !self.budget.killed() {
            self.signal_everything(libc::SIGTERM);
        }
    }

    /// The stop budget's deadline, the watches' next check, and a retry
    /// while init's own output waits for its stream (src/outlet.rs).
    fn wake_at(&self) -> Option<Instant> {
        let watch_at = self.watcher.as_ref().filter(|_| !self.budget.started()).map(|w| w.next);
        let retry = crate::outlet::pending().then(|| Instant::now() + crate::outlet::RETRY);
        [self.budget.deadline(), watch_at, retry].into_iter().flatten().min()
    }

    fn on_deadline(&mut self) {
        if !self.budget.killed() {
            budget::spent();
        }
        self.budget.kill_round(Instant::now());
        self.signal_everything(libc::SIGKILL);
    }

    /// Signals the main child's group and every other process init is
    /// responsible for: all of the namespace when PID 1 (`kill(-1)`), only
    /// init's own descendants otherwise, since `kill(-1)` on a host reaches
    /// every process the user owns.
    fn signal_everything(&self, sig: i32) {
        let _ = sys::kill(-self.child.as_raw(), sig);
        reap::signal_everything(self.me, sig);
    }

    /// The exit code, once the main child has ended and nothing is left.
    fn finished(&self) -> Option<u8> {
        let exit = self.main_exit?;
        if !self.none_left {
            return None;
        }
        Some(self.exit_override.unwrap_or_else(|| exit.remapped(&self.opts.remap_exit)))
    }
}
