//! Every `unsafe` block and raw system call of mooring lives here or in the
//! submodules below (fork/exec in `exec`, the allocator in `alloc`), each
//! with a `// SAFETY:` comment saying why it holds. The rest of the crate is
//! `#![deny(unsafe_code)]` and calls these small, safe wrappers; the `allow`
//! below covers the submodules too.
// One of the two layers allowed path-based filesystem calls (clippy.toml).
#![allow(clippy::disallowed_methods)]
#![allow(unsafe_code)]

pub mod alloc;
mod exec;

use std::ffi::c_int;
use std::os::fd::RawFd;

use nix::errno::Errno;
use nix::unistd::Pid;

pub use exec::{ExecPlan, Ids, SpawnError, spawn, spawn_then};

/// The process entry point. mooring takes argc/argv from the C runtime itself
/// (`#![no_main]` in main.rs) because std's own start-up sets SIGPIPE to
/// SIG_IGN, and PID 1 must hand its children exactly the dispositions it was
/// given, not ones std chose.
#[cfg(not(test))]
mod entry {
    use std::ffi::{CStr, OsString, c_char, c_int};
    use std::os::unix::ffi::OsStringExt;

    #[unsafe(no_mangle)]
    extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
        let count = usize::try_from(argc).unwrap_or(0);
        let mut args = Vec::with_capacity(count);
        for i in 0..count {
            // SAFETY: the C runtime passes `argc` valid, NUL-terminated strings
            // in `argv`, which live for the whole process.
            let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
            args.push(OsString::from_vec(arg.to_bytes().to_vec()));
        }
        crate::main_with_args(args)
    }
}

/// Runs `f` in a forked copy of init, in its own process group, and exits
/// with what it returns: for work that may block (a DNS lookup, a connect)
/// and must not hold up PID 1's loop. Returns the child's pid.
pub fn fork_call(f: impl FnOnce() -> i32) -> Result<Pid, Errno> {
    // SAFETY: init is single-threaded whenever it forks (no thread outlives
    // setup), so the child's copy of every lock and allocator is consistent
    // and it may run ordinary code; it leaves with _exit, flushing nothing
    // of the parent's buffers twice.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(Errno::last()),
        0 => {
            // SAFETY: setpgid on ourselves has no memory effects.
            unsafe { libc::setpgid(0, 0) };
            let code = f();
            // SAFETY: _exit ends the child at once, as intended.
            unsafe { libc::_exit(code) }
        }
        child => {
            let child = Pid::from_raw(child);
            let _ = nix::unistd::setpgid(child, child);
            Ok(child)
        }
    }
}

/// Sends signal number `signo` (real-time ones included, which nix's `Signal`
/// cannot name) to `pid` (negative: a process group; -1: everything).
pub fn kill(pid: i32, signo: c_int) -> Result<(), Errno> {
    // SAFETY: kill(2) takes plain integers and has no memory effects.
    let rc = unsafe { libc::kill(pid, signo) };
    Errno::result(rc).map(drop)
}

/// Takes one pending signal of the blocked `set`, waiting up to `timeout`
/// (`None`: for ever): its number and sender pid (0 from the kernel), or
/// `None` when the time ran out. As tini waits: one system call per signal.
pub fn sigtimedwait(
    set: &nix::sys::signal::SigSet,
    timeout: Option<std::time::Duration>,
) -> Result<Option<(c_int, i32)>, Errno> {
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX) as _,
        tv_nsec: libc::c_long::from(d.subsec_nanos() as i32),
    });
    let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: an all-zero siginfo_t is a valid value for the kernel to fill in.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // EINTR (a tracer, a stop) is tried again at once, a few times: a
    // persistent one is the caller's to report, not a busy loop here.
    for _ in 0..8 {
        // SAFETY: `set` is a valid sigset_t, `info` a writable siginfo_t, and
        // `ts_ptr` null or a timespec that outlives the call.
        let rc = unsafe { libc::sigtimedwait(set.as_ref(), &mut info, ts_ptr) };
        match Errno::result(rc) {
            Ok(signo) => {
                // SAFETY: si_pid reads the union member the kernel set for
                // signals sent by a process or for SIGCHLD (0 otherwise).
                let sender = unsafe { info.si_pid() };
                return Ok(Some((signo, sender)));
            }
            Err(Errno::EAGAIN) => return Ok(None),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Errno::EINTR)
}

/// True when the kernel started this process in secure-exec mode: set-uid or
/// set-gid bit, or file capabilities.
pub fn secure_exec() -> bool {
    // SAFETY: getauxval(3) reads the auxiliary vector and has no preconditions.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}

/// The window size of terminal `fd`, if it is one.
pub fn window_size(fd: RawFd) -> Option<libc::winsize> {
    let mut ws = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one winsize into the valid struct we pass.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0).then_some(ws)
}

/// Sets the window size of terminal `fd` (the kernel sends SIGWINCH to its
/// foreground group).
pub fn set_window_size(fd: RawFd, ws: &libc::winsize) {
    // SAFETY: TIOCSWINSZ reads one winsize from the valid struct we pass.
    unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, ws) };
}

/// True when `fd` is a terminal.
pub fn isatty(fd: RawFd) -> bool {
    // SAFETY: isatty(3) only queries the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

/// A second open file description of `fd`'s pipe or terminal, for writing
/// without blocking (`/proc/self/fd/N` reopened with O_NONBLOCK and no
/// controlling terminal taken): the shared one, which children inherit,
/// keeps its flags (src/outlet.rs).
pub fn reopen_for_writing(fd: std::os::fd::BorrowedFd<'_>) -> Result<std::os::fd::OwnedFd, Errno> {
    use nix::fcntl::OFlag;
    use std::os::fd::AsRawFd;
    let flags = OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
    nix::fcntl::open(path.as_str(), flags, nix::sys::stat::Mode::empty())
}
