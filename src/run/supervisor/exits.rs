//! How services end: every exit status matched against the services' and
//! probes' pids before it counts as an orphan's, then the restart policy
//! (decide.rs) carried out, and an end that stops the container.

use super::*;
use decide::{AfterExit, Ends};
use mooring::config::duration::{doubled, later, millis};

impl Supervisor<'_> {
    /// Collects every ended child; true when none is left.
    pub(super) fn reap(&mut self) -> bool {
        let mut ended = Vec::new();
        let none_left = reap::drain(|pid, exit| ended.push((pid, exit)));
        for (pid, exit) in ended {
            if let Some(i) = self.svcs.iter().position(|s| s.state.pid() == Some(pid)) {
                self.exited(i, pid, exit);
            } else if let Some(i) = self.probing(pid) {
                self.probe_ended(i, exit);
            } else if self.watcher.as_mut().is_some_and(|w| w.owns(pid)) {
                let gone = self.watcher.as_mut().and_then(|w| w.reaped(pid, exit));
                self.stop_if_gone(gone);
            } else {
                debug!(pid = pid.as_raw(), "reaped orphan");
            }
        }
        none_left
    }

    /// The service whose ready probe runs as `pid`.
    fn probing(&self, pid: Pid) -> Option<usize> {
        self.svcs.iter().position(|s| match &s.state {
            State::Starting { probe, .. } => probe.child.as_ref().is_some_and(|c| c.pid == pid),
            _ => false,
        })
    }

    fn probe_ended(&mut self, i: usize, exit: Exit) {
        let State::Starting { probe, .. } = &mut self.svcs[i].state else { return };
        let Some(child) = probe.child.take() else { return };
        let result = child.result(exit);
        if !self.stopping() {
            self.probe_result(i, result, Instant::now());
        }
    }

    /// Service `i`'s process ended: logged, then stopped on purpose, or the
    /// restart policy decides.
    fn exited(&mut self, i: usize, pid: Pid, exit: Exit) {
        // What it sent before it ended counts first: a forking service
        // names its main process (`MAINPID=`) and exits at once.
        if self.svcs[i].notify.is_some() {
            self.on_announcement(i);
        }
        if self.follow_main_pid(i, pid, exit) {
            return;
        }
        let now = Instant::now();
        let s = &mut self.svcs[i];
        s.last_exit = Some(exit);
        let uptime = s.state.proc().map_or(Duration::ZERO, |p| now.duration_since(p.started_at));
        match exit {
            Exit::Code(code) => info!(service = %s.spec.name, code, uptime_ms = millis(uptime), "exited"),
            Exit::Signal(sig) => {
                info!(service = %s.spec.name, signal = %signals::name(sig), "killed");
                if sig == libc::SIGKILL {
                    let what = s.spec.name.clone();
                    oom::explain_sigkill(&mut self.oom, &what, pid.as_raw());
                }
            }
        }
        if let State::Stopping { halt, .. } = self.svcs[i].state {
            let to = if halt { State::Stopped } else { State::Exited };
            return self.enter(i, Event::StopEnded { halt }, to);
        }
        let s = &mut self.svcs[i];
        let ok = exit == Exit::Code(0);
        let ready_for = s.ready_since.take().map_or(Duration::ZERO, |t| now.duration_since(t));
        s.failed_runs = decide::failed_runs(s.failed_runs, ready_for);
        let stopping = self.shutdown.budget.started();
        let (oneshot, max) = (s.spec.oneshot, s.spec.max_restarts);
        match decide::after_exit(s.spec.restart, oneshot, ok, stopping, s.failed_runs, max) {
            AfterExit::Restart => {
                let to = self.backoff(i, ready_for, now);
                self.enter(i, Event::Ended { ok, restart: true }, to);
            }
            AfterExit::GiveUp => {
                error!(service = %s.spec.name, runs = s.failed_runs, "no run was ready for 10 s: giving up");
                self.enter(i, Event::Ended { ok: false, restart: false }, State::Failed);
                self.ended_for_good(i, false, false);
            }
            AfterExit::Done { ok } => {
                let to = if ok { State::Exited } else { State::Failed };
                self.enter(i, Event::Ended { ok, restart: false }, to);
                self.ended_for_good(i, ok, false);
            }
        }
    }

    /// The back-off before the next run of service `i`, whose run was ready
    /// for `ready_for`; the delay doubles for the run after.
    fn backoff(&mut self, i: usize, ready_for: Duration, now: Instant) -> State {
        let s = &mut self.svcs[i];
        s.delay = decide::next_delay(s.delay, ready_for, s.spec.restart_delay);
        let restart_at = later(now, s.delay);
        s.restarts += 1;
        info!(service = %s.spec.name, delay_ms = millis(s.delay), "restarting after back-off");
        s.delay = doubled(s.delay, decide::MAX_DELAY);
        State::Backoff { restart_at }
    }

    /// fork or exec failed (EAGAIN at a `pids.max` limit, a program that is
    /// gone): a failed run, never by itself the end of the container — the
    /// restart policy, the back-off and the give-up rule apply as to a run
    /// that ended at once with the error's exit code (docs/reference.md,
    /// "When system calls fail").
    pub(super) fn spawn_failed(&mut self, i: usize, e: &Error, now: Instant) {
        let s = &mut self.svcs[i];
        warn!(service = %s.spec.name, error = %e, "cannot start");
        s.last_exit = Some(Exit::Code(i32::from(e.exit_code())));
        s.failed_runs = decide::failed_runs(s.failed_runs, Duration::ZERO);
        let stopping = self.shutdown.budget.started();
        let (oneshot, max) = (s.spec.oneshot, s.spec.max_restarts);
        match decide::after_exit(s.spec.restart, oneshot, false, stopping, s.failed_runs, max) {
            AfterExit::Restart => {
                let to = self.backoff(i, Duration::ZERO, now);
                self.enter(i, Event::SpawnFailed { restart: true }, to);
            }
            AfterExit::GiveUp | AfterExit::Done { .. } => {
                self.enter(i, Event::SpawnFailed { restart: false }, State::Failed);
                self.ended_for_good(i, false, false);
            }
        }
    }

    /// A forking service (`MAINPID=` of the notify protocol): when the
    /// process init started exits 0 and the main process it named lives
    /// on, that one is supervised from now on (as a subreaper, init reaps it).
    fn follow_main_pid(&mut self, i: usize, pid: Pid, exit: Exit) -> bool {
        let s = &mut self.svcs[i];
        let Some((main, start)) = s.main_pid.take().filter(|&(m, _)| m != pid && exit == Exit::Code(0))
        else {
            return false;
        };
        if !mainpid::same_process(main.as_raw(), start) {
            return false;
        }
        let new = Proc { pid: main, started_at: Instant::now(), adopted: Some(start) };
        match &mut s.state {
            State::Starting { proc, .. } | State::Ready { proc, .. } | State::Stopping { proc, .. } => {
                *proc = new
            }
            _ => return false,
        }
        info!(service = %s.spec.name, pid = main.as_raw(), "its main process is now the one it named");
        self.changed = true;
        true
    }

    /// A service that will not run again: dependents that wait for it are
    /// told, and the main one, or a critical one that did not succeed as a
    /// oneshot, stops the container (never one an operator stopped).
    pub(super) fn ended_for_good(&mut self, i: usize, ok: bool, by_operator: bool) {
        let s = &self.svcs[i];
        if !(s.spec.oneshot && ok) {
            let waiting =
                self.svcs.iter().filter(|d| d.kind() == Kind::Waiting && d.spec.after.contains(&s.spec.name));
            for d in waiting {
                warn!(service = %d.spec.name, dependency = %s.spec.name, "will not start: its dependency ended");
            }
        }
        let exit = s.last_exit.unwrap_or(Exit::Code(0));
        match decide::ends_container(s.spec.main, s.spec.critical, s.spec.oneshot, ok, by_operator) {
            Some(Ends::Main) => {
                let code = self.opts.main_code(exit);
                self.begin_shutdown("the main service ended", Some(code));
            }
            Some(Ends::Critical) => {
                let reason = format!("critical service {} ended", s.spec.name);
                self.begin_shutdown(&reason, Some(exit.byte()));
            }
            None => {}
        }
    }

    /// A watched dependency went away (the watcher said what): stop with 75.
    pub(super) fn stop_if_gone(&mut self, gone: Option<String>) {
        if gone.is_some() {
            self.begin_shutdown("a watched dependency went away", Some(75));
        }
    }
}
