//! `output = "prefix"`: a service's stdout and stderr come through pipes and
//! go out line by line as `name | line` on init's own stdout and stderr.
//! The read ends are non-blocking and read a bounded amount per wake-up, and
//! a line longer than `MAX_LINE` goes out in pieces, so a service that floods
//! output or never writes a newline cannot hold up signal handling.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;

/// Longest line kept back waiting for its newline.
pub const MAX_LINE: usize = 4096;
/// Most bytes read from one pipe per wake-up.
const READ_BUDGET: usize = 64 * 1024;

/// One pipe's read end and the partial line read from it so far.
pub struct Source {
    pub service: usize,
    pub fd: OwnedFd,
    /// 1 (stdout) or 2 (stderr): where the lines go.
    to: RawFd,
    partial: Vec<u8>,
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

pub fn pipes(service: usize) -> Result<Pipes, Errno> {
    let pair = |to| -> Result<(OwnedFd, Source), Errno> {
        let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
        nix::fcntl::fcntl(&r, nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
        Ok((w, Source { service, fd: r, to, partial: Vec::new() }))
    };
    let (out_w, out) = pair(1)?;
    let (err_w, err) = pair(2)?;
    Ok(Pipes { out_w, err_w, out, err })
}

impl Source {
    /// Reads what is there (up to a budget) and writes out every complete
    /// line with its prefix. Returns false at end of file.
    pub fn pump(&mut self, name: &str) -> bool {
        let mut buf = [0u8; 16 * 1024];
        let mut total = 0;
        while total < READ_BUDGET {
            match nix::unistd::read(&self.fd, &mut buf) {
                Ok(0) => {
                    if !self.partial.is_empty() {
                        let rest = std::mem::take(&mut self.partial);
                        emit(self.to, name, &rest);
                    }
                    return false;
                }
                Ok(n) => {
                    total += n;
                    self.take(name, &buf[..n]);
                }
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => return true,
                Err(_) => return false,
            }
        }
        true
    }

    fn take(&mut self, name: &str, mut bytes: &[u8]) {
        while let Some(nl) = bytes.iter().position(|&b| b == b'\n') {
            if self.partial.is_empty() {
                emit(self.to, name, &bytes[..nl]);
            } else {
                self.partial.extend_from_slice(&bytes[..nl]);
                let line = std::mem::take(&mut self.partial);
                emit(self.to, name, &line);
            }
            bytes = &bytes[nl + 1..];
        }
        self.partial.extend_from_slice(bytes);
        while self.partial.len() >= MAX_LINE {
            let piece: Vec<u8> = self.partial.drain(..MAX_LINE).collect();
            emit(self.to, name, &piece);
        }
    }
}

/// Writes `name | line\n` to `fd` in one write where it fits.
fn emit(fd: RawFd, name: &str, line: &[u8]) {
    let mut out = Vec::with_capacity(name.len() + line.len() + 4);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b" | ");
    out.extend_from_slice(line);
    out.push(b'\n');
    use std::io::Write;
    // A closed or failing stdout loses the line, never init.
    let _ = match fd {
        2 => std::io::stderr().lock().write_all(&out),
        _ => std::io::stdout().lock().write_all(&out),
    };
}
