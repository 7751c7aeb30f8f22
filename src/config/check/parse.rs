//! The textual values of init.toml that have a syntax of their own, as pure
//! parsers from `&str`: variable, user, group and service names, user
//! specs, signals and `init wait` targets. Each error names the value at
//! fault; `Check` adds where it was written.

use std::path::PathBuf;
use std::str::FromStr;

use nix::sys::signal::Signal;

use crate::config::{Target, UserSpec};

/// A shell-style environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn valid_var_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// A user or group name as useradd accepts it, or a number.
fn parse_name(t: &str) -> Result<String, String> {
    let b = t.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 32
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter().enumerate().all(|(i, c)| {
            c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-') || (*c == b'$' && i == b.len() - 1)
        });
    if ok { Ok(t.to_string()) } else { Err(format!("invalid user or group name {t:?}")) }
}

pub fn parse_user_spec(t: &str) -> Result<UserSpec, String> {
    let bad = |_| format!("invalid user spec {t:?} (name, uid, name:group or uid:gid)");
    match t.split_once(':') {
        None => Ok(UserSpec { user: parse_name(t).map_err(bad)?, group: None }),
        Some((u, g)) => {
            Ok(UserSpec { user: parse_name(u).map_err(bad)?, group: Some(parse_name(g).map_err(bad)?) })
        }
    }
}

/// `SIGTERM`, `TERM` or `term`.
pub fn parse_signal(t: &str) -> Result<i32, String> {
    let upper = t.trim().to_ascii_uppercase();
    let name = if upper.starts_with("SIG") { upper } else { format!("SIG{upper}") };
    Signal::from_str(&name).map(|s| s as i32).map_err(|_| format!("unknown signal {t:?}"))
}

pub(super) fn parse_service_name(t: &str) -> Result<String, String> {
    let b = t.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
    if ok { Ok(t.to_string()) } else { Err(format!("invalid name {t:?} (letters, digits, . _ -)")) }
}

/// An ad hoc target of `init wait`: `file:PATH`, `tcp:HOST:PORT`,
/// `unix:PATH` or `http://...`.
pub fn parse_target(t: &str) -> Result<Target, String> {
    let abs = |p: &str| {
        if p.starts_with('/') {
            Ok(PathBuf::from(p))
        } else {
            Err(format!("{t:?}: the path must be absolute"))
        }
    };
    if let Some(p) = t.strip_prefix("file:") {
        abs(p).map(Target::File)
    } else if let Some(p) = t.strip_prefix("unix:") {
        abs(p).map(Target::Unix)
    } else if let Some(hp) = t.strip_prefix("tcp:") {
        parse_tcp(hp)
    } else if t.starts_with("http://") || t.starts_with("https://") {
        parse_http(t)
    } else {
        Err(format!("invalid target {t:?} (file:PATH, tcp:HOST:PORT, unix:PATH or http://HOST:PORT/PATH)"))
    }
}

pub(super) fn parse_tcp(t: &str) -> Result<Target, String> {
    let bad = || format!("invalid tcp target {t:?} (host:port)");
    let (host, port) = t.rsplit_once(':').ok_or_else(bad)?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let port: u16 = port.parse().ok().filter(|&p| p != 0).ok_or_else(bad)?;
    if host.is_empty() || host.contains(['/', ' ']) {
        return Err(bad());
    }
    Ok(Target::Tcp { host: host.to_string(), port })
}

pub(super) fn parse_http(t: &str) -> Result<Target, String> {
    if t.starts_with("https://") {
        return Err(format!("{t:?}: https is not supported (plain HTTP only)"));
    }
    let rest = t
        .strip_prefix("http://")
        .ok_or_else(|| format!("invalid http target {t:?} (http://host:port/path)"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err(format!("invalid http target {t:?}: no host"));
    }
    Ok(Target::Http(t.to_string()))
}
