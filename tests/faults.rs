//! System calls made to fail under a real PID 1 (docs/reference.md,
//! "When system calls fail"): init runs as PID 1 of a PID namespace under
//! strace, whose `-e inject` makes one class of call fail at a chosen
//! invocation (strace counts per process, so a service's calls do not move
//! init's count). Each test asserts what a user sees: no crash, no hang
//! past the stop budget, a status that becomes true within seconds, and a
//! line that says what failed.

mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::services::{exec_in, state_of};
use common::{Builder, DEADLINE, Init, Mode, stderr_of, wait_until};
use nix::sys::signal::Signal;

/// init as PID 1 with `toml` as its config, under strace injecting `inject`
/// (strace's `-e inject=` syntax) into init and everything it starts.
fn faulty(tag: &str, toml: &str, inject: &str) -> Init {
    let calls = inject.split(':').next().unwrap().to_string();
    let trace = format!("trace={calls}");
    let inject = format!("inject={inject}");
    Builder::new(tag, Mode::Pid1)
        .wrap(&["strace", "-f", "-qq", "-o", "{dir}/strace.log", "-e", &trace, "-e", &inject])
        .file("init.toml", toml)
        .args(["-c", "{dir}/init.toml"])
        .start()
}

/// How many calls of init's strace saw (its log: one line a call; the
/// services' calls are in it too).
fn calls(init: &Init, call: &str) -> usize {
    init.read("strace.log").lines().filter(|l| l.contains(&format!("{call}("))).count()
}

/// A service that is ready once the test says so.
const API: &str = r#"
[[service]]
name = "api"
command = ["sleep", "60"]
ready = { file = "{dir}/api.ready" }
"#;

#[test]
fn a_status_write_that_fails_is_retried_until_the_status_is_true() {
    // The first write works; the one after `api` became ready and the
    // next four retries fail.
    let mut init = faulty("fault-status", API, "renameat,renameat2:error=EIO:when=2..6");
    wait_until("the status file", DEADLINE, || exec_in(&init, &["status"]).status.success());
    fs::write(init.dir.join("api.ready"), "").unwrap();
    let ready_at = Instant::now();
    wait_until("init ready", DEADLINE, || exec_in(&init, &["ready"]).status.success());
    assert!(
        ready_at.elapsed() < Duration::from_secs(10),
        "true again within seconds: {:?}",
        ready_at.elapsed()
    );
    let err = init.stderr();
    assert!(
        err.contains("WARN status file not written; retrying")
            && err.contains("Input/output error")
            && err.contains("INFO status file written again"),
        "{err}"
    );
    assert_eq!(err.matches("not written").count(), 1, "one WARN, not one per retry: {err}");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143, "{}", stderr_of(&exec_in(&init, &["status"])));
}

#[test]
fn a_control_socket_out_of_descriptors_backs_off_says_so_and_answers_later() {
    // accept4 fails with EMFILE five times: the request waits, PID 1 does not spin.
    let mut init = faulty("fault-accept", API, "accept4:error=EMFILE:when=1..5");
    wait_until("the status file", DEADLINE, || exec_in(&init, &["status"]).status.success());
    let asked = Instant::now();
    let stopped = exec_in(&init, &["stop", "api"]);
    assert_eq!(stopped.status.code(), Some(0), "{}{}", stderr_of(&stopped), init.stderr());
    assert!(asked.elapsed() < Duration::from_secs(20), "answered once accept works: {:?}", asked.elapsed());
    let accepts = calls(&init, "accept4");
    assert!((6..=10).contains(&accepts), "a few tries, not a busy loop: {accepts} accept4 calls");
    let err = init.stderr();
    assert_eq!(err.matches("control socket: accepting a request failed").count(), 1, "{err}");
    assert!(
        err.contains("Too many open files")
            && err.contains("control socket: accepting a request works again"),
        "{err}"
    );
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}

#[test]
fn a_fork_that_fails_at_a_restart_is_a_failed_run_not_the_end_of_the_container() {
    let toml = r#"
[[service]]
name = "worker"
restart = "always"
restart_delay = "10ms"
shell = "echo run >> {dir}/runs; [ $(wc -l < {dir}/runs) -ge 3 ] && exec sleep 60; exit 1"
"#;
    // init's second fork, the worker's first restart, fails as at a pids.max limit.
    let mut init = faulty("fault-fork", toml, "fork,clone:error=EAGAIN:when=2");
    wait_until("three runs", DEADLINE, || init.read("runs").lines().count() >= 3);
    let err = init.stderr();
    assert!(err.contains("WARN cannot start service=worker") && err.contains("fork failed: EAGAIN"), "{err}");
    assert_eq!(err.matches("cannot start").count(), 1, "{err}");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143, "{}", init.stderr());
}

#[test]
fn a_notify_socket_that_cannot_be_read_backs_off_and_the_timeout_says_why() {
    let toml = r#"
[[service]]
name = "api"
stop_timeout = "1s"
shell = "python3 -c \"import os, socket; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b'READY=1', os.environ['NOTIFY_SOCKET'])\"; exec sleep 60"
ready = { notify = true, timeout = "2s" }
restart = "never"
"#;
    let mut init = faulty("fault-recv", toml, "recvmsg:error=EIO:when=1+");
    assert_eq!(init.wait(), 137, "killed at its ready timeout: {}", init.stderr());
    let err = init.stderr();
    assert_eq!(err.matches("notify socket: receiving failed").count(), 1, "{err}");
    assert!(err.contains("its notify socket could not be read: EIO"), "the timeout says why: {err}");
    let reads = calls(&init, "recvmsg");
    assert!(reads <= 10, "a few tries in 2 s, not a busy loop: {reads} recvmsg calls");
}

#[test]
fn a_template_write_out_of_space_is_71_and_leaves_no_partial_file() {
    let toml = r#"
[[template]]
src = "{dir}/app.tmpl"
dest = "{dir}/out/app.conf"

[[service]]
name = "app"
command = ["true"]
"#;
    let mut init = Builder::new("fault-enospc", Mode::Pid1)
        .wrap(&[
            "strace",
            "-f",
            "-qq",
            "-o",
            "{dir}/strace.log",
            "-e",
            "trace=write,pwrite64,writev",
            "-e",
            "inject=write,pwrite64,writev:error=ENOSPC:when=1",
        ])
        .file("init.toml", toml)
        .file("app.tmpl", "name = app\n")
        .before(|dir| fs::create_dir(dir.join("out")).unwrap())
        .args(["-c", "{dir}/init.toml"])
        .start();
    assert_eq!(init.wait(), 71, "an OS call failed, not the configuration: {}", init.stderr());
    let err = init.stderr();
    assert!(err.contains("out/app.conf") && err.contains("No space left on device"), "{err}");
    let left: Vec<_> = fs::read_dir(init.dir.join("out")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "no partial file and no temporary left: {left:?}");
}

#[test]
fn a_control_socket_that_could_not_be_made_is_said_so_by_the_client() {
    let mut init = faulty("fault-bind", API, "bind:error=EADDRINUSE:when=1");
    let json = || common::stdout_of(&exec_in(&init, &["status", "--json"]));
    wait_until("the status file says so", DEADLINE, || json().contains("\"control\":false"));
    let stop = exec_in(&init, &["stop", "api"]);
    assert_eq!(stop.status.code(), Some(1));
    let err = stderr_of(&stop);
    assert!(err.contains("could not make its control socket (its log says why)"), "{err}");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}

#[test]
fn a_notify_socket_that_cannot_be_given_to_its_user_is_not_left_behind() {
    let toml = r#"
[[service]]
name = "api"
user = "1000:1000"
command = ["sleep", "60"]
ready = { notify = true, timeout = "30s" }
"#;
    let mut init = faulty("fault-chown", toml, "chown,fchownat:error=EPERM:when=1");
    // Its socket is made (and given to its user) before it is spawned.
    wait_until("api spawned", DEADLINE, || state_of(&init, "api") == "starting");
    assert!(!init.dir.join("run/notify-api.sock").exists(), "no socket left on disk");
    assert!(init.stderr().contains("Operation not permitted"), "the line says why: {}", init.stderr());
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}
