//! Starting a child: resolve the program on PATH, prepare every C string
//! before the fork, fork+exec in a new process group (foreground on a TTY),
//! and turn exec failures into 126/127 errors that name the program.

use std::ffi::{CString, OsStr, OsString};
use std::os::fd::RawFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use nix::sys::signal::SigSet;
use nix::unistd::Pid;

pub use crate::sys::Ids;
use crate::sys::{self, ExecPlan, SpawnError};
use mooring::error::Error;

/// PATH used when the environment has none, as execvp(3) and Docker do.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A command line, the environment it runs with and where.
#[derive(Debug, Clone)]
pub struct Command {
    pub argv: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    /// `None`: init's own cwd.
    pub workdir: Option<std::path::PathBuf>,
    /// `None`: init's own identity.
    pub ids: Option<Ids>,
    pub no_new_privs: bool,
}

impl Command {
    fn program(&self) -> &OsStr {
        self.argv.first().map(OsString::as_os_str).unwrap_or_default()
    }

    fn path_var(&self) -> Option<&OsStr> {
        self.env.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.as_os_str())
    }
}

/// Starts `cmd` in its own process group with `mask` as its signal mask; on a
/// terminal, its group becomes the foreground group.
pub fn spawn(cmd: &Command, mask: SigSet) -> Result<Pid, Error> {
    let program = cmd.program().to_string_lossy().into_owned();
    let plan = plan(cmd, mask, true).ok_or_else(|| Error::NulInArgument(program.clone()))?;
    sys::spawn(&plan).map_err(|e| spawn_error(cmd, program, e))
}

/// As `spawn`, running `before_exec` with the child's pid before the child
/// may exec (run/single.rs writes the status file then).
pub fn spawn_then(cmd: &Command, mask: SigSet, mut before_exec: impl FnMut(Pid)) -> Result<Pid, Error> {
    let program = cmd.program().to_string_lossy().into_owned();
    let plan = plan(cmd, mask, true).ok_or_else(|| Error::NulInArgument(program.clone()))?;
    sys::spawn_then(&plan, &mut before_exec).map_err(|e| spawn_error(cmd, program, e))
}

fn spawn_error(cmd: &Command, program: String, e: SpawnError) -> Error {
    match e {
        SpawnError::Fork(errno, call) => Error::os(call, errno),
        SpawnError::Exec(errno) => Error::Exec { program, errno },
        SpawnError::Workdir(errno) => Error::Workdir { path: cmd.workdir.clone().unwrap_or_default(), errno },
        SpawnError::Ids(errno) => {
            let ids = cmd.ids.as_ref().map(|i| format!("{}:{}", i.uid, i.gid)).unwrap_or_default();
            Error::Privileges { ids, errno }
        }
    }
}

/// Starts a supervised service: its own process group, never the terminal's
/// foreground (services share it), stdout and stderr to `output` when given.
pub fn spawn_service(
    cmd: &Command,
    mask: SigSet,
    output: Option<(RawFd, RawFd)>,
    ready_fd: Option<(RawFd, i32)>,
) -> Result<Pid, Error> {
    let program = cmd.program().to_string_lossy().into_owned();
    let plan = plan(cmd, mask, false)
        .ok_or_else(|| Error::NulInArgument(program.clone()))?
        .with_output(output)
        .with_ready_fd(ready_fd);
    sys::spawn(&plan).map_err(|e| spawn_error(cmd, program, e))
}

/// Starts `cmd` in a new session whose stdio and controlling terminal are the
/// pty slave `fd` (`init shell`).
pub fn spawn_on_pty(cmd: &Command, mask: SigSet, fd: std::os::fd::RawFd) -> Result<Pid, Error> {
    let program = cmd.program().to_string_lossy().into_owned();
    let plan = plan(cmd, mask, false).ok_or_else(|| Error::NulInArgument(program.clone()))?.on_pty(fd);
    sys::spawn(&plan).map_err(|e| spawn_error(cmd, program, e))
}

/// Everything the child needs, or `None` when an argument or variable holds a
/// NUL byte. `foreground`: on a terminal, the child's group takes it.
fn plan(cmd: &Command, mask: SigSet, foreground: bool) -> Option<ExecPlan> {
    let argv = cmd.argv.iter().map(|a| cstring(a.as_bytes())).collect::<Option<Vec<_>>>()?;
    let envp = cmd
        .env
        .iter()
        .map(|(k, v)| cstring(&[k.as_bytes(), b"=", v.as_bytes()].concat()))
        .collect::<Option<Vec<_>>>()?;
    let candidates = candidates(cmd.program(), cmd.path_var())?;
    let tty = (foreground && sys::isatty(0)).then_some(0);
    let workdir = match &cmd.workdir {
        Some(dir) => Some(cstring(dir.as_os_str().as_bytes())?),
        None => None,
    };
    // A child switched to another user and handed no terminal gets none:
    // no controlling terminal of root's to push keystrokes into (TIOCSTI).
    let me = nix::unistd::geteuid().as_raw();
    let no_terminal = tty.is_none() && cmd.ids.as_ref().is_some_and(|ids| ids.uid != me);
    Some(
        ExecPlan::new(candidates, argv, envp, mask, tty, workdir)
            .with_ids(cmd.ids.clone(), cmd.no_new_privs)
            .without_terminal(no_terminal),
    )
}

/// The paths execvp(3) would try for `program`, in order.
fn candidates(program: &OsStr, path: Option<&OsStr>) -> Option<Vec<CString>> {
    let bytes = program.as_bytes();
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    if bytes.contains(&b'/') {
        return Some(vec![cstring(bytes)?]);
    }
    let path = path.unwrap_or(OsStr::new(DEFAULT_PATH));
    path.as_bytes()
        .split(|&b| b == b':')
        .map(|dir| {
            let dir = if dir.is_empty() { Path::new(".") } else { Path::new(OsStr::from_bytes(dir)) };
            cstring(dir.join(program).into_os_string().into_vec().as_slice())
        })
        .collect()
}

fn cstring(bytes: &[u8]) -> Option<CString> {
    CString::new(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(c: Vec<CString>) -> Vec<String> {
        c.into_iter().map(|s| s.into_string().expect("utf-8")).collect()
    }

    #[test]
    fn a_program_with_a_slash_is_tried_as_is() {
        let got = candidates(OsStr::new("./run.sh"), Some(OsStr::new("/bin"))).unwrap();
        assert_eq!(names(got), ["./run.sh"]);
    }

    #[test]
    fn a_bare_name_is_searched_on_path_in_order_and_empty_entries_mean_cwd() {
        let got = candidates(OsStr::new("sh"), Some(OsStr::new("/usr/bin::/bin"))).unwrap();
        assert_eq!(names(got), ["/usr/bin/sh", "./sh", "/bin/sh"]);
    }

    #[test]
    fn without_path_the_default_is_searched() {
        let got = candidates(OsStr::new("true"), None).unwrap();
        assert_eq!(got.len(), DEFAULT_PATH.split(':').count());
        assert_eq!(names(got)[0], "/usr/local/sbin/true");
    }

    #[test]
    fn a_nul_byte_is_refused_before_the_fork() {
        let cmd = Command {
            argv: vec![OsString::from("a\0b")],
            env: vec![],
            workdir: None,
            ids: None,
            no_new_privs: false,
        };
        assert!(plan(&cmd, SigSet::empty(), true).is_none());
    }
}
