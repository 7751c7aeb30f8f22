//! A pattern's text into a program, in one pass by recursive descent: an
//! alternation of sequences of items, each item maybe repeated, a group
//! being an alternation again. The recursion goes one level per group, and
//! groups nest at most `MAX_DEPTH` deep. What is accepted, and what is an
//! error, is listed in docs/reference.md ("Services", the log pattern).

use super::*;

type Prog = Vec<Inst>;
/// What is wrong; where is the last char read then.
type Fault = &'static str;

/// `\d \D \w \W \s \S` as ranges (ASCII, as regex-lite has them); the
/// negated ones reach INVALID.
pub(super) const DIGIT: &[(u32, u32)] = &[(0x30, 0x39)];
const NOT_DIGIT: &[(u32, u32)] = &[(0, 0x2f), (0x3a, INVALID)];
const WORD: &[(u32, u32)] = &[(0x30, 0x39), (0x41, 0x5a), (0x5f, 0x5f), (0x61, 0x7a)];
const NOT_WORD: &[(u32, u32)] = &[(0, 0x2f), (0x3a, 0x40), (0x5b, 0x5e), (0x60, 0x60), (0x7b, INVALID)];
const SPACE: &[(u32, u32)] = &[(0x09, 0x0d), (0x20, 0x20)];
const NOT_SPACE: &[(u32, u32)] = &[(0, 0x08), (0x0e, 0x1f), (0x21, INVALID)];

/// The deepest nesting of groups.
pub const MAX_DEPTH: usize = 32;

const IN_CLASS: &str = "unsupported in a class";
const TOO_LARGE: &str = "pattern too large";

/// What a backslash sequence stands for.
enum Esc {
    Char(u32),
    Set(&'static [(u32, u32)]),
}

struct Parser<'a> {
    src: &'a str,
    /// The byte offset of the next char.
    pos: usize,
    prog: Vec<Inst>,
    ranges: Vec<(u32, u32)>,
}

/// `src` compiled.
#[inline(never)] // outlined, the binary is smaller (size budget: docs/benchmarks.md)
pub(super) fn compile(src: &str) -> Result<Pattern, Error> {
    let fail = |at, what| Err(Error { at, what });
    if src.is_empty() {
        return fail(0, "empty pattern");
    }
    if src.len() > MAX_PATTERN {
        return fail(MAX_PATTERN, "pattern longer than 1024 bytes");
    }
    let icase = src.starts_with("(?i)");
    let mut p = Parser { src, pos: if icase { 4 } else { 0 }, prog: Vec::new(), ranges: Vec::new() };
    if let Err(what) = p.alternation(0) {
        // The last char read: where it went wrong.
        let mut at = p.pos.saturating_sub(1);
        while !src.is_char_boundary(at) {
            at -= 1;
        }
        return fail(at, what);
    }
    // An alternation ends at the end or at a `)`.
    if p.pos < src.len() {
        return fail(p.pos, "unopened group");
    }
    if p.prog.len() > MAX_PROGRAM {
        return fail(p.pos - 1, TOO_LARGE);
    }
    Ok(Pattern { source: src.to_string(), prog: p.prog, ranges: p.ranges, icase })
}

impl Parser<'_> {
    /// `a|b|c` up to a `)` or the end: each branch but the last behind a
    /// split to it or past it, every branch ending in a jump to the next
    /// one's, the last of which goes on after the alternation.
    fn alternation(&mut self, depth: usize) -> Result<(), Fault> {
        let (mut branch, mut jump) = (self.prog.len(), None);
        loop {
            self.sequence(depth)?;
            let more = self.next_is(b'|');
            if !more && jump.is_none() {
                return Ok(());
            }
            if more {
                let n = self.prog.len() - branch;
                self.prog.insert(branch, Inst::Split(1, n as i32 + 2));
            }
            let j = self.prog.len();
            if let Some(p) = jump {
                self.prog[p] = Inst::Jmp((j - p) as i32);
            }
            self.prog.push(Inst::Jmp(1));
            if !more {
                return Ok(());
            }
            (branch, jump) = (self.prog.len(), Some(j));
        }
    }

    /// Items, each maybe repeated, up to a `|`, a `)` or the end.
    fn sequence(&mut self, depth: usize) -> Result<(), Fault> {
        while let Some(b) = self.peek()
            && b != b'|'
            && b != b')'
        {
            let start = self.prog.len();
            self.item(depth)?;
            while let Some((min, max)) = self.repetition()? {
                let item = self.prog.split_off(start);
                let n = item.len();
                let more = match max {
                    None if min == 0 => n + 2,
                    None => 1,
                    Some(max) => (max - min) as usize * (n + 1),
                };
                // The whole program so far: nothing big is ever built.
                if start + min as usize * n + more > MAX_PROGRAM {
                    return Err(TOO_LARGE);
                }
                repeat(&mut self.prog, &item, min, max);
            }
        }
        Ok(())
    }

    /// One item (a char, a class, an assertion or a group).
    fn item(&mut self, depth: usize) -> Result<(), Fault> {
        let Some(c) = self.bump() else { return Ok(()) };
        let inst = match c {
            '(' => return self.group(depth),
            '*' | '+' | '?' | '{' => return Err("nothing to repeat"),
            '^' => Inst::Start,
            '$' => Inst::End,
            '.' => self.set(true, &[(0x0a, 0x0a)]),
            '[' => self.class()?,
            '\\' => match self.escape()? {
                Esc::Char(c) => self.set(false, &[(c, c)]),
                Esc::Set(ranges) => self.set(false, ranges),
            },
            c => self.set(false, &[(c as u32, c as u32)]),
        };
        self.prog.push(inst);
        Ok(())
    }

    /// `( … )` or `(?: … )`, after its `(`.
    fn group(&mut self, depth: usize) -> Result<(), Fault> {
        if depth == MAX_DEPTH {
            return Err("groups nested too deep");
        }
        if self.next_is(b'?') && !self.next_is(b':') {
            return Err("unsupported group syntax");
        }
        self.alternation(depth + 1)?;
        match self.next_is(b')') {
            true => Ok(()),
            false => Err("unclosed group"),
        }
    }

    /// `*`, `+`, `?` or `{…}` next (a lazy `?` after it changes nothing
    /// whether a line matches).
    #[inline(never)] // outlined, the binary is smaller (size budget: docs/benchmarks.md)
    fn repetition(&mut self) -> Result<Option<(u32, Option<u32>)>, Fault> {
        let counts = match self.peek() {
            Some(b'*') => (0, None),
            Some(b'+') => (1, None),
            Some(b'?') => (0, Some(1)),
            Some(b'{') => (u32::MAX, None),
            _ => return Ok(None),
        };
        self.pos += 1;
        let counts = if counts.0 == u32::MAX { self.counts()? } else { counts };
        self.next_is(b'?');
        Ok(Some(counts))
    }

    fn set(&mut self, neg: bool, ranges: &[(u32, u32)]) -> Inst {
        let from = self.ranges.len() as u32;
        self.ranges.extend_from_slice(ranges);
        Inst::Set { neg, from, to: self.ranges.len() as u32 }
    }

    /// The next byte (the syntax is ASCII; `bump` takes whole chars).
    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.src[self.pos..].chars().next()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn next_is(&mut self, b: u8) -> bool {
        let is = self.peek() == Some(b);
        self.pos += usize::from(is);
        is
    }

    /// `{n}`, `{n,}` or `{n,m}`, after the `{`.
    fn counts(&mut self) -> Result<(u32, Option<u32>), Fault> {
        let bad = "invalid repetition";
        let min = self.number().ok_or(bad)?;
        let max = if self.next_is(b',') { self.number() } else { Some(min) };
        if !self.next_is(b'}') {
            return Err(bad);
        }
        match min > MAX_COUNT || max.is_some_and(|m| m > MAX_COUNT || m < min) {
            true => Err("repetition counts not n <= m <= 1000"),
            false => Ok((min, max)),
        }
    }

    fn number(&mut self) -> Option<u32> {
        let mut value = None;
        while let Some(d) = self.peek().filter(u8::is_ascii_digit) {
            self.pos += 1;
            value = Some(value.unwrap_or(0u32).saturating_mul(10).saturating_add(u32::from(d - b'0')));
        }
        value
    }

    /// After a backslash.
    fn escape(&mut self) -> Result<Esc, Fault> {
        let Some(c) = self.bump() else { return Err("trailing backslash") };
        Ok(match c {
            't' => Esc::Char(0x09),
            'n' => Esc::Char(0x0a),
            'r' => Esc::Char(0x0d),
            'd' => Esc::Set(DIGIT),
            'D' => Esc::Set(NOT_DIGIT),
            'w' => Esc::Set(WORD),
            'W' => Esc::Set(NOT_WORD),
            's' => Esc::Set(SPACE),
            'S' => Esc::Set(NOT_SPACE),
            // `\<` and `\>` are word boundaries in regex-lite.
            '<' | '>' => return Err("unsupported escape"),
            c if c.is_ascii_punctuation() => Esc::Char(c as u32),
            _ => return Err("unsupported escape"),
        })
    }

    /// A class, after its `[`: chars, ranges and `\d \w \s` (and their
    /// negations), read as regex-lite reads one (docs/reference.md).
    fn class(&mut self) -> Result<Inst, Fault> {
        let neg = self.next_is(b'^');
        let from = self.ranges.len();
        // `-`s first are literal ones, else a `]` first is; neither begins
        // a range (`[]-a]` is `]`, `-` and `a`).
        while self.next_is(b'-') {
            self.ranges.push((0x2d, 0x2d));
        }
        if self.ranges.len() == from && self.next_is(b']') {
            self.ranges.push((0x5d, 0x5d));
        }
        while let Some(item) = self.class_item(true)? {
            let bytes = self.src.as_bytes();
            // A `-` before a `]` is a literal one; before a `-`, the start
            // of a set operation.
            let range = bytes.get(self.pos) == Some(&b'-')
                && !matches!(bytes.get(self.pos + 1), None | Some(b']' | b'-'));
            self.pos += usize::from(range);
            let lo = match item {
                Esc::Char(lo) => lo,
                // A range from `\d`: its end is no char.
                Esc::Set(_) if range => return Err(IN_CLASS),
                Esc::Set(set) => {
                    self.ranges.extend_from_slice(set);
                    continue;
                }
            };
            let mut hi = lo;
            if range {
                let Some(Esc::Char(end)) = self.class_item(false)? else { return Err(IN_CLASS) };
                if end < lo {
                    return Err("class range out of order");
                }
                hi = end;
            }
            self.ranges.push((lo, hi));
        }
        Ok(Inst::Set { neg, from: from as u32, to: self.ranges.len() as u32 })
    }

    /// One item of a class, or the end of a range (`start` false); `None`
    /// at its closing `]`.
    fn class_item(&mut self, start: bool) -> Result<Option<Esc>, Fault> {
        let c = self.bump();
        // `&&`, `--` and `~~` begin class set operations.
        if start && matches!(c, Some('&' | '-' | '~')) && self.peek() == c.map(|c| c as u8) {
            return Err(IN_CLASS);
        }
        match c {
            None => Err("unclosed class"),
            Some(']') => Ok(None),
            Some('[') => Err(IN_CLASS),
            Some('\\') => self.escape().map(Some),
            Some(c) => Ok(Some(Esc::Char(c as u32))),
        }
    }
}

/// `item` (just taken off the end of `prog`) `min` to `max` times back
/// onto it (`None`: no limit); its jumps are relative, so copies work.
fn repeat(prog: &mut Prog, item: &[Inst], min: u32, max: Option<u32>) {
    for _ in 0..min {
        prog.extend_from_slice(item);
    }
    let n = item.len() as i32;
    match max {
        None if min == 0 => {
            prog.push(Inst::Split(1, n + 2));
            prog.extend_from_slice(item);
            prog.push(Inst::Jmp(-(n + 1)));
        }
        // Back to the start of the last copy.
        None => prog.push(Inst::Split(-n, 1)),
        Some(max) => {
            for _ in min..max {
                prog.push(Inst::Split(1, n + 1));
                prog.extend_from_slice(item);
            }
        }
    }
}
