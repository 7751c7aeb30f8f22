//! init.toml: parsed as TOML first (positions stay right, values cannot
//! inject TOML), each table read on its own into `raw` structs so that one
//! bad entry does not hide the next, then its string values rendered
//! as templates and validated into a typed `Config` — collecting every
//! problem with its file:line:col before reporting any.

pub mod adhoc;
pub mod duration;
mod error;
mod names;
mod raw;
pub mod scope;
mod validate;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use toml::de::DeTable;

pub use duration::{Limit, MAX_DURATION, parse_duration};
pub use error::{BadValue, Error};
pub use scope::{Problem, Runs, Scope};
pub use validate::{parse_signal, parse_target, parse_user_spec, valid_var_name};

use crate::env::Environment;
use validate::Validator;

/// Where init looks for its config when none is given.
pub const DEFAULT_CONFIG: &str = "/opt/config/init.toml";
/// Defaults, in one place (docs/reference.md).
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(300);
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(5);
pub const DEFAULT_RESTART_DELAY: Duration = Duration::from_millis(100);
pub const DEFAULT_MAX_RESTARTS: u32 = 10;

/// A user spec as written (`name`, `uid`, `name:group`, `uid:gid`, ...);
/// resolved against /etc/passwd when it is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    pub user: String,
    pub group: Option<String>,
}

impl std::fmt::Display for UserSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.group {
            Some(g) => write!(f, "{}:{g}", self.user),
            None => f.write_str(&self.user),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct RuntimeUser {
    pub name: String,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub home: Option<PathBuf>,
    pub shell: Option<PathBuf>,
    pub groups: Vec<String>,
    pub no_new_privileges: bool,
}

#[derive(Debug, Clone)]
pub struct Template {
    /// Absolute: relative sources are taken from the config's directory.
    pub src: PathBuf,
    pub dest: PathBuf,
    pub mode: Option<u32>,
    pub owner: Option<UserSpec>,
    pub overwrite: bool,
    /// Services told when this file's rendered content changes at a reload
    /// (docs/reference.md, "Live reload").
    pub notify: Vec<String>,
    /// `for`: the services and tasks it is rendered for (`None`: every one).
    pub serves: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct Volume {
    pub path: PathBuf,
    pub owner: Option<UserSpec>,
    pub mode: Option<u32>,
    pub create: bool,
    pub recursive: bool,
    pub one_filesystem: bool,
    pub seed: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    File(PathBuf),
    Tcp { host: String, port: u16 },
    Unix(PathBuf),
    Http(String),
    Command(Vec<String>),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::File(p) => write!(f, "file:{}", p.display()),
            Target::Tcp { host, port } => write!(f, "tcp:{host}:{port}"),
            Target::Unix(p) => write!(f, "unix:{}", p.display()),
            Target::Http(url) => f.write_str(url),
            Target::Command(argv) => write!(f, "command:{}", argv.join(" ")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Wait {
    pub target: Target,
    /// `None`: no limit.
    pub timeout: Option<Duration>,
    pub watch: bool,
    /// `for`: the services and tasks that wait for it (`None`: every one).
    pub serves: Option<Vec<String>>,
}

/// A service's `ready` (docs/reference.md, "Services"): a probe of the
/// `[[wait]]` kinds, or an announcement the service makes itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Ready {
    pub how: ReadyHow,
    /// `None`: no limit.
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ReadyHow {
    /// Checked by init with back-off, as a wait is.
    Probe(Target),
    /// The s6 protocol: the service writes a line to its descriptor N.
    Fd(i32),
    /// The systemd protocol: `READY=1` on `NOTIFY_SOCKET`.
    Notify,
    /// A line of its stdout or stderr that matches.
    Log(crate::pattern::Pattern),
}

impl std::fmt::Display for ReadyHow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadyHow::Probe(target) => write!(f, "{target}"),
            ReadyHow::Fd(n) => write!(f, "it writes a line to fd {n}"),
            ReadyHow::Notify => write!(f, "it sends READY=1 to NOTIFY_SOCKET"),
            ReadyHow::Log(p) => write!(f, "a line of its output matches {:?}", p.as_str()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    Never,
    OnFailure,
    Always,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Inherit,
    Prefix,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub command: Vec<String>,
    pub user: Option<UserSpec>,
    pub env: Vec<(String, String)>,
    pub workdir: Option<PathBuf>,
    pub after: Vec<String>,
    pub oneshot: bool,
    pub ready: Option<Ready>,
    pub semaphore: Option<PathBuf>,
    pub heartbeat: Duration,
    pub restart: Restart,
    pub restart_delay: Duration,
    pub max_restarts: u32,
    pub critical: bool,
    pub main: bool,
    pub stop_signal: i32,
    pub stop_delay: Option<Duration>,
    pub stop_timeout: Option<Duration>,
    /// Signal rewrites: received → sent (`None`: dropped).
    pub signals: Vec<(i32, Option<i32>)>,
    pub output: Output,
    /// Sent when a template that notifies it changed; `None`: it is restarted.
    pub reload_signal: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct Task {
    pub name: String,
    pub command: Vec<String>,
    pub user: Option<UserSpec>,
    pub env: Vec<(String, String)>,
    pub workdir: Option<PathBuf>,
    /// `waits = false`: it runs without the configured waits.
    pub waits: bool,
}

/// A part switched off by `enabled`, or a `[user]` whose name renders
/// empty (docs/reference.md, "One-off work").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Off {
    /// `[[service]]`, `[[task]]`, `[[template]]`, `[[volume]]`, `[[wait]]` or `[user]`.
    pub table: &'static str,
    /// A service's or task's name.
    pub name: Option<String>,
    /// `path:line`.
    pub at: String,
    /// What rendered to off: `enabled = "<<SSH:-false>>" renders "false"`.
    pub why: String,
}

impl std::fmt::Display for Off {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.name.as_ref().map(|n| format!(" {n:?}")).unwrap_or_default();
        write!(f, "{}: {}{name} switched off: {}", self.at, self.table, self.why)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Config {
    pub path: PathBuf,
    pub user: Option<RuntimeUser>,
    /// `[shell] workdir`: where `init shell` starts without `--workdir`
    /// (else the user's home; docs/reference.md, "One-off work").
    pub shell_workdir: Option<PathBuf>,
    pub templates: Vec<Template>,
    pub volumes: Vec<Volume>,
    pub waits: Vec<Wait>,
    /// `[[wait]]`s whose target rendered empty: one line each, for the log.
    pub skipped_waits: Vec<String>,
    pub services: Vec<Service>,
    pub tasks: Vec<Task>,
    /// Every service switched on (or not known to be off), valid or not:
    /// boot runs them, so their templates are rendered and waits awaited.
    pub service_names: Vec<String>,
    /// Every task by name, valid or not, switched on or off: a first
    /// argument naming one runs it (docs/reference.md, "Command line").
    pub task_names: Vec<String>,
    /// The parts switched off, for the log and `init check`.
    pub off: Vec<Off>,
    /// The template sources' text as read when the config was loaded (to
    /// learn which secrets they need), so each is read once.
    pub sources: std::collections::BTreeMap<PathBuf, String>,
}

/// The config file to load: an explicit path must exist; the default one may
/// be absent, and init then behaves as a plain PID 1.
pub fn locate(explicit: Option<&Path>) -> Result<Option<PathBuf>, Error> {
    match explicit {
        Some(path) if path.is_file() => Ok(Some(path.to_path_buf())),
        Some(path) => Err(Error::NotFound(path.to_path_buf())),
        None => {
            let default = Path::new(DEFAULT_CONFIG);
            Ok(default.is_file().then(|| default.to_path_buf()))
        }
    }
}

/// The largest init.toml read (a config is a few kilobytes).
pub const MAX_CONFIG_BYTES: usize = 4 << 20;

/// init.toml as read, not yet parsed: its placeholder names are needed
/// before it is parsed, to know which `_FILE` secrets to read (docs/reference.md,
/// "Secrets").
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    text: String,
}

impl Source {
    /// Reads `path`: bounded and never a FIFO, like every read of init's.
    pub fn read(path: &Path) -> Result<Source, Error> {
        let fail = |source| Error::Read { path: path.into(), source };
        let bytes =
            crate::safe_fs::root().and_then(|r| r.read_input(path, MAX_CONFIG_BYTES)).map_err(fail)?;
        let text = String::from_utf8(bytes)
            .map_err(|e| Error::NotUtf8 { path: path.into(), at: e.utf8_error().valid_up_to() })?;
        Ok(Source { path: path.to_path_buf(), text })
    }

    pub fn from_text(path: &Path, text: &str) -> Source {
        Source { path: path.to_path_buf(), text: text.to_string() }
    }

    /// Every variable a string value refers to (`[env]` values, commands,
    /// waits, ...), whatever the table; a TOML error is left to `parse`.
    pub fn placeholders(&self) -> std::collections::BTreeSet<String> {
        names::in_strings(&self.text)
    }

    /// Validates the text. `env` is init's environment after secrets; the
    /// config's `[env]` entries are added to it (the operator's values win).
    pub fn parse(&self, env: &mut Environment) -> Result<Config, crate::error::Error> {
        parse(&self.path, &self.text, env)
    }

    /// As `parse`, keeping what is valid beside the problems (see `parse_all`).
    pub fn parse_all(&self, env: &mut Environment) -> (Config, Vec<Problem>) {
        parse_all(&self.path, &self.text, env)
    }
}

/// The pure core of `load`: every problem `init check` would report is an error.
pub fn parse(path: &Path, text: &str, env: &mut Environment) -> Result<Config, crate::error::Error> {
    let (config, problems) = parse_all(path, text, env);
    let problems: Vec<String> = problems.into_iter().filter(Problem::checked).map(|p| p.text).collect();
    if problems.is_empty() { Ok(config) } else { Err(crate::error::Error::Invalid(problems)) }
}

/// Every valid entry, and every problem (`path:line:col: message`): an
/// entry with a problem is left out, the others are kept, so that `init
/// check` goes on to plan the later phases with them (docs/reference.md,
/// "Boot sequence") and one bad value hides nothing else. Each problem says which
/// runs it stops (config/scope.rs).
pub fn parse_all(path: &Path, text: &str, env: &mut Environment) -> (Config, Vec<Problem>) {
    let mut validator = Validator::new(path, text);
    let (doc, syntax) = DeTable::parse_recoverable(text);
    for e in syntax {
        validator.toml_error(&e);
    }
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("/"));
    let mut config = Config { path: path.to_path_buf(), ..Config::default() };
    let doc = doc.into_inner();
    // [env] first: every other value may use what it sets.
    if let Some(value) = doc.iter().find(|(k, _)| k.get_ref() == "env").map(|(_, v)| v)
        && let Some(table) = validator.table_of_strings(value, "env")
    {
        validator.apply_env(&table, env);
    }
    validator.set_env(env);
    let mut given_services = 0;
    for (key, value) in doc.iter() {
        let span = key.span();
        match key.get_ref().as_ref() {
            "env" => {}
            "user" => config.user = validator.entry(value).and_then(|raw| validator.user(&raw)),
            "shell" => config.shell_workdir = validator.entry(value).and_then(|raw| validator.shell(&raw)),
            "template" => config.templates = validator.array(value, "template", |c, raw| c.template(&raw, &dir)),
            "volume" => config.volumes = validator.array(value, "volume", |c, raw| c.volume(&raw)),
            "wait" => config.waits = validator.array(value, "wait", |c, raw| c.wait_entry(&raw)),
            "service" => {
                given_services = value.get_ref().as_array().map_or(0, |a| a.len());
                config.services = validator.array(value, "service", |c, raw| c.service(&raw));
            }
            "task" => config.tasks = validator.array(value, "task", |c, raw| c.task(&raw)),
            other => validator.problem(
                span,
                format!(
                    "unknown table `{other}` (expected user, shell, env, template, volume, wait, service or task)"
                ),
            ),
        }
    }
    validator.services_together(&mut config, given_services);
    config.skipped_waits = std::mem::take(&mut validator.skipped);
    config.off = validator.take_off();
    (config, validator.finish())
}

/// The byte range of a spanned value.
fn span_of<T>(v: &Spanned<T>) -> Range<usize> {
    v.span()
}

#[cfg(test)]
mod tests;
