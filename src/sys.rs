//! Every `unsafe` block and raw system call of mooring lives here, each with a
//! `// SAFETY:` comment saying why it holds. The rest of the crate is
//! `#![deny(unsafe_code)]` and calls these small, safe wrappers.
#![allow(unsafe_code)]

use std::ffi::{CString, c_char, c_int};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::ptr;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::SigSet;
use nix::unistd::Pid;

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

/// Everything the forked child needs, allocated before the fork so that the
/// child does nothing between fork and exec that is not async-signal-safe.
pub struct ExecPlan {
    /// Full paths to try in order (PATH search done by the parent).
    candidates: Vec<CString>,
    _argv: Vec<CString>,
    argv_ptrs: Vec<*const c_char>,
    _envp: Vec<CString>,
    envp_ptrs: Vec<*const c_char>,
    /// The mask the child gets back: the one init inherited.
    mask: SigSet,
    /// Terminal to hand to the child's process group, if stdin is one.
    tty: Option<RawFd>,
    /// Directory to change to before exec.
    workdir: Option<CString>,
}

impl ExecPlan {
    pub fn new(
        candidates: Vec<CString>,
        argv: Vec<CString>,
        envp: Vec<CString>,
        mask: SigSet,
        tty: Option<RawFd>,
        workdir: Option<CString>,
    ) -> Self {
        let argv_ptrs = null_terminated(&argv);
        let envp_ptrs = null_terminated(&envp);
        ExecPlan { candidates, _argv: argv, argv_ptrs, _envp: envp, envp_ptrs, mask, tty, workdir }
    }
}

fn null_terminated(strings: &[CString]) -> Vec<*const c_char> {
    strings.iter().map(|s| s.as_ptr()).chain(std::iter::once(ptr::null())).collect()
}

/// Forks and execs `plan` in a new process group. Returns the child's pid, or
/// the errno of the failed exec (the child has then exited and been reaped).
pub fn spawn(plan: &ExecPlan) -> Result<Pid, SpawnError> {
    let (report_rd, report_wr) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| SpawnError::Fork(e, "pipe2"))?;
    // SAFETY: init is single-threaded when it forks (no thread pool outlives
    // setup), and the child only calls async-signal-safe functions on memory
    // prepared before the fork, then execs or `_exit`s.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(SpawnError::Fork(Errno::last(), "fork"));
    }
    if pid == 0 {
        let errno = exec_child(plan);
        let bytes = errno.to_ne_bytes();
        // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer is on
        // our stack. A failed write leaves the parent to see an exit code only.
        unsafe {
            libc::write(report_wr.as_raw_fd(), bytes.as_ptr().cast(), bytes.len());
            libc::_exit(if errno == libc::ENOENT { 127 } else { 126 });
        }
    }
    let child = Pid::from_raw(pid);
    drop(report_wr);
    // Both sides set the group, so that whichever runs first, the group exists
    // before init forwards anything to it. EACCES after the child's exec is fine.
    let _ = nix::unistd::setpgid(child, child);
    match read_report(&report_rd) {
        None => Ok(child),
        Some(errno) => {
            let _ = nix::sys::wait::waitpid(child, None);
            Err(if errno < 0 {
                SpawnError::Workdir(Errno::from_raw(-errno))
            } else {
                SpawnError::Exec(Errno::from_raw(errno))
            })
        }
    }
}

/// Reads the child's exec report: EOF means the exec succeeded (the pipe was
/// closed by O_CLOEXEC), four bytes are the errno of the failed exec.
fn read_report(fd: &OwnedFd) -> Option<i32> {
    let mut buf = [0u8; 4];
    let mut got = 0;
    while got < buf.len() {
        match nix::unistd::read(fd, &mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
    (got == buf.len()).then(|| i32::from_ne_bytes(buf))
}

/// Runs in the forked child: returns only if every exec failed, with the errno
/// execvp(3) would report.
fn exec_child(plan: &ExecPlan) -> c_int {
    // SAFETY: only async-signal-safe calls on data prepared before the fork.
    unsafe {
        libc::setpgid(0, 0);
        if let Some(tty) = plan.tty {
            // SIGTTOU is still blocked here (the mask is restored below), so a
            // background group may take the terminal.
            libc::tcsetpgrp(tty, libc::getpid());
        }
        if let Some(dir) = &plan.workdir
            && libc::chdir(dir.as_ptr()) != 0
        {
            // Negative: the parent tells a bad workdir from a bad program.
            return -*libc::__errno_location();
        }
        libc::sigprocmask(libc::SIG_SETMASK, plan.mask.as_ref(), ptr::null_mut());
        let mut result = libc::ENOENT;
        for path in &plan.candidates {
            libc::execve(path.as_ptr(), plan.argv_ptrs.as_ptr(), plan.envp_ptrs.as_ptr());
            match *libc::__errno_location() {
                libc::ENOENT | libc::ENOTDIR => {}
                libc::EACCES => result = libc::EACCES,
                other => return other,
            }
        }
        result
    }
}

#[derive(Debug)]
pub enum SpawnError {
    Fork(Errno, &'static str),
    Exec(Errno),
    Workdir(Errno),
}

/// Sends signal number `signo` (real-time ones included, which nix's `Signal`
/// cannot name) to `pid` (negative: a process group; -1: everything).
pub fn kill(pid: i32, signo: c_int) -> Result<(), Errno> {
    // SAFETY: kill(2) takes plain integers and has no memory effects.
    let rc = unsafe { libc::kill(pid, signo) };
    Errno::result(rc).map(drop)
}

/// True when the kernel started this process in secure-exec mode: set-uid or
/// set-gid bit, or file capabilities.
pub fn secure_exec() -> bool {
    // SAFETY: getauxval(3) reads the auxiliary vector and has no preconditions.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}

/// True when `fd` is a terminal.
pub fn isatty(fd: RawFd) -> bool {
    // SAFETY: isatty(3) only queries the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}
