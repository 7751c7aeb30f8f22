//! The status file where the run directory cannot be written (a read-only
//! root filesystem, not root): init falls back to /dev/shm/init, then
//! /tmp/init, with one WARN, and `init status` finds it there; a fallback
//! directory someone else made is passed over, and a status file planted
//! there does not speak for init (docs/reference.md, "Status"). Each test
//! runs in a private mount namespace with its own tmpfs on /dev/shm and
//! /tmp, so the host's are never touched.

mod common;

use std::process::{Command, Output};

use common::{INIT, stderr_of, stdout_of};

/// Runs `script` as root in a private mount namespace with fresh tmpfs on
/// /dev/shm and /tmp; `$INIT` is the binary, INIT_RUN_DIR may not be made.
fn in_namespace(script: &str) -> Output {
    // The binary is copied onto the new /dev/shm first: the checkout (and
    // its target/) may itself be under /tmp.
    let full = format!(
        "mount -t tmpfs tmpfs /dev/shm && cp \"$INIT\" /dev/shm/init-under-test && INIT=/dev/shm/init-under-test \
         && mount -t tmpfs tmpfs /tmp && {script}"
    );
    Command::new("timeout")
        .args(["30", "unshare", "--mount", "--propagation", "private", "sh", "-c", &full])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("INIT", INIT)
        .env("INIT_RUN_DIR", "/proc/mooring-run")
        .output()
        .unwrap()
}

/// The one service line of `init status` run by init's own child (the
/// command as service `sh`, starting or ready: the child may ask before
/// init has rewritten the file after the spawn).
const CHILD_STATUS: &str = "exec \"$INIT\" -- sh -c '\"$INIT\" status'";

#[test]
fn an_unwritable_run_directory_moves_the_status_file_to_dev_shm() {
    let out = in_namespace(CHILD_STATUS);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let stdout = stdout_of(&out);
    assert!(stdout.lines().any(|l| l.starts_with("sh ")), "{stdout}");
    let warns: Vec<String> =
        stderr_of(&out).lines().filter(|l| l.contains("WARN")).map(String::from).collect();
    assert_eq!(
        warns,
        ["init: WARN status file moved: /proc/mooring-run: No such file or directory (os error 2) \
          path=/dev/shm/init/status.json"],
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn a_fallback_someone_else_made_is_passed_over_and_their_file_is_not_believed() {
    // uid 1234 made /dev/shm/init first and planted a status file naming a
    // live pid (this shell's) as init.
    let plant = "mkdir -m 0777 /dev/shm/init && \
                 printf '{\"pid\":%d,\"started\":\"2026-01-01T00:00:00Z\",\"services\":[]}' $$ > /dev/shm/init/status.json && \
                 chown -R 1234:1234 /dev/shm/init && ";
    let out = in_namespace(&format!("{plant}{CHILD_STATUS}"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let stdout = stdout_of(&out);
    assert!(stdout.lines().any(|l| l.starts_with("sh ")), "{stdout}");
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains(
            "status file moved: /proc/mooring-run: No such file or directory (os error 2); \
             /dev/shm/init: owned by uid 1234 path=/tmp/init/status.json"
        ),
        "{stderr}"
    );
}

#[test]
fn with_no_init_running_the_readers_say_so_naming_the_run_directory() {
    let out = in_namespace("exec \"$INIT\" health");
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert_eq!(
        stderr_of(&out),
        "init: ERROR status file /proc/mooring-run/status.json: absent: is init running services here?\n"
    );
}
