//! `$INIT_RUN_DIR/status.json`: PID 1 rewrites it atomically (temp file +
//! rename) on every state change; `init status` and `init health` read it.
//! The JSON is small and ours, so it is written and read here by hand (a
//! serde stack would cost more than the whole supervisor).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

mod json;

use crate::log::json_string;
use json::Json;
use mooring::error::Error;

pub const DEFAULT_RUN_DIR: &str = "/run/init";

/// The run directory: `INIT_RUN_DIR`, else /run/init.
pub fn run_dir() -> PathBuf {
    std::env::var_os("INIT_RUN_DIR").filter(|v| !v.is_empty()).map_or(DEFAULT_RUN_DIR.into(), PathBuf::from)
}

pub fn status_path() -> PathBuf {
    run_dir().join("status.json")
}

/// One service as the status file shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceStatus {
    pub name: String,
    pub state: String,
    pub pid: Option<i32>,
    pub ready: bool,
    pub restarts: u32,
    /// Seconds since the epoch of the last state change.
    pub since: u64,
    pub last_exit: Option<i32>,
    pub critical: bool,
    pub oneshot: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub pid: i32,
    pub started: u64,
    pub services: Vec<ServiceStatus>,
}

impl Status {
    pub fn to_json(&self) -> String {
        let mut out =
            format!("{{\"pid\":{},\"started\":\"{}\",\"services\":[", self.pid, rfc3339(self.started));
        for (i, s) in self.services.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("\n  {\"name\":");
            json_string(&mut out, &s.name);
            out.push_str(&format!(
                ",\"state\":\"{}\",\"pid\":{},\"ready\":{},\"restarts\":{},\"since\":\"{}\",\"last_exit\":{},\"critical\":{},\"oneshot\":{}}}",
                s.state,
                s.pid.map_or("null".into(), |p| p.to_string()),
                s.ready,
                s.restarts,
                rfc3339(s.since),
                s.last_exit.map_or("null".into(), |c| c.to_string()),
                s.critical,
                s.oneshot,
            ));
        }
        out.push_str("\n]}\n");
        out
    }

    pub fn from_json(text: &str) -> Result<Status, String> {
        let value = json::parse(text)?;
        let services = value
            .get("services")
            .and_then(Json::as_array)
            .ok_or("no services list")?
            .iter()
            .map(|s| {
                Ok(ServiceStatus {
                    name: s.get("name").and_then(Json::as_str).ok_or("a service without a name")?.to_string(),
                    state: s.get("state").and_then(Json::as_str).unwrap_or("?").to_string(),
                    pid: s.get("pid").and_then(Json::as_i64).map(|p| p as i32),
                    ready: s.get("ready") == Some(&Json::Bool(true)),
                    restarts: s.get("restarts").and_then(Json::as_i64).unwrap_or(0) as u32,
                    since: s.get("since").and_then(Json::as_str).and_then(parse_rfc3339).unwrap_or(0),
                    last_exit: s.get("last_exit").and_then(Json::as_i64).map(|c| c as i32),
                    critical: s.get("critical") != Some(&Json::Bool(false)),
                    oneshot: s.get("oneshot") == Some(&Json::Bool(true)),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Status {
            pid: value.get("pid").and_then(Json::as_i64).ok_or("no pid")? as i32,
            started: value.get("started").and_then(Json::as_str).and_then(parse_rfc3339).unwrap_or(0),
            services,
        })
    }
}

/// Writes `status` to `path` atomically; the directory is created if needed.
pub fn write(path: &Path, status: &Status) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(status.to_json().as_bytes())?;
    drop(f);
    std::fs::rename(&tmp, path)
}

/// The status of the running PID 1, when its file exists and names a live process.
pub fn read_live(path: &Path) -> Result<Status, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::NoStatus {
        path: path.into(),
        why: if e.kind() == std::io::ErrorKind::NotFound {
            "absent: is init running services here?".into()
        } else {
            e.to_string()
        },
    })?;
    let status = Status::from_json(&text).map_err(|why| Error::NoStatus { path: path.into(), why })?;
    if !Path::new(&format!("/proc/{}", status.pid)).exists() {
        return Err(Error::NoStatus {
            path: path.into(),
            why: format!("its init (pid {}) is not running", status.pid),
        });
    }
    Ok(status)
}

pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `2026-11-22T15:04:05Z` for seconds since the epoch (UTC; civil-from-days).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Days since 0000-03-01 in 400-year eras of 146,097 days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from(if m > 2 { m - 3 } else { m + 9 });
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of `rfc3339` (only the `Z` form it writes).
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 20 || b[19] != b'Z' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let days = days_from_civil(i64::from(n(0..4)?), n(5..7)?, n(8..10)?);
    let secs = days * 86_400 + i64::from(n(11..13)? * 3600 + n(14..16)? * 60 + n(17..19)?);
    u64::try_from(secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_and_matches_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_359_845), "2026-11-22T15:04:05Z");
        for secs in [0, 951_782_400, 1_795_359_845, 4_102_444_799] {
            assert_eq!(parse_rfc3339(&rfc3339(secs)), Some(secs));
        }
        assert_eq!(parse_rfc3339("2026-11-22 15:04:05"), None);
    }

    #[test]
    fn status_round_trips_through_json() {
        let status = Status {
            pid: 1,
            started: 1_795_359_845,
            services: vec![
                ServiceStatus {
                    name: "we\"b\n".into(),
                    state: "ready".into(),
                    pid: Some(12),
                    ready: true,
                    restarts: 3,
                    since: 1_795_359_900,
                    last_exit: Some(-1),
                    critical: true,
                    oneshot: false,
                },
                ServiceStatus {
                    name: "migrate".into(),
                    state: "exited".into(),
                    pid: None,
                    ready: true,
                    restarts: 0,
                    since: 1_795_359_846,
                    last_exit: Some(0),
                    critical: false,
                    oneshot: true,
                },
            ],
        };
        assert_eq!(Status::from_json(&status.to_json()), Ok(status));
    }

    #[test]
    fn broken_json_is_an_error_not_a_panic() {
        for text in
            ["", "{", "{\"pid\":", "[1,", "{\"pid\":1}", "\"\\u12", "{\"pid\":1,\"services\":[{}]}", "nul"]
        {
            assert!(Status::from_json(text).is_err(), "{text:?}");
        }
        let deep = "[".repeat(100);
        assert!(Status::from_json(&deep).is_err());
    }
}
