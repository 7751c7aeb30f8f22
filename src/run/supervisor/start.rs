//! Starting a service and making it ready: spawn (with output pipes for
//! `output = "prefix"`), the ready probe with back-off (command probes run
//! as children, never blocking the loop), the semaphore written when ready
//! and refreshed every heartbeat.

use super::*;
use mooring::config::duration::{deadline, doubled, later, millis};

impl Supervisor<'_> {
    pub(super) fn start(&mut self, i: usize, now: Instant) {
        let output = match self.svcs[i].spec.output {
            Output::Inherit => None,
            Output::Prefix => match output::pipes(i) {
                Ok(pair) => Some(pair),
                Err(e) => {
                    warn!(service = %self.svcs[i].spec.name, error = %e, "no output pipes; output inherited");
                    None
                }
            },
        };
        let fds = output.as_ref().map(output::Pipes::raw);
        let result = spawn::spawn_service(&self.svcs[i].cmd, self.mask, fds);
        if let Some(p) = output {
            // The write ends close here (the child has its copies); the read ends stay.
            self.sources.push(p.out);
            self.sources.push(p.err);
        }
        let s = &mut self.svcs[i];
        let oneshot = s.spec.oneshot;
        match result {
            Ok(pid) => {
                s.pid = Some(pid);
                s.started_at = now;
                s.signalled = false;
                let deadline = s.spec.ready.as_ref().and_then(|r| r.timeout).and_then(|t| deadline(now, t));
                s.probe = Probe {
                    next: Some(now),
                    backoff: PROBE_FIRST,
                    deadline,
                    pending: None,
                    why: String::new(),
                };
                info!(service = %s.spec.name, pid = pid.as_raw(), restarts = s.restarts, "started");
                self.set_state(i, Event::Spawned { oneshot });
                if !oneshot && self.svcs[i].spec.ready.is_none() {
                    self.became_ready(i, now);
                }
            }
            Err(e) => {
                error!(service = %s.spec.name, error = %e, "cannot start");
                let code = e.exit_code();
                s.last_exit = Some(Exit::Code(i32::from(code)));
                self.set_state(i, Event::SpawnFailed);
                self.ended_for_good(i, false);
            }
        }
    }

    /// Runs the ready probe once; true when the service became ready.
    pub(super) fn probe(&mut self, i: usize, now: Instant) -> bool {
        let s = &mut self.svcs[i];
        let Some(ready) = &s.spec.ready else { return false };
        match check::start(&ready.target, &s.cmd, self.mask) {
            Started::Done(result) => self.probe_result(i, result, now),
            Started::Running(pending) => {
                s.probe.pending = Some(pending);
                s.probe.next = None;
                false
            }
        }
    }

    pub(super) fn probe_result(&mut self, i: usize, result: Result<(), String>, now: Instant) -> bool {
        let s = &mut self.svcs[i];
        match result {
            Ok(()) => {
                self.became_ready(i, now);
                true
            }
            Err(why) => {
                if s.probe.deadline.is_some_and(|d| now >= d) {
                    error!(service = %s.spec.name, why, "not ready in time: SIGKILL");
                    s.probe.next = None;
                    if let Some(pid) = s.pid {
                        let _ = sys::kill(-pid.as_raw(), libc::SIGKILL);
                    }
                    return false;
                }
                if why != s.probe.why {
                    debug!(service = %s.spec.name, why, "not ready yet");
                }
                s.probe.why = why;
                s.probe.next = Some(later(now, s.probe.backoff));
                s.probe.backoff = doubled(s.probe.backoff, PROBE_MAX);
                false
            }
        }
    }

    /// Stops a probe still running (its status is then an orphan's).
    pub(super) fn end_probe(&mut self, i: usize) {
        if let Some(pending) = self.svcs[i].probe.pending.take() {
            pending.cancel();
        }
    }

    pub(super) fn became_ready(&mut self, i: usize, now: Instant) {
        self.set_state(i, Event::Probed);
        let s = &mut self.svcs[i];
        s.probe.next = None;
        info!(service = %s.spec.name, after_ms = millis(now.duration_since(s.started_at)), "ready");
        let Some(path) = s.spec.semaphore.clone() else { return };
        s.heartbeat_at = Some(later(now, s.spec.heartbeat));
        match self.write_semaphore(i) {
            Ok(()) => info!(service = %self.svcs[i].spec.name, path = %path.display(), "semaphore created"),
            Err(e) => {
                tracing::error!(service = %self.svcs[i].spec.name, path = %path.display(), error = %e, "cannot create semaphore (retried every heartbeat)")
            }
        }
    }

    /// Writes service `i`'s semaphore: who made it, since when it is ready
    /// (its last state change), and its heartbeat.
    fn write_semaphore(&self, i: usize) -> std::io::Result<()> {
        let s = &self.svcs[i];
        let (Some(path), Some(pid)) = (&s.spec.semaphore, s.pid) else { return Ok(()) };
        let text = semaphore::contents(&s.spec.name, &self.host, pid.as_raw(), s.since, s.spec.heartbeat);
        semaphore::create(&mooring::safe_fs::root()?, path, &text)
    }

    pub(super) fn heartbeat(&mut self, i: usize, now: Instant) {
        let s = &mut self.svcs[i];
        s.heartbeat_at = Some(later(now, s.spec.heartbeat));
        let Some(path) = s.spec.semaphore.clone() else { return };
        let result = mooring::safe_fs::root().and_then(|root| semaphore::touch(&root, &path)).or_else(|e| {
            match e.kind() {
                // Someone removed it while the service runs: it is still ready.
                std::io::ErrorKind::NotFound => self.write_semaphore(i),
                _ => Err(e),
            }
        });
        if let Err(e) = result {
            tracing::error!(service = %self.svcs[i].spec.name, path = %path.display(), error = %e, "cannot write semaphore (retried every heartbeat)");
        }
    }

    pub(super) fn drop_semaphore(&mut self, i: usize) {
        let s = &mut self.svcs[i];
        s.heartbeat_at = None;
        if let Some(path) = &s.spec.semaphore
            && path.exists()
        {
            match mooring::safe_fs::root().and_then(|root| semaphore::remove(&root, path)) {
                Ok(()) => info!(service = %s.spec.name, path = %path.display(), "semaphore removed"),
                Err(e) => {
                    warn!(service = %s.spec.name, path = %path.display(), error = %e, "cannot remove semaphore")
                }
            }
        }
    }
}
