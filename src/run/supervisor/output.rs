//! A service's stdout and stderr through pipes (docs/reference.md,
//! "Services", Output): for `output = "prefix"`, each line goes out as
//! `name | line` on init's own stdout or stderr; for `ready = { log = … }`,
//! each line is also matched until one makes the service ready, and with
//! `output = "inherit"` the bytes go out exactly as read. The read ends are
//! non-blocking and read a bounded amount per wake-up, and a line longer
//! than `MAX_LINE` goes out (and is kept) in pieces, so a service that
//! floods output or never writes a newline cannot hold up signal handling.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Instant;

use crate::outlet::{self, Stream};
use crate::process::streak::Streak;
use mooring::pattern::Pattern;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::Pid;

/// The longest line kept back waiting for its newline; only this much of a
/// line is matched.
pub const MAX_LINE: usize = 4096;
/// The most bytes read from one pipe per wake-up.
const READ_BUDGET: usize = 64 * 1024;
/// The same while lines are matched (one read): a match costs up to the
/// program's size per byte (src/pattern.rs), and a stop waits for the
/// wake-up under way.
const MATCH_BUDGET: usize = MAX_LINE;

/// One pipe's read end and the partial line read from it so far.
pub struct Source {
    pub service: usize,
    /// The process whose pipe it is: only its own lines make it ready.
    pub pid: Pid,
    pub fd: OwnedFd,
    to: Sink,
    /// `name | ` before each line; else the bytes go out as they came.
    prefix: bool,
    partial: Vec<u8>,
    /// The line under way already went out (or was matched) in part.
    continued: bool,
    /// Reads that failed: the pipe stays open (closing it would kill the
    /// service with SIGPIPE at its next write) and is read again after a
    /// growing delay; meanwhile what the service writes waits in the pipe.
    pub streak: Streak,
}

/// Where a source's bytes go: init's own stdout or stderr, through the
/// outlet, which never blocks (src/outlet.rs); in unit tests, a pipe of the
/// test's.
pub enum Sink {
    Stdout,
    Stderr,
    #[cfg(test)]
    Pipe(std::fs::File),
}

impl Sink {
    /// What reading its pipe is called in the log.
    fn reading(&self) -> &'static str {
        match self {
            Sink::Stdout => "reading the stdout pipe",
            Sink::Stderr => "reading the stderr pipe",
            #[cfg(test)]
            Sink::Pipe(_) => "reading the pipe",
        }
    }

    /// `bytes` whole, now or later, or dropped and counted; a closed,
    /// stopped or full output loses them, never init.
    fn write(&self, bytes: &[u8]) {
        match self {
            Sink::Stdout => outlet::write(Stream::Stdout, bytes),
            Sink::Stderr => outlet::write(Stream::Stderr, bytes),
            #[cfg(test)]
            Sink::Pipe(file) => {
                use std::io::Write;
                let _ = (&*file).write_all(bytes);
            }
        }
    }
}

/// What one wake-up's reads found.
pub struct Pumped {
    /// False at end of file.
    pub open: bool,
    /// A line matched the pattern given.
    pub ready: bool,
}

/// The pipes for one start of service `service`: the write ends the child
/// gets as its stdout and stderr, and the read ends init keeps.
pub struct Pipes {
    pub out_w: OwnedFd,
    pub err_w: OwnedFd,
    pub out: Source,
    pub err: Source,
}

impl Pipes {
    pub fn raw(&self) -> (RawFd, RawFd) {
        (self.out_w.as_raw_fd(), self.err_w.as_raw_fd())
    }
}

pub fn pipes(service: usize, prefix: bool) -> Result<Pipes, Errno> {
    let pair = |to: Sink| -> Result<(OwnedFd, Source), Errno> {
        let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
        nix::fcntl::fcntl(&r, nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
        Ok((w, Source::new(service, r, to, prefix)))
    };
    let (out_w, out) = pair(Sink::Stdout)?;
    let (err_w, err) = pair(Sink::Stderr)?;
    Ok(Pipes { out_w, err_w, out, err })
}

impl Source {
    pub fn new(service: usize, fd: OwnedFd, to: Sink, prefix: bool) -> Source {
        let (pid, partial) = (Pid::from_raw(0), Vec::new());
        Source { service, pid, fd, to, prefix, partial, continued: false, streak: Streak::new() }
    }

    /// Reads what is there (up to a budget) and passes it on; each line is
    /// matched against `pattern` until one matches. At end of file, a last
    /// line without its newline goes out (prefixed: with one) and is matched.
    #[inline(never)] // outlined, the binary is smaller (size budget: docs/benchmarks.md)
    pub fn pump(&mut self, name: &str, pattern: Option<&Pattern>) -> Pumped {
        let mut buf = [0u8; MAX_LINE];
        let (mut total, mut matching, mut interrupted) = (0, pattern, 0);
        let budget = if pattern.is_some() { MATCH_BUDGET } else { READ_BUDGET };
        let open = loop {
            if total >= budget {
                break true;
            }
            let read = nix::unistd::read(&self.fd, &mut buf);
            match read {
                Err(Errno::EINTR) if interrupted < 8 => interrupted += 1,
                Err(e) if e != Errno::EAGAIN => {
                    if let Some(note) = self.streak.fail(e, Instant::now()) {
                        note.log_for(self.to.reading(), name);
                    }
                    break true;
                }
                _ => {
                    if let Some(note) = self.streak.ok() {
                        note.log_for(self.to.reading(), name);
                    }
                }
            }
            match read {
                Ok(0) => {
                    let rest = std::mem::take(&mut self.partial);
                    if !rest.is_empty() {
                        self.line(name, &rest, &mut matching);
                    }
                    break false;
                }
                Ok(n) => {
                    total += n;
                    if !self.prefix {
                        self.to.write(&buf[..n]);
                    }
                    if self.prefix || matching.is_some() {
                        self.take(name, &buf[..n], &mut matching);
                    }
                }
                Err(Errno::EINTR) => {}
                Err(_) => break true,
            }
        };
        Pumped { open, ready: pattern.is_some() && matching.is_none() }
    }

    /// Cuts `bytes` into lines (and pieces of `MAX_LINE`).
    fn take(&mut self, name: &str, mut bytes: &[u8], matching: &mut Option<&Pattern>) {
        while let Some(nl) = bytes.iter().position(|&b| b == b'\n') {
            if self.partial.is_empty() {
                self.line(name, &bytes[..nl], matching);
            } else {
                self.partial.extend_from_slice(&bytes[..nl]);
                let line = std::mem::take(&mut self.partial);
                self.line(name, &line, matching);
            }
            self.continued = false;
            bytes = &bytes[nl + 1..];
        }
        self.partial.extend_from_slice(bytes);
        while self.partial.len() >= MAX_LINE {
            let rest = self.partial.split_off(MAX_LINE);
            let piece = std::mem::replace(&mut self.partial, rest);
            self.line(name, &piece, matching);
            self.continued = true;
        }
    }

    /// One line (or a piece of one): passed on when prefixed; when it is a
    /// line's start and matches, `matching` ends.
    fn line(&mut self, name: &str, line: &[u8], matching: &mut Option<&Pattern>) {
        if self.prefix {
            let mut out = Vec::with_capacity(name.len() + line.len() + 4);
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b" | ");
            out.extend_from_slice(line);
            out.push(b'\n');
            self.to.write(&out);
        }
        if !self.continued && matching.is_some_and(|p| p.is_match(&line[..line.len().min(MAX_LINE)])) {
            *matching = None;
        }
    }
}

#[cfg(test)]
mod tests;
