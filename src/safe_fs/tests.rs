//! The layer's rules, each as the attack it stops. Run as root (as CI does):
//! the attacker's links are given uid 1000 with lchown.

use super::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mooring-safefs-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn attacker_link(target: &Path, link: &Path) {
    symlink(target, link).unwrap();
    std::os::unix::fs::lchown(link, Some(1000), Some(1000)).unwrap();
}

#[test]
fn a_planted_symlink_at_the_destination_is_replaced_not_followed() {
    let dir = scratch("dest");
    let victim = dir.join("victim");
    std::fs::write(&victim, "secret").unwrap();
    attacker_link(&victim, &dir.join("out"));
    let base = Dir::base(&dir).unwrap();
    base.write_file(OsStr::new("out"), b"new", 0o640, None, true).unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "secret");
    let out = std::fs::symlink_metadata(dir.join("out")).unwrap();
    assert!(out.is_file());
    assert_eq!(out.mode() & 0o7777, 0o640);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2, "no temporary file left");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_attackers_symlink_on_the_way_is_refused_and_roots_is_followed() {
    let dir = scratch("way");
    std::fs::create_dir(dir.join("real")).unwrap();
    attacker_link(&dir.join("real"), &dir.join("theirs"));
    symlink("real", dir.join("ours")).unwrap();
    let base = Dir::base(&dir).unwrap();
    let err = base.resolve_dir(Path::new("theirs/sub"), Some(0o755)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
    assert!(err.to_string().contains("theirs is a symlink owned by uid 1000"), "{err}");
    assert!(!dir.join("real/sub").exists(), "nothing made through the attacker's link");
    let sub = base.resolve_dir(Path::new("/ours/sub"), Some(0o755)).unwrap();
    assert_eq!(sub.path(), dir.join("real/sub"), "the real path, links expanded");
    assert!(dir.join("real/sub").is_dir());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn roots_link_in_a_directory_others_may_write_is_refused() {
    let dir = scratch("open");
    std::fs::create_dir(dir.join("shared")).unwrap();
    std::fs::set_permissions(dir.join("shared"), std::fs::Permissions::from_mode(0o1777)).unwrap();
    symlink("/etc", dir.join("shared/etc")).unwrap();
    let err = Dir::base(&dir).unwrap().resolve_dir(Path::new("shared/etc"), None).unwrap_err();
    assert!(err.to_string().contains("in a directory others may write"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reads_refuse_fifos_devices_and_links_without_blocking_and_are_bounded() {
    let dir = scratch("read");
    nix::unistd::mkfifo(&dir.join("fifo"), Mode::from_bits_truncate(0o644)).unwrap();
    attacker_link(Path::new("/dev/zero"), &dir.join("zero"));
    std::fs::write(dir.join("big"), vec![b'x'; 5000]).unwrap();
    std::fs::write(dir.join("ok"), "fine").unwrap();
    let base = Dir::base(&dir).unwrap();
    let fifo = base.read(OsStr::new("fifo"), 4096).unwrap_err();
    assert!(fifo.to_string().contains("a FIFO"), "{fifo}");
    assert!(base.read(OsStr::new("zero"), 4096).unwrap_err().to_string().contains("symlink"));
    assert!(base.read_input(Path::new("/zero"), 4096).unwrap_err().to_string().contains("owned by uid 1000"));
    assert!(base.read(OsStr::new("big"), 4096).unwrap_err().to_string().contains("4096-byte limit"));
    assert_eq!(base.read(OsStr::new("ok"), 4096).unwrap(), b"fine");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn inputs_follow_a_root_owned_configmap_style_symlink_farm() {
    let dir = scratch("cm");
    std::fs::create_dir_all(dir.join("cfg/..2026_11_30")).unwrap();
    std::fs::write(dir.join("cfg/..2026_11_30/site.conf"), "v2").unwrap();
    symlink("..2026_11_30", dir.join("cfg/..data")).unwrap();
    symlink("..data/site.conf", dir.join("cfg/site.conf")).unwrap();
    let base = Dir::base(&dir).unwrap();
    assert_eq!(base.read_input(Path::new("/cfg/site.conf"), 100).unwrap(), b"v2");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_planted_temporary_name_neither_redirects_nor_fails_a_write() {
    let dir = scratch("temp");
    // Every name of the old predictable form, and the new form's prefix.
    attacker_link(Path::new("/etc/shadow"), &dir.join(".out.tmp"));
    let base = Dir::base(&dir).unwrap();
    for _ in 0..50 {
        base.write_file(OsStr::new("out"), b"x", 0o600, None, false).unwrap();
    }
    assert_eq!(std::fs::read(dir.join("out")).unwrap(), b"x");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}
