//! images/base: Debian slim with mooring as ENTRYPOINT, the runtime user from
//! USER_NAME / USER_UID / USER_GID, `init shell [USER]`. As the seed's base
//! image says: root without USER_NAME, USER_UID required with it, USER_GID
//! defaults to USER_UID, `start` is a no-op (0), `shell` in `/` (the image's
//! `[shell] workdir`).

use crate::common::podman::{Container, podman};
use crate::common::{stderr_of, stdout_of};
use crate::{INIT, image, stop_promptly, wait_ready};

const WHO: &str = "id -un; id -u; id -g; echo $HOME; tr '\\0' ' ' < /proc/1/cmdline";

fn who(options: &[&str]) -> Vec<String> {
    let base = image("base");
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(options);
    args.extend_from_slice(&[&base, "sh", "-c", WHO]);
    let out = podman(&args);
    assert!(out.status.success(), "{}{}", stdout_of(&out), stderr_of(&out));
    stdout_of(&out).lines().map(String::from).collect()
}

#[test]
fn base_runs_the_command_under_init_as_the_runtime_user_the_environment_names() {
    let pid1 = format!("{INIT} sh -c {WHO} ");
    let dev = who(&["-e", "USER_NAME=dev", "-e", "USER_UID=4242", "-e", "USER_GID=4243"]);
    assert_eq!(dev, ["dev", "4242", "4243", "/home/dev", &pid1]);

    let out = podman(&["run", "--rm", &image("base"), "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3), "the command's code passes through: {}", stderr_of(&out));
}

/// `podman exec -it c init shell [USER]`, here without a terminal: the
/// shell reads its commands from stdin.
#[test]
fn base_init_shell_is_a_login_shell_as_the_runtime_user_or_the_user_named() {
    let named = ["-e", "USER_NAME=dev", "-e", "USER_UID=4242"];
    let c = Container::start("base-shell", &named, &image("base"), &["sleep", "infinity"]);
    // A single command is one critical service named after its program.
    wait_ready(&c, "sleep");
    let shell = |user: &str| {
        stdout_of(&c.exec(&["sh", "-c", &format!("echo 'id -un; echo $HOME' | {INIT} shell {user}")]))
    };
    assert_eq!(shell(""), "dev\n/home/dev\n");
    assert_eq!(shell("root"), "root\n/root\n");
    // sleep has no SIGTERM handler: init forwards the signal, sleep dies of
    // it, and the container's code is 128 + 15.
    stop_promptly(&c, 143);
}

/// The seed: "USER_GID: ... If not given, but USER_NAME is present, USER_UID
/// will be used"; and `start` is a no-op that exits 0.
#[test]
fn base_user_gid_follows_user_uid_and_start_does_nothing_with_0() {
    let pid1 = format!("{INIT} sh -c {WHO} ");
    let dev = who(&["-e", "USER_NAME=dev", "-e", "USER_UID=4242"]);
    assert_eq!(dev, ["dev", "4242", "4242", "/home/dev", &pid1]);
    // The ids mean something only with a name.
    let uid_only = who(&["-e", "USER_UID=5000"]);
    assert_eq!(uid_only, ["root", "0", "0", "/root", &pid1]);

    let out = podman(&["run", "--rm", &image("base"), "start"]);
    assert_eq!(out.status.code(), Some(0), "start is a no-op: {}", stderr_of(&out));
}

/// The seed's other rules: without USER_NAME everything runs as root;
/// USER_UID is required with USER_NAME; `shell [USER]` (default USER_NAME,
/// else root) starts in `/`: the image's `[shell] workdir = "/"`
/// (docs/reference.md, "Command line").
#[test]
fn base_runs_as_root_without_user_name_requires_user_uid_with_it_and_shells_in_root_dir() {
    let pid1 = format!("{INIT} sh -c {WHO} ");
    assert_eq!(who(&[]), ["root", "0", "0", "/root", &pid1]);
    let out = podman(&["run", "--rm", "-e", "USER_NAME=dev", &image("base"), "true"]);
    assert_eq!(out.status.code(), Some(78), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("USER_UID is required with USER_NAME"), "{}", stderr_of(&out));

    let c = Container::start("base-root-shell", &[], &image("base"), &["sleep", "infinity"]);
    wait_ready(&c, "sleep");
    let shell =
        |user: &str| stdout_of(&c.exec(&["sh", "-c", &format!("echo 'id -un; pwd' | {INIT} shell {user}")]));
    assert_eq!(shell(""), "root\n/\n");
    let named = Container::start(
        "base-dev-shell",
        &["-e", "USER_NAME=dev", "-e", "USER_UID=4242"],
        &image("base"),
        &["sleep", "infinity"],
    );
    wait_ready(&named, "sleep");
    let out = named.exec(&["sh", "-c", &format!("echo 'id -un; pwd' | {INIT} shell")]);
    assert_eq!(stdout_of(&out), "dev\n/\n");
    stop_promptly(&c, 143);
    stop_promptly(&named, 143);
}
