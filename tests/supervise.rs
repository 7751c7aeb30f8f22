//! Service mode as PID 1 of a PID namespace: start order on readiness,
//! semaphores, restarts and give-up, critical and main exit codes, stop order
//! and signals, oneshots, watches, prefixed output under flood, status and
//! health from inside the namespace (nsenter), tasks beside a running PID 1.

mod common;

use std::fs;
use std::process::Output;
use std::time::{Duration, SystemTime};

use common::{Builder, DEADLINE, INIT, Init, Mode, wait_until};
use nix::sys::signal::Signal;

/// init as PID 1 with `toml` as its config ({dir}: the test's temp dir).
fn services(tag: &str, toml: &str) -> Init {
    Builder::new(tag, Mode::Pid1).file("init.toml", toml).args(["-c", "{dir}/init.toml"]).start()
}

/// `init ARGS` run inside init's namespaces, as `docker exec` does.
fn exec_in(init: &Init, args: &[&str]) -> Output {
    std::process::Command::new("nsenter")
        .args(["-t", &init.pid().to_string(), "-p", "-m", "--", INIT])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("INIT_RUN_DIR", init.dir.join("run"))
        .output()
        .expect("nsenter runs")
}

/// Positions of `needles` in `haystack`, asserting each is there.
fn positions(haystack: &str, needles: &[&str]) -> Vec<usize> {
    needles
        .iter()
        .map(|n| haystack.find(n).unwrap_or_else(|| panic!("{n:?} missing from:\n{haystack}")))
        .collect()
}

fn assert_in_order(haystack: &str, needles: &[&str]) {
    let pos = positions(haystack, needles);
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "not in order {needles:?}:\n{haystack}");
}

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
shell = "touch {dir}/db.listening; exec sleep 60"
ready = { file = "{dir}/db.listening" }
semaphore = "{dir}/db.ready"
heartbeat = "1s"

[[service]]
name = "web"
after = ["db", "migrate"]
shell = "test -f {dir}/migrated && test -f {dir}/db.ready && touch {dir}/web.up; exec sleep 60"
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
    let log = init.stderr();
    // web waits for both; db and migrate run side by side, in either order.
    assert_in_order(&log, &["exited service=migrate code=0", "started service=web"]);
    assert_in_order(&log, &["ready service=db", "started service=web"]);
    assert_in_order(&log, &["stop signal sent service=web", "stop signal sent service=db"]);
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
    init.wait_for_log("removed a stale semaphore service=db");
    assert!(!init.dir.join("db.ready").exists());
    wait_until("status.json", DEADLINE, || init.dir.join("run/status.json").exists());
    let status = exec_in(&init, &["status"]);
    let table = String::from_utf8_lossy(&status.stdout).to_string();
    assert!(table.lines().any(|l| l.starts_with("web") && l.contains("starting")), "{table}");
    // db becomes ready through its command probe, and only then writes its semaphore.
    fs::write(init.dir.join("go"), "").unwrap();
    init.wait_for_file("db.ready");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}

#[test]
fn a_failing_service_is_restarted_with_back_off_then_given_up_and_its_code_ends_the_container() {
    let mut init = services(
        "giveup",
        r#"
[[service]]
name = "main"
shell = "exec sleep 60"

[[service]]
name = "flaky"
shell = "echo run >> {dir}/runs; exit 3"
restart = "on-failure"
restart_delay = "10ms"
max_restarts = 3
"#,
    );
    assert_eq!(init.wait(), 3, "{}", init.stderr());
    assert_eq!(init.read("runs").lines().count(), 4, "first run + 3 restarts");
    let log = init.stderr();
    assert!(log.contains("restarted too often within 60 s: giving up service=flaky"), "{log}");
    assert!(log.contains("critical service flaky ended"), "{log}");
    assert_in_order(&log, &["delay_ms=10", "delay_ms=20", "delay_ms=40"]);
    assert!(log.contains("stop signal sent service=main"), "the main service was stopped: {log}");
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
fn stop_signals_rewrites_and_broadcast_signals_reach_the_right_services() {
    let trap = |name: &str| {
        format!(
            "for s in TERM QUIT USR1 HUP; do trap \"echo $s >> {{dir}}/{name}.got; [ $s = HUP ] || exit 0\" $s; done; touch {{dir}}/{name}.up; while :; do sleep 0.05; done"
        )
    };
    let mut init = services(
        "stopsig",
        &format!(
            r#"
[[service]]
name = "nginx"
shell = '{}'
signals = {{ SIGTERM = "SIGQUIT" }}

[[service]]
name = "worker"
shell = '{}'
stop_signal = "SIGUSR1"
signals = {{ SIGHUP = "none" }}
stop_delay = "100ms"
"#,
            trap("nginx"),
            trap("worker")
        ),
    );
    init.wait_for_file("nginx.up");
    init.wait_for_file("worker.up");
    init.signal(Signal::SIGHUP);
    init.wait_for_file("nginx.got");
    init.wait_for_log("dropped (signals table) service=worker signal=SIGHUP");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 0, "nginx (main) exits 0 on its SIGQUIT: {}", init.stderr());
    assert_eq!(init.read("nginx.got"), "HUP\nQUIT\n");
    assert_eq!(init.read("worker.got"), "USR1\n");
    assert!(init.stderr().contains("stop_delay before signalling service=worker delay_ms=100"));
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
    assert!(init.stderr().contains("exited service=app code=7"));
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
    assert!(init.stderr().contains("critical service prepare ended"), "{}", init.stderr());
}

#[test]
fn a_second_sigterm_skips_to_sigkill_and_the_budget_ends_a_stubborn_service() {
    let stubborn = r#"
[[service]]
name = "stubborn"
shell = "trap '' TERM; touch {dir}/up; while :; do sleep 0.05; done"
"#;
    let mut init = Builder::new("second", Mode::Pid1)
        .file("init.toml", stubborn)
        .args(["-c", "{dir}/init.toml", "--stop-timeout", "60s"])
        .start();
    init.wait_for_file("up");
    init.signal(Signal::SIGTERM);
    init.wait_for_log("stop signal sent service=stubborn");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 137, "{}", init.stderr());
    assert!(init.stderr().contains("second stop signal: SIGKILL now"));

    let mut init = Builder::new("budget", Mode::Pid1)
        .file("init.toml", stubborn)
        .args(["-c", "{dir}/init.toml", "--stop-timeout", "300ms"])
        .start();
    init.wait_for_file("up");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 137, "{}", init.stderr());
    assert!(init.stderr().contains("stop budget spent: SIGKILL to everything left"));
}

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
    let unhealthy = exec_in(&init, &["health"]);
    assert_eq!(unhealthy.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unhealthy.stderr).contains("unhealthy: api (starting)"));
    fs::write(init.dir.join("api.ready"), "").unwrap();
    wait_until("health 0", DEADLINE, || exec_in(&init, &["health"]).status.code() == Some(0));
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
        wait_until("the status file", DEADLINE, || init.dir.join("run/status.json").exists());
        assert_eq!(exec_in(&init, &["health"]).status.code(), Some(0), "{command:?}");
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
        assert!(String::from_utf8_lossy(&o.stderr).contains("beside a running init"));
        assert!(!init.dir.join("t.out").exists(), "templates were not rendered again");
        assert_eq!(exec_in(&init, &["-c", &config, "run", "nope"]).status.code(), Some(64));
        init.signal(Signal::SIGTERM);
        assert_eq!(init.wait(), 143);
        assert!(!init.dir.join("run/status.json").exists(), "no status file outlives init");
    }
}

#[test]
fn prefixed_output_survives_a_flood_without_newlines_and_signals_still_stop_init() {
    let mut init = services(
        "flood",
        r#"
[[service]]
name = "chatty"
output = "prefix"
shell = "echo hello; echo oops >&2; head -c 100000000 /dev/zero | tr '\\0' x"
"#,
    );
    wait_until("flood under way", DEADLINE, || {
        fs::metadata(init.dir.join("stdout")).is_ok_and(|m| m.len() > 1_000_000)
    });
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143, "{}", init.stderr());
    let out = fs::read(init.dir.join("stdout")).unwrap();
    assert!(out.len() < 100_000_000, "init stopped before the flood ended");
    let text = String::from_utf8_lossy(&out);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("chatty | hello"));
    assert!(
        lines.all(|l| l.starts_with("chatty | ") && l.len() <= 4096 + 9),
        "lines are prefixed and cut at 4 KiB"
    );
    assert!(init.stderr().contains("chatty | oops\n"), "{}", init.stderr());
}

#[test]
fn a_watched_dependency_going_away_stops_the_container_with_75() {
    // Service mode, and a command given on the command line instead of the services.
    for command in [&[][..], &["--", "sh", "-c", "touch $DIR/up; exec sleep 60"][..]] {
        let mut init = Builder::new("watch", Mode::Pid1)
            .file("dep", "")
            .file(
                "init.toml",
                r#"
[[wait]]
file = "{dir}/dep"
watch = true

[[service]]
name = "app"
shell = "touch {dir}/up; exec sleep 60"
"#,
            )
            .args(["-c", "{dir}/init.toml"])
            .args(command)
            .start();
        init.wait_for_file("up");
        fs::remove_file(init.dir.join("dep")).unwrap();
        assert_eq!(init.wait(), 75, "{}", init.stderr());
        let log = init.stderr();
        let gone =
            log.lines().find(|l| l.contains("watched dependency gone: stopping with 75")).unwrap_or_default();
        assert!(gone.contains(&format!("file:{}/dep (file absent)", init.dir.path().display())), "{log}");
    }
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
shell = "echo \"$GREETING in $PWD\" > {dir}/client.out; exec sleep 60"
"#
    .replace("PORT", &port.to_string());
    let mut init = Builder::new("probes", Mode::Pid1)
        .env("WHO", "ops")
        .file("init.toml", &toml)
        .args(["-c", "{dir}/init.toml"])
        .start();
    init.wait_for_file("client.out");
    assert_eq!(init.read("client.out"), "hello from ops in /\n");
    wait_until("client ready", DEADLINE, || init.stderr().contains("ready service=client"));
    assert_in_order(&init.stderr(), &["ready service=api", "started service=client"]);
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143, "{}", init.stderr());
}

#[test]
fn a_service_not_ready_in_time_is_killed_and_restarted_and_stop_timeout_kills_one_stubborn_service() {
    let mut init = services(
        "readytimeout",
        r#"
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
"#,
    );
    wait_until("slow given up", DEADLINE, || init.stderr().contains("giving up service=slow"));
    assert_eq!(init.read("slow.runs").lines().count(), 3, "first start + 2 restarts");
    assert!(init.stderr().contains("not ready in time: SIGKILL service=slow"), "{}", init.stderr());
    init.wait_for_file("main.up");
    // The global budget is 10 s; main's own stop_timeout ends it long before.
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 137, "{}", init.stderr());
    assert!(init.stderr().contains("stop_timeout spent: SIGKILL service=main"), "{}", init.stderr());
    assert!(!init.stderr().contains("stop budget spent"), "{}", init.stderr());
}

#[test]
fn a_check_that_hangs_never_holds_up_a_stop() {
    // A check that never answers — in the boot wait phase, and as a watch
    // after boot (it answers once, at boot, then hangs), with a single
    // command and with services: SIGTERM still ends init at once, because
    // checks run in children.
    let boot = r#"command = ["sh", "-c", "touch {dir}/checking; exec sleep 120"]"#;
    let later = r#"command = ["sh", "-c", "[ -f {dir}/booted ] || exec touch {dir}/booted; touch {dir}/checking; exec sleep 120"]"#;
    let service = "[[service]]\nname = \"app\"\nshell = \"exec sleep 120\"\n";
    let cases = [
        (format!("[[wait]]\n{boot}\ntimeout = \"0\"\n"), vec!["--", "true"]),
        (format!("[[wait]]\n{later}\nwatch = true\n"), vec!["--", "sleep", "120"]),
        (format!("[[wait]]\n{later}\nwatch = true\n\n{service}"), vec![]),
    ];
    for (toml, command) in cases {
        let mut init = Builder::new("hung", Mode::Pid1)
            .file("init.toml", &toml)
            .args(["-c", "{dir}/init.toml"])
            .args(command)
            .start();
        init.wait_for_file("checking");
        init.signal(Signal::SIGTERM);
        assert_eq!(init.wait(), 143, "{toml}\n{}", init.stderr());
    }
}
