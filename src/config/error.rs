//! What can be wrong with init.toml as a file (`Error`) and with one of its
//! textual values (`BadValue`, the parsers' answer; config checking adds
//! the value's file:line:col, the command line its option).

use std::path::PathBuf;

use super::MAX_DURATION;

/// init.toml could not be read as text (exit 78).
#[derive(thiserror::Error)]
pub enum Error {
    #[error("config file {}: not found", .0.display())]
    NotFound(PathBuf),
    #[error("config file {}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {}: not UTF-8 text (byte {at})", path.display())]
    NotUtf8 { path: PathBuf, at: usize },
}

crate::error::debug_by_display!(Error);

/// A value that does not parse, named as written.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadValue {
    #[error("invalid user spec {0:?} (name, uid, name:group or uid:gid)")]
    UserSpec(String),
    #[error("unknown signal {0:?}")]
    Signal(String),
    #[error("invalid name {0:?} (letters, digits, . _ -)")]
    ServiceName(String),
    #[error("invalid target {0:?} (file:PATH, tcp:HOST:PORT, unix:PATH or http://HOST:PORT/PATH)")]
    Target(String),
    /// A `file:` or `unix:` target of `init wait` with a relative path.
    #[error("{0:?}: the path must be absolute")]
    TargetPath(String),
    #[error("invalid tcp target {0:?} (host:port)")]
    Tcp(String),
    #[error("{0:?}: https is not supported (plain HTTP only)")]
    Https(String),
    #[error("invalid http target {0:?} (http://host:port/path)")]
    Http(String),
    #[error("invalid http target {0:?}: no host")]
    HttpNoHost(String),
    #[error("{0:?} must be an absolute path")]
    Relative(String),
    #[error("invalid restart {0:?} (never, on-failure or always)")]
    Restart(String),
    #[error("invalid output {0:?} (inherit or prefix)")]
    Output(String),
    #[error("invalid mode {0:?} (an octal string such as \"0640\")")]
    Mode(String),
    #[error("invalid duration {0:?} (expected e.g. 500ms, 10s, 5m, 1h or 0)")]
    Duration(String),
    #[error("duration {0:?} is over the limit of {max}h (365 days)", max = MAX_DURATION.as_secs() / 3600)]
    OverLimit(String),
    /// `enabled` rendered something that is not a switch.
    #[error("`enabled` renders {0:?}: write true, false, 1, 0, yes, no or leave it empty")]
    Switch(String),
}

crate::error::debug_by_display!(BadValue);
