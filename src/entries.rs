//! What may go into a line of /etc/passwd, /etc/group or /etc/shadow. Their
//! fields are separated by `:` and their records by newlines, so a value
//! holding either (say a `[user] home` rendered from an operator's variable)
//! could add a line of its own — a passwordless uid 0. Config checking
//! reports these with positions; setup/account.rs checks again before it
//! writes, so nothing that skipped the config check reaches the files.

use std::path::Path;

use crate::config::RuntimeUser;
use crate::sysdirs::is_system_dir;

/// Longest user or group name, as useradd(8) allows.
pub const MAX_NAME: usize = 32;
/// Longest home or shell path (PATH_MAX).
pub const MAX_PATH: usize = 4096;

/// Why a value may not go into /etc/passwd, /etc/group or /etc/shadow;
/// each names the value (`Refused` adds the `[user]` field it came from).
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("{0:?} contains `:`, the field separator of /etc/passwd and /etc/group")]
    Colon(String),
    #[error("{0:?} contains the control character {1:?}")]
    Control(String, char),
    #[error("{0:?} must be 1 to {MAX_NAME} characters long")]
    NameLength(String),
    #[error("{0:?} is not a valid name (a letter or _ first, then letters, digits, _ . -)")]
    Name(String),
    #[error("{0:?} must be an absolute path")]
    Relative(String),
    /// Only the value's start is shown: the whole would bury the message.
    #[error("{start:?}... is {len} bytes long (at most {MAX_PATH})")]
    TooLong { start: String, len: usize },
    #[error("{0:?}: {1}; the user's home cannot be there")]
    SystemDir(String, &'static str),
}

crate::error::debug_by_display!(Error);

/// A `[user]` value refused, its field's name leading the value's own
/// message: `[user] home "...": ...`.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("[user] {field} {error}")]
pub struct Refused {
    pub field: &'static str,
    pub error: Error,
}

crate::error::debug_by_display!(Refused);

/// A `:` or control character in `t`.
fn forbidden(t: &str) -> Result<(), Error> {
    if t.contains(':') {
        return Err(Error::Colon(t.into()));
    }
    match t.chars().find(|c| c.is_control()) {
        Some(c) => Err(Error::Control(t.into(), c)),
        None => Ok(()),
    }
}

/// A user or group name: at most 32 characters, a letter or `_` first, then
/// letters, digits, `_`, `.`, `-` and a final `$` (Samba machine accounts).
pub fn name(t: &str) -> Result<(), Error> {
    forbidden(t)?;
    let b = t.as_bytes();
    if b.is_empty() || b.len() > MAX_NAME {
        return Err(Error::NameLength(t.into()));
    }
    let last = b.len() - 1;
    let ok = (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().enumerate().all(|(i, c)| {
            c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-') || (*c == b'$' && i == last)
        });
    if ok { Ok(()) } else { Err(Error::Name(t.into())) }
}

/// A path field (home, shell): absolute, at most 4096 bytes, no `:` and no
/// control character.
pub fn path(t: &str) -> Result<(), Error> {
    forbidden(t)?;
    if !t.starts_with('/') {
        return Err(Error::Relative(t.into()));
    }
    if t.len() > MAX_PATH {
        let mut cut = 40;
        while !t.is_char_boundary(cut) {
            cut -= 1;
        }
        return Err(Error::TooLong { start: t[..cut].into(), len: t.len() });
    }
    Ok(())
}

/// A home directory: a valid path that is not `/` nor a system directory
/// (init creates and chowns it for the user).
pub fn home(t: &str) -> Result<(), Error> {
    path(t)?;
    match is_system_dir(Path::new(t)) {
        Some(why) => Err(Error::SystemDir(t.into(), why)),
        None => Ok(()),
    }
}

/// Every value of `[user]` that goes into the files, each error naming its
/// field: `[user] home "...": ...`.
pub fn runtime_user(want: &RuntimeUser) -> Result<(), Refused> {
    let field = |field, r: Result<(), Error>| r.map_err(|error| Refused { field, error });
    field("name", name(&want.name))?;
    for g in &want.groups {
        field("groups", name(g))?;
    }
    let text = |p: &Path| p.to_str().map(str::to_owned).unwrap_or_else(|| p.display().to_string());
    if let Some(h) = &want.home {
        field("home", home(&text(h)))?;
    }
    if let Some(s) = &want.shell {
        field("shell", path(&text(s)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_useradd() {
        for ok in ["app", "_apt", "www-data", "a.b", "host$", &"a".repeat(32)] {
            assert_eq!(name(ok), Ok(()), "{ok}");
        }
        for bad in ["", "0day", "-x", "a b", "a$b", "é", &"a".repeat(33)] {
            assert!(name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn separators_and_control_characters_are_refused_by_name() {
        let e = name("x:0:0").unwrap_err();
        assert!(matches!(e, Error::Colon(_)), "{e}");
        assert!(e.to_string().contains("contains `:`"), "{e}");
        let e = path("/home/app:0:0::/:/bin/sh\nx").unwrap_err();
        assert!(matches!(e, Error::Colon(_)), "{e}");
        let e = path("/home/app\n/bin/sh").unwrap_err();
        assert!(matches!(e, Error::Control(_, '\n')), "{e}");
        assert!(e.to_string().contains("control character '\\n'"), "{e}");
        for bad in ["/a\0b", "/a\rb", "/a\x7fb", "/a\u{85}b", "/a\tb"] {
            assert!(matches!(path(bad), Err(Error::Control(..))), "{bad:?}");
        }
    }

    #[test]
    fn paths_must_be_absolute_and_bounded() {
        assert_eq!(path("/bin/bash"), Ok(()));
        assert!(matches!(path("bin/bash"), Err(Error::Relative(_))));
        let long = format!("/{}", "é".repeat(3000));
        assert!(matches!(path(&long), Err(Error::TooLong { len: 6001, .. })));
        assert!(path(&long).unwrap_err().to_string().contains("6001 bytes long"));
    }

    #[test]
    fn a_home_in_a_system_tree_is_refused() {
        assert_eq!(home("/home/app"), Ok(()));
        let why = |t| match home(t) {
            Err(Error::SystemDir(_, why)) => why,
            other => panic!("{t}: {other:?}"),
        };
        assert!(why("/").contains("root of the filesystem"));
        assert!(why("/etc/app").contains("/etc is a system tree"));
        assert!(why("/home").contains("/home is a system directory"));
    }

    #[test]
    fn a_runtime_user_names_the_field_at_fault() {
        let mut u = RuntimeUser { name: "app".into(), ..RuntimeUser::default() };
        assert_eq!(runtime_user(&u), Ok(()));
        u.shell = Some("/bin/sh\n".into());
        let e = runtime_user(&u).unwrap_err();
        assert!(matches!(e, Refused { field: "shell", error: Error::Control(..) }), "{e}");
        assert!(e.to_string().starts_with("[user] shell \"/bin/sh\\n\" contains"), "{e}");
        u.shell = None;
        u.groups = vec!["users".into(), "wheel:x:0:".into()];
        let e = runtime_user(&u).unwrap_err();
        assert!(e.to_string().starts_with("[user] groups \"wheel:x:0:\""), "{e}");
        u.groups.clear();
        u.home = Some("/:0:0::/:/bin/sh".into());
        assert!(matches!(runtime_user(&u), Err(Refused { field: "home", error: Error::Colon(_) })));
    }
}
