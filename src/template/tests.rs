//! Tests of the template language: the syntax table, positions, near-misses,
//! and linear scanning of inputs built to be slow.

use super::*;
use crate::template::reference;

fn env(name: &str) -> Option<&'static str> {
    match name {
        "HOST" => Some("db.local"),
        "PORT" => Some("5432"),
        "EMPTY" => Some(""),
        _ => None,
    }
}

fn ok(input: &str) -> String {
    render(input, &env).expect("renders").text
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
    let missing = render(input, &env).unwrap_err();
    let brief: Vec<_> =
        missing.iter().map(|m| (m.line, m.col, m.name.as_str(), m.message.as_deref())).collect();
    assert_eq!(
        brief,
        [(1, 3, "NOPE", None), (2, 4, "ALSO", Some("set ALSO please")), (2, 30, "EMPTY", Some("empty")),]
    );
}

#[test]
fn used_names_are_listed_once_each() {
    let r = render("<<HOST>> <<PORT>> <<HOST>> <<UNSET:-x>>", &env).unwrap();
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

/// 256 KiB: large enough that a quadratic scan takes seconds.
const BIG: usize = 256 * 1024;

#[test]
fn unclosed_placeholders_pass_through() {
    let input = "<<A-".repeat(BIG / 4);
    assert_eq!(render(&input, &env).expect("nothing is required").text, input);
}

#[test]
fn every_missing_placeholder_of_a_huge_line_is_reported() {
    let input = "<<A>>".repeat(BIG / 5);
    let missing = render(&input, &env).unwrap_err();
    assert_eq!(missing.len(), BIG / 5);
    let last = missing.last().expect("one per placeholder");
    assert_eq!((last.line, last.col, last.name.as_str()), (1, input.len() - 4, "A"));
}

#[test]
fn many_distinct_names_are_each_listed_once() {
    let names: Vec<String> = (0..50_000).map(|i| format!("V{i}")).collect();
    let input: String = names.iter().map(|n| format!("<<{n}:-x>><<{n}:-y>>\n")).collect();
    let r = render(&input, &env).expect("every name has a default");
    assert_eq!(r.used, names);
    assert_eq!(r.text, "xy\n".repeat(50_000));
}

#[test]
fn near_misses_on_one_huge_line_of_openers() {
    let input = "<<".repeat(BIG / 2);
    assert_eq!(near_misses(&input), []);
    let closed = format!("{}<< X >>", "<<".repeat(BIG / 2));
    let found = near_misses(&closed);
    assert_eq!(found.len(), 1, "only the last opener has no `<` inside");
    assert_eq!((found[0].line, found[0].col, found[0].text.as_str()), (1, BIG + 1, "<< X >>"));
}

/// A deterministic xorshift generator: the same inputs on every run.
struct Gen(u64);

impl Gen {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    /// Text over the characters the scanner treats specially, a two-byte
    /// letter and a non-ASCII space (`trim` removes it), with `<<` and `>>`
    /// often enough that placeholders and near-misses come up.
    fn text(&mut self) -> String {
        const ALPHABET: [&str; 20] = [
            "<", "<<", "<<", ">", ">>", ">>", "\\", "-", ":", "?", "A", "B", "_", "\n", " ", " ", "x",
            "\u{e9}", "\u{a0}", ":-",
        ];
        let len = self.below(24);
        (0..len).map(|_| ALPHABET[self.below(ALPHABET.len())]).collect()
    }
}

fn generated_env(name: &str) -> Option<&'static str> {
    match name {
        "A" => Some("val"),
        "x" => Some(""),
        "A_" => Some("<<A>>"),
        _ => None,
    }
}

#[test]
fn the_linear_scanner_agrees_with_the_reference_on_generated_inputs() {
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let (mut rendered, mut missing, mut near) = (0, 0, 0);
    for _ in 0..60_000 {
        let input = g.text();
        let got = render(&input, &generated_env);
        assert_eq!(got, reference::render(&input, generated_env), "{input:?}");
        let found = near_misses(&input);
        assert_eq!(found, reference::near_misses(&input), "{input:?}");
        match got {
            Ok(r) if r.text != input => rendered += 1,
            Err(_) => missing += 1,
            _ => {}
        }
        near += usize::from(!found.is_empty());
    }
    // The generator must reach every path, or agreeing proves little.
    assert!(rendered > 2000 && missing > 500 && near > 500, "{rendered} {missing} {near}");
}

#[test]
fn lines_counts_on_and_starts_again_for_an_earlier_offset() {
    let text = "a\u{e9}\nb\n\n\u{1F600}x";
    let mut lines = Lines::new(text);
    for at in (0..=text.len()).filter(|&at| text.is_char_boundary(at)) {
        assert_eq!(lines.at(at), reference::line_col(text, at), "at {at}");
    }
    assert_eq!(lines.at(1), (1, 2));
    assert_eq!(lines.at(text.len() + 5), reference::line_col(text, text.len()));
}

#[test]
fn a_missing_variable_carries_its_byte_offset() {
    let input = "\u{e9}\n  <<NOPE>>";
    let missing = render(input, &env).unwrap_err();
    assert_eq!((missing[0].line, missing[0].col, missing[0].offset), (2, 3, 5));
    assert_eq!(&input[missing[0].offset..], "<<NOPE>>");
}

#[test]
fn names_lists_every_placeholder_but_not_escapes_or_look_alikes() {
    let input = "<<A>> <<B:-x>> <<C-y>> <<D:?why>> \\<<E>> << F >> <<EOF\n<<A>> $G ${H}";
    let names: Vec<&str> = names(input).into_iter().collect();
    assert_eq!(names, ["A", "B", "C", "D"]);
}

#[test]
fn a_missing_variable_names_its_file_variable_unless_it_gave_a_message() {
    let missing = |name: &str, message: Option<&str>| Missing {
        line: 1,
        col: 1,
        offset: 0,
        name: name.into(),
        message: message.map(String::from),
    };
    assert_eq!(
        missing("DB_PASSWORD", None).reason(),
        "DB_PASSWORD is not set: set DB_PASSWORD or DB_PASSWORD_FILE"
    );
    assert_eq!(missing("DB_HOST", Some("the host")).reason(), "DB_HOST is not set: the host");
    assert_eq!(missing("CERT_FILE", None).reason(), "CERT_FILE is not set");
}

#[test]
fn unclosed_finds_one_closing_bracket_short_and_nothing_a_heredoc_or_placeholder_is() {
    let texts =
        |input: &str| unclosed(input).into_iter().map(|m| (m.line, m.col, m.text)).collect::<Vec<_>>();
    let input = "a=<<A>\nb=<<B:-x> c\n<<<C>\ncat <<EOF\n\\<<D>\n<<E:-no close\n<<F:-y> <<G>>\n<<H>> <<I>>>\n";
    let want = [(1, 3, "<<A>"), (2, 3, "<<B:-x>"), (3, 2, "<<C>")];
    assert_eq!(texts(input), want.map(|(l, c, t)| (l, c, t.to_string())));
    // Linear: many openers before one far `>` are each looked at once.
    let many = format!("{}>", "<<A:-".repeat(200_000));
    assert_eq!(texts(&many), [(1, 999_996, "<<A:->".to_string())]);
}
