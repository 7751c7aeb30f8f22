use super::*;
use crate::setup::user::{parse_group, parse_passwd};

const ME: Me = Me { uid: 1000470000, gid: 0 };

fn db() -> Db {
    Db {
        passwd: parse_passwd("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"),
        groups: parse_group("root:x:0:\napp:x:1000:\n"),
    }
}

fn want(name: &str, uid: Option<u32>) -> RuntimeUser {
    RuntimeUser { name: name.into(), uid, ..RuntimeUser::default() }
}

#[test]
fn the_runtime_user_is_skipped_unless_init_already_is_it() {
    let as_1000 = Me { uid: 1000, gid: 1000 };
    type Row = (RuntimeUser, Me, Option<&'static str>);
    let table: [Row; 5] = [
        (want("app", Some(1000)), as_1000, None),
        // No ids in [user]: the image's entry says which uid it is.
        (want("app", None), as_1000, None),
        (
            want("app", Some(1000)),
            ME,
            Some(
                "not root: user \"app\" (uid 1000) not created; children run as init's own uid 1000470000:0",
            ),
        ),
        (
            want("web", None),
            ME,
            Some("not root: user \"web\" not created; children run as init's own uid 1000470000:0"),
        ),
        (want("web", Some(1000470000)), ME, None),
    ];
    for (w, me, expected) in table {
        assert_eq!(runtime_user_step(&w, &db(), me).as_deref(), expected, "{} as {me:?}", w.name);
    }
}

#[test]
fn a_switch_to_anyone_else_is_skipped() {
    let spec = UserSpec { user: "postgres".into(), group: None };
    assert_eq!(switch_step("service db", &spec, Some((ME.uid, ME.gid)), ME), None);
    assert_eq!(
        switch_step("service db", &spec, Some((105, 105)), ME).as_deref(),
        Some("not root: service db runs as init's own uid 1000470000:0, not as postgres")
    );
}

#[test]
fn owners_other_than_init_are_one_line_listing_at_most_three() {
    let paths: Vec<PathBuf> = (1..=5).map(|i| PathBuf::from(format!("/etc/app/{i}.conf"))).collect();
    let mut wanted: Vec<(&Path, (u32, u32))> = paths.iter().map(|p| (p.as_path(), (1000, 1000))).collect();
    wanted[0].1 = (ME.uid, ME.gid);
    assert_eq!(
        owners_step("template owners", &wanted, ME).as_deref(),
        Some(
            "not root: template owners left as they are, uid 1000470000 may not give them away: \
             /etc/app/2.conf (1000:1000), /etc/app/3.conf (1000:1000), /etc/app/4.conf (1000:1000) and 1 more"
        )
    );
    assert_eq!(owners_step("volume owners", &wanted[..1], ME), None);
    assert_eq!(owners_step("volume owners", &[], ME), None);
}

#[test]
fn the_own_entry_is_named_after_the_runtime_user_with_a_home_init_may_write() {
    let writable = |p: &Path| p == Path::new("/etc/passwd") || p == Path::new("/srv/app");
    let mut w = want("app", Some(1000));
    w.home = Some("/srv/app".into());
    let e = own_entry(&db(), ME, Some(&w), writable).unwrap();
    assert_eq!(
        (e.name.as_str(), e.home.as_path(), e.shell.as_str(), e.append),
        ("app", Path::new("/srv/app"), "/bin/sh", true)
    );
    // A home init may not write: /tmp. A read-only /etc/passwd: nothing appended.
    let e = own_entry(&db(), ME, Some(&want("app", None)), |_| false).unwrap();
    assert_eq!((e.home.as_path(), e.append), (Path::new("/tmp"), false));
    // No [user]: "default", or "uidN" when the image has a user of that name.
    assert_eq!(own_entry(&db(), ME, None, writable).unwrap().name, "default");
    let mut taken = db();
    taken.passwd.extend(parse_passwd("default:x:5:5::/:/bin/sh\n"));
    assert_eq!(own_entry(&taken, ME, None, writable).unwrap().name, "uid1000470000");
    // A uid the image knows gets no entry.
    assert_eq!(own_entry(&db(), Me { uid: 1000, gid: 0 }, Some(&w), writable), None);
}

#[test]
fn the_entry_is_appended_as_one_line_and_never_through_a_link_or_a_fifo() {
    let root = std::env::temp_dir().join(format!("mooring-nonroot-{}", std::process::id()));
    std::fs::create_dir_all(root.join("etc")).unwrap();
    let passwd = root.join("etc/passwd");
    let entry = OwnEntry { name: "app".into(), home: "/tmp".into(), shell: "/bin/sh".into(), append: true };
    // A file without a final newline gets one first.
    std::fs::write(&passwd, "root:x:0:0:root:/root:/bin/sh").unwrap();
    append_entry(&root, &entry, ME).unwrap();
    assert_eq!(
        std::fs::read_to_string(&passwd).unwrap(),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000470000:0:app:/tmp:/bin/sh\n"
    );
    // A value that would add a line of its own is refused; the file is unchanged.
    let bad = OwnEntry { home: "/tmp\nroot2::0:0::/:/bin/sh".into(), ..entry.clone() };
    assert!(append_entry(&root, &bad, ME).is_err());
    assert_eq!(std::fs::read_to_string(&passwd).unwrap().lines().count(), 2);
    // A link is not followed; a FIFO is refused without blocking.
    std::fs::remove_file(&passwd).unwrap();
    std::os::unix::fs::symlink(root.join("target"), &passwd).unwrap();
    std::fs::write(root.join("target"), "").unwrap();
    assert!(append_entry(&root, &entry, ME).is_err());
    assert_eq!(std::fs::read_to_string(root.join("target")).unwrap(), "");
    std::fs::remove_file(&passwd).unwrap();
    nix::unistd::mkfifo(&passwd, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    assert!(append_entry(&root, &entry, ME).is_err());
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn not_root_an_owner_naming_the_runtime_user_is_init_itself() {
    let spec = |user: &str| UserSpec { user: user.into(), group: None };
    let known = with_runtime_user(db(), Some(&want("web", Some(1000))), ME);
    let id = crate::setup::user::resolve(&known, &spec("web"), 0).unwrap();
    assert_eq!((id.uid, id.gid), (ME.uid, ME.gid));
    // A user the image has keeps its own ids; as root `[user]` is made, not assumed.
    let known = with_runtime_user(db(), Some(&want("app", None)), ME);
    assert_eq!(crate::setup::user::resolve(&known, &spec("app"), 0).unwrap().uid, 1000);
    let root = Me { uid: 0, gid: 0 };
    let known = with_runtime_user(db(), Some(&want("web", None)), root);
    assert!(crate::setup::user::resolve(&known, &spec("web"), 0).is_err());
}
