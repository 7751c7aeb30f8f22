//! Helpers for the service-mode tests: init as PID 1 with a config, `init`
//! run inside its namespaces, and log lines in order.

use std::process::Output;

use super::{Builder, INIT, Init, Mode};

/// init as PID 1 with `toml` as its config ({dir}: the test's temp dir).
pub fn services(tag: &str, toml: &str) -> Init {
    Builder::new(tag, Mode::Pid1).file("init.toml", toml).args(["-c", "{dir}/init.toml"]).start()
}

/// `init ARGS` run inside init's namespaces, as `docker exec` does.
pub fn exec_in(init: &Init, args: &[&str]) -> Output {
    std::process::Command::new("nsenter")
        .args(["-t", &init.pid().to_string(), "-p", "-m", "--", INIT])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("INIT_RUN_DIR", init.dir.join("run"))
        .output()
        .expect("nsenter runs")
}

/// A service's state as `init status --json` (run inside init's
/// namespaces) shows it; empty when there is no such service or status.
pub fn state_of(init: &Init, name: &str) -> String {
    let status = String::from_utf8_lossy(&exec_in(init, &["status", "--json"]).stdout).to_string();
    let needle = format!("\"name\":\"{name}\",\"state\":\"");
    let at = status.find(&needle).map(|i| i + needle.len());
    at.and_then(|i| status[i..].split('"').next().map(String::from)).unwrap_or_default()
}

/// A field of service `name` in `init status --json` (run inside init's
/// namespaces), as written there: a number, `null`, `true`/`false`, or a
/// string with its quotes; empty when there is no such service or field.
pub fn field_of(init: &Init, name: &str, field: &str) -> String {
    let status = String::from_utf8_lossy(&exec_in(init, &["status", "--json"]).stdout).to_string();
    service_field(&status, name, field)
}

/// `field` of service `name` in the text of a status file (see `field_of`).
pub fn service_field(status: &str, name: &str, field: &str) -> String {
    let Some(at) = status.find(&format!("{{\"name\":\"{name}\",")) else { return String::new() };
    // Its object ends where the next service's begins (a string value
    // cannot hold an unescaped quote, so no `{"name":` of its own).
    let object = &status[at..];
    let object = &object[..object[1..].find("{\"name\":").map_or(object.len(), |i| i + 1)];
    let key = format!("\"{field}\":");
    let Some(from) = object.find(&key).map(|i| i + key.len()) else { return String::new() };
    let value = &object[from..];
    if let Some(text) = value.strip_prefix('"') {
        let mut escaped = false;
        let end = text.char_indices().find(|&(_, c)| {
            let close = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            close
        });
        return value[..end.map_or(value.len(), |(i, _)| i + 2)].to_string();
    }
    value[..value.find([',', '}']).unwrap_or(value.len())].trim().to_string()
}

/// Positions of `needles` in `haystack`, asserting each is there.
pub fn positions(haystack: &str, needles: &[&str]) -> Vec<usize> {
    needles
        .iter()
        .map(|n| haystack.find(n).unwrap_or_else(|| panic!("{n:?} missing from:\n{haystack}")))
        .collect()
}

pub fn assert_in_order(haystack: &str, needles: &[&str]) {
    let pos = positions(haystack, needles);
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "not in order {needles:?}:\n{haystack}");
}
