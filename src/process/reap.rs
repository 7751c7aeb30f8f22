//! Reaping and finding what is left: a `waitpid(-1, WNOHANG)` drain that
//! returns every status it collected (so the caller can pick out the children
//! it supervises), and a /proc walk for a subreaper's descendants.

use nix::errno::Errno;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use tracing::warn;

use mooring::procfs;

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    /// The shell convention, as tini reports it: the code, or 128 + signal.
    pub fn code(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s,
        }
    }

    /// `code` as the byte init itself exits with.
    pub fn byte(self) -> u8 {
        u8::try_from(self.code()).unwrap_or(u8::MAX)
    }

    /// The main command's end as init's own code: `byte`, or 0 when
    /// `--remap-exit` names it (docs/reference.md).
    pub fn remapped(self, remap: &[u8]) -> u8 {
        let code = self.byte();
        if remap.contains(&code) { 0 } else { code }
    }
}

/// Collects every child that has ended, without blocking, handing each to
/// `on_exit`. Returns true when no child is left at all (ECHILD). Allocates
/// nothing: it runs once per SIGCHLD, thousands of times in an orphan burst.
pub fn drain(mut on_exit: impl FnMut(Pid, Exit)) -> bool {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => return false,
            Ok(status) => {
                if let Some((pid, exit)) = ended(status) {
                    on_exit(pid, exit);
                }
            }
            Err(Errno::EINTR) => continue,
            Err(Errno::ECHILD) => return true,
            Err(e) => {
                warn!(error = %e, "waitpid failed");
                return false;
            }
        }
    }
}

/// Signals every process init is responsible for: all of its PID namespace
/// when it is PID 1 (`kill(-1)`), else each of its own descendants by pid,
/// since `kill(-1)` outside a container reaches every process the user owns.
pub fn signal_everything(me: Pid, sig: i32) {
    let name = crate::process::signals::name(sig);
    if me.as_raw() == 1 {
        match crate::sys::kill(-1, sig) {
            Ok(()) => tracing::info!(signal = %name, "sent to every process in the container"),
            Err(e) => tracing::debug!(signal = %name, error = %e, "kill(-1) found nothing"),
        }
        return;
    }
    let left = descendants(me);
    for pid in &left {
        let _ = crate::sys::kill(pid.as_raw(), sig);
    }
    if !left.is_empty() {
        tracing::info!(signal = %name, count = left.len(), "sent to every descendant of init");
    }
}

/// The child and how it ended, when `status` says it has (not stopped or continued).
pub fn ended(status: WaitStatus) -> Option<(Pid, Exit)> {
    match status {
        WaitStatus::Exited(pid, code) => Some((pid, Exit::Code(code))),
        WaitStatus::Signaled(pid, sig, _) => Some((pid, Exit::Signal(sig as i32))),
        _ => None,
    }
}

/// Every live descendant of `root` (not `root` itself), read from /proc.
/// Used when init is a subreaper rather than PID 1, where `kill(-1)` would
/// reach every process the user owns on the host.
pub fn descendants(root: Pid) -> Vec<Pid> {
    let proc = procfs::system();
    // (parent, pid) pairs of every process.
    let mut pairs: Vec<(i32, i32)> =
        proc.pids().into_iter().filter_map(|pid| Some((proc.stat(pid)?.ppid, pid))).collect();
    pairs.sort_unstable();
    let mut found = Vec::new();
    let mut queue = vec![root.as_raw()];
    while let Some(pid) = queue.pop() {
        let from = pairs.partition_point(|&(p, _)| p < pid);
        for &(_, child) in pairs[from..].iter().take_while(|&&(p, _)| p == pid) {
            found.push(Pid::from_raw(child));
            queue.push(child);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(Exit::Code(0).code(), 0);
        assert_eq!(Exit::Code(255).code(), 255);
        assert_eq!(Exit::Signal(15).code(), 143);
        assert_eq!(Exit::Signal(9).code(), 137);
    }

    #[test]
    fn descendants_of_this_process_include_a_grandchild() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & echo $!; wait"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("sh runs");
        let mut line = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("sh prints the pid");
        let grandchild: i32 = line.trim().parse().expect("a pid");
        let found = descendants(nix::unistd::getpid());
        let _ = nix::sys::signal::kill(Pid::from_raw(grandchild), nix::sys::signal::SIGKILL);
        let _ = child.wait();
        assert!(found.contains(&Pid::from_raw(child.id() as i32)));
        assert!(found.contains(&Pid::from_raw(grandchild)));
    }
}
