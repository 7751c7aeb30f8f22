//! What wakes the loop and what it does about it: the poll over the
//! signalfd, the services' output pipes and the earliest timer; stop signals,
//! child ends, and every other signal forwarded to each running service
//! through its `signals` rewrite table.

use std::os::fd::AsFd;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::*;
use crate::run::signals::{Meaning, Received};

impl Supervisor<'_> {
    pub(super) fn on_signal(&mut self, sig: Received) {
        let name = signals::name(sig.signo);
        match Meaning::of(sig.signo, self.stopping) {
            Meaning::ChildEnded => self.reap(),
            Meaning::KillNow => {
                info!(signal = %name, from = sig.sender, "second stop signal: SIGKILL now");
                self.kill_everything();
            }
            Meaning::Stop => {
                self.signal_code = Some(128 + sig.signo as u8);
                self.begin_shutdown(&name, None);
            }
            Meaning::Other => self.broadcast(sig.signo, &name),
        }
    }

    /// HUP, USR1, … to every running service's group, through its rewrite table.
    fn broadcast(&self, signo: i32, name: &str) {
        for s in self.svcs.iter().filter(|s| s.state.is_live()) {
            let Some(pid) = s.pid else { continue };
            match rewrite(&s.spec, signo) {
                Some(to) => {
                    let _ = sys::kill(-pid.as_raw(), to);
                    info!(service = %s.spec.name, signal = %name, sent = %signals::name(to), "forwarded");
                }
                None => info!(service = %s.spec.name, signal = %name, "dropped (signals table)"),
            }
        }
    }

    /// The earliest timer, for the poll timeout.
    pub(super) fn next_timer(&self) -> Option<Instant> {
        let mut next = self.deadline;
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n: Instant| n.min(t)));
            }
        };
        for s in &self.svcs {
            match s.state {
                State::Backoff | State::Stopping => consider(s.timer),
                State::Starting => {
                    consider(s.probe.next);
                    consider(s.probe.deadline.filter(|_| s.probe.pending.is_some()));
                }
                State::Ready => consider(s.heartbeat_at),
                _ => {}
            }
        }
        if !self.stopping {
            consider(self.watcher.as_ref().map(|w| w.next));
        }
        next
    }

    /// Waits for a signal, output or the next timer; handles what came.
    pub(super) fn wait_for_events(&mut self, signals: &Signals) {
        let timeout = self.next_timer().map(|t| t.saturating_duration_since(Instant::now()));
        let ready: Vec<(usize, PollFlags)> = {
            let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
            fds.extend(self.sources.iter().map(|s| PollFd::new(s.fd.as_fd(), PollFlags::POLLIN)));
            let timeout = timeout.map_or(PollTimeout::NONE, |d| {
                PollTimeout::try_from(d.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32)
                    .unwrap_or(PollTimeout::MAX)
            });
            match poll(&mut fds, timeout) {
                Ok(0) | Err(_) => return,
                Ok(_) => fds.iter().enumerate().filter_map(|(i, f)| f.revents().map(|r| (i, r))).collect(),
            }
        };
        // Signals first: output, however much, never delays a stop.
        if ready.iter().any(|&(i, r)| i == 0 && !r.is_empty()) {
            match signals.read() {
                Ok(sig) => self.on_signal(sig),
                Err(e) => error!(error = %e, "reading signals failed; going on"),
            }
        }
        let mut closed = Vec::new();
        for &(i, r) in ready.iter().filter(|(i, r)| *i > 0 && !r.is_empty()) {
            let src = &mut self.sources[i - 1];
            let name = &self.svcs[src.service].spec.name;
            if !src.pump(name) {
                closed.push(i - 1);
            }
            let _ = r;
        }
        for i in closed.into_iter().rev() {
            self.sources.remove(i);
        }
    }
}

/// What `signo` becomes for a service: its `signals` table, else itself;
/// `None` when the table drops it.
pub(super) fn rewrite(service: &Service, signo: i32) -> Option<i32> {
    match service.signals.iter().find(|(from, _)| *from == signo) {
        Some((_, to)) => *to,
        None => Some(signo),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_map_drop_or_pass_signals() {
        let mut s = mooring::config::parse(
            std::path::Path::new("/t/init.toml"),
            "[[service]]\nname = \"web\"\ncommand = [\"x\"]\nsignals = { SIGTERM = \"SIGQUIT\", SIGHUP = \"none\" }\n",
            &mut mooring::env::Environment::default(),
        )
        .expect("valid")
        .services;
        let web = s.remove(0);
        assert_eq!(rewrite(&web, libc::SIGTERM), Some(libc::SIGQUIT));
        assert_eq!(rewrite(&web, libc::SIGHUP), None);
        assert_eq!(rewrite(&web, libc::SIGUSR1), Some(libc::SIGUSR1));
    }
}
