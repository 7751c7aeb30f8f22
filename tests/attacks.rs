//! Attacks on init running as root, by an unprivileged party (uid 1000, run
//! through setpriv) that owns a volume, a semaphore or template directory,
//! or a secret path (docs/security.md). Each test plants what an attacker
//! would, or races init while it works, and asserts that nothing outside the
//! attacker's own tree changed: owners, modes and contents of root's decoy
//! files. The decoys stand in for /etc; the real /etc is never at risk.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::attacker::{ATTACKER, Attacker, assert_untouched, chown_tree, decoy};
use common::{TempDir, init_cmd, stderr_of};

/// Runs `init -c CONF -- true`, killed if it is still running after the
/// deadline (a hang fails the test instead of blocking it).
fn run_with(conf: &Path, env: &[(&str, &str)]) -> Output {
    run_argv(conf, env, &["true"])
}

fn run_argv(conf: &Path, env: &[(&str, &str)], argv: &[&str]) -> Output {
    let cmd = init_cmd();
    let secs = common::DEADLINE.as_secs().to_string();
    let mut timed = Command::new("timeout");
    timed
        .args(["-s", "KILL", &secs, cmd.get_program().to_str().unwrap(), "-c"])
        .arg(conf)
        .arg("--")
        .args(argv);
    timed.env_clear().envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?)))).envs(env.iter().copied());
    let o = timed.output().unwrap();
    let killed = matches!(o.status.code(), None | Some(124 | 137));
    assert!(!killed, "init was still running after {secs} s: {}", stderr_of(&o));
    o
}

/// Renames each directory away, puts a symlink to the decoy in its place,
/// and puts it back, over and over: the swap the old walk fell for.
const SWAPPER: &str = r#"
import os, sys
vol, target, progress = sys.argv[1:4]
dirs = [os.path.join(vol, a, b) for a in sorted(os.listdir(vol)) for b in ("s0", "s1")]
moves = last = 0
while True:
    for d in dirs:
        try:
            os.rename(d, d + ".x"); os.symlink(target, d)
            moves += 1
            os.unlink(d); os.rename(d + ".x", d)
        except OSError:
            pass
        last = report(moves, last)
"#;

#[test]
fn swapping_directories_for_symlinks_during_the_chown_walk_never_leads_outside_the_volume() {
    let dir = TempDir::new("chownrace");
    let etc = decoy(&dir);
    let vol = dir.join("vol");
    for a in 0..2500 {
        for b in ["s0", "s1"] {
            let d = vol.join(format!("d{a}")).join(b);
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join("f"), "x").unwrap();
        }
    }
    chown_tree(&vol, ATTACKER, 1001);
    let attacker = Attacker::start(&dir, SWAPPER, &[&vol, &etc]);
    let before = attacker.moves();
    let (a, b) = (dir.join("a.toml"), dir.join("b.toml"));
    // Alternate owners, so every run has every entry to change.
    for (conf, gid) in [(&a, 1000), (&b, 1001)] {
        fs::write(conf, format!("[[volume]]\npath = \"{}\"\nowner = \"1000:{gid}\"\n", vol.display()))
            .unwrap();
    }
    for run in 0..20 {
        let o = run_with(if run % 2 == 0 { &a } else { &b }, &[]);
        assert_eq!(o.status.code(), Some(0), "run {run}: {}", stderr_of(&o));
        assert_untouched(&etc);
    }
    attacker.assert_active_since(before);
}

#[test]
fn a_tree_deeper_than_path_max_is_walked_whole_within_a_small_descriptor_limit() {
    use nix::fcntl::{OFlag, open, openat};
    use nix::sys::stat::{Mode, mkdirat};
    let dir = TempDir::new("deep");
    let vol = dir.join("vol");
    fs::create_dir_all(&vol).unwrap();
    let name = "n".repeat(100);
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY;
    let mut fd = open(&vol, flags, Mode::empty()).unwrap();
    // 200 levels of 100-byte names (20 kB of path), a side directory at each
    // level, so a queue of open directories would need hundreds.
    for _ in 0..200 {
        mkdirat(&fd, "side", Mode::from_bits_truncate(0o755)).unwrap();
        mkdirat(&fd, name.as_str(), Mode::from_bits_truncate(0o755)).unwrap();
        fd = openat(&fd, name.as_str(), flags, Mode::empty()).unwrap();
    }
    mkdirat(&fd, "bottom", Mode::from_bits_truncate(0o755)).unwrap();
    let conf = dir.join("init.toml");
    fs::write(&conf, format!("[[volume]]\npath = \"{}\"\nowner = \"1000:1000\"\n", vol.display())).unwrap();
    let o = Command::new("prlimit")
        .args(["--nofile=32:32", "--", common::INIT, "-c"])
        .arg(&conf)
        .args(["--", "true"])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    let bottom = nix::sys::stat::fstatat(&fd, "bottom", nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW).unwrap();
    assert_eq!((bottom.st_uid, bottom.st_gid), (1000, 1000), "the deepest directory was reached");
    // And all the rest: the volume, 200 levels, a side directory at each, the bottom.
    assert_eq!(owned_dirs(open(&vol, flags, Mode::empty()).unwrap(), (1000, 1000)), (402, 402));
}

/// How many directories `dir` holds (itself included) and how many of them
/// `owner` owns: walked by descriptor, as the tree is deeper than PATH_MAX.
fn owned_dirs(dir: std::os::fd::OwnedFd, owner: (u32, u32)) -> (usize, usize) {
    use nix::dir::{Dir, Type};
    use nix::fcntl::{OFlag, openat};
    use nix::sys::stat::{Mode, fstat};
    let st = fstat(&dir).unwrap();
    let (mut all, mut owned) = (1, usize::from((st.st_uid, st.st_gid) == owner));
    let subdirs: Vec<std::ffi::CString> = Dir::from_fd(dir.try_clone().unwrap())
        .unwrap()
        .iter()
        .flatten()
        .filter(|e| {
            e.file_type() == Some(Type::Directory) && ![&b"."[..], b".."].contains(&e.file_name().to_bytes())
        })
        .map(|e| e.file_name().to_owned())
        .collect();
    for name in subdirs {
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW;
        let (a, o) = owned_dirs(openat(&dir, name.as_c_str(), flags, Mode::empty()).unwrap(), owner);
        all += a;
        owned += o;
    }
    (all, owned)
}

#[test]
fn a_volume_reached_through_the_attackers_symlink_is_refused() {
    let dir = TempDir::new("vollink");
    let etc = decoy(&dir);
    let app = dir.join("app");
    fs::create_dir_all(&app).unwrap();
    chown_tree(&app, ATTACKER, ATTACKER);
    symlink(&etc, app.join("uploads")).unwrap();
    std::os::unix::fs::lchown(app.join("uploads"), Some(ATTACKER), Some(ATTACKER)).unwrap();
    let conf = dir.join("init.toml");
    fs::write(&conf, format!("[[volume]]\npath = \"{}/uploads\"\nowner = \"1000:1000\"\n", app.display()))
        .unwrap();
    let o = run_with(&conf, &[]);
    assert_eq!(o.status.code(), Some(77), "{}", stderr_of(&o));
    let want =
        format!("{}/uploads is a symlink owned by uid 1000; init follows only root's links", app.display());
    assert!(stderr_of(&o).contains(&want), "{}", stderr_of(&o));
    assert_untouched(&etc);
}

#[test]
fn a_template_destination_under_the_attackers_symlinked_directory_is_refused() {
    let dir = TempDir::new("tpllink");
    let etc = decoy(&dir);
    let app = dir.join("app");
    fs::create_dir_all(&app).unwrap();
    chown_tree(&app, ATTACKER, ATTACKER);
    symlink(&etc, app.join("conf")).unwrap();
    std::os::unix::fs::lchown(app.join("conf"), Some(ATTACKER), Some(ATTACKER)).unwrap();
    fs::write(dir.join("passwd.tmpl"), "pwned\n").unwrap();
    let conf = dir.join("init.toml");
    let toml = format!("[[template]]\nsrc = \"passwd.tmpl\"\ndest = \"{}/conf/passwd\"\n", app.display());
    fs::write(&conf, toml).unwrap();
    let o = run_with(&conf, &[]);
    assert_eq!(o.status.code(), Some(77), "{}", stderr_of(&o));
    assert!(stderr_of(&o).contains("conf is a symlink owned by uid 1000"), "{}", stderr_of(&o));
    assert_untouched(&etc);
}

/// Plants links to the decoy under the seed's names while the volume is empty.
const PLANTER: &str = r#"
import os, sys
vol, target, progress = sys.argv[1:4]
moves = last = 0
while True:
    for n in ("app.ini", "conf"):
        # Present only for a moment, so init finds the volume empty and then
        # meets the link while it copies.
        try:
            os.symlink(os.path.join(target, "shadow" if n == "app.ini" else ""), os.path.join(vol, n))
            moves += 1
            os.unlink(os.path.join(vol, n))
        except OSError:
            pass
    last = report(moves, last)
"#;

#[test]
fn seeding_never_writes_through_links_planted_after_the_emptiness_check() {
    let dir = TempDir::new("seedrace");
    let etc = decoy(&dir);
    let seed = dir.join("seed");
    fs::create_dir_all(seed.join("conf")).unwrap();
    fs::write(seed.join("app.ini"), "default\n").unwrap();
    fs::write(seed.join("conf/passwd"), "seeded\n").unwrap();
    let vol = dir.join("vol");
    fs::create_dir_all(&vol).unwrap();
    chown_tree(&vol, ATTACKER, ATTACKER);
    let conf = dir.join("init.toml");
    let toml = format!(
        "[[volume]]\npath = \"{}\"\nowner = \"1000:1000\"\nseed = \"{}\"\n",
        vol.display(),
        seed.display()
    );
    fs::write(&conf, toml).unwrap();
    let attacker = Attacker::start(&dir, PLANTER, &[&vol, &etc]);
    let before = attacker.moves();
    let end = Instant::now() + Duration::from_secs(3);
    let mut runs = 0;
    while Instant::now() < end || runs < 20 {
        for e in fs::read_dir(&vol).unwrap().flatten() {
            let _ = fs::remove_file(e.path()).or_else(|_| fs::remove_dir_all(e.path()));
        }
        let o = run_with(&conf, &[]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
        assert_untouched(&etc);
        runs += 1;
    }
    attacker.assert_active_since(before);
}

#[test]
fn a_fifo_as_wait_file_or_secret_never_blocks_init() {
    let dir = TempDir::new("fifo");
    let fifo = dir.join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o666)).unwrap();
    let conf = dir.join("init.toml");
    fs::write(&conf, format!("[[wait]]\nfile = \"{}\"\ntimeout = \"1s\"\n", fifo.display())).unwrap();
    let start = Instant::now();
    let o = run_with(&conf, &[]);
    assert_eq!(o.status.code(), Some(75), "{}", stderr_of(&o));
    assert!(stderr_of(&o).contains("a FIFO, not a regular file"), "{}", stderr_of(&o));
    assert!(start.elapsed() < Duration::from_secs(20), "ended by the timeout, not blocked");
    fs::write(&conf, "[env]\nTOKEN = \"<<TOKEN:->>\"\n").unwrap();
    let fifo_s = fifo.display().to_string();
    let o = run_with(&conf, &[("TOKEN_FILE", &fifo_s)]);
    // A secret the config needs and cannot read stops the boot, naming it.
    assert_eq!(o.status.code(), Some(78), "{}", stderr_of(&o));
    let want = format!("TOKEN_FILE={fifo_s}: ");
    assert!(stderr_of(&o).contains(&want), "{}", stderr_of(&o));
    assert!(stderr_of(&o).contains("a FIFO, not a regular file"), "{}", stderr_of(&o));
}

#[test]
fn a_secret_path_the_attacker_links_to_a_root_only_file_is_not_read() {
    let dir = TempDir::new("secretlink");
    let etc = decoy(&dir);
    let mine = dir.join("mine");
    fs::create_dir_all(&mine).unwrap();
    chown_tree(&mine, ATTACKER, ATTACKER);
    symlink(etc.join("shadow"), mine.join("token")).unwrap();
    std::os::unix::fs::lchown(mine.join("token"), Some(ATTACKER), Some(ATTACKER)).unwrap();
    let conf = dir.join("init.toml");
    fs::write(&conf, "[env]\nTOKEN = \"<<TOKEN:-none>>\"\n").unwrap();
    let token = mine.join("token").display().to_string();
    let o = run_argv(&conf, &[("TOKEN_FILE", &token)], &["sh", "-c", "echo \"token=$TOKEN\""]);
    assert_eq!(o.status.code(), Some(78), "{}", stderr_of(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "");
    assert!(stderr_of(&o).contains(&format!("TOKEN_FILE={token}: ")), "{}", stderr_of(&o));
    assert!(stderr_of(&o).contains("token is a symlink owned by uid 1000"), "{}", stderr_of(&o));
}
