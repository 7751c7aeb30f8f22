//! Service mode (`[[service]]`, docs/reference.md, "Services"): one single-threaded
//! event loop over the signalfd, the services' output pipes, the control
//! socket and timers. What happens is decided by pure code: a service's
//! life is one step function (life.rs over state.rs), the container's
//! decisions (who starts, what an end means, the stop order, the exit
//! code) are fleet.rs over decide.rs. This module and its parts are the
//! shell around them: they turn what the poll saw into events, feed them
//! in, and carry out the effects that come back (spawn, signal, run a//! check, write a semaphore or the status file, answer a request). Every
//! exit status is matched against the pid map before it counts as an
//! orphan's, so the reaper never takes a supervised child's status.
//! docs/development.md, "The supervisor", says how to add a state or an event.

mod announce;
mod carry;
mod control;
mod decide;
pub use control::SOCKET_NAME;
pub use reload::{Loader, Reloader};
mod events;
mod exits;
pub mod fleet;
pub mod life;
mod mainpid;
mod notify;
mod operate;
mod output;
mod publish;
mod reload;
#[cfg(test)]
mod scenarios;
mod shutdown;
mod start;
pub mod state;

use std::time::{Duration, Instant};

use nix::sys::signal::SigSet;
use nix::unistd::{Pid, getpid};
use tracing::{debug, error, info, warn};

use crate::process::budget;
use crate::process::probe_child::{self, ProbeChild, Started};
use crate::process::reap::{self, Exit};
use crate::process::signals::{self, Signals};
use crate::process::spawn::{self, Command};
use crate::process::streak::Streak;
use crate::run::oom::{self, OomWatch};
use crate::run::single::Options;
use crate::run::watch::Watcher;
use crate::status_file::{self, ServiceStatus, Status, StatusFile};
use crate::sys;
use fleet::{Fleet, Order, Unit};
use life::{Event, Rules};
use mooring::config::{Output, ReadyHow, Service, Wait};
use mooring::error::Error;
use mooring::semaphore;
use output::Source;
use state::{Kind, Proc, State};

/// A service to supervise: its configuration and its prepared command.
pub struct Spec {
    pub service: Service,
    pub cmd: Command,
}

/// Runs the services until the container stops; returns init's exit code.
/// `probes_as` is what a watched `command` target runs as (process/probe_child.rs).
pub fn run(
    specs: Vec<Spec>,
    (watches, probes_as): (&[Wait], &Command),
    reloader: Option<Reloader>,
    opts: &Options,
) -> Result<u8, Error> {
    let signals = Signals::block_all()?;
    let me = getpid();
    budget::become_subreaper(me);
    let mut sv = Supervisor::new(specs, (watches, probes_as), opts, signals.original_mask, me);
    sv.reloader = reloader;
    sv.clear_stale_semaphores();
    // Before the first spawn: a service that runs `init status` or `init run`
    // at once must find init live (docs/reference.md, "Services", Status).
    sv.create_status_and_control();
    sv.open_notify_sockets();
    loop {
        sv.tick(Instant::now());
        sv.answer_requests();
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

/// What the loop holds for a service beside its life (fleet.rs): its
/// configuration and command, and the descriptors and children that no
/// pure state can hold.
struct Svc {
    spec: Service,
    cmd: Command,
    /// What `init status` last showed of it, and since when (seconds since the epoch).
    shown: (Kind, Option<Pid>),
    since: u64,
    /// `ready = { notify = true }`: its socket, the last `STATUS=` it sent,
    /// and the `MAINPID=` it named.
    notify: Option<notify::NotifySocket>,
    status_text: Option<String>,
    /// The `MAINPID=` believed, with its start time (supervisor/mainpid.rs),
    /// and the start time of the process init started, read at its spawn
    /// (it may exit right after naming its main process).
    main_pid: Option<(Pid, u64)>,
    spawned_at_tick: Option<u64>,
    /// The child running its ready probe, while the state says one runs.
    probe: Option<ProbeChild>,
    /// `ready = { fd = N }`: the read end of its descriptor N, while it starts.
    ready_fd: Option<std::os::fd::OwnedFd>,
}

struct Supervisor<'a> {
    fleet: Fleet,
    svcs: Vec<Svc>,
    sources: Vec<Source>,
    watcher: Option<Watcher<'a>>,
    mask: SigSet,
    me: Pid,
    host: String,
    started: u64,
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
        (watches, probes_as): (&'a [Wait], &Command),
        opts: &Options,
        mask: SigSet,
        me: Pid,
    ) -> Self {
        let units = specs
            .iter()
            .map(|Spec { service: s, .. }| Unit::new(&s.name, &s.after, (s.main, s.critical), Rules::of(s)))
            .collect();
        let svcs = specs
            .into_iter()
            .map(|Spec { service, cmd }| Svc {
                spec: service,
                cmd,
                shown: (Kind::Waiting, None),
                since: status_file::now_secs(),
                notify: None,
                status_text: None,
                main_pid: None,
                spawned_at_tick: None,
                probe: None,
                ready_fd: None,
            })
            .collect();
        Supervisor {
            fleet: Fleet::new(units, opts.stop_timeout, opts.remap_exit.clone()),
            svcs,
            sources: Vec::new(),
            watcher: Watcher::new(watches, probes_as, mask),
            mask,
            me,
            host: semaphore::hostname(),
            started: status_file::now_secs(),
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
        self.fleet.stopping()
    }

    fn kind(&self, i: usize) -> Kind {
        self.fleet.units[i].kind()
    }

    fn state(&self, i: usize) -> &State {
        &self.fleet.units[i].life.state
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

    /// Everything due at `now`: starts, probes, heartbeats, restarts,
    /// operators' stops, watches, reloads; while stopping, the stop's steps.
    fn tick(&mut self, now: Instant) {
        if self.stopping() {
            let orders = self.fleet.progress_stop(now);
            return self.carry(orders, now);
        }
        // Starting one service may make it ready at once, which may let the next start.
        loop {
            while let Some(i) = self.fleet.due_start(now) {
                self.start(i, now);
            }
            let orders = self.fleet.tick(now);
            self.carry(orders, now);
            if self.stopping() {
                return;
            }
            if self.fleet.due_start(now).is_none() {
                break;
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
