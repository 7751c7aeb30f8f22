//! Service mode as PID 1: status and health from inside the namespace
//! (nsenter), tasks run beside the running PID 1.

mod common;

use std::fs;

use common::services::{exec_in, services};
use common::{Builder, DEADLINE, INIT, Mode, wait_until};
use nix::sys::signal::Signal;

#[test]
fn status_and_health_follow_readiness_from_inside_the_container() {
    let mut init = services(
        "health",
        r#"
[[service]]
name = "api"
shell = "exec sleep 60"
ready = { file = "{dir}/api.ready" }

[[service]]
name = "setup"
oneshot = true
shell = "true"
"#,
    );
    wait_until("status file", DEADLINE, || exec_in(&init, &["status"]).status.success());
    // Starting is live, not ready.
    assert_eq!(exec_in(&init, &["health"]).status.code(), Some(0));
    let not_ready = exec_in(&init, &["ready"]);
    assert_eq!(not_ready.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&not_ready.stderr), "init: not ready: api (starting)\n");
    fs::write(init.dir.join("api.ready"), "").unwrap();
    wait_until("ready 0", DEADLINE, || exec_in(&init, &["ready"]).status.code() == Some(0));
    let json = String::from_utf8_lossy(&exec_in(&init, &["status", "--json"]).stdout).to_string();
    assert!(json.starts_with("{\"pid\":1,\"pid_start\":"), "{json}");
    assert!(json.contains("\"name\":\"api\",\"state\":\"ready\""), "{json}");
    assert!(json.contains("\"name\":\"setup\",\"state\":\"exited\",\"pid\":null,\"ready\":true"), "{json}");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
    // No init left: status says so and fails.
    let after = common::init_cmd().arg("status").env("INIT_RUN_DIR", init.dir.join("run")).output().unwrap();
    assert_eq!(after.status.code(), Some(1));
}

#[test]
fn the_main_service_stopped_by_an_operator_makes_the_container_not_ready_but_live() {
    let mut init = services(
        "ready-main",
        r#"
[[service]]
name = "api"
main = true
shell = "exec sleep 60"

[[service]]
name = "worker"
critical = false
shell = "exec sleep 60"
"#,
    );
    wait_until("ready", DEADLINE, || exec_in(&init, &["ready"]).status.code() == Some(0));
    // A worker an operator stopped does not count; the main service does.
    assert_eq!(exec_in(&init, &["stop", "worker"]).status.code(), Some(0));
    assert_eq!(exec_in(&init, &["ready"]).status.code(), Some(0));
    assert_eq!(exec_in(&init, &["stop", "api"]).status.code(), Some(0));
    let not_ready = exec_in(&init, &["ready"]);
    assert_eq!(String::from_utf8_lossy(&not_ready.stderr), "init: not ready: api (stopped)\n");
    assert_eq!(not_ready.status.code(), Some(1));
    assert_eq!(exec_in(&init, &["health"]).status.code(), Some(0), "live all the same");
    assert_eq!(exec_in(&init, &["start", "api"]).status.code(), Some(0));
    assert_eq!(exec_in(&init, &["ready"]).status.code(), Some(0));
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}

#[test]
fn a_task_run_beside_the_running_pid1_skips_preparation() {
    // Service mode, and a single command as PID 1 (which keeps a status file too).
    for command in [&[][..], &["--", "sleep", "60"][..]] {
        let mut init = Builder::new("beside", Mode::Pid1)
            .file("t.tmpl", "x\n")
            .file(
                "init.toml",
                r#"
[[template]]
src = "{dir}/t.tmpl"
dest = "{dir}/t.out"

[[service]]
name = "app"
shell = "exec sleep 60"

[[task]]
name = "hello"
shell = "echo hello from the task"
"#,
            )
            .args(["-c", "{dir}/init.toml"])
            .args(command)
            .start();
        // Written before the first spawn (still starting), then once it runs.
        wait_until("healthy", DEADLINE, || exec_in(&init, &["health"]).status.code() == Some(0));
        // A command on the command line replaces the configured services.
        let table = String::from_utf8_lossy(&exec_in(&init, &["status"]).stdout).to_string();
        let first = if command.is_empty() { "app " } else { "sleep " };
        assert!(table.lines().nth(2).is_some_and(|l| l.starts_with(first)), "{table}");
        assert_eq!(table.lines().count(), 3, "one service: {table}");
        fs::remove_file(init.dir.join("t.out")).unwrap();
        let config = format!("{}/init.toml", init.dir.path().display());
        let o = exec_in(&init, &["-c", &config, "run", "hello"]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stdout), "hello from the task\n");
        assert!(!init.dir.join("t.out").exists(), "templates were not rendered again");
        assert_eq!(exec_in(&init, &["-c", &config, "run", "nope"]).status.code(), Some(64));
        init.signal(Signal::SIGTERM);
        assert_eq!(init.wait(), 143);
        assert!(!init.dir.join("run/status.json").exists(), "no status file outlives init");
    }
}

#[test]
fn a_dependent_started_because_its_dependency_became_ready_sees_it_ready() {
    // Twenty dependents spawned one after the other in the wake-up that
    // saw db's announcement: each asks `init status` at once.
    let webs: String = (0..20)
        .map(|n| {
            format!(
                "[[service]]\nname = \"web{n}\"\nafter = [\"db\"]\n\
                 shell = \"'{INIT}' status --json > {{dir}}/seen{n}.tmp; mv {{dir}}/seen{n}.tmp {{dir}}/seen{n}; exec sleep 60\"\n\n"
            )
        })
        .collect();
    let config = format!(
        "[[service]]\nname = \"db\"\nshell = \"echo ready >&3; exec sleep 60\"\nready = {{ fd = 3 }}\n\n{webs}"
    );
    let mut init = services("status-order", &config);
    for n in 0..20 {
        let seen = init.wait_for_file(&format!("seen{n}"));
        assert!(seen.contains("{\"name\":\"db\",\"state\":\"ready\""), "web{n} saw:\n{seen}");
    }
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}
