//! A command on a fresh pseudo-terminal, as `docker run -it` gives it, for
//! the tests that type into it (Ctrl-C, job control, `init shell`).

use std::time::Duration;

use std::process::Command;

use super::{DEADLINE, TempDir, wait_until};

/// A command on a fresh pseudo-terminal that is its session's controlling
/// terminal, as `docker run -it` gives it; the test types into the master.
pub struct OnTty {
    init: std::process::Child,
    master: std::fs::File,
    output: std::sync::Arc<std::sync::Mutex<String>>,
    _dir: TempDir,
}

impl OnTty {
    /// Starts `argv` (the first element is the program) on the pty.
    pub fn start(argv: &[&str]) -> OnTty {
        OnTty::start_sized(argv, None)
    }

    /// As `start`, with the terminal's window size set first.
    pub fn start_sized(argv: &[&str], size: Option<(u16, u16)>) -> OnTty {
        use std::os::unix::process::CommandExt;
        let ws = size.map(|(rows, cols)| nix::pty::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        });
        let pty = nix::pty::openpty(ws.as_ref(), None).expect("openpty");
        let slave = std::fs::File::from(pty.slave);
        let dir = TempDir::new("tty");
        let mut cmd = Command::new(argv[0]);
        cmd.args(&argv[1..])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .current_dir(dir.path())
            .env("INIT_RUN_DIR", dir.join("run"))
            .env("TERM", "dumb")
            .env("PS1", "$ ")
            // A podman store elsewhere than scripts/podman.sh's default.
            .envs(
                ["MOORING_PODMAN_DIR", "MOORING_PODMAN_RUN"]
                    .iter()
                    .filter_map(|k| Some((k, std::env::var_os(k)?))),
            )
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave);
        // SAFETY (test): setsid, TIOCSCTTY and signal are async-signal-safe.
        // A user at a terminal has Ctrl-C and Ctrl-\ at their defaults; a
        // test run as a background job of a non-interactive shell inherits
        // them ignored, and init rightly passes that on to its children.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY, 0);
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                libc::signal(libc::SIGQUIT, libc::SIG_DFL);
                Ok(())
            });
        }
        let init = cmd.spawn().expect("spawn init on a pty");
        drop(cmd);
        let master = std::fs::File::from(pty.master);
        let output = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (reader, sink) = (master.try_clone().unwrap(), output.clone());
        std::thread::spawn(move || {
            use std::io::Read;
            let mut reader = reader;
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        OnTty { init, master, output, _dir: dir }
    }

    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    pub fn wait_for_output(&self, needle: &str) {
        wait_until(&format!("{needle:?} on the terminal"), DEADLINE, || self.output().contains(needle));
    }

    pub fn type_in(&mut self, bytes: &[u8]) {
        use std::io::Write;
        self.master.write_all(bytes).unwrap();
    }

    /// With `unshare --pid --fork` as the command: init's pid, seen from the test.
    pub fn namespace_pid(&mut self) -> Option<nix::unistd::Pid> {
        super::namespace_pid_of(&mut self.init)
    }

    /// The exit code if the command ends within `limit`, else `None`.
    pub fn wait_within(&mut self, limit: Duration) -> Option<i32> {
        use std::os::unix::process::ExitStatusExt;
        let end = std::time::Instant::now() + limit;
        loop {
            if let Some(s) = self.init.try_wait().unwrap() {
                return Some(s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0)));
            }
            if std::time::Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn wait(&mut self) -> i32 {
        use std::os::unix::process::ExitStatusExt;
        let end = std::time::Instant::now() + DEADLINE;
        loop {
            if let Some(s) = self.init.try_wait().unwrap() {
                return s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0));
            }
            assert!(std::time::Instant::now() < end, "init did not exit; terminal:\n{}", self.output());
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for OnTty {
    fn drop(&mut self) {
        let _ = self.init.kill();
        let _ = self.init.wait();
    }
}
