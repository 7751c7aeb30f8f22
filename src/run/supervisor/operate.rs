//! What an operator's request does (docs/reference.md, "Runtime control"):
//! a service stopped with `init stop` stays down (not restarted, its
//! semaphore removed) and never stops the container, even when critical;
//! `init start` brings it back through Waiting, so its `after` still holds;
//! `init restart` stops it and starts it again the same way; `init signal`
//! reaches its process group. Each request is answered once its service
//! got where it asked. What each does to a service is life.rs's.

use super::control::{Request, Want};
use super::reload::ReloadError;
use super::*;
use mooring::error::Chain;

impl Supervisor<'_> {
    /// Reads the control socket and acts on each complete request.
    pub(super) fn on_control(&mut self) {
        let Some(control) = self.control.as_mut() else { return };
        for (k, request) in control.read() {
            match request {
                Ok(request) => self.act(k, request),
                Err(why) => self.reply(k, 2, &why.to_string()),
            }
        }
    }

    fn act(&mut self, k: usize, request: Request) {
        if let Request::Reload(only) = &request {
            let only = only.clone();
            return self.act_reload(k, only.as_deref());
        }
        let (Request::Start(name) | Request::Stop(name) | Request::Restart(name) | Request::Signal(name, _)) =
            &request
        else {
            return;
        };
        let Some(i) = self.svcs.iter().position(|s| &s.spec.name == name) else {
            return self.reply(k, 64, &format!("no service named {name:?}"));
        };
        if self.stopping() {
            return self.reply(k, 1, "the container is stopping");
        }
        info!(service = %name, request = %request, "operator request");
        let now = Instant::now();
        let want = match request {
            Request::Stop(_) => {
                self.feed(i, Event::Halt, now);
                Want::Stopped
            }
            Request::Restart(_) if self.kind(i).is_live() => {
                self.feed(i, Event::Restart, now);
                Want::Ready
            }
            Request::Start(_) | Request::Restart(_) => {
                self.feed(i, Event::Resume, now);
                Want::Ready
            }
            Request::Signal(_, sig) => return self.send_signal(k, i, sig),
            Request::Reload(_) => return,
        };
        if let Some(control) = self.control.as_mut() {
            control.wait_for(k, i, want);
        }
    }

    fn send_signal(&mut self, k: usize, i: usize, sig: i32) {
        let s = &self.svcs[i];
        match self.state(i).proc() {
            Some(proc) => {
                let pid = proc.pid;
                signal_proc(&proc, sig);
                info!(service = %s.spec.name, pid = pid.as_raw(), signal = %signals::name(sig), "signalled by an operator");
                let done = format!("sent {} to {} (pid {})", signals::name(sig), s.spec.name, pid);
                self.reply(k, 0, &done);
            }
            None => {
                let why = format!("{} is not running ({})", s.spec.name, self.kind(i).as_str());
                self.reply(k, 1, &why);
            }
        }
    }

    /// Answers every request whose service got where it waits for.
    pub(super) fn answer_requests(&mut self) {
        let Some(control) = self.control.as_ref() else { return };
        for (k, i, want) in control.waiting() {
            let unit = &self.fleet.units[i];
            let (kind, name) = (unit.kind(), unit.name.clone());
            match want {
                Want::Stopped if kind == Kind::Stopped => self.reply(k, 0, &format!("{name} stopped")),
                Want::Ready if unit.ready() => self.reply(k, 0, &format!("{name} {}", kind.as_str())),
                Want::Ready if kind.is_final() => {
                    let how = unit.life.last_exit.map_or(kind.as_str().to_string(), |e| match e {
                        Exit::Code(c) => format!("{} (exit code {c})", kind.as_str()),
                        Exit::Signal(sig) => format!("{} (killed by {})", kind.as_str(), signals::name(sig)),
                    });
                    self.reply(k, 1, &format!("{name} {how}"));
                }
                _ => {}
            }
        }
        if let Some(control) = self.control.as_mut() {
            control.sweep();
        }
    }

    /// `init reload [SERVICE]`: answered at once with what it did.
    fn act_reload(&mut self, k: usize, only: Option<&str>) {
        if let Some(name) = only
            && !self.svcs.iter().any(|s| s.spec.name == name)
        {
            return self.reply(k, 64, &format!("no service named {name:?}"));
        }
        match self.reload(only) {
            Ok(done) => self.reply(k, 0, &done),
            Err(why) => self.reply(k, 1, &Chain(&why).to_string()),
        }
    }

    /// Re-renders the notifying templates and tells each service whose
    /// files changed, once: its reload_signal, or a restart when it has
    /// none. A render that fails changes nothing and tells nobody (an ERROR).
    pub(super) fn reload(&mut self, only: Option<&str>) -> Result<String, ReloadError> {
        let Some(reloader) = self.reloader.as_ref() else { return Err(ReloadError::NothingNotifies) };
        let told = reloader.reload(only);
        let told = told.inspect_err(|e| error!(why = %Chain(e), "reload: nothing written, nobody told"))?;
        let mut done = Vec::new();
        for name in told {
            let Some(i) = self.svcs.iter().position(|s| s.spec.name == name) else { continue };
            done.push(self.tell(i));
        }
        Ok(if done.is_empty() { "nothing changed".into() } else { format!("reloaded: {}", done.join(", ")) })
    }

    /// Tells a service its files changed: its reload_signal to its group,
    /// or a restart; one not running reads them when it starts.
    fn tell(&mut self, i: usize) -> String {
        let name = self.svcs[i].spec.name.clone();
        let Some(proc) = self.state(i).proc().filter(|_| self.kind(i) != Kind::Stopping) else {
            return format!("{name} (not running)");
        };
        match self.svcs[i].spec.reload_signal {
            Some(sig) => {
                signal_proc(&proc, sig);
                info!(service = %name, signal = %signals::name(sig), "files changed: reload signal sent");
                format!("{name} ({})", signals::name(sig))
            }
            None => {
                info!(service = %name, "files changed: restarting it (no reload_signal)");
                self.feed(i, Event::Restart, Instant::now());
                format!("{name} (restarted)")
            }
        }
    }

    /// Answers request `k`, status.json first: a client that runs `init
    /// status` after the answer sees what it asked for.
    fn reply(&mut self, k: usize, code: u8, message: &str) {
        self.write_status_if_changed();
        if let Some(control) = self.control.as_mut() {
            control.answer(k, code, message);
        }
    }
}
