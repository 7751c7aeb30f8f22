//! Secrets never appear in log lines (docs/security.md): a value read from
//! a `_FILE` secret can reach a log line inside a wait's command, a probe, an
//! `[env]` value built from it or an error naming a target, so every line is
//! passed through `redact` with the secrets' values before it is written.

use std::borrow::Cow;

/// What a secret's value is replaced with.
pub const MASK: &str = "***";

/// Values shorter than this are not masked: a one- or two-letter "secret"
/// would mask that letter everywhere (paths, words) and protects nothing.
pub const MIN_MASKED: usize = 3;

/// `text` with every occurrence of each value in `secrets` (of at least
/// `MIN_MASKED` bytes) replaced by `***`. Longer values go first, so a
/// secret that contains another is masked whole.
pub fn redact<'a>(text: &'a str, secrets: &[String]) -> Cow<'a, str> {
    let mut present: Vec<&String> =
        secrets.iter().filter(|s| s.len() >= MIN_MASKED && text.contains(s.as_str())).collect();
    if present.is_empty() {
        return Cow::Borrowed(text);
    }
    present.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for s in present {
        out = out.replace(s.as_str(), MASK);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_occurrence_of_every_secret_is_masked() {
        let s = secrets(&["hunter2", "tok"]);
        assert_eq!(redact("command:psql -p hunter2 -t tok hunter2", &s), "command:psql -p *** -t *** ***");
        assert_eq!(redact("postgres://app:hunter2@db/app", &s), "postgres://app:***@db/app");
    }

    #[test]
    fn text_without_secrets_is_borrowed_and_empty_secrets_mask_nothing() {
        let s = secrets(&["", "hunter2"]);
        assert!(matches!(redact("waiting for tcp:db:5432", &s), Cow::Borrowed(_)));
        assert_eq!(redact("", &s), "");
    }

    #[test]
    fn a_secret_inside_another_is_masked_with_the_longer_one() {
        let s = secrets(&["pass", "password123"]);
        assert_eq!(redact("x password123 y pass", &s), "x *** y ***");
        let multi = secrets(&["line1\nline2"]);
        assert_eq!(redact("a line1\nline2 b", &multi), "a *** b");
    }
}
