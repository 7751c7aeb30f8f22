//! The pure part of the outlet: a bounded queue of whole units (a log line,
//! a prefixed output line, a chunk of inherited output) waiting for their
//! stream, with the count of what did not fit. Units are taken whole or
//! dropped whole; a unit written in part is finished before any other.

use std::borrow::Cow;
use std::collections::VecDeque;

/// What was dropped since the last report.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    pub lines: u64,
    pub bytes: u64,
}

/// Room enough for any report line.
const REPORT_MAX: usize = 256;

#[derive(Debug)]
pub struct Queue {
    units: VecDeque<Vec<u8>>,
    /// Bytes of the first unit already written.
    head: usize,
    /// Bytes still to write.
    bytes: usize,
    cap: usize,
    pub dropped: Dropped,
}

impl Queue {
    pub const fn new(cap: usize) -> Queue {
        Queue { units: VecDeque::new(), head: 0, bytes: 0, cap, dropped: Dropped { lines: 0, bytes: 0 } }
    }

    /// Nothing waits: neither bytes nor a report of dropped ones.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0 && self.dropped == Dropped::default()
    }

    /// Whether bytes wait (a report alone does not count).
    pub fn has_bytes(&self) -> bool {
        self.bytes > 0
    }

    /// Takes `unit` if it fits behind what waits (an empty queue takes any
    /// unit whole), else counts it dropped. After a drop, nothing is taken
    /// before the report (`report` makes its line) fits in front of it.
    pub fn push(&mut self, unit: Vec<u8>, report: impl Fn(Dropped) -> Vec<u8>) {
        self.settle(report);
        if self.dropped == Dropped::default() && self.fits(unit.len()) {
            self.bytes += unit.len();
            self.units.push_back(unit);
        } else {
            let newlines = unit.iter().filter(|&&b| b == b'\n').count().max(1);
            self.dropped.lines += newlines as u64;
            self.dropped.bytes += unit.len() as u64;
        }
    }

    /// Puts the report of dropped units in the queue once it fits.
    pub fn settle(&mut self, report: impl Fn(Dropped) -> Vec<u8>) {
        // Made only when it may fit: a flood drops many lines a wake-up.
        if self.dropped == Dropped::default() || !self.fits(REPORT_MAX) {
            return;
        }
        let line = report(self.dropped);
        if self.fits(line.len()) {
            self.bytes += line.len();
            self.units.push_back(line);
            self.dropped = Dropped::default();
        }
    }

    fn fits(&self, len: usize) -> bool {
        self.bytes == 0 || self.bytes + len <= self.cap
    }

    /// The next bytes to write in one call: the rest of a unit begun, or of
    /// one longer than `limit` (up to `limit` when `strict`), else as many
    /// whole units as fit in `limit`.
    pub fn batch(&self, limit: usize, strict: bool) -> Option<Cow<'_, [u8]>> {
        let first = &self.units.front()?[self.head..];
        if self.head > 0 || first.len() >= limit || self.units.len() == 1 {
            let end = if strict { first.len().min(limit) } else { first.len() };
            return Some(Cow::Borrowed(&first[..end]));
        }
        let mut out = Vec::with_capacity(limit);
        for unit in &self.units {
            if out.len() + unit.len() > limit {
                break;
            }
            out.extend_from_slice(unit);
        }
        Some(Cow::Owned(out))
    }

    /// `n` bytes of the front went out.
    pub fn consumed(&mut self, mut n: usize) {
        self.bytes -= n.min(self.bytes);
        while n > 0 {
            let Some(first) = self.units.front() else { break };
            let left = first.len() - self.head;
            if n < left {
                self.head += n;
                return;
            }
            n -= left;
            self.head = 0;
            self.units.pop_front();
        }
    }

    /// The stream is gone for good: nothing will ever be written.
    pub fn clear(&mut self) {
        *self = Queue::new(self.cap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(d: Dropped) -> Vec<u8> {
        format!("[{} lines, {} bytes dropped]\n", d.lines, d.bytes).into_bytes()
    }

    /// Writes everything as a stream taking at most `room` bytes per call would.
    fn drain(q: &mut Queue, room: usize, strict: bool) -> String {
        let mut out = Vec::new();
        while let Some(batch) = q.batch(16, strict) {
            let n = batch.len().min(room);
            out.extend_from_slice(&batch[..n]);
            q.consumed(n);
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn units_that_do_not_fit_are_dropped_whole_counted_and_reported_in_their_place() {
        let mut q = Queue::new(40);
        for line in ["one\n", "two\n", "three\n"] {
            q.push(line.as_bytes().to_vec(), report);
        }
        q.push(vec![b'x'; 30], report); // 14 + 30 > 40: dropped
        q.push(b"a\nb\n".to_vec(), report); // dropped: the report must come first and does not fit
        assert_eq!(q.dropped, Dropped { lines: 3, bytes: 34 });
        assert_eq!(drain(&mut q, 64, false), "one\ntwo\nthree\n");
        q.push(b"four\n".to_vec(), report);
        assert_eq!(drain(&mut q, 64, false), "[3 lines, 34 bytes dropped]\nfour\n");
        assert!(q.is_empty());
    }

    #[test]
    fn an_empty_queue_takes_a_unit_larger_than_its_bound_and_a_begun_unit_is_finished_first() {
        let mut q = Queue::new(8);
        q.push(b"a long line of 24 bytes\n".to_vec(), report);
        q.push(b"next\n".to_vec(), report);
        assert_eq!(q.dropped.lines, 1);
        // A stream taking 5 bytes a call: the long line's rest goes before anything else.
        assert_eq!(drain(&mut q, 5, true), "a long line of 24 bytes\n");
        q.settle(report);
        assert_eq!(drain(&mut q, 64, false), "[1 lines, 5 bytes dropped]\n");
    }

    #[test]
    fn batches_are_whole_units_up_to_the_limit() {
        let mut q = Queue::new(1024);
        for line in ["12345\n", "12345\n", "12345\n", "0123456789abcdefghij\n"] {
            q.push(line.as_bytes().to_vec(), report);
        }
        for (want, strict) in
            [(&b"12345\n12345\n"[..], false), (b"12345\n", false), (b"0123456789abcdefghij\n", false)]
        {
            let got = q.batch(16, strict).unwrap().into_owned();
            assert_eq!(got, want);
            q.consumed(got.len());
        }
        assert!(q.batch(16, false).is_none() && q.is_empty());
        q.push(b"0123456789abcdefghij\n".to_vec(), report);
        assert_eq!(q.batch(16, true).unwrap().len(), 16, "strict: at most the limit");
    }
}
