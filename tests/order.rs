//! The order of boot's phases through the real static binary (dist/init,
//! built by `make build`) chrooted into a fresh busybox rootfs that has no
//! app user yet: every owner is resolved after `[user]` made the runtime
//! user, and `init check` resolves it the same way without writing.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{TempDir, stderr_of, stdout_of};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A busybox rootfs with root only and init at /init; init.toml is `config`.
fn rootfs(tag: &str, config: &str) -> TempDir {
    let dir = TempDir::new(tag);
    let r = dir.path();
    for d in ["bin", "etc", "tmp", "root", "proc", "opt/config"] {
        fs::create_dir_all(r.join(d)).unwrap();
    }
    let init = Path::new(ROOT).join("dist/init");
    assert!(init.exists(), "dist/init is missing: run `make build` (make test does)");
    for (from, to) in [(PathBuf::from("/bin/busybox"), "bin/busybox"), (init, "init")] {
        assert!(Command::new("cp").arg(from).arg(r.join(to)).status().unwrap().success());
    }
    symlink("busybox", r.join("bin/true")).unwrap();
    fs::write(r.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    fs::write(r.join("etc/group"), "root:x:0:\n").unwrap();
    fs::write(r.join("opt/config/init.toml"), config).unwrap();
    dir
}

/// `init ARGS` chrooted into `root` in a private mount namespace.
fn chrooted(root: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let script = format!("mount -t proc proc {r}/proc && exec chroot {r} /init \"$@\"", r = root.display());
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c", &script, "sh"])
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    cmd.envs(env.iter().copied());
    cmd.output().unwrap()
}

const APP: &str = "[user]\nname = \"app\"\nuid = \"<<USER_UID:-1000>>\"\n\
                   [[template]]\nsrc = \"app.tmpl\"\ndest = \"/etc/app.conf\"\nowner = \"app\"\nmode = \"0600\"\n";

#[test]
fn a_template_owner_follows_user_uid_on_a_fresh_image() {
    let r = rootfs("order-owner", APP);
    fs::write(r.join("opt/config/app.tmpl"), "secret=1\n").unwrap();
    let check = chrooted(r.path(), &[("USER_UID", "2000")], &["check"]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr_of(&check));
    assert!(
        stdout_of(&check).contains("/etc/app.conf (mode 0600, owner 2000:2000)\n"),
        "check resolves the owner as [user] will leave it: {}",
        stdout_of(&check)
    );
    assert!(!r.join("etc/app.conf").exists(), "check writes nothing");
    let boot = chrooted(r.path(), &[("USER_UID", "2000")], &["--", "true"]);
    assert_eq!(boot.status.code(), Some(0), "{}", stderr_of(&boot));
    let meta = fs::metadata(r.join("etc/app.conf")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (2000, 2000));
    let passwd = fs::read_to_string(r.join("etc/passwd")).unwrap();
    assert!(passwd.contains("app:x:2000:2000::/home/app:/bin/sh\n"), "{passwd}");
}

#[test]
fn an_unknown_user_group_stops_the_boot_with_67_before_anything_changes() {
    let config = APP.replace("uid = \"<<USER_UID:-1000>>\"\n", "uid = 1000\ngroups = [\"nogroup-xyz\"]\n");
    let r = rootfs("order-group", &config);
    fs::write(r.join("opt/config/app.tmpl"), "x\n").unwrap();
    let boot = chrooted(r.path(), &[], &["--", "true"]);
    assert_eq!(boot.status.code(), Some(67), "{}", stderr_of(&boot));
    let err = stderr_of(&boot);
    assert!(err.contains("group \"nogroup-xyz\" (in [user] groups) not found in /etc/group"), "{err}");
    assert_eq!(fs::read_to_string(r.join("etc/passwd")).unwrap(), "root:x:0:0:root:/root:/bin/sh\n");
    assert!(!r.join("etc/app.conf").exists(), "no template is written");
    let check = chrooted(r.path(), &[], &["check"]);
    assert_eq!(check.status.code(), Some(78), "{}", stderr_of(&check));
    assert!(stderr_of(&check).contains("\"nogroup-xyz\" (in [user] groups)"));
}
