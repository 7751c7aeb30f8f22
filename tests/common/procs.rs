//! Processes as /proc shows them: states, parents, descendants.

use std::fs;

use nix::sys::signal::Signal;
use nix::unistd::Pid;

/// The state letter of /proc/PID/stat (R, S, T, Z, ...), if the process exists.
pub fn proc_state(pid: Pid) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].split_whitespace().next()?.chars().next()
}

fn parent_of(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].split_whitespace().nth(1)?.parse().ok()
}

/// Every live descendant of `root`, from /proc.
pub fn descendants(root: Pid) -> Vec<Pid> {
    let mut all: Vec<(i32, i32)> = Vec::new();
    for entry in fs::read_dir("/proc").expect("/proc").flatten() {
        let pid = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok());
        if let Some((pid, ppid)) = pid.and_then(|p| Some((p, parent_of(p)?))) {
            all.push((pid, ppid));
        }
    }
    let mut found = vec![];
    let mut queue = vec![root.as_raw()];
    while let Some(p) = queue.pop() {
        for &(pid, ppid) in &all {
            if ppid == p {
                found.push(Pid::from_raw(pid));
                queue.push(pid);
            }
        }
    }
    found
}

/// Zombies among `root`'s descendants.
pub fn zombies_under(root: Pid) -> usize {
    descendants(root).into_iter().filter(|&p| proc_state(p) == Some('Z')).count()
}

/// The first child of `pid`, if it has one.
pub fn child_of(pid: i32) -> Option<i32> {
    let children = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

/// Whether `pid` has taken `sig` into its own hands: it blocks it (SigBlk
/// in its /proc status), or it sleeps in sigtimedwait(2), which lifts the
/// block on the signals it waits for while it sleeps (/proc shows the mask
/// of the moment; its wchan names the wait). Init does one or the other
/// from the moment it waits or runs anything: a signal sent to it from then
/// on is kept for it, where one sent before could be dropped (a PID 1 that
/// neither handles nor blocks a signal never gets it from outside).
pub fn takes_signals(pid: Pid, sig: Signal) -> bool {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let mask = status.lines().find_map(|l| l.strip_prefix("SigBlk:")).map(str::trim).unwrap_or("0");
    let blocked = u64::from_str_radix(mask, 16).is_ok_and(|m| m & (1 << (sig as i32 - 1)) != 0);
    blocked
        || fs::read_to_string(format!("/proc/{pid}/wchan")).is_ok_and(|w| w.starts_with("do_sigtimedwait"))
}
