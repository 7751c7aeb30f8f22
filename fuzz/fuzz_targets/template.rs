//! The template renderer on arbitrary text: it must never panic, must pass
//! text without `<<` through unchanged, and must report positions that
//! exist in the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mooring::template;

fn lookup(name: &str) -> Option<&'static str> {
    match name.len() % 3 {
        0 => Some("value with <<NESTED>> and \\<< inside"),
        1 => Some(""),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let lines = text.split('\n').count();
    match template::render(text, &lookup) {
        Ok(r) => {
            if !text.contains("<<") {
                assert_eq!(r.text, text);
            }
        }
        Err(missing) => {
            assert!(!missing.is_empty());
            for m in missing {
                assert!(m.line >= 1 && m.line <= lines && m.col >= 1, "{m:?}");
            }
        }
    }
    for n in template::near_misses(text) {
        assert!(n.line >= 1 && n.line <= lines && text.contains(&n.text));
    }
});
