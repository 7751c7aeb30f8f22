//! The one error type of mooring. Each variant's message names the value at
//! fault; its exit code is fixed here (docs/reference.md, "Exit codes") and nowhere else.

use nix::errno::Errno;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),

    #[error("refusing to run with the set-uid or set-gid bit (or file capabilities) on {0}")]
    SecureExec(String),

    #[error("config file {}: {reason}", path.display())]
    Config { path: PathBuf, reason: String },

    /// Every problem found in a config and its templates, one line each.
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),

    /// As `Invalid`, at least one of the problems a variable not set.
    #[error("{}", .0.join("\n"))]
    Unset(Vec<String>),

    #[error("{0}")]
    UnknownUser(String),

    #[error("{}: {reason}", path.display())]
    Destination { path: PathBuf, reason: String, code: u8 },

    #[error("timed out waiting for {target}: {why}")]
    WaitTimeout { target: String, why: String },

    #[error("stopped by signal {0} while waiting")]
    Interrupted(i32),

    #[error("{what} is not available yet (issue #{issue})")]
    NotYetAvailable { what: &'static str, issue: u32 },

    /// `init status` / `init health` found no running init to ask.
    #[error("status file {}: {why}", path.display())]
    NoStatus { path: PathBuf, why: String },

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

    /// `error`, and then one line of what to do about it (`hint: ...`).
    #[error("{error}")]
    Hinted { error: Box<Error>, hint: String },
}

/// Not permitted: permission denied, or a read-only filesystem.
fn not_permitted(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem)
        || e.raw_os_error() == Some(libc::EPERM)
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
    /// filesystem is read-only), else `otherwise`.
    pub fn io(path: &std::path::Path, e: &std::io::Error, otherwise: u8) -> Error {
        let code = if not_permitted(e) { 77 } else { otherwise };
        Error::Destination { path: path.to_path_buf(), reason: e.to_string(), code }
    }

    /// A write to `path` that failed for the system's reasons, not the
    /// configuration's: out of space or quota, an I/O error, a closed pipe,
    /// out of descriptors or memory. Such a failure is 71 (an OS call
    /// failed), never 78 (docs/reference.md, "Exit codes").
    pub fn os_failure(e: &std::io::Error) -> bool {
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

    /// A write to `path` that failed: when it was not permitted or the
    /// filesystem is read-only, 77 with `hint` saying what to make
    /// writable (docs/running-restricted.md); else `otherwise`.
    pub fn unwritable(path: &std::path::Path, e: &std::io::Error, otherwise: u8, hint: &str) -> Error {
        match not_permitted(e) {
            true => Error::Destination { path: path.to_path_buf(), reason: format!("{e}: {hint}"), code: 77 },
            false => Error::io(path, e, otherwise),
        }
    }

    /// The exit code init ends with when this error stops it.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 2,
            Error::UnknownTask(_) | Error::SwitchedOff(_) => 64,
            Error::NoStatus { .. } => 1,
            Error::Refused { code, .. } => *code,
            Error::WaitTimeout { .. } => 75,
            Error::Interrupted(sig) => u8::try_from(128 + sig).unwrap_or(u8::MAX),
            Error::UnknownUser(_) => 67,
            Error::Destination { code, .. } => *code,
            Error::NotYetAvailable { .. } => 70,
            Error::Os { .. } => 71,
            Error::SecureExec(_) | Error::NotPermitted(_) => 77,
            Error::Privileges { errno: Errno::EPERM, .. } => 77,
            Error::Privileges { .. } => 71,
            Error::Config { .. } | Error::Invalid(_) | Error::Unset(_) => 78,
            Error::Exec { errno: Errno::ENOENT, .. } => 127,
            Error::Exec { .. } | Error::NulInArgument(_) | Error::Workdir { .. } => 126,
            Error::Hinted { error, .. } => error.exit_code(),
        }
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
}
