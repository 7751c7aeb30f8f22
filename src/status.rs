//! The status of a running PID 1 (docs/reference.md, "Services") as values: what
//! status.json holds, its JSON text both ways, and the RFC 3339 times in it.
//! Pure; the file itself is the binary's business (src/status_file.rs).

use crate::json::{self, Json, json_string};

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
    /// The main service: stopped by an operator, it still makes the
    /// container not ready (docs/reference.md, "init ready").
    pub main: bool,
    /// What the service last said of itself (`STATUS=` of the notify
    /// protocol; the JSON key `status`).
    pub status_text: Option<String>,
}

/// Why there is no status to show: the file is absent, unreadable or not
/// one of ours, or it does not speak for a running init (docs/security.md,
/// "Whom a client believes"). src/status_file.rs finds these; the texts
/// are `init status`'s (docs/reference.md, "Services").
#[derive(thiserror::Error)]
pub enum Error {
    /// No status file in any of the places init writes one.
    #[error("absent")]
    Nowhere,
    #[error("absent: is init running services here?")]
    Absent,
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{0} bytes is too large for a status file (at most 1 MiB)")]
    TooLarge(i64),
    #[error(transparent)]
    Json(#[from] json::Error),
    #[error("no services list")]
    NoServices,
    #[error("a service without a name")]
    NoName,
    #[error("no pid")]
    NoPid,
    /// `what`: the file or its directory.
    #[error(
        "its {what} is owned by uid {uid}, which is neither root, you (uid {me}) nor PID 1's: not believed"
    )]
    Owner { what: &'static str, uid: u32, me: u32 },
    #[error("its init (pid {0}) is not running")]
    NotRunning(i32),
    #[error("pid {pid} is not mooring (it is {comm:?}): left by an init that is gone")]
    NotMooring { pid: i32, comm: String },
    #[error(
        "left by an init that is no longer running (pid {pid} started at tick {started} after boot, the file says {recorded})"
    )]
    Restarted { pid: i32, started: u64, recorded: u64 },
    #[error("it gives no pid_start, so pid {0} cannot be told from an init that is gone")]
    NoPidStart(i32),
    #[error("owned by uid {owner}, but its init (pid {pid}) runs as uid {uid}")]
    OtherOwner { owner: u32, pid: i32, uid: u32 },
    #[error("pid {pid}")]
    Proc { pid: i32, source: std::io::Error },
}

crate::error::debug_by_display!(Error);

#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub pid: i32,
    /// When `pid` started: field 22 of /proc/PID/stat (clock ticks since
    /// boot). A reader trusts the file only when that process still has it,
    /// so a file left by a killed init never speaks for a process that later
    /// took its pid (docs/security.md).
    pub pid_start: Option<u64>,
    pub started: u64,
    pub services: Vec<ServiceStatus>,
    /// Service mode: whether its control socket is there (`None`: a single
    /// command, or not known yet), so a client can say why it is not.
    pub control: Option<bool>,
}

impl Status {
    pub fn to_json(&self) -> String {
        let pid_start = self.pid_start.map(|t| format!("\"pid_start\":{t},")).unwrap_or_default();
        let control = self.control.map(|c| format!("\"control\":{c},")).unwrap_or_default();
        let mut out = format!(
            "{{\"pid\":{},{pid_start}\"started\":\"{}\",{control}\"services\":[",
            self.pid,
            rfc3339(self.started)
        );
        for (i, s) in self.services.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("\n  {\"name\":");
            json_string(&mut out, &s.name);
            out.push_str(",\"state\":");
            json_string(&mut out, &s.state);
            out.push_str(&format!(
                ",\"pid\":{},\"ready\":{},\"restarts\":{},\"since\":\"{}\",\"last_exit\":{},\"critical\":{},\"oneshot\":{},\"main\":{}}}",
                s.pid.map_or("null".into(), |p| p.to_string()),
                s.ready,
                s.restarts,
                rfc3339(s.since),
                s.last_exit.map_or("null".into(), |c| c.to_string()),
                s.critical,
                s.oneshot,
                s.main,
            ));
            if let Some(text) = &s.status_text {
                out.insert_str(out.len() - 1, ",\"status\":");
                let mut quoted = String::new();
                json_string(&mut quoted, text);
                out.insert_str(out.len() - 1, &quoted);
            }
        }
        out.push_str("\n]}\n");
        out
    }

    pub fn from_json(text: &str) -> Result<Status, Error> {
        let value = json::parse(text)?;
        let services = value
            .get("services")
            .and_then(Json::as_array)
            .ok_or(Error::NoServices)?
            .iter()
            .map(|s| {
                Ok(ServiceStatus {
                    name: s.get("name").and_then(Json::as_str).ok_or(Error::NoName)?.to_string(),
                    state: s.get("state").and_then(Json::as_str).unwrap_or("?").to_string(),
                    pid: s.get("pid").and_then(Json::as_i64).map(|p| p as i32),
                    ready: s.get("ready") == Some(&Json::Bool(true)),
                    restarts: s.get("restarts").and_then(Json::as_i64).unwrap_or(0) as u32,
                    since: s.get("since").and_then(Json::as_str).and_then(parse_rfc3339).unwrap_or(0),
                    last_exit: s.get("last_exit").and_then(Json::as_i64).map(|c| c as i32),
                    critical: s.get("critical") != Some(&Json::Bool(false)),
                    oneshot: s.get("oneshot") == Some(&Json::Bool(true)),
                    main: s.get("main") == Some(&Json::Bool(true)),
                    status_text: s.get("status").and_then(Json::as_str).map(str::to_string),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Status {
            pid: value.get("pid").and_then(Json::as_i64).ok_or(Error::NoPid)? as i32,
            pid_start: value.get("pid_start").and_then(Json::as_i64).and_then(|t| u64::try_from(t).ok()),
            started: value.get("started").and_then(Json::as_str).and_then(parse_rfc3339).unwrap_or(0),
            control: match value.get("control") {
                Some(Json::Bool(b)) => Some(*b),
                _ => None,
            },
            services,
        })
    }
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
            pid_start: Some(123_456),
            control: Some(false),
            started: 1_795_359_845,
            services: vec![
                ServiceStatus {
                    name: "we\"b\n".into(),
                    state: "re\"ady\\".into(),
                    pid: Some(12),
                    ready: true,
                    restarts: 3,
                    since: 1_795_359_900,
                    last_exit: Some(-1),
                    critical: true,
                    oneshot: false,
                    main: true,
                    status_text: Some("accepting \"connections\"".into()),
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
                    main: false,
                    status_text: None,
                },
            ],
        };
        assert_eq!(Status::from_json(&status.to_json()).unwrap(), status);
    }

    #[test]
    fn a_status_without_pid_start_still_parses() {
        let st =
            Status::from_json("{\"pid\":7,\"started\":\"1970-01-01T00:00:00Z\",\"services\":[]}").unwrap();
        assert_eq!((st.pid, st.pid_start), (7, None));
        let st = Status::from_json("{\"pid\":7,\"pid_start\":-3,\"services\":[]}").unwrap();
        assert_eq!(st.pid_start, None);
        assert_eq!(Status::from_json(&st.to_json()).unwrap(), st);
    }

    #[test]
    fn broken_json_is_an_error_not_a_panic() {
        for text in
            ["", "{", "{\"pid\":", "[1,", "{\"pid\":1}", "\"\\u12", "{\"pid\":1,\"services\":[{}]}", "nul"]
        {
            assert!(Status::from_json(text).is_err(), "{text:?}");
        }
        let deep = "[".repeat(100);
        assert!(matches!(Status::from_json(&deep), Err(Error::Json(json::Error::TooDeep))));
        assert!(matches!(Status::from_json("{\"pid\":1}"), Err(Error::NoServices)));
    }
}
