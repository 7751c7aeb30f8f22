//! Placeholders left unclosed: `<<NAME>` with one `>`, `<<NAME:-text>`.
//! They pass through as text, as everything that is not a placeholder does
//! (a heredoc's `<<EOF` must), so `init check` warns of them instead of
//! refusing them (docs/reference.md, "Templates"). Linear, like `render`.

use super::scan::{Next, Scan, name_len};
use super::{Lines, NearMiss};

/// Each `<<NAME>` (one `>`), and each `<<NAME:-…>`, `<<NAME:?…>` or
/// `<<NAME-…>` whose line holds a `>`, with no `<` before it, but no `>>`
/// to close it.
pub fn unclosed(input: &str) -> Vec<NearMiss> {
    let bytes = input.as_bytes();
    let mut found = Vec::new();
    let (mut scan, mut lines) = (Scan::new(input), Lines::new(input));
    let (mut opens, mut lts) = (Next::new(input, b"<<"), Next::new(input, b"<"));
    let (mut gts, mut line_ends) = (Next::new(input, b">"), Next::new(input, b"\n"));
    let mut from = 0;
    while let Some(i) = opens.at_or_after(from) {
        // As the renderer, which may find a placeholder one byte on (`<<<NAME>>`).
        from = i + 1;
        let escaped = i > 0 && bytes[i - 1] == b'\\';
        let Some(n) = name_len(&input[i + 2..]).filter(|_| !escaped) else { continue };
        let after = i + 2 + n;
        let end = match bytes.get(after..).unwrap_or_default() {
            [b'>', b'>', ..] => continue,
            [b'>', ..] => after,
            [b':', b'-' | b'?', ..] | [b'-', ..] if scan.placeholder(i).is_none() => {
                // No `<` inside: the texts shown never overlap, so all are linear.
                let stop = [line_ends.at_or_after(after), lts.at_or_after(after)];
                let stop = stop.into_iter().flatten().min().unwrap_or(input.len());
                match gts.at_or_after(after) {
                    Some(gt) if gt < stop => gt,
                    _ => continue,
                }
            }
            _ => continue,
        };
        let (line, col) = lines.at(i);
        found.push(NearMiss { line, col, text: input[i..=end].to_string() });
    }
    found
}
