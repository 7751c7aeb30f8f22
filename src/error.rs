//! The error that ends init, wrapping each module's own error where one
//! reaches `main`. Each variant's message names the value at fault; its
//! exit code is fixed here (docs/reference.md, "Exit codes") and nowhere else.
//!
//! Each message is printed once. A variant that keeps a cause either
//! leaves the cause's text out of its own message and returns it from
//! `source()` (`report()` in main.rs, and `Chain` for a log line or an
//! answer, add it after `: `), or writes the cause into its own message
//! (a cause in the middle of a sentence, a reason in parentheses, a line
//! of a list) and then has no `source()`. `#[error(transparent)]` is the
//! cause itself, message and source both.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;

use crate::config;
use crate::entries;
use crate::probe::NotReady;
use crate::setup::{account, user, volume};
use crate::status;

/// `Debug` as the message, for the error types of this crate: `Debug` is
/// in every `dyn Error`'s vtable (a source, `Chain`), and derived ones cost
/// kilobytes of the binary's size budget (docs/benchmarks.md, "Budgets") that
/// nothing reads; a test that fails shows the message.
macro_rules! debug_by_display {
    ($($t:ty),*) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(self, f)
            }
        }
    )*};
}
pub(crate) use debug_by_display;

#[derive(thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),

    /// A value on the command line that does not parse.
    #[error(transparent)]
    Argument(config::BadValue),

    #[error("refusing to run with the set-uid or set-gid bit (or file capabilities) on {0}")]
    SecureExec(String),

    #[error(transparent)]
    Config(#[from] config::Error),

    /// Every problem found in a config and its templates, one line each.
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),

    /// As `Invalid`, at least one of the problems a variable not set.
    #[error("{}", .0.join("\n"))]
    Unset(Vec<String>),

    /// A `[user]` value that may not go into /etc/passwd (checked again
    /// where the edit is made).
    #[error(transparent)]
    Entry(#[from] entries::Refused),

    #[error(transparent)]
    User(#[from] user::Error),

    #[error(transparent)]
    Owner(#[from] user::UnknownOwner),

    #[error(transparent)]
    Account(#[from] account::Refused),

    #[error(transparent)]
    Volume(#[from] volume::Refused),

    /// A file or directory init could not read, make or change.
    #[error("{}", path.display())]
    Io { path: PathBuf, source: std::io::Error },

    /// A template destination that could not be written.
    #[error("{}", path.display())]
    Destination { path: PathBuf, source: std::io::Error },

    /// The runtime user's home, which could not be given to the user.
    #[error("{}", path.display())]
    Chown { path: PathBuf, source: std::io::Error },

    /// A write that was not permitted, with what to make writable
    /// (docs/running-restricted.md) after the cause.
    #[error("{}: {error}: {hint}", path.display())]
    Unwritable { path: PathBuf, error: std::io::Error, hint: String },

    #[error("timed out waiting for {target}")]
    WaitTimeout { target: String, source: NotReady },

    /// The running init did not answer a request in time.
    #[error("timed out waiting for `{request}`: no answer{}", after.map_or(String::new(), |t| format!(" after {}s", t.as_secs_f32())))]
    NoAnswer { request: String, after: Option<Duration> },

    #[error("stopped by signal {0} while waiting")]
    Interrupted(i32),

    /// `init status` / `init health` found no running init to ask.
    #[error("status file {}", path.display())]
    NoStatus { path: PathBuf, source: status::Error },

    /// The running init's control socket could not be reached or read.
    #[error("{}", path.display())]
    Control { path: PathBuf, source: std::io::Error },

    #[error("no task or service named {0:?}")]
    UnknownTask(String),

    /// `init run NAME` names a task or service that `enabled` switched off.
    #[error("{0}")]
    SwitchedOff(String),

    /// The running init refused or could not do what `init start|stop|
    /// restart|signal` asked; its own code and reason.
    #[error("{message}")]
    Refused { message: String, code: u8 },

    #[error("{program}: {}", exec_reason(*.errno))]
    Exec { program: String, errno: Errno },

    #[error("cannot change to workdir {}: {}", path.display(), errno.desc())]
    Workdir { path: PathBuf, errno: Errno },

    #[error("cannot switch to {ids}: {}", errno.desc())]
    Privileges { ids: String, errno: Errno },

    #[error("{0}")]
    NotPermitted(String),

    #[error("argument or environment variable of {0:?} contains a NUL byte")]
    NulInArgument(String),

    #[error("{call} failed: {errno}")]
    Os { call: &'static str, errno: Errno },

    /// `error`, and then one line of what to do about it (`hint: ...`):
    /// `report()` prints `error`'s chain, then the hint.
    #[error("{error}")]
    Hinted { error: Box<Error>, hint: String },
}

debug_by_display!(Error);

/// Not permitted: permission denied, or a read-only filesystem.
fn not_permitted(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem)
        || e.raw_os_error() == Some(libc::EPERM)
}

/// A write that failed for the system's reasons, not the configuration's:
/// out of space or quota, an I/O error, a closed pipe, out of descriptors
/// or memory. Such a failure is 71 (an OS call failed), never 78
/// (docs/reference.md, "Exit codes").
fn os_failure(e: &std::io::Error) -> bool {
    use nix::libc;
    matches!(
        e.raw_os_error(),
        Some(
            libc::ENOSPC
                | libc::EDQUOT
                | libc::EIO
                | libc::EPIPE
                | libc::EMFILE
                | libc::ENFILE
                | libc::ENOMEM
                | libc::EAGAIN
                | libc::EINTR
                | libc::EBUSY
        )
    )
}

fn exec_reason(errno: Errno) -> String {
    match errno {
        Errno::ENOENT => "command not found".to_string(),
        Errno::EACCES => "permission denied (not executable)".to_string(),
        Errno::ENOEXEC => "exec format error (not a binary, no #! line)".to_string(),
        other => format!("cannot execute: {}", other.desc()),
    }
}

impl Error {
    pub fn os(call: &'static str, errno: Errno) -> Error {
        Error::Os { call, errno }
    }

    /// An I/O failure on `path`: 77 when it was not permitted (or the
    /// filesystem is read-only), else 71.
    pub fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io { path: path.to_path_buf(), source }
    }

    /// This error, or, when it is an I/O failure that was not permitted,
    /// 77 with `hint` saying what to make writable (docs/running-restricted.md).
    pub fn hinted(self, hint: &str) -> Error {
        match self {
            Error::Io { path, source: error }
            | Error::Destination { path, source: error }
            | Error::Chown { path, source: error }
                if not_permitted(&error) =>
            {
                Error::Unwritable { path, error, hint: hint.into() }
            }
            other => other,
        }
    }

    /// The exit code init ends with when this error stops it.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::Argument(_) => 2,
            Error::UnknownTask(_) | Error::SwitchedOff(_) => 64,
            Error::NoStatus { .. } => 1,
            Error::Control { .. } => 1,
            Error::Refused { code, .. } => *code,
            Error::WaitTimeout { .. } | Error::NoAnswer { .. } => 75,
            Error::Interrupted(sig) => u8::try_from(128 + sig).unwrap_or(u8::MAX),
            Error::User(_) | Error::Owner(_) | Error::Account(_) => 67,
            Error::Io { source, .. } | Error::Destination { source, .. } if not_permitted(source) => 77,
            Error::Io { .. } => 71,
            Error::Destination { source, .. } if os_failure(source) => 71,
            Error::Os { .. } => 71,
            Error::SecureExec(_)
            | Error::NotPermitted(_)
            | Error::Chown { .. }
            | Error::Unwritable { .. } => 77,
            Error::Privileges { errno: Errno::EPERM, .. } => 77,
            Error::Privileges { .. } => 71,
            Error::Config(_) | Error::Invalid(_) | Error::Unset(_) | Error::Entry(_) => 78,
            Error::Volume(_) | Error::Destination { .. } => 78,
            Error::Exec { errno: Errno::ENOENT, .. } => 127,
            Error::Exec { .. } | Error::NulInArgument(_) | Error::Workdir { .. } => 126,
            Error::Hinted { error, .. } => error.exit_code(),
        }
    }
}

/// An error and its sources joined by `: `, each message once (see the
/// module comment): for a log line or an answer that must say it all.
pub struct Chain<'a>(pub &'a dyn std::error::Error);

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_failures_map_to_126_and_127() {
        let missing = Error::Exec { program: "nope".into(), errno: Errno::ENOENT };
        let denied = Error::Exec { program: "/etc/passwd".into(), errno: Errno::EACCES };
        assert_eq!(missing.exit_code(), 127);
        assert_eq!(denied.exit_code(), 126);
        assert_eq!(missing.to_string(), "nope: command not found");
        assert_eq!(denied.to_string(), "/etc/passwd: permission denied (not executable)");
    }

    #[test]
    fn an_io_failure_is_71_or_77_and_its_cause_is_said_once() {
        let io = |errno: Errno| std::io::Error::from(errno);
        let denied = Error::io(Path::new("/data"), io(Errno::EACCES));
        assert_eq!(denied.exit_code(), 77);
        assert_eq!(Chain(&denied).to_string(), "/data: Permission denied (os error 13)");
        let full = Error::io(Path::new("/data"), io(Errno::ENOSPC));
        assert_eq!(full.exit_code(), 71);
        let hinted = Error::io(Path::new("/data"), io(Errno::EROFS)).hinted("mount a volume");
        assert!(matches!(hinted, Error::Unwritable { .. }));
        assert_eq!(hinted.exit_code(), 77);
        assert_eq!(Chain(&hinted).to_string(), "/data: Read-only file system (os error 30): mount a volume");
        let kept = Error::io(Path::new("/data"), io(Errno::EIO)).hinted("mount a volume");
        assert!(matches!(kept, Error::Io { .. }), "{kept}");
    }

    #[test]
    fn a_template_destination_is_78_unless_the_system_failed() {
        let dest = |errno: Errno| Error::Destination { path: "/etc/app.conf".into(), source: errno.into() };
        assert_eq!(dest(Errno::EISDIR).exit_code(), 78);
        assert_eq!(dest(Errno::ENOSPC).exit_code(), 71);
        assert_eq!(dest(Errno::EACCES).exit_code(), 77);
    }

    #[test]
    fn a_chain_says_each_message_once() {
        let e = Error::from(config::Error::Read {
            path: "/c/init.toml".into(),
            source: std::io::Error::from(Errno::EISDIR),
        });
        assert_eq!(e.exit_code(), 78);
        assert_eq!(Chain(&e).to_string(), "config file /c/init.toml: Is a directory (os error 21)");
        let st =
            Error::NoStatus { path: "/run/init/status.json".into(), source: status::Error::NotRunning(7) };
        assert_eq!(
            Chain(&st).to_string(),
            "status file /run/init/status.json: its init (pid 7) is not running"
        );
    }
}
