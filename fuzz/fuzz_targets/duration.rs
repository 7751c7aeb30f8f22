//! The duration parser on arbitrary text: it must never panic, must accept
//! nothing over the limit, and a duration it accepts must come back the same
//! when written in milliseconds; deadlines computed from it must not panic.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use mooring::config::duration::{self, MAX_DURATION};
use mooring::config::parse_duration;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match parse_duration(text) {
        Ok(Some(d)) => {
            assert!(!d.is_zero() && d <= MAX_DURATION, "{text:?} gave {d:?}");
            let ms = format!("{}ms", d.as_millis());
            assert_eq!(parse_duration(&ms), Ok(Some(d)), "{text:?}");
            let now = Instant::now();
            assert!(duration::deadline(now, d).is_some());
            assert!(duration::later(now, d) >= now);
            assert!(duration::doubled(d, Duration::MAX) >= d);
        }
        Ok(None) => {}
        Err(message) => assert!(message.to_string().contains("duration"), "{message}"),
    }
});
