//! Volume ownership through the real binary: chown of what differs only,
//! never following links out of the tree, seeding an empty volume, system
//! directories refused, no walker thread left behind, other filesystems
//! left alone.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::Path;
use std::process::{Command, Output};

use common::{TempDir, init_cmd, stderr_of, stdout_of};

/// A volume config in `dir` for `path` owned by 1000:1000, plus extra lines.
fn volume(dir: &TempDir, path: &Path, extra: &str) -> Output {
    let conf = dir.join("init.toml");
    fs::write(&conf, format!("[[volume]]\npath = \"{}\"\nowner = \"1000:1000\"\n{extra}", path.display()))
        .unwrap();
    init_cmd().arg("-c").arg(&conf).args(["--", "true"]).output().unwrap()
}

#[test]
fn chown_changes_only_what_differs_and_never_follows_links_out_of_the_tree() {
    let dir = TempDir::new("vol");
    let vol = dir.join("data");
    fs::create_dir_all(vol.join("sub/deeper")).unwrap();
    fs::write(vol.join("sub/deeper/f"), "x").unwrap();
    fs::write(vol.join("owned"), "x").unwrap();
    std::os::unix::fs::chown(vol.join("owned"), Some(1000), Some(1000)).unwrap();
    let outside = dir.join("outside");
    fs::create_dir_all(outside.join("d")).unwrap();
    fs::write(outside.join("secret"), "x").unwrap();
    symlink(outside.join("secret"), vol.join("link-to-file")).unwrap();
    symlink(outside.join("d"), vol.join("link-to-dir")).unwrap();
    fs::hard_link(outside.join("secret"), vol.join("hardlink")).unwrap();
    let ctime = fs::metadata(vol.join("owned")).unwrap().ctime_nsec();
    let o = volume(&dir, &vol, "mode = \"0750\"\n");
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    for p in ["", "sub", "sub/deeper", "sub/deeper/f", "owned"] {
        let m = fs::metadata(vol.join(p)).unwrap();
        assert_eq!((m.uid(), m.gid()), (1000, 1000), "{p}");
    }
    assert_eq!(fs::metadata(vol.join("owned")).unwrap().ctime_nsec(), ctime, "an owned file is not touched");
    let link = fs::symlink_metadata(vol.join("link-to-file")).unwrap();
    assert_eq!((link.uid(), link.gid()), (1000, 1000), "the link itself is chowned");
    for p in ["secret", "d"] {
        let m = fs::metadata(outside.join(p)).unwrap();
        assert_eq!((m.uid(), m.gid()), (0, 0), "{p} outside the volume is untouched");
    }
    // A second name of a file elsewhere is left alone (chowning it would chown that file).
    let hard = fs::symlink_metadata(vol.join("hardlink")).unwrap();
    assert_eq!((hard.uid(), hard.gid(), hard.nlink()), (0, 0, 2), "the hard-linked file is untouched");
    assert_eq!(fs::metadata(&vol).unwrap().mode() & 0o777, 0o750);
}

#[test]
fn an_empty_volume_is_seeded_and_a_used_one_is_not() {
    let dir = TempDir::new("seed");
    let seed = dir.join("seed");
    fs::create_dir_all(seed.join("conf")).unwrap();
    fs::write(seed.join("conf/app.ini"), "default\n").unwrap();
    let vol = dir.join("data");
    let o = volume(&dir, &vol, &format!("seed = \"{}\"\n", seed.display()));
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    assert_eq!(fs::read_to_string(vol.join("conf/app.ini")).unwrap(), "default\n");
    assert_eq!(fs::metadata(vol.join("conf/app.ini")).unwrap().uid(), 1000);
    fs::write(vol.join("conf/app.ini"), "edited\n").unwrap();
    fs::write(seed.join("new"), "x").unwrap();
    let o = volume(&dir, &vol, &format!("seed = \"{}\"\n", seed.display()));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(fs::read_to_string(vol.join("conf/app.ini")).unwrap(), "edited\n");
    assert!(!vol.join("new").exists());
}

#[test]
fn system_directories_are_refused_as_volumes() {
    let dir = TempDir::new("etcvol");
    let o = volume(&dir, Path::new("/etc"), "");
    assert_eq!(o.status.code(), Some(78));
    assert!(stderr_of(&o).contains("/etc cannot be a volume: /etc is a system tree"), "{}", stderr_of(&o));
    // Through a symlink too.
    symlink("/usr", dir.join("sneaky")).unwrap();
    let o = volume(&dir, &dir.join("sneaky"), "");
    assert_eq!(o.status.code(), Some(78), "{}", stderr_of(&o));
    assert!(
        stderr_of(&o).contains("resolves to /usr (/usr is a system directory) and cannot be a volume"),
        "{}",
        stderr_of(&o)
    );
}

#[test]
fn no_walker_thread_is_left_when_the_command_starts() {
    // The chown walk's threads must be gone (joined) before init forks: a
    // SIGCHLD delivered to a lingering walker thread would be lost and init
    // would wait forever. The child sees its parent, init, with one thread.
    let dir = TempDir::new("walkrace");
    for d in 0..8 {
        fs::create_dir_all(dir.join(&format!("data/d{d}"))).unwrap();
    }
    let conf = dir.join("init.toml");
    fs::write(
        &conf,
        format!("[[volume]]\npath = \"{}\"\nowner = \"1000:1000\"\n", dir.join("data").display()),
    )
    .unwrap();
    for i in 0..20 {
        let o = Command::new("timeout")
            .args([
                "10",
                common::INIT,
                "-q",
                "-c",
                conf.to_str().unwrap(),
                "--",
                "sh",
                "-c",
                "grep Threads /proc/$PPID/status",
            ])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        assert_eq!(
            (o.status.code(), stdout_of(&o).as_str()),
            (Some(0), "Threads:\t1\n"),
            "run {i}: {}",
            stderr_of(&o)
        );
    }
}

#[test]
fn the_walk_stops_at_other_filesystems() {
    // A tmpfs mounted inside the volume (in a private mount namespace): its
    // contents keep their owner, the volume's own files are chowned.
    let dir = TempDir::new("onefs");
    let vol = dir.join("data");
    fs::create_dir_all(vol.join("mnt")).unwrap();
    fs::write(vol.join("mine"), "x").unwrap();
    let conf = dir.join("init.toml");
    fs::write(&conf, format!("[[volume]]\npath = \"{}\"\nowner = \"1000:1000\"\n", vol.display())).unwrap();
    let script = format!(
        "mount -t tmpfs tmpfs {v}/mnt && touch {v}/mnt/other && \"$INIT\" -q -c {c} -- true && stat -c %u {v}/mnt/other",
        v = vol.display(),
        c = conf.display()
    );
    let o = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("INIT", common::INIT)
        .output()
        .unwrap();
    assert_eq!((o.status.code(), stdout_of(&o).as_str()), (Some(0), "0\n"), "{}", stderr_of(&o));
    assert_eq!(fs::metadata(vol.join("mine")).unwrap().uid(), 1000);
}
