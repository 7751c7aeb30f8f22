//! Which parts of init.toml a run needs (docs/reference.md, "One-off work"):
//! a `[[template]]` or `[[wait]]` serves the services and tasks its `for`
//! names (all of them without `for`), `enabled` switches a part off from the
//! environment, and a run — boot, one task, an ad-hoc command — renders,
//! awaits and validates only what serves what runs. These are the pure
//! decisions; config/validate/part.rs applies them while validating.

use super::Config;

/// What a config problem belongs to, so that a run can leave aside the
/// problems of parts it does not use while `init check` reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every run: the file's shape, `[env]`, `[user]`, volumes, templates
    /// and waits without `for`, the checks across parts.
    Always,
    /// Only runs of one of these services or tasks.
    For(Vec<String>),
    /// A part switched off (`enabled` renders false): no run uses it.
    Off,
}

/// One problem of init.toml, at `path:line:col`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub text: String,
    pub scope: Scope,
    /// It is a variable that is not set.
    pub unset: bool,
}

impl Problem {
    /// A problem that every run has (secrets, `INIT_WAIT`).
    pub fn always(text: String) -> Problem {
        Problem { text, scope: Scope::Always, unset: false }
    }

    /// Whether a run of `running` (services and tasks by name) must stop
    /// on it. Strictness is per consumer for variables: one not set stops
    /// only the runs of the parts that use it. A wrong value is the
    /// image's mistake and stops every run, as `init check` reports it.
    pub fn stops(&self, running: &[String]) -> bool {
        match &self.scope {
            _ if !self.unset => true,
            Scope::Always => true,
            Scope::For(names) => serves(Some(names), running),
            Scope::Off => false,
        }
    }

    /// Whether `init check` reports it: everything, except a variable not
    /// set in a part switched off (it is set when the part is switched on).
    pub fn checked(&self) -> bool {
        !(self.scope == Scope::Off && self.unset)
    }
}

/// Whether a part whose `for` is `names` (`None`: no `for`) serves a run of `running`.
pub fn serves(names: Option<&[String]>, running: &[String]) -> bool {
    names.is_none_or(|names| names.iter().any(|n| running.contains(n)))
}

/// `enabled`'s rendered value: true/false, 1/0, yes/no in any case; empty
/// is false, so `"<<SSH:->>"` is off while SSH is unset.
pub fn parse_switch(text: &str) -> Result<bool, super::BadValue> {
    const ON: [&str; 3] = ["true", "1", "yes"];
    const OFF: [&str; 3] = ["false", "0", "no"];
    match text {
        "" => Ok(false),
        t if ON.iter().any(|w| w.eq_ignore_ascii_case(t)) => Ok(true),
        t if OFF.iter().any(|w| w.eq_ignore_ascii_case(t)) => Ok(false),
        t => Err(super::BadValue::Switch(t.into())),
    }
}

/// What runs this time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runs {
    /// Boot: every service that is switched on.
    Services,
    /// `init run NAME` or `init NAME`: one task (or service) by name;
    /// `no_wait`: `init run --no-wait`.
    Named { name: String, no_wait: bool },
    /// A command no part names (`init -- bash`, `init run -- CMD`, `init
    /// shell`): only what has no `for`.
    Adhoc { no_wait: bool },
}

impl Runs {
    /// The services and tasks that run, by name.
    pub fn running(&self, config: &Config) -> Vec<String> {
        match self {
            Runs::Services => config.service_names.clone(),
            Runs::Named { name, .. } => vec![name.clone()],
            Runs::Adhoc { .. } => Vec::new(),
        }
    }

    /// Whether the configured waits are awaited at all: not with
    /// `--no-wait`, nor for a task that says `waits = false`.
    pub fn waits(&self, config: &Config) -> bool {
        match self {
            Runs::Services => true,
            Runs::Named { name, no_wait } => {
                !no_wait && config.tasks.iter().find(|t| &t.name == name).is_none_or(|t| t.waits)
            }
            Runs::Adhoc { no_wait } => !no_wait,
        }
    }

    /// `config` cut down to what this run uses: the templates and waits
    /// that serve it (none of the waits when it waits for nothing).
    pub fn scope(&self, config: &mut Config) {
        let running = self.running(config);
        config.templates.retain(|t| serves(t.serves.as_deref(), &running));
        if self.waits(config) {
            config.waits.retain(|w| serves(w.serves.as_deref(), &running));
        } else {
            config.waits.clear();
            config.skipped_waits.clear();
        }
    }
}

#[cfg(test)]
#[path = "scope/tests.rs"]
mod tests;
