//! Finding placeholders in template text: the next special byte, the
//! searches for a placeholder's end that every byte is read once for, and
//! the parse of one placeholder. Byte comparisons throughout: this is the
//! hot loop of rendering (docs/reference.md, "Templates").

use super::{Op, Placeholder};

/// The next `<` that starts `<<`, or `\` that starts `\<<`.
pub(super) fn find_special(bytes: &[u8]) -> Option<usize> {
    let mut from = 0;
    loop {
        let i = from + bytes[from..].iter().position(|&b| b == b'<' || b == b'\\')?;
        let next_is = |k: usize| bytes.get(i + k) == Some(&b'<');
        if next_is(1) && (bytes[i] == b'<' || next_is(2)) {
            return Some(i);
        }
        from = i + 1;
    }
}

/// Where `pat` next starts at or after a position, remembered. Asked with
/// positions that only grow, the answer is reused until the position passes
/// it, so all the searches together read each byte once; a smaller position
/// is still answered right, by searching again.
pub(super) struct Next<'a> {
    hay: &'a [u8],
    pat: &'static [u8],
    /// The position the answer was searched from (`usize::MAX`: never).
    from: usize,
    found: Option<usize>,
}

impl<'a> Next<'a> {
    pub(super) fn new(hay: &'a str, pat: &'static [u8]) -> Self {
        Next { hay: hay.as_bytes(), pat, from: usize::MAX, found: None }
    }

    pub(super) fn at_or_after(&mut self, at: usize) -> Option<usize> {
        if at < self.from || self.found.is_some_and(|f| f < at) {
            let rest = self.hay.get(at..).unwrap_or_default();
            self.found = find(rest, self.pat).map(|i| at + i);
            self.from = at;
        }
        self.found
    }
}

/// Where `pat` (one byte or more) first starts in `hay`: each candidate
/// found by its first byte, the rest compared byte by byte (no call per
/// position: this is the hot loop of rendering).
fn find(hay: &[u8], pat: &[u8]) -> Option<usize> {
    let (&first, tail) = pat.split_first()?;
    let mut from = 0;
    loop {
        let i = from + hay.get(from..)?.iter().position(|&b| b == first)?;
        let rest = hay.get(i + 1..i + 1 + tail.len())?;
        if rest.iter().zip(tail).all(|(a, b)| a == b) {
            return Some(i);
        }
        from = i + 1;
    }
}

/// The searches a placeholder needs: its closing `>>` and whether a newline
/// comes first (a placeholder never spans lines).
pub(super) struct Scan<'a> {
    input: &'a str,
    closes: Next<'a>,
    newlines: Next<'a>,
}

impl<'a> Scan<'a> {
    pub(super) fn new(input: &'a str) -> Self {
        Scan { input, closes: Next::new(input, b">>"), newlines: Next::new(input, b"\n") }
    }

    /// Parses a placeholder at `at` (where `<<` starts).
    pub(super) fn placeholder(&mut self, at: usize) -> Option<Placeholder<'a>> {
        let b = self.input.as_bytes();
        if !matches!(b.get(at..at + 2), Some([b'<', b'<'])) {
            return None;
        }
        let rest = &self.input[at + 2..];
        let name_len = name_len(rest)?;
        let (name, after) = rest.split_at(name_len);
        let (op, op_len) = match after.as_bytes() {
            [b':', b'-', ..] => (0, 2),
            [b':', b'?', ..] => (1, 2),
            [b'-', ..] => (2, 1),
            [b'>', b'>', ..] => return Some(Placeholder { name, op: Op::Required, len: 2 + name_len + 2 }),
            _ => return None,
        };
        let body = at + 2 + name_len + op_len;
        let end = self.closes.at_or_after(body)?;
        if self.newlines.at_or_after(body).is_some_and(|n| n < end) {
            return None;
        }
        let text = &self.input[body..end];
        let op = match op {
            0 => Op::Default { text, if_empty: true },
            1 => Op::Error(text),
            _ => Op::Default { text, if_empty: false },
        };
        Some(Placeholder { name, op, len: end + 2 - at })
    }
}

/// Length of the `[A-Za-z_][A-Za-z0-9_]*` name at the start of `s`.
pub(super) fn name_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if !b.first().is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') {
        return None;
    }
    Some(b.iter().position(|c| !(c.is_ascii_alphanumeric() || *c == b'_')).unwrap_or(b.len()))
}
