//! The log pattern matcher against regex-lite, the crate whose syntax it
//! mirrors (docs/reference.md, "Log patterns"). Each input is read twice:
//!
//! - raw: the bytes up to the first NUL are the pattern, the rest a line
//!   (the seeds in seeds/pattern are written so);
//! - structured: the bytes drive a generator of patterns inside the
//!   documented subset (and, marked so, some just outside it), and of
//!   lines made of the chars the pattern names, their neighbours and bytes
//!   that are not UTF-8.
//!
//! Then: compiling never panics and an error names a position inside the
//! pattern; a pattern both accept gives the same answer on every line; a
//! pattern regex-lite refuses is refused by mooring too (its syntax is
//! regex-lite's, so it must never read such a pattern its own way); a
//! pattern inside the documented subset is accepted unless it hits one of
//! the documented limits.
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use mooring::pattern::Pattern;
use regex_lite::RegexBuilder;

/// What regex-lite is given for each byte of a line that is not UTF-8
/// (it matches `&str` only). docs/reference.md: such a byte "counts as one
/// char of its own, taken by `.`, negated classes and `\D \W \S` only",
/// which U+10FFFF is too for regex-lite, as long as no pattern names it:
/// the generator never does, and the raw reading skips lines that are not
/// UTF-8 when the pattern holds it.
const NOT_UTF8: char = '\u{10FFFF}';

/// The refusals docs/reference.md lists as limits (length, program size,
/// nesting, counts), allowed even inside the subset.
const LIMITS: &[&str] = &[
    "pattern longer than 1024 bytes",
    "pattern too large",
    "groups nested too deep",
    "repetition counts not n <= m <= 1000",
];

fuzz_target!(|data: &[u8]| {
    raw(data);
    let mut u = Unstructured::new(data);
    if let Ok((pattern, strict, lines)) = generate(&mut u) {
        check(&pattern, strict, &lines);
    }
});

fn raw(data: &[u8]) {
    let (pattern, line) = match data.iter().position(|&b| b == 0) {
        Some(nul) => (&data[..nul], &data[nul + 1..]),
        None => (data, &b""[..]),
    };
    let Ok(text) = std::str::from_utf8(pattern) else { return };
    if text.contains(NOT_UTF8) && std::str::from_utf8(line).is_err() {
        return;
    }
    check(text, false, &[line.to_vec()]);
}

fn check(pattern: &str, strict: bool, lines: &[Vec<u8>]) {
    // An empty pattern is refused (docs/reference.md: "it would match any
    // line"); regex-lite accepts it.
    if pattern.is_empty() {
        assert!(Pattern::new(pattern).is_err());
        return;
    }
    // regex-lite's nesting limit (50 levels of its syntax tree) is below
    // what 32 groups make; only the syntax is compared, not its limits. Its
    // size limit is lowered from 10 MiB to 1 MiB so that runs stay fast.
    let theirs = RegexBuilder::new(pattern).nest_limit(10_000).size_limit(1 << 20).build();
    match (Pattern::new(pattern), theirs) {
        (Ok(ours), Ok(re)) => {
            let folds_badly = folds_one_case(pattern);
            for line in lines {
                let (found, want) = (ours.is_match(line), re.is_match(&haystack(line)));
                if folds_badly && found && !want {
                    continue;
                }
                assert_eq!(found, want, "{pattern:?} on {line:?}: regex-lite says {want}");
            }
        }
        // regex-lite's size limit is on its program, counted repetition of
        // empty groups expanded (`(){600}{600}`); mooring's program stays
        // small there. Not a matter of syntax.
        (Ok(_), Err(e)) if e.to_string().contains("size limit") => {}
        (Ok(_), Err(e)) => panic!("{pattern:?} accepted, regex-lite refuses it: {e}"),
        (Err(e), theirs) => {
            assert!(e.at <= pattern.len(), "{pattern:?}: {e:?}");
            let limit = LIMITS.contains(&e.what);
            assert!(!strict || limit || theirs.is_err(), "{pattern:?} is in the subset but refused: {e:?}");
        }
    }
}

/// Whether `pattern` is `(?i)` with a class range from `A-Z` into `a-z`
/// (`(?i)[Z-a]`), maybe: regex-lite 0.1 folds only the part in `a-z` of
/// such a range, so it misses `b` in `(?i)[\0-a]`. docs/reference.md says
/// `(?i)` takes "ASCII letters in either case", as mooring does: there
/// only mooring saying yes where regex-lite says no is let through. Read
/// loosely: any `x-y` between a `[` and a `]` that is not first counts.
fn folds_one_case(pattern: &str) -> bool {
    let Some(rest) = pattern.strip_prefix("(?i)") else { return false };
    let (mut chars, mut class, mut items) = (rest.chars().peekable(), false, Vec::new());
    while let Some(c) = chars.next() {
        // An item: a char, `-` (as `None`), or an escape (its char).
        let item = match c {
            '\\' => chars.next().map(|e| match e {
                't' => Some('\t'),
                'n' => Some('\n'),
                'r' => Some('\r'),
                e => Some(e),
            }),
            '[' if !class => {
                (class, items) = (true, Vec::new());
                chars.next_if_eq(&'^');
                chars.next_if_eq(&']');
                continue;
            }
            ']' if class => {
                class = false;
                continue;
            }
            '-' => Some(None),
            c => Some(Some(c)),
        };
        if class && let Some(item) = item {
            items.push(item);
            if let [.., Some(lo), None, Some(hi)] = items[..]
                && lo <= 'Z'
                && hi >= 'a'
            {
                return true;
            }
        }
    }
    false
}

/// `line` as regex-lite sees it: each byte that is not UTF-8 one NOT_UTF8.
fn haystack(line: &[u8]) -> String {
    let mut s = String::new();
    for chunk in line.utf8_chunks() {
        s.push_str(chunk.valid());
        s.extend(chunk.invalid().iter().map(|_| NOT_UTF8));
    }
    s
}

/// A pattern, whether it is plainly inside the documented subset, and
/// lines to match it against.
fn generate(u: &mut Unstructured) -> Result<(String, bool, Vec<Vec<u8>>)> {
    let mut g = Gen { u, text: String::new(), strict: true, chars: Vec::new() };
    if g.u.ratio(1, 4)? {
        g.text.push_str("(?i)");
    }
    g.alternation(0)?;
    g.noise()?;
    let (text, strict, chars) = (g.text, g.strict, g.chars);
    let mut lines = Vec::new();
    for _ in 0..u.int_in_range(1..=4)? {
        lines.push(line(u, &chars)?);
    }
    Ok((text, strict, lines))
}

struct Gen<'a, 'b> {
    u: &'b mut Unstructured<'a>,
    text: String,
    /// Whether the text is plainly inside the documented subset. Some
    /// renderings step outside it, or onto ground only regex-lite's
    /// reading settles (`[--a]`): there mooring may refuse, but when it
    /// accepts it must agree.
    strict: bool,
    /// The chars the pattern names, for lines that come near a match.
    chars: Vec<char>,
}

/// Chars worth trying: letters in both cases (`(?i)`), the syntax chars,
/// the ones `\w \s` border on, UTF-8 of every length, Unicode chars that
/// case-fold to ASCII ones (K, ſ: `(?i)` is ASCII only).
const POOL: &[char] = &[
    'a', 'b', 'A', 'B', 'z', 'Z', '0', '9', '_', ' ', '-', ']', '}', '^', '$', '.', '*', '+', '?', '(', ')',
    '[', '{', '|', '\\', '&', '~', '#', ',', ':', '<', '>', '/', '@', '`', '\t', '\n', '\r', '\x0b', '\x0c',
    '\0', '\x7f', 'é', 'É', '€', 'ß', '\u{212a}', '\u{17f}', '😀',
];

impl Gen<'_, '_> {
    fn alternation(&mut self, depth: u32) -> Result<()> {
        let branches = *self.u.choose(&[1, 1, 1, 2, 3])?;
        for k in 0..branches {
            if k > 0 {
                self.text.push('|');
            }
            for _ in 0..self.u.int_in_range(0..=4)? {
                self.item(depth)?;
                self.repetition()?;
            }
        }
        Ok(())
    }

    fn item(&mut self, depth: u32) -> Result<()> {
        match self.u.int_in_range(0..=12)? {
            0..=3 => {
                let c = self.char()?;
                self.literal(c)?;
            }
            4 => self.text.push('.'),
            5 => self.text.push_str(self.u.choose(&[r"\d", r"\D", r"\w", r"\W", r"\s", r"\S"])?),
            6 => self.text.push_str(self.u.choose(&[r"\t", r"\n", r"\r"])?),
            7 | 8 => self.class()?,
            9 => self.text.push(*self.u.choose(&['^', '$'])?),
            10 | 11 if depth < 4 => {
                self.text.push_str(self.u.choose(&["(", "(?:"])?);
                self.alternation(depth + 1)?;
                self.text.push(')');
            }
            _ => self.outside()?,
        }
        Ok(())
    }

    /// A char from POOL, or any but NOT_UTF8.
    fn char(&mut self) -> Result<char> {
        let c = match self.u.ratio(1, 5)? {
            true => char::from_u32(self.u.int_in_range(0..=0x10_fffe)?).unwrap_or('a'),
            false => *self.u.choose(POOL)?,
        };
        self.chars.push(c);
        Ok(c)
    }

    /// `c` outside a class: escaped when it is syntax, maybe escaped when
    /// it is other ASCII punctuation.
    fn literal(&mut self, c: char) -> Result<()> {
        let escape = match c {
            '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | '{' | '^' | '$' => true,
            c if c.is_ascii_punctuation() => self.u.ratio(1, 2)?,
            _ => false,
        };
        if escape {
            self.escaped(c);
        } else {
            self.text.push(c);
        }
        Ok(())
    }

    /// `\c`: regex-lite reads `\<` and `\>` as word boundaries.
    fn escaped(&mut self, c: char) {
        self.strict &= !matches!(c, '<' | '>');
        self.text.push('\\');
        self.text.push(c);
    }

    /// `[…]` of chars, ranges and Perl classes; docs/reference.md: "a `]`
    /// first is a literal one, a `-` first or last too".
    fn class(&mut self) -> Result<()> {
        self.text.push('[');
        if self.u.ratio(1, 3)? {
            self.text.push('^');
        }
        let n = self.u.int_in_range(1..=4)?;
        for i in 0..n {
            let (first, last) = (i == 0, i == n - 1);
            match self.u.int_in_range(0..=4)? {
                0 => self.text.push_str(self.u.choose(&[r"\d", r"\D", r"\w", r"\W", r"\s", r"\S", r"\t"])?),
                1 | 2 => {
                    let (a, b) = (self.char()?, self.char()?);
                    let (lo, hi) = (a.min(b), a.max(b));
                    self.neighbours(lo, hi);
                    self.class_char(lo, first, false, true)?;
                    self.text.push('-');
                    self.class_char(hi, false, false, true)?;
                }
                _ => {
                    let c = self.char()?;
                    self.class_char(c, first, last, false)?;
                }
            }
        }
        self.text.push(']');
        Ok(())
    }

    /// The chars just outside and inside a range, for the lines.
    fn neighbours(&mut self, lo: char, hi: char) {
        for c in [u32::from(lo).wrapping_sub(1), u32::from(hi) + 1] {
            self.chars.extend(char::from_u32(c).filter(|&c| c != NOT_UTF8));
        }
    }

    /// `c` in a class, raw when that can be, or escaped.
    fn class_char(&mut self, c: char, first: bool, last: bool, endpoint: bool) -> Result<()> {
        let prev = self.text.chars().next_back();
        // Whether `c` raw would be plainly in the subset; None: only escaped.
        let raw = match c {
            '\\' | '[' => None,
            ']' if first => Some(!endpoint),
            ']' => None,
            '^' if first => None,
            '-' => Some((first || last) && !endpoint),
            // `&&` and `~~` are class set operations (refused).
            '&' | '~' => Some(prev != Some(c)),
            c if c.is_ascii_punctuation() => Some(true),
            _ => Some(true),
        };
        match raw {
            Some(strict) if !c.is_ascii_punctuation() || self.u.ratio(2, 3)? => {
                self.strict &= strict;
                self.text.push(c);
            }
            _ if c.is_ascii_punctuation() => self.escaped(c),
            _ => self.text.push(c),
        }
        Ok(())
    }

    fn repetition(&mut self) -> Result<()> {
        for _ in 0..2 {
            let op = match self.u.int_in_range(0..=10)? {
                0..=4 => return Ok(()),
                5 => "*".to_string(),
                6 => "+".to_string(),
                7 => "?".to_string(),
                8 | 9 => self.counts()?,
                _ => {
                    self.strict = false;
                    self.u
                        .choose(&["{,2}", "{ 1}", "{1 }", "{1, 2}", "{", "{1", "{a}", "{2,1}", "{}"])?
                        .to_string()
                }
            };
            self.text.push_str(&op);
            if self.u.ratio(1, 4)? {
                self.text.push('?');
            }
        }
        Ok(())
    }

    fn counts(&mut self) -> Result<String> {
        let big = self.u.ratio(1, 16)?;
        let top = if big { 1000 } else { 4 };
        let n = self.u.int_in_range(0..=top)?;
        Ok(match self.u.int_in_range(0..=2)? {
            0 => format!("{{{n}}}"),
            1 => format!("{{{n},}}"),
            _ => format!("{{{n},{}}}", self.u.int_in_range(n..=top)?),
        })
    }

    /// Syntax the subset leaves out (docs/reference.md lists it as errors),
    /// or that regex-lite reads otherwise.
    fn outside(&mut self) -> Result<()> {
        const OUT: &[&str] = &[
            r"\<",
            r"\>",
            r"\b",
            r"\B",
            r"\A",
            r"\z",
            r"\v",
            r"\a",
            r"\f",
            r"\x41",
            r"\u{41}",
            r"\p{L}",
            r"\1",
            r"\ ",
            r"\é",
            "(?i)",
            "(?m)",
            "(?s)",
            "(?-i)",
            "(?i:a)",
            "(?=a)",
            "(?P<n>a)",
            "(?<n>a)",
            "[[:alpha:]]",
            "[[:^digit:]x]",
            "[a&&b]",
            "[a--b]",
            "[a~~b]",
            "[--a]",
            "[a-]b]",
            "[]-a]",
            "[^]-a]",
            "[!--]",
            "[-]",
            "[^-]",
            "[]",
            "[^]",
            "[a-\\d]",
            "[\\d-z]",
            "[\\w-]",
            "{",
            "}",
            "]",
            ")",
            "(",
            "[",
            "\\",
            "*",
            "(?)",
            "(?:)",
            "()",
            "(|)",
            "a**",
            "^*",
            "$+",
            "(^)*",
        ];
        self.strict = false;
        self.text.push_str(self.u.choose(OUT)?);
        Ok(())
    }

    /// Maybe one ASCII char inserted anywhere: patterns near the subset.
    fn noise(&mut self) -> Result<()> {
        if !self.u.ratio(1, 8)? {
            return Ok(());
        }
        let c = char::from(self.u.int_in_range(0x20..=0x7e)?);
        let at = self.u.int_in_range(0..=self.text.len())?;
        if self.text.is_char_boundary(at) {
            self.strict = false;
            self.text.insert(at, c);
        }
        Ok(())
    }
}

/// A line of the pattern's chars (either case), chars from POOL and bytes
/// that are not UTF-8 (lone, truncated, overlong, surrogate, too high).
fn line(u: &mut Unstructured, chars: &[char]) -> Result<Vec<u8>> {
    const BAD: &[&[u8]] =
        &[b"\xff", b"\x80", b"\xe2\x82", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc3"];
    let mut line = Vec::new();
    for _ in 0..u.int_in_range(0..=12)? {
        let c = match u.int_in_range(0..=6)? {
            0..=2 if !chars.is_empty() => *u.choose(chars)?,
            3 if !chars.is_empty() => swap_case(*u.choose(chars)?),
            4 => {
                line.extend_from_slice(u.choose(BAD)?);
                continue;
            }
            5 => {
                line.push(u.arbitrary()?);
                continue;
            }
            _ => *u.choose(POOL)?,
        };
        line.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
    }
    Ok(line)
}

fn swap_case(c: char) -> char {
    match c {
        'a'..='z' => c.to_ascii_uppercase(),
        'A'..='Z' => c.to_ascii_lowercase(),
        _ => c,
    }
}
