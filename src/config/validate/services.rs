//! Validation of `[[service]]` entries, alone and together: unique names,
//! `after` references that exist and form no cycle, one main service.

use super::*;

impl Validator<'_> {
    pub(super) fn service_fields(&mut self, raw: &RawService, name: Option<String>) -> Option<Service> {
        let command = self.command(&raw.name, &raw.command, &raw.shell);
        let user = raw.user.as_ref().map(|u| self.user_spec(u));
        let env = self.env_table(&raw.env);
        let workdir = raw.workdir.as_ref().map(|w| self.abs_path(w));
        let after = self.after(raw, name.as_deref());
        let ready = raw
            .ready
            .as_ref()
            .map(|r| self.ready(r.get_ref(), name.as_deref().unwrap_or(raw.name.get_ref())));
        let semaphore = raw.semaphore.as_ref().map(|s| self.abs_path(s));
        let heartbeat = self.duration_or(&raw.heartbeat, Some(DEFAULT_HEARTBEAT));
        let restart = raw.restart.as_ref().map(|r| self.restart(r));
        let restart_delay = self.duration_or(&raw.restart_delay, Some(DEFAULT_RESTART_DELAY));
        let max_restarts = self.max_restarts(&raw.max_restarts);
        let stop_signal = raw.stop_signal.as_ref().map_or(Some(libc::SIGTERM), |s| self.signal(s));
        let stop_delay = self.duration_or(&raw.stop_delay, None);
        let stop_timeout = self.duration_or(&raw.stop_timeout, None);
        let signals = self.rewrites(&raw.signals);
        let output = raw.output.as_ref().map(|o| self.output(o));
        let reload_signal = raw.reload_signal.as_ref().map(|s| self.signal(s));
        let oneshot = self.oneshot(raw);
        Some(Service {
            name: name?,
            command: command?,
            user: user.map_or(Some(None), |u| u.map(Some))?,
            env: env?,
            workdir: workdir.map_or(Some(None), |w| w.map(Some))?,
            after: after?,
            oneshot,
            ready: ready.map_or(Some(None), |r| r.map(Some))?,
            semaphore: semaphore.map_or(Some(None), |s| s.map(Some))?,
            heartbeat: heartbeat?.unwrap_or(DEFAULT_HEARTBEAT),
            restart: restart.map_or(Some(Restart::Never), |r| r)?,
            restart_delay: restart_delay?.unwrap_or(DEFAULT_RESTART_DELAY),
            max_restarts: max_restarts?,
            critical: flag(&raw.critical, true),
            main: raw.main.as_ref().is_some_and(|m| *m.get_ref()),
            stop_signal: stop_signal?,
            stop_delay: stop_delay?,
            stop_timeout: stop_timeout?,
            signals: signals?,
            output: output.map_or(Some(Output::Inherit), |o| o)?,
            reload_signal: reload_signal.map_or(Some(None), |s| s.map(Some))?,
        })
    }

    fn restart(&mut self, r: &Str) -> Option<Restart> {
        self.parsed(r, |t| match t {
            "never" => Ok(Restart::Never),
            "on-failure" => Ok(Restart::OnFailure),
            "always" => Ok(Restart::Always),
            _ => Err(BadValue::Restart(t.into())),
        })
    }

    fn max_restarts(&mut self, n: &Option<Spanned<i64>>) -> Option<u32> {
        match n {
            None => Some(DEFAULT_MAX_RESTARTS),
            Some(n) => u32::try_from(*n.get_ref())
                .map_err(|_| {
                    self.problem(span_of(n), format!("max_restarts {} must be 0 or more", n.get_ref()))
                })
                .ok(),
        }
    }

    fn output(&mut self, o: &Str) -> Option<Output> {
        self.parsed(o, |t| match t {
            "inherit" => Ok(Output::Inherit),
            "prefix" => Ok(Output::Prefix),
            _ => Err(BadValue::Output(t.into())),
        })
    }

    /// `oneshot`; a oneshot ends by design, so it cannot be the service
    /// whose end decides the container's exit code.
    fn oneshot(&mut self, raw: &RawService) -> bool {
        let oneshot = flag(&raw.oneshot, false);
        if let (Some(main), true) = (&raw.main, oneshot)
            && *main.get_ref()
        {
            self.problem(span_of(main), "a oneshot service cannot be the main service".into());
        }
        oneshot
    }

    fn duration_or(&mut self, n: &Option<Num>, default: Option<Duration>) -> Option<Option<Duration>> {
        match n {
            None => Some(default),
            Some(n) => self.duration(n),
        }
    }

    /// `signals = { SIGTERM = "SIGQUIT", SIGHUP = "none" }`
    fn rewrites(&mut self, table: &Option<StrTable>) -> Option<Vec<(i32, Option<i32>)>> {
        let mut out = Vec::new();
        let mut ok = true;
        for (from, to) in table.clone().unwrap_or_default() {
            let from_sig =
                parse_signal(from.get_ref()).map_err(|m| self.problem(span_of(&from), m.to_string())).ok();
            let to_sig = match self.text(&to) {
                Some(t) if t == "none" => Some(None),
                Some(t) => {
                    parse_signal(&t).map(Some).map_err(|m| self.problem(span_of(&to), m.to_string())).ok()
                }
                None => None,
            };
            match (from_sig, to_sig) {
                (Some(f), Some(t)) => out.push((f, t)),
                _ => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// `after`'s names, each kept with its position for the checks across
    /// services; the service is recorded even when another of its fields
    /// is wrong, so that one bad value does not hide (or fake) a reference
    /// problem elsewhere.
    fn after(&mut self, raw: &RawService, name: Option<&str>) -> Option<Vec<String>> {
        let items: Vec<(Option<String>, usize)> =
            raw.after.iter().flatten().map(|a| (self.text(a), span_of(a).start)).collect();
        if let Some(name) = name {
            let after = items.iter().filter_map(|(t, at)| t.clone().map(|t| (t, *at))).collect();
            let main = raw.main.as_ref().is_some_and(|m| *m.get_ref());
            let (at, off) = (span_of(&raw.name).start, self.scope == Scope::Off);
            self.named.push(Named { kind: "service", name: name.to_string(), at, after, main, off });
        }
        items.into_iter().map(|(t, _)| t).collect()
    }

    /// Checks across services and tasks (every entry whose name is valid,
    /// see `after`), each problem at the line that causes it; marks the
    /// main service when all `given` services are valid. A service with a
    /// bad value is still a service to `after` and `notify`, and while one
    /// is left out no main is guessed: only the bad value is reported, not
    /// what follows from leaving it out. A service switched off is still a
    /// name to refer to; what refers to it leaves it out (docs/reference.md,
    /// "One-off work").
    pub fn services_together(&mut self, config: &mut Config, given: usize) {
        let named = std::mem::take(&mut self.named);
        for (i, n) in named.iter().enumerate() {
            if let Some(first) = named[..i].iter().find(|f| f.name == n.name) {
                let message = format!("{} name {:?} is already used by a {}", n.kind, n.name, first.kind);
                self.problem_at(n.at, message);
            }
        }
        let services_named: Vec<&Named> = named.iter().filter(|n| n.kind == "service").collect();
        for s in &services_named {
            for (a, at) in &s.after {
                if !services_named.iter().any(|n| &n.name == a) {
                    let message =
                        format!("service {:?}: `after` names {a:?}, which is not a service", s.name);
                    self.problem_at(*at, message);
                }
            }
        }
        if let Some((cycle, at)) = find_cycle(&services_named) {
            self.problem_at(at, format!("`after` forms a cycle: {}", cycle.join(" -> ")));
        }
        let names: Vec<&str> = services_named.iter().map(|n| n.name.as_str()).collect();
        self.notified_services_exist(&names);
        self.served_parts_exist(&named);
        let on: Vec<&Named> = services_named.into_iter().filter(|n| !n.off).collect();
        config.service_names = on.iter().map(|n| n.name.clone()).collect();
        config.task_names = named.iter().filter(|n| n.kind == "task").map(|n| n.name.clone()).collect();
        let given = given.saturating_sub(self.off.iter().filter(|(_, o)| o.table == "[[service]]").count());
        self.main_service(&mut config.services, &on, given);
        leave_out_switched_off(config);
    }

    /// The one main service among those switched on: the one marked, or
    /// (when all `given` are valid) the first that is not a oneshot.
    fn main_service(&mut self, services: &mut [Service], on: &[&Named], given: usize) {
        let mains: Vec<&&Named> = on.iter().filter(|s| s.main).collect();
        if let [_, second, ..] = mains.as_slice() {
            let names: Vec<&str> = mains.iter().map(|s| s.name.as_str()).collect();
            self.problem_at(second.at, format!("more than one main service: {}", names.join(", ")));
        } else if mains.is_empty()
            && services.len() == given
            && let Some(first) = services.iter_mut().find(|s| !s.oneshot)
        {
            first.main = true;
        }
    }

    /// Every name a `for` gives is a service or a task (switched on or not).
    fn served_parts_exist(&mut self, named: &[Named]) {
        for (name, at) in std::mem::take(&mut self.served) {
            if !named.iter().any(|n| n.name == name) {
                self.problem_at(at, format!("`for` names {name:?}, which is neither a service nor a task"));
            }
        }
    }
}

/// A service switched off counts as absent to those that name it
/// (docs/reference.md, "One-off work"): it is nobody's `after` (its
/// dependents start without it) and nobody's `notify`.
fn leave_out_switched_off(config: &mut Config) {
    let on = config.service_names.clone();
    for s in &mut config.services {
        s.after.retain(|a| on.contains(a));
    }
    for t in &mut config.templates {
        t.notify.retain(|n| on.contains(n));
    }
}

/// A service or task as far as the checks across entries need it: its
/// name's position, and `after`'s names with theirs.
pub struct Named {
    kind: &'static str,
    name: String,
    at: usize,
    after: Vec<(String, usize)>,
    main: bool,
    /// Switched off by `enabled`.
    off: bool,
}

impl Validator<'_> {
    /// Records a task's name for the duplicate check.
    pub(super) fn task_named(&mut self, name: &str, at: usize) {
        let (kind, name, off) = ("task", name.to_string(), self.scope == Scope::Off);
        self.named.push(Named { kind, name, at, after: Vec::new(), main: false, off });
    }
}

/// A dependency cycle through `after`: the names along it, and the
/// position of the `after` entry that closes it.
fn find_cycle(services: &[&Named]) -> Option<(Vec<String>, usize)> {
    // 0 = unvisited, 1 = on the current path, 2 = done
    let mut state = vec![0u8; services.len()];
    let mut path = Vec::new();
    fn visit(
        i: usize,
        services: &[&Named],
        state: &mut [u8],
        path: &mut Vec<usize>,
    ) -> Option<(Vec<String>, usize)> {
        state[i] = 1;
        path.push(i);
        for (a, at) in &services[i].after {
            let Some(j) = services.iter().position(|s| &s.name == a) else { continue };
            if state[j] == 1 {
                let from = path.iter().position(|&p| p == j).unwrap_or(0);
                let mut names: Vec<_> = path[from..].iter().map(|&p| services[p].name.clone()).collect();
                names.push(services[j].name.clone());
                return Some((names, *at));
            }
            if state[j] == 0
                && let Some(c) = visit(j, services, state, path)
            {
                return Some(c);
            }
        }
        path.pop();
        state[i] = 2;
        None
    }
    (0..services.len())
        .find_map(|i| if state[i] == 0 { visit(i, services, &mut state, &mut path) } else { None })
}

impl Validator<'_> {
    /// Every service a template's `notify` names exists (`services`: the
    /// names of every service, valid or not).
    fn notified_services_exist(&mut self, services: &[&str]) {
        for (name, at) in std::mem::take(&mut self.notified) {
            if !services.contains(&name.as_str()) {
                self.problem_at(at, format!("`notify` names {name:?}, which is not a service"));
            }
        }
    }
}

/// Descriptors a service may announce readiness on: not its stdio.
const READY_FDS: std::ops::RangeInclusive<i64> = 3..=255;

impl Validator<'_> {
    /// A service's `ready`: a probe of the `[[wait]]` kinds, or an
    /// announcement, `fd = N`, `notify = true` or `log = "REGEX"`
    /// (docs/reference.md, "Services").
    #[inline(never)] // outlined, the binary is smaller (size budget: docs/benchmarks.md)
    fn ready(&mut self, raw: &RawWait, service: &str) -> Option<Ready> {
        let (fd, notify, log) = (raw.fd.as_ref(), raw.notify.as_ref(), raw.log.as_ref());
        let at = fd.map(span_of).or_else(|| notify.map(span_of)).or_else(|| log.map(span_of));
        let Some(at) = at else {
            let wait = self.wait(raw, false)?;
            return Some(Ready { how: ReadyHow::Probe(wait.target), timeout: wait.timeout });
        };
        let probes = [raw.file.is_some(), raw.tcp.is_some(), raw.unix.is_some(), raw.http.is_some()];
        let announced =
            usize::from(fd.is_some()) + usize::from(notify.is_some()) + usize::from(log.is_some());
        if probes.contains(&true) || raw.command.is_some() || announced > 1 {
            self.problem(at, "give exactly one of file, tcp, unix, http, command, fd, notify or log".into());
            return None;
        }
        let timeout = raw.timeout.as_ref().map(|t| self.duration(t));
        let how = match (fd, notify, log) {
            (Some(n), ..) if READY_FDS.contains(n.get_ref()) => ReadyHow::Fd(*n.get_ref() as i32),
            (Some(n), ..) => {
                let why = "`fd` must be from 3 to 255 (0, 1 and 2 are stdin, stdout and stderr)";
                self.problem(span_of(n), why.into());
                return None;
            }
            (.., Some(log)) => ReadyHow::Log(self.log_pattern(log, service)?),
            (_, Some(b), _) if *b.get_ref() => ReadyHow::Notify,
            _ => {
                self.problem(at, "`notify = false` announces nothing: leave it out".into());
                return None;
            }
        };
        Some(Ready { how, timeout: timeout.unwrap_or(Some(Some(DEFAULT_WAIT_TIMEOUT)))? })
    }

    /// `log = "REGEX"`, compiled here: a bad one stops the config loading.
    #[inline(never)] // outlined, the binary is smaller (size budget: docs/benchmarks.md)
    fn log_pattern(&mut self, log: &Str, service: &str) -> Option<crate::pattern::Pattern> {
        let text = self.text(log)?;
        let why = |e: crate::pattern::Error| {
            format!("service {service:?}: ready.log: {} at {} in {text:?}", e.what, e.at)
        };
        crate::pattern::Pattern::new(&text).map_err(|e| self.problem(span_of(log), why(e))).ok()
    }
}
