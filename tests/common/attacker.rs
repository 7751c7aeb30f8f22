//! The unprivileged attacker of the attack tests (docs/security.md): a
//! python3 loop run as uid 1000 through setpriv, which counts its moves so
//! a test can prove the attack really ran, and root's decoy files that must
//! come out of every attack untouched.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::TempDir;

pub const ATTACKER: u32 = 1000;

/// A decoy of /etc: root-owned files that must stay exactly as they are.
pub fn decoy(dir: &TempDir) -> PathBuf {
    let etc = dir.join("etc");
    fs::create_dir_all(&etc).unwrap();
    for (name, mode) in [("passwd", 0o644), ("shadow", 0o600)] {
        fs::write(etc.join(name), format!("root's {name}\n")).unwrap();
        fs::set_permissions(etc.join(name), fs::Permissions::from_mode(mode)).unwrap();
    }
    etc
}

pub fn assert_untouched(etc: &Path) {
    for (name, mode) in [("passwd", 0o644), ("shadow", 0o600)] {
        let m = fs::symlink_metadata(etc.join(name)).unwrap();
        assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (0, 0, mode), "{name} keeps root's owner and mode");
        assert_eq!(fs::read_to_string(etc.join(name)).unwrap(), format!("root's {name}\n"));
    }
    let m = fs::metadata(etc).unwrap();
    assert_eq!((m.uid(), m.gid()), (0, 0), "the decoy /etc itself");
}

/// The attacker: a python3 loop as uid 1000, killed on drop. Its script
/// counts its successful moves in `progress`, so a test can wait until the
/// attack runs and prove it kept running (an attack that never ran proves
/// nothing).
pub struct Attacker {
    child: Child,
    progress: PathBuf,
}

impl Attacker {
    pub fn start(dir: &TempDir, script: &str, args: &[&Path]) -> Attacker {
        let home = dir.join("attacker");
        fs::create_dir_all(&home).unwrap();
        chown_tree(&home, ATTACKER, ATTACKER);
        let progress = home.join("progress");
        let mut cmd = Command::new("setpriv");
        let python = "/usr/bin/python3"; // Debian's: root's own may sit in /root, out of uid 1000's reach
        let script = format!("{REPORT}{script}");
        cmd.args(["--reuid", "1000", "--regid", "1000", "--clear-groups", python, "-c", &script]);
        cmd.args(args).arg(&progress).stdin(Stdio::null()).stdout(Stdio::null());
        let child = cmd.spawn().expect("setpriv and python3 (make deps-test installs them)");
        let attacker = Attacker { child, progress };
        super::wait_until("the attacker's first moves", super::DEADLINE, || attacker.moves() > 0);
        attacker
    }

    pub fn moves(&self) -> u64 {
        fs::read_to_string(&self.progress).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
    }

    /// Asserts the attack went on while init ran.
    pub fn assert_active_since(&self, before: u64) {
        let now = self.moves();
        assert!(now > before, "the attacker made no moves during the runs ({before} -> {now})");
    }
}

impl Drop for Attacker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn chown_tree(path: &Path, uid: u32, gid: u32) {
    assert!(
        Command::new("chown")
            .args(["-R", "-h", &format!("{uid}:{gid}")])
            .arg(path)
            .status()
            .unwrap()
            .success()
    );
}

/// Every attacker script's way to publish its count of moves.
pub const REPORT: &str = r#"
import os, sys
def report(moves, last):
    if moves != last:
        progress = sys.argv[-1]
        with open(progress + ".t", "w") as f: f.write(str(moves))
        os.rename(progress + ".t", progress)
    return moves
"#;
