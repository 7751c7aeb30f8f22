//! How services end: every exit status matched against the services' and
//! probes' pids before it counts as an orphan's, logged, and handed to the
//! fleet (fleet.rs), whose restart policy and container decisions follow.

use super::*;
use mooring::config::duration::millis;

impl Supervisor<'_> {
    /// Collects every ended child; true when none is left.
    pub(super) fn reap(&mut self) -> bool {
        let mut ended = Vec::new();
        let none_left = reap::drain(|pid, exit| ended.push((pid, exit)));
        for (pid, exit) in ended {
            if let Some(i) = self.fleet.units.iter().position(|u| u.life.state.pid() == Some(pid)) {
                self.exited(i, pid, exit);
            } else if let Some(i) =
                self.svcs.iter().position(|s| s.probe.as_ref().is_some_and(|c| c.pid == pid))
            {
                let result = self.svcs[i].probe.take().map(|child| child.result(exit));
                if let Some(result) = result {
                    self.feed(
                        i,
                        Event::Probed(result.map_err(|e| state::Unready(e.to_string()))),
                        Instant::now(),
                    );
                }
            } else if self.watcher.as_mut().is_some_and(|w| w.owns(pid)) {
                let gone = self.watcher.as_mut().and_then(|w| w.reaped(pid, exit));
                self.stop_if_gone(gone);
            } else {
                debug!(pid = pid.as_raw(), "reaped orphan");
            }
        }
        none_left
    }

    /// Service `i`'s process ended: logged, then the fleet decides.
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
        let name = self.svcs[i].spec.name.clone();
        let uptime = self.state(i).proc().map_or(Duration::ZERO, |p| now.duration_since(p.started_at));
        match exit {
            Exit::Code(code) => info!(service = %name, code, uptime_ms = millis(uptime), "exited"),
            Exit::Signal(sig) => {
                info!(service = %name, signal = %signals::name(sig), "killed");
                if sig == libc::SIGKILL {
                    oom::explain_sigkill(&mut self.oom, &name, pid.as_raw());
                }
            }
        }
        let orders = self.fleet.ended(i, exit, now);
        self.carry(orders, now);
    }

    /// fork or exec failed (EAGAIN at a `pids.max` limit, a program that is
    /// gone): a failed run, never by itself the end of the container — the
    /// restart policy, the back-off and the give-up rule apply as to a run
    /// that ended at once with the error's exit code (docs/reference.md,
    /// "When system calls fail").
    pub(super) fn spawn_failed(&mut self, i: usize, e: &Error, now: Instant) {
        warn!(service = %self.svcs[i].spec.name, error = %e, "cannot start");
        self.feed(i, Event::SpawnFailed { code: i32::from(e.exit_code()) }, now);
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
        if !matches!(self.kind(i), Kind::Starting | Kind::Ready | Kind::Stopping) {
            return false;
        }
        info!(service = %self.svcs[i].spec.name, pid = main.as_raw(), "its main process is now the one it named");
        let now = Instant::now();
        self.feed(i, Event::Adopted(Proc { pid: main, started_at: now, adopted: Some(start) }), now);
        true
    }

    /// A watched dependency went away (the watcher said what): stop with 75.
    pub(super) fn stop_if_gone(&mut self, gone: Option<String>) {
        if gone.is_some() {
            let now = Instant::now();
            let orders = self.fleet.begin_stop(fleet::Reason::WatchGone, Some(75), now);
            self.carry(orders, now);
        }
    }
}
