//! Logging stays out of the way where the user's program speaks: a single
//! command that runs and exits 0 prints nothing of init's; a failure says
//! its code in one line; a command that replaces configured services says so.

mod common;

use std::fs;

use common::{TempDir, init_cmd, run_init, stderr_of, stdout_of};

#[test]
fn a_command_that_exits_0_prints_only_its_own_output() {
    let (code, out, err) = run_init(["--", "sh", "-c", "echo hi"]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "hi\n", ""));
}

#[test]
fn a_command_that_fails_gets_one_line_naming_its_code() {
    let (code, out, err) = run_init(["--", "sh", "-c", "exit 3"]);
    assert_eq!((code, out.as_str()), (3, ""));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("init: INFO ") && err.contains("code=3"), "{err}");
}

#[test]
fn a_command_instead_of_the_configured_services_is_said_in_one_line() {
    let dir = TempDir::new("instead");
    fs::write(dir.join("init.toml"), "[[service]]\nname = \"web\"\nshell = \"exec sleep 60\"\n").unwrap();
    let o = init_cmd()
        .args(["-c", &dir.s("init.toml"), "--", "true"])
        .env("INIT_RUN_DIR", dir.join("run"))
        .output()
        .expect("init runs");
    assert_eq!((o.status.code(), stdout_of(&o).as_str()), (Some(0), ""));
    let err = stderr_of(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("INFO the configured services do not start: running true instead"), "{err}");
}
