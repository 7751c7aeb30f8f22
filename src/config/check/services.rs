//! Validation of `[[service]]` entries, alone and together: unique names,
//! `after` references that exist and form no cycle, one main service.

use super::*;

impl Check<'_> {
    pub fn service(&mut self, raw: &RawService) -> Option<Service> {
        let name = self.parsed(&raw.name, parse_service_name);
        let command = self.command(&raw.name, &raw.command, &raw.shell);
        let user = raw.user.as_ref().map(|u| self.user_spec(u));
        let env = self.env_table(&raw.env);
        let workdir = raw.workdir.as_ref().map(|w| self.abs_path(w));
        let after = raw.after.as_deref().map(|a| self.texts(a)).unwrap_or(Some(Vec::new()));
        let ready = raw.ready.as_ref().map(|r| self.wait(r.get_ref(), false));
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
        })
    }

    fn restart(&mut self, r: &Str) -> Option<Restart> {
        self.parsed(r, |t| match t {
            "never" => Ok(Restart::Never),
            "on-failure" => Ok(Restart::OnFailure),
            "always" => Ok(Restart::Always),
            _ => Err(format!("invalid restart {t:?} (never, on-failure or always)")),
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
            _ => Err(format!("invalid output {t:?} (inherit or prefix)")),
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
            let from_sig = parse_signal(from.get_ref()).map_err(|m| self.problem(span_of(&from), m)).ok();
            let to_sig = match self.text(&to) {
                Some(t) if t == "none" => Some(None),
                Some(t) => parse_signal(&t).map(Some).map_err(|m| self.problem(span_of(&to), m)).ok(),
                None => None,
            };
            match (from_sig, to_sig) {
                (Some(f), Some(t)) => out.push((f, t)),
                _ => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// Checks across services and tasks; marks the main service.
    pub fn services_together(&mut self, services: &mut [Service], tasks: &[Task]) {
        let mut seen: Vec<(&str, &str)> = Vec::new();
        let names = services
            .iter()
            .map(|s| (s.name.as_str(), "service"))
            .chain(tasks.iter().map(|t| (t.name.as_str(), "task")));
        let mut duplicates = Vec::new();
        for (name, kind) in names {
            match seen.iter().find(|(n, _)| *n == name) {
                Some((_, first)) => {
                    duplicates.push(format!("{kind} name {name:?} is already used by a {first}"))
                }
                None => seen.push((name, kind)),
            }
        }
        for d in duplicates {
            self.problem_at(self.text.len(), d);
        }
        let index: Index = services.iter().enumerate().map(|(i, s)| (s.name.as_str(), i)).collect();
        let mut unknown = Vec::new();
        for s in services.iter() {
            for a in &s.after {
                if !index.contains_key(a.as_str()) {
                    unknown
                        .push(format!("service {:?}: `after` names {a:?}, which is not a service", s.name));
                }
            }
        }
        for u in unknown {
            self.problem_at(self.text.len(), u);
        }
        if let Some(cycle) = find_cycle(services, &index) {
            self.problem_at(self.text.len(), format!("`after` forms a cycle: {}", cycle.join(" -> ")));
        }
        let mains: Vec<_> = services.iter().filter(|s| s.main).map(|s| s.name.clone()).collect();
        if mains.len() > 1 {
            self.problem_at(self.text.len(), format!("more than one main service: {}", mains.join(", ")));
        } else if mains.is_empty()
            && let Some(first) = services.iter_mut().find(|s| !s.oneshot)
        {
            first.main = true;
        }
    }
}

/// Service name → position (a handful of services: a linear scan is enough).
struct Index<'a>(Vec<(&'a str, usize)>);

impl<'a> FromIterator<(&'a str, usize)> for Index<'a> {
    fn from_iter<I: IntoIterator<Item = (&'a str, usize)>>(iter: I) -> Self {
        Index(iter.into_iter().collect())
    }
}

impl Index<'_> {
    fn get(&self, name: &str) -> Option<&usize> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, i)| i)
    }

    fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// A dependency cycle through `after`, as the names along it.
fn find_cycle(services: &[Service], index: &Index) -> Option<Vec<String>> {
    // 0 = unvisited, 1 = on the current path, 2 = done
    let mut state = vec![0u8; services.len()];
    let mut path = Vec::new();
    fn visit(
        i: usize,
        services: &[Service],
        index: &Index,
        state: &mut [u8],
        path: &mut Vec<usize>,
    ) -> Option<Vec<String>> {
        state[i] = 1;
        path.push(i);
        for a in &services[i].after {
            let Some(&j) = index.get(a.as_str()) else { continue };
            if state[j] == 1 {
                let from = path.iter().position(|&p| p == j).unwrap_or(0);
                let mut names: Vec<_> = path[from..].iter().map(|&p| services[p].name.clone()).collect();
                names.push(services[j].name.clone());
                return Some(names);
            }
            if state[j] == 0
                && let Some(c) = visit(j, services, index, state, path)
            {
                return Some(c);
            }
        }
        path.pop();
        state[i] = 2;
        None
    }
    (0..services.len())
        .find_map(|i| if state[i] == 0 { visit(i, services, index, &mut state, &mut path) } else { None })
}
