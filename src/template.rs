//! The template language, as a pure function over text and a variable lookup:
//! `<<NAME>>`, `<<NAME:-default>>`, `<<NAME-default>>`, `<<NAME:?message>>`
//! and `\<<` for a literal `<<`. Everything else passes through byte for byte
//! (`$nginx_var`, `${x}`, `{{ go }}`, `<<EOF`, `<< NAME >>`), so config files
//! of every syntax can be templates. A placeholder never spans lines.

use std::collections::BTreeSet;

use scan::{Next, Scan, find_special, name_len};

/// A required variable that is not set, where it was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub line: usize,
    pub col: usize,
    /// Bytes into the input where the placeholder starts.
    pub offset: usize,
    pub name: String,
    /// The `:?message` text, if the placeholder gave one.
    pub message: Option<String>,
}

impl Missing {
    /// `NAME is not set`, and then the placeholder's `:?` message, or else
    /// that `NAME_FILE` would do too (docs/reference.md, "Secrets").
    pub fn reason(&self) -> String {
        let name = &self.name;
        match &self.message {
            Some(message) => format!("{name} is not set: {message}"),
            None if name.ends_with("_FILE") => format!("{name} is not set"),
            None => format!("{name} is not set: set {name} or {name}_FILE"),
        }
    }
}

/// Something that looks like a placeholder but is not one (`<< NAME >>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearMiss {
    pub line: usize,
    pub col: usize,
    pub text: String,
}

/// The rendered text and the variables it read (for secret tracking).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    pub used: Vec<String>,
}

enum Op<'a> {
    Required,
    /// `:-` (unset or empty) or `-` (unset only).
    Default {
        text: &'a str,
        if_empty: bool,
    },
    /// `:?message`
    Error(&'a str),
}

struct Placeholder<'a> {
    name: &'a str,
    op: Op<'a>,
    /// Bytes from the first `<` to after the closing `>>`.
    len: usize,
}

/// Renders `input`, looking variables up with `lookup`. Every missing
/// variable is reported, not just the first. Linear in the input (docs/security.md): every search below is remembered or starts where the last
/// one stopped.
/// One copy for every caller (`lookup` is a `dyn`): a few calls per distinct
/// name, the rest answered by `Looked`.
pub fn render<'v>(input: &str, lookup: &dyn Fn(&str) -> Option<&'v str>) -> Result<Rendered, Vec<Missing>> {
    let mut out = Rendered { text: String::with_capacity(input.len()), used: Vec::new() };
    let mut looked = Looked::default();
    let mut missing = Vec::new();
    let mut lines = Lines::new(input);
    let mut done = 0; // input[..done] is handled
    for piece in Pieces::new(input) {
        match piece {
            Piece::Escape(i) => {
                out.text.push_str(&input[done..i]);
                out.text.push_str("<<");
                done = i + 3;
            }
            Piece::Placeholder(i, ph) => {
                out.text.push_str(&input[done..i]);
                let (value, new) = looked.get(ph.name, lookup);
                if new {
                    out.used.push(ph.name.to_string());
                }
                match resolve(ph.op, value) {
                    Ok(text) => out.text.push_str(text),
                    Err(message) => {
                        let (line, col) = lines.at(i);
                        let (name, message) = (ph.name.to_string(), message.map(str::to_string));
                        missing.push(Missing { line, col, offset: i, name, message });
                    }
                }
                done = i + ph.len;
            }
        }
    }
    out.text.push_str(&input[done..]);
    if missing.is_empty() { Ok(out) } else { Err(missing) }
}

/// The values of the names a render has met: the first `FEW` distinct ones
/// kept beside their value (a template repeats a handful of names thousands
/// of times, and a short list beats looking each up again), the rest looked
/// up every time and remembered as seen.
#[derive(Default)]
struct Looked<'a, 'v> {
    few: Vec<(&'a str, Option<&'v str>)>,
    seen: Seen<'a>,
}

impl<'a, 'v> Looked<'a, 'v> {
    /// The value of `name`, and whether this is its first time.
    fn get(&mut self, name: &'a str, lookup: &dyn Fn(&str) -> Option<&'v str>) -> (Option<&'v str>, bool) {
        if let Some((_, value)) = self.few.iter().find(|(n, _)| *n == name) {
            return (*value, false);
        }
        let value = lookup(name);
        if self.few.len() < FEW {
            self.few.push((name, value));
            return (value, true);
        }
        (value, self.seen.insert(name))
    }
}

/// The names of every placeholder in `input`, once each, without rendering:
/// what a text needs, so that `_FILE` secrets are read only for variables
/// the configuration uses (docs/reference.md, "Secrets").
pub fn names(input: &str) -> BTreeSet<&str> {
    let mut seen = Seen::default();
    for piece in Pieces::new(input) {
        if let Piece::Placeholder(_, ph) = piece {
            seen.insert(ph.name);
        }
    }
    seen.into_set()
}

/// Names met so far. A template uses a handful of names thousands of times:
/// up to `FEW` distinct ones a scan of a short list beats any tree; past
/// that a set keeps many distinct names linear-logarithmic.
#[derive(Default)]
struct Seen<'a> {
    few: Vec<&'a str>,
    many: BTreeSet<&'a str>,
}

const FEW: usize = 16;

impl<'a> Seen<'a> {
    /// Whether `name` is new.
    fn insert(&mut self, name: &'a str) -> bool {
        if self.few.len() < FEW {
            if self.few.contains(&name) {
                return false;
            }
            self.few.push(name);
            return true;
        }
        if self.many.is_empty() {
            self.many.extend(self.few.iter().copied());
        }
        self.many.insert(name)
    }

    fn into_set(self) -> BTreeSet<&'a str> {
        if self.many.is_empty() { self.few.into_iter().collect() } else { self.many }
    }
}

/// What the scanner finds in a text, in order: `\<<` at a byte offset, or a
/// placeholder starting there. Shared by `render` and `names` so that the
/// two can never disagree on what is a placeholder.
enum Piece<'a> {
    Escape(usize),
    Placeholder(usize, Placeholder<'a>),
}

struct Pieces<'a> {
    input: &'a str,
    scan: Scan<'a>,
    at: usize,
}

impl<'a> Pieces<'a> {
    fn new(input: &'a str) -> Self {
        Pieces { input, scan: Scan::new(input), at: 0 }
    }
}

impl<'a> Iterator for Pieces<'a> {
    type Item = Piece<'a>;

    fn next(&mut self) -> Option<Piece<'a>> {
        let bytes = self.input.as_bytes();
        loop {
            let i = self.at + find_special(&bytes[self.at..])?;
            if bytes[i] == b'\\' {
                if bytes[i + 1..].starts_with(b"<<") {
                    self.at = i + 3;
                    return Some(Piece::Escape(i));
                }
                self.at = i + 1;
                continue;
            }
            match self.scan.placeholder(i) {
                Some(ph) => {
                    self.at = i + ph.len;
                    return Some(Piece::Placeholder(i, ph));
                }
                None => self.at = i + 1,
            }
        }
    }
}

/// What a placeholder renders to, or — for a variable that is missing — the
/// `:?` message, if it has one.
fn resolve<'t>(op: Op<'t>, value: Option<&'t str>) -> Result<&'t str, Option<&'t str>> {
    let empty = value.is_none_or(str::is_empty);
    match (op, value) {
        (Op::Default { text, if_empty: true }, _) if empty => Ok(text),
        (Op::Default { text, if_empty: false }, None) => Ok(text),
        (Op::Error(message), _) if empty => Err(Some(message)),
        (_, Some(v)) => Ok(v),
        (_, None) => Err(None),
    }
}

/// Line and column of offsets that only grow, counted on from the last one
/// instead of from the start of the text: reporting every one of many
/// positions stays linear. A smaller offset starts the count again.
pub struct Lines<'a> {
    text: &'a str,
    offset: usize,
    line: usize,
    col: usize,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Self {
        Lines { text, offset: 0, line: 1, col: 1 }
    }

    /// 1-based line and column (in characters) of byte offset `at`; an
    /// offset past the end counts as the end.
    pub fn at(&mut self, at: usize) -> (usize, usize) {
        let at = at.min(self.text.len());
        if at < self.offset {
            *self = Lines::new(self.text);
        }
        for &b in &self.text.as_bytes()[self.offset..at] {
            if b == b'\n' {
                self.line += 1;
                self.col = 1;
            } else if b & 0xc0 != 0x80 {
                // Not a UTF-8 continuation byte: a character starts here.
                self.col += 1;
            }
        }
        self.offset = at;
        (self.line, self.col)
    }
}

/// 1-based line and column (in characters) of byte offset `at`.
pub fn line_col(input: &str, at: usize) -> (usize, usize) {
    Lines::new(input).at(at)
}

/// `<<` + optional spaces + NAME + optional spaces + `>>` with a space
/// somewhere, or `<<NAME:x...>>` with an unknown operator: almost certainly
/// a placeholder typed wrong, which would pass through unrendered. Linear
/// like `render`: each search below has its own memory.
pub fn near_misses(input: &str) -> Vec<NearMiss> {
    let mut found = Vec::new();
    let (mut scan, mut lines) = (Scan::new(input), Lines::new(input));
    let mut opens = Next::new(input, b"<<");
    let (mut line_ends, mut closes) = (Next::new(input, b"\n"), Next::new(input, b">>"));
    let mut inside = Inside::new(input);
    let mut from = 0;
    while let Some(i) = opens.at_or_after(from) {
        from = i + 2;
        if i > 0 && input.as_bytes()[i - 1] == b'\\' || scan.placeholder(i).is_some() {
            continue;
        }
        let line_end = line_ends.at_or_after(i).unwrap_or(input.len());
        let Some(close) = closes.at_or_after(i).filter(|&c| c < line_end) else { continue };
        if inside.looks_like_placeholder(i + 2, close) {
            let (line, col) = lines.at(i);
            found.push(NearMiss { line, col, text: input[i..close + 2].to_string() });
        }
    }
    found
}

/// What sits between a near-miss's `<<` and `>>`. The space, colon and `<`
/// searches are remembered, since many openers may share one far `>>`.
struct Inside<'a> {
    input: &'a str,
    spaces: Next<'a>,
    colons: Next<'a>,
    opens: Next<'a>,
}

impl<'a> Inside<'a> {
    fn new(input: &'a str) -> Self {
        let next = |pat| Next::new(input, pat);
        Inside { input, spaces: next(b" "), colons: next(b":"), opens: next(b"<") }
    }

    /// Whether `input[start..end]`, trimmed, is a name alone or a name and
    /// then `:`, with a space around it or a colon in it, and no `<`.
    fn looks_like_placeholder(&mut self, start: usize, end: usize) -> bool {
        let inner = &self.input[start..end];
        // Only the whitespace and the name are read here; they hold no `<`,
        // so no byte is read for two different openers.
        let trimmed = inner.trim_start();
        let Some(n) = name_len(trimmed) else { return false };
        let after = trimmed[n..].trim_start();
        if !(after.is_empty() || after.starts_with(':')) {
            return false;
        }
        let has = |next: &mut Next<'_>| next.at_or_after(start).is_some_and(|at| at < end);
        let spaced = trimmed.len() < inner.len()
            || inner.chars().next_back().is_some_and(char::is_whitespace)
            || has(&mut self.spaces);
        (spaced || has(&mut self.colons)) && !has(&mut self.opens)
    }
}

#[cfg(test)]
mod reference;
mod scan;
mod unclosed;
pub use unclosed::unclosed;
#[cfg(test)]
mod tests;
