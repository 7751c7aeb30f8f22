//! The runtime user (`[user]`): make /etc/passwd, /etc/group and /etc/shadow
//! agree with it, as pure edits of their text (every other line is kept byte
//! for byte), then written atomically with their modes and owners kept. No
//! `useradd`, no shell: it works on scratch, busybox, distroless and Debian.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::config::{RuntimeUser, UserSpec};
use crate::entries;
use crate::error::Error;
use crate::safe_fs::Dir;
use crate::setup::nonroot::{self, Me};
use crate::setup::user::{Db, Identity, PasswdEntry, parse_group, parse_passwd, resolve};
use crate::sysdirs::is_system_dir;

/// The three files' new text (`None`: unchanged) and what was done.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Edit {
    pub passwd: Option<String>,
    pub group: Option<String>,
    pub shadow: Option<String>,
    pub actions: Vec<String>,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

/// Why `[user]` cannot be made to exist (exit 67): each names the user,
/// group or uid at fault.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("uid {uid} for user {name:?} is already held by user {holder:?}")]
    UidTaken { uid: u32, name: String, holder: String },
    #[error("user {0:?} does not exist in /etc/passwd and [user] gives no uid to create it")]
    NoUid(String),
    #[error("group {0:?} (in [user] groups) not found in /etc/group")]
    NoGroup(String),
}

crate::error::debug_by_display!(Refused);

/// Plans the edits that make the files agree with `want`. Errors (exit 67)
/// name the user, group or uid at fault; the files are then left untouched.
pub fn plan(passwd: &str, group: &str, shadow: Option<&str>, want: &RuntimeUser) -> Result<Edit, Refused> {
    let users = parse_passwd(passwd);
    let name = want.name.as_str();
    let existing = users.iter().find(|u| u.name == name);
    let (uid, gid) = ids(&users, existing, want)?;
    let mut edit = Edit { uid, gid, ..Edit::default() };
    let group_text = plan_groups(group, want, gid, &mut edit.actions)?;
    let (passwd_text, home) = plan_passwd(passwd, existing, want, uid, gid, &mut edit.actions);
    edit.home = home;
    if let Some(shadow) = shadow
        && !shadow.lines().any(|l| l.split(':').next() == Some(name))
    {
        edit.shadow = Some(append_line(shadow, &format!("{name}:!::0:99999:7:::")));
    }
    edit.passwd = (passwd_text != passwd).then_some(passwd_text);
    edit.group = (group_text != group).then_some(group_text);
    Ok(edit)
}

/// The uid and primary gid the user ends up with: `[user]`'s where given,
/// else the existing entry's; a new user needs at least a uid.
fn ids(
    users: &[PasswdEntry],
    existing: Option<&PasswdEntry>,
    want: &RuntimeUser,
) -> Result<(u32, u32), Refused> {
    let name = want.name.as_str();
    if let Some(uid) = want.uid
        && let Some(other) = users.iter().find(|u| u.uid == uid && u.name != name)
    {
        return Err(Refused::UidTaken { uid, name: name.into(), holder: other.name.clone() });
    }
    let (uid, current_gid) = match (existing, want.uid) {
        (Some(e), wanted) => (wanted.unwrap_or(e.uid), e.gid),
        (None, Some(uid)) => (uid, want.gid.unwrap_or(uid)),
        (None, None) => return Err(Refused::NoUid(name.into())),
    };
    Ok((uid, want.gid.unwrap_or(current_gid)))
}

/// /etc/group's new text: the primary group and the user's membership of
/// `[user]`'s extra groups, each change recorded in `actions`.
fn plan_groups(
    group: &str,
    want: &RuntimeUser,
    gid: u32,
    actions: &mut Vec<String>,
) -> Result<String, Refused> {
    let groups = parse_group(group);
    let name = want.name.as_str();
    let mut group_text = group.to_string();
    // The primary group: a group named like the user is created or renumbered,
    // unless another group already holds the gid (then that one is used).
    let holder = groups.iter().find(|g| g.gid == gid);
    match (groups.iter().find(|g| g.name == name), holder) {
        (_, Some(_)) => {}
        (Some(own), None) => {
            group_text = replace_field(&group_text, name, 2, &gid.to_string());
            actions.push(format!("renumbered group {name} {} -> {gid}", own.gid));
        }
        (None, None) => {
            group_text = append_line(&group_text, &format!("{name}:x:{gid}:"));
            actions.push(format!("created group {name} gid={gid}"));
        }
    }
    for extra in &want.groups {
        let Some(g) = groups.iter().find(|g| &g.name == extra) else {
            return Err(Refused::NoGroup(extra.clone()));
        };
        if !g.members.iter().any(|m| m == name) {
            let members = g.members.iter().map(String::as_str).chain([name]).collect::<Vec<_>>().join(",");
            group_text = replace_field(&group_text, extra, 3, &members);
            actions.push(format!("added {name} to group {extra}"));
        }
    }
    Ok(group_text)
}

/// /etc/passwd's new text and the user's home: an existing entry gets only
/// the fields that differ rewritten, a missing one is appended.
fn plan_passwd(
    passwd: &str,
    existing: Option<&PasswdEntry>,
    want: &RuntimeUser,
    uid: u32,
    gid: u32,
    actions: &mut Vec<String>,
) -> (String, PathBuf) {
    let name = want.name.as_str();
    let mut passwd_text = passwd.to_string();
    match existing {
        Some(e) => {
            let home = want.home.as_ref().map(|h| h.display().to_string()).unwrap_or_else(|| e.home.clone());
            let shell =
                want.shell.as_ref().map(|s| s.display().to_string()).unwrap_or_else(|| e.shell.clone());
            for (field, old, new) in [
                (2, e.uid.to_string(), uid.to_string()),
                (3, e.gid.to_string(), gid.to_string()),
                (5, e.home.clone(), home.clone()),
                (6, e.shell.clone(), shell),
            ] {
                if old != new {
                    passwd_text = replace_field(&passwd_text, name, field, &new);
                    actions.push(format!(
                        "changed user {name}: {} {old} -> {new}",
                        ["", "", "uid", "gid", "", "home", "shell"][field]
                    ));
                }
            }
            (passwd_text, PathBuf::from(home))
        }
        None => {
            let home = want.home.clone().unwrap_or_else(|| PathBuf::from(format!("/home/{name}")));
            let shell = want.shell.as_ref().map_or("/bin/sh".to_string(), |s| s.display().to_string());
            passwd_text =
                append_line(&passwd_text, &format!("{name}:x:{uid}:{gid}::{}:{shell}", home.display()));
            actions.push(format!("created user {name} uid={uid} gid={gid} home={}", home.display()));
            (passwd_text, home)
        }
    }
}

/// Replaces field `index` (0-based) of the line whose first field is `key`.
fn replace_field(text: &str, key: &str, index: usize, value: &str) -> String {
    let mut out = String::with_capacity(text.len() + value.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let mut fields: Vec<&str> = body.split(':').collect();
        if fields.first() == Some(&key) && fields.len() > index && !body.starts_with('#') {
            fields[index] = value;
            out.push_str(&fields.join(":"));
            out.push_str(&line[body.len()..]);
        } else {
            out.push_str(line);
        }
    }
    out
}

fn append_line(text: &str, line: &str) -> String {
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(line);
    out.push('\n');
    out
}

/// Applies `[user]` under `root`: edits the files (only those that change)
/// and makes sure the home directory exists and is owned by the user.
pub fn apply(root: &Path, want: &RuntimeUser) -> Result<Edit, Error> {
    let (edit, _) = plan_at(root, want)?;
    write(root, &edit)?;
    Ok(edit)
}

/// The edit `[user]` needs under `root`, and the user database as it will
/// be once written (owners and users are resolved against it: docs/reference.md,
/// "Identity"); nothing is written.
pub fn plan_at(root: &Path, want: &RuntimeUser) -> Result<(Edit, Db), Error> {
    // Config checking refused these already; checked again here, where the
    // edit to be written is made, so no other caller can inject a line.
    entries::runtime_user(want)?;
    let read = |f: &str| fs::read_to_string(root.join(f));
    let passwd = read("etc/passwd").unwrap_or_default();
    let group = read("etc/group").unwrap_or_default();
    let shadow = read("etc/shadow").ok();
    let edit = plan(&passwd, &group, shadow.as_deref(), want)?;
    let db = Db {
        passwd: parse_passwd(edit.passwd.as_deref().unwrap_or(&passwd)),
        groups: parse_group(edit.group.as_deref().unwrap_or(&group)),
    };
    Ok((edit, db))
}

/// Writes an edit made by `plan_at` (only the files that change) and
/// makes sure the home directory exists and is owned by the user.
pub fn write(root: &Path, edit: &Edit) -> Result<(), Error> {
    for (file, text) in
        [("etc/group", &edit.group), ("etc/passwd", &edit.passwd), ("etc/shadow", &edit.shadow)]
    {
        if let Some(text) = text {
            replace_file(&root.join(file), text)?;
        }
    }
    if edit.home != Path::new("/") && edit.home.is_absolute() {
        make_home(root, edit)?;
    }
    Ok(())
}

/// Creates the home directory (missing parents 0755) and gives it to the
/// user, through the safe layer: a link planted by anyone but root is not
/// followed, and a home that is (or resolves to) a system directory is
/// left as it is (an image user's home such as daemon's /usr/sbin).
fn make_home(root: &Path, edit: &Edit) -> Result<(), Error> {
    let fail = |e| Error::io(&edit.home, e);
    let base = Dir::base(root).map_err(fail)?;
    let dir = base.resolve_dir(&edit.home, Some(0o755)).map_err(fail)?;
    let real = Path::new("/").join(dir.path().strip_prefix(root).unwrap_or(dir.path()));
    if let Some(why) = is_system_dir(&real) {
        tracing::warn!(home = %edit.home.display(), "home resolves to {} ({why}): its owner is left alone", real.display());
        return Ok(());
    }
    // A home the user already owns is left as it is: its group may be 0 on
    // purpose (an image that also runs as OpenShift's random uid), and a
    // read-only root must not need a write (docs/running-restricted.md).
    let st = dir.stat().map_err(fail)?;
    if st.st_uid != edit.uid {
        let hint = "build the home into the image owned by the user, or mount a writable volume there";
        let chown = |source| Error::Chown { path: edit.home.clone(), source }.hinted(hint);
        dir.chown(edit.uid, edit.gid).map_err(chown)?;
    }
    Ok(())
}

/// Writes `text` to `path` atomically, keeping the file's mode and owner.
fn replace_file(path: &Path, text: &str) -> Result<(), Error> {
    let hint = "build the user into the image (as [user] has it), or run with a writable /etc";
    let fail = |e| Error::io(path, e).hinted(hint);
    let meta = fs::metadata(path).ok();
    let mode = meta.as_ref().map_or(0o644, |m| m.mode() & 0o7777);
    let owner = meta.as_ref().map(|m| (m.uid(), m.gid()));
    let (dir, name) = crate::safe_fs::root().and_then(|b| b.resolve_parent(path, None)).map_err(fail)?;
    dir.write_file(&name, text.as_bytes(), mode, owner, true).map_err(fail)
}

/// The identity for `spec` (`what` names who asked for it: a service,
/// `--user`). Not root, anyone but init itself is a skipped step: one WARN,
/// and the child runs as init; `runtime` (`[user]`) names init itself
/// (docs/running-restricted.md).
pub fn identity_for(
    spec: &UserSpec,
    what: &str,
    runtime: Option<&RuntimeUser>,
) -> Result<Option<Identity>, Error> {
    let me = Me::current();
    let db = Db::load(Path::new("/"));
    let known = nonroot::with_runtime_user(db.clone(), runtime, me);
    let id = resolve(&known, spec, nix::unistd::getgid().as_raw())?;
    if me.is_root() {
        return Ok(Some(id));
    }
    if let Some(step) = nonroot::switch_step(what, spec, Some((id.uid, id.gid)), me) {
        tracing::warn!("{step}");
    }
    Ok(Some(nonroot::own_identity(&db, me, None)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\ngames:x:5:60:games:/usr/games:/usr/sbin/nologin\n";
    const GROUP: &str = "root:x:0:\ngames:x:60:\nusers:x:100:games\n";

    fn want(name: &str, uid: Option<u32>, gid: Option<u32>) -> RuntimeUser {
        RuntimeUser { name: name.into(), uid, gid, ..RuntimeUser::default() }
    }

    #[test]
    fn a_new_user_and_group_are_appended_and_other_lines_kept() {
        let mut w = want("app", Some(1000), Some(1001));
        w.groups = vec!["users".into()];
        let e = plan(PASSWD, GROUP, Some("root:*:1::::::\n"), &w).unwrap();
        assert_eq!(e.passwd.unwrap(), format!("{PASSWD}app:x:1000:1001::/home/app:/bin/sh\n"));
        assert_eq!(e.group.unwrap(), "root:x:0:\ngames:x:60:\nusers:x:100:games,app\napp:x:1001:\n");
        assert_eq!(e.shadow.unwrap(), "root:*:1::::::\napp:!::0:99999:7:::\n");
        assert_eq!((e.uid, e.gid, e.home), (1000, 1001, PathBuf::from("/home/app")));
    }

    #[test]
    fn an_existing_user_is_renumbered_and_a_second_run_changes_nothing() {
        let w = want("games", Some(2000), Some(2000));
        let e = plan(PASSWD, GROUP, None, &w).unwrap();
        let passwd = e.passwd.unwrap();
        let group = e.group.unwrap();
        assert_eq!(
            passwd,
            "root:x:0:0:root:/root:/bin/sh\ngames:x:2000:2000:games:/usr/games:/usr/sbin/nologin\n"
        );
        assert_eq!(group, "root:x:0:\ngames:x:2000:\nusers:x:100:games\n");
        let again = plan(&passwd, &group, None, &w).unwrap();
        assert_eq!((again.passwd, again.group, again.actions.len()), (None, None, 0));
    }

    #[test]
    fn a_uid_held_by_another_user_or_a_missing_user_without_ids_is_refused() {
        let err = plan(PASSWD, GROUP, None, &want("app", Some(5), None)).unwrap_err();
        assert_eq!(err, Refused::UidTaken { uid: 5, name: "app".into(), holder: "games".into() });
        assert_eq!(err.to_string(), "uid 5 for user \"app\" is already held by user \"games\"");
        let err = plan(PASSWD, GROUP, None, &want("postgres", None, None)).unwrap_err();
        assert_eq!(err, Refused::NoUid("postgres".into()));
        let mut w = want("app", Some(1000), None);
        w.groups = vec!["wheel".into()];
        assert_eq!(plan(PASSWD, GROUP, None, &w).unwrap_err(), Refused::NoGroup("wheel".into()));
    }

    #[test]
    fn a_gid_held_by_another_group_is_used_as_it_is() {
        let e = plan(PASSWD, GROUP, None, &want("app", Some(1000), Some(100))).unwrap();
        assert_eq!(e.group, None);
        assert_eq!(e.gid, 100);
    }

    #[test]
    fn the_writer_refuses_an_injected_line_and_leaves_the_files_alone() {
        let root = std::env::temp_dir().join(format!("mooring-account-{}", std::process::id()));
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::write(root.join("etc/passwd"), PASSWD).unwrap();
        let mut w = want("app", Some(1000), Some(1000));
        w.home = Some("/home/app:0:0::/:/bin/sh\nx".into());
        let err = apply(&root, &w).unwrap_err();
        assert!(matches!(err, Error::Entry(entries::Refused { field: "home", .. })), "{err}");
        assert_eq!(err.exit_code(), 78);
        assert!(
            err.to_string().starts_with("[user] home \"/home/app:0:0::/:/bin/sh\\nx\" contains"),
            "{err}"
        );
        w.home = Some("/etc".into());
        assert!(apply(&root, &w).unwrap_err().to_string().contains("/etc is a system tree"));
        assert_eq!(fs::read_to_string(root.join("etc/passwd")).unwrap(), PASSWD);
        assert!(!root.join("etc/group").exists());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn an_image_user_without_ids_is_used_as_it_is() {
        let e = plan(PASSWD, GROUP, None, &want("games", None, None)).unwrap();
        assert_eq!((e.passwd, e.group, e.uid, e.gid), (None, None, 5, 60));
    }
}
