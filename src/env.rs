//! The environment children get and templates read: init's own, then `_FILE`
//! secrets, then the config's `[env]` table. Kept in order for children, with
//! a sorted index for template lookups (a render may look up hundreds of
//! thousands of names; a binary search over a few dozen is as fast as a hash
//! and costs no hasher in the binary).

use std::ffi::{OsStr, OsString};

#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: Vec<(OsString, OsString)>,
    /// (name, position in `vars`), sorted by name.
    index: Vec<(OsString, usize)>,
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

    fn find(&self, name: &OsStr) -> Result<usize, usize> {
        self.index.binary_search_by(|(k, _)| k.as_os_str().cmp(name))
    }

    pub fn get(&self, name: impl AsRef<OsStr>) -> Option<&OsStr> {
        let at = self.find(name.as_ref()).ok()?;
        Some(self.vars[self.index[at].1].1.as_os_str())
    }

    /// The value as text, for templates; a value that is not UTF-8 counts as unset.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(OsStr::to_str)
    }

    pub fn contains(&self, name: impl AsRef<OsStr>) -> bool {
        self.find(name.as_ref()).is_ok()
    }

    pub fn set(&mut self, name: impl Into<OsString>, value: impl Into<OsString>) {
        let name = name.into();
        match self.find(&name) {
            Ok(at) => self.vars[self.index[at].1].1 = value.into(),
            Err(at) => {
                self.index.insert(at, (name.clone(), self.vars.len()));
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
}
