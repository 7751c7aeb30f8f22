//! Nothing a container user controls may lead init out of its tree, through
//! the real binary: values injected into /etc/passwd, a status file left by
//! an init that is gone, the root terminal handed to an unprivileged child,
//! secrets in log lines.

mod common;

use std::fs;
use std::process::Output;

use common::{Builder, Mode, TempDir, init_cmd, stderr_of};

/// `init ARGS` with `conf` as its config (when given), its own INIT_RUN_DIR
/// and `env`; stdin from /dev/null.
fn init_in(dir: &TempDir, conf: Option<&str>, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = init_cmd();
    if let Some(text) = conf {
        fs::write(dir.join("init.toml"), text).unwrap();
        cmd.arg("-c").arg(dir.join("init.toml"));
    }
    cmd.args(args).env("INIT_RUN_DIR", dir.join("run")).current_dir(dir.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(std::process::Stdio::null()).output().unwrap()
}

#[test]
fn check_refuses_a_home_from_the_environment_that_would_add_a_root_line() {
    let dir = TempDir::new("inject");
    let conf = "[user]\nname = \"app\"\nuid = 1000\nhome = \"<<H>>\"\n";
    let o = init_in(&dir, Some(conf), &[("H", "/home/app:0:0::/:/bin/sh\nx")], &["check"]);
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(78), "{err}");
    assert!(
        err.contains("init.toml:4:8: [user] home \"/home/app:0:0::/:/bin/sh\\nx\" contains `:`"),
        "{err}"
    );
    let o = init_in(&dir, Some(conf), &[("H", "/etc/app")], &["check"]);
    assert_eq!(o.status.code(), Some(78));
    assert!(stderr_of(&o).contains("[user] home \"/etc/app\": /etc is a system tree"), "{}", stderr_of(&o));
}

/// `init ARGS` with INIT_RUN_DIR=`run`; (code, stderr).
fn init_with_run_dir(run: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let o =
        init_cmd().args(args).env("INIT_RUN_DIR", run).stdin(std::process::Stdio::null()).output().unwrap();
    (o.status.code(), stderr_of(&o))
}

#[test]
fn a_status_file_is_trusted_only_for_the_live_init_that_wrote_it() {
    let init = Builder::new("live", Mode::Direct).args(["--", "sleep", "30"]).start();
    let real = init.wait_for_file("run/status.json");
    assert!(real.contains("\"pid_start\":"), "{real}");
    assert_eq!(init_with_run_dir(&init.dir.join("run"), &["health"]).0, Some(0));

    // The same init, but a start time it never had: a file left by an init
    // that is gone, whose pid was taken by another.
    let start: u64 =
        real.split("\"pid_start\":").nth(1).and_then(|r| r.split(',').next()?.parse().ok()).unwrap();
    let forged = TempDir::new("forged");
    fs::write(forged.join("status.json"), real.replace(&format!(":{start},"), &format!(":{},", start + 1)))
        .unwrap();
    let (code, err) = init_with_run_dir(forged.path(), &["health"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("left by an init that is no longer running"), "{err}");
    let (code, err) = init_with_run_dir(forged.path(), &["status"]);
    assert_eq!(code, Some(1));
    assert!(err.contains(&format!("status file {}: left by", forged.join("status.json").display())), "{err}");

    // A live process that is not mooring (the test itself), with its real start time.
    let me = std::process::id();
    let my_start = fs::read_to_string("/proc/self/stat").unwrap();
    let my_start =
        my_start[my_start.rfind(')').unwrap() + 1..].split_whitespace().nth(19).unwrap().to_string();
    let other = format!(
        "{{\"pid\":{me},\"pid_start\":{my_start},\"started\":\"2026-01-01T00:00:00Z\",\"services\":[]}}"
    );
    fs::write(forged.join("status.json"), other).unwrap();
    let (code, err) = init_with_run_dir(forged.path(), &["health"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains(&format!("pid {me} is not mooring")), "{err}");
}

#[test]
fn a_fifo_or_a_huge_status_file_is_refused_without_blocking() {
    let dir = TempDir::new("fifo");
    nix::unistd::mkfifo(&dir.join("status.json"), nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let (code, err) = init_with_run_dir(dir.path(), &["status"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("not a regular file"), "{err}");
    fs::remove_file(dir.join("status.json")).unwrap();
    fs::write(dir.join("status.json"), vec![b' '; (1 << 20) + 1]).unwrap();
    let (code, err) = init_with_run_dir(dir.path(), &["health"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("too large for a status file"), "{err}");
}
