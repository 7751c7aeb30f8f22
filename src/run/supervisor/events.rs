//! What wakes the loop and what it does about it: one poll over tagged
//! slots (the signalfd, the control socket, announcements, the reloader,
//! the services' output pipes) and the earliest timer; stop signals, child
//! ends, and every other signal forwarded to each running service through
//! its `signals` rewrite table.

use std::os::fd::AsFd;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::announce;
use super::*;
use crate::outlet;
use crate::process::signals::{Meaning, Received};
use crate::process::streak;

/// What a descriptor in the poll set is for: each slot carries its tag,
/// so a ready slot is dispatched by what it is, never by its position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Signals,
    Control,
    /// Service `i`'s notification socket or ready pipe.
    Announce(usize),
    Reload,
    /// The `k`th output pipe.
    Output(usize),
}

impl Supervisor<'_> {
    pub(super) fn on_signal(&mut self, sig: Received) {
        let name = signals::name(sig.signo);
        let now = Instant::now();
        match Meaning::of(sig.signo, self.stopping()) {
            Meaning::ChildEnded => {
                self.reap();
            }
            Meaning::KillNow => {
                info!(signal = %name, from = sig.sender, "second stop signal: SIGKILL now");
                let orders = self.fleet.kill_now(now);
                self.carry(orders, now);
            }
            Meaning::Stop => {
                let orders = self.fleet.stop_signal(sig.signo, now);
                self.carry(orders, now);
            }
            Meaning::Other => self.broadcast(sig.signo, &name),
        }
    }

    /// HUP, USR1, … to every running service's group, through its rewrite table.
    fn broadcast(&self, signo: i32, name: &str) {
        for (s, unit) in self.svcs.iter().zip(&self.fleet.units) {
            let Some(proc) = unit.life.state.proc() else { continue };
            match rewrite(&s.spec, signo) {
                Some(to) => {
                    signal_proc(&proc, to);
                    info!(service = %s.spec.name, signal = %name, sent = %signals::name(to), "forwarded");
                }
                None => info!(service = %s.spec.name, signal = %name, "dropped (signals table)"),
            }
        }
    }

    /// The earliest timer, for the poll timeout: the fleet's (each state's
    /// own and the stop budget's), the watches', and the retries of what
    /// failed (status file, control socket, notify sockets, output pipes,
    /// and init's own output waiting for its stream, src/outlet.rs).
    pub(super) fn next_timer(&self) -> Option<Instant> {
        let watch = self.watcher.as_ref().filter(|_| !self.stopping()).map(|w| w.next);
        let reload = self.reloader.as_ref().and_then(Reloader::next);
        let status = self.status_file.as_ref().and_then(StatusFile::retry_at);
        let control = self.control.as_ref().and_then(control::Control::resume_at);
        let retry = outlet::pending().then(|| Instant::now() + outlet::RETRY);
        let notify = self.svcs.iter().filter_map(|s| s.notify.as_ref()?.failing.retry_at()).min();
        let pipes = self.sources.iter().filter_map(|s| s.streak.retry_at()).min();
        [self.fleet.next_timer(), watch, reload, status, control, retry, notify, pipes]
            .into_iter()
            .flatten()
            .min()
    }

    /// Waits for a signal, a control request, an announcement, output or
    /// the next timer; handles what came. Signals first: output, however
    /// much, never delays a stop.
    pub(super) fn wait_for_events(&mut self, signals: &Signals) {
        outlet::flush();
        let now = Instant::now();
        let wake = [self.next_timer(), signals.resume_at()].into_iter().flatten().min();
        let timeout = wake.map(|t| t.saturating_duration_since(now));
        let timeout = timeout.map_or(PollTimeout::NONE, |d| {
            PollTimeout::try_from(d.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32)
                .unwrap_or(PollTimeout::MAX)
        });
        let ready = match self.poll(signals, timeout) {
            Ok(ready) => {
                streak::log(self.polling.ok(), "waiting for events (poll)");
                ready
            }
            Err(e) => return self.poll_failed(e, signals, wake),
        };
        if ready.contains(&Slot::Signals)
            && let Some(sig) = signals.read()
        {
            self.on_signal(sig);
        }
        // A paused listener is tried again when its time comes, not polled.
        let resume = self.control.as_ref().and_then(control::Control::resume_at);
        if ready.contains(&Slot::Control) || resume.is_some_and(|t| t <= Instant::now()) {
            self.on_control();
        }
        let mut announced = self.notify_retries_due(Instant::now());
        announced.extend(ready.iter().filter_map(|s| match s {
            Slot::Announce(i) => Some(*i),
            _ => None,
        }));
        announced.dedup();
        for i in announced {
            self.on_announcement(i);
        }
        if ready.contains(&Slot::Reload)
            && let Some(r) = self.reloader.as_mut()
        {
            r.on_readable(Instant::now());
        }
        self.pump_ready_output(&ready);
    }

    /// The poll failed: logged once, then tried again after a growing
    /// delay; signals are taken meanwhile with sigtimedwait, and the
    /// timers run, so a persistent error is no busy loop.
    fn poll_failed(&mut self, e: nix::errno::Errno, signals: &Signals, wake: Option<Instant>) {
        streak::log(self.polling.fail(e, Instant::now()), "waiting for events (poll)");
        let until = [self.polling.retry_at(), wake].into_iter().flatten().min();
        if let Some(sig) = signals.wait(until) {
            self.on_signal(sig);
        }
    }

    /// One poll over the signalfd, the control socket, the announcements,
    /// the reloader and the output pipes; the tags of the slots that are
    /// ready (none at the timeout). A source whose reads fail waits out its
    /// delay unpolled: its slot asks for nothing.
    fn poll(&self, signals: &Signals, timeout: PollTimeout) -> Result<Vec<Slot>, nix::errno::Errno> {
        let now = Instant::now();
        let asks = |paused: bool| if paused { PollFlags::empty() } else { PollFlags::POLLIN };
        let mut slots = vec![(Slot::Signals, signals.as_fd(), asks(signals.resume_at().is_some()))];
        if let Some(c) = &self.control {
            slots.extend(c.fds().into_iter().map(|fd| (Slot::Control, fd, PollFlags::POLLIN)));
        }
        let announce = self.announcement_fds().into_iter();
        slots.extend(announce.map(|(i, fd)| (Slot::Announce(i), fd, PollFlags::POLLIN)));
        slots.extend(
            self.reloader.as_ref().and_then(Reloader::fd).map(|fd| (Slot::Reload, fd, PollFlags::POLLIN)),
        );
        let outputs = self.sources.iter().enumerate();
        slots.extend(outputs.map(|(k, s)| (Slot::Output(k), s.fd.as_fd(), asks(s.streak.waiting(now)))));
        let mut fds: Vec<PollFd> = slots.iter().map(|&(_, fd, flags)| PollFd::new(fd, flags)).collect();
        if poll(&mut fds, timeout)? == 0 {
            return Ok(Vec::new());
        }
        let seen = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
        Ok(slots.iter().zip(&fds).filter(|(_, fd)| seen(fd)).map(|(slot, _)| slot.0).collect())
    }

    /// The output pipes that are ready, and those whose failed reads are
    /// due to be tried again.
    fn pump_ready_output(&mut self, ready: &[Slot]) {
        let mut pipes: Vec<usize> = ready
            .iter()
            .filter_map(|s| match s {
                Slot::Output(k) => Some(*k),
                _ => None,
            })
            .collect();
        let now = Instant::now();
        let due =
            self.sources.iter().enumerate().filter(|(_, s)| s.streak.failing() && !s.streak.waiting(now));
        pipes.extend(due.map(|(k, _)| k).filter(|k| !pipes.contains(k)).collect::<Vec<_>>());
        pipes.sort_unstable();
        self.pump_output(pipes);
    }

    /// Passes on what the services' output pipes hold (a line that matches
    /// a starting service's log pattern makes it ready); closed pipes go.
    fn pump_output(&mut self, ready: Vec<usize>) {
        let mut closed = Vec::new();
        for src in ready {
            let source = &mut self.sources[src];
            let i = source.service;
            let spec = &self.svcs[i].spec;
            let pattern = announce::log_pattern(&self.fleet.units[i].life.state, spec, source.pid);
            let pumped = source.pump(&spec.name, pattern);
            if pumped.ready {
                self.feed(i, Event::Announced, Instant::now());
            }
            if !pumped.open {
                closed.push(src);
            }
        }
        for i in closed.into_iter().rev() {
            self.sources.remove(i);
        }
    }
}

/// What `signo` becomes for a service: its `signals` table, else itself;
/// `None` when the table drops it.
pub(in crate::run::supervisor) fn rewrite(service: &Service, signo: i32) -> Option<i32> {
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
