//! The container's stop: one budget (run/budget.rs), services stopped in
//! reverse dependency order (decide.rs) with their stop_delay, stop signal
//! and stop_timeout, then SIGTERM to everything left, SIGKILL when the
//! budget is spent; and the one-service stop an operator asks for.

use super::*;
use mooring::config::duration::{deadline, later, millis};

impl Supervisor<'_> {
    pub(super) fn begin_shutdown(&mut self, reason: &str, code: Option<u8>) {
        if self.stopping() {
            return;
        }
        self.shutdown.budget.start(self.opts.stop_timeout, reason);
        self.shutdown.decided = code;
        if let Some(w) = self.watcher.as_mut() {
            w.cancel();
        }
        for i in 0..self.svcs.len() {
            if matches!(self.svcs[i].kind(), Kind::Waiting | Kind::Backoff) {
                self.enter(i, Event::Stop, State::Exited);
            }
        }
        self.progress_shutdown(Instant::now());
    }

    /// Stops each service whose dependents have all ended; once none runs,
    /// everything left in the container gets SIGTERM.
    pub(super) fn progress_shutdown(&mut self, now: Instant) {
        if self.shutdown.budget.due(now) {
            self.shutdown.budget.spent();
            return self.kill_everything();
        }
        for i in 0..self.svcs.len() {
            let live = self.svcs[i].kind().is_live();
            if live && decide::may_stop(i, &self.views()) {
                self.stop_service(i, now, false);
            }
        }
        if !self.shutdown.leftovers_signalled && self.svcs.iter().all(|s| s.state.pid().is_none()) {
            self.shutdown.leftovers_signalled = true;
            if !self.reap() && !self.shutdown.budget.killed() {
                reap::signal_everything(self.me, libc::SIGTERM);
            }
        }
    }

    /// Moves a live service through its stop: into Stopping (its stop_delay
    /// planned), its stop signal when that is over, SIGKILL at its own
    /// stop_timeout. `halt`: an operator's stop, after which it stays down.
    pub(super) fn stop_service(&mut self, i: usize, now: Instant, halt: bool) {
        let s = &self.svcs[i];
        let name = s.spec.name.clone();
        let Some(proc) = s.state.proc() else { return };
        if !matches!(s.state, State::Stopping { .. }) {
            let until = s.spec.stop_delay.map_or(now, |d| later(now, d));
            if let Some(d) = s.spec.stop_delay {
                info!(service = %name, delay_ms = millis(d), "stop_delay before signalling");
            }
            let event = if halt { Event::Halt } else { Event::Stop };
            self.enter(i, event, State::Stopping { proc, step: StopStep::Delay(until), halt });
        }
        let s = &mut self.svcs[i];
        let State::Stopping { step, .. } = &mut s.state else { return };
        match *step {
            StopStep::Delay(until) if until <= now => {
                // Past the clock's end there is no SIGKILL deadline at all.
                *step = StopStep::Signalled(s.spec.stop_timeout.and_then(|t| deadline(now, t)));
                match rewrite(&s.spec, s.spec.stop_signal) {
                    Some(sig) => {
                        signal_proc(&proc, sig);
                        info!(service = %name, pid = proc.pid.as_raw(), signal = %signals::name(sig), "stop signal sent");
                    }
                    None => info!(service = %name, "stop signal dropped by its signals table; waiting"),
                }
            }
            StopStep::Signalled(Some(kill_at)) if kill_at <= now => {
                *step = StopStep::Signalled(None);
                warn!(service = %name, "stop_timeout spent: SIGKILL");
                signal_proc(&proc, libc::SIGKILL);
            }
            _ => {}
        }
    }

    /// SIGKILL to every service's group and everything left; again every
    /// REKILL interval until nothing is left.
    pub(super) fn kill_everything(&mut self) {
        self.shutdown.budget.kill_round();
        for proc in self.svcs.iter().filter_map(|s| s.state.proc()) {
            signal_proc(&proc, libc::SIGKILL);
        }
        reap::signal_everything(self.me, libc::SIGKILL);
    }

    /// The exit code, once stopping, every service has ended and no child is left.
    pub(super) fn finished(&mut self) -> Option<u8> {
        if !self.stopping() || self.svcs.iter().any(|s| !s.kind().is_final()) {
            return None;
        }
        if !self.reap() {
            return None;
        }
        let main = self.svcs.iter().find(|s| s.spec.main).and_then(|s| s.last_exit);
        let sd = &self.shutdown;
        Some(decide::exit_code(sd.decided, main, sd.signal_code, |e| self.opts.main_code(e)))
    }
}
