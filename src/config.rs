//! Configuration values shared by the command line and init.toml. For now:
//! durations and where the config file is. (The TOML schema is issue #3.)

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Error;

/// Where init looks for its config when none is given.
pub const DEFAULT_CONFIG: &str = "/opt/config/init.toml";

/// A time limit; `None` means no limit (written `0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit(pub Option<Duration>);

impl Limit {
    pub fn parse(text: &str) -> Result<Limit, String> {
        parse_duration(text).map(Limit)
    }
}

/// Parses `500ms`, `10s`, `5m`, `1h` or `0`. `0` means "no limit" and is
/// returned as `None`.
pub fn parse_duration(text: &str) -> Result<Option<Duration>, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(None);
    }
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let bad = || format!("invalid duration {text:?} (expected e.g. 500ms, 10s, 5m, 1h or 0)");
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let duration = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.checked_mul(60).ok_or_else(bad)?),
        "h" => Duration::from_secs(n.checked_mul(3600).ok_or_else(bad)?),
        _ => return Err(bad()),
    };
    Ok((!duration.is_zero()).then_some(duration))
}

/// The config file to load: an explicit path must exist; the default one may
/// be absent, and init then behaves as a plain PID 1.
pub fn locate(explicit: Option<&Path>) -> Result<Option<PathBuf>, Error> {
    match explicit {
        Some(path) if path.is_file() => Ok(Some(path.to_path_buf())),
        Some(path) => Err(Error::Config { path: path.to_path_buf(), reason: "not found".into() }),
        None => {
            let default = Path::new(DEFAULT_CONFIG);
            Ok(default.is_file().then(|| default.to_path_buf()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(parse_duration("500ms"), Ok(Some(Duration::from_millis(500))));
        assert_eq!(parse_duration("10s"), Ok(Some(Duration::from_secs(10))));
        assert_eq!(parse_duration("5m"), Ok(Some(Duration::from_secs(300))));
        assert_eq!(parse_duration("1h"), Ok(Some(Duration::from_secs(3600))));
    }

    #[test]
    fn zero_means_no_limit() {
        assert_eq!(parse_duration("0"), Ok(None));
        assert_eq!(parse_duration("0s"), Ok(None));
    }

    #[test]
    fn bad_durations_name_the_value() {
        for bad in ["", "10", "s", "-1s", "1.5s", "10 s", "10sec", "99999999999999999999h"] {
            let err = parse_duration(bad).expect_err(bad);
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }
}
