//! A destination that already holds what would be rendered is not written
//! again (docs/reference.md, "Templates"): a restart with unchanged
//! configuration writes nothing, a wrong mode is set in place, and a file
//! with another owner or a second hard link is replaced, never changed in
//! place (docs/security.md).

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use common::{TempDir, init_cmd, stderr_of};

/// Renders `a.tmpl` to `out/a.conf` (mode 0640, owner `owner`, if any).
fn render(dir: &TempDir, owner: Option<&str>) -> String {
    let owner = owner.map(|o| format!("owner = \"{o}\"\n")).unwrap_or_default();
    let config = format!(
        "[[template]]\nsrc = \"a.tmpl\"\ndest = \"{}\"\nmode = \"0640\"\n{owner}",
        dir.s("out/a.conf")
    );
    fs::write(dir.join("init.toml"), config).unwrap();
    let out =
        init_cmd().arg("-c").arg(dir.join("init.toml")).arg("render").env("PORT", "80").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    stderr_of(&out)
}

fn setup(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    fs::create_dir(dir.join("out")).unwrap();
    fs::write(dir.join("a.tmpl"), "port=<<PORT>>\n").unwrap();
    dir
}

#[test]
fn the_same_content_is_not_written_again_and_a_wrong_mode_is_set_in_place() {
    let dir = setup("same");
    assert!(render(&dir, None).contains("rendered"));
    let before = fs::metadata(dir.join("out/a.conf")).unwrap();
    // What `init -v` would call "unchanged" is silent at the default level.
    assert_eq!(render(&dir, None), "");
    let after = fs::metadata(dir.join("out/a.conf")).unwrap();
    assert_eq!(
        (after.ino(), after.mtime_nsec(), after.ctime_nsec()),
        (before.ino(), before.mtime_nsec(), before.ctime_nsec())
    );
    fs::set_permissions(dir.join("out/a.conf"), fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(render(&dir, None), "");
    let fixed = fs::metadata(dir.join("out/a.conf")).unwrap();
    assert_eq!(
        (fixed.ino(), fixed.mode() & 0o7777),
        (before.ino(), 0o640),
        "the same file, its mode corrected"
    );
    // A changed value is written, as a new file.
    fs::write(dir.join("a.tmpl"), "port=<<PORT>>\nmore\n").unwrap();
    render(&dir, None);
    assert_eq!(fs::read_to_string(dir.join("out/a.conf")).unwrap(), "port=80\nmore\n");
    assert_ne!(fs::metadata(dir.join("out/a.conf")).unwrap().ino(), before.ino(), "a new file");
}

#[test]
fn another_owner_or_a_second_hard_link_is_replaced_not_changed_in_place() {
    let dir = setup("links");
    render(&dir, Some("1234:1234"));
    let first = fs::metadata(dir.join("out/a.conf")).unwrap().ino();
    assert_eq!(render(&dir, Some("1234:1234")), "", "owned as asked: left alone");
    assert_eq!(fs::metadata(dir.join("out/a.conf")).unwrap().ino(), first);
    // Another owner wanted: a new file, not a chown of the old one.
    render(&dir, Some("4321:4321"));
    let second = fs::metadata(dir.join("out/a.conf")).unwrap();
    assert_ne!(second.ino(), first);
    assert_eq!((second.uid(), second.gid()), (4321, 4321));
    // A hard link (say, planted to a file elsewhere) with the same bytes:
    // the destination is replaced and the other name keeps its mode.
    fs::hard_link(dir.join("out/a.conf"), dir.join("elsewhere")).unwrap();
    fs::set_permissions(dir.join("elsewhere"), fs::Permissions::from_mode(0o600)).unwrap();
    render(&dir, Some("4321:4321"));
    assert_ne!(fs::metadata(dir.join("out/a.conf")).unwrap().ino(), second.ino());
    assert_eq!(fs::metadata(dir.join("elsewhere")).unwrap().mode() & 0o7777, 0o600);
}
