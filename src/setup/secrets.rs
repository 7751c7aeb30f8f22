//! Docker-style secrets, as official images' entrypoints (`file_env`) take
//! them: a variable `X` the configuration needs, unset or empty, while
//! `X_FILE=/path` is set, becomes the file's contents (one trailing newline
//! stripped), and `X_FILE` is dropped from the children's environment, since
//! those entrypoints refuse `X` and `X_FILE` together. Done first, as root,
//! so the files are readable before privileges drop.
//!
//! Only needed names are looked at (docs/reference.md, "Secrets"): `SSL_CERT_FILE`,
//! `TF_CLI_CONFIG_FILE` or a `POSTGRES_PASSWORD_FILE` meant for the image's
//! own entrypoint are not init's business, so they are never read, dropped
//! or warned about. For a needed name, a problem is an error.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

use crate::env::Environment;

/// Largest file taken as a secret (the kernel limits one variable to 128 KiB).
pub const MAX_SECRET_BYTES: usize = 64 << 10;

/// Reads a `_FILE` secret through the safe layer: a link is followed only
/// when root planted it (Docker's and Kubernetes' secret mounts), a FIFO or
/// device is refused without blocking, and at most one byte more than a
/// secret may hold is read.
pub fn read_secret(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let (file, _) = crate::safe_fs::root()?.open_input(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_BYTES as u64 + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Takes each needed name in `needed` from its `X_FILE`, reading files with
/// `read`. Returns every problem, each naming the variable.
pub fn apply<'n>(
    env: &mut Environment,
    needed: impl IntoIterator<Item = &'n str>,
    read: impl Fn(&Path) -> std::io::Result<Vec<u8>>,
) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    for name in needed {
        let file_var = format!("{name}_FILE");
        let Some(path) = env.get(&file_var).map(OsString::from) else { continue };
        // Empty counts as unset on both sides, as in `file_env`.
        let set = env.get(name).is_some_and(|v| !v.is_empty());
        match (set, path.is_empty()) {
            (true, false) => {
                problems.push(format!("both {name} and {file_var} are set; set only one"));
                continue;
            }
            (false, false) => match take(Path::new(&path), &read) {
                Ok(value) => {
                    env.set(name, value);
                    env.mark_secret(name);
                }
                Err(why) => {
                    problems.push(format!("{file_var}={}: {why}", Path::new(&path).display()));
                    continue;
                }
            },
            _ => {}
        }
        env.remove(&file_var);
    }
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

/// Why a secret file's value cannot be taken.
#[derive(thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Read(#[from] std::io::Error),
    #[error("larger than the {} KiB a secret may hold", MAX_SECRET_BYTES >> 10)]
    TooLarge,
    #[error("contains a NUL byte")]
    Nul,
}

crate::error::debug_by_display!(Error);

/// A secret file's value: at most `MAX_SECRET_BYTES`, no NUL byte, one
/// trailing newline stripped.
fn take(path: &Path, read: impl Fn(&Path) -> std::io::Result<Vec<u8>>) -> Result<OsString, Error> {
    let mut bytes = read(path)?;
    if bytes.len() > MAX_SECRET_BYTES {
        return Err(Error::TooLarge);
    }
    if bytes.contains(&0) {
        return Err(Error::Nul);
    }
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    Ok(OsString::from_vec(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    fn files(path: &Path) -> io::Result<Vec<u8>> {
        match path.to_str() {
            Some("/run/secrets/db") => Ok(b"s3cret\n".to_vec()),
            Some("/run/secrets/two") => Ok(b"line1\nline2\n\n".to_vec()),
            Some("/big") => Ok(vec![b'x'; MAX_SECRET_BYTES + 1]),
            Some("/nul") => Ok(b"a\0b".to_vec()),
            _ => Err(io::Error::from(io::ErrorKind::NotFound)),
        }
    }

    fn env(vars: &[(&str, &str)]) -> Environment {
        Environment::from_vars(vars.iter().map(|(k, v)| (k.into(), v.into())))
    }

    #[test]
    fn a_needed_name_is_taken_from_its_file_and_the_file_variable_dropped() {
        let mut e = env(&[("DB_PASSWORD_FILE", "/run/secrets/db"), ("OTHER_FILE", "/run/secrets/two")]);
        apply(&mut e, ["DB_PASSWORD", "OTHER"], files).unwrap();
        assert_eq!(e.get_str("DB_PASSWORD"), Some("s3cret"));
        assert_eq!(e.get_str("OTHER"), Some("line1\nline2\n"));
        assert!(e.is_secret("DB_PASSWORD"));
        assert!(!e.contains("DB_PASSWORD_FILE") && !e.contains("OTHER_FILE"));
    }

    #[test]
    fn a_file_variable_nobody_needs_is_left_alone() {
        let mut e = env(&[("SSL_CERT_FILE", "/nope"), ("POSTGRES_PASSWORD_FILE", "/run/secrets/db")]);
        apply(&mut e, ["DB_PASSWORD"], |_| panic!("nothing is read")).unwrap();
        assert_eq!(e.get_str("SSL_CERT_FILE"), Some("/nope"));
        assert_eq!(e.get_str("POSTGRES_PASSWORD_FILE"), Some("/run/secrets/db"));
        assert!(!e.contains("POSTGRES_PASSWORD"));
    }

    #[test]
    fn both_set_is_an_error_and_every_one_is_reported() {
        let mut e =
            env(&[("A_FILE", "/run/secrets/db"), ("A", "x"), ("B_FILE", "/run/secrets/two"), ("B", "y")]);
        let problems = apply(&mut e, ["A", "B"], files).unwrap_err();
        assert_eq!(
            problems,
            ["both A and A_FILE are set; set only one", "both B and B_FILE are set; set only one"]
        );
    }

    #[test]
    fn an_unreadable_huge_or_binary_file_is_an_error_naming_the_variable() {
        let mut e = env(&[("A_FILE", "/nope"), ("B_FILE", "/big"), ("C_FILE", "/nul")]);
        let problems = apply(&mut e, ["A", "B", "C"], files).unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("A_FILE=/nope: "), "{problems:?}");
        assert!(problems[1].starts_with("B_FILE=/big: larger than"), "{problems:?}");
        assert_eq!(problems[2], "C_FILE=/nul: contains a NUL byte");
        assert!(!e.contains("A") && e.contains("A_FILE"));
    }

    #[test]
    fn empty_counts_as_unset_on_both_sides() {
        let mut e = env(&[("A", ""), ("A_FILE", "/run/secrets/db"), ("B", "kept"), ("B_FILE", "")]);
        apply(&mut e, ["A", "B"], files).unwrap();
        assert_eq!((e.get_str("A"), e.get_str("B")), (Some("s3cret"), Some("kept")));
        assert!(!e.contains("A_FILE") && !e.contains("B_FILE"));
        assert!(!e.is_secret("B"));
    }
}
