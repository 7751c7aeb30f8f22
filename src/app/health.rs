//! `init health` and `init ready` (docs/reference.md, "Health and
//! readiness"): liveness and readiness of the running PID 1, read from its
//! status file. Liveness: init runs and no critical service failed for good
//! (an operator's `init stop` is not a failure). Readiness: every service
//! that should be up is ready — a oneshot once it exited 0; one an operator
//! stopped does not count, unless it is the main service, whose absence
//! makes the container not ready.

use crate::status_file::{self, ServiceStatus, Status};
use mooring::error::Error;
use mooring::escape::escape;

/// `init health`: 0 while live, else 1 naming the failed services.
pub fn health() -> Result<u8, Error> {
    answer(liveness(&status_file::find_live()?), "unhealthy")
}

/// `init ready`: 0 when ready, else 1 naming the first service that is not.
pub fn ready() -> Result<u8, Error> {
    answer(not_ready(&status_file::find_live()?).map_or(Ok(()), |s| Err(vec![s])), "not ready")
}

fn answer(verdict: Result<(), Vec<String>>, what: &str) -> Result<u8, Error> {
    match verdict {
        Ok(()) => Ok(0),
        Err(names) => {
            eprintln!("init: {what}: {}", names.join(", "));
            Ok(1)
        }
    }
}

/// The critical services that failed for good, each as `name (state)`.
fn liveness(st: &Status) -> Result<(), Vec<String>> {
    let failed: Vec<String> =
        st.services.iter().filter(|s| s.critical && s.state == "failed").map(shown).collect();
    if failed.is_empty() { Ok(()) } else { Err(failed) }
}

/// The first service that should be up and is not ready, if any.
fn not_ready(st: &Status) -> Option<String> {
    let should_be_up = |s: &&ServiceStatus| s.state != "stopped" || s.main;
    st.services.iter().filter(should_be_up).find(|s| !s.ready).map(shown)
}

/// `name (state)`, escaped: texts of the status file reach a terminal
/// (docs/security.md, "Texts from others").
fn shown(s: &ServiceStatus) -> String {
    format!("{} ({})", escape(&s.name), escape(&s.state))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(name: &str, state: &str, ready: bool, critical: bool, oneshot: bool, main: bool) -> ServiceStatus {
        let (pid, restarts, since, last_exit, status_text) = (None, 0, 0, None, None);
        ServiceStatus {
            name: name.into(),
            state: state.into(),
            pid,
            ready,
            restarts,
            since,
            last_exit,
            critical,
            oneshot,
            main,
            status_text,
        }
    }

    fn of(services: Vec<ServiceStatus>) -> Status {
        Status { pid: 1, pid_start: None, started: 0, services, control: Some(true) }
    }

    #[test]
    fn liveness_fails_only_on_a_critical_service_that_failed_for_good() {
        let cases = [
            (svc("api", "ready", true, true, false, true), true),
            (svc("api", "starting", false, true, false, true), true),
            (svc("api", "backoff", false, true, false, true), true),
            (svc("api", "stopped", false, true, false, true), true),
            (svc("worker", "failed", false, false, false, false), true),
            (svc("api", "failed", false, true, false, true), false),
        ];
        for (s, live) in cases {
            assert_eq!(liveness(&of(vec![s.clone()])).is_ok(), live, "{s:?}");
        }
    }

    #[test]
    fn readiness_needs_every_service_that_should_be_up() {
        let ready_api = svc("api", "ready", true, true, false, true);
        let cases = [
            (vec![ready_api.clone()], None),
            (vec![svc("api", "starting", false, true, false, true)], Some("api (starting)")),
            // Stopped by an operator: the main service still counts, others do not.
            (vec![svc("api", "stopped", false, true, false, true)], Some("api (stopped)")),
            (vec![ready_api.clone(), svc("worker", "stopped", false, false, false, false)], None),
            (
                vec![ready_api.clone(), svc("worker", "backoff", false, false, false, false)],
                Some("worker (backoff)"),
            ),
            // A oneshot is ready once it exited 0, not while it runs.
            (vec![ready_api.clone(), svc("migrate", "exited", true, false, true, false)], None),
            (
                vec![svc("migrate", "running", false, false, true, false), ready_api],
                Some("migrate (running)"),
            ),
        ];
        for (services, want) in cases {
            assert_eq!(not_ready(&of(services.clone())).as_deref(), want, "{services:?}");
        }
    }
}
