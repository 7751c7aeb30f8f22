//! Users and groups, read from /etc/passwd and /etc/group under a `root`
//! (parsed here, so lookups work in a static binary on any image's libc),
//! and user specs resolved with gosu's rules exactly. Editing the files to
//! create the runtime user is in `setup/account.rs`.

use std::path::{Path, PathBuf};

use crate::config::UserSpec;

/// One /etc/passwd entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
}

/// One /etc/group entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// Parses passwd text; malformed lines are skipped, as libc does.
pub fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 7 || line.starts_with('#') {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_string(),
                shell: f[6].to_string(),
            })
        })
        .collect()
}

/// Parses group text; malformed lines are skipped.
pub fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 4 || line.starts_with('#') {
                return None;
            }
            let members = f[3].split(',').filter(|m| !m.is_empty()).map(str::to_string).collect();
            Some(GroupEntry { name: f[0].to_string(), gid: f[2].parse().ok()?, members })
        })
        .collect()
}

/// The user and group databases of a root filesystem.
#[derive(Debug, Clone, Default)]
pub struct Db {
    pub passwd: Vec<PasswdEntry>,
    pub groups: Vec<GroupEntry>,
}

impl Db {
    /// Reads `root`/etc/passwd and `root`/etc/group (missing files are empty).
    pub fn load(root: &Path) -> Db {
        let read = |f: &str| std::fs::read_to_string(root.join(f)).unwrap_or_default();
        Db { passwd: parse_passwd(&read("etc/passwd")), groups: parse_group(&read("etc/group")) }
    }

    pub fn user_by_uid(&self, uid: u32) -> Option<&PasswdEntry> {
        self.passwd.iter().find(|u| u.uid == uid)
    }
}

/// A user spec that names no user or group (exit 67).
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("user {:?} not found in /etc/passwd (spec {spec})", spec.user)]
    NoUser { spec: UserSpec },
    #[error("group {group:?} not found in /etc/group (spec {spec})")]
    NoGroup { group: String, spec: UserSpec },
}

crate::error::debug_by_display!(Error);

/// An `owner` that names no user or group, with what it owns (exit 67).
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnknownOwner {
    #[error("{}: owner {error}", dest.display())]
    Template { dest: PathBuf, error: Error },
    #[error("volume {}: owner {error}", path.display())]
    Volume { path: PathBuf, error: Error },
}

crate::error::debug_by_display!(UnknownOwner);

/// Who a child runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    /// The full group list for setgroups(2): the primary group first.
    pub groups: Vec<u32>,
    /// The passwd name, when there is an entry.
    pub name: Option<String>,
    pub home: PathBuf,
    pub shell: Option<String>,
}

/// Resolves `spec` the way gosu (runc's `GetExecUser`) does. A numeric user
/// matches by uid only, a name by name only; a user without an entry must
/// be numeric and keeps the caller's gid (`default_gid`) and HOME=/. With no
/// explicit group, a matched user gets its primary group and every group
/// listing it; an explicit group means that group alone.
pub fn resolve(db: &Db, spec: &UserSpec, default_gid: u32) -> Result<Identity, Error> {
    let numeric_user = spec.user.parse::<u32>().ok();
    let entry = match numeric_user {
        Some(uid) => db.passwd.iter().find(|u| u.uid == uid),
        None => db.passwd.iter().find(|u| u.name == spec.user),
    };
    let mut id = match (entry, numeric_user) {
        (Some(e), _) => Identity {
            uid: e.uid,
            gid: e.gid,
            groups: Vec::new(),
            name: Some(e.name.clone()),
            home: PathBuf::from(if e.home.is_empty() { "/" } else { &e.home }),
            shell: (!e.shell.is_empty()).then(|| e.shell.clone()),
        },
        (None, Some(uid)) => {
            Identity { uid, gid: default_gid, groups: Vec::new(), name: None, home: "/".into(), shell: None }
        }
        (None, None) => return Err(Error::NoUser { spec: spec.clone() }),
    };
    let mut supplementary = Vec::new();
    match &spec.group {
        Some(group) => {
            let numeric = group.parse::<u32>().ok();
            let found = match numeric {
                Some(gid) => db.groups.iter().find(|g| g.gid == gid),
                None => db.groups.iter().find(|g| &g.name == group),
            };
            id.gid = match (found, numeric) {
                (Some(g), _) => g.gid,
                (None, Some(gid)) => gid,
                (None, None) => return Err(Error::NoGroup { group: group.clone(), spec: spec.clone() }),
            };
        }
        None => {
            if let Some(name) = &id.name {
                supplementary =
                    db.groups.iter().filter(|g| g.members.iter().any(|m| m == name)).map(|g| g.gid).collect();
            }
        }
    }
    id.groups.push(id.gid);
    for g in supplementary {
        if !id.groups.contains(&g) {
            id.groups.push(g);
        }
    }
    Ok(id)
}

/// The uid and gid a file owned by `spec` gets (same rules, caller group 0).
pub fn resolve_owner(root: &Path, spec: &UserSpec) -> Result<(u32, u32), Error> {
    resolve(&Db::load(root), spec, 0).map(|id| (id.uid, id.gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rootfs of the table: root, daemon (1:1), games (5:60, also in users 100), nobody.
    fn db() -> Db {
        Db {
            passwd: parse_passwd(
                "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n# comment\nbroken\n\
                 games:x:5:60:games:/usr/games:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
            ),
            groups: parse_group("root:x:0:\ndaemon:x:1:\ngames:x:60:\nusers:x:100:games\nnogroup:x:65534:\n"),
        }
    }

    fn spec(s: &str) -> UserSpec {
        crate::config::parse_user_spec(s).expect("valid spec")
    }

    fn ids(s: &str) -> (u32, u32, Vec<u32>, String) {
        let id = resolve(&db(), &spec(s), 0).unwrap_or_else(|e| panic!("{s}: {e}"));
        (id.uid, id.gid, id.groups, id.home.display().to_string())
    }

    #[test]
    fn the_gosu_table() {
        type Row = (&'static str, (u32, u32, &'static [u32], &'static str));
        let table: [Row; 12] = [
            ("0", (0, 0, &[0], "/root")),
            ("root", (0, 0, &[0], "/root")),
            ("0:0", (0, 0, &[0], "/root")),
            ("root:root", (0, 0, &[0], "/root")),
            ("1000", (1000, 0, &[0], "/")),
            ("0:1000", (0, 1000, &[1000], "/root")),
            ("1000:1000", (1000, 1000, &[1000], "/")),
            ("1000:root", (1000, 0, &[0], "/")),
            ("1000:daemon", (1000, 1, &[1], "/")),
            ("games", (5, 60, &[60, 100], "/usr/games")),
            ("5", (5, 60, &[60, 100], "/usr/games")),
            ("games:daemon", (5, 1, &[1], "/usr/games")),
        ];
        for (s, (uid, gid, groups, home)) in table {
            assert_eq!(ids(s), (uid, gid, groups.to_vec(), home.to_string()), "{s}");
        }
    }

    #[test]
    fn unknown_names_are_errors_naming_the_spec() {
        for s in ["bogus", "0day"] {
            let err = resolve(&db(), &spec(s), 0).unwrap_err();
            assert_eq!(err, Error::NoUser { spec: spec(s) });
            assert_eq!(err.to_string(), format!("user {s:?} not found in /etc/passwd (spec {s})"));
        }
        for s in ["0:bogus", "0:0day"] {
            let err = resolve(&db(), &spec(s), 0).unwrap_err();
            assert!(
                matches!(&err, Error::NoGroup { group, .. } if s.ends_with(group.as_str())),
                "{s}: {err}"
            );
            assert!(err.to_string().ends_with(&format!("(spec {s})")), "{s}: {err}");
        }
    }

    #[test]
    fn a_numeric_user_without_entry_keeps_the_callers_group() {
        let id = resolve(&db(), &spec("4242"), 77).unwrap();
        assert_eq!((id.uid, id.gid, id.groups, id.name), (4242, 77, vec![77], None));
    }
}
