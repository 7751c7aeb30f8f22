//! init.toml as written: `Raw*` structs read from toml's parse tree with a
//! span on every value that is validated later. Each table takes the keys it
//! knows and rejects every other one (what serde's `deny_unknown_fields`
//! does), and every wrong type or unknown key is collected, not only the
//! first. The reading is done here by hand rather than by serde-derived
//! deserializers: those cost about 200 kB of init's 1 MB budget (docs/benchmarks.md); this costs a few. Strings are still templates here.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

pub type Str = Spanned<String>;

/// A value that may be written as a number or as a (template) string:
/// `uid = 1000` or `uid = "<<USER_UID:-1000>>"`, `timeout = 0` or `"5m"`.
#[derive(Debug, Clone)]
pub enum IntOrStr {
    Int(i64),
    Str(String),
}

pub type Num = Spanned<IntOrStr>;
/// A table of strings, in file order (`[env]`, `env = {...}`, `signals = {...}`).
pub type StrTable = Vec<(Str, Str)>;

/// One TOML table being read. Fields are taken by name; `finish` reports
/// every key nobody took.
pub struct Fields<'a, 'i> {
    table: &'a DeTable<'i>,
    span: Range<usize>,
    what: &'static str,
    known: Vec<&'static str>,
    pub problems: Vec<(Range<usize>, String)>,
}

impl<'a, 'i> Fields<'a, 'i> {
    /// Starts reading `value` as the table `what`; `None` (with a problem) if it is not a table.
    pub fn of(value: &'a Spanned<DeValue<'i>>, what: &'static str) -> Result<Self, (Range<usize>, String)> {
        match value.get_ref() {
            DeValue::Table(table) => {
                Ok(Fields { table, span: value.span(), what, known: Vec::new(), problems: Vec::new() })
            }
            other => Err((value.span(), format!("{what} must be a table, not {}", other.type_str()))),
        }
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Spanned<DeValue<'i>>> {
        self.known.push(key);
        self.table.get(key)
    }

    fn wrong(&mut self, key: &str, value: &Spanned<DeValue<'_>>, want: &str) {
        let msg = format!("`{key}` must be {want}, not {}", value.get_ref().type_str());
        self.problems.push((value.span(), msg));
    }

    pub fn str(&mut self, key: &'static str) -> Option<Str> {
        let v = self.get(key)?;
        match as_str(v) {
            Some(s) => Some(s),
            None => {
                self.wrong(key, v, "a string");
                None
            }
        }
    }

    /// A field that must be there.
    pub fn required(&mut self, key: &'static str) -> Option<Str> {
        if !self.table.contains_key(key) {
            let msg = format!("{} is missing `{key}`", self.what);
            self.problems.push((self.span.clone(), msg));
        }
        self.str(key)
    }

    pub fn num(&mut self, key: &'static str) -> Option<Num> {
        let v = self.get(key)?;
        let n = match v.get_ref() {
            DeValue::String(s) => Some(IntOrStr::Str(s.to_string())),
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok().map(IntOrStr::Int),
            _ => None,
        };
        if n.is_none() {
            self.wrong(key, v, "a string or an integer");
        }
        n.map(|n| Spanned::new(v.span(), n))
    }

    pub fn int(&mut self, key: &'static str) -> Option<Spanned<i64>> {
        let v = self.get(key)?;
        let n = v.get_ref().as_integer().and_then(|i| i64::from_str_radix(i.as_str(), i.radix()).ok());
        if n.is_none() {
            self.wrong(key, v, "an integer");
        }
        n.map(|n| Spanned::new(v.span(), n))
    }

    pub fn bool(&mut self, key: &'static str) -> Option<Spanned<bool>> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::Boolean(b) => Some(Spanned::new(v.span(), *b)),
            _ => {
                self.wrong(key, v, "true or false");
                None
            }
        }
    }

    pub fn strs(&mut self, key: &'static str) -> Option<Vec<Str>> {
        let v = self.get(key)?;
        let list =
            v.get_ref().as_array().and_then(|items| items.iter().map(as_str).collect::<Option<Vec<_>>>());
        if list.is_none() {
            self.wrong(key, v, "an array of strings");
        }
        list
    }

    pub fn table(&mut self, key: &'static str) -> Option<StrTable> {
        let v = self.get(key)?;
        let table = v.get_ref().as_table().and_then(strings_in_file_order);
        if table.is_none() {
            self.wrong(key, v, "a table of strings");
        }
        table
    }

    /// A nested table, read with `read`.
    pub fn sub<T>(
        &mut self,
        key: &'static str,
        what: &'static str,
        read: impl FnOnce(&mut Fields) -> Option<T>,
    ) -> Option<Spanned<T>> {
        let v = self.get(key)?;
        let mut f = match Fields::of(v, what) {
            Ok(f) => f,
            Err(p) => {
                self.problems.push(p);
                return None;
            }
        };
        let t = read(&mut f);
        self.problems.extend(f.finish());
        t.map(|t| Spanned::new(v.span(), t))
    }

    /// Every problem, unknown keys included.
    pub fn finish(mut self) -> Vec<(Range<usize>, String)> {
        let expected = self.known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
        for (key, _) in self.table.iter() {
            if !self.known.contains(&key.get_ref().as_ref()) {
                let msg =
                    format!("unknown field `{}` in {}, expected one of {expected}", key.get_ref(), self.what);
                self.problems.push((key.span(), msg));
            }
        }
        self.problems
    }
}

fn as_str(v: &Spanned<DeValue<'_>>) -> Option<Str> {
    v.get_ref().as_str().map(|s| Spanned::new(v.span(), s.to_string()))
}

/// A table whose values are all strings, sorted back into file order.
pub fn strings_in_file_order(table: &DeTable<'_>) -> Option<StrTable> {
    let mut entries = Vec::with_capacity(table.len());
    for (k, v) in table.iter() {
        entries.push((Spanned::new(k.span(), k.get_ref().to_string()), as_str(v)?));
    }
    entries.sort_by_key(|(k, _)| k.span().start);
    Some(entries)
}

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
}

pub struct RawVolume {
    pub path: Str,
    pub owner: Option<Str>,
    pub mode: Option<Str>,
    pub create: Option<Spanned<bool>>,
    pub recursive: Option<Spanned<bool>>,
    pub one_filesystem: Option<Spanned<bool>>,
    pub seed: Option<Str>,
}

/// A `[[wait]]` target, or a service's `ready` probe (which has no `watch`).
pub struct RawProbe {
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
    pub ready: Option<Spanned<RawProbe>>,
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
}

pub struct RawTask {
    pub name: Str,
    pub command: Option<Vec<Str>>,
    pub shell: Option<Str>,
    pub user: Option<Str>,
    pub env: Option<StrTable>,
    pub workdir: Option<Str>,
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

impl Read for RawTemplate {
    const WHAT: &'static str = "[[template]]";
    fn read(f: &mut Fields) -> Option<Self> {
        let (src, dest) = (f.required("src"), f.required("dest"));
        let (mode, owner, overwrite) = (f.str("mode"), f.str("owner"), f.bool("overwrite"));
        let notify = f.strs("notify");
        Some(RawTemplate { src: src?, dest: dest?, mode, owner, overwrite, notify })
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
            path: path?,
        })
    }
}

/// Reads a probe's fields; `watch` only when `with_watch` (a `[[wait]]`).
pub fn read_probe(f: &mut Fields, with_watch: bool) -> Option<RawProbe> {
    Some(RawProbe {
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
    })
}

impl Read for RawProbe {
    const WHAT: &'static str = "[[wait]]";
    fn read(f: &mut Fields) -> Option<Self> {
        read_probe(f, true)
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
            ready: f.sub("ready", "a ready probe", |p| read_probe(p, false)),
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
            name: name?,
        })
    }
}
