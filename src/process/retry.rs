//! Something that keeps failing — a write PID 1 depends on, or an event
//! source whose calls fail (docs/reference.md, "When system calls fail") —
//! is tried again after a delay that doubles from `FIRST` to `LAST`, so a
//! persistent error costs a few calls a second, never a busy loop, and a
//! passing one is over within a fraction of a second.

use std::time::{Duration, Instant};

const FIRST: Duration = Duration::from_millis(100);
const LAST: Duration = Duration::from_secs(5);

/// The failures so far and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub failures: u32,
    delay: Duration,
    pub at: Instant,
}

impl Retry {
    /// After the first failure, at `now`.
    pub fn first(now: Instant) -> Retry {
        Retry { failures: 1, delay: FIRST, at: now + FIRST }
    }

    /// After one more failure, at `now`.
    pub fn again(&mut self, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        self.delay = (self.delay * 2).min(LAST);
        self.at = now + self.delay;
    }

    pub fn due(&self, now: Instant) -> bool {
        now >= self.at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_up_to_its_cap() {
        let t0 = Instant::now();
        let mut r = Retry::first(t0);
        assert_eq!((r.failures, r.at - t0), (1, FIRST));
        assert!(!r.due(t0) && r.due(r.at));
        let waits: Vec<u128> = (0..8)
            .map(|_| {
                r.again(t0);
                (r.at - t0).as_millis()
            })
            .collect();
        assert_eq!(waits, [200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
        assert_eq!(r.failures, 9);
    }
}
