//! Readiness a service announces itself, as PID 1 (docs/reference.md,
//! "Services"): a line on its descriptor N (s6), `READY=1` on
//! `NOTIFY_SOCKET` (systemd) with `STATUS=` shown by `init status`, and an
//! announcement that never comes: killed at the timeout, restarted.

mod common;

use std::fs;

use common::services::{exec_in, services, state_of};
use common::{DEADLINE, stderr_of, stdout_of, wait_until};
use nix::sys::signal::Signal;

/// A python3 client of the notify protocol: `notify.py MESSAGE...` sends each.
const NOTIFY_PY: &str = "import os, socket, sys\n\
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
for m in sys.argv[1:]:\n    s.sendto(m.encode(), os.environ['NOTIFY_SOCKET'])\n";

#[test]
fn a_line_on_its_fd_makes_a_service_ready_and_its_dependents_start_after_it() {
    let mut init = services(
        "ready-fd",
        r#"
[[service]]
name = "db"
shell = "echo 'starting up'; while [ ! -f {dir}/go ]; do sleep 0.02; done; touch {dir}/db.prepared; echo ready >&3; exec sleep 60"
ready = { fd = 3, timeout = "30s" }

[[service]]
name = "web"
after = ["db"]
shell = "test -f {dir}/db.prepared && touch {dir}/web.up; exec sleep 60"
"#,
    );
    wait_until("db starting", DEADLINE, || state_of(&init, "db") == "starting");
    assert_eq!(state_of(&init, "web"), "waiting", "web waits for db's announcement");
    fs::write(init.dir.join("go"), "").unwrap();
    init.wait_for_file("web.up");
    assert_eq!(state_of(&init, "db"), "ready");
    assert!(init.stdout().contains("starting up"), "its output is untouched: {}", init.stdout());
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}

#[test]
fn ready_1_on_notify_socket_makes_it_ready_and_status_is_shown() {
    let mut init = services(
        "ready-notify",
        r#"
[[service]]
name = "api"
shell = "python3 {dir}/notify.py 'STATUS=warming up'; while [ ! -f {dir}/go ]; do sleep 0.02; done; python3 {dir}/notify.py 'READY=1\nSTATUS=serving 3 clients'; exec sleep 60"
ready = { notify = true, timeout = "30s" }

[[service]]
name = "client"
after = ["api"]
shell = "touch {dir}/client.up; exec sleep 60"
"#,
    );
    fs::write(init.dir.join("notify.py"), NOTIFY_PY).unwrap();
    wait_until("STATUS shown", DEADLINE, || stdout_of(&exec_in(&init, &["status"])).contains("warming up"));
    assert_eq!(state_of(&init, "api"), "starting");
    assert_eq!(state_of(&init, "client"), "waiting");
    fs::write(init.dir.join("go"), "").unwrap();
    init.wait_for_file("client.up");
    let status = stdout_of(&exec_in(&init, &["status", "--json"]));
    assert!(status.contains("\"name\":\"api\",\"state\":\"ready\""), "{status}");
    assert!(status.contains("\"status\":\"serving 3 clients\""), "{status}");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
    assert!(!init.dir.join("run/notify-api.sock").exists(), "the socket goes with init");
}

#[test]
fn an_announcement_that_never_comes_is_killed_at_its_timeout_and_restarted() {
    let mut init = services(
        "ready-never",
        r#"
[[service]]
name = "main"
shell = "exec sleep 60"

[[service]]
name = "silent"
critical = false
shell = "echo run >> {dir}/runs; exec sleep 60"
ready = { notify = true, timeout = "200ms" }
restart = "on-failure"
restart_delay = "10ms"
max_restarts = 1

[[service]]
name = "mute"
critical = false
shell = "exec sleep 60"
ready = { fd = 5, timeout = "200ms" }
"#,
    );
    wait_until("silent given up", DEADLINE, || state_of(&init, "silent") == "failed");
    assert_eq!(init.read("runs"), "run\nrun\n", "started, killed at the timeout, restarted once");
    wait_until("mute failed", DEADLINE, || state_of(&init, "mute") == "failed");
    let status = stdout_of(&exec_in(&init, &["status", "--json"]));
    assert!(
        status
            .contains("\"name\":\"mute\",\"state\":\"failed\",\"pid\":null,\"ready\":false,\"restarts\":0,"),
        "{status}"
    );
    assert!(status.contains("\"last_exit\":137"), "killed by SIGKILL: {status}");
    assert_eq!(state_of(&init, "main"), "ready");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
    assert!(init.stderr().contains("not ready in time: SIGKILL service=silent"), "{}", init.stderr());
}

#[test]
fn a_notification_from_another_uid_is_ignored() {
    let mut init = services(
        "ready-uid",
        r#"
[[service]]
name = "api"
shell = "exec sleep 60"
ready = { notify = true, timeout = "30s" }
"#,
    );
    fs::write(init.dir.join("notify.py"), NOTIFY_PY).unwrap();
    let socket = init.dir.join("run/notify-api.sock");
    wait_until("the socket", DEADLINE, || socket.exists());
    // Past the socket's 0600, its credentials still decide.
    fs::set_permissions(&socket, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    let sent = std::process::Command::new("setpriv")
        .args(["--reuid", "4242", "--regid", "4242", "--clear-groups", "/usr/bin/python3"])
        .arg(init.dir.join("notify.py"))
        .arg("READY=1")
        .env("NOTIFY_SOCKET", &socket)
        .output()
        .unwrap();
    assert!(sent.status.success(), "{}", stderr_of(&sent));
    wait_until("the refusal", DEADLINE, || init.stderr().contains("notification from another user ignored"));
    assert_eq!(state_of(&init, "api"), "starting");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}
