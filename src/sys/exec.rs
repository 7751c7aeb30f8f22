//! Fork and exec of a prepared command (`ExecPlan`): the parent builds every
//! string and pointer array before the fork; the child only makes
//! async-signal-safe calls on them, then execs, or reports the failed step
//! and its errno to the parent through a close-on-exec pipe.

use std::ffi::{CString, c_char, c_int};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::SigSet;
use nix::unistd::Pid;

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
    /// Identity to drop to before exec.
    ids: Option<Ids>,
    no_new_privs: bool,
    /// A pty slave to become the child's stdio and controlling terminal, in
    /// a new session (`init shell`).
    pty: Option<RawFd>,
    /// A new session without a controlling terminal: a child switched to
    /// another user that is handed no terminal (docs/security.md).
    no_terminal: bool,
    /// Pipes to become the child's stdout and stderr (a service's `output = "prefix"`).
    output: Option<(RawFd, RawFd)>,
    /// A pipe's write end to become the child's descriptor N (`ready = { fd = N }`).
    ready_fd: Option<(RawFd, c_int)>,
}

/// uid, gid and the full group list of a privilege drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// Where in the child a failure happened (reported to the parent with its errno).
const STAGE_EXEC: i32 = 0;
const STAGE_WORKDIR: i32 = 1;
const STAGE_IDS: i32 = 2;

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
        ExecPlan {
            candidates,
            _argv: argv,
            argv_ptrs,
            _envp: envp,
            envp_ptrs,
            mask,
            tty,
            workdir,
            ids: None,
            no_new_privs: false,
            pty: None,
            no_terminal: false,
            output: None,
            ready_fd: None,
        }
    }

    /// Runs the child with `out` and `err` as its stdout and stderr.
    pub fn with_output(mut self, output: Option<(RawFd, RawFd)>) -> Self {
        self.output = output;
        self
    }

    /// Gives the child `src` as its descriptor `n`.
    pub fn with_ready_fd(mut self, ready_fd: Option<(RawFd, c_int)>) -> Self {
        self.ready_fd = ready_fd;
        self
    }

    /// Runs the child in a new session on the pty slave `fd`.
    pub fn on_pty(mut self, fd: RawFd) -> Self {
        self.pty = Some(fd);
        self
    }

    /// Runs the child in a new session with no controlling terminal.
    pub fn without_terminal(mut self, yes: bool) -> Self {
        self.no_terminal = yes;
        self
    }

    /// Drops to `ids` (setgroups, setgid, setuid, verified) before exec.
    pub fn with_ids(mut self, ids: Option<Ids>, no_new_privs: bool) -> Self {
        self.ids = ids;
        self.no_new_privs = no_new_privs;
        self
    }
}

fn null_terminated(strings: &[CString]) -> Vec<*const c_char> {
    strings.iter().map(|s| s.as_ptr()).chain(std::iter::once(ptr::null())).collect()
}

/// Forks and execs `plan` in a new process group. Returns the child's pid, or
/// the errno of the failed exec (the child has then exited and been reaped).
pub fn spawn(plan: &ExecPlan) -> Result<Pid, SpawnError> {
    fork_exec(plan, None)
}

/// As `spawn`, with `before_exec` run in the parent once the child exists and
/// before it may exec: the child waits for it on a close-on-exec pipe. What
/// `before_exec` does (writing the status file with the child's pid) is
/// therefore done before the command runs.
pub fn spawn_then(plan: &ExecPlan, before_exec: &mut dyn FnMut(Pid)) -> Result<Pid, SpawnError> {
    fork_exec(plan, Some(before_exec))
}

fn fork_exec(plan: &ExecPlan, before_exec: Option<&mut dyn FnMut(Pid)>) -> Result<Pid, SpawnError> {
    let pipe = || nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| SpawnError::Fork(e, "pipe2"));
    let (report_rd, mut report_wr) = pipe()?;
    // The child's report must not land on the descriptor its ready fd takes.
    if let Some((_, n)) = plan.ready_fd
        && report_wr.as_raw_fd() == n
    {
        let moved = nix::fcntl::fcntl(&report_wr, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(n + 1))
            .map_err(|e| SpawnError::Fork(e, "fcntl"))?;
        // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor that nothing else owns.
        report_wr = unsafe { OwnedFd::from_raw_fd(moved) };
    }
    let gate = before_exec.is_some().then(pipe).transpose()?;
    // SAFETY: init is single-threaded when it forks (no thread pool outlives
    // setup), and the child only calls async-signal-safe functions on memory
    // prepared before the fork, then execs or `_exit`s.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(SpawnError::Fork(Errno::last(), "fork"));
    }
    if pid == 0 {
        if let Some((go, held)) = &gate {
            await_parent(go.as_raw_fd(), held.as_raw_fd());
        }
        report_and_exit(report_wr.as_raw_fd(), exec_child(plan));
    }
    let child = Pid::from_raw(pid);
    drop(report_wr);
    // Both sides set the group, so that whichever runs first, the group exists
    // before init forwards anything to it. EACCES after the child's exec is fine.
    // A child making a session of its own must not be a group leader first
    // (setsid would fail); its session exists once its report came, before
    // spawn returns.
    if plan.pty.is_none() && !plan.no_terminal {
        let _ = nix::unistd::setpgid(child, child);
    }
    if let Some(before_exec) = before_exec {
        before_exec(child);
    }
    // The child's end of the gate sees EOF: it goes on to exec.
    drop(gate);
    match read_report(&report_rd) {
        None => Ok(child),
        Some((stage, errno)) => {
            let _ = nix::sys::wait::waitpid(child, None);
            let errno = Errno::from_raw(errno);
            Err(match stage {
                STAGE_WORKDIR => SpawnError::Workdir(errno),
                STAGE_IDS => SpawnError::Ids(errno),
                _ => SpawnError::Exec(errno),
            })
        }
    }
}

/// In the child: closes its copy of the gate's write end `held`, then blocks
/// on the read end `fd` until the parent closes its own (EOF; or it died).
fn await_parent(fd: RawFd, held: RawFd) {
    let mut byte = 0u8;
    // SAFETY: close(2) and read(2) into one byte on our stack are
    // async-signal-safe; the child never uses `held` again.
    unsafe {
        libc::close(held);
        while libc::read(fd, (&raw mut byte).cast(), 1) < 0 && errno() == libc::EINTR {}
    }
}

/// In the child, after a failed step: tells the parent which and why, and exits.
fn report_and_exit(fd: RawFd, (stage, errno): Failure) -> ! {
    let mut bytes = [0u8; 8];
    bytes[..4].copy_from_slice(&stage.to_ne_bytes());
    bytes[4..].copy_from_slice(&errno.to_ne_bytes());
    // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer is on
    // our stack. A failed write leaves the parent to see an exit code only.
    unsafe {
        libc::write(fd, bytes.as_ptr().cast(), bytes.len());
        libc::_exit(if errno == libc::ENOENT && stage == STAGE_EXEC { 127 } else { 126 })
    }
}

/// Reads the child's exec report: EOF means the exec succeeded (the pipe was
/// closed by O_CLOEXEC); otherwise the stage that failed and its errno.
fn read_report(fd: &OwnedFd) -> Option<(i32, i32)> {
    let mut buf = [0u8; 8];
    let mut got = 0;
    while got < buf.len() {
        match nix::unistd::read(fd, &mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
    let word = |i: usize| i32::from_ne_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
    (got == buf.len()).then(|| (word(0), word(4)))
}

/// A failed step in the child: its stage (`STAGE_*`) and errno.
type Failure = (i32, c_int);

/// Runs in the forked child: returns only on failure, with the stage that
/// failed and its errno (for exec, the one execvp(3) would report). Each
/// step below runs between fork and exec, so it is async-signal-safe: no
/// allocation, no logging, only data prepared before the fork.
fn exec_child(plan: &ExecPlan) -> Failure {
    let prepared = enter_session_or_group(plan)
        .and_then(|()| redirect_output(plan))
        .and_then(|()| take_terminal(plan))
        .and_then(|()| drop_privileges(plan))
        .and_then(|()| enter_workdir(plan));
    match prepared {
        Ok(()) => exec_candidates(plan),
        Err(failure) => failure,
    }
}

/// The errno of the last failed call.
fn errno() -> c_int {
    // SAFETY: __errno_location returns the calling thread's errno slot,
    // valid for the thread's lifetime; reading it is async-signal-safe.
    unsafe { *libc::__errno_location() }
}

/// On a pty: a new session with the pty as controlling terminal and stdio,
/// and no other descriptor. Without a terminal: a new session (its group
/// too), so `/dev/tty` fails for the child. Otherwise: its own process group.
fn enter_session_or_group(plan: &ExecPlan) -> Result<(), Failure> {
    let Some(pty) = plan.pty else {
        // SAFETY: setsid and setpgid (on ourselves) have no memory effects
        // and are async-signal-safe.
        let rc = unsafe { if plan.no_terminal { libc::setsid() } else { libc::setpgid(0, 0) } };
        return if plan.no_terminal && rc < 0 { Err((STAGE_IDS, errno())) } else { Ok(()) };
    };
    // SAFETY: setsid, ioctl(TIOCSCTTY), dup2, close_range and close take
    // plain integers and are async-signal-safe.
    unsafe {
        // A new session whose controlling terminal is the fresh pty: the
        // child never holds a descriptor of init's own terminal.
        if libc::setsid() < 0 || libc::ioctl(pty, libc::TIOCSCTTY, 0) != 0 {
            return Err((STAGE_IDS, errno()));
        }
        for fd in 0..3 {
            if libc::dup2(pty, fd) < 0 {
                return Err((STAGE_IDS, errno()));
            }
        }
        // Nothing else of root's crosses over: no descriptor of its
        // terminal (a shell's saved tty fd), the pty master, or anything else.
        if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) != 0 {
            for fd in 3..1024 {
                libc::close(fd);
            }
        }
    }
    Ok(())
}

/// A service's `output = "prefix"` pipes become its stdout and stderr, and
/// its ready pipe its descriptor N (kept open across exec).
fn redirect_output(plan: &ExecPlan) -> Result<(), Failure> {
    if let Some((out, err)) = plan.output
        // SAFETY: dup2 takes plain integers and is async-signal-safe.
        && unsafe { libc::dup2(out, 1) < 0 || libc::dup2(err, 2) < 0 }
    {
        return Err((STAGE_IDS, errno()));
    }
    if let Some((src, n)) = plan.ready_fd {
        // SAFETY: dup2 and fcntl take plain integers and are async-signal-safe;
        // a descriptor dup2 makes has no close-on-exec flag.
        let rc = unsafe { if src == n { libc::fcntl(n, libc::F_SETFD, 0) } else { libc::dup2(src, n) } };
        if rc < 0 {
            return Err((STAGE_IDS, errno()));
        }
    }
    Ok(())
}

/// Hands init's terminal to the child's process group (not on a pty, where
/// the child's session has its own).
fn take_terminal(plan: &ExecPlan) -> Result<(), Failure> {
    if let Some(tty) = plan.tty.filter(|_| plan.pty.is_none()) {
        // SIGTTOU is still blocked here (the mask is restored just before
        // exec), so a background group may take the terminal.
        // SAFETY: tcsetpgrp and getpid take plain integers and are async-signal-safe.
        unsafe { libc::tcsetpgrp(tty, libc::getpid()) };
    }
    Ok(())
}

/// Drops to the plan's ids and verifies the drop; sets no_new_privs.
fn drop_privileges(plan: &ExecPlan) -> Result<(), Failure> {
    if let Some(ids) = &plan.ids {
        let groups: &[libc::gid_t] = &ids.groups;
        // SAFETY: setgroups reads `groups.len()` gids from a slice allocated
        // before the fork; the id calls take plain integers. All are
        // async-signal-safe.
        unsafe {
            if libc::setgroups(groups.len(), groups.as_ptr()) != 0
                || libc::setgid(ids.gid) != 0
                || libc::setuid(ids.uid) != 0
            {
                return Err((STAGE_IDS, errno()));
            }
            // Verify: a drop that silently left any root id behind is a failure.
            if libc::getuid() != ids.uid
                || libc::geteuid() != ids.uid
                || libc::getgid() != ids.gid
                || libc::getegid() != ids.gid
            {
                return Err((STAGE_IDS, libc::EPERM));
            }
            if ids.uid != 0 && libc::setuid(0) == 0 {
                return Err((STAGE_IDS, libc::EPERM));
            }
        }
    }
    // SAFETY: prctl(PR_SET_NO_NEW_PRIVS) takes plain integers and is async-signal-safe.
    if plan.no_new_privs && unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err((STAGE_IDS, errno()));
    }
    Ok(())
}

fn enter_workdir(plan: &ExecPlan) -> Result<(), Failure> {
    if let Some(dir) = &plan.workdir
        // SAFETY: `dir` is a NUL-terminated string made before the fork.
        && unsafe { libc::chdir(dir.as_ptr()) } != 0
    {
        return Err((STAGE_WORKDIR, errno()));
    }
    Ok(())
}

/// Restores the inherited signal mask and tries each candidate path in
/// turn; returns only when none could be executed.
fn exec_candidates(plan: &ExecPlan) -> Failure {
    // SAFETY: the mask, paths and NULL-terminated argv/envp pointer arrays
    // were all built before the fork and outlive these calls; sigprocmask
    // and execve are async-signal-safe.
    unsafe {
        libc::sigprocmask(libc::SIG_SETMASK, plan.mask.as_ref(), ptr::null_mut());
        let mut result = libc::ENOENT;
        for path in &plan.candidates {
            libc::execve(path.as_ptr(), plan.argv_ptrs.as_ptr(), plan.envp_ptrs.as_ptr());
            match errno() {
                libc::ENOENT | libc::ENOTDIR => {}
                libc::EACCES => result = libc::EACCES,
                other => return (STAGE_EXEC, other),
            }
        }
        (STAGE_EXEC, result)
    }
}

#[derive(Debug)]
pub enum SpawnError {
    Fork(Errno, &'static str),
    Exec(Errno),
    Workdir(Errno),
    Ids(Errno),
}
