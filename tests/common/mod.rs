//! Test harness: runs the real `init` binary as PID 1 of a fresh PID namespace
//! (`unshare --pid --fork --mount-proc`) or directly (as a subreaper), each in
//! its own temp dir with its own INIT_RUN_DIR, and signals it from outside as
//! a container engine does. Everything started is killed on drop.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

pub mod attacker;
pub mod configmap;
pub mod podman;
mod procs;
pub mod services;
mod tty;

#[allow(unused_imports)] // not every test binary looks at processes
pub use procs::{child_of, descendants, proc_state, takes_signals, zombies_under};

#[allow(unused_imports)] // not every test binary types on a terminal
pub use tty::OnTty;

/// The binary under test: cargo's build of `init`, or the absolute path in
/// MOORING_INIT when the tests are compiled with it set (`make test-aarch64`
/// points it at dist/init-aarch64, which binfmt_misc runs through qemu-user).
pub const INIT: &str = match option_env!("MOORING_INIT") {
    Some(path) => path,
    None => env!("CARGO_BIN_EXE_init"),
};
// The tests run init from their own working directories.
const _: () = if let Some(path) = option_env!("MOORING_INIT") {
    assert!(matches!(path.as_bytes().first(), Some(b'/')), "MOORING_INIT must be an absolute path");
};

/// Generous upper bound for anything a test waits on; a hang fails, not blocks.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("mooring-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The path as a string, for embedding in shell scripts.
    pub fn s(&self, name: &str) -> String {
        self.join(name).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Polls `cond` every 10 ms until it holds; panics with `what` at the deadline.
pub fn wait_until(what: &str, deadline: Duration, cond: impl FnMut() -> bool) {
    assert!(came_true(deadline, cond), "timed out after {deadline:?} waiting for: {what}");
}

/// Polls `cond` every 10 ms until it holds or the deadline passes; whether
/// it held (for a test that has something to undo before it fails).
pub fn came_true(deadline: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    while !cond() {
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Now, in nanoseconds since the epoch: what `date +%s%N` prints in a
/// service, for the test to compare the times of what it did and what the
/// services saw.
pub fn now_ns() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_nanos()
}

/// The `date +%s%N` times a child wrote to `path`, one a line.
pub fn times_ns(path: &Path) -> Vec<u128> {
    fs::read_to_string(path).unwrap_or_default().lines().filter_map(|l| l.trim().parse().ok()).collect()
}

/// Waits until `path` exists and returns its contents.
pub fn wait_for_file(path: &Path) -> String {
    wait_until(&format!("file {}", path.display()), DEADLINE, || path.exists());
    fs::read_to_string(path).unwrap_or_default()
}

/// How init is run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// PID 1 of a new PID namespace, as in a container.
    Pid1,
    /// A plain child of the test (init makes itself a subreaper).
    Direct,
}

/// A running init and the files its output goes to.
pub struct Init {
    child: Child,
    /// init's pid as seen from the test (outside the namespace), if it lived long enough to see.
    pid: Option<Pid>,
    pub dir: TempDir,
    pub mode: Mode,
    started: Instant,
}

pub struct Builder {
    mode: Mode,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    stdin: Option<Stdio>,
    pre_exec: Option<Box<dyn FnMut() -> std::io::Result<()> + Send + Sync>>,
    tag: String,
    files: Vec<(String, String)>,
    before: Option<BeforeStart>,
    /// A command init is started under (strace for fault injection).
    wrap: Vec<String>,
}

/// Work on the test dir before init starts.
type BeforeStart = Box<dyn FnOnce(&Path)>;

impl Builder {
    pub fn new(tag: &str, mode: Mode) -> Builder {
        Builder {
            mode,
            args: vec![],
            envs: vec![],
            stdin: None,
            pre_exec: None,
            tag: tag.to_string(),
            files: vec![],
            before: None,
            wrap: vec![],
        }
    }

    /// Runs `f` on the test's temp dir after its files are written, before init starts.
    pub fn before(mut self, f: impl FnOnce(&Path) + 'static) -> Builder {
        self.before = Some(Box::new(f));
        self
    }

    /// Writes `name` into the test's temp dir before init starts (`{dir}` replaced).
    pub fn file(mut self, name: &str, contents: &str) -> Builder {
        self.files.push((name.into(), contents.into()));
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, args: I) -> Builder {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// Sets `k` for init (`{dir}` in `v` replaced).
    pub fn env(mut self, k: &str, v: &str) -> Builder {
        self.envs.push((k.into(), v.into()));
        self
    }

    /// Starts init (as PID 1: the `unshare` that makes its namespace) under
    /// `prefix`, a command that runs the rest, such as strace (`{dir}` replaced).
    pub fn wrap(mut self, prefix: &[&str]) -> Builder {
        self.wrap = prefix.iter().map(|a| a.to_string()).collect();
        self
    }

    pub fn stdin(mut self, stdin: Stdio) -> Builder {
        self.stdin = Some(stdin);
        self
    }

    /// Runs `f` in the forked process before exec (to set masks, fds...).
    pub fn pre_exec(mut self, f: impl FnMut() -> std::io::Result<()> + Send + Sync + 'static) -> Builder {
        self.pre_exec = Some(Box::new(f));
        self
    }

    /// Starts init; the command line may use `{dir}` for the test's temp dir.
    pub fn start(self) -> Init {
        let dir = TempDir::new(&self.tag);
        let dir_s = dir.path().display().to_string();
        let args: Vec<String> = self.args.iter().map(|a| a.replace("{dir}", &dir_s)).collect();
        for (name, contents) in &self.files {
            fs::write(dir.join(name), contents.replace("{dir}", &dir_s)).expect("write test file");
        }
        if let Some(f) = self.before {
            f(dir.path());
        }
        let wrap: Vec<String> = self.wrap.iter().map(|a| a.replace("{dir}", &dir_s)).collect();
        let mut argv: Vec<&str> = wrap.iter().map(String::as_str).collect();
        if self.mode == Mode::Pid1 {
            argv.extend(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]);
        }
        argv.push(INIT);
        let mut cmd = Command::new(argv[0]);
        cmd.args(&argv[1..]);
        cmd.args(&args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .current_dir(dir.path())
            .env("INIT_RUN_DIR", dir.join("run"))
            .env("DIR", &dir_s)
            .stdin(self.stdin.unwrap_or(Stdio::null()))
            .stdout(fs::File::create(dir.join("stdout")).expect("stdout file"))
            .stderr(fs::File::create(dir.join("stderr")).expect("stderr file"));
        for (k, v) in &self.envs {
            cmd.env(k, v.replace("{dir}", &dir_s));
        }
        if let Some(f) = self.pre_exec {
            // SAFETY: the closures tests pass only make async-signal-safe calls.
            unsafe { cmd.pre_exec(f) };
        }
        let mut child = cmd.spawn().expect("spawn init");
        let pid = match self.mode {
            Mode::Direct => Some(Pid::from_raw(child.id() as i32)),
            Mode::Pid1 if !self.wrap.is_empty() => {
                let mut pid = None;
                wait_until("init under its wrapper", DEADLINE, || {
                    pid = child_of(child.id() as i32).and_then(child_of).map(Pid::from_raw);
                    pid.is_some() || matches!(child.try_wait(), Ok(Some(_)))
                });
                pid
            }
            Mode::Pid1 => namespace_pid_of(&mut child),
        };
        Init { child, pid, dir, mode: self.mode, started: Instant::now() }
    }
}

/// `unshare --fork` forks once: init is the only child of the unshare process.
/// `None` when init has already come and gone.
pub fn namespace_pid_of(unshare: &mut Child) -> Option<Pid> {
    let id = unshare.id();
    let path = format!("/proc/{id}/task/{id}/children");
    let mut pid = None;
    wait_until("unshare to fork init", DEADLINE, || {
        pid = fs::read_to_string(&path).ok().and_then(|s| s.split_whitespace().next()?.parse().ok());
        pid.is_some() || matches!(unshare.try_wait(), Ok(Some(_)))
    });
    pid.map(Pid::from_raw)
}

impl Init {
    /// Shorthand: `init ARGS` as PID 1 of a new namespace.
    pub fn pid1<I: IntoIterator<Item = S>, S: AsRef<str>>(tag: &str, args: I) -> Init {
        Builder::new(tag, Mode::Pid1).args(args).start()
    }

    /// init's pid as seen from the test.
    pub fn pid(&self) -> Pid {
        self.pid.expect("init exited before its pid was seen")
    }

    pub fn signal(&self, sig: Signal) {
        kill(self.pid(), sig).expect("signal init");
    }

    /// Waits for init to exit and returns its exit code (128+N for a signal death).
    pub fn wait(&mut self) -> i32 {
        let end = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
            }
            assert!(
                Instant::now() < end,
                "init did not exit within {DEADLINE:?}; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// init's exit code (128+N for a signal death) once it has exited.
    pub fn try_code(&mut self) -> Option<i32> {
        let status = self.child.try_wait().ok()??;
        Some(status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
    }

    /// Time since start.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn stderr(&self) -> String {
        fs::read_to_string(self.dir.join("stderr")).unwrap_or_default()
    }

    pub fn stdout(&self) -> String {
        fs::read_to_string(self.dir.join("stdout")).unwrap_or_default()
    }

    /// Waits until init's stderr contains `needle`.
    pub fn wait_for_log(&self, needle: &str) {
        wait_until(&format!("init to log {needle:?}"), DEADLINE, || self.stderr().contains(needle));
    }

    /// Waits for `name` in the test dir (the child's "ready" flags) and returns its contents.
    pub fn wait_for_file(&self, name: &str) -> String {
        wait_for_file(&self.dir.join(name))
    }

    pub fn read(&self, name: &str) -> String {
        fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }
}

impl Drop for Init {
    fn drop(&mut self) {
        if let (Mode::Direct, Some(me)) = (self.mode, self.pid) {
            for pid in descendants(me) {
                let _ = kill(pid, Signal::SIGKILL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `init` with a clean environment (PATH only), so the host's variables
/// (`SSL_CERT_FILE`, cargo's `CARGO_PKG_*_FILE`...) cannot leak into a test.
pub fn init_cmd() -> Command {
    let mut cmd = Command::new(INIT);
    cmd.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd
}

/// Runs `init ARGS` to completion without a namespace; returns (code, stdout, stderr).
pub fn run_init<I, S>(args: I) -> (i32, String, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let dir = TempDir::new("run");
    let out = init_cmd()
        .args(args)
        .env("INIT_RUN_DIR", dir.join("run"))
        .stdin(Stdio::null())
        .output()
        .expect("run init");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A finished command's stdout, as text.
pub fn stdout_of(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A finished command's stderr, as text.
pub fn stderr_of(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Reads everything a pipe or pty gives until EOF or error (EIO on a closed pty).
pub fn drain_to_string(mut r: impl Read) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = r.read(&mut chunk) {
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(&buf).into_owned()
}
