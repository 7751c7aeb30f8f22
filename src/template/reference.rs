//! The template scanner as it was before it was made linear: quadratic on
//! inputs built for it, but short enough to check by eye. The tests compare
//! the linear scanner against it on many generated inputs.

use super::{Missing, NearMiss, Op, Placeholder, Rendered, find_special, name_len};

/// Renders `input`, looking variables up with `lookup`. Every missing
/// variable is reported, not just the first.
pub fn render<'v>(input: &str, lookup: impl Fn(&str) -> Option<&'v str>) -> Result<Rendered, Vec<Missing>> {
    let mut out = Rendered { text: String::with_capacity(input.len()), used: Vec::new() };
    let mut missing = Vec::new();
    let bytes = input.as_bytes();
    let mut done = 0; // input[..done] is handled
    let mut at = 0;
    while let Some(found) = find_special(&bytes[at..]) {
        let i = at + found;
        if bytes[i] == b'\\' {
            if bytes[i + 1..].starts_with(b"<<") {
                out.text.push_str(&input[done..i]);
                out.text.push_str("<<");
                done = i + 3;
                at = done;
            } else {
                at = i + 1;
            }
            continue;
        }
        let Some(ph) = placeholder(&input[i..]) else {
            at = i + 1;
            continue;
        };
        out.text.push_str(&input[done..i]);
        let value = lookup(ph.name);
        if !out.used.iter().any(|u| u == ph.name) {
            out.used.push(ph.name.to_string());
        }
        let empty = value.is_none_or(str::is_empty);
        match (ph.op, value) {
            (Op::Default { text, if_empty: true }, _) if empty => out.text.push_str(text),
            (Op::Default { text, if_empty: false }, None) => out.text.push_str(text),
            (Op::Error(message), _) if empty => missing.push(missing_at(input, i, ph.name, Some(message))),
            (Op::Required, None) => missing.push(missing_at(input, i, ph.name, None)),
            (_, Some(v)) => out.text.push_str(v),
            (_, None) => unreachable!("every unset case is matched above"),
        }
        done = i + ph.len;
        at = done;
    }
    out.text.push_str(&input[done..]);
    if missing.is_empty() { Ok(out) } else { Err(missing) }
}

/// Parses a placeholder at the start of `s` (which starts with `<<`).
fn placeholder(s: &str) -> Option<Placeholder<'_>> {
    let rest = s.strip_prefix("<<")?;
    let name_len = name_len(rest)?;
    let (name, after) = rest.split_at(name_len);
    let (op, body) = if let Some(r) = after.strip_prefix(":-") {
        (0, r)
    } else if let Some(r) = after.strip_prefix(":?") {
        (1, r)
    } else if let Some(r) = after.strip_prefix('-') {
        (2, r)
    } else if after.starts_with(">>") {
        return Some(Placeholder { name, op: Op::Required, len: 2 + name_len + 2 });
    } else {
        return None;
    };
    let end = body.find(">>")?;
    let text = &body[..end];
    if text.contains('\n') {
        return None;
    }
    let op = match op {
        0 => Op::Default { text, if_empty: true },
        1 => Op::Error(text),
        _ => Op::Default { text, if_empty: false },
    };
    let len = s.len() - body.len() + end + 2;
    Some(Placeholder { name, op, len })
}

fn missing_at(input: &str, at: usize, name: &str, message: Option<&str>) -> Missing {
    let (line, col) = line_col(input, at);
    Missing { line, col, offset: at, name: name.to_string(), message: message.map(str::to_string) }
}

/// 1-based line and column (in characters) of byte offset `at`.
pub fn line_col(input: &str, at: usize) -> (usize, usize) {
    let before = &input[..at];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// `<<` + optional spaces + NAME + optional spaces + `>>` with a space
/// somewhere, or `<<NAME:x...>>` with an unknown operator: almost certainly
/// a placeholder typed wrong, which would pass through unrendered.
pub fn near_misses(input: &str) -> Vec<NearMiss> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(i) = input[from..].find("<<").map(|i| from + i) {
        from = i + 2;
        if i > 0 && input.as_bytes()[i - 1] == b'\\' || placeholder(&input[i..]).is_some() {
            continue;
        }
        let line_end = input[i..].find('\n').map_or(input.len(), |n| i + n);
        let Some(close) = input[i..line_end].find(">>") else { continue };
        let inner = &input[i + 2..i + close];
        let trimmed = inner.trim();
        let named = name_len(trimmed).is_some_and(|n| {
            n == trimmed.len() || trimmed[n..].starts_with(':') || trimmed[n..].trim_start().starts_with(':')
        });
        let spaced = inner != trimmed || inner.contains(' ');
        if named && (spaced || trimmed.contains(':')) && !trimmed.contains('<') {
            let (line, col) = line_col(input, i);
            found.push(NearMiss { line, col, text: input[i..i + close + 2].to_string() });
        }
    }
    found
}
