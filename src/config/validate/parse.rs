//! The textual values of init.toml that have a syntax of their own, as pure
//! parsers from `&str`: variable, user, group and service names, user
//! specs, signals and `init wait` targets. Each error names the value at
//! fault; `Validator` adds where it was written.

use std::path::PathBuf;
use std::str::FromStr;

use nix::sys::signal::Signal;

use crate::config::{BadValue, Target, UserSpec};

/// A shell-style environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn valid_var_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// A user or group name as useradd accepts it, or a number.
fn parse_name(t: &str) -> Option<String> {
    let b = t.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 32
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter().enumerate().all(|(i, c)| {
            c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-') || (*c == b'$' && i == b.len() - 1)
        });
    ok.then(|| t.to_string())
}

pub fn parse_user_spec(t: &str) -> Result<UserSpec, BadValue> {
    let spec = match t.split_once(':') {
        None => parse_name(t).map(|user| UserSpec { user, group: None }),
        Some((u, g)) => parse_name(u).zip(parse_name(g)).map(|(user, g)| UserSpec { user, group: Some(g) }),
    };
    spec.ok_or_else(|| BadValue::UserSpec(t.into()))
}

/// `SIGTERM`, `TERM` or `term`.
pub fn parse_signal(t: &str) -> Result<i32, BadValue> {
    let upper = t.trim().to_ascii_uppercase();
    let name = if upper.starts_with("SIG") { upper } else { format!("SIG{upper}") };
    Signal::from_str(&name).map(|s| s as i32).map_err(|_| BadValue::Signal(t.into()))
}

pub(super) fn parse_service_name(t: &str) -> Result<String, BadValue> {
    let b = t.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
    if ok { Ok(t.to_string()) } else { Err(BadValue::ServiceName(t.into())) }
}

/// An ad hoc target of `init wait`: `file:PATH`, `tcp:HOST:PORT`,
/// `unix:PATH` or `http://...`.
pub fn parse_target(t: &str) -> Result<Target, BadValue> {
    let abs = |p: &str| {
        if p.starts_with('/') { Ok(PathBuf::from(p)) } else { Err(BadValue::TargetPath(t.into())) }
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
        Err(BadValue::Target(t.into()))
    }
}

pub(super) fn parse_tcp(t: &str) -> Result<Target, BadValue> {
    let bad = || BadValue::Tcp(t.into());
    let (host, port) = t.rsplit_once(':').ok_or_else(bad)?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let port: u16 = port.parse().ok().filter(|&p| p != 0).ok_or_else(bad)?;
    if host.is_empty() || host.contains(['/', ' ']) {
        return Err(bad());
    }
    Ok(Target::Tcp { host: host.to_string(), port })
}

pub(super) fn parse_http(t: &str) -> Result<Target, BadValue> {
    if t.starts_with("https://") {
        return Err(BadValue::Https(t.into()));
    }
    let rest = t.strip_prefix("http://").ok_or_else(|| BadValue::Http(t.into()))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err(BadValue::HttpNoHost(t.into()));
    }
    Ok(Target::Http(t.to_string()))
}
