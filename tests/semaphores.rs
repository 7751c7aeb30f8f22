//! Semaphores as a service's init writes them, as PID 1: a semaphore whose
//! directory does not exist yet is still written (the directory is made at
//! boot), so dependents in other containers do not wait until they time out.

mod common;

use common::services::services;
use common::{Builder, Mode};
use nix::sys::signal::Signal;

#[test]
fn a_semaphore_in_a_directory_that_does_not_exist_yet_is_written() {
    let toml = r#"
[[service]]
name = "db"
shell = "exec sleep 60"
semaphore = "{dir}/shared/not/yet/db.ready"
heartbeat = "1s"
"#;
    let mut init = services("semdir", toml);
    let sem = init.wait_for_file("shared/not/yet/db.ready");
    assert!(sem.contains("service=db\n"), "{sem}");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143, "{}", init.stderr());
    assert!(!init.dir.join("shared/not/yet/db.ready").exists(), "removed on stop");
    assert!(init.dir.join("shared/not/yet").is_dir(), "the directory stays for the next run");
}

#[test]
fn a_semaphore_that_cannot_be_written_is_an_error_line_not_silence() {
    // A file where the semaphore's directory should be: never writable.
    let toml = r#"
[[service]]
name = "db"
shell = "exec sleep 60"
semaphore = "{dir}/blocker/db.ready"
"#;
    let mut init = Builder::new("semerr", Mode::Pid1)
        .file("init.toml", toml)
        .file("blocker", "not a directory")
        .args(["-c", "{dir}/init.toml"])
        .start();
    init.wait_for_log("ERROR cannot make the semaphore's directory service=db");
    init.wait_for_log("ERROR cannot create semaphore (retried every heartbeat) service=db");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143, "{}", init.stderr());
}
