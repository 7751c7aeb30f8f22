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

/// A `:` or control character in `t`, described; `None` when it has neither.
fn forbidden(t: &str) -> Option<String> {
    if t.contains(':') {
        return Some("contains `:`, the field separator of /etc/passwd and /etc/group".into());
    }
    t.chars().find(|c| c.is_control()).map(|c| format!("contains the control character {c:?}"))
}

/// A user or group name: at most 32 characters, a letter or `_` first, then
/// letters, digits, `_`, `.`, `-` and a final `$` (Samba machine accounts).
pub fn name(t: &str) -> Result<(), String> {
    if let Some(why) = forbidden(t) {
        return Err(format!("{t:?} {why}"));
    }
    let b = t.as_bytes();
    if b.is_empty() || b.len() > MAX_NAME {
        return Err(format!("{t:?} must be 1 to {MAX_NAME} characters long"));
    }
    let last = b.len() - 1;
    let ok = (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().enumerate().all(|(i, c)| {
            c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-') || (*c == b'$' && i == last)
        });
    if ok {
        Ok(())
    } else {
        Err(format!("{t:?} is not a valid name (a letter or _ first, then letters, digits, _ . -)"))
    }
}

/// A path field (home, shell): absolute, at most 4096 bytes, no `:` and no
/// control character.
pub fn path(t: &str) -> Result<(), String> {
    if let Some(why) = forbidden(t) {
        return Err(format!("{t:?} {why}"));
    }
    if !t.starts_with('/') {
        return Err(format!("{t:?} must be an absolute path"));
    }
    if t.len() > MAX_PATH {
        // Only its start: the whole value would bury the message.
        let mut cut = 40;
        while !t.is_char_boundary(cut) {
            cut -= 1;
        }
        return Err(format!("{:?}... is {} bytes long (at most {MAX_PATH})", &t[..cut], t.len()));
    }
    Ok(())
}

/// A home directory: a valid path that is not `/` nor a system directory
/// (init creates and chowns it for the user).
pub fn home(t: &str) -> Result<(), String> {
    path(t)?;
    match is_system_dir(Path::new(t)) {
        Some(why) => Err(format!("{t:?}: {why}; the user's home cannot be there")),
        None => Ok(()),
    }
}

/// Every value of `[user]` that goes into the files, each error naming its
/// field: `[user] home "...": ...`.
pub fn runtime_user(want: &RuntimeUser) -> Result<(), String> {
    let field = |what: &str, r: Result<(), String>| r.map_err(|e| format!("[user] {what} {e}"));
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
        assert!(e.contains("contains `:`"), "{e}");
        let e = path("/home/app:0:0::/:/bin/sh\nx").unwrap_err();
        assert!(e.contains("contains `:`"), "{e}");
        let e = path("/home/app\n/bin/sh").unwrap_err();
        assert!(e.contains("control character '\\n'"), "{e}");
        for bad in ["/a\0b", "/a\rb", "/a\x7fb", "/a\u{85}b", "/a\tb"] {
            assert!(path(bad).unwrap_err().contains("control character"), "{bad:?}");
        }
    }

    #[test]
    fn paths_must_be_absolute_and_bounded() {
        assert_eq!(path("/bin/bash"), Ok(()));
        assert!(path("bin/bash").unwrap_err().contains("absolute"));
        let long = format!("/{}", "é".repeat(3000));
        assert!(path(&long).unwrap_err().contains("6001 bytes long"));
    }

    #[test]
    fn a_home_in_a_system_tree_is_refused() {
        assert_eq!(home("/home/app"), Ok(()));
        assert!(home("/").unwrap_err().contains("root of the filesystem"));
        assert!(home("/etc/app").unwrap_err().contains("/etc is a system tree"));
        assert!(home("/home").unwrap_err().contains("/home is a system directory"));
    }

    #[test]
    fn a_runtime_user_names_the_field_at_fault() {
        let mut u = RuntimeUser { name: "app".into(), ..RuntimeUser::default() };
        assert_eq!(runtime_user(&u), Ok(()));
        u.shell = Some("/bin/sh\n".into());
        assert!(runtime_user(&u).unwrap_err().starts_with("[user] shell \"/bin/sh\\n\" contains"));
        u.shell = None;
        u.groups = vec!["users".into(), "wheel:x:0:".into()];
        assert!(runtime_user(&u).unwrap_err().starts_with("[user] groups \"wheel:x:0:\""));
        u.groups.clear();
        u.home = Some("/:0:0::/:/bin/sh".into());
        assert!(runtime_user(&u).unwrap_err().starts_with("[user] home"));
    }
}
