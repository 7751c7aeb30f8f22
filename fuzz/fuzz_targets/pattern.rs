//! The log pattern matcher on arbitrary input: the bytes up to the first
//! NUL are the pattern, the rest the line. Compiling must never panic and
//! must name a position inside the pattern; matching a compiled pattern
//! must never panic, and a pattern without syntax chars matches exactly
//! the lines that contain it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mooring::pattern::Pattern;

fuzz_target!(|data: &[u8]| {
    let (pattern, line) = match data.iter().position(|&b| b == 0) {
        Some(nul) => (&data[..nul], &data[nul + 1..]),
        None => (data, &b""[..]),
    };
    let Ok(text) = std::str::from_utf8(pattern) else { return };
    match Pattern::new(text) {
        Ok(p) => {
            let found = p.is_match(line);
            let plain = !text.is_empty() && text.chars().all(|c| c.is_alphanumeric() || c == ' ');
            if plain {
                let contains = line.windows(text.len()).any(|w| w == text.as_bytes());
                assert_eq!(found, contains, "{text:?} on {line:?}");
            }
        }
        Err(e) => assert!(e.at <= text.len(), "{text:?}: {e:?}"),
    }
});
