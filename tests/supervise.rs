//! Service mode as PID 1 of a PID namespace: start order on readiness,
//! semaphores, oneshots, ready probes (http, tcp, timeouts), the services'
//! environment and workdir.

mod common;

use std::fs;
use std::time::{Duration, Instant, SystemTime};

use common::services::{exec_in, services, state_of};
use common::{Builder, DEADLINE, Mode, wait_until};
use nix::sys::signal::Signal;

#[test]
fn services_start_on_readiness_write_a_semaphore_and_stop_in_reverse_order() {
    let mut init = services(
        "order",
        r#"
[[service]]
name = "migrate"
oneshot = true
shell = "echo migrated > {dir}/migrated"

[[service]]
name = "db"
shell = "trap 'echo db >> {dir}/stops; exit 143' TERM; touch {dir}/db.listening; while :; do sleep 0.05; done"
ready = { file = "{dir}/db.listening" }
semaphore = "{dir}/db.ready"
heartbeat = "1s"

[[service]]
name = "web"
after = ["db", "migrate"]
shell = "trap 'echo web >> {dir}/stops; exit 0' TERM; test -f {dir}/migrated && test -f {dir}/db.ready && touch {dir}/web.up; while :; do sleep 0.05; done"
"#,
    );
    init.wait_for_file("web.up");
    let sem = init.read("db.ready");
    for line in ["service=db\n", "heartbeat=1000ms\n", "hostname="] {
        assert!(sem.contains(line), "semaphore lacks {line:?}: {sem}");
    }
    // The heartbeat refreshes the mtime while db runs.
    let first = fs::metadata(init.dir.join("db.ready")).unwrap().modified().unwrap();
    wait_until("a heartbeat", DEADLINE, || {
        fs::metadata(init.dir.join("db.ready")).and_then(|m| m.modified()).is_ok_and(|m| m > first)
    });
    // Removed by someone else while db runs: the next heartbeat writes it again.
    fs::remove_file(init.dir.join("db.ready")).unwrap();
    init.wait_for_file("db.ready");
    init.signal(Signal::SIGTERM);
    assert_eq!(
        init.wait(),
        143,
        "the main service (db, the first long-running one) died of SIGTERM: {}",
        init.stderr()
    );
    // web started only once migrate had exited 0 and db's semaphore was
    // there (its web.up says so); it stops first, db after it.
    assert_eq!(init.read("stops"), "web\ndb\n");
    assert!(!init.dir.join("db.ready").exists(), "semaphore removed on stop");
}

#[test]
fn a_stale_semaphore_of_our_own_is_removed_at_boot_and_a_stale_dependency_is_not_ready() {
    let old = "service=db\nhostname=elsewhere\npid=9\nheartbeat=1s\n";
    let mut init = Builder::new("stale", Mode::Pid1)
        .file("db.ready", old)
        .file("other.ready", old)
        .file(
            "init.toml",
            r#"
[[service]]
name = "db"
shell = "exec sleep 60"
ready = { command = ["test", "-f", "{dir}/go"] }
semaphore = "{dir}/db.ready"

[[service]]
name = "web"
shell = "exec sleep 60"
ready = { file = "{dir}/other.ready", timeout = "0" }
"#,
        )
        .before(|dir| {
            let past = SystemTime::now() - Duration::from_secs(60);
            for f in ["db.ready", "other.ready"] {
                fs::File::options().write(true).open(dir.join(f)).unwrap().set_modified(past).unwrap();
            }
        })
        .args(["-c", "{dir}/init.toml"])
        .start();
    wait_until("db's stale semaphore removed", DEADLINE, || !init.dir.join("db.ready").exists());
    // Written before the first spawn (both waiting), then as they start:
    // web's stale dependency file never makes it ready.
    wait_until("web starting", DEADLINE, || state_of(&init, "web") == "starting");
    // db becomes ready through its command probe, and only then writes its semaphore.
    fs::write(init.dir.join("go"), "").unwrap();
    init.wait_for_file("db.ready");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}

#[test]
fn a_failed_oneshot_ends_the_boot_with_its_code_and_dependents_never_start() {
    let mut init = services(
        "oneshotfail",
        r#"
[[service]]
name = "prepare"
oneshot = true
shell = "exit 4"

[[service]]
name = "web"
after = ["prepare"]
shell = "touch {dir}/web.started; exec sleep 60"
"#,
    );
    assert_eq!(init.wait(), 4, "{}", init.stderr());
    assert!(!init.dir.join("web.started").exists());
}

/// A TCP port nothing listens on yet.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn http_and_tcp_probes_env_and_workdir_reach_services() {
    let port = free_port();
    let toml = r#"
[[service]]
name = "api"
command = ["python3", "-m", "http.server", "--bind", "127.0.0.1", "PORT"]
workdir = "{dir}"
ready = { http = "http://127.0.0.1:PORT/" }

[[service]]
name = "client"
after = ["api"]
env = { GREETING = "hello from <<WHO:-nobody>>" }
workdir = "/"
ready = { tcp = "127.0.0.1:PORT" }
shell = "echo \"$GREETING in $PWD\" > {dir}/client.tmp; mv {dir}/client.tmp {dir}/client.out; exec sleep 60"
"#
    .replace("PORT", &port.to_string());
    let mut init = Builder::new("probes", Mode::Pid1)
        .env("WHO", "ops")
        .file("init.toml", &toml)
        .args(["-c", "{dir}/init.toml"])
        .start();
    init.wait_for_file("client.out");
    assert_eq!(init.read("client.out"), "hello from ops in /\n");
    wait_until("client ready", DEADLINE, || state_of(&init, "client") == "ready");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143, "{}", init.stderr());
}

#[test]
fn a_service_not_ready_in_time_is_killed_and_restarted_and_stop_timeout_kills_one_stubborn_service() {
    let toml = r#"
[[service]]
name = "main"
shell = "trap '' TERM; touch {dir}/main.up; while :; do sleep 0.05; done"
stop_timeout = "200ms"

[[service]]
name = "slow"
critical = false
shell = "echo start >> {dir}/slow.runs; exec sleep 60"
ready = { file = "{dir}/never", timeout = "100ms" }
restart = "on-failure"
restart_delay = "10ms"
max_restarts = 2
"#;
    // A stop budget far beyond main's own stop_timeout and the test's deadline.
    let mut init = Builder::new("readytimeout", Mode::Pid1)
        .file("init.toml", toml)
        .args(["-c", "{dir}/init.toml", "--stop-timeout", "60s"])
        .start();
    wait_until("slow given up", DEADLINE, || state_of(&init, "slow") == "failed");
    assert_eq!(init.read("slow.runs").lines().count(), 3, "first start + 2 restarts");
    let status = String::from_utf8_lossy(&exec_in(&init, &["status", "--json"]).stdout).to_string();
    assert!(
        status.contains("\"restarts\":2,") && status.contains("\"last_exit\":137"),
        "killed at the timeout: {status}"
    );
    init.wait_for_file("main.up");
    // The stop budget is 60 s; main's own stop_timeout (200 ms) ends it long before.
    let sent = Instant::now();
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 137, "{}", init.stderr());
    let took = sent.elapsed();
    assert!(took >= Duration::from_millis(200) && took < Duration::from_secs(20), "stopped in {took:?}");
}
