//! dist/release's image under the Docker Engine most users run (Debian's
//! docker.io 20.10, a dockerd of the test's own: docker.rs). The OCI archive
//! goes in as the README says (`skopeo copy … docker-daemon:`, which takes
//! the host's architecture: Docker 20.10's `docker load` cannot read an OCI
//! archive), and a user's image is built FROM the project's busybox base
//! (`podman save | docker load`: no libc, no pulls) with `COPY --from` of
//! it, a shell-script service as its payload and a HEALTHCHECK of `init
//! ready`. Then `docker run` as users run it: as root, as a random uid,
//! `--read-only`, `--init` (Docker's tini as PID 1, mooring below it), the
//! HEALTHCHECK, `docker stop`'s exit codes and how long it takes. Every
//! container has `--network none`; the dockerd has no bridge.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::podman::{BASE, podman, unique_name};
use crate::common::{TempDir, stderr_of, stdout_of, wait_until};
use crate::docker::Dockerd;
use crate::release::{release, version};
use crate::{PROMPT, STARTUP, STOP_TIMEOUT};

/// The user's image, built in each test's dockerd.
const APP: &str = "localhost/mooring-docker-app:1";

/// The payload: a service that says when it is up and exits 0 on SIGTERM,
/// or (WEB_ON_TERM=die) is a plain `sleep` that SIGTERM kills.
const WEB: &str = r#"#!/bin/sh
echo "web: up as $(id -u)"
[ "$WEB_ON_TERM" = die ] && exec sleep 100000
trap 'echo "web: bye"; exit 0' TERM
while :; do sleep 1 & wait $!; done
"#;

const INIT_TOML: &str = r#"[[service]]
name = "web"
command = ["/app/web.sh"]
ready = { log = "web: up" }
"#;

/// `localhost/mooring:VERSION` in `d`, copied from dist/release's OCI
/// archive as a Docker user does (README.md, "Install").
pub fn copy_release_in(d: &Dockerd) -> String {
    let tag = format!("localhost/mooring:{}", version());
    let archive = format!("oci-archive:{}", release("mooring-VERSION.oci.tar").display());
    let out = Command::new("skopeo")
        .args(["copy", "-q", "--dest-daemon-host", &d.host, &archive, &format!("docker-daemon:{tag}")])
        .output()
        .expect("skopeo runs");
    assert!(out.status.success(), "skopeo copy {archive} docker-daemon:{tag}: {}", stderr_of(&out));
    tag
}

/// A dockerd holding the release image and the user's image built on it.
fn dockerd_with_app() -> Option<(Dockerd, TempDir)> {
    let base_exists = podman(&["image", "exists", BASE]).status.success();
    assert!(base_exists, "{BASE} is missing: run `scripts/podman.sh setup` (make test does)");
    let d = Dockerd::start()?;
    let mooring = copy_release_in(&d);
    d.load(&[BASE]);
    let ctx = TempDir::new("docker-app");
    std::fs::create_dir_all(ctx.join("app")).unwrap();
    std::fs::create_dir_all(ctx.join("config")).unwrap();
    std::fs::write(ctx.join("app/web.sh"), WEB).unwrap();
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(ctx.join("app/web.sh"), mode).unwrap();
    std::fs::write(ctx.join("config/init.toml"), INIT_TOML).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        format!(
            "FROM {BASE}\nCOPY --from={mooring} /init /init\nCOPY app/ /app/\nCOPY config/ /opt/config/\n\
             HEALTHCHECK --interval=1s --timeout=5s --retries=2 CMD [\"/init\", \"ready\"]\n\
             ENTRYPOINT [\"/init\"]\nCMD []\n"
        ),
    )
    .unwrap();
    d.docker_ok(&["build", "--network", "none", "-q", "-t", APP, ctx.path().to_str().unwrap()]);
    Some((d, ctx))
}

fn logs(d: &Dockerd, name: &str) -> String {
    let out = d.docker(&["logs", name]);
    format!("{}{}", stdout_of(&out), stderr_of(&out))
}

/// `docker run -d --network none OPTIONS APP ARGS`; the name it got.
fn start(d: &Dockerd, options: &[&str], args: &[&str]) -> String {
    let name = unique_name("docker-app");
    d.docker_ok(&[&["run", "-d", "--name", &name, "--network", "none"], options, &[APP], args].concat());
    name
}

/// `docker run --rm --network none OPTIONS APP ARGS`.
fn run(d: &Dockerd, options: &[&str], args: &[&str]) -> Output {
    d.docker(&[&["run", "--rm", "--network", "none"], options, &[APP], args].concat())
}

fn exec(d: &Dockerd, name: &str, args: &[&str]) -> Output {
    d.docker(&[&["exec", name], args].concat())
}

/// Waits until `docker exec NAME /init ready` answers 0; a container that
/// stopped fails at once with its logs.
fn wait_ready(d: &Dockerd, name: &str) {
    wait_until(&format!("{name} ready"), STARTUP, || {
        let running = d.inspect(name, "{{.State.Running}}") == "true";
        assert!(running, "{name} stopped before it was ready:\n{}", logs(d, name));
        exec(d, name, &["/init", "ready"]).status.success()
    });
}

/// `docker stop -t STOP_TIMEOUT NAME`: the container's exit code, and how
/// long the stop took.
fn stop(d: &Dockerd, name: &str) -> (String, Duration) {
    let t0 = Instant::now();
    d.docker_ok(&["stop", "-t", &STOP_TIMEOUT.to_string(), name]);
    let took = t0.elapsed();
    (d.inspect(name, "{{.State.ExitCode}}"), took)
}

/// `stop`, asserting the code and that it was prompt.
fn stop_promptly(d: &Dockerd, name: &str, code: &str) {
    let (got, took) = stop(d, name);
    let logs = logs(d, name);
    assert_eq!(got, code, "docker stop {name}:\n{logs}");
    assert!(took < PROMPT, "docker stop -t {STOP_TIMEOUT} took {took:?}:\n{logs}");
    eprintln!("docker stop: {took:?}, exit {got}");
}

#[test]
fn docker_release_image_goes_in_with_skopeo_for_the_hosts_architecture() {
    let Some(d) = Dockerd::start() else { return };
    let archive = release("mooring-VERSION.oci.tar");
    // What the README says of Docker 20.10: `docker load` cannot read it.
    if d.docker_ok(&["version", "-f", "{{.Server.Version}}"]).starts_with("20.") {
        let load = d.docker(&["load", "-i", archive.to_str().unwrap()]);
        assert!(!load.status.success(), "docker load of the OCI archive worked: update README.md");
    }
    let tag = copy_release_in(&d);
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let seen = d.inspect(&tag, "{{.Os}}/{{.Architecture}} {{.Config.Entrypoint}}");
    assert_eq!(seen, format!("linux/{arch} [/init]"));
    let out = d.docker(&["run", "--rm", "--network", "none", &tag, "--version"]);
    assert_eq!(stdout_of(&out), format!("init {}\n", version()), "{}", stderr_of(&out));
}

#[test]
fn docker_run_as_root_and_as_a_random_uid_passes_the_exit_code_through() {
    let Some((d, _ctx)) = dockerd_with_app() else { return };
    let script = "id -u; readlink /proc/1/exe; exit 3";
    let root = run(&d, &[], &["sh", "-c", script]);
    assert_eq!((root.status.code(), stdout_of(&root)), (Some(3), "0\n/init\n".into()), "{root:?}");
    let uid = run(&d, &["--user", "12345:12345"], &["sh", "-c", script]);
    assert_eq!((uid.status.code(), stdout_of(&uid)), (Some(3), "12345\n/init\n".into()), "{uid:?}");

    // The configured service, as that uid: the status file moved, no error.
    let name = start(&d, &["--user", "12345:12345"], &[]);
    wait_ready(&d, &name);
    let said = logs(&d, &name);
    assert!(said.contains("web: up as 12345"), "{said}");
    assert!(said.contains("status file moved: /run/init: Permission denied"), "{said}");
    assert!(!said.contains("ERROR"), "{said}");
    stop_promptly(&d, &name, "0");
}

#[test]
fn docker_run_read_only_moves_the_status_file_and_still_answers() {
    let Some((d, _ctx)) = dockerd_with_app() else { return };
    let name = start(&d, &["--read-only"], &[]);
    wait_ready(&d, &name);
    let status = stdout_of(&exec(&d, &name, &["/init", "status"]));
    assert!(status.lines().any(|l| l.starts_with("web ") && l.contains(" ready ")), "{status}");
    assert!(exec(&d, &name, &["/init", "health"]).status.success());
    let said = logs(&d, &name);
    let moved =
        "status file moved: /run/init: Read-only file system (os error 30) path=/dev/shm/init/status.json";
    assert!(said.contains(moved), "{said}");
    assert!(!said.contains("ERROR"), "{said}");
    stop_promptly(&d, &name, "0");
}

#[test]
fn docker_run_init_leaves_pid1_to_tini_and_mooring_reaps_and_forwards() {
    let Some((d, _ctx)) = dockerd_with_app() else { return };
    // The main command's parent is mooring; an orphan of its tree comes to
    // mooring (a child subreaper), not to tini.
    let script = "p=$PPID; echo \"$(cat /proc/1/comm) $(readlink /proc/$p/exe) $(grep PPid /proc/$p/status | cut -f2)\"; \
                  sh -c 'sleep 30 & echo $! > /tmp/orphan'; \
                  echo \"$p $(grep PPid /proc/$(cat /tmp/orphan)/status | cut -f2)\"; exit 5";
    let out = run(&d, &["--init"], &["sh", "-c", script]);
    let text = stdout_of(&out);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.first(), Some(&"docker-init /init 1"), "PID 1 is tini, mooring its child: {text}");
    let parents: Vec<&str> = lines.get(1).map_or(vec![], |l| l.split(' ').collect());
    assert!(
        parents.len() == 2 && parents[0] == parents[1] && parents[0] != "1",
        "the orphan's parent: {text}"
    );

    // The services: tini passes `docker stop`'s SIGTERM to mooring, which
    // stops the service; its code is the container's.
    for (env, code) in [("WEB_ON_TERM=", "0"), ("WEB_ON_TERM=die", "143")] {
        let name = start(&d, &["--init", "-e", env], &[]);
        wait_ready(&d, &name);
        let json = stdout_of(&exec(&d, &name, &["/init", "status", "--json"]));
        assert!(!json.contains("\"pid\":1,") && json.contains("\"pid\":"), "{json}");
        assert_eq!(stdout_of(&exec(&d, &name, &["cat", "/proc/1/comm"])), "docker-init\n");
        stop_promptly(&d, &name, code);
        assert!(logs(&d, &name).contains("stopping reason=SIGTERM"), "{}", logs(&d, &name));
    }
}

#[test]
fn docker_healthcheck_of_init_ready_reports_healthy() {
    let Some((d, _ctx)) = dockerd_with_app() else { return };
    let name = start(&d, &[], &[]);
    let health = |want: &str| {
        wait_until(&format!("{name} {want}"), STARTUP, || {
            d.inspect(&name, "{{.State.Health.Status}}") == want
        })
    };
    health("healthy");
    // The main service stopped by an operator: not ready, so unhealthy; and
    // healthy again once it is back.
    assert_eq!(stdout_of(&exec(&d, &name, &["/init", "stop", "web"])), "web stopped\n");
    health("unhealthy");
    assert_eq!(stdout_of(&exec(&d, &name, &["/init", "start", "web"])), "web ready\n");
    health("healthy");
    stop_promptly(&d, &name, "0");
}

#[test]
fn docker_stop_exit_codes_follow_the_service_within_the_budget() {
    let Some((d, _ctx)) = dockerd_with_app() else { return };
    let clean = start(&d, &[], &[]);
    let killed = start(&d, &["-e", "WEB_ON_TERM=die"], &[]);
    wait_ready(&d, &clean);
    wait_ready(&d, &killed);
    stop_promptly(&d, &clean, "0");
    assert!(logs(&d, &clean).contains("web: bye"), "{}", logs(&d, &clean));
    stop_promptly(&d, &killed, "143");
    // The contrast: the same service as PID 1 with no init ignores SIGTERM
    // (no handler as PID 1) until Docker's SIGKILL.
    let bare = start(&d, &["-e", "WEB_ON_TERM=die", "--entrypoint", "/app/web.sh"], &[]);
    wait_until("the bare service is up", STARTUP, || logs(&d, &bare).contains("web: up"));
    let t0 = Instant::now();
    d.docker_ok(&["stop", "-t", "2", &bare]);
    assert!(t0.elapsed() >= Duration::from_secs(2), "{:?}", t0.elapsed());
    assert_eq!(d.inspect(&bare, "{{.State.ExitCode}}"), "137");
}
