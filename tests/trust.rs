//! Nothing a container user controls may lead init out of its tree, through
//! the real binary: values injected into /etc/passwd, a status file left by
//! an init that is gone, the root terminal handed to an unprivileged child,
//! secrets in log lines.

mod common;

use std::fs;
use std::process::Output;

use common::{Builder, Mode, TempDir, init_cmd, stderr_of};

/// `init ARGS` with `conf` as its config (when given), its own INIT_RUN_DIR
/// and `env`; stdin from /dev/null.
fn init_in(dir: &TempDir, conf: Option<&str>, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = init_cmd();
    if let Some(text) = conf {
        fs::write(dir.join("init.toml"), text).unwrap();
        cmd.arg("-c").arg(dir.join("init.toml"));
    }
    cmd.args(args).env("INIT_RUN_DIR", dir.join("run")).current_dir(dir.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(std::process::Stdio::null()).output().unwrap()
}

#[test]
fn check_refuses_a_home_from_the_environment_that_would_add_a_root_line() {
    let dir = TempDir::new("inject");
    let conf = "[user]\nname = \"app\"\nuid = 1000\nhome = \"<<H>>\"\n";
    let o = init_in(&dir, Some(conf), &[("H", "/home/app:0:0::/:/bin/sh\nx")], &["check"]);
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(78), "{err}");
    assert!(
        err.contains("init.toml:4:8: [user] home \"/home/app:0:0::/:/bin/sh\\nx\" contains `:`"),
        "{err}"
    );
    let o = init_in(&dir, Some(conf), &[("H", "/etc/app")], &["check"]);
    assert_eq!(o.status.code(), Some(78));
    assert!(stderr_of(&o).contains("[user] home \"/etc/app\": /etc is a system tree"), "{}", stderr_of(&o));
}

/// `init ARGS` with INIT_RUN_DIR=`run`; (code, stderr).
fn init_with_run_dir(run: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let o =
        init_cmd().args(args).env("INIT_RUN_DIR", run).stdin(std::process::Stdio::null()).output().unwrap();
    (o.status.code(), stderr_of(&o))
}

#[test]
fn a_status_file_is_trusted_only_for_the_live_init_that_wrote_it() {
    let init = Builder::new("live", Mode::Direct).args(["--", "sleep", "30"]).start();
    let real = init.wait_for_file("run/status.json");
    assert!(real.contains("\"pid_start\":"), "{real}");
    assert_eq!(init_with_run_dir(&init.dir.join("run"), &["health"]).0, Some(0));

    // The same init, but a start time it never had: a file left by an init
    // that is gone, whose pid was taken by another.
    let start: u64 =
        real.split("\"pid_start\":").nth(1).and_then(|r| r.split(',').next()?.parse().ok()).unwrap();
    let forged = TempDir::new("forged");
    fs::write(forged.join("status.json"), real.replace(&format!(":{start},"), &format!(":{},", start + 1)))
        .unwrap();
    let (code, err) = init_with_run_dir(forged.path(), &["health"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("left by an init that is no longer running"), "{err}");
    let (code, err) = init_with_run_dir(forged.path(), &["status"]);
    assert_eq!(code, Some(1));
    assert!(err.contains(&format!("status file {}: left by", forged.join("status.json").display())), "{err}");

    // A live process that is not mooring (the test itself), with its real start time.
    let me = std::process::id();
    let my_start = fs::read_to_string("/proc/self/stat").unwrap();
    let my_start =
        my_start[my_start.rfind(')').unwrap() + 1..].split_whitespace().nth(19).unwrap().to_string();
    let other = format!(
        "{{\"pid\":{me},\"pid_start\":{my_start},\"started\":\"2026-01-01T00:00:00Z\",\"services\":[]}}"
    );
    fs::write(forged.join("status.json"), other).unwrap();
    let (code, err) = init_with_run_dir(forged.path(), &["health"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains(&format!("pid {me} is not mooring")), "{err}");
}

#[test]
fn a_fifo_or_a_huge_status_file_is_refused_without_blocking() {
    let dir = TempDir::new("fifo");
    nix::unistd::mkfifo(&dir.join("status.json"), nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let (code, err) = init_with_run_dir(dir.path(), &["status"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("not a regular file"), "{err}");
    fs::remove_file(dir.join("status.json")).unwrap();
    fs::write(dir.join("status.json"), vec![b' '; (1 << 20) + 1]).unwrap();
    let (code, err) = init_with_run_dir(dir.path(), &["health"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("too large for a status file"), "{err}");
}

/// What a run of init with a terminal on its stdout showed.
struct OnOuterTty {
    code: i32,
    /// What reached the terminal (CRs dropped).
    shown: String,
    /// The terminal's own path.
    path: String,
    /// What was left in the terminal's input queue: keystrokes someone pushed.
    queued: String,
}

/// Runs `init ARGS` with `stdin`, its stdout on a fresh terminal that is its
/// controlling terminal (as root's terminal is for `docker exec -t`), stderr
/// to a file.
fn on_outer_tty(args: &[&str], stdin: std::process::Stdio) -> OnOuterTty {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let path = fs::read_link(format!("/proc/self/fd/{}", pty.slave.as_raw_fd())).unwrap();
    let slave = fs::File::from(pty.slave);
    let dir = TempDir::new("outer");
    let mut cmd = init_cmd();
    cmd.args(args).env("INIT_RUN_DIR", dir.join("run")).stdin(stdin).stdout(slave.try_clone().unwrap());
    cmd.stderr(fs::File::create(dir.join("stderr")).unwrap());
    // SAFETY: setsid and ioctl are async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            if libc::ioctl(1, libc::TIOCSCTTY, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    };
    let mut child = cmd.spawn().expect("spawn init");
    // The command keeps its copy of the terminal: only init may hold it now.
    drop(cmd);
    let mut master = fs::File::from(pty.master);
    let reader = std::thread::spawn(move || common::drain_to_string(&mut master).replace('\r', ""));
    let end = std::time::Instant::now() + common::DEADLINE;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < end,
            "init did not exit: {}",
            fs::read_to_string(dir.join("stderr")).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    // Anything pushed into the terminal's input waits there for a reader.
    let _ = nix::fcntl::fcntl(&slave, nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK));
    let mut queued = Vec::new();
    let _ = (&slave).read_to_end(&mut queued);
    drop(slave);
    let shown = reader.join().unwrap();
    let stderr = fs::read_to_string(dir.join("stderr")).unwrap_or_default();
    assert!(!stderr.contains("panicked"), "{stderr}");
    OnOuterTty {
        code: status.code().unwrap_or(-1),
        shown,
        path: path.display().to_string(),
        queued: String::from_utf8_lossy(&queued).into_owned(),
    }
}

/// Run by the child as nobody: push a command line into the terminal of
/// each of its fds with TIOCSTI, and say what the kernel answered.
const TIOCSTI: &str = r#"
import fcntl, termios
line = b"echo PW" + b"NED\n"
for fd in (0, 1, 2):
    try:
        for c in line:
            fcntl.ioctl(fd, termios.TIOCSTI, bytes([c]))
        print("sti", fd, "pushed")
    except OSError as e:
        print("sti", fd, "refused", e.errno)
"#;

#[test]
fn a_user_run_from_root_on_a_terminal_gets_a_pty_of_its_own() {
    let script =
        "echo TTY=$(tty); echo OUT=$(readlink /proc/$$/fd/1); /usr/bin/python3 -c \"$0\"; echo END; exit 7";
    let got = on_outer_tty(
        &["run", "--user", "65534", "--", "sh", "-c", script, TIOCSTI],
        std::process::Stdio::null(),
    );
    assert_eq!(got.code, 7, "{}", got.shown);
    assert!(got.shown.contains("END"), "{}", got.shown);
    let tty = got.shown.lines().find_map(|l| l.strip_prefix("TTY=")).unwrap_or_default();
    let out = got.shown.lines().find_map(|l| l.strip_prefix("OUT=")).unwrap_or_default();
    assert!(
        tty.starts_with("/dev/pts/") && tty != got.path,
        "the child's tty {tty:?} vs root's {}",
        got.path
    );
    assert_eq!(out, tty, "{}", got.shown);
    // Whatever the kernel allowed, nothing reached root's terminal.
    assert!(!got.shown.contains("PWNED"), "{}", got.shown);
    assert_eq!(got.queued, "", "keystrokes pushed into root's terminal");
}

#[test]
fn piped_input_reaches_the_pty_child_until_its_end_without_echo() {
    let dir = TempDir::new("piped");
    fs::write(dir.join("in"), "first line\nno newline at the end").unwrap();
    let stdin = fs::File::open(dir.join("in")).unwrap();
    let got = on_outer_tty(
        &["run", "--user", "65534", "--", "sh", "-c", "cat; echo; echo GOT-EOF; exit 3"],
        stdin.into(),
    );
    assert_eq!(got.code, 3, "{}", got.shown);
    assert_eq!(got.shown, "first line\nno newline at the end\nGOT-EOF\n");
}

#[test]
fn a_secret_in_a_wait_command_never_reaches_stderr_or_the_plan() {
    let dir = TempDir::new("secretlog");
    fs::write(dir.join("pw"), "s3cr3t-value\n").unwrap();
    let conf = "[env]\nDB_URL = \"postgres://app:<<DB_PASSWORD>>@db/app\"\n\n[[wait]]\ncommand = [\"sh\", \"-c\", \"exit 1\", \"<<DB_PASSWORD>>\", \"<<DB_URL>>\"]\ntimeout = \"300ms\"\n";
    let pw = dir.join("pw").display().to_string();
    let env = [("DB_PASSWORD_FILE", pw.as_str()), ("INIT_LOG", "debug")];
    let o = init_in(&dir, Some(conf), &env, &["wait"]);
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(75), "{err}");
    assert!(err.contains("waiting for command:sh -c exit 1 *** postgres://app:***@db/app"), "{err}");
    assert!(err.contains("timed out waiting for command:sh -c exit 1 ***"), "{err}");
    assert!(!err.contains("s3cr3t"), "{err}");
    let o = init_in(&dir, Some(conf), &env, &["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    let plan = String::from_utf8_lossy(&o.stdout);
    assert!(plan.contains("wait     command:sh -c exit 1 ***"), "{plan}");
    assert!(!plan.contains("s3cr3t") && !stderr_of(&o).contains("s3cr3t"), "{plan}");
}
