//! The init.toml loader on arbitrary text: any input gives a config or a
//! list of problems, each naming the file and a line that exists.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mooring::config;
use mooring::env::Environment;
use mooring::error::Error;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut env = Environment::from_vars([("SET".into(), "x".into()), ("EMPTY".into(), "".into())]);
    let lines = text.split('\n').count();
    match config::parse(Path::new("/c/init.toml"), text, &mut env) {
        Ok(_) => {}
        Err(Error::Invalid(problems)) => {
            assert!(!problems.is_empty());
            for p in problems {
                let rest = p.strip_prefix("/c/init.toml:").expect("names the file");
                let line: usize = rest.split(':').next().unwrap().parse().expect("a line number");
                assert!(line >= 1 && line <= lines.max(1), "{p}");
            }
        }
        Err(e) => panic!("unexpected error kind: {e}"),
    }
});
