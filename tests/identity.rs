//! Identity and volumes through the real static binary (dist/init, built by
//! `make build`): user specs and the runtime user inside a busybox-static
//! rootfs (chroot, in a private mount namespace with its own /proc), one run
//! on a debootstrap'd Debian rootfs, privilege drops seen in
//! /proc/self/status, non-root starts through setpriv, `init shell` on a
//! pty. Volume ownership is in identity_volumes.rs.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{OnTty, TempDir, stderr_of, stdout_of};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn static_init() -> PathBuf {
    let p = Path::new(ROOT).join("dist/init");
    assert!(p.exists(), "dist/init is missing: run `make build` (make test does)");
    p
}

/// A busybox-static rootfs with the users: root, daemon (1:1),
/// games (5:60, also in group users 100), nobody; init at /init.
struct Rootfs {
    dir: TempDir,
}

impl Rootfs {
    fn new(tag: &str) -> Rootfs {
        let dir = TempDir::new(tag);
        let r = dir.path();
        for d in ["bin", "etc", "tmp", "root", "proc", "dev", "opt/config", "usr/games"] {
            fs::create_dir_all(r.join(d)).unwrap();
        }
        fs::set_permissions(r, fs::Permissions::from_mode(0o755)).unwrap();
        assert!(
            Command::new("cp").arg("/bin/busybox").arg(r.join("bin/busybox")).status().unwrap().success()
        );
        for applet in
            ["sh", "id", "cat", "ls", "stat", "grep", "echo", "true", "sleep", "stty", "readlink", "tty"]
        {
            symlink("busybox", r.join("bin").join(applet)).unwrap();
        }
        assert!(Command::new("cp").arg(static_init()).arg(r.join("init")).status().unwrap().success());
        fs::write(
            r.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
             games:x:5:60:games:/usr/games:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
        )
        .unwrap();
        fs::write(
            r.join("etc/group"),
            "root:x:0:\ndaemon:x:1:\ngames:x:60:\nusers:x:100:games\nnogroup:x:65534:\n",
        )
        .unwrap();
        fs::write(r.join("etc/shadow"), "root:*:19000:0:99999:7:::\n").unwrap();
        fs::set_permissions(r.join("etc/shadow"), fs::Permissions::from_mode(0o640)).unwrap();
        Rootfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `init ARGS` chrooted into the rootfs with its own /proc; `env` for init.
    fn init(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        chrooted(self.path(), env, args)
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path().join(rel)).unwrap_or_default()
    }
}

fn chrooted(root: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    chrooted_after("", root, env, args)
}

/// As `chrooted`, running the shell command `setup` first in the private mount namespace.
fn chrooted_after(setup: &str, root: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let script =
        format!("{setup}mount -t proc proc {r}/proc && exec chroot {r} /init \"$@\"", r = root.display());
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c", &script, "sh"])
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

const REPORT: &str = "id -u; id -g; id -G; echo $HOME";

#[test]
fn user_specs_follow_gosus_table() {
    let r = Rootfs::new("spec");
    let table = [
        ("0", "0\n0\n0\n/root\n"),
        ("root", "0\n0\n0\n/root\n"),
        ("0:0", "0\n0\n0\n/root\n"),
        ("root:root", "0\n0\n0\n/root\n"),
        ("1000", "1000\n0\n0\n/\n"),
        ("0:1000", "0\n1000\n1000\n/root\n"),
        ("1000:1000", "1000\n1000\n1000\n/\n"),
        ("1000:root", "1000\n0\n0\n/\n"),
        ("1000:daemon", "1000\n1\n1\n/\n"),
        ("games", "5\n60\n60 100\n/usr/games\n"),
        ("games:daemon", "5\n1\n1\n/usr/games\n"),
    ];
    for (spec, want) in table {
        let o = r.init(&[], &["-q", "--user", spec, "--", "sh", "-c", REPORT]);
        assert_eq!(
            (o.status.code(), stdout_of(&o).as_str()),
            (Some(0), want),
            "--user {spec}: {}",
            stderr_of(&o)
        );
    }
    for spec in ["bogus", "0day", "0:bogus", "0:0day"] {
        let o = r.init(&[], &["-q", "--user", spec, "--", "true"]);
        assert_eq!(o.status.code(), Some(67), "--user {spec}");
        assert!(stderr_of(&o).contains(&format!("(spec {spec})")), "{spec}: {}", stderr_of(&o));
    }
}

#[test]
fn after_the_drop_no_root_is_left_and_it_cannot_come_back() {
    let r = Rootfs::new("drop");
    let script = "grep -E '^(Uid|Gid|Groups|CapEff|NoNewPrivs)' /proc/self/status";
    let o = r.init(&[], &["-q", "--user", "games", "--", "sh", "-c", script]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    let status = stdout_of(&o);
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or("")
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(field("Uid:"), "5 5 5 5");
    assert_eq!(field("Gid:"), "60 60 60 60");
    assert_eq!(field("Groups:"), "60 100");
    assert_eq!(field("CapEff:"), "0000000000000000");
    // `su`-style regain: an init started by the child cannot switch back to
    // root; not root, it runs its command as itself (one WARN says so:
    // not_root_a_switch_to_anyone_else_is_skipped_with_one_warn).
    let o = r.init(&[], &["-q", "--user", "games", "--", "sh", "-c", "exec /init -q --user 0 -- id -u"]);
    assert_eq!((o.status.code(), stdout_of(&o).as_str()), (Some(0), "5\n"), "{}", stderr_of(&o));
}

#[test]
fn the_runtime_user_is_created_from_env_renumbered_and_idempotent() {
    let r = Rootfs::new("runtime");
    fs::write(
        r.path().join("opt/config/init.toml"),
        "[user]\nname = \"app\"\nuid = \"<<USER_UID:-1000>>\"\ngid = \"<<USER_GID:-1000>>\"\ngroups = [\"users\"]\n",
    )
    .unwrap();
    let o =
        r.init(&[("USER_UID", "2000"), ("USER_GID", "2001")], &["--", "sh", "-c", "id; echo $HOME $USER"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    assert_eq!(stdout_of(&o), "uid=2000(app) gid=2001(app) groups=100(users),2001(app)\n/home/app app\n");
    assert!(stderr_of(&o).contains("created user app uid=2000 gid=2001 home=/home/app"), "{}", stderr_of(&o));
    let home = fs::metadata(r.path().join("home/app")).unwrap();
    assert_eq!((home.uid(), home.gid()), (2000, 2001));
    assert!(r.read("etc/shadow").contains("\napp:!:"), "{}", r.read("etc/shadow"));
    assert_eq!(fs::metadata(r.path().join("etc/shadow")).unwrap().mode() & 0o777, 0o640, "mode kept");
    // Second boot with the same ids: nothing rewritten.
    let inode = fs::metadata(r.path().join("etc/passwd")).unwrap().ino();
    let o = r.init(&[("USER_UID", "2000"), ("USER_GID", "2001")], &["-q", "--", "true"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    assert_eq!(fs::metadata(r.path().join("etc/passwd")).unwrap().ino(), inode, "passwd untouched");
    // New ids: renumbered in place.
    let o = r.init(&[("USER_UID", "3000"), ("USER_GID", "3000")], &["-q", "--", "id"]);
    assert_eq!(
        stdout_of(&o),
        "uid=3000(app) gid=3000(app) groups=100(users),3000(app)\n",
        "{}",
        stderr_of(&o)
    );
    assert_eq!(r.read("etc/passwd").lines().filter(|l| l.starts_with("app:")).count(), 1);
    // A uid held by another user: 67 naming it, files untouched.
    let before = r.read("etc/passwd");
    let o = r.init(&[("USER_UID", "5")], &["--", "true"]);
    assert_eq!(o.status.code(), Some(67));
    assert!(
        stderr_of(&o).contains("uid 5 for user \"app\" is already held by user \"games\""),
        "{}",
        stderr_of(&o)
    );
    assert_eq!(r.read("etc/passwd"), before);
}

/// The static init started by an unprivileged `uid` (gid the same), no
/// groups, with a run directory of its own (never the host's /dev/shm).
fn as_user(uid: u32, args: &[&str]) -> Output {
    let id = uid.to_string();
    let run = common::TempDir::new("as-user");
    nix::unistd::chown(run.path(), Some(nix::unistd::Uid::from_raw(uid)), None).unwrap();
    Command::new("setpriv")
        .args(["--reuid", &id, "--regid", &id, "--clear-groups"])
        .arg(static_init())
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("INIT_RUN_DIR", run.path())
        .output()
        .unwrap()
}

#[test]
fn not_root_a_switch_to_anyone_else_is_skipped_with_one_warn() {
    let setpriv = |args: &[&str]| as_user(65534, args);
    // Already that user: nothing is skipped, nothing is said.
    let o = setpriv(&["--user", "65534:65534", "--", "id", "-u"]);
    assert_eq!((o.status.code(), stdout_of(&o).as_str()), (Some(0), "65534\n"), "{}", stderr_of(&o));
    assert_eq!(stderr_of(&o), "");
    // Anyone else: the orchestrator chose the identity, so the child runs as init.
    let o = setpriv(&["--user", "0", "--", "id", "-u"]);
    assert_eq!((o.status.code(), stdout_of(&o).as_str()), (Some(0), "65534\n"), "{}", stderr_of(&o));
    assert_eq!(stderr_of(&o), "init: WARN not root: --user runs as init's own uid 65534:65534, not as 0\n");
}

#[test]
fn a_debian_rootfs_gets_its_runtime_user_too() {
    let Some(debian) = debian_rootfs() else { return };
    let passwd = fs::read_to_string(debian.join("etc/passwd")).unwrap();
    assert!(
        !passwd.contains("\napp:"),
        "the cached rootfs must not have `app` yet: rerun scripts/debian-rootfs.sh"
    );
    // The shared cached rootfs stays pristine: this run writes to an overlay of its own.
    let dir = TempDir::new("debian");
    let (upper, work, merged) = (dir.join("upper"), dir.join("work"), dir.join("merged"));
    for d in [&upper.join("opt/config"), &work, &merged] {
        fs::create_dir_all(d).unwrap();
    }
    fs::write(upper.join("opt/config/init.toml"), "[user]\nname = \"app\"\nuid = \"<<USER_UID>>\"\n")
        .unwrap();
    assert!(Command::new("cp").arg(static_init()).arg(upper.join("init")).status().unwrap().success());
    let overlay = format!(
        "mount -t overlay overlay -o lowerdir={},upperdir={},workdir={} {} && ",
        debian.display(),
        upper.display(),
        work.display(),
        merged.display()
    );
    let o = chrooted_after(
        &overlay,
        &merged,
        &[("USER_UID", "4321")],
        &["--", "sh", "-c", "id; getent passwd app; echo $HOME"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    assert_eq!(
        stdout_of(&o),
        "uid=4321(app) gid=4321(app) groups=4321(app)\napp:x:4321:4321::/home/app:/bin/sh\n/home/app\n"
    );
    // Created by this run: the overlay's own layer holds the new entry.
    let written = fs::read_to_string(upper.join("etc/passwd")).unwrap_or_default();
    assert!(written.contains("\napp:x:4321:4321:"), "{written}");
}

/// The cached debootstrap rootfs (scripts/debian-rootfs.sh, run by `make test`,
/// at MOORING_DEBIAN_ROOTFS when set, as the script honours it).
fn debian_rootfs() -> Option<PathBuf> {
    let p = std::env::var_os("MOORING_DEBIAN_ROOTFS")
        .map_or_else(|| PathBuf::from("/var/tmp/mooring-debian-rootfs"), PathBuf::from);
    if !p.join("usr/bin/getent").exists() {
        assert!(
            std::env::var_os("MOORING_SKIP_DEBIAN").is_some(),
            "no Debian rootfs at {}: run scripts/debian-rootfs.sh (make test does)",
            p.display()
        );
        return None;
    }
    Some(p)
}

#[test]
fn init_shell_gives_the_user_a_fresh_pty_with_size_ctrl_c_and_exit_code() {
    let r = Rootfs::new("shell");
    let script = format!(
        "mount --rbind /dev {r}/dev && mount -t proc proc {r}/proc && exec chroot {r} /init shell games",
        r = r.path().display()
    );
    let mut tty = OnTty::start_sized(
        &["unshare", "--mount", "--propagation", "private", "sh", "-c", &script],
        Some((50, 132)),
    );
    // The shell's prompt (PS1, set by OnTty): it runs on its new pty.
    tty.wait_for_output("$ ");
    let outer = tty.output();
    tty.type_in(b"id -u; stty size; echo TTY=$(readlink /proc/self/fd/0); echo FDS: $(for f in /proc/$$/fd/*; do readlink $f; done | sort -u)\n");
    tty.wait_for_output("TTY=/dev/pts/");
    // The marker comes from the very process that then sleeps in the
    // foreground, so Ctrl-C cannot arrive before it is there to get it.
    tty.type_in(b"sh -c 'echo SLEEP''ING; exec sleep 30'\n");
    tty.wait_for_output("SLEEPING");
    tty.type_in(b"\x03");
    tty.type_in(b"echo AFTER-INT-$?\n");
    tty.wait_for_output("AFTER-INT-130");
    tty.type_in(b"exit 3\n");
    assert_eq!(tty.wait(), 3, "{}", tty.output());
    let shown = tty.output()[outer.len()..].replace('\r', "");
    let lines: Vec<&str> = shown.lines().map(str::trim).collect();
    assert!(lines.contains(&"5") && lines.contains(&"50 132"), "uid 5 and the 50x132 window: {shown:?}");
    // The shell's terminal is a new pty, and it holds no other descriptor
    // (nothing of root's terminal to inject keystrokes into).
    let inner = shown.lines().find_map(|l| l.strip_prefix("TTY=")).unwrap_or_default().trim().to_string();
    assert!(inner.starts_with("/dev/pts/"), "{shown}");
    let fds = shown.lines().find(|l| l.starts_with("FDS: ")).unwrap_or_default().trim().to_string();
    // (/dev/tty is the shell's controlling terminal, i.e. the new pty; the pipe
    // is the shell's own command substitution.)
    for target in fds.trim_start_matches("FDS: ").split(' ') {
        assert!(
            target == inner || target == "/dev/tty" || target.starts_with("pipe:"),
            "{target} in {shown}"
        );
    }
}

#[test]
fn no_new_privileges_is_set_for_every_child_when_asked() {
    let r = Rootfs::new("nnp");
    fs::write(r.path().join("opt/config/init.toml"), "[user]\nname = \"games\"\nno_new_privileges = true\n")
        .unwrap();
    let o = r.init(&[], &["-q", "--", "grep", "NoNewPrivs", "/proc/self/status"]);
    assert_eq!(
        (o.status.code(), stdout_of(&o).split_whitespace().last()),
        (Some(0), Some("1")),
        "{}",
        stderr_of(&o)
    );
}

#[test]
fn an_arbitrary_uid_without_a_passwd_entry_runs_with_home_tmp() {
    let o = as_user(4242, &["-q", "--", "sh", "-c", "echo $HOME; id -u"]);
    assert_eq!((o.status.code(), stdout_of(&o).as_str()), (Some(0), "/tmp\n4242\n"), "{}", stderr_of(&o));
}
