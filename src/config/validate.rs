//! Validation of init.toml's raw values into typed ones. `Validator` renders each
//! string as a template and parses it, recording every problem at its
//! file:line:col instead of stopping at the first.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use toml::de::DeValue;

use super::duration::parse_duration;
use super::raw::{
    BoolOrStr, Fields, IntOrStr, Num, RawService, RawShell, RawTask, RawTemplate, RawUser, RawVolume,
    RawWait, Read, Str, StrTable, Switch, strings_in_file_order,
};
use super::scope::{Problem, Scope};
use super::*;
use crate::template::{self, Lines};
use parse::{parse_http, parse_service_name, parse_tcp};
pub use parse::{parse_signal, parse_target, parse_user_spec, valid_var_name};

pub struct Validator<'a> {
    path: &'a Path,
    text: &'a str,
    env: Environment,
    /// Each problem's offset, text, scope and whether it is a variable not set.
    problems: Vec<(usize, String, Scope, bool)>,
    /// The scope of the part being validated (config/scope.rs).
    scope: Scope,
    /// `[[wait]]`s switched off by an empty target, one line each.
    pub skipped: Vec<String>,
    /// Parts switched off by `enabled` (or an empty `[user]` name), with their offsets.
    off: Vec<(usize, Off)>,
    /// Services and tasks by name, for the checks across them.
    named: Vec<services::Named>,
    /// The services templates name in `notify`, with their positions.
    notified: Vec<(String, usize)>,
    /// The services and tasks templates and waits name in `for`, with their positions.
    served: Vec<(String, usize)>,
}

impl<'a> Validator<'a> {
    pub fn new(path: &'a Path, text: &'a str) -> Self {
        let (problems, skipped, named, off) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (env, notified, served) = (Environment::default(), Vec::new(), Vec::new());
        let scope = Scope::Always;
        Validator { path, text, env, problems, scope, skipped, off, named, notified, served }
    }

    pub fn set_env(&mut self, env: &Environment) {
        self.env = env.clone();
    }

    pub fn problem(&mut self, span: Range<usize>, message: String) {
        self.problem_at(span.start, message);
    }

    /// Records a problem at byte `offset`, in the scope of the part being
    /// validated; its line and column are counted in `finish`, in one pass
    /// over the text for all problems.
    fn problem_at(&mut self, offset: usize, message: String) {
        self.record(offset, message, false);
    }

    fn record(&mut self, offset: usize, message: String, unset: bool) {
        self.problems.push((offset.min(self.text.len()), message, self.scope.clone(), unset));
    }

    pub fn toml_error(&mut self, e: &toml::de::Error) {
        let message = e.message().trim().replace('\n', " ");
        self.problem(e.span().unwrap_or(0..0), message);
    }

    /// Every problem, in file order, as `path:line:col: message`.
    pub fn finish(mut self) -> Vec<Problem> {
        self.problems.sort_by_key(|(at, ..)| *at);
        let mut lines = Lines::new(self.text);
        let path = self.path.display();
        let located = self.problems.into_iter().map(|(at, message, scope, unset)| {
            let (line, col) = lines.at(floor_char_boundary(self.text, at));
            Problem { text: format!("{path}:{line}:{col}: {message}"), scope, unset }
        });
        located.collect()
    }

    /// Reads a single table into its raw struct.
    pub fn entry<R: Read>(&mut self, value: &Spanned<DeValue<'_>>) -> Option<R> {
        let mut fields = match Fields::of(value, R::WHAT) {
            Ok(f) => f,
            Err((span, msg)) => {
                self.problem(span, msg);
                return None;
            }
        };
        let raw = R::read(&mut fields);
        for (span, msg) in fields.finish() {
            self.problem(span, msg);
        }
        raw
    }

    /// Reads each element of an array of tables (`[[name]]`) and validates it with `f`.
    pub fn array<R: Read, T>(
        &mut self,
        value: &Spanned<DeValue<'_>>,
        name: &str,
        mut f: impl FnMut(&mut Self, R) -> Option<T>,
    ) -> Vec<T> {
        let Some(items) = value.get_ref().as_array() else {
            self.problem(span_of(value), format!("`{name}` must be an array of tables: write [[{name}]]"));
            return Vec::new();
        };
        items.iter().filter_map(|item| self.entry(item).and_then(|raw| f(self, raw))).collect()
    }

    /// A table of string values, in file order.
    pub fn table_of_strings(&mut self, value: &Spanned<DeValue<'_>>, name: &str) -> Option<StrTable> {
        let table = value.get_ref().as_table().and_then(strings_in_file_order);
        if table.is_none() {
            self.problem(span_of(value), format!("[{name}] must be a table of strings"));
        }
        table
    }

    /// `[env]`: each value is a template over what is set so far; an entry
    /// only sets a variable the environment does not already have. The
    /// values render against `env` itself, lent to `self` for the loop, not
    /// a copy per entry: 10k entries stay linear.
    pub fn apply_env(&mut self, table: &[(Str, Str)], env: &mut Environment) {
        std::mem::swap(&mut self.env, env);
        for (key, value) in table {
            if !valid_var_name(key.get_ref()) {
                self.problem(span_of(key), format!("invalid variable name {:?}", key.get_ref()));
                continue;
            }
            if let Some(v) = self.text(value)
                && !self.env.contains(key.get_ref())
            {
                self.env.set(key.get_ref().clone(), v);
            }
        }
        std::mem::swap(&mut self.env, env);
    }

    /// A string value rendered as a template.
    pub fn text(&mut self, s: &Str) -> Option<String> {
        match template::render(s.get_ref(), &|n| self.env.get_str(n)) {
            Ok(r) => Some(r.text),
            Err(missing) => {
                let start = span_of(s).start + 1; // after the opening quote
                for m in missing {
                    let offset = start + m.offset;
                    self.record(offset, m.reason(), true);
                }
                None
            }
        }
    }

    fn texts(&mut self, list: &[Str]) -> Option<Vec<String>> {
        let rendered: Vec<_> = list.iter().map(|s| self.text(s)).collect();
        rendered.into_iter().collect()
    }

    fn parsed<T>(&mut self, s: &Str, parse: impl FnOnce(&str) -> Result<T, BadValue>) -> Option<T> {
        let text = self.text(s)?;
        parse(&text).map_err(|m| self.problem(span_of(s), m.to_string())).ok()
    }

    pub fn duration(&mut self, n: &Num) -> Option<Option<Duration>> {
        match n.get_ref() {
            IntOrStr::Int(0) => Some(None),
            IntOrStr::Int(i) => {
                self.problem(
                    span_of(n),
                    format!("duration {i} needs a unit: \"{i}s\", \"{i}ms\" or \"{i}m\""),
                );
                None
            }
            IntOrStr::Str(s) => {
                let s = Spanned::new(span_of(n), s.clone());
                self.parsed(&s, parse_duration)
            }
        }
    }

    fn mode(&mut self, s: &Str) -> Option<u32> {
        self.parsed(s, |t| {
            let ok = (3..=4).contains(&t.len()) && t.bytes().all(|b| (b'0'..=b'7').contains(&b));
            let bad = || BadValue::Mode(t.into());
            if ok { u32::from_str_radix(t, 8).map_err(|_| bad()) } else { Err(bad()) }
        })
    }

    fn abs_path(&mut self, s: &Str) -> Option<PathBuf> {
        self.parsed(s, absolute)
    }

    fn signal(&mut self, s: &Str) -> Option<i32> {
        self.parsed(s, parse_signal)
    }

    fn user_spec(&mut self, s: &Str) -> Option<UserSpec> {
        self.parsed(s, parse_user_spec)
    }

    fn template_fields(&mut self, raw: &RawTemplate, dir: &Path) -> Option<Template> {
        let src = self.text(&raw.src).map(|s| dir.join(s));
        let dest = self.abs_path(&raw.dest);
        let mode = raw.mode.as_ref().map(|m| self.mode(m));
        let owner = raw.owner.as_ref().map(|o| self.user_spec(o));
        let notify: Vec<(Option<String>, usize)> =
            raw.notify.iter().flatten().map(|n| (self.text(n), span_of(n).start)).collect();
        self.notified.extend(notify.iter().filter_map(|(n, at)| n.clone().map(|n| (n, *at))));
        let notify = notify.into_iter().map(|(n, _)| n).collect::<Option<Vec<String>>>();
        Some(Template {
            src: src?,
            dest: dest?,
            mode: mode.map_or(Some(None), |m| m.map(Some))?,
            owner: owner.map_or(Some(None), |o| o.map(Some))?,
            overwrite: flag(&raw.overwrite, true),
            notify: notify?,
            serves: None,
        })
    }

    fn volume_fields(&mut self, raw: &RawVolume) -> Option<Volume> {
        let path = self.abs_path(&raw.path);
        if let Some(p) = &path
            && let Some(reason) = refused_volume(p)
        {
            self.problem(span_of(&raw.path), reason);
        }
        let owner = raw.owner.as_ref().map(|o| self.user_spec(o));
        let mode = raw.mode.as_ref().map(|m| self.mode(m));
        let seed = raw.seed.as_ref().map(|s| self.abs_path(s));
        Some(Volume {
            path: path.filter(|p| refused_volume(p).is_none())?,
            owner: owner.map_or(Some(None), |o| o.map(Some))?,
            mode: mode.map_or(Some(None), |m| m.map(Some))?,
            create: flag(&raw.create, true),
            recursive: flag(&raw.recursive, true),
            one_filesystem: flag(&raw.one_filesystem, true),
            seed: seed.map_or(Some(None), |s| s.map(Some))?,
        })
    }

    /// A `[[wait]]` (`watch` allowed) or a `ready` probe.
    pub fn wait(&mut self, raw: &RawWait, watch_allowed: bool) -> Option<Wait> {
        let kinds = [
            raw.file.is_some(),
            raw.tcp.is_some(),
            raw.unix.is_some(),
            raw.http.is_some(),
            raw.command.is_some(),
        ];
        let at = [&raw.file, &raw.tcp, &raw.unix, &raw.http].into_iter().flatten().map(span_of).next();
        let at = at.or_else(|| raw.command.as_ref().and_then(|c| c.first()).map(span_of)).unwrap_or(0..0);
        if kinds.iter().filter(|k| **k).count() != 1 {
            self.problem(at, "give exactly one of file, tcp, unix, http or command".into());
            return None;
        }
        if let (Some(w), false) = (&raw.watch, watch_allowed) {
            self.problem(span_of(w), "`watch` belongs to [[wait]], not to a ready probe".into());
        }
        let timeout = raw.timeout.as_ref().map(|t| self.duration(t));
        let target = match self.target(raw, watch_allowed)? {
            Some(target) => target,
            None => {
                let argv = self.texts(raw.command.as_deref().unwrap_or_default())?;
                if argv.is_empty() {
                    self.problem(at, "`command` must not be empty".into());
                    return None;
                }
                Target::Command(argv)
            }
        };
        let timeout = timeout.unwrap_or(Some(Some(DEFAULT_WAIT_TIMEOUT)))?;
        let watch = raw.watch.as_ref().is_some_and(|w| *w.get_ref());
        Some(Wait { target, timeout, watch, serves: None })
    }

    /// The `file`, `tcp`, `unix` or `http` target (`Some(None)`: a command).
    /// A `[[wait]]` whose target renders empty is switched off and recorded
    /// in `skipped` (docs/reference.md, "Waits"): `None` with no problem.
    fn target(&mut self, raw: &RawWait, is_wait: bool) -> Option<Option<Target>> {
        let fields = [("file", &raw.file), ("tcp", &raw.tcp), ("unix", &raw.unix), ("http", &raw.http)];
        let Some((kind, field)) = fields.into_iter().find_map(|(k, f)| f.as_ref().map(|f| (k, f))) else {
            return Some(None);
        };
        let text = self.text(field)?;
        if text.is_empty() && is_wait {
            if self.scope == Scope::Off {
                return None;
            }
            let (line, _) = template::line_col(self.text, span_of(field).start);
            self.skipped.push(format!(
                "{}:{line}: [[wait]] skipped: {kind} = {:?} renders empty",
                self.path.display(),
                field.get_ref()
            ));
            return None;
        }
        let target = match kind {
            "file" => absolute(&text).map(Target::File),
            "unix" => absolute(&text).map(Target::Unix),
            "tcp" => parse_tcp(&text),
            _ => parse_http(&text),
        };
        target.map(Some).map_err(|m| self.problem(span_of(field), m.to_string())).ok()
    }

    fn command(
        &mut self,
        name: &Str,
        command: &Option<Vec<Str>>,
        shell: &Option<Str>,
    ) -> Option<Vec<String>> {
        match (command, shell) {
            (Some(argv), None) if !argv.is_empty() => self.texts(argv),
            // `$0` is the entry's name, so arguments `init run NAME ARGS`
            // appends are `$1`, `$2`... (docs/reference.md, "Command line").
            (None, Some(sh)) => Some(vec!["/bin/sh".into(), "-c".into(), self.text(sh)?, self.text(name)?]),
            _ => {
                self.problem(
                    span_of(name),
                    format!(
                        "{:?} needs either `command` (a non-empty array of strings) or `shell`",
                        name.get_ref()
                    ),
                );
                None
            }
        }
    }

    fn env_table(&mut self, table: &Option<StrTable>) -> Option<Vec<(String, String)>> {
        let mut out = Vec::new();
        let mut ok = true;
        for (k, v) in table.clone().unwrap_or_default() {
            if !valid_var_name(k.get_ref()) {
                self.problem(span_of(&k), format!("invalid variable name {:?}", k.get_ref()));
                ok = false;
            } else if let Some(v) = self.text(&v) {
                out.push((k.into_inner(), v));
            } else {
                ok = false;
            }
        }
        ok.then_some(out)
    }
}

/// A boolean field's value, or its default.
pub fn flag(b: &Option<Spanned<bool>>, default: bool) -> bool {
    b.as_ref().map_or(default, |b| *b.get_ref())
}

fn absolute(t: &str) -> Result<PathBuf, BadValue> {
    if t.starts_with('/') { Ok(PathBuf::from(t)) } else { Err(BadValue::Relative(t.into())) }
}

fn floor_char_boundary(s: &str, mut at: usize) -> usize {
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// `/` and system directories are never volumes: a recursive chown there
/// would break the image.
fn refused_volume(p: &Path) -> Option<String> {
    crate::sysdirs::is_system_dir(p).map(|why| format!("{} cannot be a volume: {why}", p.display()))
}

mod parse;
mod part;
mod services;
mod user;
