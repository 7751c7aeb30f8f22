//! init.toml as written: `Raw*` structs read from toml's parse tree with a
//! span on every value that is validated later. Each table takes the keys it
//! knows and rejects every other one (what serde's `deny_unknown_fields`
//! does), and every wrong type or unknown key is collected, not only the
//! first. The reading is done here by hand rather than by serde-derived
//! deserializers: those cost about 200 kB of init's size budget (docs/benchmarks.md, "Budgets"); this costs a few. Strings are still templates here.

use toml::Spanned;

mod fields;
pub use fields::{Fields, strings_in_file_order};

pub type Str = Spanned<String>;

/// A value that may be written as a number or as a (template) string:
/// `uid = 1000` or `uid = "<<USER_UID:-1000>>"`, `timeout = 0` or `"5m"`.
#[derive(Debug, Clone)]
pub enum IntOrStr {
    Int(i64),
    Str(String),
}

pub type Num = Spanned<IntOrStr>;

/// `enabled = false` or `enabled = "<<SSH:-true>>"`.
#[derive(Debug, Clone)]
pub enum BoolOrStr {
    Bool(bool),
    Str(String),
}

pub type Switch = Spanned<BoolOrStr>;
/// A table of strings, in file order (`[env]`, `env = {...}`, `signals = {...}`).
pub type StrTable = Vec<(Str, Str)>;

pub struct RawUser {
    pub name: Option<Str>,
    pub uid: Option<Num>,
    pub gid: Option<Num>,
    pub home: Option<Str>,
    pub shell: Option<Str>,
    pub groups: Option<Vec<Str>>,
    pub no_new_privileges: Option<Spanned<bool>>,
}

pub struct RawTemplate {
    pub src: Str,
    pub dest: Str,
    pub mode: Option<Str>,
    pub owner: Option<Str>,
    pub overwrite: Option<Spanned<bool>>,
    pub notify: Option<Vec<Str>>,
    pub serves: Option<Vec<Str>>,
    pub enabled: Option<Switch>,
}

pub struct RawVolume {
    pub path: Str,
    pub owner: Option<Str>,
    pub mode: Option<Str>,
    pub create: Option<Spanned<bool>>,
    pub recursive: Option<Spanned<bool>>,
    pub one_filesystem: Option<Spanned<bool>>,
    pub seed: Option<Str>,
    pub enabled: Option<Switch>,
}

/// A `[[wait]]` target, or a service's `ready` probe (which has no `watch`).
pub struct RawWait {
    pub file: Option<Str>,
    pub tcp: Option<Str>,
    pub unix: Option<Str>,
    pub http: Option<Str>,
    pub command: Option<Vec<Str>>,
    pub timeout: Option<Num>,
    pub watch: Option<Spanned<bool>>,
    /// A ready announcement (services only): `fd = N`, `notify = true` or
    /// `log = "REGEX"`.
    pub fd: Option<Spanned<i64>>,
    pub notify: Option<Spanned<bool>>,
    pub log: Option<Str>,
    /// A `[[wait]]`'s `for` and `enabled` (docs/reference.md, "One-off work").
    pub serves: Option<Vec<Str>>,
    pub enabled: Option<Switch>,
}

pub struct RawService {
    pub name: Str,
    pub command: Option<Vec<Str>>,
    pub shell: Option<Str>,
    pub user: Option<Str>,
    pub env: Option<StrTable>,
    pub workdir: Option<Str>,
    pub after: Option<Vec<Str>>,
    pub oneshot: Option<Spanned<bool>>,
    pub ready: Option<Spanned<RawWait>>,
    pub semaphore: Option<Str>,
    pub heartbeat: Option<Num>,
    pub restart: Option<Str>,
    pub restart_delay: Option<Num>,
    pub max_restarts: Option<Spanned<i64>>,
    pub critical: Option<Spanned<bool>>,
    pub main: Option<Spanned<bool>>,
    pub stop_signal: Option<Str>,
    pub stop_delay: Option<Num>,
    pub stop_timeout: Option<Num>,
    pub signals: Option<StrTable>,
    pub output: Option<Str>,
    pub reload_signal: Option<Str>,
    pub enabled: Option<Switch>,
}

/// `[shell]`: where `init shell` starts.
pub struct RawShell {
    pub workdir: Option<Str>,
}

pub struct RawTask {
    pub name: Str,
    pub command: Option<Vec<Str>>,
    pub shell: Option<Str>,
    pub user: Option<Str>,
    pub env: Option<StrTable>,
    pub workdir: Option<Str>,
    pub waits: Option<Spanned<bool>>,
    pub enabled: Option<Switch>,
}

/// A raw struct that can be read from a table.
pub trait Read: Sized {
    const WHAT: &'static str;
    fn read(f: &mut Fields) -> Option<Self>;
}

impl Read for RawUser {
    const WHAT: &'static str = "[user]";
    fn read(f: &mut Fields) -> Option<Self> {
        Some(RawUser {
            name: f.str("name"),
            uid: f.num("uid"),
            gid: f.num("gid"),
            home: f.str("home"),
            shell: f.str("shell"),
            groups: f.strs("groups"),
            no_new_privileges: f.bool("no_new_privileges"),
        })
    }
}

impl Read for RawShell {
    const WHAT: &'static str = "[shell]";
    fn read(f: &mut Fields) -> Option<Self> {
        Some(RawShell { workdir: f.str("workdir") })
    }
}

impl Read for RawTemplate {
    const WHAT: &'static str = "[[template]]";
    fn read(f: &mut Fields) -> Option<Self> {
        let (src, dest) = (f.required("src"), f.required("dest"));
        let (mode, owner, overwrite) = (f.str("mode"), f.str("owner"), f.bool("overwrite"));
        let (notify, serves, enabled) = (f.strs("notify"), f.strs("for"), f.switch("enabled"));
        Some(RawTemplate { src: src?, dest: dest?, mode, owner, overwrite, notify, serves, enabled })
    }
}

impl Read for RawVolume {
    const WHAT: &'static str = "[[volume]]";
    fn read(f: &mut Fields) -> Option<Self> {
        let path = f.required("path");
        Some(RawVolume {
            owner: f.str("owner"),
            mode: f.str("mode"),
            create: f.bool("create"),
            recursive: f.bool("recursive"),
            one_filesystem: f.bool("one_filesystem"),
            seed: f.str("seed"),
            enabled: f.switch("enabled"),
            path: path?,
        })
    }
}

/// Reads a probe's fields; `watch` only when `with_watch` (a `[[wait]]`).
pub fn read_wait(f: &mut Fields, with_watch: bool) -> Option<RawWait> {
    Some(RawWait {
        file: f.str("file"),
        tcp: f.str("tcp"),
        unix: f.str("unix"),
        http: f.str("http"),
        command: f.strs("command"),
        timeout: f.num("timeout"),
        watch: if with_watch { f.bool("watch") } else { None },
        fd: if with_watch { None } else { f.int("fd") },
        notify: if with_watch { None } else { f.bool("notify") },
        log: if with_watch { None } else { f.str("log") },
        serves: if with_watch { f.strs("for") } else { None },
        enabled: if with_watch { f.switch("enabled") } else { None },
    })
}

impl Read for RawWait {
    const WHAT: &'static str = "[[wait]]";
    fn read(f: &mut Fields) -> Option<Self> {
        read_wait(f, true)
    }
}

impl Read for RawService {
    const WHAT: &'static str = "[[service]]";
    fn read(f: &mut Fields) -> Option<Self> {
        let name = f.required("name");
        Some(RawService {
            command: f.strs("command"),
            shell: f.str("shell"),
            user: f.str("user"),
            env: f.table("env"),
            workdir: f.str("workdir"),
            after: f.strs("after"),
            oneshot: f.bool("oneshot"),
            ready: f.sub("ready", "a ready probe", |p| read_wait(p, false)),
            semaphore: f.str("semaphore"),
            heartbeat: f.num("heartbeat"),
            restart: f.str("restart"),
            restart_delay: f.num("restart_delay"),
            max_restarts: f.int("max_restarts"),
            critical: f.bool("critical"),
            main: f.bool("main"),
            stop_signal: f.str("stop_signal"),
            stop_delay: f.num("stop_delay"),
            stop_timeout: f.num("stop_timeout"),
            signals: f.table("signals"),
            output: f.str("output"),
            reload_signal: f.str("reload_signal"),
            enabled: f.switch("enabled"),
            name: name?,
        })
    }
}

impl Read for RawTask {
    const WHAT: &'static str = "[[task]]";
    fn read(f: &mut Fields) -> Option<Self> {
        let name = f.required("name");
        Some(RawTask {
            command: f.strs("command"),
            shell: f.str("shell"),
            user: f.str("user"),
            env: f.table("env"),
            workdir: f.str("workdir"),
            waits: f.bool("waits"),
            enabled: f.switch("enabled"),
            name: name?,
        })
    }
}
