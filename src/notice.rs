//! The systemd notification protocol's messages (docs/reference.md,
//! "Services"): `KEY=VALUE` lines a service sends to its `NOTIFY_SOCKET`.
//! Pure parsing, fuzzed (fuzz/fuzz_targets/notify.rs); the socket itself is
//! the supervisor's (src/run/supervisor/notify.rs).

use crate::escape::escape_within;

/// What a service announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Ready,
    Status(String),
    Stopping,
    Reloading,
    MainPid(i32),
}

/// The longest `STATUS=` text kept, in characters, escapes included.
pub const STATUS_MAX: usize = 200;

/// Parses one message: `KEY=VALUE` lines; unknown keys are ignored. A
/// `STATUS=` text is kept with its control characters escaped (src/escape.rs)
/// and cut to `STATUS_MAX` characters, so `init status` shows what was sent
/// and no terminal escape reaches whoever reads it (docs/security.md).
pub fn parse(message: &str) -> Vec<Notice> {
    message
        .lines()
        .filter_map(|line| match line.split_once('=')? {
            ("READY", "1") => Some(Notice::Ready),
            ("STATUS", text) => Some(Notice::Status(escape_within(text, STATUS_MAX).into_owned())),
            ("STOPPING", "1") => Some(Notice::Stopping),
            ("RELOADING", "1") => Some(Notice::Reloading),
            ("MAINPID", pid) => pid.parse().ok().filter(|&p| p > 1).map(Notice::MainPid),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_parse_as_systemd_sends_them() {
        assert_eq!(
            parse("READY=1\nSTATUS=accepting connections\nMAINPID=42\n"),
            [Notice::Ready, Notice::Status("accepting connections".into()), Notice::MainPid(42)]
        );
        assert_eq!(parse("STOPPING=1"), [Notice::Stopping]);
        assert_eq!(parse("RELOADING=1\nMONOTONIC_USEC=1"), [Notice::Reloading]);
        assert_eq!(parse("READY=0\nMAINPID=1\nMAINPID=x\nWATCHDOG=1"), []);
        assert_eq!(parse("STATUS=a\u{1b}[31mred\u{9b}"), [Notice::Status("a\\x1b[31mred\\u{9b}".into())]);
        assert_eq!(parse("STATUS=a\rb\\c"), [Notice::Status("a\\rb\\\\c".into())]);
        let long = parse(&format!("STATUS={}", "\u{7}".repeat(100)));
        assert_eq!(long, [Notice::Status("\\x07".repeat(50))], "bounded, escapes whole");
    }
}
