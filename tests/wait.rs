//! Phase 6 and `init wait` through the binary: each target kind, timeouts
//! (75, naming the target and why), stale semaphores, and a stop signal
//! ending a wait at once as PID 1.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::process::Output;
use std::time::{Duration, Instant, SystemTime};

use common::{DEADLINE, Init, TempDir, init_cmd, stderr_of, takes_signals, wait_until};
use nix::sys::signal::Signal;

fn wait(args: &[&str]) -> Output {
    init_cmd().arg("wait").args(args).output().unwrap()
}

/// A port nothing listens on (bound, then closed).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn tcp_and_unix_targets_are_ready_when_something_listens() {
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = TempDir::new("waitunix");
    let sock = dir.join("app.sock");
    let _unix = UnixListener::bind(&sock).unwrap();
    let port = tcp.local_addr().unwrap().port();
    let o = wait(&[&format!("tcp:127.0.0.1:{port}"), &format!("unix:{}", sock.display())]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
}

#[test]
fn a_timeout_exits_75_naming_the_target_and_why() {
    let port = closed_port();
    let o = wait(&["--timeout", "300ms", &format!("tcp:127.0.0.1:{port}")]);
    assert_eq!(o.status.code(), Some(75));
    let last = stderr_of(&o).lines().last().unwrap_or_default().to_string();
    assert_eq!(
        last,
        format!("init: ERROR timed out waiting for tcp:127.0.0.1:{port}: Connection refused (os error 111)")
    );
    let o = wait(&["--timeout", "200ms", "unix:/nonexistent/app.sock"]);
    assert_eq!(o.status.code(), Some(75));
    assert!(
        stderr_of(&o).contains("timed out waiting for unix:/nonexistent/app.sock: No such file"),
        "{}",
        stderr_of(&o)
    );
}

/// Serves one HTTP status to every request, on a thread.
fn http_server(status: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(format!("HTTP/1.0 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes());
        }
    });
    port
}

#[test]
fn http_targets_need_a_2xx_status() {
    let ok = http_server("204 No Content");
    let o = wait(&[&format!("http://127.0.0.1:{ok}/health")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    let bad = http_server("503 Service Unavailable");
    let o = wait(&["--timeout", "300ms", &format!("http://127.0.0.1:{bad}/health")]);
    assert_eq!(o.status.code(), Some(75));
    assert!(stderr_of(&o).contains("HTTP status \"503\""), "{}", stderr_of(&o));
}

#[test]
fn a_file_is_awaited_and_a_stale_semaphore_counts_as_absent() {
    let dir = TempDir::new("waitfile");
    let flag = dir.join("ready");
    let mut child =
        init_cmd().args(["wait", "--timeout", "20s", &format!("file:{}", flag.display())]).spawn().unwrap();
    assert!(child.try_wait().unwrap().is_none(), "init waits while the file is absent");
    fs::write(&flag, "").unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    // A semaphore whose mtime is older than three heartbeats: a killed container's leftover.
    let sem = dir.join("db.ready");
    fs::write(&sem, "hostname=db\nservice=postgres\npid=42\nheartbeat=1s\n").unwrap();
    let old = SystemTime::now() - Duration::from_secs(10);
    fs::File::options().write(true).open(&sem).unwrap().set_modified(old).unwrap();
    let o = wait(&["--timeout", "300ms", &format!("file:{}", sem.display())]);
    assert_eq!(o.status.code(), Some(75));
    assert!(stderr_of(&o).contains("stale semaphore: last heartbeat 10s ago"), "{}", stderr_of(&o));
    fs::File::options().write(true).open(&sem).unwrap().set_modified(SystemTime::now()).unwrap();
    assert_eq!(wait(&["--timeout", "1s", &format!("file:{}", sem.display())]).status.code(), Some(0));
}

#[test]
fn configured_waits_run_before_the_command_and_a_timeout_stops_the_boot() {
    let dir = TempDir::new("waitboot");
    let flag = dir.join("flag");
    let conf = dir.join("init.toml");
    fs::write(
        &conf,
        format!("[[wait]]\ncommand = [\"test\", \"-e\", \"{}\"]\ntimeout = \"300ms\"\n", flag.display()),
    )
    .unwrap();
    let run = || init_cmd().arg("-c").arg(&conf).args(["--", "echo", "ran"]).output().unwrap();
    let o = run();
    assert_eq!(o.status.code(), Some(75), "{}", stderr_of(&o));
    assert!(o.stdout.is_empty(), "the command must not run");
    assert!(
        stderr_of(&o).contains(&format!("timed out waiting for command:test -e {}", flag.display())),
        "{}",
        stderr_of(&o)
    );
    fs::write(&flag, "").unwrap();
    let o = run();
    assert_eq!(
        (o.status.code(), String::from_utf8_lossy(&o.stdout).as_ref()),
        (Some(0), "ran\n"),
        "{}",
        stderr_of(&o)
    );
}

#[test]
fn a_stop_signal_ends_a_wait_at_once_as_pid1() {
    let port = closed_port();
    let mut init = Init::pid1("waitterm", ["wait", "--timeout", "0", &format!("tcp:127.0.0.1:{port}")]);
    // It takes signals as its wait begins: one sent from then on is kept for
    // it. Its first line says the wait began (signals blocked before it);
    // before that, a signal to a PID 1 that does not block it is lost.
    init.wait_for_log("waiting for");
    wait_until("init to wait", DEADLINE, || takes_signals(init.pid(), Signal::SIGTERM));
    let sent = Instant::now();
    init.signal(Signal::SIGTERM);
    // A wait without a timeout: only the signal can have ended it.
    assert_eq!(init.wait(), 143, "{}", init.stderr());
    assert!(sent.elapsed() < Duration::from_secs(10), "ended {:?} after the signal", sent.elapsed());
}

#[test]
fn ctrl_c_during_a_configured_wait_is_an_info_and_exits_130() {
    let port = closed_port();
    let mut init = common::Builder::new("waitint", common::Mode::Pid1)
        .file("init.toml", &format!("[[wait]]\ntcp = \"127.0.0.1:{port}\"\ntimeout = \"0\"\n"))
        .args(["-c", "{dir}/init.toml", "--", "echo", "ran"])
        .start();
    init.wait_for_log("waiting for");
    wait_until("init to wait", DEADLINE, || takes_signals(init.pid(), Signal::SIGINT));
    init.signal(Signal::SIGINT);
    assert_eq!(init.wait(), 130, "{}", init.stderr());
    let log = init.stderr();
    assert!(
        log.contains(&format!("INFO interrupted while waiting for tcp:127.0.0.1:{port} signal=SIGINT")),
        "{log}"
    );
    assert!(!log.contains("ERROR"), "Ctrl-C is no error: {log}");
    assert!(init.stdout().is_empty(), "the command never ran");
}

#[test]
fn a_watched_dependency_that_comes_back_in_time_keeps_the_container_up() {
    // A check that fails on its 3rd and 4th runs and on its 6th and 7th
    // (the 1st is the boot's wait, the others the watch's, a second apart):
    // twice two failures in a row, each time back before a third. Were the
    // failures not counted from zero again, the 6th would be the third.
    let check = "echo run >> {dir}/checks; case $(wc -l < {dir}/checks) in 3|4|6|7) exit 1;; esac";
    let mut init = common::Builder::new("watchback", common::Mode::Pid1)
        .file("init.toml", &format!("[[wait]]\ncommand = [\"sh\", \"-c\", \"{check}\"]\nwatch = true\n"))
        .args(["-c", "{dir}/init.toml", "--", "sleep", "60"])
        .start();
    let end = Instant::now() + DEADLINE;
    while init.read("checks").lines().count() < 9 {
        assert_eq!(init.try_code(), None, "the container stopped: {}", init.stderr());
        assert!(Instant::now() < end, "only {} checks in {DEADLINE:?}", init.read("checks").lines().count());
        std::thread::sleep(Duration::from_millis(10));
    }
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143, "the command ended by the test's SIGTERM, not 75: {}", init.stderr());
}

/// `init -c init.toml ARGS` run to its end, with its own run dir.
fn with_config(dir: &TempDir, config: &str, env: &[(&str, &str)], args: &[&str]) -> Output {
    fs::write(dir.join("init.toml"), config.replace("{dir}", &dir.path().display().to_string())).unwrap();
    let mut cmd = init_cmd();
    cmd.arg("-c").arg(dir.join("init.toml")).args(args).env("INIT_RUN_DIR", dir.join("run"));
    cmd.envs(env.iter().copied()).output().unwrap()
}

#[test]
fn a_wait_command_sees_the_env_table_and_secrets() {
    let dir = TempDir::new("waitenv");
    fs::write(dir.join("token"), "t0k\n").unwrap();
    let config = "[env]\nFOO = \"bar\"\nTOKEN = \"<<TOKEN>>\"\n\n[[wait]]\n\
                  command = [\"sh\", \"-c\", \"test \\\"$FOO-$TOKEN\\\" = bar-t0k\"]\ntimeout = \"10s\"\n";
    let token = dir.join("token").display().to_string();
    let o = with_config(&dir, config, &[("TOKEN_FILE", &token)], &["-q", "--", "echo", "booted"]);
    assert_eq!(
        (o.status.code(), String::from_utf8_lossy(&o.stdout).as_ref()),
        (Some(0), "booted\n"),
        "{}",
        stderr_of(&o)
    );
    let o = with_config(&dir, config, &[("TOKEN_FILE", &token)], &["wait"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
}

#[test]
fn a_ready_probe_command_sees_the_env_table() {
    let dir = TempDir::new("probeenv");
    let config = r#"
[env]
FOO = "bar"

[[service]]
name = "db"
shell = "exec sleep 60"
ready = { command = ["sh", "-c", "test \"$FOO\" = bar"], timeout = "10s" }

[[service]]
name = "web"
main = true
after = ["db"]
shell = "echo web started after db was ready"
"#;
    let o = with_config(&dir, config, &[], &[]);
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "web started after db was ready\n", "{err}");
}

#[test]
fn a_wait_whose_target_renders_empty_is_skipped_with_one_info_line() {
    let dir = TempDir::new("waitskip");
    let config =
        "[[wait]]\nfile = \"<<DB_SEMAPHORE:->>\"\ntimeout = \"300ms\"\n\n[[wait]]\ntcp = \"<<DB_ADDR:->>\"\n";
    let o = with_config(&dir, config, &[], &["--", "echo", "booted"]);
    let err = stderr_of(&o);
    assert_eq!(
        (o.status.code(), String::from_utf8_lossy(&o.stdout).as_ref()),
        (Some(0), "booted\n"),
        "{err}"
    );
    let conf = dir.join("init.toml").display().to_string();
    let skipped: Vec<&str> = err.lines().filter(|l| l.contains("skipped")).collect();
    assert_eq!(
        skipped,
        [
            format!("init: INFO {conf}:2: [[wait]] skipped: file = \"<<DB_SEMAPHORE:->>\" renders empty"),
            format!("init: INFO {conf}:6: [[wait]] skipped: tcp = \"<<DB_ADDR:->>\" renders empty"),
        ]
    );
    // Set, the same wait is back on.
    let o =
        with_config(&dir, config, &[("DB_SEMAPHORE", "/nonexistent/db.ready")], &["--", "echo", "booted"]);
    assert_eq!(o.status.code(), Some(75), "{}", stderr_of(&o));
}

#[test]
fn init_wait_adds_targets_from_the_environment_with_its_own_timeout() {
    let dir = TempDir::new("initwait");
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = tcp.local_addr().unwrap().port();
    fs::write(dir.join("sem"), "").unwrap();
    let targets = format!("tcp:127.0.0.1:{port}  file:{}", dir.join("sem").display());
    let o = with_config(&dir, "", &[("INIT_WAIT", &targets)], &["--", "echo", "booted"]);
    let err = stderr_of(&o);
    assert_eq!(
        (o.status.code(), String::from_utf8_lossy(&o.stdout).as_ref()),
        (Some(0), "booted\n"),
        "{err}"
    );
    // They are awaited: with a file that never comes among them, the
    // command never runs.
    let absent = format!("{targets} file:{}", dir.join("absent").display());
    let env = [("INIT_WAIT", absent.as_str()), ("INIT_WAIT_TIMEOUT", "300ms")];
    let o = with_config(&dir, "", &env, &["--", "echo", "booted"]);
    assert_eq!((o.status.code(), String::from_utf8_lossy(&o.stdout).as_ref()), (Some(75), ""));
    let closed = format!("tcp:127.0.0.1:{}", closed_port());
    let env = [("INIT_WAIT", closed.as_str()), ("INIT_WAIT_TIMEOUT", "300ms")];
    let o = with_config(&dir, "", &env, &["--", "echo", "booted"]);
    assert_eq!(o.status.code(), Some(75), "{}", stderr_of(&o));
    assert!(stderr_of(&o).contains(&format!("timed out waiting for {closed}")), "{}", stderr_of(&o));
}

#[test]
fn a_bad_init_wait_stops_the_boot_with_78_naming_it() {
    let dir = TempDir::new("badwait");
    let o = with_config(&dir, "", &[("INIT_WAIT", "db:5432")], &["--", "echo", "booted"]);
    assert_eq!(o.status.code(), Some(78));
    let err = stderr_of(&o);
    assert!(err.starts_with("init: ERROR INIT_WAIT: invalid target \"db:5432\""), "{err}");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "");
    let o = with_config(&dir, "", &[("INIT_WAIT_TIMEOUT", "soon")], &["check"]);
    assert_eq!(o.status.code(), Some(78));
    assert!(stderr_of(&o).contains("INIT_WAIT_TIMEOUT: "), "{}", stderr_of(&o));
}
