//! Text from others, made safe to print (docs/security.md, "Texts from
//! others"): file names, `STATUS=` texts and the fields `init status` prints
//! go out with every control character escaped, so nobody forges an `init:`
//! line or sends a terminal escape through init.
//!
//! The escapes: `\n`, `\r`, `\t`, `\\` for a backslash, `\xNN` for the other
//! C0 characters and DEL (`\x1b`, `\x7f`), and `\u{NN}` for the C1 ones
//! (`\u{9b}`, a one-character CSI to some terminals): two forms, so that
//! `\xNN` always means the single byte U+00NN. Backslashes are escaped too,
//! so the result reads back one way only (`unescape`).

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with control characters (Unicode Cc: C0, DEL, C1) and backslashes
/// escaped; borrowed when there is nothing to escape.
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_within(text, usize::MAX)
}

/// Control characters escaped, backslashes left as they are: for text
/// that init composed itself and that quotes others' values already
/// (a log line's message, with `{:?}`), or that was escaped before (a
/// `STATUS=` text as init stored it). No line ends and no escape gets
/// through; it is not meant to be read back.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    escape_with(text, usize::MAX, char::is_control)
}

/// As `escape`, cut to at most `max` characters of output, never inside an
/// escape: the text is cut before the character that would not fit whole.
pub fn escape_within(text: &str, max: usize) -> Cow<'_, str> {
    escape_with(text, max, needs_escape)
}

/// `text` with the characters `escaped` picks escaped, within `max` characters.
fn escape_with(text: &str, max: usize, escaped: fn(char) -> bool) -> Cow<'_, str> {
    let clean = text.find(escaped).unwrap_or(text.len());
    let short = max == usize::MAX || text.len() <= max || text.chars().nth(max).is_none();
    if clean == text.len() && short {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut count = 0;
    for c in text.chars() {
        let before = out.len();
        // Every escape is ASCII, so its length in bytes is its length in characters.
        let width = if escaped(c) {
            push_escaped(&mut out, c);
            out.len() - before
        } else {
            out.push(c);
            1
        };
        if count + width > max {
            out.truncate(before);
            break;
        }
        count += width;
    }
    Cow::Owned(out)
}

/// Whether `c` is written as an escape.
pub fn needs_escape(c: char) -> bool {
    c.is_control() || c == '\\'
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\\' => out.push_str("\\\\"),
        c if (c as u32) < 0x80 && c.is_control() => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if c.is_control() => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// The inverse of `escape` (for tests and the fuzz target); `None` for text
/// `escape` could not have written.
pub fn unescape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let c = match chars.next()? {
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            '\\' => '\\',
            'x' => {
                let hex: String = chars.by_ref().take(2).collect();
                char::from_u32(hex_number(&hex).filter(|_| hex.len() == 2)?)?
            }
            'u' => {
                let rest = chars.as_str();
                let close = rest.find('}')?;
                let code = hex_number(rest.get(1..close).filter(|_| rest.starts_with('{'))?)?;
                chars = rest[close + 1..].chars();
                char::from_u32(code)?
            }
            _ => return None,
        };
        out.push(c);
    }
    Some(out)
}

/// Hex digits only (`from_str_radix` alone takes a sign too).
fn hex_number(digits: &str) -> Option<u32> {
    let hex = !digits.is_empty() && digits.len() <= 6 && digits.bytes().all(|b| b.is_ascii_hexdigit());
    u32::from_str_radix(digits, 16).ok().filter(|_| hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_backslashes_are_escaped_and_the_rest_borrowed() {
        for (text, want) in [
            ("plain text, ünïcode", "plain text, ünïcode"),
            ("a\nb\rc\td", "a\\nb\\rc\\td"),
            ("x\ninit:\tERROR forged\x1b]2;title\x07", "x\\ninit:\\tERROR forged\\x1b]2;title\\x07"),
            ("back\\slash", "back\\\\slash"),
            ("nul\0 del\x7f", "nul\\x00 del\\x7f"),
            ("csi\u{9b}31m and \u{85}", "csi\\u{9b}31m and \\u{85}"),
            ("", ""),
        ] {
            assert_eq!(escape(text), want, "{text:?}");
            assert_eq!(unescape(&escape(text)).as_deref(), Some(text), "{text:?}");
        }
        assert!(matches!(escape("no escapes here"), Cow::Borrowed(_)));
        assert!(matches!(escape("tab\there"), Cow::Owned(_)));
        assert_eq!(escape_controls("said \"a\\nb\"\n\u{1b}"), "said \"a\\nb\"\\n\\x1b");
        assert!(matches!(escape_controls("C:\\dir"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_bounded_escape_never_cuts_an_escape_in_two() {
        for (text, max, want) in [
            ("abcdef", 3, "abc"),
            ("ab\x1bcd", 4, "ab"),
            ("ab\x1bcd", 6, "ab\\x1b"),
            ("ab\ncd", 3, "ab"),
            ("ab\ncd", 4, "ab\\n"),
            ("\u{9b}", 5, ""),
            ("\u{9b}x", 6, "\\u{9b}"),
            ("éé", 1, "é"),
        ] {
            assert_eq!(escape_within(text, max), want, "{text:?} within {max}");
        }
        assert!(matches!(escape_within("short", 200), Cow::Borrowed(_)));
    }

    #[test]
    fn unescape_refuses_what_escape_never_writes() {
        for bad in ["\\", "\\q", "\\x1", "\\x+1", "\\u{}", "\\xzz", "\\u{110000}", "\\u{9b", "\\u9b"] {
            assert_eq!(unescape(bad), None, "{bad:?}");
        }
    }
}
