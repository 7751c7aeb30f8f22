//! Runtime control (docs/reference.md, "Runtime control"): `init start|stop|
//! restart SERVICE` and `init signal SERVICE SIG` reach the running init
//! through a unix socket beside its status file (mode 0600; only root and
//! init's own uid are served, by the peer's credentials). One line asks,
//! one line answers once the action is done: `0 ok`, or a code and why.
//! The socket and its connections are non-blocking and polled by the loop;
//! a request is bounded to one short line.

use std::ffi::OsStr;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::rc::Rc;

use crate::process::streak::{self, Streak};

const ACCEPTING: &str = "control socket: accepting a request";
use mooring::safe_fs::{Dir, SocketKind};

use super::*;

/// The socket's name in the status file's directory.
pub const SOCKET_NAME: &str = "control.sock";
/// Longest request line.
const MAX_REQUEST: usize = 256;
/// Most connections served at once; more wait in the listen backlog.
const MAX_CONNECTIONS: usize = 16;

/// What an operator asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Start(String),
    Stop(String),
    Restart(String),
    Signal(String, i32),
    /// Re-render the notifying templates (of one service's, when named).
    Reload(Option<String>),
}

/// A request in the words of the command line (`signal api SIGKILL`), as
/// logged (docs/reference.md, "Runtime control").
impl std::fmt::Display for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Start(name) => write!(f, "start {name}"),
            Request::Stop(name) => write!(f, "stop {name}"),
            Request::Restart(name) => write!(f, "restart {name}"),
            Request::Signal(name, sig) => write!(f, "signal {name} {}", signals::name(*sig)),
            Request::Reload(None) => f.write_str("reload"),
            Request::Reload(Some(name)) => write!(f, "reload {name}"),
        }
    }
}

/// A request line that is no request.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BadRequest {
    #[error("not a signal number: {0:?}")]
    Signal(String),
    #[error("not a request: {0:?}")]
    Unknown(String),
}

/// Why no request came from a connection (the answer says it, code 2).
#[derive(Debug, thiserror::Error)]
pub enum Unread {
    #[error("closed before a full request")]
    Closed,
    #[error("request too long")]
    TooLong,
    #[error(transparent)]
    Io(std::io::Error),
    #[error(transparent)]
    Bad(#[from] BadRequest),
}

/// Parses one request line (`stop web`, `signal web 10`).
pub fn parse(line: &str) -> Result<Request, BadRequest> {
    let words: Vec<&str> = line.split_ascii_whitespace().collect();
    match words.as_slice() {
        ["start", name] => Ok(Request::Start(name.to_string())),
        ["stop", name] => Ok(Request::Stop(name.to_string())),
        ["restart", name] => Ok(Request::Restart(name.to_string())),
        ["reload"] => Ok(Request::Reload(None)),
        ["reload", name] => Ok(Request::Reload(Some(name.to_string()))),
        ["signal", name, sig] => match sig.parse::<i32>() {
            Ok(n) if (1..=64).contains(&n) => Ok(Request::Signal(name.to_string(), n)),
            _ => Err(BadRequest::Signal(sig.to_string())),
        },
        _ => Err(BadRequest::Unknown(line.into())),
    }
}

/// Where an accepted request stands.
enum Step {
    /// Reading the request line.
    Reading(Vec<u8>),
    /// Acted on; answered once service `i` gets where `want` says.
    Waiting { i: usize, want: Want },
    /// Answered: closed at the next `sweep`.
    Done,
}

/// What a request waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Down, as an operator stopped it.
    Stopped,
    /// Ready (a oneshot: exited 0); a failure ends the wait too.
    Ready,
}

struct Conn {
    stream: UnixStream,
    step: Step,
}

pub struct Control {
    /// The run directory it is bound in, for its removal.
    dir: Rc<Dir>,
    listener: UnixListener,
    conns: Vec<Conn>,
    /// `accept` kept failing (EMFILE): the listener is left alone until then.
    paused: Streak,
}

impl Control {
    /// Listens in the run directory `dir` (held open: bound through its
    /// descriptor, mode 0600 from creation); `None`, with a WARN, when it cannot.
    pub fn open(dir: &Rc<Dir>) -> Option<Control> {
        let name = OsStr::new(SOCKET_NAME);
        let bound = dir.bind_socket(name, SocketKind::Stream, 0o600, None).and_then(|fd| {
            nix::sys::socket::listen(&fd, nix::sys::socket::Backlog::new(MAX_CONNECTIONS as i32)?)?;
            Ok(UnixListener::from(fd))
        });
        match bound {
            Ok(listener) => {
                Some(Control { dir: Rc::clone(dir), listener, conns: Vec::new(), paused: Streak::new() })
            }
            Err(e) => {
                let path = dir.path().join(SOCKET_NAME);
                warn!(path = %path.display(), error = %e, "no control socket: init start/stop/restart/signal will not reach this init");
                None
            }
        }
    }

    /// The descriptors to poll: the listener (unless every slot is taken
    /// or `accept` is paused: a pending connection would wake the loop
    /// forever), then each connection still reading.
    pub fn fds(&self) -> Vec<BorrowedFd<'_>> {
        let reading = self.conns.iter().filter(|c| matches!(c.step, Step::Reading(_)));
        let listen = self.conns.len() < MAX_CONNECTIONS && !self.paused.failing();
        listen.then(|| self.listener.as_fd()).into_iter().chain(reading.map(|c| c.stream.as_fd())).collect()
    }

    /// When a paused listener is polled again.
    pub fn resume_at(&self) -> Option<Instant> {
        self.paused.retry_at()
    }

    /// Accepts new connections (refusing peers other than root and init's
    /// uid) and reads what came; returns the requests now complete, each
    /// with its connection's index.
    pub fn read(&mut self) -> Vec<(usize, Result<Request, Unread>)> {
        self.accept();
        let mut complete = Vec::new();
        for (k, c) in self.conns.iter_mut().enumerate() {
            let Step::Reading(buf) = &mut c.step else { continue };
            let mut chunk = [0u8; MAX_REQUEST];
            match c.stream.read(&mut chunk) {
                Ok(0) => complete.push((k, Err(Unread::Closed))),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                Err(e) => complete.push((k, Err(Unread::Io(e)))),
            }
            if let Some(end) = buf.iter().position(|&b| b == b'\n') {
                complete.push((k, parse(&String::from_utf8_lossy(&buf[..end])).map_err(Unread::Bad)));
            } else if buf.len() > MAX_REQUEST {
                complete.push((k, Err(Unread::TooLong)));
            }
        }
        complete
    }

    /// Takes the connections waiting, as long as a slot is free. A failing
    /// `accept` (out of descriptors) pauses the listener with a growing
    /// delay, one WARN, and one INFO once it works again.
    fn accept(&mut self) {
        let me = nix::unistd::geteuid().as_raw();
        let now = Instant::now();
        if self.paused.waiting(now) {
            return;
        }
        while self.conns.len() < MAX_CONNECTIONS {
            let accepted = self.listener.accept();
            if let Err(e) = &accepted
                && e.kind() != ErrorKind::WouldBlock
            {
                let errno = nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
                return streak::log(self.paused.fail(errno, now), ACCEPTING);
            }
            streak::log(self.paused.ok(), ACCEPTING);
            let Ok((stream, _)) = accepted else { break };
            let uid = nix::sys::socket::getsockopt(&stream, nix::sys::socket::sockopt::PeerCredentials)
                .map(|c| c.uid());
            let mut conn = Conn { stream, step: Step::Reading(Vec::new()) };
            match uid {
                Ok(uid) if uid == 0 || uid == me => {
                    let _ = conn.stream.set_nonblocking(true);
                    self.conns.push(conn);
                }
                Ok(uid) => {
                    warn!(uid, "control: refused a request from another user");
                    answer(
                        &mut conn,
                        77,
                        &format!("uid {uid} may not control this init (root or uid {me} only)"),
                    );
                }
                Err(e) => answer(&mut conn, 1, &e.to_string()),
            }
        }
    }

    /// Connection `k` waits for service `i` to get where `want` says.
    pub fn wait_for(&mut self, k: usize, i: usize, want: Want) {
        self.conns[k].step = Step::Waiting { i, want };
    }

    /// The requests waiting on services.
    pub fn waiting(&self) -> Vec<(usize, usize, Want)> {
        let each = self.conns.iter().enumerate();
        each.filter_map(|(k, c)| match c.step {
            Step::Waiting { i, want } => Some((k, i, want)),
            _ => None,
        })
        .collect()
    }

    /// Answers connection `k` (it is closed at the next `sweep`).
    pub fn answer(&mut self, k: usize, code: u8, message: &str) {
        answer(&mut self.conns[k], code, message);
        self.conns[k].step = Step::Done;
    }

    /// Drops the connections answered.
    pub fn sweep(&mut self) {
        self.conns.retain(|c| !matches!(c.step, Step::Done));
    }

    /// Init is ending: every waiting request is told, the socket removed.
    pub fn close(mut self) {
        for k in 0..self.conns.len() {
            if matches!(self.conns[k].step, Step::Waiting { .. }) {
                answer(&mut self.conns[k], 1, "init is stopping");
            }
        }
        let _ = self.dir.remove(OsStr::new(SOCKET_NAME));
    }
}

/// Writes the one answer line (a short write to a gone client is ignored).
fn answer(conn: &mut Conn, code: u8, message: &str) {
    let _ = conn.stream.set_nonblocking(false);
    let _ = conn.stream.set_write_timeout(Some(Duration::from_millis(100)));
    let _ = conn.stream.write_all(format!("{code} {message}\n").as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_and_anything_else_is_refused() {
        assert_eq!(parse("stop web"), Ok(Request::Stop("web".into())));
        assert_eq!(parse("restart  db "), Ok(Request::Restart("db".into())));
        assert_eq!(parse("signal web 10"), Ok(Request::Signal("web".into(), 10)));
        assert_eq!(parse("signal web 99"), Err(BadRequest::Signal("99".into())));
        assert!(parse("signal web HUP").is_err());
        assert!(parse("stop").is_err());
        assert_eq!(parse("rm -rf /"), Err(BadRequest::Unknown("rm -rf /".into())));
    }

    #[test]
    fn requests_read_as_an_operator_types_them() {
        for (line, shown) in [
            ("signal api 9", "signal api SIGKILL"),
            ("stop web", "stop web"),
            ("restart  db", "restart db"),
            ("start db", "start db"),
            ("reload", "reload"),
            ("reload web", "reload web"),
        ] {
            assert_eq!(parse(line).map(|r| r.to_string()), Ok(shown.to_string()), "{line}");
        }
    }
}
