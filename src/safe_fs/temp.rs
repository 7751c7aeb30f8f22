//! Temporary files of atomic writes: created exclusively (O_EXCL, never
//! through a symlink) under a name no one can predict, so a name planted in
//! a writable directory can neither redirect the write nor fail it; owner
//! and mode set on the descriptor; removed again unless committed.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::fcntl::renameat;
use nix::sys::stat::{Mode, fchmod};
use nix::unistd::{Gid, Uid, UnlinkatFlags, fchown, unlinkat};

use super::{Dir, sys};

/// Attempts at an unused random name before giving up.
const TRIES: usize = 16;

/// A written, not yet renamed temporary file beside its destination.
#[derive(Debug)]
pub struct Temp {
    dir: OwnedFd,
    name: OsString,
    dest: OsString,
    file: File,
    committed: bool,
}

/// 64 unpredictable bits: std's hasher keys come from the kernel's random source.
fn random() -> u64 {
    let mut h = std::hash::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

/// `.NAME.XXXXXXXXXXXXXXXX.tmp`, the name shortened to stay within NAME_MAX.
fn temp_name(dest: &OsStr) -> OsString {
    let keep = &dest.as_bytes()[..dest.len().min(200)];
    let mut name = b".".to_vec();
    name.extend_from_slice(keep);
    name.extend_from_slice(format!(".{:016x}.tmp", random()).as_bytes());
    OsString::from(std::ffi::OsStr::from_bytes(&name))
}

impl Temp {
    /// Writes `bytes` to a new temporary file in `dir` meant to become `dest`.
    pub fn write(
        dir: &Dir,
        dest: &OsStr,
        bytes: &[u8],
        mode: u32,
        owner: Option<(u32, u32)>,
    ) -> io::Result<Temp> {
        let mut last = io::Error::from(Errno::EEXIST);
        for _ in 0..TRIES {
            let name = temp_name(dest);
            let file = match dir.create_new(&name, 0o600) {
                Ok(f) => f,
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                    last = e;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let temp =
                Temp { dir: dir.fd.try_clone()?, name, dest: dest.to_os_string(), file, committed: false };
            (&temp.file).write_all(bytes)?;
            if let Some((uid, gid)) = owner {
                fchown(&temp.file, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid))).map_err(sys)?;
            }
            fchmod(&temp.file, Mode::from_bits_truncate(mode)).map_err(sys)?;
            return Ok(temp);
        }
        Err(last)
    }

    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_all()
    }

    /// Renames the file over its destination.
    pub fn commit(mut self) -> io::Result<()> {
        renameat(&self.dir, self.name.as_os_str(), &self.dir, self.dest.as_os_str()).map_err(sys)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.committed {
            let _ = unlinkat(&self.dir, self.name.as_os_str(), UnlinkatFlags::NoRemoveDir);
        }
    }
}
