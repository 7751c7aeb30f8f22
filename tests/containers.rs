//! init in real containers: a tiny image (busybox-static rootfs + the static
//! dist/init as ENTRYPOINT) built and run with podman + runc in mooring's own
//! store (scripts/podman.sh). Needs root, podman and `make build` (which
//! `make test` runs first).

mod common;

use std::sync::OnceLock;
use std::time::Duration;

use common::podman::{BASE, Container, podman, podman_ok};
use common::{DEADLINE, TempDir, wait_until};

const IMAGE: &str = "localhost/mooring-test:latest";

/// Builds the test image once per test run.
fn image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let containerfile = format!(
            "FROM {BASE}\nCOPY init /usr/local/bin/init\nENTRYPOINT [\"/usr/local/bin/init\"]\nCMD []\n"
        );
        common::podman::build(IMAGE, &containerfile, &[]);
    });
    IMAGE
}

#[test]
fn podman_stop_returns_promptly_with_the_child_exit_code() {
    // The child says it runs: init's own start line is DEBUG (docs/reference.md, "Logging").
    let c = Container::run_detached("stop", image(), &["sh", "-c", "echo ready; exec sleep 1000"]);
    c.wait_for_log("ready");
    let took = c.stop(10);
    assert_eq!(c.exit_code(), 143, "sleep killed by the forwarded SIGTERM: {}", c.logs());
    // Far below the 10 s after which podman would have sent SIGKILL.
    assert!(took < Duration::from_secs(5), "podman stop took {took:?}");
    eprintln!("podman stop with init as PID 1: {took:?}");
}

#[test]
fn podman_kill_usr1_reaches_the_child() {
    let script = "trap 'echo got-USR1; exit 0' USR1; echo ready; while :; do sleep 1; done";
    let c = Container::run_detached("usr1", image(), &["sh", "-c", script]);
    c.wait_for_log("ready");
    podman_ok(&["kill", "--signal", "USR1", &c.0]);
    assert_eq!(c.exit_code(), 0, "{}", c.logs());
    assert!(c.logs().contains("got-USR1"), "{}", c.logs());
}

#[test]
fn exit_codes_and_exec_failures_come_out_of_the_container() {
    let c = Container::run_detached("code", image(), &["sh", "-c", "exit 42"]);
    assert_eq!(c.exit_code(), 42);
    let c = Container::run_detached("enoent", image(), &["no-such-command"]);
    assert_eq!(c.exit_code(), 127);
    assert!(c.logs().contains("no-such-command: command not found"), "{}", c.logs());
}

#[test]
fn orphans_in_the_container_are_reaped() {
    // The burst, then poll (up to 10 s) until no zombie is left whose parent
    // is PID 1 (the shell's own children are its business), and report.
    let script = "zombies() { for f in /proc/[0-9]*/status; do \
                      awk '/^State:/ { s = $2 } /^PPid:/ { p = $2 } END { if (s == \"Z\" && p == 1) print }' $f 2>/dev/null; \
                  done | wc -l; }; \
                  i=0; while [ $i -lt 500 ]; do (sleep 0 &); i=$((i+1)); done; \
                  n=0; while [ $(zombies) -gt 0 ] && [ $n -lt 1000 ]; do sleep 0.01; n=$((n+1)); done; \
                  echo zombies=$(zombies)";
    let c = Container::run_detached("reap", image(), &["sh", "-c", script]);
    assert_eq!(c.exit_code(), 0, "{}", c.logs());
    assert!(c.logs().contains("zombies=0"), "{}", c.logs());
}

#[test]
fn without_init_a_pid1_ignoring_sigterm_takes_the_full_stop_timeout() {
    // The contrast: sleep as PID 1 has no SIGTERM handler, so the kernel drops
    // the signal and podman must wait out -t before SIGKILL.
    image();
    let c = Container::name("noinit");
    podman_ok(&["run", "-d", "--name", &c.0, "--entrypoint", "sleep", BASE, "1000"]);
    let took = c.stop(2);
    assert_eq!(c.exit_code(), 137);
    assert!(took >= Duration::from_secs(2), "podman stop took only {took:?}");
    eprintln!("podman stop without init: {took:?}");
}

#[test]
fn services_in_a_container_answer_exec_status_and_health_and_stop_in_order() {
    let dir = TempDir::new("svc-container");
    std::fs::create_dir(dir.join("config")).unwrap();
    std::fs::create_dir(dir.join("shared")).unwrap();
    std::fs::write(
        dir.join("config/init.toml"),
        r#"
[[service]]
name = "web"
command = ["httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/"]
ready = { tcp = "127.0.0.1:8080" }
semaphore = "/shared/web.ready"

[[service]]
name = "worker"
after = ["web"]
shell = "trap 'pidof httpd > /dev/null && echo worker-stopped-before-web; exit 0' TERM; while :; do sleep 0.1; done"
"#,
    )
    .unwrap();
    let config = format!("{}:/opt/config:ro", dir.join("config").display());
    let shared = format!("{}:/shared", dir.join("shared").display());
    let c = Container::name("services");
    podman_ok(&["run", "-d", "--name", &c.0, "-v", &config, "-v", &shared, image()]);
    let table = || podman(&["exec", &c.0, "/usr/local/bin/init", "status"]);
    let worker_ready = |s: &str| s.lines().any(|l| l.starts_with("worker ") && l.contains(" ready "));
    wait_until("worker ready", DEADLINE, || worker_ready(&String::from_utf8_lossy(&table().stdout)));
    let semaphore = std::fs::read_to_string(dir.join("shared/web.ready")).unwrap_or_default();
    assert!(semaphore.contains("service=web\n"), "semaphore on the shared volume: {semaphore:?}");
    let health = podman(&["exec", &c.0, "/usr/local/bin/init", "health"]);
    assert_eq!(health.status.code(), Some(0), "{}", String::from_utf8_lossy(&health.stderr));
    let status = podman_ok(&["exec", &c.0, "/usr/local/bin/init", "status"]);
    assert!(status.lines().any(|l| l.starts_with("web ") && l.contains("ready")), "{status}");
    c.stop(10);
    let logs = c.logs();
    assert_eq!(c.exit_code(), 143, "web (main) killed by SIGTERM: {logs}");
    // The worker got its stop signal while web still ran: it stops first.
    assert!(logs.contains("worker-stopped-before-web"), "{logs}");
    assert!(!dir.join("shared/web.ready").exists(), "semaphore removed on stop");
}
