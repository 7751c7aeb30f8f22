use std::fs::File;
use std::io::{Read, Write};

use super::*;

/// A source reading a pipe the test writes to, passing on to a pipe the
/// test reads; `ready` once a pump said so (the pattern is then no longer
/// given, as the supervisor does once the service is ready).
struct Rig {
    input: Option<File>,
    source: Source,
    sink: File,
    pattern: Pattern,
    ready: bool,
}

fn nonblocking_pipe() -> (OwnedFd, OwnedFd) {
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).expect("pipe");
    nix::fcntl::fcntl(&r, nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).expect("O_NONBLOCK");
    (r, w)
}

fn rig(prefix: bool, pattern: &str) -> Rig {
    let (r, w) = nonblocking_pipe();
    let (sink_r, sink_w) = nonblocking_pipe();
    let source = Source::new(0, r, Sink::Pipe(File::from(sink_w)), prefix);
    let pattern = Pattern::new(pattern).expect("valid pattern");
    Rig { input: Some(File::from(w)), source, sink: File::from(sink_r), pattern, ready: false }
}

impl Rig {
    /// Writes `bytes` and pumps them all; whether the pipe is still open.
    fn send(&mut self, bytes: &[u8]) -> bool {
        self.input.as_mut().expect("open").write_all(bytes).expect("write");
        self.pump()
    }

    fn close(&mut self) -> bool {
        self.input = None;
        self.pump()
    }

    fn pump(&mut self) -> bool {
        // More pumps than the budget needs for what a test sends.
        (0..8).fold(true, |open, _| {
            let pattern = Some(&self.pattern).filter(|_| !self.ready);
            let pumped = self.source.pump("db", pattern);
            self.ready |= pumped.ready;
            open && pumped.open
        })
    }

    fn out(&mut self) -> String {
        let mut out = Vec::new();
        let _ = self.sink.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[test]
fn inherited_output_goes_out_as_read_while_lines_are_matched() {
    let mut r = rig(false, "ready to go$");
    r.send(b"starting\r\n\tindented\nbad \xff byte\n");
    assert_eq!((r.ready, r.out()), (false, "starting\r\n\tindented\nbad \u{fffd} byte\n".into()));
    r.send(b"db is rea");
    assert_eq!((r.ready, r.out()), (false, "db is rea".into()), "a partial line is not held back");
    r.send(b"dy to go\nafter");
    assert_eq!((r.ready, r.out()), (true, "dy to go\nafter".into()), "matched across two reads");
    assert!(!r.close(), "closed at end of file");
    assert_eq!(r.out(), "", "nothing is added at the end: no newline");
}

#[test]
fn a_last_line_without_newline_is_matched_at_end_of_file() {
    let mut r = rig(false, "^ready$");
    r.send(b"ready");
    assert!(!r.ready, "a line is matched whole, once its end is known");
    r.close();
    assert_eq!((r.ready, r.out()), (true, "ready".into()));
}

#[test]
fn only_the_first_4_kib_of_a_line_are_matched() {
    for prefix in [false, true] {
        let long = |xs: usize| [vec![b'x'; xs], b"ready\n".to_vec()].concat();
        let mut r = rig(prefix, "ready");
        r.send(&[b'x'; 5000]);
        r.send(b"ready\n");
        assert!(!r.ready, "the rest of a line already cut is not matched (prefix {prefix})");
        r.send(&long(5000));
        r.send(&long(MAX_LINE - 4)[..3000]);
        r.send(&long(MAX_LINE - 4)[3000..]);
        assert!(!r.ready, "\"ready\" ends past the first {MAX_LINE} bytes (prefix {prefix})");
        r.send(&long(MAX_LINE - 5));
        assert!(r.ready, "\"ready\" ends at byte {MAX_LINE} (prefix {prefix})");
    }
}

#[test]
fn prefixed_lines_are_matched_and_long_ones_go_out_in_pieces() {
    let mut r = rig(true, r"^listening on \d+$");
    r.send(b"listening on port 80\n");
    assert_eq!((r.ready, r.out()), (false, "db | listening on port 80\n".into()));
    r.send(&[b'y'; MAX_LINE + 10]);
    r.send(b"\nlistening on 80\nlast");
    let pieces = format!("db | {}\ndb | yyyyyyyyyy\ndb | listening on 80\n", "y".repeat(MAX_LINE));
    assert_eq!((r.ready, r.out()), (true, pieces));
    r.close();
    assert_eq!(r.out(), "db | last\n");
}

#[test]
fn without_a_pattern_nothing_is_ready() {
    let mut r = rig(false, "ready");
    r.ready = true;
    r.send(b"ready\n");
    let pumped = r.source.pump("db", None);
    assert!(!pumped.ready && pumped.open);
    assert_eq!(r.out(), "ready\n");
}
