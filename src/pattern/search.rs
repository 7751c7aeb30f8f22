//! Running a program over a line: every state alive at a position is kept
//! once, and each char moves them all one step, so the work is bounded by
//! the line's length times the program's, whatever the pattern.

use super::*;

/// The states alive at one position, each once.
struct States {
    on: Vec<bool>,
    list: Vec<usize>,
}

impl States {
    fn new(n: usize) -> States {
        States { on: vec![false; n], list: Vec::new() }
    }

    /// Adds state `pc`; true when it is the program's end (a match).
    fn add(&mut self, pc: usize) -> bool {
        if pc == self.on.len() {
            return true;
        }
        if !self.on[pc] {
            self.on[pc] = true;
            self.list.push(pc);
        }
        false
    }

    fn clear(&mut self) {
        for &pc in &self.list {
            self.on[pc] = false;
        }
        self.list.clear();
    }
}

impl Pattern {
    /// Whether some part of `line` (without its newline) matches. UTF-8 is
    /// decoded so that `.` and classes take a whole char; a byte that is
    /// not UTF-8 counts as one char.
    pub fn is_match(&self, line: &[u8]) -> bool {
        let n = self.prog.len();
        let (mut now, mut next, mut at) = (States::new(n), States::new(n), 0);
        loop {
            // A match may begin anywhere: a new state at every position.
            let c = char_at(&line[at..]);
            if self.follow(&mut now, 0, (at == 0, c.is_none())) {
                return true;
            }
            let Some((c, len)) = c else { return false };
            at += len;
            for k in 0..now.list.len() {
                let pc = now.list[k];
                if self.takes(pc, c) && self.follow(&mut next, pc + 1, (false, at == line.len())) {
                    return true;
                }
            }
            std::mem::swap(&mut now, &mut next);
            next.clear();
        }
    }

    /// Whether instruction `pc` takes char `c`.
    #[inline(never)] // outlined, the binary is smaller (size budget: docs/benchmarks.md)
    fn takes(&self, pc: usize, c: u32) -> bool {
        let Inst::Set { neg, from, to } = self.prog[pc] else { return false };
        let ranges = &self.ranges[from as usize..to as usize];
        let other = match (c | 0x20).wrapping_sub(0x61) < 26 {
            true => c ^ 0x20,
            false => c,
        };
        neg != (in_ranges(ranges, c) || (self.icase && in_ranges(ranges, other)))
    }

    /// Adds state `pc` and every state it leads to without taking a char
    /// at a position that is the line's start or end or neither (the list
    /// is its own work list); true when one of them is the program's end.
    fn follow(&self, states: &mut States, pc: usize, (start, end): (bool, bool)) -> bool {
        let mut k = states.list.len();
        if states.add(pc) {
            return true;
        }
        while let Some(&pc) = states.list.get(k) {
            k += 1;
            let to = |d: i32| pc.wrapping_add_signed(d as isize);
            let (a, b) = match self.prog[pc] {
                Inst::Jmp(d) => (to(d), to(d)),
                Inst::Split(a, b) => (to(a), to(b)),
                Inst::Start if start => (pc + 1, pc + 1),
                Inst::End if end => (pc + 1, pc + 1),
                Inst::Set { .. } | Inst::Start | Inst::End => continue,
            };
            if states.add(a) || states.add(b) {
                return true;
            }
        }
        false
    }
}

/// The char `bytes` start with, and its length; a byte that does not
/// begin valid UTF-8 is INVALID, one byte long. `None` at the end.
fn char_at(bytes: &[u8]) -> Option<(u32, usize)> {
    let first = *bytes.first()?;
    if first < 0x80 {
        return Some((u32::from(first), 1));
    }
    let head = bytes[..bytes.len().min(4)].utf8_chunks().next()?;
    Some(head.valid().chars().next().map_or((INVALID, 1), |c| (u32::from(c), c.len_utf8())))
}

fn in_ranges(ranges: &[(u32, u32)], c: u32) -> bool {
    ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi)
}
