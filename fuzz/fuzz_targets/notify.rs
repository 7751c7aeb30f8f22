//! The notify protocol's parser on arbitrary bytes (docs/security.md,
//! "Texts from others"): it must never panic, a `STATUS=` text is bounded
//! and holds no raw control character, and a `MAINPID=` is never 0 or 1.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mooring::notice::{Notice, STATUS_MAX, parse};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for notice in parse(&text) {
        match notice {
            Notice::Status(status) => {
                assert!(status.chars().count() <= STATUS_MAX, "{status:?}");
                assert!(!status.contains(char::is_control), "{status:?}");
                // Cut only between escapes: it reads back, to one line.
                let back = mooring::escape::unescape(&status).expect("never cut inside an escape");
                assert!(!back.contains('\n'), "{back:?}");
            }
            Notice::MainPid(pid) => assert!(pid > 1, "{pid}"),
            Notice::Ready | Notice::Stopping | Notice::Reloading => {}
        }
    }
});
