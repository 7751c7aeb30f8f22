//! Nothing a container user controls may lead init out of its tree, through
//! the real binary: values injected into /etc/passwd, a status file left by
//! an init that is gone, the root terminal handed to an unprivileged child,
//! secrets in log lines.

mod common;

use std::fs;
use std::process::Output;

use common::{TempDir, init_cmd, stderr_of, stdout_of};

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
