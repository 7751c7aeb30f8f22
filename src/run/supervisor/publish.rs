//! status.json as the supervisor publishes it (docs/reference.md,
//! "Services", Status): rewritten atomically on every change, and before
//! anything that follows from a change (a spawn, an answer to a control
//! request), so what a child or a client reads is never behind what led
//! to it.

use super::*;

impl Supervisor<'_> {
    /// Rewrites status.json when something changed since the last write.
    pub(super) fn write_status_if_changed(&mut self) {
        if self.changed {
            self.write_status();
        }
    }

    /// Rewrites status.json (created by the first write).
    pub(super) fn write_status(&mut self) {
        self.changed = false;
        let services = self
            .svcs
            .iter()
            .zip(&self.fleet.units)
            .map(|(s, unit)| ServiceStatus {
                name: s.spec.name.clone(),
                state: unit.kind().as_str().into(),
                pid: unit.life.state.pid().map(Pid::as_raw),
                ready: unit.ready(),
                restarts: unit.life.restarts,
                since: s.since,
                last_exit: unit.life.last_exit.map(Exit::code),
                critical: s.spec.critical || s.spec.main,
                oneshot: s.spec.oneshot,
                main: s.spec.main,
                status_text: s.status_text.clone(),
            })
            .collect();
        let st = Status {
            pid: self.me.as_raw(),
            pid_start: status_file::own_start(),
            started: self.started,
            services,
            control: self.control_state,
        };
        match &self.status_file {
            Some(file) => file.write(&st),
            None => self.status_file = Some(StatusFile::create(&st)),
        }
    }
}
