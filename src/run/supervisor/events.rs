//! What wakes the loop and what it does about it: the poll over the
//! signalfd, the services' output pipes and the earliest timer; stop signals,
//! child ends, and every other signal forwarded to each running service
//! through its `signals` rewrite table.

use std::os::fd::AsFd;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::*;
use crate::outlet;
use crate::run::signals::{Meaning, Received};
use crate::run::streak;

impl Supervisor<'_> {
    pub(super) fn on_signal(&mut self, sig: Received) {
        let name = signals::name(sig.signo);
        match Meaning::of(sig.signo, self.stopping()) {
            Meaning::ChildEnded => {
                self.reap();
            }
            Meaning::KillNow => {
                info!(signal = %name, from = sig.sender, "second stop signal: SIGKILL now");
                self.kill_everything();
            }
            Meaning::Stop => {
                self.shutdown.signal_code = Some(128 + sig.signo as u8);
                self.begin_shutdown(&name, None);
            }
            Meaning::Other => self.broadcast(sig.signo, &name),
        }
    }

    /// HUP, USR1, … to every running service's group, through its rewrite table.
    fn broadcast(&self, signo: i32, name: &str) {
        for s in &self.svcs {
            let Some(proc) = s.state.proc() else { continue };
            match rewrite(&s.spec, signo) {
                Some(to) => {
                    signal_proc(&proc, to);
                    info!(service = %s.spec.name, signal = %name, sent = %signals::name(to), "forwarded");
                }
                None => info!(service = %s.spec.name, signal = %name, "dropped (signals table)"),
            }
        }
    }

    /// The earliest timer, for the poll timeout: each state's own, the
    /// stop budget's and the watches', and a retry while init's own output
    /// waits for its stream (src/outlet.rs).
    pub(super) fn next_timer(&self) -> Option<Instant> {
        let timers = self.svcs.iter().flat_map(|s| match &s.state {
            State::Backoff { restart_at } => [Some(*restart_at), None],
            State::Stopping { step: StopStep::Delay(t), .. } => [Some(*t), None],
            State::Stopping { step: StopStep::Signalled(kill_at), .. } => [*kill_at, None],
            // The deadline counts for a probe under way and for an announcement.
            State::Starting { probe, .. } => [probe.next, probe.deadline.filter(|_| probe.next.is_none())],
            State::Ready { heartbeat_at, .. } => [*heartbeat_at, None],
            _ => [None, None],
        });
        let watch = self.watcher.as_ref().filter(|_| !self.stopping()).map(|w| w.next);
        let reload = self.reloader.as_ref().and_then(Reloader::next);
        let status = self.status_file.as_ref().and_then(StatusFile::retry_at);
        let control = self.control.as_ref().and_then(control::Control::resume_at);
        let retry = outlet::pending().then(|| Instant::now() + outlet::RETRY);
        let notify = self.svcs.iter().filter_map(|s| s.notify.as_ref()?.failing.retry_at()).min();
        let pipes = self.sources.iter().filter_map(|s| s.streak.retry_at()).min();
        let all = [self.shutdown.budget.deadline(), watch, reload, status, control, retry, notify, pipes];
        timers.chain(all).flatten().min()
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
        let control = self.control.as_ref().map_or(0, |c| c.fds().len());
        let mut announcers: Vec<Option<usize>> =
            self.announcement_fds().into_iter().map(|(i, _)| Some(i)).collect();
        // The reloader's inotify descriptor rides along as one more, with no service.
        if self.reloader.as_ref().and_then(Reloader::fd).is_some() {
            announcers.push(None);
        }
        let ready = match self.poll(signals, timeout) {
            Ok(ready) => {
                streak::log(self.polling.ok(), "waiting for events (poll)");
                ready
            }
            Err(e) => return self.poll_failed(e, signals, wake),
        };
        if ready.first() == Some(&0)
            && let Some(sig) = signals.read()
        {
            self.on_signal(sig);
        }
        // A paused listener is tried again when its time comes, not polled.
        let resume = self.control.as_ref().and_then(control::Control::resume_at);
        if ready.iter().any(|&i| (1..=control).contains(&i)) || resume.is_some_and(|t| t <= Instant::now()) {
            self.on_control();
        }
        for i in self.notify_retries_due(Instant::now()) {
            self.on_announcement(i);
        }
        for k in ready.iter().filter_map(|&i| i.checked_sub(1 + control)).filter(|&k| k < announcers.len()) {
            match announcers[k] {
                Some(i) => self.on_announcement(i),
                None => {
                    if let Some(r) = self.reloader.as_mut() {
                        r.on_readable(Instant::now());
                    }
                }
            }
        }
        let first_source = 1 + control + announcers.len();
        let mut pipes: Vec<usize> = ready.into_iter().filter_map(|i| i.checked_sub(first_source)).collect();
        // Pipes whose reads failed are read again when their time comes.
        let now = Instant::now();
        let due =
            self.sources.iter().enumerate().filter(|(_, s)| s.streak.failing() && !s.streak.waiting(now));
        pipes.extend(due.map(|(k, _)| k).filter(|k| !pipes.contains(k)).collect::<Vec<_>>());
        pipes.sort_unstable();
        self.pump_output(pipes);
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
    /// the reloader and the output pipes, in that order; the indices of the
    /// descriptors that are ready (none at the timeout). A source whose
    /// reads fail waits out its delay unpolled: its slot asks for nothing.
    fn poll(&self, signals: &Signals, timeout: PollTimeout) -> Result<Vec<usize>, nix::errno::Errno> {
        let now = Instant::now();
        let asks = |paused: bool| if paused { PollFlags::empty() } else { PollFlags::POLLIN };
        let mut fds = vec![PollFd::new(signals.as_fd(), asks(signals.resume_at().is_some()))];
        if let Some(c) = &self.control {
            fds.extend(c.fds().into_iter().map(|fd| PollFd::new(fd, PollFlags::POLLIN)));
        }
        fds.extend(self.announcement_fds().into_iter().map(|(_, fd)| PollFd::new(fd, PollFlags::POLLIN)));
        fds.extend(
            self.reloader.as_ref().and_then(Reloader::fd).map(|fd| PollFd::new(fd, PollFlags::POLLIN)),
        );
        fds.extend(self.sources.iter().map(|s| PollFd::new(s.fd.as_fd(), asks(s.streak.waiting(now)))));
        match poll(&mut fds, timeout)? {
            0 => Ok(Vec::new()),
            _ => Ok((0..fds.len()).filter(|&i| fds[i].revents().is_some_and(|r| !r.is_empty())).collect()),
        }
    }

    /// Passes on what the services' output pipes hold (a line that matches
    /// a starting service's log pattern makes it ready); closed pipes go.
    fn pump_output(&mut self, ready: Vec<usize>) {
        let mut closed = Vec::new();
        for src in ready {
            let source = &mut self.sources[src];
            let (i, s) = (source.service, &self.svcs[source.service]);
            let pumped = source.pump(&s.spec.name, s.log_pattern(source.pid));
            if pumped.ready {
                self.became_ready(i, Instant::now());
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
