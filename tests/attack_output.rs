//! Attacks on init's own output by an unprivileged service (uid 1000), init
//! as PID 1 of a PID namespace (docs/security.md, "Init's own output" and
//! "Texts from others"): a terminal the service stops with TCOOFF, a pipe
//! nobody reads while the service floods, file names and `STATUS=` texts
//! with newlines and terminal escapes. Init must still stop on SIGTERM
//! within its budget, report what it dropped, and never print a forged
//! `init:` line or a raw escape.

mod common;

use std::fs::{self, File};
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::services::{exec_in, state_of};
use common::{Builder, DEADLINE, INIT, Mode, OnTty, TempDir, stdout_of, wait_until};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The stop budget the tests give init, and the slack allowed past it.
const BUDGET: &str = "3s";
const WITHIN: Duration = Duration::from_secs(3 + 2);

/// A directory uid 1000 may write its flags into.
fn flags(dir: &TempDir) -> String {
    let flags = dir.join("flags");
    fs::create_dir_all(&flags).unwrap();
    fs::set_permissions(&flags, fs::Permissions::from_mode(0o777)).unwrap();
    flags.display().to_string()
}

/// Ignores SIGTTOU, stops the terminal on its stdout as ^S would, says so,
/// and keeps writing to it.
const STOPPER: &str = r#"
import os, signal, sys, termios
signal.signal(signal.SIGTTOU, signal.SIG_IGN)
termios.tcflow(1, termios.TCOOFF)
open(sys.argv[1] + ".t", "w").close(); os.rename(sys.argv[1] + ".t", sys.argv[1])
while True:
    os.write(1, b"still writing\n")
"#;

#[test]
fn a_terminal_a_service_stops_with_tcooff_never_keeps_sigterm_waiting() {
    let dir = TempDir::new("out-tty");
    let flags = flags(&dir);
    fs::write(dir.join("stop.py"), STOPPER).unwrap();
    let toml = format!(
        "[[service]]\nname = \"stopper\"\nuser = \"1000:1000\"\ncommand = [\"/usr/bin/python3\", \"{}\", \"{flags}/stopped\"]\n",
        dir.s("stop.py")
    );
    fs::write(dir.join("init.toml"), toml).unwrap();
    stop_on_a_stopped_terminal(&dir, &["-c", &dir.s("init.toml")]);
}

#[test]
fn a_single_command_stopping_the_terminal_never_keeps_sigterm_waiting() {
    let dir = TempDir::new("out-tty-single");
    let flags = flags(&dir);
    fs::write(dir.join("stop.py"), STOPPER).unwrap();
    let stopped = format!("{flags}/stopped");
    let argv = ["--user", "1000:1000", "--", "/usr/bin/python3", &dir.s("stop.py"), &stopped];
    stop_on_a_stopped_terminal(&dir, &argv);
}

/// Init as PID 1 on a terminal with `args`; once the child stopped the
/// terminal (`flags/stopped`), SIGTERM must end init within the budget,
/// with the code of the child's death by SIGTERM.
fn stop_on_a_stopped_terminal(dir: &TempDir, args: &[&str]) {
    let argv = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", INIT, "--stop-timeout", BUDGET];
    let mut tty = OnTty::start(&[&argv[..], args].concat());
    let pid = tty.namespace_pid().expect("init runs");
    common::wait_for_file(&dir.join("flags/stopped"));
    kill(pid, Signal::SIGTERM).unwrap();
    let sent = Instant::now();
    let code = tty.wait_within(WITHIN);
    assert!(code.is_some(), "init still runs {:?} after SIGTERM on the stopped terminal", sent.elapsed());
    assert_eq!(code, Some(143), "the child died of SIGTERM");
}

/// Floods its stdout with numbered lines of 91 bytes; counts them in a file.
const FLOOD: &str = r#"
import os, sys
line = b"0123456789" * 9 + b"\n"
n = 0
while True:
    os.write(1, line * 100)
    n += 100
    if n % 5000 == 0:
        with open(sys.argv[1] + ".t", "w") as f: f.write(str(n))
        os.rename(sys.argv[1] + ".t", sys.argv[1])
"#;
/// Lines the flood must pass before init has surely dropped some: more
/// than the service's pipe, init's queue and init's pipe hold together.
const SURELY_DROPPED: u64 = 20_000;

/// Init as PID 1 with stdout and stderr on one pipe the test reads only
/// when it chooses; killed on drop.
struct Piped {
    child: Child,
    pid: Pid,
    pipe: File,
    dir: TempDir,
}

impl Piped {
    fn flood(tag: &str) -> Piped {
        let dir = TempDir::new(tag);
        let flags = flags(&dir);
        fs::write(dir.join("flood.py"), FLOOD).unwrap();
        let toml = format!(
            "[[service]]\nname = \"flood\"\nuser = \"1000:1000\"\noutput = \"prefix\"\ncommand = [\"/usr/bin/python3\", \"{}\", \"{flags}/progress\"]\n",
            dir.s("flood.py")
        );
        Piped::start(dir, &toml)
    }

    /// Init as PID 1 with `toml` as its config in `dir`.
    fn start(dir: TempDir, toml: &str) -> Piped {
        fs::write(dir.join("init.toml"), toml).unwrap();
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        let w = File::from(w);
        let mut child = Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc", "--kill-child", INIT, "-c"])
            .arg(dir.join("init.toml"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("INIT_RUN_DIR", dir.join("run"))
            .env("INIT_STOP_TIMEOUT", BUDGET)
            .stdin(Stdio::null())
            .stdout(w.try_clone().unwrap())
            .stderr(w)
            .spawn()
            .expect("unshare runs init");
        let pid = common::namespace_pid_of(&mut child).expect("init runs");
        let pipe = File::from(r);
        let flags = nix::fcntl::OFlag::O_NONBLOCK;
        nix::fcntl::fcntl(&pipe, nix::fcntl::FcntlArg::F_SETFL(flags)).unwrap();
        Piped { child, pid, pipe, dir }
    }

    /// Bytes in the pipe, unread.
    fn queued(&self) -> usize {
        let mut n: libc::c_int = 0;
        // SAFETY (test): FIONREAD writes one int through a pointer that lives for the call.
        unsafe { libc::ioctl(self.pipe.as_raw_fd(), libc::FIONREAD, &mut n) };
        n as usize
    }

    fn wait_until_full(&self) {
        let size = nix::fcntl::fcntl(&self.pipe, nix::fcntl::FcntlArg::F_GETPIPE_SZ).unwrap() as usize;
        wait_until("init's pipe full", DEADLINE, || self.queued() + 4096 > size);
    }

    /// Lines the flood wrote so far.
    fn progress(&self) -> u64 {
        fs::read_to_string(self.dir.join("flags/progress")).ok().and_then(|s| s.parse().ok()).unwrap_or(0)
    }

    /// Waits up to `limit` for the flood to pass `SURELY_DROPPED` lines.
    fn flood_passed(&self, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        while self.progress() < SURELY_DROPPED && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.progress() >= SURELY_DROPPED
    }

    /// What the pipe holds now.
    fn drain(&mut self) -> String {
        let mut out = Vec::new();
        let mut chunk = [0u8; 65536];
        while let Ok(n) = self.pipe.read(&mut chunk) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    fn wait_within(&mut self, limit: Duration) -> Option<i32> {
        let end = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Piped {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every line is whole: a line of the flood as it was written, or init's.
/// One may be cut short: the flood's last, written in part when SIGTERM
/// killed it (init passes a last line on with a newline added).
fn assert_whole_lines(text: &str) {
    let flood = format!("flood | {}", "0123456789".repeat(9));
    let short = |l: &str| l.starts_with("flood | ") && flood.starts_with(l);
    for line in text.lines() {
        assert!(
            line == flood || short(line) || line.starts_with("init: "),
            "a torn or foreign line: {line:?}"
        );
    }
    let cut = text.lines().filter(|l| *l != flood && short(l)).count();
    assert!(cut <= 1, "{cut} lines cut short");
}

#[test]
fn a_sigpipe_from_inits_own_closed_output_is_never_forwarded() {
    let dir = TempDir::new("out-closed");
    let flags = flags(&dir);
    let toml = format!(
        "[[service]]\nname = \"talk\"\noutput = \"prefix\"\n\
         shell = \"trap 'touch {flags}/piped' PIPE; i=0; while :; do i=$((i+1)); echo x; echo $i > {flags}/n; sleep 0.01; done\"\n"
    );
    let mut init = Piped::start(dir, &toml);
    let lines = |init: &Piped| {
        fs::read_to_string(init.dir.join("flags/n")).ok().and_then(|n| n.trim().parse::<u32>().ok())
    };
    wait_until("talk talks", DEADLINE, || lines(&init).is_some());
    // The log reader goes away: init's writes now fail with EPIPE (and SIGPIPE).
    init.pipe = File::open("/dev/null").unwrap();
    let before = lines(&init).unwrap_or(0);
    wait_until("50 more lines after the reader left", DEADLINE, || {
        lines(&init).is_some_and(|n| n > before + 50)
    });
    assert!(!init.dir.join("flags/piped").exists(), "talk was sent init's own SIGPIPE");
    kill(init.pid, Signal::SIGTERM).unwrap();
    assert_eq!(init.wait_within(WITHIN), Some(143));
}

#[test]
fn a_pipe_nobody_reads_never_keeps_sigterm_waiting() {
    let mut init = Piped::flood("out-full");
    init.wait_until_full();
    // Only a live loop reads the flood past what the pipes hold; stuck, the
    // flood stops early and the test goes on to show the hang.
    let _ = init.flood_passed(Duration::from_secs(5));
    kill(init.pid, Signal::SIGTERM).unwrap();
    let sent = Instant::now();
    let code = init.wait_within(WITHIN);
    assert!(code.is_some(), "init still runs {:?} after SIGTERM with its pipe full", sent.elapsed());
    assert_eq!(code, Some(143));
    assert_whole_lines(&init.drain());
}

#[test]
fn output_dropped_on_a_full_pipe_is_reported_in_one_line_once_it_drains() {
    let mut init = Piped::flood("out-drop");
    init.wait_until_full();
    assert!(
        init.flood_passed(DEADLINE),
        "the flood stalled at {} lines: init stopped reading",
        init.progress()
    );
    let mut seen = String::new();
    wait_until("the report of dropped lines", DEADLINE, || {
        seen.push_str(&init.drain());
        seen.contains("of output dropped")
    });
    let report = seen.lines().find(|l| l.contains("of output dropped")).unwrap();
    let (lines, rest) = report.strip_prefix("init: WARN ").unwrap().split_once(" lines (").unwrap();
    assert!(lines.parse::<u64>().unwrap() > 0, "{report}");
    assert!(rest.ends_with(" bytes) of output dropped: stdout was not writable"), "{report}");
    kill(init.pid, Signal::SIGTERM).unwrap();
    let mut rest = String::new();
    wait_until("init to end", DEADLINE, || {
        rest.push_str(&init.drain());
        init.child.try_wait().unwrap().is_some()
    });
    seen.push_str(&rest);
    seen.push_str(&init.drain());
    assert_whole_lines(&seen);
}

/// Names uid 1000 gives hard links in its volume: init leaves them alone
/// and names them in a WARN line.
const FORGED: [&str; 3] =
    ["x\ninit:\tERROR\tforged\x1b]2;title\x07", "y\ninit:\tERROR forged\x1b]2;title\x07", "z\u{9b}31mred\r"];

/// Plants `FORGED` in the volume as uid 1000, as hard links to one file.
fn plant(vol: &std::path::Path) {
    let script = "import os, sys\nvol = sys.argv[1]\nopen(os.path.join(vol, 'a'), 'w').close()\n\
                  for name in sys.argv[2:]:\n    os.link(os.path.join(vol, 'a'), os.path.join(vol, name))\n";
    let planted = Command::new("setpriv")
        .args(["--reuid", "1000", "--regid", "1000", "--clear-groups", "/usr/bin/python3", "-c", script])
        .arg(vol)
        .args(FORGED)
        .status()
        .expect("setpriv and python3");
    assert!(planted.success());
}

fn forged_names_run(tag: &str, format: &str) -> Vec<u8> {
    let mut init = Builder::new(tag, Mode::Pid1)
        .file("init.toml", "[[volume]]\npath = \"{dir}/vol\"\nowner = \"1000:1000\"\n")
        .env("INIT_LOG_FORMAT", format)
        .args(["-c", "{dir}/init.toml", "--", "true"])
        .before(|dir| {
            let vol = dir.join("vol");
            fs::create_dir(&vol).unwrap();
            nix::unistd::chown(&vol, Some(1000.into()), Some(1000.into())).unwrap();
            plant(&vol);
        })
        .start();
    assert_eq!(init.wait(), 0, "{}", init.stderr());
    fs::read(init.dir.join("stderr")).unwrap()
}

fn assert_no_raw_controls(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let raw = text.chars().find(|&c| c.is_control() && c != '\n');
    assert!(raw.is_none(), "a raw {raw:?} in init's output:\n{text}");
}

#[test]
fn file_names_with_newlines_and_escapes_never_forge_an_init_line() {
    let err = forged_names_run("out-forged", "text");
    assert_no_raw_controls(&err);
    let text = String::from_utf8_lossy(&err);
    for line in text.lines() {
        assert!(line.starts_with("init: ") && !line.contains("\t"), "a forged line {line:?} in:\n{text}");
    }
    for shown in ["x\\ninit:\\tERROR\\tforged\\x1b]2;title\\x07\"", "z\\u{9b}31mred\\r\""] {
        assert!(text.contains(shown), "{shown} missing from:\n{text}");
    }
    let err = forged_names_run("out-forged-json", "json");
    assert_no_raw_controls(&err);
    let text = String::from_utf8_lossy(&err);
    assert!(text.lines().all(|l| l.starts_with("{\"level\":")), "{text}");
    assert!(text.contains("x\\ninit:\\tERROR\\tforged\\u001b]2;title\\u0007\""), "{text}");
    assert!(text.contains("z\\u009b31mred\\r\""), "{text}");
}

/// Announces itself ready with a `STATUS=` full of terminal escapes.
const EVIL_STATUS: &str = "import os, socket\n\
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
s.sendto('READY=1\\nSTATUS=evil\\x1b]2;pwned\\x07 csi\\x9b31m\\r'.encode(), os.environ['NOTIFY_SOCKET'])\n";

#[test]
fn status_texts_with_escapes_are_shown_escaped_by_init_status() {
    let toml = "[[service]]\nname = \"api\"\nuser = \"1000:1000\"\nshell = \"python3 {dir}/status.py; exec sleep 60\"\n\
                ready = { notify = true, timeout = \"30s\" }\n";
    let mut init = Builder::new("out-status", Mode::Pid1)
        .file("init.toml", toml)
        .file("status.py", EVIL_STATUS)
        .args(["-c", "{dir}/init.toml"])
        .start();
    wait_until("api ready", DEADLINE, || state_of(&init, "api") == "ready");
    let table = exec_in(&init, &["status"]);
    assert_no_raw_controls(&table.stdout);
    let shown = stdout_of(&table);
    assert!(shown.contains("  evil\\x1b]2;pwned\\x07 csi\\u{9b}31m\\r\n"), "{shown}");
    let json = exec_in(&init, &["status", "--json"]);
    assert_no_raw_controls(&json.stdout);
    let shown = stdout_of(&json);
    assert!(shown.contains("\"status\":\"evil\\\\x1b]2;pwned\\\\x07 csi\\\\u{9b}31m\\\\r\""), "{shown}");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}
