//! Did the kernel's OOM killer do it? When a child dies of SIGKILL, the
//! cgroup's `oom_kill` counter (v2 `memory.events`, v1
//! `memory.oom_control`) is compared with its value when init started.

use std::path::PathBuf;

/// The counter file of init's memory cgroup and the count when init started.
pub struct OomWatch {
    file: Option<PathBuf>,
    baseline: u64,
}

impl OomWatch {
    pub fn new() -> OomWatch {
        let file = counter_file();
        let baseline = file.as_ref().and_then(read_count).unwrap_or(0);
        OomWatch { file, baseline }
    }

    /// True when the OOM killer has killed something in this cgroup since
    /// the last call (or since start); the count then becomes the new baseline.
    pub fn killed_since(&mut self) -> Option<bool> {
        let now = read_count(self.file.as_ref()?)?;
        let killed = now > self.baseline;
        self.baseline = now;
        Some(killed)
    }
}

/// Logs why a child got SIGKILL, when the OOM counter can say.
pub fn explain_sigkill(watch: &mut OomWatch, what: &str, pid: i32) {
    match watch.killed_since() {
        Some(true) => {
            tracing::error!(pid, what, "killed by the kernel's OOM killer (the container's memory limit)")
        }
        Some(false) => tracing::info!(pid, what, "SIGKILL did not come from the OOM killer"),
        None => tracing::debug!(pid, what, "no cgroup memory counters to tell whether the OOM killer did it"),
    }
}

/// The `oom_kill` line of init's cgroup: v2 unified hierarchy first, then v1.
fn counter_file() -> Option<PathBuf> {
    for cgroup in mooring::procfs::system().own_cgroups() {
        let path = cgroup.path.trim_start_matches('/');
        let candidate = if cgroup.controllers.is_empty() {
            PathBuf::from("/sys/fs/cgroup").join(path).join("memory.events")
        } else if cgroup.controllers.iter().any(|c| c == "memory") {
            PathBuf::from("/sys/fs/cgroup/memory").join(path).join("memory.oom_control")
        } else {
            continue;
        };
        // Inside a cgroup namespace the path is `/`: the mount is the container's own.
        if candidate.exists() {
            return Some(candidate);
        }
    }
    None
}

fn read_count(file: &PathBuf) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    parse_oom_kill(&text)
}

/// The `oom_kill N` count of a memory.events or memory.oom_control file.
fn parse_oom_kill(text: &str) -> Option<u64> {
    text.lines().find_map(|l| l.strip_prefix("oom_kill ")).and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_oom_kill_count_of_v1_and_v2_files() {
        let v2 = "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n";
        let v1 = "oom_kill_disable 0\nunder_oom 0\noom_kill 7\n";
        assert_eq!(parse_oom_kill(v2), Some(2));
        assert_eq!(parse_oom_kill(v1), Some(7));
        assert_eq!(parse_oom_kill("oom_kill_disable 0\n"), None);
    }
}
