//! The system directories init must never take over: `/` and the trees an
//! image's programs, libraries and kernel interfaces live in. A home (or a
//! volume) there would be created, chowned or walked as root and hand the
//! image to an unprivileged user (docs/security.md, "Hostile paths").
//! One list, so config checking and setup cannot drift apart.

use std::path::{Component, Path, PathBuf};

/// Trees refused as themselves and everything below them.
const TREES: [(&str, &str); 20] = [
    ("/etc", "/etc is a system tree"),
    ("/usr/bin", "/usr/bin is a system tree"),
    ("/usr/sbin", "/usr/sbin is a system tree"),
    ("/usr/lib", "/usr/lib is a system tree"),
    ("/bin", "/bin is a system tree"),
    ("/sbin", "/sbin is a system tree"),
    ("/lib", "/lib is a system tree"),
    ("/lib64", "/lib64 is a system tree"),
    ("/proc", "/proc is a system tree"),
    ("/sys", "/sys is a system tree"),
    ("/dev", "/dev is a system tree"),
    ("/boot", "/boot is a system tree"),
    ("/root", "/root is a system tree (root's home)"),
    ("/lib32", "/lib32 is a system tree"),
    ("/libx32", "/libx32 is a system tree"),
    ("/usr/lib32", "/usr/lib32 is a system tree"),
    ("/usr/lib64", "/usr/lib64 is a system tree"),
    ("/usr/libexec", "/usr/libexec is a system tree"),
    ("/usr/include", "/usr/include is a system tree"),
    ("/usr/games", "/usr/games is a system tree"),
];

/// Directories refused only as themselves: what lives below them
/// (`/home/app`, `/var/lib/app`, `/opt/app`) is an application's own.
const EXACT: [(&str, &str); 14] = [
    ("/usr", "/usr is a system directory"),
    ("/var", "/var is a system directory"),
    ("/home", "/home is a system directory (every user's homes)"),
    ("/tmp", "/tmp is a system directory (shared by every user)"),
    ("/run", "/run is a system directory"),
    ("/opt", "/opt is a system directory"),
    ("/usr/local", "/usr/local is a system directory"),
    ("/usr/share", "/usr/share is a system directory"),
    ("/var/lib", "/var/lib is a system directory"),
    ("/var/cache", "/var/cache is a system directory"),
    ("/var/log", "/var/log is a system directory"),
    ("/srv", "/srv is a system directory"),
    ("/mnt", "/mnt is a system directory"),
    ("/media", "/media is a system directory"),
];

/// Why `path` is `/` or a system directory, or `None` when it is neither.
/// The path is taken lexically (`.` and `..` resolved, repeated slashes
/// dropped) so `/home/../etc` is still /etc; symlinks are the caller's to
/// resolve. A relative path is judged as if it stood at `/`.
pub fn is_system_dir(path: &Path) -> Option<&'static str> {
    let norm = normalize(path);
    if norm == Path::new("/") {
        return Some("/ is the root of the filesystem");
    }
    let tree = TREES.iter().find(|(dir, _)| norm.starts_with(dir));
    let exact = EXACT.iter().find(|(dir, _)| norm == Path::new(dir));
    tree.or(exact).map(|(_, why)| *why)
}

/// `path` made absolute with `.` and `..` resolved by text alone.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::Normal(name) => out.push(name),
            // `..` above `/` stays at `/`, as the kernel does.
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(p: &str) -> Option<&'static str> {
        is_system_dir(Path::new(p))
    }

    #[test]
    fn the_root_and_system_trees_are_refused_with_their_reason() {
        assert_eq!(why("/"), Some("/ is the root of the filesystem"));
        assert_eq!(why("//"), Some("/ is the root of the filesystem"));
        assert_eq!(why("/etc"), Some("/etc is a system tree"));
        assert_eq!(why("/etc/app/"), Some("/etc is a system tree"));
        assert_eq!(why("/usr/lib/x86_64-linux-gnu"), Some("/usr/lib is a system tree"));
        assert_eq!(why("/root/.ssh"), Some("/root is a system tree (root's home)"));
        for p in ["/bin", "/sbin/x", "/lib64", "/proc/1", "/sys/fs", "/dev/shm", "/boot/efi", "/usr/sbin"] {
            assert!(why(p).is_some(), "{p}");
        }
    }

    #[test]
    fn shared_parents_are_refused_only_as_themselves() {
        for p in ["/usr", "/var", "/home", "/tmp", "/run", "/opt", "/opt/"] {
            assert!(why(p).is_some(), "{p}");
        }
        for p in
            ["/home/app", "/var/lib/app", "/tmp/app", "/run/app", "/opt/app", "/usr/local/app", "/srv/www"]
        {
            assert_eq!(why(p), None, "{p}");
        }
    }

    #[test]
    fn dot_dot_and_lookalikes_are_judged_by_what_they_name() {
        assert_eq!(why("/home/../etc"), Some("/etc is a system tree"));
        assert_eq!(why("/../../"), Some("/ is the root of the filesystem"));
        assert_eq!(why("/home/./app/.."), Some("/home is a system directory (every user's homes)"));
        assert_eq!(why("/etcetera"), None);
        assert_eq!(why("/library"), None);
        assert_eq!(why("/usr/library"), None);
    }
}
