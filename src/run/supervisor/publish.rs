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

    /// Rewrites status.json.
    pub(super) fn write_status(&mut self) {
        self.changed = false;
        let st = self.status();
        if let Some(file) = &self.status_file {
            file.write(&st);
        }
    }

    /// Creates status.json, and the control socket beside it before the
    /// first write: a client that finds the file finds the socket
    /// listening, and `control` tells it whether there is one
    /// (app/control.rs).
    pub(super) fn create_status_and_control(&mut self) {
        let mut control: Option<control::Control> = None;
        let file = StatusFile::create(|dir| {
            // A place whose write then failed: its socket goes with it.
            if let Some(bound) = control.take() {
                bound.close();
            }
            control = control::Control::open(dir);
            self.control_state = Some(control.is_some());
            self.status()
        });
        if file.dir().is_none() {
            // No place took the status: no client can find a socket either.
            if let Some(bound) = control.take() {
                bound.close();
            }
        }
        self.control_state = Some(control.is_some());
        self.control = control;
        self.status_file = Some(file);
    }

    fn status(&self) -> Status {
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
        Status {
            pid: self.me.as_raw(),
            pid_start: status_file::own_start(),
            started: self.started,
            services,
            control: self.control_state,
        }
    }
}
