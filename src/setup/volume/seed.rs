//! Seeding: an empty volume gets a copy of a directory of the image. The
//! source is the image's (read as it is); the destination is the volume,
//! written only through descriptors: directories made and opened without
//! following links, files created exclusively, modes set on descriptors. A
//! name planted in the volume after the emptiness check is left alone, so
//! nothing is ever written through it.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::error::Error;
use crate::safe_fs::Dir;

fn fail(path: &Path, e: std::io::Error) -> Error {
    Error::io(path, e)
}

/// Copies `seed` into `volume` when the volume is empty; returns the number
/// of entries copied.
pub fn seed_if_empty(seed: &Path, volume: &Dir) -> Result<u64, Error> {
    if !volume.is_empty().map_err(|e| fail(volume.path(), e))? {
        return Ok(0);
    }
    copy_tree(seed, volume)
}

/// Copies the tree `from` into `to`; symlinks are copied as links.
fn copy_tree(from: &Path, to: &Dir) -> Result<u64, Error> {
    let mut count = 0;
    for entry in fs::read_dir(from).map_err(|e| fail(from, e))? {
        let entry = entry.map_err(|e| fail(from, e))?;
        let (src, name) = (entry.path(), entry.file_name());
        let dest = to.path().join(&name);
        let meta = fs::symlink_metadata(&src).map_err(|e| fail(&src, e))?;
        let mode = meta.mode() & 0o7777;
        let made = if meta.is_dir() {
            copy_dir(&src, to, &name, mode)?
        } else if meta.file_type().is_symlink() {
            let target = fs::read_link(&src).map_err(|e| fail(&src, e))?;
            Some(
                nix::unistd::symlinkat(&target, to.fd(), name.as_os_str())
                    .map(|()| 1)
                    .map_err(std::io::Error::from),
            )
            .transpose()
            .map_err(|e| fail(&dest, e))?
        } else if meta.is_file() {
            copy_file(&src, to, &name, mode)?
        } else {
            None
        };
        match made {
            Some(n) => count += n,
            None => {
                tracing::warn!(path = %dest.display(), "seed: left alone (it appeared in the volume during seeding)")
            }
        }
    }
    Ok(count)
}

/// `None` when `name` already exists in the destination (planted there).
fn copy_dir(src: &Path, to: &Dir, name: &OsStr, mode: u32) -> Result<Option<u64>, Error> {
    let dest = to.path().join(name);
    match nix::sys::stat::mkdirat(to.fd(), name, nix::sys::stat::Mode::from_bits_truncate(0o700)) {
        Ok(()) => {}
        Err(nix::errno::Errno::EEXIST) => return Ok(None),
        Err(e) => return Err(fail(&dest, e.into())),
    }
    let sub = to.subdir(name).map_err(|e| fail(&dest, e))?;
    let count = copy_tree(src, &sub)?;
    sub.chmod(mode).map_err(|e| fail(&dest, e))?;
    Ok(Some(1 + count))
}

fn copy_file(src: &Path, to: &Dir, name: &OsStr, mode: u32) -> Result<Option<u64>, Error> {
    let dest = to.path().join(name);
    let mut out = match to.create_new(name, 0o600) {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => return Ok(None),
        Err(e) => return Err(fail(&dest, e)),
    };
    let mut input = fs::File::open(src).map_err(|e| fail(src, e))?;
    std::io::copy(&mut input, &mut out).map_err(|e| fail(&dest, e))?;
    out.set_permissions(fs::Permissions::from_mode(mode)).map_err(|e| fail(&dest, e))?;
    Ok(Some(1))
}
