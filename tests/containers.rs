//! init in real containers: a tiny image (busybox-static rootfs + the static
//! dist/init as ENTRYPOINT) built and run with podman + runc in mooring's own
//! store (scripts/podman.sh). Needs root, podman and `make build` (which
//! `make test` runs first).

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{DEADLINE, TempDir, wait_until};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const IMAGE: &str = "localhost/mooring-test:latest";
const BASE: &str = "localhost/mooring-busybox:base";

fn podman(args: &[&str]) -> Output {
    Command::new(format!("{ROOT}/scripts/podman.sh"))
        .arg("podman")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("podman {args:?}: {e}"))
}

fn podman_ok(args: &[&str]) -> String {
    let out = podman(args);
    assert!(out.status.success(), "podman {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Sets up the store and builds the test image once per test run.
fn image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let init = Path::new(ROOT).join("dist/init");
        assert!(init.exists(), "dist/init is missing: run `make build` (make test does)");
        let setup = Command::new(format!("{ROOT}/scripts/podman.sh")).arg("setup").status().unwrap();
        assert!(setup.success(), "scripts/podman.sh setup failed");
        let ctx = TempDir::new("image");
        std::fs::copy(&init, ctx.join("init")).unwrap();
        std::fs::write(
            ctx.join("Containerfile"),
            format!(
                "FROM {BASE}\nCOPY init /usr/local/bin/init\nENTRYPOINT [\"/usr/local/bin/init\"]\nCMD []\n"
            ),
        )
        .unwrap();
        podman_ok(&["build", "-q", "-t", IMAGE, ctx.path().to_str().unwrap()]);
    });
    IMAGE
}

/// A named container, removed on drop.
struct Container(String);

impl Container {
    fn name(tag: &str) -> Container {
        static N: AtomicUsize = AtomicUsize::new(0);
        Container(format!("mooring-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)))
    }

    fn run_detached(tag: &str, image: &str, args: &[&str]) -> Container {
        let c = Container::name(tag);
        let mut all = vec!["run", "-d", "--name", &c.0, image];
        all.extend_from_slice(args);
        podman_ok(&all);
        c
    }

    fn logs(&self) -> String {
        let out = podman(&["logs", &self.0]);
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }

    fn wait_for_log(&self, needle: &str) {
        wait_until(&format!("{needle:?} in the logs of {}", self.0), DEADLINE, || {
            self.logs().contains(needle)
        });
    }

    fn exit_code(&self) -> i32 {
        podman_ok(&["wait", &self.0]).parse().expect("podman wait prints the exit code")
    }

    /// `podman stop -t TIMEOUT` and how long it took.
    fn stop(&self, timeout_s: u32) -> Duration {
        let t0 = Instant::now();
        podman_ok(&["stop", "-t", &timeout_s.to_string(), &self.0]);
        t0.elapsed()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = podman(&["rm", "-f", "-t", "0", &self.0]);
    }
}

#[test]
fn podman_stop_returns_promptly_with_the_child_exit_code() {
    // The child says it runs: init's own start line is DEBUG (README.md, "Logging").
    let c = Container::run_detached("stop", image(), &["sh", "-c", "echo ready; exec sleep 1000"]);
    c.wait_for_log("ready");
    let took = c.stop(10);
    assert_eq!(c.exit_code(), 143, "sleep killed by the forwarded SIGTERM: {}", c.logs());
    // Far below the 10 s after which podman would have sent SIGKILL.
    assert!(took < Duration::from_secs(5), "podman stop took {took:?}");
    eprintln!("podman stop with init as PID 1: {took:?}");
    assert!(c.logs().contains("forwarded signal=SIGTERM to=\"process group\""), "{}", c.logs());
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
shell = "trap 'echo worker-stopped; exit 0' TERM; while :; do sleep 0.1; done"
"#,
    )
    .unwrap();
    let config = format!("{}:/opt/config:ro", dir.join("config").display());
    let shared = format!("{}:/shared", dir.join("shared").display());
    let c = Container::name("services");
    podman_ok(&["run", "-d", "--name", &c.0, "-v", &config, "-v", &shared, image()]);
    c.wait_for_log("ready service=worker");
    let semaphore = std::fs::read_to_string(dir.join("shared/web.ready")).unwrap_or_default();
    assert!(semaphore.contains("service=web\n"), "semaphore on the shared volume: {semaphore:?}");
    let health = podman(&["exec", &c.0, "/usr/local/bin/init", "health"]);
    assert_eq!(health.status.code(), Some(0), "{}", String::from_utf8_lossy(&health.stderr));
    let status = podman_ok(&["exec", &c.0, "/usr/local/bin/init", "status"]);
    assert!(status.lines().any(|l| l.starts_with("web ") && l.contains("ready")), "{status}");
    c.stop(10);
    let logs = c.logs();
    assert_eq!(c.exit_code(), 143, "web (main) killed by SIGTERM: {logs}");
    assert!(logs.contains("worker-stopped"), "{logs}");
    let (worker, web) =
        (logs.find("exited service=worker code=0"), logs.find("stop signal sent service=web"));
    assert!(worker.is_some() && web.is_some() && worker < web, "worker stops before web: {logs}");
    assert!(!dir.join("shared/web.ready").exists(), "semaphore removed on stop");
}
