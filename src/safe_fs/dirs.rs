//! A batch's directories, each resolved once: a thousand templates written
//! into one directory cost one safe resolution of it, not a thousand. The
//! cache holds descriptors, so what was checked is what is used.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use nix::sys::stat::{FileStat, SFlag};

use super::{Dir, kind, split};

pub struct Dirs {
    root: Dir,
    known: BTreeMap<PathBuf, Dir>,
}

impl Dirs {
    /// A batch resolving from `/`.
    pub fn at_root() -> io::Result<Dirs> {
        Ok(Dirs { root: super::root()?, known: BTreeMap::new() })
    }

    pub fn root(&self) -> &Dir {
        &self.root
    }

    /// The directory at `path`, resolved (and made, with `create`'s mode) once.
    pub fn dir(&mut self, path: &Path, create: Option<u32>) -> io::Result<&Dir> {
        let path = std::path::absolute(path)?;
        if !self.known.contains_key(&path) {
            let dir = self.root.resolve_dir(&path, create)?;
            self.known.insert(path.clone(), dir);
        }
        Ok(&self.known[&path])
    }

    /// `path`'s directory and last component.
    pub fn parent(&mut self, path: &Path, create: Option<u32>) -> io::Result<(&Dir, std::ffi::OsString)> {
        let path = std::path::absolute(path)?;
        let (parent, name) = split(&path)?;
        let name = name.to_os_string();
        Ok((self.dir(parent, create)?, name))
    }

    /// As `Dir::read_input`, with the file's directory resolved once per batch.
    pub fn read_input(&mut self, path: &Path, cap: usize) -> io::Result<Vec<u8>> {
        let (file, st) = self.open_input(path)?;
        super::read_bounded(file, &st, cap)
    }

    /// As `Dir::open_input`, with the file's directory resolved once per batch.
    pub fn open_input(&mut self, path: &Path) -> io::Result<(File, FileStat)> {
        let (dir, name) = self.parent(path, None)?;
        match dir.stat_at(&name)? {
            Some(st) if kind(&st) == SFlag::S_IFLNK => self.root.open_input(path),
            Some(_) => dir.open_regular(&name),
            None => Err(io::Error::from(io::ErrorKind::NotFound)),
        }
    }
}
