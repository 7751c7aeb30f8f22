//! A ConfigMap volume as the kubelet lays it out and updates it, for the
//! live-reload tests: `ROOT/..v1/KEY` for each key, `ROOT/..data -> ..v1`,
//! `ROOT/KEY -> ..data/KEY`; an update writes a new directory and renames
//! `..data` over in one step.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

/// Makes `root` hold `files` (key, contents) as a ConfigMap volume does.
pub fn configmap(root: &Path, files: &[(&str, &str)]) {
    fs::create_dir_all(root.join("..v1")).unwrap();
    for (key, text) in files {
        fs::write(root.join("..v1").join(key), text).unwrap();
        symlink(format!("..data/{key}"), root.join(key)).unwrap();
    }
    symlink("..v1", root.join("..data")).unwrap();
}

/// The kubelet's update to `files` (the same keys): a new directory
/// `..VERSION`, then `..data` renamed over.
pub fn swap(root: &Path, version: &str, files: &[(&str, &str)]) {
    let dir = root.join(format!("..{version}"));
    fs::create_dir(&dir).unwrap();
    for (key, text) in files {
        fs::write(dir.join(key), text).unwrap();
    }
    symlink(format!("..{version}"), root.join("..data_tmp")).unwrap();
    fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
}
