//! Starting a service and making it ready: spawn (with output pipes for
//! `output = "prefix"` and `ready = { log = … }`), the ready probe with back-off (command probes run
//! as children, never blocking the loop), the semaphore written when ready
//! and refreshed every heartbeat.

use std::os::fd::AsRawFd;

use super::*;
use mooring::config::duration::{deadline, doubled, later, millis};

impl Supervisor<'_> {
    pub(super) fn start(&mut self, i: usize, now: Instant) {
        // What led to this start (a dependency ready, a back-off over) is in
        // status.json before the child runs (docs/reference.md, "Services", Status).
        self.write_status_if_changed();
        let output = self.output_pipes(i);
        let fds = output.as_ref().map(output::Pipes::raw);
        let ready_pipe = self.ready_pipe(i);
        let ready_fd = ready_pipe.as_ref().map(|(_, wr, n)| (wr.as_raw_fd(), *n));
        let result = spawn::spawn_service(&self.svcs[i].cmd, self.mask, fds, ready_fd);
        // Likewise the ready pipe's write end: the child has it as descriptor N.
        let ready_rd = ready_pipe.map(|(rd, _, _)| rd);
        let pid = match result {
            Ok(pid) => pid,
            Err(e) => return self.spawn_failed(i, &e, now),
        };
        if let Some(p) = output {
            // The write ends close here (the child has its copies); the read ends stay.
            for mut source in [p.out, p.err] {
                source.pid = pid;
                self.sources.push(source);
            }
        }
        let s = &mut self.svcs[i];
        s.ready_since = None;
        info!(service = %s.spec.name, pid = pid.as_raw(), restarts = s.restarts, "started");
        let oneshot = s.spec.oneshot;
        // Only a notify service may name a main process (supervisor/mainpid.rs).
        s.spawned_at_tick = s.notify.as_ref().and_then(|_| mainpid::read(pid.as_raw())).map(|p| p.stat.start);
        let to = self.spawned_state(i, Proc { pid, started_at: now, adopted: None }, ready_rd, now);
        self.enter(i, Event::Spawned { oneshot }, to);
        if !oneshot && self.svcs[i].spec.ready.is_none() {
            self.became_ready(i, now);
        }
    }

    /// Pipes for a service's stdout and stderr, when its lines are
    /// prefixed or matched (`ready = { log = … }`); `None` otherwise, or
    /// when none could be made (its output is then inherited, and a log
    /// pattern's timeout applies).
    #[inline(never)] // outlined, the binary is smaller (size budget: docs/benchmarks.md)
    fn output_pipes(&self, i: usize) -> Option<output::Pipes> {
        let spec = &self.svcs[i].spec;
        let log = matches!(spec.ready.as_ref().map(|r| &r.how), Some(ReadyHow::Log(_)));
        if spec.output == Output::Inherit && !log {
            return None;
        }
        match output::pipes(i, spec.output == Output::Prefix) {
            Ok(pipes) => Some(pipes),
            Err(e) => {
                warn!(service = %spec.name, error = %e, "no output pipes; output inherited");
                None
            }
        }
    }

    /// What a spawned service is: a running oneshot, or a service starting
    /// with its readiness to come (a probe init runs, or an announcement
    /// it awaits, each within its timeout).
    fn spawned_state(&self, i: usize, proc: Proc, fd: Option<std::os::fd::OwnedFd>, now: Instant) -> State {
        let spec = &self.svcs[i].spec;
        if spec.oneshot {
            return State::Running { proc };
        }
        let ready = spec.ready.as_ref();
        let deadline = ready.and_then(|r| r.timeout).and_then(|t| deadline(now, t));
        let next = matches!(ready.map(|r| &r.how), Some(ReadyHow::Probe(_))).then_some(now);
        State::Starting {
            proc,
            probe: ReadyProbe { next, backoff: PROBE_FIRST, deadline, fd, ..ReadyProbe::default() },
        }
    }

    /// `ready = { fd = N }`: a pipe whose write end the child gets as N (the
    /// read end non-blocking, polled by the loop). `None` otherwise, or when
    /// no pipe could be made (the service then never announces: its
    /// timeout applies).
    fn ready_pipe(&self, i: usize) -> Option<(std::os::fd::OwnedFd, std::os::fd::OwnedFd, i32)> {
        let Some(ReadyHow::Fd(n)) = self.svcs[i].spec.ready.as_ref().map(|r| &r.how) else { return None };
        match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) {
            Ok((rd, wr)) => {
                let _ = nix::fcntl::fcntl(&rd, nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK));
                Some((rd, wr, *n))
            }
            Err(e) => {
                error!(service = %self.svcs[i].spec.name, error = %e, "no ready pipe");
                None
            }
        }
    }

    /// Runs the ready probe once; true when the service became ready.
    pub(super) fn probe(&mut self, i: usize, now: Instant) -> bool {
        let s = &mut self.svcs[i];
        let Some(ReadyHow::Probe(target)) = s.spec.ready.as_ref().map(|r| &r.how) else { return false };
        match probe_child::start(target, &s.cmd, self.mask) {
            Started::Done(result) => self.probe_result(i, result, now),
            Started::Child(child) => {
                if let State::Starting { probe, .. } = &mut s.state {
                    probe.child = Some(child);
                    probe.next = None;
                }
                false
            }
        }
    }

    /// What a probe said; true when the service became ready.
    pub(super) fn probe_result(&mut self, i: usize, result: Result<(), String>, now: Instant) -> bool {
        let s = &mut self.svcs[i];
        let State::Starting { proc, probe } = &mut s.state else { return false };
        if let Some(child) = probe.child.take() {
            child.cancel();
        }
        let why = match result {
            Ok(()) => return self.became_ready(i, now),
            Err(why) => why,
        };
        if probe.deadline.is_some_and(|d| now >= d) {
            error!(service = %s.spec.name, why, "not ready in time: SIGKILL");
            probe.next = None;
            probe.deadline = None;
            signal_proc(proc, libc::SIGKILL);
            return false;
        }
        if why != probe.why {
            debug!(service = %s.spec.name, why, "not ready yet");
        }
        probe.why = why;
        probe.next = Some(later(now, probe.backoff));
        probe.backoff = doubled(probe.backoff, PROBE_MAX);
        false
    }

    /// Starting → Ready: the semaphore written, its heartbeat planned.
    pub(super) fn became_ready(&mut self, i: usize, now: Instant) -> bool {
        let s = &self.svcs[i];
        let Some(proc) = s.state.proc() else { return false };
        let heartbeat_at = s.spec.semaphore.as_ref().map(|_| later(now, s.spec.heartbeat));
        self.enter(i, Event::Probed, State::Ready { proc, heartbeat_at });
        self.svcs[i].ready_since = Some(now);
        let s = &self.svcs[i];
        info!(service = %s.spec.name, after_ms = millis(now.duration_since(proc.started_at)), "ready");
        let Some(path) = s.spec.semaphore.clone() else { return true };
        // Whoever the semaphore lets start finds this service ready in init status.
        self.write_status_if_changed();
        let s = &self.svcs[i];
        match self.write_semaphore(i) {
            Ok(()) => info!(service = %s.spec.name, path = %path.display(), "semaphore created"),
            Err(e) => {
                error!(service = %s.spec.name, path = %path.display(), error = %e, "cannot create semaphore (retried every heartbeat)")
            }
        }
        true
    }

    /// Writes service `i`'s semaphore: who made it, since when it is ready
    /// (its last state change), and its heartbeat.
    fn write_semaphore(&self, i: usize) -> std::io::Result<()> {
        let s = &self.svcs[i];
        let (Some(path), Some(pid)) = (&s.spec.semaphore, s.state.pid()) else { return Ok(()) };
        let text = semaphore::contents(&s.spec.name, &self.host, pid.as_raw(), s.since, s.spec.heartbeat);
        semaphore::create(&mooring::safe_fs::root()?, path, &text)
    }

    pub(super) fn heartbeat(&mut self, i: usize, now: Instant) {
        let s = &mut self.svcs[i];
        if let State::Ready { heartbeat_at, .. } = &mut s.state {
            *heartbeat_at = Some(later(now, s.spec.heartbeat));
        }
        let Some(path) = s.spec.semaphore.clone() else { return };
        let result = mooring::safe_fs::root().and_then(|root| semaphore::touch(&root, &path)).or_else(|e| {
            match e.kind() {
                // Someone removed it while the service runs: it is still ready.
                std::io::ErrorKind::NotFound => self.write_semaphore(i),
                _ => Err(e),
            }
        });
        if let Err(e) = result {
            error!(service = %self.svcs[i].spec.name, path = %path.display(), error = %e, "cannot write semaphore (retried every heartbeat)");
        }
    }

    /// Removes service `i`'s semaphore (it is no longer ready).
    pub(super) fn drop_semaphore(&mut self, i: usize) {
        let s = &self.svcs[i];
        let Some(path) = &s.spec.semaphore else { return };
        if path.exists() {
            match mooring::safe_fs::root().and_then(|root| semaphore::remove(&root, path)) {
                Ok(()) => info!(service = %s.spec.name, path = %path.display(), "semaphore removed"),
                Err(e) => {
                    warn!(service = %s.spec.name, path = %path.display(), error = %e, "cannot remove semaphore")
                }
            }
        }
    }
}
