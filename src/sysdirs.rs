//! The directories of the image that init must never take for a volume or a
//! home (docs/security.md): a recursive chown or a home made there would hand
//! the system to the runtime user. Pure, shared by config checking and setup.

use std::path::{Component, Path};

/// Trees refused with everything under them.
const TREES: [&str; 18] = [
    "/etc",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/boot",
    "/proc",
    "/sys",
    "/dev",
    "/root",
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libexec",
];

/// Directories refused themselves (what lies under them may be app data).
const EXACT: [&str; 15] = [
    "/",
    "/usr",
    "/usr/local",
    "/usr/share",
    "/var",
    "/var/lib",
    "/var/cache",
    "/home",
    "/tmp",
    "/run",
    "/opt",
    "/srv",
    "/mnt",
    "/media",
    "/usr/include",
];

/// Why `path` (absolute; `.` and `..` already resolved) is a system directory, if it is.
pub fn is_system_dir(path: &Path) -> Option<&'static str> {
    let norm: std::path::PathBuf = path.components().filter(|c| !matches!(c, Component::CurDir)).collect();
    if let Some(t) = TREES.iter().find(|t| norm.starts_with(t)) {
        return Some(t);
    }
    EXACT.iter().find(|e| norm == Path::new(e)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_trees_and_directories_are_refused_and_app_data_is_not() {
        for (p, why) in [
            ("/", Some("/")),
            ("/etc", Some("/etc")),
            ("/etc/nginx", Some("/etc")),
            ("/usr/bin/", Some("/usr/bin")),
            ("/root/.ssh", Some("/root")),
            ("/var", Some("/var")),
            ("/usr", Some("/usr")),
            ("/var/lib/postgresql/data", None),
            ("/home/app", None),
            ("/usr/share/nginx/html", None),
            ("/etcetera", None),
            ("/data", None),
        ] {
            assert_eq!(is_system_dir(Path::new(p)), why, "{p}");
        }
    }
}
