//! Readiness a service announces itself, as PID 1 (docs/reference.md,
//! "Services"): a line on its descriptor N (s6), `READY=1` on
//! `NOTIFY_SOCKET` (systemd) with `STATUS=` shown by `init status`, a line
//! of its output that matches a pattern (its output passed on unchanged or
//! prefixed, a flood never holding init up), and an announcement that
//! never comes: killed at the timeout, restarted.

mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::services::{exec_in, field_of, services, state_of};
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
    assert_eq!(field_of(&init, "silent", "last_exit"), "137", "SIGKILLed at its timeout");
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
    // Then one from the service's own uid (root here): the socket's queue
    // keeps their order, so once init shows this one it has judged the other.
    let sent = std::process::Command::new("python3")
        .arg(init.dir.join("notify.py"))
        .arg("STATUS=after the stranger")
        .env("NOTIFY_SOCKET", &socket)
        .output()
        .unwrap();
    assert!(sent.status.success(), "{}", stderr_of(&sent));
    wait_until("root's STATUS", DEADLINE, || field_of(&init, "api", "status") == "\"after the stranger\"");
    assert_eq!(state_of(&init, "api"), "starting", "the stranger's READY=1 was ignored");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}

/// A database-like service for the log tests: two lines on stdout and one
/// on stderr, then, once the test says `go`, its ready line and more.
const LOG_DB: &str = r#"
[[service]]
name = "db"
shell = "printf 'starting\\n\\tup\\n'; echo 'warn: slow disk' >&2; while [ ! -f {dir}/go ]; do sleep 0.02; done; touch {dir}/db.prepared; printf 'LOG:  database system is ready to accept connections\\nafter ready\\n'; OUTPUT_TAIL exec sleep 60"
ready = { log = 'ready to accept connections$', timeout = "30s" }
OUTPUT

[[service]]
name = "web"
after = ["db"]
shell = "test -f {dir}/db.prepared && touch {dir}/web.up; exec sleep 60"
"#;

/// Runs LOG_DB (`output` and a `tail` command after its ready line) until
/// web is up and init's stdout ends with `last`, then stops it; init's
/// stdout and stderr.
fn log_db(tag: &str, (output, tail): (&str, &str), last: &str) -> (String, String) {
    let mut init = services(tag, &LOG_DB.replace("OUTPUT_TAIL", tail).replace("OUTPUT", output));
    wait_until("db starting", DEADLINE, || state_of(&init, "db") == "starting");
    wait_until("its first lines", DEADLINE, || init.stdout().contains("up\n"));
    wait_until("its stderr", DEADLINE, || init.stderr().contains("warn: slow disk\n"));
    assert_eq!(state_of(&init, "web"), "waiting", "web waits for db's ready line");
    fs::write(init.dir.join("go"), "").unwrap();
    init.wait_for_file("web.up");
    assert_eq!(state_of(&init, "db"), "ready");
    wait_until("all of its output", DEADLINE, || init.stdout().ends_with(last));
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
    (init.stdout(), init.stderr())
}

#[test]
fn a_log_line_makes_a_service_ready_and_its_output_passes_unchanged() {
    let (out, err) = log_db("ready-log", ("", "printf 'no newline at the end';"), "end");
    assert_eq!(
        out,
        "starting\n\tup\nLOG:  database system is ready to accept connections\nafter ready\nno newline at the end"
    );
    assert!(err.lines().any(|l| l == "warn: slow disk"), "{err}");
}

#[test]
fn a_log_line_makes_a_prefixed_service_ready() {
    let (out, err) = log_db("ready-log-prefix", ("output = \"prefix\"", ""), "after ready\n");
    assert_eq!(
        out,
        "db | starting\ndb | \tup\ndb | LOG:  database system is ready to accept connections\ndb | after ready\n"
    );
    assert!(err.lines().any(|l| l == "db | warn: slow disk"), "{err}");
}

#[test]
fn a_log_line_that_never_comes_is_killed_at_its_timeout_and_a_restart_matches_again() {
    let mut init = services(
        "ready-log-never",
        r#"
[[service]]
name = "main"
shell = "exec sleep 60"

[[service]]
name = "quiet"
critical = false
shell = "echo run >> {dir}/runs; echo 'ready, but not on a line of its own'; exec sleep 60"
ready = { log = "^ready$", timeout = "200ms" }
restart = "on-failure"
restart_delay = "10ms"
max_restarts = 1

[[service]]
name = "late"
shell = "echo run >> {dir}/late; if [ $(wc -l < {dir}/late) -ge 2 ]; then echo ready; fi; exec sleep 60"
ready = { log = "^ready$", timeout = "200ms" }
restart = "on-failure"
restart_delay = "10ms"

[[service]]
name = "after-late"
after = ["late"]
shell = "touch {dir}/after-late.up; exec sleep 60"
"#,
    );
    wait_until("quiet given up", DEADLINE, || state_of(&init, "quiet") == "failed");
    assert_eq!(init.read("runs"), "run\nrun\n", "started, killed at the timeout, restarted once");
    init.wait_for_file("after-late.up");
    assert_eq!(init.read("late"), "run\nrun\n", "ready on its second run");
    assert_eq!(state_of(&init, "late"), "ready");
    let both_runs = || init.stdout().matches("ready, but not on a line of its own\n").count() == 2;
    wait_until("quiet's line of each run", DEADLINE, both_runs);
    assert_eq!(field_of(&init, "quiet", "last_exit"), "137", "SIGKILLed at its timeout");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}

#[test]
fn an_endless_line_while_matching_never_holds_up_requests_or_the_stop() {
    let mut init = services(
        "ready-log-flood",
        r#"
[[service]]
name = "flood"
shell = "head -c 300000000 /dev/zero | tr '\\0' x"
ready = { log = "ready", timeout = "5m" }
"#,
    );
    wait_until("flood under way", DEADLINE, || {
        fs::metadata(init.dir.join("stdout")).is_ok_and(|m| m.len() > 1_000_000)
    });
    let asked = Instant::now();
    let sent = exec_in(&init, &["signal", "flood", "SIGCONT"]);
    assert!(stdout_of(&sent).starts_with("sent SIGCONT to flood"), "{}", stderr_of(&sent));
    assert!(asked.elapsed() < Duration::from_secs(5), "answered in {:?}", asked.elapsed());
    let stopped = Instant::now();
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143, "{}", init.stderr());
    assert!(stopped.elapsed() < Duration::from_secs(5), "stopped in {:?}", stopped.elapsed());
    let out = fs::read(init.dir.join("stdout")).unwrap();
    assert!(out.len() < 300_000_000, "init stopped before the flood ended");
    assert!(out.iter().all(|&b| b == b'x'), "passed on unchanged: no newline added");
}

/// An HTTP server that writes its answer in pieces (the status line split
/// in two, then the headers, then a 16 KiB body), a moment apart, and
/// appends every error a write or close met to `errors`.
const PIECES_PY: &str = r#"import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
while True:
    c, _ = s.accept()
    try:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        req = b""
        while b"\r\n\r\n" not in req:
            got = c.recv(1024)
            if not got:
                break
            req += got
        for piece in [b"HTT", b"P/1.0 200 OK\r\n", b"Content-Type: text/plain\r\n\r\n", b"x" * 16384]:
            c.sendall(piece)
            time.sleep(0.05)
        c.close()
    except OSError as e:
        open(sys.argv[2], "a").write(repr(e) + "\n")
"#;

/// Two distinct ports free when asked (bound together, then closed):
/// unique to the test.
fn free_ports() -> (u16, u16) {
    let bind = || std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (a, b) = (bind(), bind());
    (a.local_addr().unwrap().port(), b.local_addr().unwrap().port())
}

#[test]
fn an_http_probe_reads_the_whole_answer_and_never_resets_the_connection() {
    let (plain, pieces) = free_ports();
    let mut init = common::Builder::new("ready-http", common::Mode::Pid1)
        .file("pieces.py", PIECES_PY)
        .file(
            "init.toml",
            &format!(
                r#"
[[service]]
name = "python"
shell = "exec python3 -m http.server {plain} --bind 127.0.0.1 --directory {{dir}}"
ready = {{ http = "http://127.0.0.1:{plain}/", timeout = "20s" }}

[[service]]
name = "pieces"
shell = "exec python3 {{dir}}/pieces.py {pieces} {{dir}}/errors"
ready = {{ http = "http://127.0.0.1:{pieces}/health", timeout = "20s" }}
"#
            ),
        )
        .args(["-c", "{dir}/init.toml"])
        .start();
    let both = || ["python", "pieces"].iter().all(|name| state_of(&init, name) == "ready");
    let end = Instant::now() + DEADLINE;
    while !both() {
        assert!(Instant::now() < end, "not both ready in time:\n{}", init.stderr());
        std::thread::sleep(Duration::from_millis(10));
    }
    wait_until("python logged the probe", DEADLINE, || init.stderr().contains("\"GET / HTTP/1.0\" 200"));
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
    let err = init.stderr();
    assert!(!err.contains("Connection reset") && !err.contains("Traceback"), "{err}");
    assert_eq!(init.read("errors"), "", "the piecewise server met no reset");
}
