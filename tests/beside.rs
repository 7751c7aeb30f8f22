//! `init run` and `init shell` beside a live init that is not pid 1 (as under
//! `docker run --init` or `shareProcessNamespace`), a mistyped task name
//! reported before any phase, and the status file a child can read the
//! moment it starts (single command and service mode, as PID 1).

mod common;

use std::fs;
use std::io::Write;
use std::process::{Output, Stdio};
use std::time::Duration;

use common::{Builder, DEADLINE, INIT, Init, Mode, TempDir, init_cmd, stderr_of, stdout_of, wait_until};
use nix::sys::signal::Signal;

const CONFIG: &str = r#"
[[template]]
src = "{dir}/t.tmpl"
dest = "{dir}/t.out"

[[wait]]
file = "{dir}/gate"
timeout = "10m"

[[task]]
name = "hello"
shell = "echo hello from the task"
"#;

/// `init ARGS` run next to `init`, as `docker exec` does, with `stdin` typed in.
fn exec_beside(init: &Init, args: &[&str], stdin: &str) -> Output {
    let config = init.dir.s("init.toml");
    let mut child = init_cmd()
        .args(["-c", &config])
        .args(args)
        .env("INIT_RUN_DIR", init.dir.join("run"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn init");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("type in");
    child.wait_with_output().expect("init ends")
}

#[test]
fn run_and_shell_beside_a_live_init_that_is_not_pid1_skip_templates_and_waits() {
    let mut init = Builder::new("beside-direct", Mode::Direct)
        .file("t.tmpl", "x\n")
        .file("init.toml", CONFIG)
        .args(["-c", "{dir}/init.toml", "--", "sleep", "60"])
        .start();
    fs::write(init.dir.join("gate"), "").unwrap();
    wait_until("the status file", DEADLINE, || init.dir.join("run/status.json").exists());
    wait_until("the child's pid in it", DEADLINE, || init.read("run/status.json").contains("\"ready\":true"));
    // The dependency goes down and the rendered file goes away: neither may matter beside it.
    fs::remove_file(init.dir.join("gate")).unwrap();
    fs::remove_file(init.dir.join("t.out")).unwrap();
    let status_before = init.read("run/status.json");
    let o = exec_beside(&init, &["run", "hello"], "");
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    assert_eq!(stdout_of(&o), "hello from the task\n");
    let o = exec_beside(&init, &["shell"], "echo from the shell\n");
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    assert_eq!(stdout_of(&o), "from the shell\n");
    assert!(!init.dir.join("t.out").exists(), "templates were not rendered again");
    assert_eq!(init.read("run/status.json"), status_before, "its status is left alone");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}

#[test]
fn an_unknown_task_is_reported_before_templates_and_waits() {
    let dir = TempDir::new("nope");
    fs::write(dir.join("t.tmpl"), "x\n").unwrap();
    // A closed port and a long timeout: any wait before the lookup would show.
    let config = CONFIG.replace("file = \"{dir}/gate\"", "tcp = \"127.0.0.1:1\"");
    fs::write(dir.join("init.toml"), config.replace("{dir}", &dir.path().display().to_string())).unwrap();
    let started = std::time::Instant::now();
    let o = init_cmd()
        .args(["-c", &dir.s("init.toml"), "run", "nope"])
        .env("INIT_RUN_DIR", dir.join("run"))
        .output()
        .expect("init runs");
    assert_eq!(o.status.code(), Some(64), "{}", stderr_of(&o));
    assert!(stderr_of(&o).contains("nope"), "{}", stderr_of(&o));
    assert!(!stderr_of(&o).contains("waiting"), "{}", stderr_of(&o));
    assert!(started.elapsed() < Duration::from_secs(5), "reported only after {:?}", started.elapsed());
    assert!(!dir.join("t.out").exists(), "nothing rendered");
}

#[test]
fn a_single_command_reads_the_live_status_the_moment_it_starts() {
    let mut init = Init::pid1("status-first", ["--", INIT, "status", "--json"]);
    assert_eq!(init.wait(), 0, "{}", init.stderr());
    assert!(init.stdout().starts_with("{\"pid\":1,"), "{}", init.stdout());
    // Written once the child existed: it already names the child's pid.
    assert!(init.stdout().contains("\"state\":\"ready\",\"pid\":2,"), "{}", init.stdout());
}

#[test]
fn a_service_reads_the_live_status_the_moment_it_starts() {
    let toml = format!("[[service]]\nname = \"app\"\ncommand = [\"{INIT}\", \"status\", \"--json\"]\n");
    let mut init = Builder::new("status-first-svc", Mode::Pid1)
        .file("init.toml", &toml)
        .args(["-c", "{dir}/init.toml"])
        .start();
    assert_eq!(init.wait(), 0, "{}", init.stderr());
    assert!(init.stdout().starts_with("{\"pid\":1,"), "{}", init.stdout());
    assert!(init.stdout().contains("\"name\":\"app\""), "{}", init.stdout());
}
