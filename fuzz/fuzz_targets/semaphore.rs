//! The semaphore reader on arbitrary bytes: it must never panic, a heartbeat
//! it accepts is within the cap, and three heartbeats never overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mooring::semaphore::{MAX_HEARTBEAT, contents, parse};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = parse(&text);
    assert!(parsed.heartbeat <= MAX_HEARTBEAT);
    let _ = parsed.heartbeat.checked_mul(3).expect("a capped heartbeat triples without overflow");
    // What a writer makes of the parsed values reads back the same.
    let host = parsed.hostname.clone().unwrap_or_default().replace('\n', " ");
    let again = parse(&contents("svc", &host, 1, 0, parsed.heartbeat));
    assert!(again.is_semaphore);
    assert_eq!(again.heartbeat, parsed.heartbeat);
});
