//! The escaping of text from others (src/escape.rs) on arbitrary text: no
//! control character (so no line end) survives, text with nothing to
//! escape comes back as it is, `unescape` reads the result back, and the
//! bounded form stays within its bound and is a start of the whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mooring::escape::{escape, escape_controls, escape_within, needs_escape, unescape};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let out = escape(&text);
    assert!(!out.contains(char::is_control), "{out:?}");
    assert!(!out.contains('\n'));
    if !text.contains(needs_escape) {
        assert_eq!(out, text);
    }
    assert_eq!(unescape(&out).as_deref(), Some(&*text));
    let controls = escape_controls(&text);
    assert!(!controls.contains(char::is_control), "{controls:?}");
    let max = data.first().map_or(0, |&b| usize::from(b));
    let cut = escape_within(&text, max);
    assert!(cut.chars().count() <= max);
    assert!(out.starts_with(&*cut), "{cut:?} is not a start of {out:?}");
});
