//! Service mode as PID 1: restarts with back-off and give-up, critical and
//! main exit codes, no exit status lost among orphans, SIGKILLs explained
//! (the OOM killer or not).

mod common;

use std::fs;
use std::process::Output;

use common::services::{exec_in, services};
use common::{DEADLINE, INIT, times_ns, wait_until};
use nix::sys::signal::Signal;

#[test]
fn a_failing_service_is_restarted_with_back_off_then_given_up_and_its_code_ends_the_container() {
    let mut init = services(
        "giveup",
        r#"
[[service]]
name = "main"
shell = "trap 'echo TERM > {dir}/main.got; exit 0' TERM; while :; do sleep 0.05; done"

[[service]]
name = "flaky"
shell = "date +%s%N >> {dir}/runs; exit 3"
restart = "on-failure"
restart_delay = "10ms"
max_restarts = 3
"#,
    );
    // Given up after the third restart: the critical service's code ends
    // the container, though main itself exits 0 on its stop signal.
    assert_eq!(init.wait(), 3, "{}", init.stderr());
    let runs = times_ns(&init.dir.join("runs"));
    assert_eq!(runs.len(), 4, "first run + 3 restarts");
    // Each restart waited its back-off at least: 10, 20, then 40 ms.
    let gaps: Vec<u128> = runs.windows(2).map(|w| (w[1] - w[0]) / 1_000_000).collect();
    assert!(gaps.iter().zip([10, 20, 40]).all(|(&gap, delay)| gap >= delay), "ms between runs: {gaps:?}");
    assert_eq!(init.read("main.got"), "TERM\n", "the main service was stopped");
}

#[test]
fn a_non_critical_service_may_end_and_always_restarts_even_after_success() {
    let mut init = services(
        "noncrit",
        r#"
[[service]]
name = "main"
shell = "exec sleep 60"

[[service]]
name = "once"
critical = false
shell = "exit 5"

[[service]]
name = "ticker"
critical = false
shell = "echo tick >> {dir}/ticks; exit 0"
restart = "always"
restart_delay = "10ms"
max_restarts = 100
"#,
    );
    wait_until("three ticks", DEADLINE, || init.read("ticks").lines().count() >= 3);
    let once_failed =
        |t: &str| t.lines().any(|l| l.starts_with("once") && l.contains("failed") && l.ends_with(" 5"));
    wait_until("once shown as failed with 5", DEADLINE, || {
        once_failed(&String::from_utf8_lossy(&exec_in(&init, &["status"]).stdout))
    });
    let health = exec_in(&init, &["health"]);
    assert_eq!(health.status.code(), Some(0), "a failed non-critical service leaves init healthy");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}

#[test]
fn the_main_service_exit_code_is_the_containers_and_others_are_stopped() {
    let mut init = services(
        "mainexit",
        r#"
[[service]]
name = "worker"
shell = "trap 'echo TERM > {dir}/worker.got; exit 0' TERM; touch {dir}/worker.up; while :; do sleep 0.05; done"
ready = { file = "{dir}/worker.up" }

[[service]]
name = "app"
main = true
after = ["worker"]
shell = "exit 42"
"#,
    );
    assert_eq!(init.wait(), 42, "{}", init.stderr());
    assert_eq!(init.read("worker.got"), "TERM\n");
}

#[test]
fn no_supervised_exit_status_is_lost_among_thousands_of_orphans() {
    let mut init = services(
        "orphans",
        r#"
[[service]]
name = "spawner"
critical = false
shell = "for i in $(seq 2000); do sh -c 'true &'; done; touch {dir}/spawned; exec sleep 60"

[[service]]
name = "app"
main = true
shell = "while [ ! -f {dir}/spawned ]; do sleep 0.01; done; exit 7"
"#,
    );
    assert_eq!(init.wait(), 7, "{}", init.stderr());
}

/// A memory cgroup of `limit` bytes under the test's own (v2 or v1), removed on drop.
struct MemoryCgroup(std::path::PathBuf);

impl MemoryCgroup {
    fn new(tag: &str, limit: u64) -> MemoryCgroup {
        let own = fs::read_to_string("/proc/self/cgroup").expect("/proc/self/cgroup");
        let name = format!("mooring-{tag}-{}", std::process::id());
        for line in own.lines() {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) =
                (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
            let path = path.trim_start_matches('/');
            if controllers.is_empty() && std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
                let dir = std::path::Path::new("/sys/fs/cgroup").join(path).join(&name);
                fs::create_dir_all(&dir).expect("create a v2 cgroup");
                fs::write(dir.join("memory.max"), limit.to_string()).expect("memory.max");
                let _ = fs::write(dir.join("memory.swap.max"), "0");
                return MemoryCgroup(dir);
            }
            if controllers.split(',').any(|c| c == "memory") {
                let dir = std::path::Path::new("/sys/fs/cgroup/memory").join(path).join(&name);
                fs::create_dir_all(&dir).expect("create a v1 memory cgroup");
                fs::write(dir.join("memory.limit_in_bytes"), limit.to_string()).expect("limit");
                let _ = fs::write(dir.join("memory.memsw.limit_in_bytes"), limit.to_string());
                return MemoryCgroup(dir);
            }
        }
        panic!("no memory cgroup controller found in /proc/self/cgroup:\n{own}");
    }

    /// `init ARGS` started inside this cgroup; its output and stderr.
    fn run(&self, args: &str) -> (Output, String) {
        let o = std::process::Command::new("sh")
            .args(["-c", &format!("echo $$ > {}/cgroup.procs && exec {INIT} {args}", self.0.display())])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .output()
            .expect("init runs");
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        (o, err)
    }
}

impl Drop for MemoryCgroup {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.0);
    }
}

#[test]
fn a_sigkill_says_whether_the_oom_killer_did_it() {
    let cg = MemoryCgroup::new("oom", 48 << 20);
    let hog = "python3 -c 'b = bytearray(400 << 20)'";
    let (o, err) = cg.run(&format!("-- {hog}"));
    assert_eq!(o.status.code(), Some(137), "{err}");
    assert!(err.contains("ERROR killed by the kernel's OOM killer (the container's memory limit)"), "{err}");
    // A SIGKILL from someone else is not blamed on memory.
    let o = std::process::Command::new("sh")
        .args([
            "-c",
            &format!("echo $$ > {}/cgroup.procs && exec {INIT} -- sh -c 'kill -KILL $$'", cg.0.display()),
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(137), "{err}");
    assert!(err.contains("SIGKILL did not come from the OOM killer"), "{err}");
}
