//! The template language, as a pure function over text and a variable lookup:
//! `<<NAME>>`, `<<NAME:-default>>`, `<<NAME-default>>`, `<<NAME:?message>>`
//! and `\<<` for a literal `<<`. Everything else passes through byte for byte
//! (`$nginx_var`, `${x}`, `{{ go }}`, `<<EOF`, `<< NAME >>`), so config files
//! of every syntax can be templates. A placeholder never spans lines.

/// A required variable that is not set, where it was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub line: usize,
    pub col: usize,
    pub name: String,
    /// The `:?message` text, if the placeholder gave one.
    pub message: Option<String>,
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

/// The next `<` that starts `<<`, or `\` that starts `\<<`.
fn find_special(bytes: &[u8]) -> Option<usize> {
    let mut from = 0;
    loop {
        let i = from + bytes[from..].iter().position(|&b| b == b'<' || b == b'\\')?;
        if bytes[i + 1..].starts_with(if bytes[i] == b'\\' { b"<<" } else { b"<" }) {
            return Some(i);
        }
        from = i + 1;
    }
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

/// Length of the `[A-Za-z_][A-Za-z0-9_]*` name at the start of `s`.
fn name_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if !b.first().is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') {
        return None;
    }
    Some(b.iter().position(|c| !(c.is_ascii_alphanumeric() || *c == b'_')).unwrap_or(b.len()))
}

fn missing_at(input: &str, at: usize, name: &str, message: Option<&str>) -> Missing {
    let (line, col) = line_col(input, at);
    Missing { line, col, name: name.to_string(), message: message.map(str::to_string) }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<&'static str> {
        match name {
            "HOST" => Some("db.local"),
            "PORT" => Some("5432"),
            "EMPTY" => Some(""),
            _ => None,
        }
    }

    fn ok(input: &str) -> String {
        render(input, env).expect("renders").text
    }

    #[test]
    fn the_syntax_table() {
        assert_eq!(ok("<<HOST>>:<<PORT>>"), "db.local:5432");
        assert_eq!(ok("<<UNSET:-fallback>>"), "fallback");
        assert_eq!(ok("<<EMPTY:-fallback>>"), "fallback");
        assert_eq!(ok("<<HOST:-fallback>>"), "db.local");
        assert_eq!(ok("<<UNSET-fallback>>"), "fallback");
        assert_eq!(ok("[<<EMPTY-fallback>>]"), "[]");
        assert_eq!(ok("<<HOST:?must be set>>"), "db.local");
        assert_eq!(ok("<<UNSET:->>"), "");
        assert_eq!(ok("\\<<HOST>>"), "<<HOST>>");
        assert_eq!(ok("a\\b \\<<"), "a\\b <<");
        assert_eq!(ok("<<UNSET:-a>b c>>"), "a>b c");
        assert_eq!(ok("<<<HOST>>>"), "<db.local>");
    }

    #[test]
    fn everything_else_passes_through_byte_for_byte() {
        for text in [
            "server_name $host; proxy_pass http://$upstream;",
            "${HOST} $HOST {{ .Host }} {{HOST}}",
            "cat <<EOF\nhello\nEOF\n",
            "<< HOST >> <<HOST >> << HOST>>",
            "<<1NAME>> <<-x>> << >> <<>> << <<",
            "<<HOST:x>> <<HOST\n>> <<UNSET:-multi\nline>>",
            "tail \\ backslash \\\\<< \u{e9}t\u{e9} \u{1F600}",
        ] {
            let want = text.replace("\\\\<<", "\\<<");
            assert_eq!(ok(text), want, "{text:?}");
        }
    }

    #[test]
    fn every_missing_variable_is_reported_with_its_position() {
        let input = "a <<NOPE>>\n\u{e9}\u{e9} <<ALSO:?set ALSO please>> <<EMPTY:?empty>>\n<<HOST>>";
        let missing = render(input, env).unwrap_err();
        let brief: Vec<_> =
            missing.iter().map(|m| (m.line, m.col, m.name.as_str(), m.message.as_deref())).collect();
        assert_eq!(
            brief,
            [(1, 3, "NOPE", None), (2, 4, "ALSO", Some("set ALSO please")), (2, 30, "EMPTY", Some("empty")),]
        );
    }

    #[test]
    fn used_names_are_listed_once_each() {
        let r = render("<<HOST>> <<PORT>> <<HOST>> <<UNSET:-x>>", env).unwrap();
        assert_eq!(r.used, ["HOST", "PORT", "UNSET"]);
    }

    #[test]
    fn near_misses_are_found_but_real_placeholders_and_heredocs_are_not() {
        let input = "<< HOST >>\nok <<HOST>> <<EOF\n  <<PORT >> <<X:default>> \\<< Y >> $<<EOF>>x";
        let found: Vec<_> = near_misses(input).into_iter().map(|n| (n.line, n.col, n.text)).collect();
        assert_eq!(
            found,
            [(1, 1, "<< HOST >>".to_string()), (3, 3, "<<PORT >>".into()), (3, 13, "<<X:default>>".into())]
        );
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\n\u{e9}x", 5), (2, 2));
        assert_eq!(line_col("abc", 0), (1, 1));
    }
}
