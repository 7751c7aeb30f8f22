//! Users and groups read from /etc/passwd and /etc/group under a `root`
//! (parsed here, so it works in a static binary on any image's libc). For now
//! this resolves file owners; creating the runtime user is issue #4.

use std::path::Path;

use crate::config::UserSpec;

/// One /etc/passwd entry (the fields init uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
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

/// (name, gid, members) of each /etc/group line.
pub fn parse_group(text: &str) -> Vec<(String, u32, Vec<String>)> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 4 || line.starts_with('#') {
                return None;
            }
            let members = f[3].split(',').filter(|m| !m.is_empty()).map(str::to_string).collect();
            Some((f[0].to_string(), f[2].parse().ok()?, members))
        })
        .collect()
}

fn read(root: &Path, file: &str) -> String {
    std::fs::read_to_string(root.join(file)).unwrap_or_default()
}

/// The uid and gid a file owned by `spec` gets, with gosu's rules: a name
/// brings its primary group, a bare uid without an entry keeps group 0, an
/// explicit group is that group alone.
pub fn resolve_owner(root: &Path, spec: &UserSpec) -> Result<(u32, u32), String> {
    let users = parse_passwd(&read(root, "etc/passwd"));
    let entry = users.iter().find(|u| u.name == spec.user);
    let (uid, primary) = match (entry, spec.user.parse::<u32>()) {
        (Some(e), _) => (e.uid, e.gid),
        (None, Ok(uid)) => (uid, users.iter().find(|u| u.uid == uid).map_or(0, |u| u.gid)),
        (None, Err(_)) => return Err(format!("user {:?} not found in /etc/passwd (spec {spec})", spec.user)),
    };
    let gid = match &spec.group {
        None => primary,
        Some(group) => {
            let groups = parse_group(&read(root, "etc/group"));
            match (groups.iter().find(|(n, _, _)| n == group), group.parse::<u32>()) {
                (Some((_, gid, _)), _) => *gid,
                (None, Ok(gid)) => gid,
                (None, Err(_)) => {
                    return Err(format!("group {group:?} not found in /etc/group (spec {spec})"));
                }
            }
        }
    };
    Ok((uid, gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rootfs() -> tempdir::Dir {
        let dir = tempdir::Dir::new("user");
        std::fs::create_dir_all(dir.0.join("etc")).unwrap();
        std::fs::write(
            dir.0.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n# comment\nbroken\ngames:x:5:60:games:/usr/games:/bin/false\n",
        )
        .unwrap();
        std::fs::write(dir.0.join("etc/group"), "root:x:0:\ndaemon:x:1:\ngames:x:60:\nusers:x:100:games\n")
            .unwrap();
        dir
    }

    fn owner(root: &Path, user: &str, group: Option<&str>) -> Result<(u32, u32), String> {
        resolve_owner(root, &UserSpec { user: user.into(), group: group.map(Into::into) })
    }

    #[test]
    fn owners_follow_gosu_rules() {
        let r = rootfs();
        assert_eq!(owner(&r.0, "root", None), Ok((0, 0)));
        assert_eq!(owner(&r.0, "games", None), Ok((5, 60)));
        assert_eq!(owner(&r.0, "games", Some("daemon")), Ok((5, 1)));
        assert_eq!(owner(&r.0, "1000", None), Ok((1000, 0)));
        assert_eq!(owner(&r.0, "1000", Some("1000")), Ok((1000, 1000)));
        assert_eq!(owner(&r.0, "5", None), Ok((5, 60)));
        assert!(owner(&r.0, "bogus", None).unwrap_err().contains("\"bogus\""));
        assert!(owner(&r.0, "0", Some("bogus")).unwrap_err().contains("\"bogus\""));
    }

    /// A temp dir for unit tests, removed on drop.
    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new(tag: &str) -> Dir {
                let p = std::env::temp_dir().join(format!("mooring-unit-{tag}-{}", std::process::id()));
                let _ = std::fs::remove_dir_all(&p);
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }
}
