//! `INIT_WAIT`: waits an operator adds from the environment, without
//! touching the image's init.toml (docs/reference.md, "Waits"). The targets use the
//! `init wait TARGET` syntax, separated by whitespace; `INIT_WAIT_TIMEOUT`
//! (default 5m, `0` = none) is the timeout of each.

use super::{DEFAULT_WAIT_TIMEOUT, Wait, parse_duration, parse_target};
use crate::env::Environment;

/// The waits `INIT_WAIT` asks for (none when it is unset or blank), or
/// every problem, each naming the variable at fault.
pub fn from_env(env: &Environment) -> Result<Vec<Wait>, Vec<String>> {
    let mut problems = Vec::new();
    let timeout = match env.get("INIT_WAIT_TIMEOUT").map(|t| t.to_str()) {
        None => Some(DEFAULT_WAIT_TIMEOUT),
        Some(Some(text)) => parse_duration(text.trim()).unwrap_or_else(|e| {
            problems.push(format!("INIT_WAIT_TIMEOUT: {e}"));
            None
        }),
        Some(None) => {
            problems.push("INIT_WAIT_TIMEOUT: not UTF-8 text".into());
            None
        }
    };
    let targets = match env.get("INIT_WAIT").map(|t| t.to_str()) {
        None => "",
        Some(Some(text)) => text,
        Some(None) => {
            problems.push("INIT_WAIT: not UTF-8 text".into());
            ""
        }
    };
    let mut waits = Vec::new();
    for target in targets.split_whitespace() {
        match parse_target(target) {
            Ok(target) => waits.push(Wait { target, timeout, watch: false, serves: None }),
            Err(e) => problems.push(format!("INIT_WAIT: {e}")),
        }
    }
    if problems.is_empty() { Ok(waits) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Target;
    use std::time::Duration;

    fn env(vars: &[(&str, &str)]) -> Environment {
        Environment::from_vars(vars.iter().map(|(k, v)| (k.into(), v.into())))
    }

    #[test]
    fn targets_are_separated_by_whitespace_with_one_timeout() {
        let waits = from_env(&env(&[
            ("INIT_WAIT", " tcp:db:5432\tfile:/sem/db.ready "),
            ("INIT_WAIT_TIMEOUT", "30s"),
        ]))
        .unwrap();
        let targets: Vec<String> = waits.iter().map(|w| w.target.to_string()).collect();
        assert_eq!(targets, ["tcp:db:5432", "file:/sem/db.ready"]);
        assert!(waits.iter().all(|w| w.timeout == Some(Duration::from_secs(30)) && !w.watch));
        let waits = from_env(&env(&[("INIT_WAIT", "unix:/run/app.sock")])).unwrap();
        assert_eq!(waits[0].target, Target::Unix("/run/app.sock".into()));
        assert_eq!(waits[0].timeout, Some(DEFAULT_WAIT_TIMEOUT));
    }

    #[test]
    fn unset_or_blank_adds_nothing() {
        assert!(from_env(&env(&[])).unwrap().is_empty());
        assert!(from_env(&env(&[("INIT_WAIT", "  ")])).unwrap().is_empty());
    }

    #[test]
    fn every_bad_target_and_timeout_is_reported_naming_the_variable() {
        let problems =
            from_env(&env(&[("INIT_WAIT", "db:5432 tcp:db:5432 file:rel"), ("INIT_WAIT_TIMEOUT", "soon")]))
                .unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("INIT_WAIT_TIMEOUT: "), "{problems:?}");
        assert!(problems[1].starts_with("INIT_WAIT: invalid target \"db:5432\""), "{problems:?}");
        assert!(problems[2].starts_with("INIT_WAIT: \"file:rel\""), "{problems:?}");
    }
}
