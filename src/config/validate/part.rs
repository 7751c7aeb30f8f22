//! The parts a run may leave aside (docs/reference.md, "One-off work"):
//! each `[[service]]`, `[[task]]`, `[[template]]`, `[[volume]]` and
//! `[[wait]]` is validated in its own scope — the services and tasks it
//! serves, or off when its `enabled` renders false — so that every problem
//! says which runs it stops (config/scope.rs).

use super::*;
use crate::config::scope::parse_switch;

impl Validator<'_> {
    /// Validates one part with `f` in `scope`, after its `enabled`: `None`
    /// when it is switched off or has a problem.
    fn part<T>(
        &mut self,
        scope: Scope,
        enabled: &Option<Switch>,
        (table, name): (&'static str, Option<String>),
        f: impl FnOnce(&mut Self) -> Option<T>,
    ) -> Option<T> {
        self.scope = scope;
        let on = self.switch(enabled, table, name);
        let part = f(self);
        self.scope = Scope::Always;
        part.filter(|_| on == Some(true))
    }

    /// `enabled` (absent: on); off, the part's scope becomes `Off` and it is
    /// recorded in `off`. `None`: a problem (a bad boolean, a variable not set).
    fn switch(
        &mut self,
        enabled: &Option<Switch>,
        table: &'static str,
        name: Option<String>,
    ) -> Option<bool> {
        let Some(e) = enabled else { return Some(true) };
        let (on, why) = match e.get_ref() {
            BoolOrStr::Bool(b) => (*b, format!("enabled = {b}")),
            BoolOrStr::Str(s) => {
                let text = self.text(&Spanned::new(span_of(e), s.clone()))?;
                let what = name.as_ref().map_or(table.to_string(), |n| format!("{table} {n:?}"));
                let on = parse_switch(&text).map_err(|m| self.problem(span_of(e), format!("{what}: {m}")));
                (on.ok()?, format!("enabled = {s:?} renders {text:?}"))
            }
        };
        if !on {
            self.switched_off(span_of(e).start, table, name, why);
        }
        Some(on)
    }

    /// Records a part switched off by what is at `offset`, and validates
    /// the rest of it in the scope `Off`.
    pub(super) fn switched_off(
        &mut self,
        offset: usize,
        table: &'static str,
        name: Option<String>,
        why: String,
    ) {
        let (line, _) = template::line_col(self.text, offset);
        self.off.push((offset, Off { table, name, at: format!("{}:{line}", self.path.display()), why }));
        self.scope = Scope::Off;
    }

    /// The parts switched off, in file order.
    pub fn take_off(&mut self) -> Vec<Off> {
        let mut off = std::mem::take(&mut self.off);
        off.sort_by_key(|(at, _)| *at);
        off.into_iter().map(|(_, o)| o).collect()
    }

    /// `for`: the names as written (not templates, so which runs a part
    /// serves is known before anything renders), kept for the check that
    /// each names a service or task.
    fn serves(&mut self, list: &Option<Vec<Str>>, at: usize) -> (Scope, Option<Vec<String>>) {
        let Some(list) = list else { return (Scope::Always, None) };
        if list.is_empty() {
            self.problem_at(at, "`for = []` serves nothing: name services or tasks, or leave it out".into());
            return (Scope::Always, Some(Vec::new()));
        }
        self.served.extend(list.iter().map(|n| (n.get_ref().clone(), span_of(n).start)));
        let names: Vec<String> = list.iter().map(|n| n.get_ref().clone()).collect();
        (Scope::For(names.clone()), Some(names))
    }

    pub fn template(&mut self, raw: &RawTemplate, dir: &Path) -> Option<Template> {
        let (scope, serves) = self.serves(&raw.serves, span_of(&raw.src).start);
        let t = self.part(scope, &raw.enabled, ("[[template]]", None), |c| c.template_fields(raw, dir));
        t.map(|t| Template { serves, ..t })
    }

    pub fn volume(&mut self, raw: &RawVolume) -> Option<Volume> {
        self.part(Scope::Always, &raw.enabled, ("[[volume]]", None), |c| c.volume_fields(raw))
    }

    /// A `[[wait]]` (`wait` is also a service's `ready` probe).
    pub fn wait_entry(&mut self, raw: &RawWait) -> Option<Wait> {
        let targets = [&raw.file, &raw.tcp, &raw.unix, &raw.http].into_iter().flatten();
        let at = targets.chain(raw.command.iter().flatten()).map(|s| span_of(s).start).next();
        let (scope, serves) = self.serves(&raw.serves, at.unwrap_or(0));
        let w = self.part(scope, &raw.enabled, ("[[wait]]", None), |c| c.wait(raw, true));
        w.map(|w| Wait { serves, ..w })
    }

    pub fn service(&mut self, raw: &RawService) -> Option<Service> {
        let name = self.parsed(&raw.name, parse_service_name);
        let scope = name.clone().map_or(Scope::Always, |n| Scope::For(vec![n]));
        self.part(scope, &raw.enabled, ("[[service]]", name.clone()), |c| c.service_fields(raw, name))
    }

    pub fn task(&mut self, raw: &RawTask) -> Option<Task> {
        let name = self.parsed(&raw.name, parse_service_name);
        let scope = name.clone().map_or(Scope::Always, |n| Scope::For(vec![n]));
        self.part(scope, &raw.enabled, ("[[task]]", name.clone()), |c| c.task_fields(raw, name))
    }

    fn task_fields(&mut self, raw: &RawTask, name: Option<String>) -> Option<Task> {
        if let Some(name) = &name {
            self.task_named(name, span_of(&raw.name).start);
        }
        let command = self.command(&raw.name, &raw.command, &raw.shell);
        let user = raw.user.as_ref().map(|u| self.user_spec(u));
        let env = self.env_table(&raw.env);
        let workdir = raw.workdir.as_ref().map(|w| self.abs_path(w));
        Some(Task {
            name: name?,
            command: command?,
            user: user.map_or(Some(None), |u| u.map(Some))?,
            env: env?,
            workdir: workdir.map_or(Some(None), |w| w.map(Some))?,
            waits: flag(&raw.waits, true),
        })
    }
}
