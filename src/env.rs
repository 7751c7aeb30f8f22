//! The environment children get and templates read: init's own, then `_FILE`
//! secrets, then the config's `[env]` table. Kept in order for children, with
//! a sorted index for template lookups (a render may look up hundreds of
//! thousands of names; a B-tree over a few dozen is as fast as a hash and
//! costs no hasher in the binary). Every lookup and insert is O(log n), so
//! even a huge environment is built in n log n (docs/security.md).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};

#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: Vec<(OsString, OsString)>,
    /// Name to position in `vars`.
    index: BTreeMap<OsString, usize>,
    /// Names whose values came from `_FILE` secrets.
    secrets: BTreeSet<String>,
}

impl Environment {
    /// init's own environment.
    pub fn from_process() -> Environment {
        Environment::from_vars(std::env::vars_os())
    }

    pub fn from_vars(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Environment {
        let mut env = Environment::default();
        for (k, v) in vars {
            env.set(k, v);
        }
        env
    }

    pub fn get(&self, name: impl AsRef<OsStr>) -> Option<&OsStr> {
        let at = *self.index.get(name.as_ref())?;
        Some(self.vars[at].1.as_os_str())
    }

    /// The value as text, for templates; a value that is not UTF-8 counts as unset.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(OsStr::to_str)
    }

    pub fn contains(&self, name: impl AsRef<OsStr>) -> bool {
        self.index.contains_key(name.as_ref())
    }

    pub fn set(&mut self, name: impl Into<OsString>, value: impl Into<OsString>) {
        let name = name.into();
        match self.index.get(&name) {
            Some(&at) => self.vars[at].1 = value.into(),
            None => {
                self.index.insert(name.clone(), self.vars.len());
                self.vars.push((name, value.into()));
            }
        }
    }

    /// Drops `name` (a secret's `X_FILE`, which official entrypoints refuse
    /// beside `X`). Linear, and rare: once per secret.
    pub fn remove(&mut self, name: impl AsRef<OsStr>) {
        let Some(at) = self.index.remove(name.as_ref()) else { return };
        self.vars.remove(at);
        for i in self.index.values_mut().filter(|i| **i > at) {
            *i -= 1;
        }
    }

    pub fn mark_secret(&mut self, name: &str) {
        self.secrets.insert(name.to_string());
    }

    pub fn is_secret(&self, name: &str) -> bool {
        self.secrets.contains(name)
    }

    /// The names of the variables read from `_FILE` secrets.
    pub fn secret_names(&self) -> impl Iterator<Item = &str> {
        self.secrets.iter().map(String::as_str)
    }

    /// The values of the secrets, for masking in log lines.
    pub fn secret_values(&self) -> Vec<String> {
        self.secrets.iter().filter_map(|n| self.get_str(n)).map(str::to_string).collect()
    }

    pub fn vars(&self) -> &[(OsString, OsString)] {
        &self.vars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_replaces_in_place_and_keeps_order() {
        let mut env = Environment::from_vars([("A".into(), "1".into()), ("B".into(), "2".into())]);
        env.set("A", "3");
        env.set("C", "4");
        let names: Vec<_> =
            env.vars().iter().map(|(k, v)| format!("{}={}", k.display(), v.display())).collect();
        assert_eq!(names, ["A=3", "B=2", "C=4"]);
        assert_eq!(env.get_str("A"), Some("3"));
        assert_eq!(env.get_str("Z"), None);
    }

    #[test]
    fn remove_drops_one_variable_and_keeps_the_others_in_order() {
        let mut env = Environment::from_vars([
            ("A".into(), "1".into()),
            ("B".into(), "2".into()),
            ("C".into(), "3".into()),
        ]);
        env.remove("A");
        env.remove("Z");
        let names: Vec<_> = env.vars().iter().map(|(k, _)| k.display().to_string()).collect();
        assert_eq!(names, ["B", "C"]);
        assert_eq!((env.get_str("A"), env.get_str("C")), (None, Some("3")));
        env.set("A", "4");
        assert_eq!(env.get_str("A"), Some("4"));
    }

    #[test]
    fn a_huge_environment_keeps_its_order_and_every_value() {
        let n = 50_000;
        let name = |i: usize| format!("VAR_{}", (i * 7919) % n); // not in sorted order
        let mut env = Environment::from_vars((0..n).map(|i| (name(i).into(), i.to_string().into())));
        for i in (0..n).step_by(2) {
            env.set(name(i), "even");
            env.mark_secret(&name(i));
        }
        env.set("LAST", "1");
        assert_eq!(env.vars().len(), n + 1);
        for (i, (k, v)) in env.vars().iter().take(n).enumerate() {
            assert_eq!(k.to_str(), Some(name(i).as_str()));
            let want = if i % 2 == 0 { "even".to_string() } else { i.to_string() };
            assert_eq!(v.to_str(), Some(want.as_str()));
            assert_eq!(env.is_secret(&name(i)), i % 2 == 0);
        }
        assert_eq!(env.vars()[n].0, "LAST");
        assert_eq!(env.get_str(&name(1)), Some("1"));
    }
}
