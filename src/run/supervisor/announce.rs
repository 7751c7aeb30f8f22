//! Readiness a service announces itself (docs/reference.md, "Services"):
//! `ready = { fd = N }` (a line on its descriptor N, as s6 has it),
//! `ready = { notify = true }` (systemd's `READY=1`, with `STATUS=`,
//! `STOPPING=1`, `RELOADING=1` and `MAINPID=`) and `ready = { log = … }`
//! (a line of its output, read by output.rs). The loop polls the pipes
//! and sockets; whatever is read here is bounded and never blocks.

use std::ffi::OsString;
use std::os::fd::BorrowedFd;
use std::rc::Rc;

use super::mainpid;
use super::notify::{Notice, NotifySocket};
use super::*;
use crate::process::streak;
use mooring::pattern::Pattern;

/// Most bytes read from a ready pipe per wake-up.
const READY_READ: usize = 512;

/// What the output lines of a service's process `pid` are matched
/// against: its log pattern while that process is the one starting.
pub(super) fn log_pattern<'a>(state: &State, spec: &'a Service, pid: Pid) -> Option<&'a Pattern> {
    let State::Starting { proc, .. } = state else { return None };
    match spec.ready.as_ref().map(|r| &r.how) {
        Some(ReadyHow::Log(pattern)) if proc.pid == pid => Some(pattern),
        _ => None,
    }
}

impl Supervisor<'_> {
    /// After the status file: a notification socket beside it for each
    /// `notify = true` service, named in its `NOTIFY_SOCKET`.
    pub(super) fn open_notify_sockets(&mut self) {
        let Some(dir) = self.status_file.as_ref().and_then(StatusFile::dir).map(Rc::clone) else {
            return self.warn_no_socket("no status directory to put it in");
        };
        for s in &mut self.svcs {
            if !matches!(s.spec.ready.as_ref().map(|r| &r.how), Some(ReadyHow::Notify)) {
                continue;
            }
            let uid = s.cmd.ids.as_ref().map_or(nix::unistd::geteuid().as_raw(), |ids| ids.uid);
            match NotifySocket::open(&dir, &s.spec.name, uid) {
                Ok(socket) => {
                    s.cmd.env.retain(|(k, _)| k != "NOTIFY_SOCKET");
                    s.cmd.env.push((OsString::from("NOTIFY_SOCKET"), socket.path.clone().into_os_string()));
                    s.notify = Some(socket);
                }
                Err(e) => {
                    error!(service = %s.spec.name, error = %e, "no notification socket: it cannot announce readiness")
                }
            }
        }
    }

    fn warn_no_socket(&self, why: &str) {
        for s in self
            .svcs
            .iter()
            .filter(|s| matches!(s.spec.ready.as_ref().map(|r| &r.how), Some(ReadyHow::Notify)))
        {
            error!(service = %s.spec.name, "no notification socket ({why}): it cannot announce readiness");
        }
    }

    /// The descriptors announcements come on, with their services: each
    /// notification socket, and the ready pipe of each starting service.
    pub(super) fn announcement_fds(&self) -> Vec<(usize, BorrowedFd<'_>)> {
        let mut fds = Vec::new();
        for (i, s) in self.svcs.iter().enumerate() {
            if let Some(fd) = s.notify.as_ref().and_then(NotifySocket::poll_fd) {
                fds.push((i, fd));
            }
            if let Some(fd) = s.ready_fd.as_ref().filter(|_| self.kind(i) == Kind::Starting) {
                fds.push((i, std::os::fd::AsFd::as_fd(fd)));
            }
        }
        fds
    }

    /// Something came for service `i`: its notifications, or its ready line.
    pub(super) fn on_announcement(&mut self, i: usize) {
        let (received, error) = self.svcs[i].notify.as_ref().map(NotifySocket::receive).unwrap_or_default();
        self.receive_result(i, error, Instant::now());
        for message in received {
            match message {
                Ok(notices) => notices.into_iter().for_each(|n| self.on_notice(i, n)),
                Err(uid) => {
                    warn!(service = %self.svcs[i].spec.name, uid, "notification from another user ignored")
                }
            }
        }
        self.read_ready_fd(i);
    }

    /// A notify socket whose `recvmsg` fails is left unpolled for a
    /// growing delay (one WARN, one INFO when it works again), never read
    /// in a busy loop (docs/reference.md, "When system calls fail").
    fn receive_result(&mut self, i: usize, error: Option<nix::errno::Errno>, now: Instant) {
        let svc = &mut self.svcs[i];
        let (name, Some(socket)) = (&svc.spec.name, svc.notify.as_mut()) else { return };
        let note = match error {
            Some(e) => socket.failing.fail(e, now),
            None => socket.failing.ok(),
        };
        if let Some(note) = note {
            note.log_for("notify socket: receiving", name);
        }
    }

    /// Notify sockets paused after errors whose retry is due.
    pub(super) fn notify_retries_due(&self, now: Instant) -> Vec<usize> {
        let due = |s: &Svc| s.notify.as_ref().is_some_and(|n| n.failing.failing() && !n.failing.waiting(now));
        self.svcs.iter().enumerate().filter(|(_, s)| due(s)).map(|(i, _)| i).collect()
    }

    /// Why a notify service did not announce: its socket's error, if it failed.
    pub(super) fn silent_why(&self, i: usize) -> String {
        match self.svcs[i].notify.as_ref().and_then(|n| n.failing.errno()) {
            Some(e) => format!("its notify socket could not be read: {}", streak::describe(e)),
            None => "it did not announce it was ready".into(),
        }
    }

    fn on_notice(&mut self, i: usize, notice: Notice) {
        let s = &mut self.svcs[i];
        let name = s.spec.name.clone();
        match notice {
            Notice::Ready => self.feed(i, Event::Announced, Instant::now()),
            Notice::Status(text) => {
                debug!(service = %name, status = %text, "status");
                s.status_text = Some(text);
                self.changed = true;
            }
            Notice::Stopping => info!(service = %name, "says it is stopping"),
            Notice::Reloading => info!(service = %name, "says it is reloading"),
            Notice::MainPid(pid) => self.believe_main_pid(i, pid),
        }
    }

    /// `MAINPID=pid`: kept, with its start time, only when /proc shows a
    /// process the service may name (supervisor/mainpid.rs); else one WARN.
    fn believe_main_pid(&mut self, i: usize, pid: i32) {
        let others: Vec<i32> = self
            .fleet
            .units
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .filter_map(|(_, u)| u.life.state.pid())
            .map(Pid::as_raw)
            .collect();
        let service = self.state(i).pid().map(Pid::as_raw);
        let s = &mut self.svcs[i];
        s.main_pid = None;
        let Some(service) = service else { return };
        let judged = match s.spawned_at_tick {
            Some(service_start) => {
                let service_uid = s.cmd.ids.as_ref().map_or(nix::unistd::geteuid().as_raw(), |ids| ids.uid);
                let claim = mainpid::Claim {
                    service,
                    service_uid,
                    service_start,
                    me: self.me.as_raw(),
                    others: &others,
                };
                mainpid::judge(pid, &claim, &mainpid::read)
            }
            None => Err(mainpid::Refused::UnknownStart(service)),
        };
        match judged {
            Ok(seen) => {
                debug!(service = %s.spec.name, pid, "main pid");
                s.main_pid = Some((Pid::from_raw(pid), seen.stat.start));
            }
            Err(why) => warn!(service = %s.spec.name, pid, why = %why, "MAINPID ignored"),
        }
    }

    /// A starting service's ready pipe: a full line makes it ready; an end
    /// without one leaves it to its timeout.
    fn read_ready_fd(&mut self, i: usize) {
        let s = &mut self.svcs[i];
        let Some(fd) = &s.ready_fd else { return };
        let mut buf = [0u8; READY_READ];
        match nix::unistd::read(fd, &mut buf) {
            Ok(n) if buf[..n].contains(&b'\n') => {
                s.ready_fd = None;
                self.feed(i, Event::Announced, Instant::now());
            }
            Ok(0) => {
                debug!(service = %s.spec.name, "closed its ready fd without a line");
                s.ready_fd = None;
            }
            Ok(_) | Err(_) => {}
        }
    }
}
