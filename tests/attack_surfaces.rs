//! Attacks on the surfaces runtime control, readiness and the notify
//! protocol added (docs/security.md, "Sockets, pids and terminals"): a
//! uid-1000 party that owns the directory above the run directory, runs a
//! service, or shares the terminal or /dev/shm with root's init. Each test
//! plays the attack as it was seen working, with init as PID 1 of a real
//! PID namespace where it matters, and asserts what root would lose.

mod common;

use std::fs;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::attacker::{ATTACKER, Attacker, assert_untouched, chown_tree, decoy};
use common::services::{exec_in, field_of, services, state_of};
use common::{DEADLINE, TempDir, init_cmd, stderr_of, stdout_of, wait_until};
use nix::sys::signal::Signal;

/// `init -c CONF` (service mode) with INIT_RUN_DIR=`run`, killed at the
/// deadline, in a mount namespace with a /dev/shm of its own: where the
/// attacker makes init fall back (/dev/shm/init), other tests' clients must
/// not find it.
fn run_services(conf: &Path, run: &Path) -> Output {
    let secs = DEADLINE.as_secs().to_string();
    let o = Command::new("timeout")
        .args(["-s", "KILL", &secs, "unshare", "--mount", "--propagation", "private", "sh", "-c"])
        .arg("mount -t tmpfs tmpfs /dev/shm && exec \"$@\"")
        .args(["sh", common::INIT, "-c"])
        .arg(conf)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("INIT_RUN_DIR", run)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!matches!(o.status.code(), None | Some(124 | 137)), "init hung: {}", stderr_of(&o));
    o
}

/// Runs `cmd` (stdout and stderr piped) to its end; killed at the deadline.
fn run_with_deadline(mut cmd: Command) -> Output {
    let mut child = cmd.spawn().expect("spawn init");
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || common::drain_to_string(&mut out));
    let err = std::thread::spawn(move || common::drain_to_string(&mut err));
    let end = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > end {
            let _ = child.kill();
            panic!("init did not exit within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    Output { status, stdout: out.into_bytes(), stderr: err.into_bytes() }
}

/// Swaps the run directory for a link into a deep tree of its own and,
/// while it is swapped, renames links to the decoys over any socket init
/// binds there: between init's bind and its chmod/chown by path.
const SOCKET_SWAPPER: &str = r#"
import os, sys
shared, deep, etc, progress = sys.argv[1:5]
run, real = os.path.join(shared, "run"), os.path.join(shared, "run.real")
aims = {"control.sock": "passwd", "notify-app.sock": "shadow"}
moves = last = 0
def aside():
    # init made a new run directory while none was there: put it aside.
    os.rename(run, os.path.join(shared, "made.%d" % moves))
while True:
    try:
        os.rename(run, real)
    except OSError:
        last = report(moves, last); continue
    try:
        os.symlink(deep, run)
    except OSError:
        aside(); os.symlink(deep, run)
    moves += 1
    for _ in range(5):
        for name, aim in aims.items():
            p = os.path.join(deep, name)
            try:
                os.symlink(os.path.join(etc, aim), p + ".l"); os.rename(p + ".l", p)
            except OSError:
                pass
    os.unlink(run)
    try:
        os.rename(real, run)
    except OSError:
        aside(); os.rename(real, run)
    last = report(moves, last)
"#;

#[test]
fn a_run_directory_swapped_for_a_link_never_lets_a_socket_setup_reach_other_files() {
    let dir = TempDir::new("sockrace");
    let etc = decoy(&dir);
    let shared = dir.join("shared");
    // A tree 1,900 directories deep, to slow every walk of a path through it.
    let deep = (0..1900).fold(dir.join("maze"), |p, _| p.join("d"));
    fs::create_dir_all(&deep).unwrap();
    fs::create_dir_all(&shared).unwrap();
    chown_tree(&shared, ATTACKER, ATTACKER);
    let conf = dir.join("init.toml");
    let toml = "[[service]]\nname = \"app\"\nuser = \"1000:1000\"\ncommand = [\"true\"]\n\
        ready = { notify = true, timeout = \"5s\" }\n";
    fs::write(&conf, toml).unwrap();
    let run = shared.join("run");
    assert_eq!(run_services(&conf, &run).status.code(), Some(0));
    chown_tree(&dir.join("maze"), ATTACKER, ATTACKER);
    let attacker = Attacker::start(&dir, SOCKET_SWAPPER, &[&shared, &deep, &etc]);
    let before = attacker.moves();
    let end = Instant::now() + Duration::from_secs(10);
    let mut runs = 0;
    while Instant::now() < end || runs < 30 {
        let o = run_services(&conf, &run);
        if std::env::var_os("SHOW").is_some() {
            eprintln!("{}", stderr_of(&o));
        }
        assert_untouched(&etc);
        runs += 1;
    }
    attacker.assert_active_since(before);
}

/// A service of uid 1000 that names another process as its main one
/// (`MAINPID=`, read from `{dir}/NAME.pid`), then exits 0.
fn naming(name: &str, target: &str) -> String {
    format!(
        "[[service]]\nname = \"{name}\"\nuser = \"1000:1000\"\ncritical = false\n\
         shell = \"while [ ! -s {{dir}}/{target}.pid ]; do sleep 0.02; done; \
         python3 -c \\\"import os, socket; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b'MAINPID=' + open('{{dir}}/{target}.pid').read().strip().encode(), os.environ['NOTIFY_SOCKET'])\\\"; exit 0\"\n\
         ready = {{ notify = true, timeout = \"1s\" }}\n"
    )
}

#[test]
fn a_mainpid_naming_a_root_process_is_ignored_and_nothing_of_root_is_signalled() {
    let toml = format!(
        "[[service]]\nname = \"victim\"\nshell = \"echo $$ >> {{dir}}/victim.runs; exec sleep 60\"\n\n{}\n{}",
        naming("evil", "victim"),
        naming("evil2", "stranger")
    );
    let mut init = services("mainpid", &toml);
    // The file exists before its line is written: wait for the line.
    wait_until("the victim's pid", DEADLINE, || init.read("victim.runs").ends_with('\n'));
    fs::write(init.dir.join("victim.pid"), init.read("victim.runs")).unwrap();
    // A root process init never started, entered into its namespace.
    let mut stranger = Command::new("nsenter")
        .args(["-t", &init.pid().to_string(), "-p", "-m", "--", "sh", "-c"])
        .arg(format!("echo $$ > {}/stranger.pid.t; exec sleep 60", init.dir.path().display()))
        .spawn()
        .unwrap();
    wait_until("the stranger", DEADLINE, || init.dir.join("stranger.pid.t").exists());
    fs::rename(init.dir.join("stranger.pid.t"), init.dir.join("stranger.pid")).unwrap();
    // Until a run of each ended (`waiting` and `starting` come first).
    for evil in ["evil", "evil2"] {
        wait_until(evil, DEADLINE, || !matches!(field_of(&init, evil, "last_exit").as_str(), "null" | ""));
    }
    // Both notices judged and refused: each service's own exit 0 ended it
    // (the old code took them, followed the named process and SIGKILLed it
    // at the ready timeout that ended "starting" above: 137). Nothing of
    // root's died.
    for evil in ["evil", "evil2"] {
        assert_eq!(field_of(&init, evil, "last_exit"), "0", "{evil} followed as itself");
    }
    assert_eq!(stranger.try_wait().unwrap(), None, "the stranger lives: {}", init.stderr());
    assert_eq!(init.read("victim.runs").lines().count(), 1, "the victim never restarted: {}", init.stderr());
    assert_eq!(state_of(&init, "victim"), "ready", "{}", init.stderr());
    let _ = stranger.kill();
    let _ = stranger.wait();
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}

/// init as PID 1 with `toml` and a script beside it, and `{dir}/out` a
/// directory the services' uid 1000 may write.
fn with_script(tag: &str, toml: &str, (name, script): (&str, &str)) -> common::Init {
    common::Builder::new(tag, common::Mode::Pid1)
        .file("init.toml", toml)
        .file(name, script)
        .before(|dir| {
            fs::create_dir(dir.join("out")).unwrap();
            chown_tree(&dir.join("out"), ATTACKER, ATTACKER);
        })
        .args(["-c", "{dir}/init.toml"])
        .start()
}

/// A classic daemon: it double-forks, the grandchild calls setsid, and the
/// process init started names it (`MAINPID=`), says READY=1 and exits 0 at
/// once (init reads what it sent before it counts its exit).
const DAEMON: &str = r#"
import os, signal, socket, sys, time
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, lambda *a: (open(sys.argv[1], "w").write("TERM"), os._exit(0)))
        os.write(w, str(os.getpid()).encode()); os.close(w)
        while True: time.sleep(1)
    os._exit(0)
os.close(w)
pid = int(os.read(r, 32))
open(sys.argv[2] + ".tmp", "w").write(str(pid))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"MAINPID=%d\nREADY=1" % pid, os.environ["NOTIFY_SOCKET"])
"#;

#[test]
fn a_double_forked_daemon_named_by_mainpid_is_still_followed_and_stopped() {
    let toml = "[[service]]\nname = \"daemon\"\nuser = \"1000:1000\"\n\
        command = [\"python3\", \"{dir}/daemon.py\", \"{dir}/out/stopped\", \"{dir}/out/daemon.pid\"]\n\
        ready = { notify = true, timeout = \"20s\" }\n";
    let mut init = with_script("daemon", toml, ("daemon.py", DAEMON));
    // Followed: `init status` shows the grandchild it named as the service's pid.
    let daemon = init.wait_for_file("out/daemon.pid");
    wait_until("the named pid followed", DEADLINE, || field_of(&init, "daemon", "pid") == daemon);
    assert_eq!(state_of(&init, "daemon"), "ready", "{}", init.stderr());
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 0, "it exits 0 on SIGTERM: {}", init.stderr());
    assert_eq!(init.read("out/stopped"), "TERM", "the daemon got the stop signal");
}

/// Run by the child as nobody: open the controlling terminal and push a
/// command line into it.
const DEV_TTY_STI: &str = r#"
import fcntl, termios
try:
    fd = open("/dev/tty", "wb", buffering=0)
    for c in b"echo PWNED\n":
        fcntl.ioctl(fd, termios.TIOCSTI, bytes([c]))
    print("pushed")
except OSError as e:
    print("refused", e.errno)
"#;

#[test]
fn a_user_run_from_root_with_redirected_fds_has_no_controlling_terminal() {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let slave = fs::File::from(pty.slave);
    let flags = nix::fcntl::FdFlag::FD_CLOEXEC;
    nix::fcntl::fcntl(&slave, nix::fcntl::FcntlArg::F_SETFD(flags)).unwrap();
    let dir = TempDir::new("devtty");
    let raw = slave.as_raw_fd();
    let mut cmd = init_cmd();
    cmd.args(["run", "--user", "65534", "--", "/usr/bin/python3", "-c", DEV_TTY_STI]);
    cmd.env("INIT_RUN_DIR", dir.join("run")).stdin(Stdio::null()).stdout(Stdio::piped());
    cmd.stderr(Stdio::piped());
    // SAFETY: setsid and ioctl are async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            // Root's terminal is init's controlling terminal, on no fd of its.
            libc::setsid();
            if libc::ioctl(raw, libc::TIOCSCTTY, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    };
    let o = run_with_deadline(cmd);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    let _ = nix::fcntl::fcntl(&slave, nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK));
    let mut queued = Vec::new();
    let _ = (&slave).read_to_end(&mut queued);
    assert_eq!(String::from_utf8_lossy(&queued), "", "nothing pushed into root's terminal");
    assert_eq!(stdout_of(&o).trim(), "refused 6", "/dev/tty: ENXIO for the child");
}

/// Three senders of 4 KiB datagrams on the service's notify socket.
const FLOOD: &str = "import os, socket, sys, time\n\
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
m = b'STATUS=' + b'x' * 4089\n\
open(sys.argv[1], 'w').close()\n\
while not os.path.exists(sys.argv[2]): time.sleep(0.01)\n\
while True:\n    try: s.sendto(m, os.environ['NOTIFY_SOCKET'])\n    except OSError: pass\n";

fn vm_rss_kb(pid: nix::unistd::Pid) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap_or("VmRSS: 0 kB");
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0)
}

#[test]
fn a_notify_flood_keeps_pid1_small_and_sigterm_still_ends_it() {
    let toml = "[[service]]\nname = \"flood\"\nuser = \"1000:1000\"\nstop_timeout = \"2s\"\n\
        shell = \"for i in 1 2 3; do python3 {dir}/flood.py {dir}/out/flooding.$i {dir}/go & done; wait\"\n\
        ready = { notify = true, timeout = \"60s\" }\n";
    let mut init = with_script("flood", toml, ("flood.py", FLOOD));
    for i in 1..=3 {
        init.wait_for_file(&format!("out/flooding.{i}"));
    }
    let before = vm_rss_kb(init.pid());
    fs::write(init.dir.join("go"), "").unwrap();
    let mut most = 0;
    let end = Instant::now() + Duration::from_secs(3);
    while Instant::now() < end {
        most = most.max(vm_rss_kb(init.pid()));
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = stdout_of(&exec_in(&init, &["status"]));
    assert!(status.contains("flood"), "init status answers during the flood: {status}");
    let asked = Instant::now();
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143, "{}", init.stderr());
    assert!(asked.elapsed() < Duration::from_secs(5), "ended within its 2 s budget: {:?}", asked.elapsed());
    assert!(most < before + 1024, "PID 1's RSS went from {before} to {most} kB under the flood");
}

/// uid 1000's own program named `init`: a status file naming itself in the
/// directory it planted, and a control socket that answers every request.
const IMPOSTOR: &str = r#"
import ctypes, os, socket, sys
plant, progress = sys.argv[1:3]
ctypes.CDLL(None).prctl(15, b"init", 0, 0, 0)
start = open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19]
svc = '{"name":"web","state":"ready","pid":%d,"ready":true,"restarts":0,"since":"2026-01-01T00:00:00Z","last_exit":null,"critical":true,"oneshot":false,"status":"\\u001b]2;owned\\u0007"}' % os.getpid()
with open(os.path.join(plant, "status.json"), "w") as f:
    f.write('{"pid":%d,"pid_start":%s,"started":"2026-01-01T00:00:00Z","services":[%s]}' % (os.getpid(), start, svc))
l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
l.bind(os.path.join(plant, "control.sock")); l.listen(8)
report(1, 0)
while True:
    c, _ = l.accept()
    c.recv(256); c.sendall(b"0 web stopped\n"); c.close()
"#;

#[test]
fn a_status_file_and_socket_planted_by_another_uid_are_not_believed_by_root() {
    let dir = TempDir::new("impostor");
    let plant = dir.join("plant");
    fs::create_dir_all(&plant).unwrap();
    chown_tree(&plant, ATTACKER, ATTACKER);
    let impostor = Attacker::start(&dir, IMPOSTOR, &[&plant]);
    // Root's clients, with a /dev/shm of their own: no other test's init
    // in the shared fallback may answer for the planted one.
    let client = |args: &[&str]| {
        let o = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg("mount -t tmpfs tmpfs /dev/shm && exec \"$@\"")
            .args(["sh", common::INIT])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("INIT_RUN_DIR", &plant)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (o.status.code(), stdout_of(&o), stderr_of(&o))
    };
    let (code, _, err) = client(&["health"]);
    assert_eq!(code, Some(1), "root's health check believed uid 1000's file: {err}");
    assert!(err.contains("uid 1000"), "{err}");
    let (code, out, err) = client(&["stop", "web"]);
    assert_ne!(code, Some(0), "root's stop was answered by uid 1000's socket: {out}");
    let (code, out, err2) = client(&["status"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(!format!("{out}{err}{err2}").contains('\u{1b}'), "no escape sequence reached root's terminal");
    drop(impostor);
}
