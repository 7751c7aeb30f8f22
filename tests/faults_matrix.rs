//! The fault matrix (docs/faults.md): every class of system call PID 1
//! depends on, made to fail by strace's `-e inject` at the first call, at
//! a later one, and from some call on for good, under a real PID 1. Each
//! case is judged the same way: no crash (the exit code docs/reference.md,
//! "Exit codes", gives), no hang past the stop budget, no temporary left, the status or
//! the effect back within seconds where the failure passes, one clear line
//! in the log, and no busy loop (a bounded count of failed calls). The
//! cases of a class run in parallel threads.

mod common;

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use common::services::exec_in;
use common::{Builder, INIT, Init, Mode};
use nix::sys::signal::Signal;

/// How init ends: stopped by the test's SIGTERM, or by itself.
#[derive(Clone, Copy)]
enum End {
    /// Stopped by SIGTERM, ending with this code.
    Term(i32),
    Own(i32),
    /// Both ways of taking signals fail for good: SIGTERM cannot be taken,
    /// the test ends init with SIGKILL after checking it does not spin.
    Unstoppable,
}

struct Case {
    /// strace's arguments: filters (`-P`) and `-e trace=… -e inject=…`.
    strace: Vec<String>,
    toml: &'static str,
    /// What the case does while init runs (a request, a signal, a file change).
    poke: fn(&Init) -> Result<(), String>,
    /// The clear line of the log, and whether it must appear exactly once.
    line: &'static str,
    once: bool,
    /// The most failed calls the whole run may show: more is a busy loop.
    max_injected: usize,
    end: End,
}

fn case(inject: &str, filters: &[&str], toml: &'static str, line: &'static str) -> Case {
    let call = inject.split(':').next().unwrap_or_default();
    let mut strace: Vec<String> = filters.iter().map(|f| f.to_string()).collect();
    strace.extend(["-e".into(), format!("trace={call}"), "-e".into(), format!("inject={inject}")]);
    Case { strace, toml, poke: |_| Ok(()), line, once: true, max_injected: 40, end: End::Term(143) }
}

/// Runs one case; `Err` says which verdict failed.
fn run(name: &str, c: &Case) -> Result<(), String> {
    // A /dev/shm of its own: a status file that cannot be written at
    // first moves to /dev/shm/init, where other tests' clients must not find it.
    let shm = "mount -t tmpfs tmpfs /dev/shm && exec \"$@\"";
    let mut wrap = vec!["unshare", "--mount", "--propagation", "private", "sh", "-c", shm, "sh"];
    wrap.extend(["strace", "-f", "-qq", "-y", "-o", "{dir}/strace.log"]);
    wrap.extend(c.strace.iter().map(String::as_str));
    let mut init = Builder::new(name, Mode::Pid1)
        .wrap(&wrap)
        .file("init.toml", c.toml)
        .file("app.tmpl", "name = app\n")
        .before(|d| fs::create_dir(d.join("out")).unwrap())
        .args(if c.toml.is_empty() { vec!["--", "sleep", "60"] } else { vec!["-c", "{dir}/init.toml"] })
        .start();
    let res = judge(&mut init, c);
    res.map_err(|why| format!("{name}: {why}\n--- init's log:\n{}", init.stderr()))
}

fn judge(init: &mut Init, c: &Case) -> Result<(), String> {
    if let End::Own(code) = c.end {
        let got = wait_exit(init, Duration::from_secs(20)).ok_or("init did not exit by itself")?;
        check_log(init, c)?;
        check_leftovers(init)?;
        return if got == code { Ok(()) } else { Err(format!("exit code {got}, not {code}")) };
    }
    within("init status true", Duration::from_secs(10), || exec_in(init, &["status"]).status.success())?;
    (c.poke)(init)?;
    within("the log line", Duration::from_secs(10), || init.stderr().contains(c.line))?;
    let failed = injected(init);
    if failed > c.max_injected {
        return Err(format!("{failed} failed calls: a busy loop"));
    }
    check_log(init, c)?;
    init.signal(Signal::SIGTERM);
    let stopped = Instant::now();
    let code = match c.end {
        End::Unstoppable => {
            std::thread::sleep(Duration::from_secs(1)); // judged: it spins or not
            let more = injected(init);
            init.signal(Signal::SIGKILL);
            if more > failed + 10 {
                return Err(format!("{failed} then {more} failed calls: a busy loop"));
            }
            wait_exit(init, Duration::from_secs(10)).ok_or("not even SIGKILL ended it")?;
            return Ok(());
        }
        _ => wait_exit(init, Duration::from_secs(10)).ok_or("no exit within the stop budget")?,
    };
    if stopped.elapsed() > Duration::from_secs(8) {
        return Err(format!("the stop took {:?}", stopped.elapsed()));
    }
    check_leftovers(init)?;
    match c.end {
        End::Term(want) if want != code => Err(format!("exit code {code}, not {want}")),
        _ => Ok(()),
    }
}

fn check_log(init: &Init, c: &Case) -> Result<(), String> {
    let err = init.stderr();
    let n = err.matches(c.line).count();
    match (n, c.once) {
        (0, _) => Err(format!("no line {:?}", c.line)),
        (n, true) if n > 1 => Err(format!("{n} lines {:?}, not one", c.line)),
        _ if err.contains("panicked") => Err("a panic".into()),
        _ => Ok(()),
    }
}

/// No temporary of a status file or a rendered file is left behind.
fn check_leftovers(init: &Init) -> Result<(), String> {
    for dir in ["run", "out"] {
        let names = fs::read_dir(init.dir.join(dir)).into_iter().flatten().flatten();
        let temps: Vec<_> =
            names.map(|e| e.file_name()).filter(|n| n.to_string_lossy().ends_with(".tmp")).collect();
        if !temps.is_empty() {
            return Err(format!("temporaries left in {dir}: {temps:?}"));
        }
    }
    Ok(())
}

/// How many calls of init's strace made fail (its services' calls are not injected into: strace counts per process, and they make few of the calls in question).
fn injected(init: &Init) -> usize {
    let me = format!("{} ", init.pid());
    init.read("strace.log").lines().filter(|l| l.starts_with(&me) && l.ends_with("(INJECTED)")).count()
}

fn within(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) -> Result<(), String> {
    let end = Instant::now() + limit;
    while !cond() {
        if Instant::now() > end {
            return Err(format!("no {what} within {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// The wrapper's exit (strace passes on init's code), waiting at most `limit`.
fn wait_exit(init: &mut Init, limit: Duration) -> Option<i32> {
    let mut code = None;
    let _ = within("the exit", limit, || {
        code = init.try_code();
        code.is_some()
    });
    code
}

/// Runs `cases` in parallel threads and fails with every verdict that failed.
fn matrix(class: &str, cases: Vec<(&str, Case)>) {
    let failed: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .iter()
            .map(|(name, c)| (name, s.spawn(move || run(&format!("fm-{class}-{name}"), c))))
            .collect();
        let results =
            handles.into_iter().map(|(name, h)| (name, h.join().unwrap_or(Err("the case panicked".into()))));
        // One row a case, for docs/faults.md (`cargo test --test faults_matrix -- --nocapture`).
        results
            .filter_map(|(name, r)| {
                println!("| {class} | {name} | {} |", if r.is_ok() { "pass" } else { "FAIL" });
                r.err()
            })
            .collect()
    });
    assert!(failed.is_empty(), "{class}:\n{}", failed.join("\n\n"));
}

const SLEEPER: &str = r#"
[[service]]
name = "api"
command = ["sleep", "60"]
"#;

/// `init ARGS` inside init's namespaces, given up after `secs`.
fn exec_for(init: &Init, secs: &str, args: &[&str]) -> std::process::Output {
    Command::new("timeout")
        .args([secs, "nsenter", "-t", &init.pid().to_string(), "-p", "-m", "--", INIT])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("INIT_RUN_DIR", init.dir.join("run"))
        .output()
        .expect("timeout runs")
}

/// Sends `sig` and waits for the `n`th `forwarded` line.
fn forward(init: &Init, sig: Signal, n: usize) -> Result<(), String> {
    init.signal(sig);
    within(&format!("{n} forwarded signals"), Duration::from_secs(10), || {
        init.stderr().matches("forwarded").count() >= n
    })
}

fn two_winches(init: &Init) -> Result<(), String> {
    forward(init, Signal::SIGWINCH, 1)?;
    forward(init, Signal::SIGWINCH, 2)
}

#[test]
fn signals_are_taken_when_the_signalfd_cannot_be_read() {
    let fd = ["-P", "anon_inode:[signalfd]"];
    let line = "taking signals failed";
    let at = |when: &str, errno: &str| {
        let mut c = case(&format!("read:error={errno}:when={when}"), &fd, SLEEPER, line);
        c.poke = two_winches;
        c
    };
    // Single-command mode takes signals with sigtimedwait; the signalfd stands in.
    let single = |when: &str| {
        let mut c = case(&format!("rt_sigtimedwait:error=EIO:when={when}"), &[], "", line);
        c.poke = two_winches;
        c
    };
    let mut neither = case("rt_sigtimedwait:error=EIO:when=1+", &[], "", line);
    neither.strace =
        ["-e", "trace=rt_sigtimedwait,poll", "-e", "inject=rt_sigtimedwait,poll:error=EIO:when=1+"]
            .map(String::from)
            .to_vec();
    neither.poke = |init| {
        init.signal(Signal::SIGWINCH);
        within("a failed wait", Duration::from_secs(10), || injected(init) >= 2)
    };
    neither.end = End::Unstoppable;
    matrix(
        "signals",
        vec![
            ("first-EIO", at("1", "EIO")),
            ("middle-EIO", at("2", "EIO")),
            ("always-EIO", at("1+", "EIO")),
            ("always-EINTR", at("1+", "EINTR")),
            ("single-first", single("1")),
            ("single-middle", single("3")),
            ("single-always", single("1+")),
            ("single-neither-way", neither),
        ],
    );
}

#[test]
fn a_failing_poll_backs_off_and_signals_still_come() {
    let line = "waiting for events (poll) failed";
    let at = |when: &str, errno: &str| {
        let mut c = case(&format!("poll:error={errno}:when={when}"), &[], SLEEPER, line);
        c.poke = two_winches;
        c
    };
    matrix(
        "poll",
        vec![
            ("first-ENOMEM", at("1", "ENOMEM")),
            ("middle-EINTR", at("3", "EINTR")),
            ("always-ENOMEM", at("1+", "ENOMEM")),
            ("always-EINTR", at("1+", "EINTR")),
        ],
    );
}

#[test]
fn a_status_write_that_fails_is_retried_once_said() {
    let run = ["-P", "{dir}/run"];
    let at = |inject: &str, filters: &[&str], line: &'static str| {
        let mut c = case(inject, filters, SLEEPER, line);
        c.poke = two_winches; // each signal forwarded changes nothing; the stop rewrites the file
        c
    };
    // The first write that fails moves the file to the next place (docs/reference.md, "Status").
    let (moved, retried) = ("status file moved", "status file not written; retrying");
    matrix(
        "status",
        vec![
            ("openat-first-EIO", at("openat:error=EIO:when=1", &run, moved)),
            ("openat-middle-ENOSPC", at("openat:error=ENOSPC:when=3", &run, retried)),
            ("openat-always-EMFILE", at("openat:error=EMFILE:when=2+", &run, retried)),
            ("renameat-first-EIO", at("renameat,renameat2:error=EIO:when=1", &[], moved)),
            ("renameat-always-EIO", at("renameat,renameat2:error=EIO:when=2+", &[], retried)),
            ("fchmod-first-EPERM", at("fchmod:error=EPERM:when=1", &[], moved)),
            ("fchmod-always-EIO", at("fchmod:error=EIO:when=2+", &[], retried)),
        ],
    );
}

const RESTARTING: &str = r#"
[[service]]
name = "worker"
restart = "always"
restart_delay = "10ms"
shell = "echo run >> {dir}/runs; [ $(wc -l < {dir}/runs) -ge 3 ] && exec sleep 60; exit 1"
"#;

#[test]
fn a_fork_that_fails_is_a_failed_run() {
    let line = "cannot start service=worker";
    let at = |when: &str| {
        let mut c = case(&format!("clone,clone3,fork,vfork:error=EAGAIN:when={when}"), &[], RESTARTING, line);
        c.poke =
            |init| within("three runs", Duration::from_secs(10), || init.read("runs").lines().count() >= 3);
        c
    };
    // Not at init's first fork: strace counts per process, and its
    // `when=1` makes the fork of the `unshare` that starts PID 1 fail too.
    let mut always = case("clone,clone3,fork,vfork:error=EAGAIN:when=2+", &[], RESTARTING, line);
    always.once = false; // one line a try, as the restart policy's back-off spaces them
    always.end = End::Term(71); // the main service's last run: a fork that failed (docs/reference.md, "Exit codes")
    matrix("fork", vec![("restart-EAGAIN", at("2")), ("middle-EAGAIN", at("3")), ("always-EAGAIN", always)]);
}

/// `init stop api`, answered with success within 20 s.
fn stop(init: &Init) -> Result<(), String> {
    let out = exec_for(init, "20", &["stop", "api"]);
    if out.status.success() { Ok(()) } else { Err(format!("stop: {}", common::stderr_of(&out))) }
}

#[test]
fn a_status_file_appears_only_once_its_control_socket_listens() {
    // The listen of the control socket made slow: a client that finds the
    // status file (judge() pokes as soon as `init status` answers) must
    // find the socket listening, not refusing or missing.
    let mut slow = case("listen:delay_enter=400000", &[], SLEEPER, "operator request");
    slow.poke = stop;
    matrix("listen", vec![("delayed", slow)]);
}

#[test]
fn a_control_socket_that_cannot_accept_pauses_and_answers_later() {
    let line = "control socket: accepting a request failed";
    let mut first = case("accept4,accept:error=EMFILE:when=1", &[], SLEEPER, line);
    first.poke = stop;
    let mut middle = case("accept4,accept:error=EMFILE:when=2", &[], SLEEPER, line);
    middle.poke = |init| {
        let ok = |args: &[&str]| exec_for(init, "20", args).status.success();
        if ok(&["stop", "api"]) && ok(&["start", "api"]) {
            Ok(())
        } else {
            Err("a request went unanswered".into())
        }
    };
    let mut always = case("accept4,accept:error=EMFILE:when=1+", &[], SLEEPER, line);
    always.poke = |init| match exec_for(init, "3", &["stop", "api"]).status.code() {
        Some(124) => Ok(()),
        other => Err(format!("a request answered while accept fails: {other:?}")),
    };
    matrix("accept", vec![("first-EMFILE", first), ("middle-EMFILE", middle), ("always-EMFILE", always)]);
}

const NOTIFYING: &str = r#"
[[service]]
name = "api"
stop_timeout = "1s"
shell = "python3 -c \"import os, socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); [s.sendto(m, os.environ['NOTIFY_SOCKET']) for m in (b'READY=1', b'STATUS=up')]\"; exec sleep 60"
ready = { notify = true, timeout = "2s" }
restart = "never"
"#;

#[test]
fn a_notify_socket_that_cannot_be_read_backs_off() {
    let line = "notify socket: receiving failed";
    let at = |when: &str| {
        let mut c = case(&format!("recvmsg:error=EIO:when={when}"), &[], NOTIFYING, line);
        c.poke = |init| {
            within("init ready", Duration::from_secs(10), || exec_in(init, &["ready"]).status.success())
        };
        c
    };
    let mut always =
        case("recvmsg:error=EIO:when=1+", &[], NOTIFYING, "its notify socket could not be read: EIO");
    always.end = End::Own(137);
    matrix("notify", vec![("first-EIO", at("1")), ("middle-EIO", at("2")), ("always-EIO", always)]);
}

const TEMPLATES: &str = r#"
[[template]]
src = "{dir}/app.tmpl"
dest = "{dir}/out/app.conf"

[[template]]
src = "{dir}/app.tmpl"
dest = "{dir}/out/second.conf"

[[service]]
name = "app"
command = ["true"]
"#;

#[test]
fn a_template_that_cannot_be_written_is_71_and_nothing_half_written() {
    let at = |inject: &str, filters: &[&str], line: &'static str| {
        let mut c = case(inject, filters, TEMPLATES, line);
        c.end = End::Own(71);
        c
    };
    let out = ["-P", "{dir}/out"];
    matrix(
        "template",
        vec![
            (
                "write-first-ENOSPC",
                at("write,pwrite64,writev:error=ENOSPC:when=1", &[], "No space left on device"),
            ),
            ("renameat-middle-EIO", at("renameat,renameat2:error=EIO:when=2", &out, "Input/output error")),
            ("openat-always-ENOSPC", at("openat:error=ENOSPC:when=1+", &out, "No space left on device")),
        ],
    );
}

const RELOADING: &str = r#"
[[template]]
src = "{dir}/app.tmpl"
dest = "{dir}/out/app.conf"
notify = ["api"]

[[service]]
name = "api"
command = ["sleep", "60"]
reload_signal = "SIGWINCH"
"#;

/// Changes the template's source `n` times, each seen and re-rendered.
fn changes(init: &Init, n: usize) -> Result<(), String> {
    for k in 1..=n {
        fs::write(init.dir.join("app.tmpl"), format!("name = app{k}\n")).unwrap();
        let want = format!("name = app{k}\n");
        within(&format!("change {k} rendered"), Duration::from_secs(10), || {
            init.read("out/app.conf") == want
        })?;
    }
    Ok(())
}

#[test]
fn live_reload_degrades_when_inotify_fails() {
    let fd = ["-P", "anon_inode:inotify"];
    let line = "reading inotify (live reload) failed";
    let at = |when: &str| {
        let mut c = case(&format!("read:error=EIO:when={when}"), &fd, RELOADING, line);
        c.poke = |init| changes(init, 2);
        c
    };
    let mut add =
        case("inotify_add_watch:error=ENOSPC:when=1", &[], RELOADING, "cannot watch (inotify_add_watch)");
    add.poke = |init| changes(init, 1);
    matrix(
        "inotify",
        vec![
            ("read-first-EIO", at("1")),
            ("read-middle-EIO", at("2")),
            ("read-always-EIO", at("1+")),
            ("add-first-ENOSPC", add),
        ],
    );
}

const TICKING: &str = r#"
[[service]]
name = "api"
output = "prefix"
shell = "while :; do echo tick; sleep 0.1; done"
"#;

/// How many reads init makes before its first read of an output pipe,
/// counted in a run without faults (boot reads the same files each time).
fn reads_before_output() -> usize {
    let mut probe = Builder::new("fm-output-probe", Mode::Pid1)
        .wrap(&["strace", "-f", "-qq", "-y", "-o", "{dir}/strace.log", "-e", "trace=read"])
        .file("init.toml", TICKING)
        .args(["-c", "{dir}/init.toml"])
        .start();
    // Its first line passed through init: init has read the pipe.
    common::wait_until("output", common::DEADLINE, || probe.stdout().contains("api | tick"));
    let me = format!("{} ", probe.pid());
    let log = probe.read("strace.log");
    let reads = log.lines().filter(|l| l.starts_with(&me) && l[me.len()..].trim_start().starts_with("read("));
    let before = reads.take_while(|l| !l.contains("<pipe:[")).count();
    probe.signal(Signal::SIGTERM);
    let _ = probe.wait();
    before
}

#[test]
fn a_service_keeps_running_when_its_output_cannot_be_read() {
    // The second read of a pipe at the earliest: one more, should boot read once more.
    let n = reads_before_output() + 2;
    let line = "reading the stdout pipe failed";
    let runs_on = |init: &Init| {
        let ticks = init.stdout().matches("api | tick").count();
        within("more output", Duration::from_secs(10), || init.stdout().matches("api | tick").count() > ticks)
    };
    let mut once = case(&format!("read:error=EIO:when={n}"), &[], TICKING, line);
    once.poke = runs_on;
    let mut eintr = case(&format!("read:error=EINTR:when={n}..{}", n + 9), &[], TICKING, line);
    eintr.poke = runs_on;
    let mut always = case(&format!("read:error=EIO:when={n}+"), &[], TICKING, line);
    always.poke = |init| {
        std::thread::sleep(Duration::from_secs(1)); // judged: the service is still there after a second of failures
        match common::services::state_of(init, "api").as_str() {
            "ready" | "running" => Ok(()),
            other => Err(format!("api is {other:?}")),
        }
    };
    matrix(
        "output",
        vec![("read-middle-EIO", once), ("read-middle-EINTRx10", eintr), ("read-always-EIO", always)],
    );
}

#[test]
fn an_idle_init_does_not_wake_up() {
    // Retry timers exist only while something fails: an idle supervisor sleeps in one poll.
    let toml = format!("{SLEEPER}\n[[service]]\nname = \"b\"\ncommand = [\"sleep\", \"60\"]\n");
    let mut init = Builder::new("fm-idle", Mode::Pid1)
        .wrap(&["strace", "-f", "-qq", "-o", "{dir}/strace.log", "-e", "trace=poll,rt_sigtimedwait,read"])
        .file("init.toml", &toml)
        .args(["-c", "{dir}/init.toml"])
        .start();
    common::wait_until("status", common::DEADLINE, || exec_in(&init, &["status"]).status.success());
    let me = format!("{} ", init.pid());
    let count = |init: &Init| init.read("strace.log").lines().filter(|l| l.starts_with(&me)).count();
    std::thread::sleep(Duration::from_millis(300)); // judged: settled after the start
    let before = count(&init);
    std::thread::sleep(Duration::from_secs(2)); // judged: an idle window
    let woke = count(&init) - before;
    assert!(woke <= 1, "{woke} wake-ups in 2 s of idling:\n{}", init.read("strace.log"));
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}
