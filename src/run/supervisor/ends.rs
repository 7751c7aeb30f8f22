//! How services end and how the container does: every exit status matched
//! against the pid map, the restart policy with its back-off and give-up,
//! critical and main services, and the shutdown that spends one budget in
//! reverse dependency order.

use super::*;
use mooring::config::duration::{deadline, doubled, later, millis};

impl Supervisor<'_> {
    pub(super) fn reap(&mut self) {
        let mut ended = Vec::new();
        self.none_left = reap::drain(|pid, exit| ended.push((pid, exit)));
        for (pid, exit) in ended {
            if let Some(i) = self.svcs.iter().position(|s| s.pid == Some(pid)) {
                self.exited(i, pid, exit);
            } else if let Some(i) =
                self.svcs.iter().position(|s| s.probe.pending.as_ref().is_some_and(|p| p.pid == pid))
            {
                let pending = self.svcs[i].probe.pending.take().expect("found just above");
                let result = pending.result(exit);
                if self.svcs[i].state == State::Starting && !self.stopping {
                    self.probe_result(i, result, Instant::now());
                }
            } else if self.watcher.as_mut().is_some_and(|w| w.owns(pid)) {
                let gone = self.watcher.as_mut().and_then(|w| w.reaped(pid, exit));
                self.stop_if_gone(gone);
            } else {
                debug!(pid = pid.as_raw(), "reaped orphan");
            }
        }
    }

    pub(super) fn exited(&mut self, i: usize, pid: Pid, exit: Exit) {
        let now = Instant::now();
        let s = &mut self.svcs[i];
        s.pid = None;
        s.last_exit = Some(exit);
        let uptime = now.duration_since(s.started_at);
        match exit {
            Exit::Code(code) => {
                info!(service = %s.spec.name, code, uptime_ms = millis(uptime), "exited")
            }
            Exit::Signal(sig) => {
                info!(service = %s.spec.name, signal = %signals::name(sig), "killed");
                if sig == libc::SIGKILL {
                    let what = s.spec.name.clone();
                    oom::explain_sigkill(&mut self.oom, &what, pid.as_raw());
                }
            }
        }
        self.drop_semaphore(i);
        self.end_probe(i);
        let s = &mut self.svcs[i];
        if s.state == State::Stopping {
            return self.set_state(i, Event::Ended { ok: true, restart: false });
        }
        let ok = exit == Exit::Code(0);
        let wanted = !self.stopping
            && match s.spec.restart {
                Restart::Never => false,
                Restart::OnFailure => !ok,
                // A oneshot that succeeded has done its job.
                Restart::Always => !(ok && s.spec.oneshot),
            };
        s.recent.retain(|t| now.duration_since(*t) < RESTART_WINDOW);
        let restart = wanted && s.recent.len() < s.spec.max_restarts as usize;
        if wanted && !restart {
            error!(service = %s.spec.name, restarts = s.recent.len(), "restarted too often within 60 s: giving up");
        }
        if restart {
            s.delay = next_delay(s.delay, uptime, s.spec.restart_delay);
            s.timer = Some(later(now, s.delay));
            s.restarts += 1;
            s.recent.push(now);
            info!(service = %s.spec.name, delay_ms = millis(s.delay), "restarting after back-off");
            s.delay = doubled(s.delay, MAX_DELAY);
            return self.set_state(i, Event::Ended { ok, restart: true });
        }
        self.set_state(i, Event::Ended { ok: ok && !wanted, restart: false });
        self.ended_for_good(i, ok && !wanted);
    }

    /// A service that will not run again: the main one, or a critical one
    /// that did not succeed as a oneshot, stops the container.
    pub(super) fn ended_for_good(&mut self, i: usize, ok: bool) {
        let s = &self.svcs[i];
        let succeeded_oneshot = s.spec.oneshot && ok;
        if !succeeded_oneshot {
            for d in
                self.svcs.iter().filter(|d| d.state == State::Waiting && d.spec.after.contains(&s.spec.name))
            {
                warn!(service = %d.spec.name, dependency = %s.spec.name, "will not start: its dependency ended");
            }
        }
        let exit = s.last_exit.unwrap_or(Exit::Code(0));
        if s.spec.main {
            let code = self.opts.main_code(exit);
            self.begin_shutdown("the main service ended", Some(code));
        } else if s.spec.critical && !succeeded_oneshot {
            let reason = format!("critical service {} ended", s.spec.name);
            self.begin_shutdown(&reason, Some(exit.byte()));
        }
    }

    pub(super) fn begin_shutdown(&mut self, reason: &str, code: Option<u8>) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        self.exit_code = code;
        self.deadline = self.opts.stop_timeout.and_then(|b| deadline(Instant::now(), b));
        match self.opts.stop_timeout {
            Some(b) => info!(reason, budget_ms = millis(b), "stopping"),
            None => info!(reason, "stopping, no time limit"),
        }
        if let Some(w) = self.watcher.as_mut() {
            w.cancel();
        }
        for i in 0..self.svcs.len() {
            self.end_probe(i);
            if matches!(self.svcs[i].state, State::Waiting | State::Backoff) {
                self.set_state(i, Event::Stop);
            }
        }
        self.progress_shutdown(Instant::now());
    }

    /// Stops each service whose dependents have all ended: stop_delay, then
    /// its stop signal, then SIGKILL after its own stop_timeout; once none
    /// runs, everything left in the container gets SIGTERM.
    pub(super) fn progress_shutdown(&mut self, now: Instant) {
        if self.deadline.is_some_and(|d| now >= d) {
            if !self.killed {
                warn!("stop budget spent: SIGKILL to everything left");
            }
            return self.kill_everything();
        }
        for i in 0..self.svcs.len() {
            let s = &self.svcs[i];
            let Some(pid) = s.pid else { continue };
            let name = s.spec.name.clone();
            let dependents_running =
                self.svcs.iter().any(|d| d.pid.is_some() && d.spec.after.contains(&name));
            if dependents_running {
                continue;
            }
            if s.state != State::Stopping {
                self.set_state(i, Event::Stop);
                self.drop_semaphore(i);
                let s = &mut self.svcs[i];
                s.signalled = false;
                // A timer, not a deadline: with none the signal would go at once.
                s.timer = s.spec.stop_delay.map(|d| later(now, d));
                if let Some(d) = s.spec.stop_delay {
                    info!(service = %name, delay_ms = millis(d), "stop_delay before signalling");
                }
            }
            let s = &mut self.svcs[i];
            let due = s.timer.is_none_or(|t| t <= now);
            if !s.signalled && due {
                s.signalled = true;
                // Past the clock's end there is no SIGKILL deadline at all.
                s.timer = s.spec.stop_timeout.and_then(|t| deadline(now, t));
                match rewrite(&s.spec, s.spec.stop_signal) {
                    Some(sig) => {
                        let _ = sys::kill(-pid.as_raw(), sig);
                        info!(service = %name, pid = pid.as_raw(), signal = %signals::name(sig), "stop signal sent");
                    }
                    None => info!(service = %name, "stop signal dropped by its signals table; waiting"),
                }
            } else if s.signalled && due && s.timer.is_some() {
                s.timer = None;
                warn!(service = %name, "stop_timeout spent: SIGKILL");
                let _ = sys::kill(-pid.as_raw(), libc::SIGKILL);
            }
        }
        if !self.leftovers_signalled && self.svcs.iter().all(|s| s.pid.is_none()) {
            self.leftovers_signalled = true;
            self.reap();
            if !self.none_left && !self.killed {
                reap::signal_everything(self.me, libc::SIGTERM);
            }
        }
    }

    pub(super) fn kill_everything(&mut self) {
        self.killed = true;
        for s in &self.svcs {
            if let Some(pid) = s.pid {
                let _ = sys::kill(-pid.as_raw(), libc::SIGKILL);
            }
        }
        reap::signal_everything(self.me, libc::SIGKILL);
        self.deadline = Some(later(Instant::now(), REKILL_INTERVAL));
    }

    /// The exit code, once stopping, every service has ended and no child is left.
    pub(super) fn finished(&mut self) -> Option<u8> {
        if !self.stopping || self.svcs.iter().any(|s| !s.state.is_final()) {
            return None;
        }
        self.reap();
        if !self.none_left {
            return None;
        }
        if let Some(code) = self.exit_code {
            return Some(code);
        }
        let main = self.svcs.iter().find(|s| s.spec.main).and_then(|s| s.last_exit);
        Some(main.map_or(self.signal_code.unwrap_or(0), |exit| self.opts.main_code(exit)))
    }
}

/// The next back-off delay: the current one, or `first` again after a run
/// long enough to count as healthy.
fn next_delay(current: Duration, uptime: Duration, first: Duration) -> Duration {
    if uptime >= RESET_AFTER { first } else { current.min(MAX_DELAY) }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_to_30s_and_starts_over_after_10s_up() {
        let first = Duration::from_millis(100);
        let mut delay = first;
        let mut seen = Vec::new();
        for _ in 0..12 {
            let d = next_delay(delay, Duration::from_secs(1), first);
            seen.push(d.as_millis());
            delay = doubled(d, MAX_DELAY);
        }
        assert_eq!(&seen[..5], [100, 200, 400, 800, 1600]);
        assert_eq!(*seen.last().unwrap(), 30_000);
        assert_eq!(next_delay(Duration::from_secs(30), Duration::from_secs(10), first), first);
    }
}
