//! Docker-style secrets: every `X_FILE=/path` with `X` unset becomes `X` =
//! the file's contents, one trailing newline stripped. Done first, as root,
//! so the files are readable before privileges drop.
//!
//! Many `_FILE` variables are not secrets (`SSL_CERT_FILE` names a 200 kB CA
//! bundle, `TF_CLI_CONFIG_FILE` a file that may not exist), so a path that is
//! not a readable file of at most 64 KiB is skipped instead of failing the
//! boot (with a warning when it cannot be read, at debug level when it is
//! too large to be a secret): a secret that really is missing then shows up
//! as "X is not set" wherever X is required.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

use crate::config::valid_var_name;
use crate::env::Environment;

/// `_FILE` variables that were not taken as secrets, and why.
#[derive(Debug, Default)]
pub struct Skipped {
    /// Unreadable files: maybe a mistyped secret path.
    pub warnings: Vec<String>,
    /// Files too large to be secrets (CA bundles and the like).
    pub notes: Vec<String>,
}

impl Skipped {
    pub fn log(&self) {
        self.warnings.iter().for_each(|w| tracing::warn!("{w}"));
        self.notes.iter().for_each(|n| tracing::debug!("{n}"));
    }
}

/// Largest file taken as a secret (the kernel limits one variable to 128 KiB).
pub const MAX_SECRET_BYTES: usize = 64 << 10;

/// Reads a `_FILE` secret through the safe layer: a link is followed only
/// when root planted it (Docker's and Kubernetes' secret mounts), a FIFO or
/// device is refused without blocking, and at most one byte more than a
/// secret may hold is read.
pub fn read_secret(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let (file, _) = crate::safe_fs::Dir::base(Path::new("/"))?.open_input(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_BYTES as u64 + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Applies every `_FILE` variable of `env`, reading files with `read`.
/// Returns the skipped variables (as warnings, and as notes for files too
/// large to be secrets), or every problem.
pub fn apply(
    env: &mut Environment,
    read: impl Fn(&Path) -> std::io::Result<Vec<u8>>,
) -> Result<Skipped, Vec<String>> {
    let mut problems = Vec::new();
    let mut skipped = Skipped::default();
    let wanted: Vec<(String, OsString)> = env
        .vars()
        .iter()
        .filter_map(|(k, v)| {
            let name = k.to_str()?.strip_suffix("_FILE")?;
            (valid_var_name(name) && !v.is_empty()).then(|| (name.to_string(), v.clone()))
        })
        .collect();
    for (name, path) in wanted {
        if env.contains(&name) {
            problems.push(format!("both {name} and {name}_FILE are set; set only one"));
            continue;
        }
        let path = Path::new(&path);
        let skip = |why: String| format!("{name}_FILE={}: {why}; {name} left unset", path.display());
        match read(path) {
            Ok(bytes) if bytes.len() > MAX_SECRET_BYTES => {
                skipped.notes.push(skip(format!("{} bytes is too large for a secret", bytes.len())));
            }
            Ok(bytes) if bytes.contains(&0) => skipped.warnings.push(skip("contains a NUL byte".into())),
            Ok(mut bytes) => {
                if bytes.last() == Some(&b'\n') {
                    bytes.pop();
                }
                env.set(name.clone(), OsString::from_vec(bytes));
                env.mark_secret(&name);
            }
            Err(e) => skipped.warnings.push(skip(e.to_string())),
        }
    }
    if problems.is_empty() { Ok(skipped) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    fn files(path: &Path) -> io::Result<Vec<u8>> {
        match path.to_str() {
            Some("/run/secrets/db") => Ok(b"s3cret\n".to_vec()),
            Some("/run/secrets/two") => Ok(b"line1\nline2\n\n".to_vec()),
            _ => Err(io::Error::from(io::ErrorKind::NotFound)),
        }
    }

    fn env(vars: &[(&str, &str)]) -> Environment {
        Environment::from_vars(vars.iter().map(|(k, v)| (k.into(), v.into())))
    }

    #[test]
    fn a_file_variable_sets_the_plain_one_without_the_trailing_newline() {
        let mut e = env(&[("DB_PASSWORD_FILE", "/run/secrets/db"), ("OTHER_FILE", "/run/secrets/two")]);
        apply(&mut e, files).unwrap();
        assert_eq!(e.get_str("DB_PASSWORD"), Some("s3cret"));
        assert_eq!(e.get_str("OTHER"), Some("line1\nline2\n"));
        assert!(e.is_secret("DB_PASSWORD"));
    }

    #[test]
    fn both_set_is_an_error_and_every_one_is_reported() {
        let mut e =
            env(&[("A_FILE", "/run/secrets/db"), ("A", "x"), ("B_FILE", "/run/secrets/two"), ("B", "y")]);
        let problems = apply(&mut e, files).unwrap_err();
        assert_eq!(
            problems,
            ["both A and A_FILE are set; set only one", "both B and B_FILE are set; set only one"]
        );
    }

    #[test]
    fn an_unreadable_or_huge_file_is_skipped_with_a_warning() {
        let big =
            |p: &Path| if p == Path::new("/big") { Ok(vec![b'x'; MAX_SECRET_BYTES + 1]) } else { files(p) };
        let mut e = env(&[("TF_CLI_CONFIG_FILE", "/nope"), ("SSL_CERT_FILE", "/big")]);
        let skipped = apply(&mut e, big).unwrap();
        let w = &skipped.warnings;
        assert!(
            w.len() == 1
                && w[0].starts_with("TF_CLI_CONFIG_FILE=/nope: ")
                && w[0].ends_with("TF_CLI_CONFIG left unset")
        );
        assert!(skipped.notes.len() == 1 && skipped.notes[0].contains("too large"), "{skipped:?}");
        assert_eq!(e.get("SSL_CERT"), None);
    }

    #[test]
    fn a_bare_or_empty_file_variable_is_not_a_secret() {
        let mut e = env(&[("_FILE", "/nope"), ("9_FILE", "/nope"), ("LICENSE", "MIT"), ("LICENSE_FILE", "")]);
        let skipped = apply(&mut e, files).unwrap();
        assert!(skipped.warnings.is_empty(), "{skipped:?}");
    }
}
