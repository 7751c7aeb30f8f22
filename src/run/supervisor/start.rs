//! Starting a service and making it ready: spawn (with output pipes for
//! `output = "prefix"` and `ready = { log = … }`), the ready probe with back-off (command probes run
//! as children, never blocking the loop), the semaphore written when ready
//! and refreshed every heartbeat.

use std::os::fd::AsRawFd;

use super::*;

impl Supervisor<'_> {
    /// Spawns service `i` (its dependencies are ready or its back-off is
    /// over) and tells the fleet how that went.
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
        info!(service = %s.spec.name, pid = pid.as_raw(), restarts = self.fleet.units[i].life.restarts, "started");
        // Only a notify service may name a main process (supervisor/mainpid.rs).
        s.spawned_at_tick = s.notify.as_ref().and_then(|_| mainpid::read(pid.as_raw())).map(|p| p.stat.start);
        s.ready_fd = ready_pipe.map(|(rd, _, _)| rd);
        self.feed(i, Event::Spawned(Proc { pid, started_at: now, adopted: None }), now);
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

    /// Runs service `i`'s ready probe once: its answer at once, or the
    /// child that runs it (its end comes back through the reaper).
    pub(super) fn probe(&mut self, i: usize, now: Instant) {
        let s = &mut self.svcs[i];
        let Some(ReadyHow::Probe(target)) = s.spec.ready.as_ref().map(|r| &r.how) else { return };
        match probe_child::start(target, &s.cmd, self.mask) {
            Started::Done(result) => {
                self.feed(i, Event::Probed(result.map_err(|e| state::Unready(e.to_string()))), now)
            }
            Started::Child(child) => {
                let pid = child.pid;
                s.probe = Some(child);
                self.feed(i, Event::Probing(pid), now);
            }
        }
    }

    /// Service `i` became ready: its semaphore written (status.json first:
    /// whoever the semaphore lets start finds it ready in `init status`).
    pub(super) fn semaphore_ready(&mut self, i: usize) {
        let Some(path) = self.svcs[i].spec.semaphore.clone() else { return };
        self.write_status_if_changed();
        let name = &self.svcs[i].spec.name;
        match self.write_semaphore(i) {
            Ok(()) => info!(service = %name, path = %path.display(), "semaphore created"),
            Err(e) => {
                error!(service = %name, path = %path.display(), error = %e, "cannot create semaphore (retried every heartbeat)")
            }
        }
    }

    /// Writes service `i`'s semaphore: who made it, since when it is ready
    /// (its last state change), and its heartbeat.
    fn write_semaphore(&self, i: usize) -> std::io::Result<()> {
        let s = &self.svcs[i];
        let (Some(path), Some(pid)) = (&s.spec.semaphore, self.state(i).pid()) else { return Ok(()) };
        let text = semaphore::contents(&s.spec.name, &self.host, pid.as_raw(), s.since, s.spec.heartbeat);
        semaphore::create(&mooring::safe_fs::root()?, path, &text)
    }

    pub(super) fn heartbeat(&mut self, i: usize) {
        let s = &self.svcs[i];
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
