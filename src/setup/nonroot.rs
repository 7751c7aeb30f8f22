//! Started without root (`docker run --user`, Kubernetes `runAsUser`,
//! OpenShift's random uid with gid 0): init does what it may and skips the
//! rest with one WARN per skipped step, because the orchestrator chose the
//! identity (docs/running-restricted.md). Here are the decisions, as pure
//! functions of who init is and what the image holds, and the passwd entry
//! init adds for its own uid when it has none.

use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::config::{RuntimeUser, UserSpec};
use crate::entries;
use crate::setup::user::{Db, Identity, PasswdEntry};

/// Who init runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Me {
    pub uid: u32,
    pub gid: u32,
}

impl Me {
    pub fn current() -> Me {
        Me { uid: nix::unistd::geteuid().as_raw(), gid: nix::unistd::getegid().as_raw() }
    }

    pub fn is_root(self) -> bool {
        self.uid == 0
    }
}

/// The skipped step for `[user]`: `None` when init already runs as that
/// user (nothing to create), else the WARN line.
pub fn runtime_user_step(want: &RuntimeUser, db: &Db, me: Me) -> Option<String> {
    let wanted = want.uid.or_else(|| db.passwd.iter().find(|u| u.name == want.name).map(|u| u.uid));
    if wanted == Some(me.uid) {
        return None;
    }
    let uid = wanted.map(|u| format!(" (uid {u})")).unwrap_or_default();
    Some(format!(
        "not root: user {:?}{uid} not created; children run as init's own uid {}:{}",
        want.name, me.uid, me.gid
    ))
}

/// The skipped step for a `user` (a service's, a task's, `--user`, `init
/// shell USER`): `None` when it resolves to init's own ids.
pub fn switch_step(what: &str, spec: &UserSpec, wanted: Option<(u32, u32)>, me: Me) -> Option<String> {
    if wanted == Some((me.uid, me.gid)) {
        return None;
    }
    Some(format!("not root: {what} runs as init's own uid {}:{}, not as {spec}", me.uid, me.gid))
}

/// The skipped step for owners init may not give (files it writes are its
/// own): every `(path, owner)` other than init's ids, in one WARN line.
pub fn owners_step(what: &str, wanted: &[(&Path, (u32, u32))], me: Me) -> Option<String> {
    let other: Vec<String> = wanted
        .iter()
        .filter(|(_, owner)| *owner != (me.uid, me.gid))
        .map(|(path, (u, g))| format!("{} ({u}:{g})", path.display()))
        .collect();
    if other.is_empty() {
        return None;
    }
    const SHOWN: usize = 3;
    let more = other.len().saturating_sub(SHOWN);
    let more = if more > 0 { format!(" and {more} more") } else { String::new() };
    Some(format!(
        "not root: {what} left as they are, uid {} may not give them away: {}{more}",
        me.uid,
        other[..other.len().min(SHOWN)].join(", ")
    ))
}

/// The passwd entry init adds for its own uid when the image has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnEntry {
    pub name: String,
    pub home: PathBuf,
    pub shell: String,
    /// /etc/passwd may be written: the entry is appended; else only the
    /// environment (HOME, USER, LOGNAME, SHELL) says who the user is.
    pub append: bool,
}

/// The entry for `me` (`None`: the image has one): named after `[user]`'s
/// name (else `default`, or `uidN` when an image user is already called
/// so), home `[user].home` when init may write it, else /tmp.
pub fn own_entry(
    db: &Db,
    me: Me,
    want: Option<&RuntimeUser>,
    writable: impl Fn(&Path) -> bool,
) -> Option<OwnEntry> {
    if db.user_by_uid(me.uid).is_some() {
        return None;
    }
    let taken = |n: &str| db.passwd.iter().any(|u| u.name == n);
    let name = match want {
        Some(w) => w.name.clone(),
        None if taken("default") => format!("uid{}", me.uid),
        None => "default".into(),
    };
    let home = want.and_then(|w| w.home.clone()).unwrap_or_else(|| PathBuf::from("/home").join(&name));
    let home = if writable(&home) { home } else { PathBuf::from("/tmp") };
    let shell = want.and_then(|w| w.shell.as_ref()).map_or("/bin/sh".into(), |s| s.display().to_string());
    Some(OwnEntry { name, home, shell, append: writable(Path::new("/etc/passwd")) })
}

/// Not root, the runtime user is init's own identity: a database with no
/// user of `[user]`'s name gets one for init's ids, so an `owner` or `user`
/// naming `[user]` is the runtime user, the passwd entry appended or not
/// (docs/running-restricted.md). As root the planned edit makes the user.
pub fn with_runtime_user(mut db: Db, want: Option<&RuntimeUser>, me: Me) -> Db {
    let Some(want) = want.filter(|w| !me.is_root() && !w.name.is_empty()) else { return db };
    if db.passwd.iter().any(|u| u.name == want.name) {
        return db;
    }
    let own = db.user_by_uid(me.uid).map(|e| (e.home.clone(), e.shell.clone()));
    let (home, shell) = own.unwrap_or_else(|| ("/tmp".into(), "/bin/sh".into()));
    db.passwd.push(PasswdEntry { name: want.name.clone(), uid: me.uid, gid: me.gid, home, shell });
    db
}

/// Whether init may write `path` (an existing file or directory).
pub fn may_write(root: &Path, path: &Path) -> bool {
    let at = root.join(path.strip_prefix("/").unwrap_or(path));
    nix::unistd::access(&at, nix::unistd::AccessFlags::W_OK).is_ok()
}

/// The identity children get: init's own ids, named by `entry` (or by the
/// image's entry for init's uid).
pub fn own_identity(db: &Db, me: Me, entry: Option<&OwnEntry>) -> Identity {
    let groups = nix::unistd::getgroups().map(|g| g.iter().map(|g| g.as_raw()).collect()).unwrap_or_default();
    let (name, home, shell) = match (db.user_by_uid(me.uid), entry) {
        (Some(e), _) => (Some(e.name.clone()), PathBuf::from(&e.home), Some(e.shell.clone())),
        (None, Some(e)) => (Some(e.name.clone()), e.home.clone(), Some(e.shell.clone())),
        (None, None) => (None, PathBuf::from("/tmp"), None),
    };
    let shell = shell.filter(|s| !s.is_empty());
    Identity { uid: me.uid, gid: me.gid, groups, name, home, shell }
}

/// Appends `entry` to `root`/etc/passwd in place: such images make the file
/// writable, not /etc, so a rename could not work. One `O_APPEND` write of
/// one line: a failure leaves the file as it was. The file is opened
/// without following a link and without blocking, and must be regular.
pub fn append_entry(root: &Path, entry: &OwnEntry, me: Me) -> std::io::Result<()> {
    let invalid = std::io::ErrorKind::InvalidData;
    let home = entry.home.to_str();
    let home = home.ok_or_else(|| std::io::Error::new(invalid, format!("{:?}: not UTF-8", entry.home)))?;
    entries::name(&entry.name)
        .and_then(|()| entries::path(home))
        .and_then(|()| entries::path(&entry.shell))
        .map_err(|e| std::io::Error::new(invalid, e))?;
    let etc = crate::safe_fs::Dir::base(root)?.resolve_dir(Path::new("/etc"), None)?;
    let file = etc.open_append(std::ffi::OsStr::new("passwd"))?;
    let meta = file.metadata()?;
    let mut last = [b'\n'];
    if meta.len() > 0 {
        file.read_exact_at(&mut last, meta.len() - 1)?;
    }
    let lead = if last[0] == b'\n' { "" } else { "\n" };
    let (name, shell) = (&entry.name, &entry.shell);
    let line = format!("{lead}{name}:x:{}:{}:{name}:{home}:{shell}\n", me.uid, me.gid);
    (&file).write_all(line.as_bytes())
}

#[cfg(test)]
mod tests;
