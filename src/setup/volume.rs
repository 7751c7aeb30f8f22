//! `[[volume]]`: create the directory, give the tree its owner, set the
//! mode of the path itself, seed an empty volume from the image
//! (docs/security.md). The volume's path is resolved through the safe
//! filesystem layer (only root's symlinks are followed) and refused when it
//! is a system directory; from there everything works on descriptors, so a
//! volume's owner cannot lead init out of it, even while the walk runs.

use std::path::{Path, PathBuf};

use crate::config::Volume;
use crate::error::Error;
use crate::safe_fs::Dir;
use nix::sys::stat::FileStat;

mod seed;
mod walk;

/// What a volume's preparation did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub created: bool,
    pub seeded: u64,
    pub scanned: u64,
    pub changed: u64,
    /// Entries left alone and why (a hard-linked file, another filesystem,
    /// a directory replaced during the walk), the first few of them.
    pub skipped: Vec<(PathBuf, &'static str)>,
    /// How many were left alone in all.
    pub skipped_total: u64,
}

/// Entries listed in a report's `skipped` (the total is still counted).
pub const SKIPPED_SHOWN: usize = 20;

impl Report {
    pub(crate) fn skip(&mut self, path: PathBuf, why: &'static str) {
        self.skipped_total += 1;
        if self.skipped.len() < SKIPPED_SHOWN {
            self.skipped.push((path, why));
        }
    }
}

/// A volume's path that the config may not name (exit 78).
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("{}: does not exist (create = false)", .0.display())]
    Absent(PathBuf),
    #[error("{}: resolves to {} ({why}) and cannot be a volume", path.display(), real.display())]
    SystemDir { path: PathBuf, real: PathBuf, why: &'static str },
}

crate::error::debug_by_display!(Refused);

/// A volume that cannot be prepared is an OS failure (71), or 77.
fn fail(path: &Path, e: std::io::Error) -> Error {
    Error::io(path, e)
}

/// The volume's directory, resolved once; `None` when it does not exist yet.
fn existing(root: &Dir, v: &Volume) -> Result<Option<Dir>, Error> {
    match root.resolve_dir(&v.path, None) {
        Ok(dir) => Ok(Some(dir)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(fail(&v.path, e)),
    }
}

/// A missing volume that may not be created is a config error (78).
fn refuse_absent(v: &Volume) -> Error {
    Error::Volume(Refused::Absent(v.path.clone()))
}

/// A volume whose real path is a system directory is refused (78).
fn refuse_system_dir(root: &Dir, dir: &Dir, v: &Volume) -> Result<(), Error> {
    let real = Path::new("/").join(dir.path().strip_prefix(root.path()).unwrap_or(dir.path()));
    match crate::sysdirs::is_system_dir(&real) {
        Some(why) => Err(Refused::SystemDir { path: v.path.clone(), real, why }.into()),
        None => Ok(()),
    }
}

/// What `prepare` would refuse about the volume's path, found without
/// changing anything (the plan that `init check` and boot share); the
/// directory's status when it exists.
pub fn inspect(root: &Dir, v: &Volume) -> Result<Option<FileStat>, Error> {
    match existing(root, v)? {
        Some(dir) => {
            refuse_system_dir(root, &dir, v)?;
            dir.stat().map(Some).map_err(|e| fail(&v.path, e))
        }
        None if v.create => Ok(None),
        None => Err(refuse_absent(v)),
    }
}

/// What boot gives one volume, as planned: the owner's resolved (uid, gid)
/// and the mode of the path itself (`None`: left as it is).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Apply {
    pub owner: Option<(u32, u32)>,
    pub mode: Option<u32>,
}

/// Prepares one volume under `root` (`/` in a container) as planned.
pub fn prepare(root: &Dir, v: &Volume, apply: Apply) -> Result<Report, Error> {
    let mut report = Report::default();
    let dir = match existing(root, v)? {
        Some(dir) => dir,
        None if !v.create => return Err(refuse_absent(v)),
        None => {
            report.created = true;
            let hint = "create it in the image, or mount a writable volume there";
            root.resolve_dir(&v.path, Some(0o755)).map_err(|e| fail(&v.path, e).hinted(hint))?
        }
    };
    refuse_system_dir(root, &dir, v)?;
    let st = dir.stat().map_err(|e| fail(&v.path, e))?;
    if let Some(seed) = &v.seed {
        report.seeded = seed::seed_if_empty(seed, &dir)?;
    }
    if let Some((uid, gid)) = apply.owner {
        if (st.st_uid, st.st_gid) != (uid, gid) {
            dir.chown(uid, gid).map_err(|e| fail(&v.path, e))?;
            report.changed += 1;
        }
        report.scanned += 1;
        if v.recursive {
            walk::chown_tree(&dir, &v.path, st.st_dev, v.one_filesystem, (uid, gid), &mut report)?;
        }
    }
    if let Some(mode) = apply.mode
        && st.st_mode & 0o7777 != mode
    {
        dir.chmod(mode).map_err(|e| fail(&v.path, e))?;
    }
    Ok(report)
}
