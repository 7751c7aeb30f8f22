//! The one reader of /proc: the pids it lists, the fields of
//! `/proc/PID/stat` (state, parent, process group, session, start time),
//! the uids of `/proc/PID/status`, init's own cgroups, an executable's
//! identity and a few kernel settings under /proc/sys. What is read is
//! parsed by pure functions tested on fixed text; `Procfs::at` points the
//! readers at another directory.

use std::fmt::Display;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// /proc, or a directory laid out as it is.
pub struct Procfs {
    root: PathBuf,
}

/// The system's /proc.
pub fn system() -> Procfs {
    Procfs { root: PathBuf::from("/proc") }
}

impl Procfs {
    pub fn at(root: impl Into<PathBuf>) -> Procfs {
        Procfs { root: root.into() }
    }

    /// `/proc/PID` (`pid` a number, or `self`).
    pub fn dir(&self, pid: impl Display) -> PathBuf {
        self.root.join(pid.to_string())
    }

    /// `/proc/PID/exe`, the process's executable.
    pub fn exe(&self, pid: impl Display) -> PathBuf {
        self.dir(pid).join("exe")
    }

    fn read(&self, pid: impl Display, file: &str) -> Option<String> {
        std::fs::read_to_string(self.dir(pid).join(file)).ok()
    }

    /// Every pid /proc lists now.
    pub fn pids(&self) -> Vec<i32> {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        entries.flatten().filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok())).collect()
    }

    /// `/proc/PID/stat`, when the process exists.
    pub fn stat(&self, pid: impl Display) -> Option<Stat> {
        parse_stat(&self.read(pid, "stat")?)
    }

    /// The real and effective uid of `/proc/PID/status`.
    pub fn uids(&self, pid: impl Display) -> Option<(u32, u32)> {
        parse_uids(&self.read(pid, "status")?)
    }

    /// The uid that owns `/proc/PID`: the uid the process runs as.
    pub fn owner(&self, pid: impl Display) -> std::io::Result<u32> {
        std::fs::metadata(self.dir(pid)).map(|m| m.uid())
    }

    /// The (device, inode) of the process's executable, when it may be read.
    pub fn exe_id(&self, pid: impl Display) -> Option<(u64, u64)> {
        std::fs::metadata(self.exe(pid)).ok().map(|m| (m.dev(), m.ino()))
    }

    /// The cgroups this process belongs to (`/proc/self/cgroup`).
    pub fn own_cgroups(&self) -> Vec<Cgroup> {
        self.read("self", "cgroup").map(|t| parse_cgroups(&t)).unwrap_or_default()
    }

    /// A kernel setting: `kernel/hostname` is /proc/sys/kernel/hostname.
    pub fn sysctl(&self, key: &str) -> Option<String> {
        std::fs::read_to_string(self.root.join("sys").join(key)).ok()
    }
}

/// A process as `/proc/PID/stat` shows it: its command name, state,
/// family and start time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    pub comm: String,
    /// Field 3: `R`, `S`, `D`, `Z`, `T`…
    pub state: char,
    pub ppid: i32,
    pub pgid: i32,
    pub sid: i32,
    /// Field 22: clock ticks after boot.
    pub start: u64,
}

/// Parses `/proc/PID/stat`. The command name (field 2) is in parentheses and
/// may itself hold spaces and `)`, so the fields after it are taken from
/// the text after the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_string();
    // After the name: field 3 (state) is the first, so field 22 is the 20th.
    let fields: Vec<&str> = text.get(close + 1..)?.split_ascii_whitespace().take(20).collect();
    let int = |k: usize| fields.get(k)?.parse::<i32>().ok();
    let mut state = fields.first()?.chars();
    let state = state.next().filter(|_| state.next().is_none())?;
    Some(Stat {
        comm,
        state,
        ppid: int(1)?,
        pgid: int(2)?,
        sid: int(3)?,
        start: fields.get(19)?.parse().ok()?,
    })
}

/// The real and effective uid of a `/proc/PID/status` text.
pub fn parse_uids(status: &str) -> Option<(u32, u32)> {
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    let mut ids = line.split_ascii_whitespace().map(|n| n.parse::<u32>().ok());
    Some((ids.next()??, ids.next()??))
}

/// One line of `/proc/PID/cgroup`: `hierarchy-id:controllers:path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    /// Empty for the v2 unified hierarchy.
    pub controllers: Vec<String>,
    /// Relative to the hierarchy's mount: `/` inside a cgroup namespace.
    pub path: String,
}

/// The lines of a `/proc/PID/cgroup` text; a malformed line is skipped.
pub fn parse_cgroups(text: &str) -> Vec<Cgroup> {
    let line = |l: &str| {
        let mut parts = l.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let controllers = controllers.split(',').filter(|c| !c.is_empty()).map(str::to_string).collect();
        Some(Cgroup { controllers, path: path.to_string() })
    };
    text.lines().filter_map(line).collect()
}

#[cfg(test)]
mod tests;
