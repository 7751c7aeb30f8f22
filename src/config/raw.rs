//! init.toml as written: serde structs with `deny_unknown_fields` everywhere
//! and spans on every value that is validated later, so each problem can be
//! reported at its file:line:col. Strings are still templates here.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub type Str = Spanned<String>;

/// A value that may be written as a number or as a (template) string:
/// `uid = 1000` or `uid = "<<USER_UID:-1000>>"`, `timeout = 0` or `"5m"`.
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
pub enum IntOrStr {
    Int(i64),
    Str(String),
}

pub type Num = Spanned<IntOrStr>;
/// A table whose entry order matters (`[env]`); order is restored from the spans.
pub type StrTable = BTreeMap<Str, Str>;

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RawUser {
    pub name: Option<Str>,
    pub uid: Option<Num>,
    pub gid: Option<Num>,
    pub home: Option<Str>,
    pub shell: Option<Str>,
    pub groups: Option<Vec<Str>>,
    pub no_new_privileges: Option<bool>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RawTemplate {
    pub src: Str,
    pub dest: Str,
    pub mode: Option<Str>,
    pub owner: Option<Str>,
    pub overwrite: Option<bool>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RawVolume {
    pub path: Str,
    pub owner: Option<Str>,
    pub mode: Option<Str>,
    pub create: Option<bool>,
    pub recursive: Option<bool>,
    pub one_filesystem: Option<bool>,
    pub seed: Option<Str>,
}

/// A `[[wait]]` target, or a service's `ready` probe (without `watch`).
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RawProbe {
    pub file: Option<Str>,
    pub tcp: Option<Str>,
    pub unix: Option<Str>,
    pub http: Option<Str>,
    pub command: Option<Vec<Str>>,
    pub timeout: Option<Num>,
    pub watch: Option<Spanned<bool>>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub name: Str,
    pub command: Option<Vec<Str>>,
    pub shell: Option<Str>,
    pub user: Option<Str>,
    pub env: Option<StrTable>,
    pub workdir: Option<Str>,
    pub after: Option<Vec<Str>>,
    pub oneshot: Option<bool>,
    pub ready: Option<Spanned<RawProbe>>,
    pub semaphore: Option<Str>,
    pub heartbeat: Option<Num>,
    pub restart: Option<Str>,
    pub restart_delay: Option<Num>,
    pub max_restarts: Option<Spanned<i64>>,
    pub critical: Option<bool>,
    pub main: Option<Spanned<bool>>,
    pub stop_signal: Option<Str>,
    pub stop_delay: Option<Num>,
    pub stop_timeout: Option<Num>,
    pub signals: Option<StrTable>,
    pub output: Option<Str>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RawTask {
    pub name: Str,
    pub command: Option<Vec<Str>>,
    pub shell: Option<Str>,
    pub user: Option<Str>,
    pub env: Option<StrTable>,
    pub workdir: Option<Str>,
}
