//! Whether a destination already holds what a render would write, so that
//! a restart with the same configuration writes nothing (docs/reference.md,
//! "Templates").

use super::RenderedFile;

/// The destination already is what writing `file` would make it: a regular
/// file with one link, the same bytes, and the owner asked for (init's own
/// uid when none is). Its mode, if it differs, is then set in place. A file
/// with another owner or more than one link is replaced, never changed in
/// place: a hard link could be to a file elsewhere, and a writer holding it
/// open would keep writing to a file init gave to someone else
/// (docs/security.md).
pub(super) fn unchanged(
    dir: &crate::safe_fs::Dir,
    name: &std::ffi::OsStr,
    file: &RenderedFile,
    euid: u32,
) -> bool {
    let Ok((f, st)) = dir.open_regular(name) else { return false };
    let owner_ok = match file.owner {
        Some((uid, gid)) => (st.st_uid, st.st_gid) == (uid, gid),
        None => st.st_uid == euid,
    };
    if st.st_nlink != 1 || !owner_ok || usize::try_from(st.st_size).ok() != Some(file.text.len()) {
        return false;
    }
    same_bytes(&f, file.text.as_bytes())
        && (st.st_mode & 0o7777 == file.mode
            || nix::sys::stat::fchmod(&f, nix::sys::stat::Mode::from_bits_truncate(file.mode)).is_ok())
}

/// The open file holds `want` (its size was checked): compared piece by
/// piece through a buffer on the stack, no allocation, no read past the end.
fn same_bytes(mut f: &std::fs::File, want: &[u8]) -> bool {
    use std::io::Read;
    let mut buf = [0u8; 32 * 1024];
    let mut at = 0;
    while at < want.len() {
        let piece = (want.len() - at).min(buf.len());
        match f.read(&mut buf[..piece]) {
            Ok(n) if n > 0 && buf[..n] == want[at..at + n] => at += n,
            _ => return false,
        }
    }
    true
}
