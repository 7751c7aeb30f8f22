//! The client side of runtime control (docs/reference.md, "Runtime
//! control"): `init start|stop|restart SERVICE` and `init signal SERVICE
//! SIG` find the live init as `init status` does, send one request line to
//! its control socket and wait for the one answer line (the init answers
//! once the action is done), at most `timeout` (then 75).

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;

use crate::run::supervisor::SOCKET_NAME;
use crate::status_file;
use mooring::config::Limit;
use mooring::error::Error;

/// Longest answer read.
const MAX_ANSWER: u64 = 4096;

/// Sends `request` (`stop web`) and returns the init's code; its message
/// goes to stdout on success, as the error otherwise.
pub fn request(request: &str, timeout: Limit) -> Result<u8, Error> {
    let (st, path) = status_file::find_live_at()?;
    let socket = path.with_file_name(SOCKET_NAME);
    let refused = |message: String, code: u8| Error::Refused { message, code };
    let mut stream = UnixStream::connect(&socket).map_err(|e| match e.kind() {
        ErrorKind::NotFound if st.control == Some(false) => {
            refused(format!("init (pid {}) could not make its control socket (its log says why)", st.pid), 1)
        }
        ErrorKind::NotFound => refused(
            format!("init (pid {}) has no control socket: it runs one command, not services", st.pid),
            1,
        ),
        ErrorKind::PermissionDenied => {
            let uid = nix::unistd::geteuid();
            refused(
                format!(
                    "{}: uid {uid} may not control this init (root or its own uid only)",
                    socket.display()
                ),
                77,
            )
        }
        _ => Error::Control { path: socket.clone(), source: e },
    })?;
    // Whom a client believes (docs/security.md): the socket's server must be
    // the init the status file names, not whoever bound that name.
    let peer = nix::sys::socket::getsockopt(&stream, nix::sys::socket::sockopt::PeerCredentials);
    match peer.map(|c| c.pid()) {
        Ok(pid) if pid == st.pid => {}
        Ok(pid) => {
            let why = format!(
                "{}: served by pid {pid}, not by init (pid {}): not believed",
                socket.display(),
                st.pid
            );
            return Err(refused(why, 1));
        }
        Err(e) => return Err(refused(format!("{}: {e}", socket.display()), 1)),
    }
    let _ = stream.set_read_timeout(timeout.0);
    // A refused peer may be answered and closed before its request is
    // written: the answer is read even when the write failed.
    let wrote = stream.write_all(format!("{request}\n").as_bytes());
    let mut line = String::new();
    let read = BufReader::new(std::io::Read::take(&stream, MAX_ANSWER)).read_line(&mut line);
    match (read, wrote) {
        (Ok(n), _) if n > 0 => answer(line.trim_end()),
        (Err(e), Ok(())) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Err(Error::NoAnswer { request: request.into(), after: timeout.0 })
        }
        (_, Err(e)) | (Err(e), _) => Err(Error::Control { path: socket, source: e }),
        (Ok(_), Ok(())) => Err(refused(format!("{}: closed without an answer", socket.display()), 1)),
    }
}

/// `0 web stopped` → 0 (the message printed); `64 no service named "x"` → that error.
fn answer(line: &str) -> Result<u8, Error> {
    let (code, message) = line.split_once(' ').unwrap_or((line, ""));
    match code.parse::<u8>() {
        Ok(0) => {
            println!("{message}");
            Ok(0)
        }
        Ok(code) => Err(Error::Refused { message: message.to_string(), code }),
        Err(_) => Err(Error::Refused { message: format!("init answered {line:?}"), code: 1 }),
    }
}
