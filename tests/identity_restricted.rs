//! The runtime user under OpenShift's start (docs/running-restricted.md)
//! through the real static binary (dist/init, built by `make build`): a
//! busybox-static rootfs whose /etc/passwd group 0 may write, entered by
//! chroot in a private mount namespace as a random uid with group 0. A
//! template `owner` naming `[user]` is the runtime user once init has added
//! its passwd entry, not an unknown user; as root it is the user init made.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;
use std::process::{Command, Output};

use common::{TempDir, stderr_of, stdout_of};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The image's init.toml: an `app` user the operator's uid replaces, and a
/// template owned by it (in a directory group 0 may write, as OpenShift
/// images make them).
const CONFIG: &str = "[user]\nname = \"app\"\nuid = \"1000\"\ngid = \"1000\"\nhome = \"/home/app\"\n\
                      [[template]]\nsrc = \"app.tmpl\"\ndest = \"/srv/app.conf\"\nowner = \"app\"\nmode = \"0640\"\n";

/// What the command reports: who it is, the rendered file's owner and text.
const REPORT: &str = "id; stat -c %u:%g /srv/app.conf; cat /srv/app.conf";

/// A busybox-static rootfs with root and nobody, init at /init, the config
/// above, /etc/passwd mode 0664 in a root-owned /etc, /srv mode 0775.
fn rootfs(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    let r = dir.path();
    for d in ["bin", "etc", "tmp", "proc", "dev", "srv", "opt/config"] {
        fs::create_dir_all(r.join(d)).unwrap();
    }
    let mode = |p: &Path, m: u32| fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
    mode(r, 0o755);
    mode(&r.join("tmp"), 0o1777);
    mode(&r.join("srv"), 0o775);
    let init = Path::new(ROOT).join("dist/init");
    assert!(init.exists(), "dist/init is missing: run `make build` (make test does)");
    for (from, to) in [(Path::new("/bin/busybox"), "bin/busybox"), (init.as_path(), "init")] {
        assert!(Command::new("cp").arg(from).arg(r.join(to)).status().unwrap().success());
    }
    for applet in ["sh", "id", "cat", "stat"] {
        symlink("busybox", r.join("bin").join(applet)).unwrap();
    }
    fs::write(
        r.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    )
    .unwrap();
    mode(&r.join("etc/passwd"), 0o664);
    fs::write(r.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n").unwrap();
    fs::write(r.join("opt/config/init.toml"), CONFIG).unwrap();
    fs::write(r.join("opt/config/app.tmpl"), "name=<<APP_NAME>>\n").unwrap();
    dir
}

/// `init ARGS` chrooted into `root` as `userspec` (`uid:gid`), with its own /proc.
fn boot(root: &Path, userspec: &str, args: &[&str]) -> Output {
    let script = format!(
        "mount -t proc proc {r}/proc && exec chroot --userspec={userspec} {r} /init \"$@\"",
        r = root.display()
    );
    Command::new("timeout")
        .args(["30", "unshare", "--mount", "--propagation", "private", "sh", "-c", &script, "sh"])
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("APP_NAME", "shop")
        .env("INIT_RUN_DIR", "/tmp/run")
        .output()
        .unwrap()
}

#[test]
fn as_a_random_uid_of_group_0_an_owner_naming_the_runtime_user_is_that_uid() {
    let r = rootfs("openshift-owner");
    let o = boot(r.path(), "1000123:0", &["--", "sh", "-c", REPORT]);
    assert_eq!(
        (o.status.code(), stdout_of(&o).as_str()),
        (Some(0), "uid=1000123(app) gid=0(root)\n1000123:0\nname=shop\n"),
        "{}",
        stderr_of(&o)
    );
    let passwd = fs::read_to_string(r.join("etc/passwd")).unwrap();
    assert!(passwd.ends_with("\napp:x:1000123:0:app:/tmp:/bin/sh\n"), "{passwd}");
    // The template's owner is the runtime user: no owner is skipped.
    let meta = fs::metadata(r.join("srv/app.conf")).unwrap();
    assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o777), (1000123, 0, 0o640));
    // A second start finds the entry it added and changes nothing.
    let o = boot(r.path(), "1000123:0", &["-q", "--", "id", "-un"]);
    assert_eq!((o.status.code(), stdout_of(&o).as_str()), (Some(0), "app\n"), "{}", stderr_of(&o));
    assert_eq!(fs::read_to_string(r.join("etc/passwd")).unwrap(), passwd);
}

#[test]
fn as_root_an_owner_naming_the_runtime_user_is_the_user_init_made() {
    let r = rootfs("root-owner");
    let o = boot(r.path(), "0:0", &["--", "sh", "-c", REPORT]);
    assert_eq!(
        (o.status.code(), stdout_of(&o).as_str()),
        (Some(0), "uid=1000(app) gid=1000(app) groups=1000(app)\n1000:1000\nname=shop\n"),
        "{}",
        stderr_of(&o)
    );
}
