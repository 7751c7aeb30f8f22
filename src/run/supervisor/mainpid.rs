//! Whom `MAINPID=` may name (docs/security.md, "Pids"): a service that
//! names its main process makes init supervise, and later signal, a pid it
//! did not fork. That pid is believed only when /proc shows it running as
//! the service's uid (any uid for a root service), started after the
//! service's process did, and being that process's descendant or an orphan
//! init adopted (a daemon that double-forked and called setsid) — never
//! another service's process. Its start time is kept, so a pid reused
//! after it died is never signalled.

use mooring::procfs::{self, Stat};

/// Longest parent chain walked up from a named pid.
const MAX_ANCESTRY: usize = 64;

/// A process as /proc shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub stat: Stat,
    /// Real and effective uid.
    pub uids: (u32, u32),
}

/// /proc/PID, when that process exists.
pub fn read(pid: i32) -> Option<Seen> {
    let proc = procfs::system();
    Some(Seen { stat: proc.stat(pid)?, uids: proc.uids(pid)? })
}

/// The start time of `pid` when it still is the process that started then.
pub fn same_process(pid: i32, start: u64) -> bool {
    read(pid).is_some_and(|seen| seen.stat.start == start)
}

/// What init knows when a service names a pid.
pub struct Claim<'a> {
    /// The process init started for the service.
    pub service: i32,
    pub service_uid: u32,
    pub service_start: u64,
    /// init itself: the parent of orphans.
    pub me: i32,
    /// The processes of every other service.
    pub others: &'a [i32],
}

/// Why a pid a service named is not its main process.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("pid {0} is init's own")]
    Own(i32),
    #[error("no process {0}")]
    Gone(i32),
    #[error("pid {pid} runs as uid {uid}/{euid}, not the service's {want}")]
    Uid { pid: i32, uid: u32, euid: u32, want: u32 },
    #[error("pid {0} started before the service did")]
    Earlier(i32),
    #[error("pid {0} belongs to another service")]
    Other(i32),
    #[error("pid {pid}: its parent {ppid} is gone")]
    ParentGone { pid: i32, ppid: i32 },
    #[error("pid {0} is neither the service's descendant nor an orphan init adopted")]
    Unrelated(i32),
    /// The service's own process: when it started is not known.
    #[error("the start of its own process {0} is not known")]
    UnknownStart(i32),
}

/// Whether `named` may be the service's main process; `Err` says why not.
/// `parent` looks a process up (/proc, or a table in tests).
pub fn judge(pid: i32, claim: &Claim, parent: &dyn Fn(i32) -> Option<Seen>) -> Result<Seen, Refused> {
    if pid <= 1 || pid == claim.me {
        return Err(Refused::Own(pid));
    }
    let seen = parent(pid).ok_or(Refused::Gone(pid))?;
    let (uid, euid) = seen.uids;
    if claim.service_uid != 0 && (uid != claim.service_uid || euid != claim.service_uid) {
        return Err(Refused::Uid { pid, uid, euid, want: claim.service_uid });
    }
    if seen.stat.start < claim.service_start {
        return Err(Refused::Earlier(pid));
    }
    let theirs = |p: i32| claim.others.contains(&p);
    if theirs(pid) || theirs(seen.stat.pgid) || theirs(seen.stat.sid) {
        return Err(Refused::Other(pid));
    }
    // Up the parent chain: the service's process, or the top of a tree
    // init adopted (whose parent is init) that is no service's process.
    let (mut at, mut ppid) = (pid, seen.stat.ppid);
    for _ in 0..MAX_ANCESTRY {
        if ppid == claim.service || at == claim.service {
            return Ok(seen);
        }
        if ppid == claim.me {
            return if theirs(at) { Err(Refused::Other(pid)) } else { Ok(seen) };
        }
        let up = parent(ppid).ok_or(Refused::ParentGone { pid, ppid })?;
        (at, ppid) = (ppid, up.stat.ppid);
    }
    Err(Refused::Unrelated(pid))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(ppid: i32, pgid: i32, sid: i32, uid: u32, start: u64) -> Seen {
        Seen { stat: Stat { comm: "x".into(), state: 'S', ppid, pgid, sid, start }, uids: (uid, uid) }
    }

    /// init is 1; service `web` is 10 (uid 1000, started at tick 100); `db`
    /// is 20 (root); 30 is web's child, 31 its grandchild, 40 an orphan web
    /// left (setsid), 50 db's child, 60 a root process init never started.
    fn table(pid: i32) -> Option<Seen> {
        Some(match pid {
            1 => seen(0, 1, 1, 0, 1),
            10 => seen(1, 10, 10, 1000, 100),
            20 => seen(1, 20, 20, 0, 90),
            30 => seen(10, 10, 10, 1000, 110),
            31 => seen(30, 31, 31, 1000, 120),
            32 => seen(10, 10, 10, 1000, 50),
            33 => Seen { uids: (1000, 0), ..seen(10, 10, 10, 1000, 110) },
            40 => seen(1, 40, 40, 1000, 130),
            50 => seen(20, 20, 20, 1000, 140),
            60 => seen(0, 60, 60, 0, 5),
            _ => return None,
        })
    }

    #[test]
    fn a_named_pid_is_believed_only_for_the_services_own_processes() {
        let web = Claim { service: 10, service_uid: 1000, service_start: 100, me: 1, others: &[20] };
        for (pid, ok) in [(30, true), (31, true), (40, true), (20, false), (50, false), (60, false)] {
            assert_eq!(judge(pid, &web, &table).is_ok(), ok, "web names {pid}");
        }
        for (pid, why) in [
            (1, "init's own"),
            (99, "no process"),
            (32, "started before"),
            (33, "uid 1000/0"),
            (20, "runs as uid 0"),
            (60, "runs as uid 0"),
        ] {
            let got = judge(pid, &web, &table).unwrap_err().to_string();
            assert!(got.contains(why), "{pid}: {got}");
        }
        // A root service may name any uid's process, but never another service's.
        let db = Claim { service: 20, service_uid: 0, service_start: 90, me: 1, others: &[10] };
        assert!(judge(50, &db, &table).is_ok());
        for pid in [30, 31, 10] {
            assert!(matches!(judge(pid, &db, &table), Err(Refused::Other(_))), "db names {pid}");
        }
        assert_eq!(judge(60, &db, &table).unwrap_err(), Refused::Earlier(60));
        assert_eq!(
            judge(33, &web, &table).unwrap_err(),
            Refused::Uid { pid: 33, uid: 1000, euid: 0, want: 1000 }
        );
    }
}
