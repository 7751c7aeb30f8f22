//! What the shell does for the container's stop (the decisions are
//! fleet.rs's): SIGKILL to every service and everything left, and the
//! exit code once every service has ended and no child is left.

use super::*;

impl Supervisor<'_> {
    /// SIGKILL to every service's group and everything left; again every
    /// REKILL interval (process/budget.rs) until nothing is left.
    pub(super) fn kill_everything(&mut self) {
        for proc in self.fleet.units.iter().filter_map(|u| u.life.state.proc()) {
            signal_proc(&proc, libc::SIGKILL);
        }
        reap::signal_everything(self.me, libc::SIGKILL);
    }

    /// The exit code, once stopping, every service has ended and no child is left.
    pub(super) fn finished(&mut self) -> Option<u8> {
        if !self.fleet.all_ended() || !self.reap() {
            return None;
        }
        Some(self.fleet.exit_code())
    }
}
