//! The status-file reader on arbitrary bytes: it must never panic, and a
//! status it accepts must come back unchanged through its own JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mooring::status::Status;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = mooring::json::parse(text);
    if let Ok(status) = Status::from_json(text) {
        let again = Status::from_json(&status.to_json()).expect("our own JSON parses");
        assert_eq!(again, status);
    }
});
