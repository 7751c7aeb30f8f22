//! Reading template sources: a file's text (bounded, UTF-8, not binary)
//! and a directory source's files and directories.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::MAX_TEMPLATE_BYTES;
use crate::safe_fs::Dirs;

/// Why a template source cannot be rendered, naming it (a problem of the
/// plan: exit 78). A problem is one line, so each message holds its cause.
#[derive(thiserror::Error)]
pub enum Error {
    #[error("{}: {error}", path.display())]
    Io { path: PathBuf, error: std::io::Error },
    /// `size`: when known before reading.
    #[error(
        "{}: {}over the {} MiB limit for a template",
        path.display(),
        size.map_or(String::new(), |s| format!("{s} bytes is ")),
        MAX_TEMPLATE_BYTES >> 20
    )]
    TooLarge { path: PathBuf, size: Option<u64> },
    #[error("{}: a binary file (NUL byte at offset {at}), not a template", path.display())]
    Binary { path: PathBuf, at: usize },
    #[error("{}: not UTF-8 text (invalid byte at offset {at})", path.display())]
    NotUtf8 { path: PathBuf, at: usize },
    #[error("{}: only files and directories can be templates", .0.display())]
    NotFile(PathBuf),
}

crate::error::debug_by_display!(Error);

/// Reads a template source: text, UTF-8, not binary, not huge; through
/// the safe layer (a ConfigMap's root-owned links are followed, no one
/// else's; a FIFO is refused, not waited on).
pub(super) fn read_template(dirs: &mut Dirs, src: &Path, size: u64) -> Result<String, Error> {
    let path = || src.to_path_buf();
    if size > MAX_TEMPLATE_BYTES {
        return Err(Error::TooLarge { path: path(), size: Some(size) });
    }
    let bytes = dirs.read_input(src, MAX_TEMPLATE_BYTES as usize).map_err(|error| match error.kind() {
        std::io::ErrorKind::InvalidData => Error::TooLarge { path: path(), size: None },
        _ => Error::Io { path: path(), error },
    })?;
    // `contains` on bytes is a word-at-a-time search; the offset only on the error path.
    if bytes.contains(&0) {
        let at = bytes.iter().position(|&b| b == 0).unwrap_or_default();
        return Err(Error::Binary { path: path(), at });
    }
    String::from_utf8(bytes).map_err(|e| Error::NotUtf8 { path: path(), at: e.utf8_error().valid_up_to() })
}

/// Lists a directory source: files and directories relative to `base`, with modes.
pub(super) fn walk(
    base: &Path,
    rel: &Path,
    files: &mut Vec<(PathBuf, u32, u64)>,
    dirs: &mut Vec<(PathBuf, u32)>,
) -> Result<(), Error> {
    let dir = base.join(rel);
    let fail = |error| Error::Io { path: dir.clone(), error };
    let mut entries: Vec<_> = fs::read_dir(&dir).map_err(fail)?.collect::<Result<_, _>>().map_err(fail)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        // A Kubernetes ConfigMap or Secret volume: its keys are links into
        // `..data`, a link to a `..TIMESTAMP` directory; those are the
        // kubelet's, not keys, and are left out (docs/reference.md, "Templates").
        if entry.file_name().as_encoded_bytes().starts_with(b"..") {
            continue;
        }
        let path = rel.join(entry.file_name());
        // A key's link is followed to see what it is; its text is read
        // through the safe layer, which follows only trusted links.
        let meta = fs::metadata(entry.path()).map_err(|error| Error::Io { path: entry.path(), error })?;
        let mode = meta.mode() & 0o7777;
        if meta.is_dir() {
            dirs.push((path.clone(), mode));
            walk(base, &path, files, dirs)?;
        } else if meta.is_file() {
            files.push((path, mode, meta.len()));
        } else {
            return Err(Error::NotFile(entry.path()));
        }
    }
    Ok(())
}
