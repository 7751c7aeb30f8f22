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
    /// Identity to drop to before exec.
    ids: Option<Ids>,
    no_new_privs: bool,
    /// A pty slave to become the child's stdio and controlling terminal, in
    /// a new session (`init shell`).
    pty: Option<RawFd>,
    /// Pipes to become the child's stdout and stderr (a service's `output = "prefix"`).
    output: Option<(RawFd, RawFd)>,
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
            output: None,
        }
    }

    /// Runs the child with `out` and `err` as its stdout and stderr.
    pub fn with_output(mut self, output: Option<(RawFd, RawFd)>) -> Self {
        self.output = output;
        self
    }

    /// Runs the child in a new session on the pty slave `fd`.
    pub fn on_pty(mut self, fd: RawFd) -> Self {
        self.pty = Some(fd);
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
        let (stage, errno) = exec_child(plan);
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&stage.to_ne_bytes());
        bytes[4..].copy_from_slice(&errno.to_ne_bytes());
        // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer is on
        // our stack. A failed write leaves the parent to see an exit code only.
        unsafe {
            libc::write(report_wr.as_raw_fd(), bytes.as_ptr().cast(), bytes.len());
            libc::_exit(if errno == libc::ENOENT && stage == STAGE_EXEC { 127 } else { 126 });
        }
    }
    let child = Pid::from_raw(pid);
    drop(report_wr);
    // Both sides set the group, so that whichever runs first, the group exists
    // before init forwards anything to it. EACCES after the child's exec is fine.
    if plan.pty.is_none() {
        let _ = nix::unistd::setpgid(child, child);
    }
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

/// Runs in the forked child: returns only on failure, with the stage that
/// failed and its errno (for exec, the one execvp(3) would report).
fn exec_child(plan: &ExecPlan) -> (i32, c_int) {
    // SAFETY: only async-signal-safe calls on data prepared before the fork.
    unsafe {
        let errno = || *libc::__errno_location();
        if let Some(pty) = plan.pty {
            // A new session whose controlling terminal is the fresh pty: the
            // child never holds a descriptor of init's own terminal.
            if libc::setsid() < 0 || libc::ioctl(pty, libc::TIOCSCTTY, 0) != 0 {
                return (STAGE_IDS, errno());
            }
            for fd in 0..3 {
                if libc::dup2(pty, fd) < 0 {
                    return (STAGE_IDS, errno());
                }
            }
            // Nothing else of root's crosses over: no descriptor of its
            // terminal (a shell's saved tty fd), the pty master, or anything else.
            if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) != 0 {
                for fd in 3..1024 {
                    libc::close(fd);
                }
            }
        } else {
            libc::setpgid(0, 0);
        }
        if let Some((out, err)) = plan.output
            && (libc::dup2(out, 1) < 0 || libc::dup2(err, 2) < 0)
        {
            return (STAGE_IDS, errno());
        }
        if let Some(tty) = plan.tty.filter(|_| plan.pty.is_none()) {
            // SIGTTOU is still blocked here (the mask is restored below), so a
            // background group may take the terminal.
            libc::tcsetpgrp(tty, libc::getpid());
        }
        if let Some(ids) = &plan.ids {
            let groups: &[libc::gid_t] = &ids.groups;
            if libc::setgroups(groups.len(), groups.as_ptr()) != 0
                || libc::setgid(ids.gid) != 0
                || libc::setuid(ids.uid) != 0
            {
                return (STAGE_IDS, errno());
            }
            // Verify: a drop that silently left any root id behind is a failure.
            if libc::getuid() != ids.uid
                || libc::geteuid() != ids.uid
                || libc::getgid() != ids.gid
                || libc::getegid() != ids.gid
            {
                return (STAGE_IDS, libc::EPERM);
            }
            if ids.uid != 0 && libc::setuid(0) == 0 {
                return (STAGE_IDS, libc::EPERM);
            }
        }
        if plan.no_new_privs && libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return (STAGE_IDS, errno());
        }
        if let Some(dir) = &plan.workdir
            && libc::chdir(dir.as_ptr()) != 0
        {
            return (STAGE_WORKDIR, errno());
        }
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

/// The process allocator. The first allocations (command line, config,
/// preparation) are bumped out of a fixed 64 KiB arena and never reused;
/// musl's malloc serves everything after, and anything large. musl's
/// allocator maps and unmaps pages eagerly: without the arena, parsing the
/// command line alone made ~40 mmap/munmap calls, a tenth of `init --
/// /bin/true`'s time. The arena is bss: untouched pages cost nothing.
pub mod alloc {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::UnsafeCell;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const SIZE: usize = 64 * 1024;
    /// Larger requests go straight to malloc: they would use up the arena.
    const LARGEST: usize = 4 * 1024;

    #[repr(C, align(16))]
    struct Arena(UnsafeCell<[u8; SIZE]>);

    // SAFETY: disjoint parts of the arena are handed out once each, through
    // the atomic bump below; nobody reads it through `Arena` itself.
    unsafe impl Sync for Arena {}

    static ARENA: Arena = Arena(UnsafeCell::new([0; SIZE]));
    static USED: AtomicUsize = AtomicUsize::new(0);

    pub struct StartupArena;

    fn base() -> usize {
        ARENA.0.get() as usize
    }

    fn in_arena(ptr: *mut u8) -> bool {
        (base()..base() + SIZE).contains(&(ptr as usize))
    }

    fn bump(layout: Layout) -> Option<*mut u8> {
        if layout.size() > LARGEST || layout.align() > 4096 {
            return None;
        }
        let mut used = USED.load(Ordering::Relaxed);
        loop {
            let start = (base() + used).next_multiple_of(layout.align()) - base();
            let end = start.checked_add(layout.size())?;
            if end > SIZE {
                return None;
            }
            match USED.compare_exchange_weak(used, end, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Some((base() + start) as *mut u8),
                Err(now) => used = now,
            }
        }
    }

    // SAFETY: every pointer returned is either a fresh, suitably aligned,
    // never-shared range of the arena or comes from `System`; arena pointers
    // are never passed to `System`, and `System` pointers are freed by it.
    unsafe impl GlobalAlloc for StartupArena {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            match bump(layout) {
                Some(p) => p,
                // SAFETY: forwarded with the caller's valid layout.
                None => unsafe { System.alloc(layout) },
            }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            if !in_arena(ptr) {
                // SAFETY: not an arena pointer, so `System` allocated it with `layout`.
                unsafe { System.dealloc(ptr, layout) }
            }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            if !in_arena(ptr) {
                // SAFETY: `System` allocated `ptr` with `layout`.
                return unsafe { System.realloc(ptr, layout, new_size) };
            }
            // SAFETY: the caller guarantees `new_size` with this alignment is a valid layout.
            let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
            // SAFETY: a valid layout, as above.
            let new = unsafe { self.alloc(new_layout) };
            if !new.is_null() {
                // SAFETY: both ranges are valid for the smaller size and do not overlap.
                unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
            }
            new
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn growing_out_of_the_arena_keeps_the_contents() {
            let a = StartupArena;
            let small = Layout::from_size_align(64, 8).unwrap();
            // SAFETY: valid layouts; every pointer is used within its size and freed once.
            unsafe {
                let p = a.alloc(small);
                assert!(!p.is_null());
                for i in 0..64 {
                    *p.add(i) = i as u8;
                }
                let q = a.realloc(p, small, LARGEST * 4);
                assert!(!q.is_null() && !in_arena(q), "a large block comes from malloc");
                assert!((0..64).all(|i| *q.add(i) == i as u8));
                a.dealloc(q, Layout::from_size_align(LARGEST * 4, 8).unwrap());
            }
            assert!(bump(Layout::from_size_align(LARGEST + 1, 8).unwrap()).is_none());
        }
    }
}
