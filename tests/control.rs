//! Runtime control as PID 1 (docs/reference.md, "Runtime control"): `init
//! stop|start|restart SERVICE` and `init signal SERVICE SIG` from inside the
//! namespace (nsenter), as `docker exec` runs them.

mod common;

use std::fs;
use std::process::Output;

use common::services::{exec_in, services, state_of};
use common::{DEADLINE, stderr_of, stdout_of, wait_until};
use nix::sys::signal::Signal;

/// A database announcing itself with a semaphore, a critical web server
/// after it, and a worker that reports USR1.
const CONFIG: &str = r#"
[[service]]
name = "db"
shell = "echo $$ > {dir}/db.pid; exec sleep 60"
semaphore = "{dir}/db.ready"
heartbeat = "1s"

[[service]]
name = "web"
after = ["db"]
critical = true
shell = "echo $$ > {dir}/web.pid; exec sleep 60"

[[service]]
name = "worker"
after = ["web"]
shell = "trap 'echo got-USR1 >> {dir}/worker.log' USR1; while :; do sleep 0.05; done"
"#;

fn ok(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(out));
    stdout_of(out)
}

fn started(tag: &str) -> common::Init {
    let init = services(tag, CONFIG);
    wait_until("worker ready", DEADLINE, || state_of(&init, "worker") == "ready");
    init
}

#[test]
fn a_restarted_service_comes_back_while_its_dependents_keep_running() {
    let mut init = started("ctl-restart");
    let (db, web) = (init.read("db.pid"), init.read("web.pid"));
    let restarted = exec_in(&init, &["restart", "db"]);
    assert_eq!(restarted.status.code(), Some(0), "{}{}", stderr_of(&restarted), init.stderr());
    assert_eq!(stdout_of(&restarted), "db ready\n");
    // Ready at its spawn (no probe): its shell writes the new pid just after.
    wait_until("a new db process", DEADLINE, || {
        !matches!(init.read("db.pid").as_str(), "" | "\n") && init.read("db.pid") != db
    });
    assert_eq!(init.read("web.pid"), web, "web kept running");
    assert!(init.dir.join("db.ready").exists(), "its semaphore is back");
    let status = stdout_of(&exec_in(&init, &["status"]));
    assert!(status.lines().any(|l| l.starts_with("db ") && l.contains(" ready ")), "{status}");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}

#[test]
fn a_critical_service_stopped_by_an_operator_stays_down_and_the_container_up() {
    let mut init = started("ctl-stop");
    assert_eq!(ok(&exec_in(&init, &["stop", "web"])), "web stopped\n");
    assert_eq!(state_of(&init, "web"), "stopped");
    // Down on purpose: not restarted, not unhealthy, the container runs on.
    assert_eq!(
        exec_in(&init, &["health"]).status.code(),
        Some(0),
        "{}",
        stderr_of(&exec_in(&init, &["health"]))
    );
    assert_eq!(ok(&exec_in(&init, &["stop", "db"])), "db stopped\n");
    assert!(!init.dir.join("db.ready").exists(), "a stopped service's semaphore is removed");
    assert_eq!(ok(&exec_in(&init, &["start", "db"])), "db ready\n");
    assert!(init.dir.join("db.ready").exists(), "and comes back with it");
    assert_eq!(ok(&exec_in(&init, &["start", "web"])), "web ready\n");
    assert_eq!(state_of(&init, "worker"), "ready", "the worker never stopped");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}

#[test]
fn a_signal_reaches_one_service_and_bad_requests_say_why() {
    let mut init = started("ctl-signal");
    let sent = ok(&exec_in(&init, &["signal", "worker", "USR1"]));
    assert!(sent.starts_with("sent SIGUSR1 to worker (pid "), "{sent}");
    wait_until("worker got USR1", DEADLINE, || fs::read_to_string(init.dir.join("worker.log")).is_ok());
    let unknown = exec_in(&init, &["stop", "nope"]);
    assert_eq!(
        (unknown.status.code(), stderr_of(&unknown).as_str()),
        (Some(64), "init: ERROR no service named \"nope\"\n")
    );
    let bad = exec_in(&init, &["signal", "web", "SIGWHAT"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr_of(&bad));
    ok(&exec_in(&init, &["stop", "worker"]));
    let down = exec_in(&init, &["signal", "worker", "HUP"]);
    assert_eq!(
        (down.status.code(), stderr_of(&down).as_str()),
        (Some(1), "init: ERROR worker is not running (stopped)\n")
    );
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
    // Requests are logged in the words of the command line, not as code.
    let log = init.stderr();
    assert!(log.contains("operator request service=worker request=\"signal worker SIGUSR1\""), "{log}");
    assert!(log.contains("operator request service=worker request=\"stop worker\""), "{log}");
    assert!(!log.contains("Signal("), "{log}");
}

#[test]
fn another_uid_is_refused_by_the_socket_and_by_its_credentials() {
    let mut init = started("ctl-uid");
    let as_4242 = |init: &common::Init| {
        std::process::Command::new("nsenter")
            .args([
                "-t",
                &init.pid().to_string(),
                "-p",
                "-m",
                "--",
                "setpriv",
                "--reuid",
                "4242",
                "--regid",
                "4242",
            ])
            .args(["--clear-groups", common::INIT, "stop", "web"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("INIT_RUN_DIR", init.dir.join("run"))
            .output()
            .unwrap()
    };
    let out = as_4242(&init);
    assert_eq!(out.status.code(), Some(77), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("uid 4242 may not control this init"), "{}", stderr_of(&out));
    // Past the socket's mode, the peer's credentials still refuse it.
    let socket = init.dir.join("run/control.sock");
    fs::set_permissions(&socket, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    let out = as_4242(&init);
    assert_eq!(out.status.code(), Some(77), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("uid 4242 may not control this init (root or uid 0 only)"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(state_of(&init, "web"), "ready");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
    assert!(!socket.exists(), "the socket goes with init");
}

#[test]
fn without_a_live_init_or_with_one_command_control_fails_with_one_line() {
    let dir = common::TempDir::new("ctl-none");
    let out = common::init_cmd().args(["stop", "web"]).env("INIT_RUN_DIR", dir.join("run")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr_of(&out),
        format!(
            "init: ERROR status file {}/run/status.json: absent: is init running services here?\n",
            dir.s("").trim_end_matches('/')
        )
    );
    let mut init = common::Init::pid1("ctl-single", ["--", "sleep", "60"]);
    wait_until("status file", DEADLINE, || exec_in(&init, &["status"]).status.success());
    let out = exec_in(&init, &["restart", "sleep"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("has no control socket: it runs one command, not services"),
        "{}",
        stderr_of(&out)
    );
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}
