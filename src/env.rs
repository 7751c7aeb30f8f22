//! The environment children get and templates read: init's own, then `_FILE`
//! secrets, then the config's `[env]` table. Kept in order for children, with
//! an index for template lookups (a render may look up hundreds of thousands
//! of names).

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};

#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: Vec<(OsString, OsString)>,
    index: HashMap<OsString, usize>,
    /// Names whose values came from `_FILE` secrets.
    secrets: Vec<String>,
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
        self.index.get(name.as_ref()).map(|&i| self.vars[i].1.as_os_str())
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
            Some(&i) => self.vars[i].1 = value.into(),
            None => {
                self.index.insert(name.clone(), self.vars.len());
                self.vars.push((name, value.into()));
            }
        }
    }

    pub fn mark_secret(&mut self, name: &str) {
        self.secrets.push(name.to_string());
    }

    pub fn is_secret(&self, name: &str) -> bool {
        self.secrets.iter().any(|s| s == name)
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
}
