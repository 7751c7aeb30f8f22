//! A call that fails again and again — reading the signalfd, inotify, a
//! service's output pipe, `poll` itself — is logged once, when it starts
//! failing (naming the errno), then only counted; one line says when it
//! works again and how many failures there were (docs/reference.md, "When
//! system calls fail"). A persistent error once logged a line on every
//! wake-up. The streak also carries the back-off (`Retry`) a source
//! waits out before it is tried again, so a failing source is not polled
//! in a busy loop.

use std::time::Instant;

use nix::errno::Errno;

use crate::process::retry::Retry;

/// The failures of one call since it last worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Failing {
    errno: Errno,
    retry: Retry,
}

/// One source's run of failures (none while it works).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Streak {
    failing: Option<Failing>,
}

/// What a failure or a success means for the log: at most one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// The first failure: say so, naming the errno.
    Began(Errno),
    /// Still failing, for another reason: say so once more.
    Changed(Errno),
    /// It works again after `failures` failures.
    Recovered { failures: u32 },
}

impl Streak {
    pub const fn new() -> Streak {
        Streak { failing: None }
    }

    /// A failure with `errno` at `now`: the line to log, if any; the next
    /// try is due after the back-off.
    #[must_use]
    pub fn fail(&mut self, errno: Errno, now: Instant) -> Option<Note> {
        match &mut self.failing {
            None => {
                self.failing = Some(Failing { errno, retry: Retry::first(now) });
                Some(Note::Began(errno))
            }
            Some(f) => {
                f.retry.again(now);
                let changed = f.errno != errno;
                f.errno = errno;
                changed.then_some(Note::Changed(errno))
            }
        }
    }

    /// A success: the line to log when it ends a streak.
    #[must_use]
    pub fn ok(&mut self) -> Option<Note> {
        let failing = self.failing.take()?;
        Some(Note::Recovered { failures: failing.retry.failures })
    }

    pub fn failing(&self) -> bool {
        self.failing.is_some()
    }

    /// The latest errno while failing.
    pub fn errno(&self) -> Option<Errno> {
        self.failing.map(|f| f.errno)
    }

    /// When to try again while failing.
    pub fn retry_at(&self) -> Option<Instant> {
        self.failing.map(|f| f.retry.at)
    }

    /// Failing, and not yet due for another try: leave the source alone.
    pub fn waiting(&self, now: Instant) -> bool {
        self.failing.is_some_and(|f| !f.retry.due(now))
    }
}

impl Note {
    /// Logs the note for `what` (`"reading signals"`, `"inotify"`).
    pub fn log(self, what: &str) {
        match self {
            Note::Began(e) | Note::Changed(e) => {
                tracing::warn!(error = describe(e), "{what} failed; trying again, further failures counted")
            }
            Note::Recovered { failures } => tracing::info!(failures, "{what} works again"),
        }
    }

    /// The same for something of `service`'s (its notify socket, its output pipe).
    pub fn log_for(self, what: &str, service: &str) {
        match self {
            Note::Began(e) | Note::Changed(e) => tracing::warn!(
                service,
                error = describe(e),
                "{what} failed; trying again, further failures counted"
            ),
            Note::Recovered { failures } => tracing::info!(service, failures, "{what} works again"),
        }
    }
}

/// Logs `note`, if there is one.
pub fn log(note: Option<Note>, what: &str) {
    if let Some(note) = note {
        note.log(what);
    }
}

/// `EIO: Input/output error`: the name a search finds and the words a reader knows.
pub fn describe(e: Errno) -> String {
    let words = std::io::Error::from_raw_os_error(e as i32).to_string();
    format!("{e:?}: {}", words.split(" (os error").next().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// One step: a failure with an errno or a success, and the line expected.
    enum Step {
        Fail(Errno, Option<Note>),
        Ok(Option<Note>),
    }
    use Step::*;

    #[test]
    fn the_first_failure_is_logged_the_rest_counted_and_the_recovery_says_how_many() {
        let table: &[(&str, &[Step])] = &[
            ("works all along", &[Ok(None), Ok(None)]),
            (
                "one failure",
                &[Fail(Errno::EIO, Some(Note::Began(Errno::EIO))), Ok(Some(Note::Recovered { failures: 1 }))],
            ),
            (
                "a persistent error: one line, then counted",
                &[
                    Fail(Errno::EIO, Some(Note::Began(Errno::EIO))),
                    Fail(Errno::EIO, None),
                    Fail(Errno::EIO, None),
                    Fail(Errno::EIO, None),
                    Ok(Some(Note::Recovered { failures: 4 })),
                    Ok(None),
                ],
            ),
            (
                "another cause is said once more",
                &[
                    Fail(Errno::EMFILE, Some(Note::Began(Errno::EMFILE))),
                    Fail(Errno::EMFILE, None),
                    Fail(Errno::ENOMEM, Some(Note::Changed(Errno::ENOMEM))),
                    Fail(Errno::ENOMEM, None),
                    Ok(Some(Note::Recovered { failures: 4 })),
                ],
            ),
            (
                "a new streak after a recovery",
                &[
                    Fail(Errno::EAGAIN, Some(Note::Began(Errno::EAGAIN))),
                    Ok(Some(Note::Recovered { failures: 1 })),
                    Fail(Errno::EAGAIN, Some(Note::Began(Errno::EAGAIN))),
                    Ok(Some(Note::Recovered { failures: 1 })),
                ],
            ),
        ];
        let now = Instant::now();
        for (case, steps) in table {
            let mut streak = Streak::new();
            for (k, step) in steps.iter().enumerate() {
                let (got, want) = match step {
                    Fail(e, want) => (streak.fail(*e, now), want),
                    Ok(want) => (streak.ok(), want),
                };
                assert_eq!(&got, want, "{case}, step {k}");
            }
        }
    }

    #[test]
    fn a_failing_source_waits_out_a_growing_delay() {
        let t0 = Instant::now();
        let mut streak = Streak::new();
        assert!(!streak.waiting(t0) && streak.retry_at().is_none());
        let _ = streak.fail(Errno::EIO, t0);
        assert_eq!(streak.retry_at(), Some(t0 + Duration::from_millis(100)));
        assert!(streak.waiting(t0) && !streak.waiting(t0 + Duration::from_millis(100)));
        let _ = streak.fail(Errno::EIO, t0);
        assert_eq!(streak.retry_at(), Some(t0 + Duration::from_millis(200)));
        assert_eq!(streak.errno(), Some(Errno::EIO));
        let _ = streak.ok();
        assert!(!streak.failing() && !streak.waiting(t0) && streak.errno().is_none());
    }

    #[test]
    fn an_errno_is_described_by_its_name_and_its_words() {
        assert_eq!(describe(Errno::EIO), "EIO: Input/output error");
        assert_eq!(describe(Errno::EMFILE), "EMFILE: Too many open files");
    }
}
