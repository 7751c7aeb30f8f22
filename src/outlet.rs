//! Init's own stdout and stderr, written without ever blocking
//! (docs/security.md, "Init's own output"): a terminal stopped with ^S or
//! `TCOOFF`, or a log driver's pipe nobody reads, must not hold PID 1 in a
//! write while SIGTERM waits. Every log line and every line of service
//! output passed on goes through here, whole: written at once when the
//! stream takes it, else queued (at most `BOUND` bytes a stream), else
//! dropped and counted; once the stream takes bytes again, one WARN line
//! says how much was lost, in the place of what was lost.
//!
//! How a stream is written depends on what it is, found once by `fstat`:
//! pipes and terminals are reopened through /proc/self/fd/N with
//! `O_NONBLOCK` — a private open file description, since setting the flag
//! on fd 1 or 2 would change the descriptors the children share; sockets
//! get `send` with `MSG_DONTWAIT`; regular files and other devices
//! (/dev/null) never block and are written plainly. When the reopen fails,
//! a write waits for `poll` to say there is room and writes at most
//! `PIPE_BUF` bytes, which a pipe then takes without blocking.

mod queue;

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::MsgFlags;
use nix::sys::stat::SFlag;

use queue::{Dropped, Queue};

/// The most bytes waiting for one stream.
const BOUND: usize = 64 * 1024;
/// The most bytes given to one write: what a pipe takes atomically, so
/// lines from init and from services that inherit the pipe never mix.
const PIPE_BUF: usize = 4096;
/// How often the supervisor's loop retries while something waits.
pub const RETRY: Duration = Duration::from_millis(100);
/// How long init's exit waits for what is still queued.
const LAST_WAIT: Duration = Duration::from_millis(500);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }

    fn handle(self) -> Handle {
        match self {
            Stream::Stdout => Handle::Out(std::io::stdout()),
            Stream::Stderr => Handle::Err(std::io::stderr()),
        }
    }
}

/// fd 1 or 2, borrowed through std's handle (no raw descriptor numbers).
enum Handle {
    Out(std::io::Stdout),
    Err(std::io::Stderr),
}

impl AsFd for Handle {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Handle::Out(h) => h.as_fd(),
            Handle::Err(h) => h.as_fd(),
        }
    }
}

/// How a stream is written.
enum How {
    /// Not looked at yet.
    Unknown,
    /// A regular file or a device that never blocks.
    Plain,
    /// Our own non-blocking open file description of the pipe or terminal.
    Reopened(OwnedFd),
    /// `send(MSG_DONTWAIT)`.
    Socket,
    /// `poll` first, then at most `PIPE_BUF` bytes.
    Polled,
    /// Closed, or its reader went away: nothing is written any more.
    Gone,
}

struct Outlet {
    stream: Stream,
    how: How,
    queue: Queue,
}

static OUTLETS: Mutex<[Outlet; 2]> = Mutex::new([
    Outlet { stream: Stream::Stdout, how: How::Unknown, queue: Queue::new(BOUND) },
    Outlet { stream: Stream::Stderr, how: How::Unknown, queue: Queue::new(BOUND) },
]);

fn with<T>(f: impl FnOnce(&mut [Outlet; 2]) -> T) -> T {
    // A panic elsewhere while holding the lock leaves consistent data: go on.
    let mut outlets = OUTLETS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    f(&mut outlets)
}

/// Writes `unit` (one or more whole lines) to `stream`, or queues or drops
/// it; never blocks.
pub fn write(stream: Stream, unit: &[u8]) {
    with(|outlets| {
        let outlet = &mut outlets[stream as usize];
        outlet.flush();
        if unit.is_empty() || matches!(outlet.how, How::Gone) {
            return;
        }
        // Still waiting after the flush: the stream takes nothing now.
        if !outlet.queue.is_empty() {
            return outlet.queue.push(unit.to_vec(), |d| dropped_line(stream, d));
        }
        // Nothing waits: straight out, queued only what the stream left.
        let sent = send(&mut outlet.how, stream, unit);
        let rest = match sent {
            Ok(n) => &unit[n..],
            Err(()) if matches!(outlet.how, How::Gone) => return,
            Err(()) => unit,
        };
        if !rest.is_empty() {
            outlet.queue.push(rest.to_vec(), |d| dropped_line(stream, d));
        }
    });
}

/// Writes what waits, as far as the streams take it.
pub fn flush() {
    with(|outlets| outlets.iter_mut().for_each(Outlet::flush));
}

/// Whether something waits (the supervisor then retries every `RETRY`).
pub fn pending() -> bool {
    with(|outlets| outlets.iter().any(|o| !o.queue.is_empty() && !matches!(o.how, How::Gone)))
}

/// At exit: waits up to `LAST_WAIT` for the streams to take what waits.
pub fn finish() {
    let end = Instant::now() + LAST_WAIT;
    loop {
        flush();
        let left = end.saturating_duration_since(Instant::now());
        if !pending() || left.is_zero() {
            return;
        }
        // fd 1 or 2 is the same pipe or terminal as a reopened descriptor.
        let waiting: Vec<Handle> = with(|outlets| {
            outlets.iter().filter(|o| o.queue.has_bytes()).map(|o| o.stream.handle()).collect()
        });
        let mut fds: Vec<PollFd> =
            waiting.iter().map(|h| PollFd::new(h.as_fd(), PollFlags::POLLOUT)).collect();
        let ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX).max(1);
        if fds.is_empty() || poll(&mut fds, PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)).is_err() {
            return;
        }
    }
}

/// The WARN line for `dropped`, in the log's format.
fn dropped_line(stream: Stream, d: Dropped) -> Vec<u8> {
    crate::log::dropped_report(stream.name(), d.lines, d.bytes).into_bytes()
}

impl Outlet {
    fn flush(&mut self) {
        let stream = self.stream;
        loop {
            self.queue.settle(|d| dropped_line(stream, d));
            let strict = matches!(self.how, How::Polled);
            let Some(batch) = self.queue.batch(PIPE_BUF, strict) else { return };
            let (sent, len) = (send(&mut self.how, stream, &batch), batch.len());
            match sent {
                Ok(n) => {
                    self.queue.consumed(n);
                    if n < len {
                        return;
                    }
                }
                Err(()) => {
                    if matches!(self.how, How::Gone) {
                        self.queue.clear();
                    }
                    return;
                }
            }
        }
    }
}

/// One write of `bytes` to `stream` in its way (`how`, found at the first
/// write): the count taken; `Err` when nothing was, and `how` is `Gone`
/// when nothing ever will be.
fn send(how: &mut How, stream: Stream, bytes: &[u8]) -> Result<usize, ()> {
    let handle = stream.handle();
    let fd = handle.as_fd();
    if matches!(how, How::Unknown) {
        *how = way_to_write(fd);
    }
    let result = match &*how {
        How::Unknown | How::Gone => return Err(()),
        How::Plain => nix::unistd::write(fd, bytes),
        How::Reopened(own) => nix::unistd::write(own, bytes),
        How::Socket => {
            let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL;
            nix::sys::socket::send(fd.as_raw_fd(), bytes, flags)
        }
        How::Polled => {
            let mut fds = [PollFd::new(fd, PollFlags::POLLOUT)];
            match poll(&mut fds, PollTimeout::ZERO) {
                Ok(1) if fds[0].revents().is_some_and(|r| r.contains(PollFlags::POLLOUT)) => {
                    nix::unistd::write(fd, &bytes[..bytes.len().min(PIPE_BUF)])
                }
                _ => Err(Errno::EAGAIN),
            }
        }
    };
    match result {
        Ok(0) | Err(Errno::EAGAIN | Errno::EINTR) => Err(()),
        Ok(n) => Ok(n),
        // EPIPE (no reader), EBADF (closed), EIO (a hung-up terminal): gone.
        Err(_) => {
            *how = How::Gone;
            Err(())
        }
    }
}

/// How to write `fd` without blocking (see the module's header).
fn way_to_write(fd: BorrowedFd<'_>) -> How {
    let Ok(st) = nix::sys::stat::fstat(fd) else { return How::Gone };
    let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
    let terminal = kind == SFlag::S_IFCHR && nix::unistd::isatty(fd).unwrap_or(false);
    if kind == SFlag::S_IFSOCK {
        return How::Socket;
    }
    if kind != SFlag::S_IFIFO && !terminal {
        return How::Plain;
    }
    match crate::sys::reopen_for_writing(fd) {
        Ok(own) => How::Reopened(own),
        Err(_) => How::Polled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::fcntl::OFlag;

    #[test]
    fn each_kind_of_stream_gets_its_way_of_writing_without_blocking() {
        let (r, w) = nix::unistd::pipe().unwrap();
        let reopened = way_to_write(w.as_fd());
        let How::Reopened(own) = &reopened else { panic!("a pipe is reopened") };
        let flags = nix::fcntl::fcntl(own, nix::fcntl::FcntlArg::F_GETFL).unwrap();
        assert!(OFlag::from_bits_truncate(flags).contains(OFlag::O_NONBLOCK));
        let shared = nix::fcntl::fcntl(&w, nix::fcntl::FcntlArg::F_GETFL).unwrap();
        assert!(
            !OFlag::from_bits_truncate(shared).contains(OFlag::O_NONBLOCK),
            "the shared one stays blocking"
        );
        // Full, the private description says so instead of blocking.
        let chunk = [b'x'; PIPE_BUF];
        while nix::unistd::write(own, &chunk).is_ok() {}
        assert_eq!(nix::unistd::write(own, b"more\n"), Err(Errno::EAGAIN));
        drop(r);
        use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
        let (a, _b) =
            socketpair(AddressFamily::Unix, SockType::Stream, None, SockFlag::SOCK_CLOEXEC).unwrap();
        assert!(matches!(way_to_write(a.as_fd()), How::Socket));
        let null = std::fs::File::options().write(true).open("/dev/null").unwrap();
        assert!(matches!(way_to_write(null.as_fd()), How::Plain));
    }
}
