//! Giving up, as PID 1 (docs/reference.md, "Services", Restarts):
//! `max_restarts` counts consecutive failed runs (runs that ended before
//! being ready for 10 s), not restarts within a minute; a service that
//! gave up is `failed`, and a critical one makes `init health` fail.
//!
//! The doubling back-off is what made the old rule ("N restarts within
//! 60 s") never fire: with the defaults, eleven runs take more than 60 s.
//! A test cannot wait that long, so that case is the table test
//! `a_crash_loop_under_the_default_back_off_gives_up` beside the decision
//! (src/run/supervisor/decide.rs). Here, what the old rule got wrong the
//! other way round, quickly enough to run: a run that stayed up 10 s
//! starts the count over, so a service that failed once, ran well, then
//! failed again is restarted, where the old window gave up.

mod common;

use common::services::{exec_in, services, state_of};
use common::{DEADLINE, wait_until};
use nix::sys::signal::Signal;

#[test]
fn a_run_ready_for_10s_starts_the_failure_count_over() {
    let mut init = services(
        "giveup-reset",
        r#"
[[service]]
name = "main"
shell = "exec sleep 60"

[[service]]
name = "flappy"
critical = false
shell = "echo run >> {dir}/runs; if [ $(wc -l < {dir}/runs) -eq 2 ]; then sleep 10.5; fi; exit 1"
restart = "on-failure"
restart_delay = "10ms"
max_restarts = 1
"#,
    );
    wait_until("flappy gave up", DEADLINE, || state_of(&init, "flappy") == "failed");
    // Run 1 failed (1 of 1 allowed), run 2 ran 10.5 s (the count starts
    // over), runs 3 and 4 failed in a row: given up after run 4.
    assert_eq!(init.read("runs").lines().count(), 4, "{}", init.stderr());
    assert_eq!(state_of(&init, "main"), "ready", "a non-critical service gives up alone");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}

#[test]
fn a_crash_loop_gives_up_failed_and_a_critical_one_fails_health() {
    let mut init = services(
        "giveup-health",
        r#"
[[service]]
name = "main"
shell = "trap 'while [ ! -f {dir}/release ]; do sleep 0.02; done; exit 0' TERM; while :; do sleep 0.05; done"

[[service]]
name = "worker"
critical = false
shell = "echo run >> {dir}/worker.runs; exit 1"
restart = "on-failure"
restart_delay = "10ms"
max_restarts = 3

[[service]]
name = "flaky"
shell = "while [ ! -f {dir}/crash ]; do sleep 0.02; done; echo run >> {dir}/flaky.runs; exit 1"
restart = "always"
restart_delay = "10ms"
max_restarts = 2
"#,
    );
    wait_until("worker gave up", DEADLINE, || state_of(&init, "worker") == "failed");
    assert_eq!(init.read("worker.runs").lines().count(), 4, "the first run and 3 restarts");
    let json = String::from_utf8_lossy(&exec_in(&init, &["status", "--json"]).stdout).to_string();
    assert!(json.contains("\"name\":\"worker\",\"state\":\"failed\""), "{json}");
    assert_eq!(exec_in(&init, &["health"]).status.code(), Some(0), "a non-critical service failed");
    std::fs::write(init.dir.join("crash"), "").unwrap();
    wait_until("flaky gave up", DEADLINE, || state_of(&init, "flaky") == "failed");
    assert_eq!(init.read("flaky.runs").lines().count(), 3, "the first run and 2 restarts");
    // The container stops; main lingers in its stop until released.
    assert_eq!(exec_in(&init, &["health"]).status.code(), Some(1), "a critical service failed");
    std::fs::write(init.dir.join("release"), "").unwrap();
    assert_eq!(init.wait(), 1, "{}", init.stderr());
}
