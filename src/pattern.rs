//! The matcher behind `ready = { log = "REGEX" }` (docs/reference.md,
//! "Services"): the part of regex-lite's syntax a ready pattern needs,
//! compiled once at config load into a small program, then run over each
//! line as a set of states stepped char by char (a Pike VM without
//! captures). It answers one question, "does the line contain a match", in
//! O(line × program), never backtracking nor recursing; the pattern, its
//! nesting of groups (the parser's only recursion) and its program are
//! bounded. A regex crate would cost 41 kB of a binary that has a size
//! budget (docs/benchmarks.md).

mod parse;
mod search;
#[cfg(test)]
mod tests;

/// The longest pattern accepted, in bytes.
pub const MAX_PATTERN: usize = 1024;
/// The most instructions a program may have, counted repetition expanded:
/// matching a line costs up to its length times this (about 0.1 s for a
/// line of 4 KiB at the limit), which a ready pattern never comes near.
pub const MAX_PROGRAM: usize = 1024;
/// The largest count of `{n,m}`.
pub const MAX_COUNT: u32 = 1000;

/// A byte that is not part of valid UTF-8, as a char of its own: above
/// every code point, so only `.`, negated classes and `\D \W \S` match it.
const INVALID: u32 = 0x11_0000;

/// A compiled pattern; two are equal when their sources are.
#[derive(Clone)]
pub struct Pattern {
    source: String,
    prog: Vec<Inst>,
    /// The char ranges of every `Set`.
    ranges: Vec<(u32, u32)>,
    /// `(?i)`: ASCII letters match either case.
    icase: bool,
}

/// One instruction; the program matches when a state reaches its end.
/// Jumps are relative, so a piece of program can be copied as it is
/// (counted repetition).
#[derive(Clone, Copy)]
enum Inst {
    /// One char in `ranges[from..to]` (or, when `neg`, one that is not).
    Set {
        neg: bool,
        from: u32,
        to: u32,
    },
    /// Goes on at both offsets.
    Split(i32, i32),
    Jmp(i32),
    /// `^`: goes on only at the line's start.
    Start,
    /// `$`: only at its end.
    End,
}

/// What is wrong with a pattern, and where: the byte offset (from 0) of
/// the last char read when it went wrong. Config errors show it as `WHAT
/// at N in "PATTERN"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error {
    pub at: usize,
    pub what: &'static str,
}

impl Pattern {
    pub fn new(source: &str) -> Result<Pattern, Error> {
        parse::compile(source)
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.source == other.source
    }
}

impl std::fmt::Debug for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pattern({:?})", self.source)
    }
}
