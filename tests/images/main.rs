//! The images of images/ as their users run them (`make test-images`):
//! mooring-base, and the postgres, redis and nginx images built FROM it, each
//! built here by podman from its Containerfile on the local
//! debian:bookworm-slim (scripts/debian-image.sh) and the mooring image
//! (`make image`). The tests start containers as an operator would — the
//! environment, secret files, volumes — and check what the operator sees:
//! queries, PING, pages over TLS, semaphores, `init status`, `init run`
//! tasks, and how `podman stop` ends each container, how fast, with which
//! code; docs/tutorial.md is followed step by step (tutorial.rs), under podman
//! and under a Docker Engine of the test's own (docker.rs), where dist/release's
//! image also runs as users run it (docker_release.rs). Every container and volume is removed on drop.
//!
//! Not part of `cargo test --all-targets` (Cargo.toml: `test = false`): a
//! first build downloads Debian packages. Needs root, podman, curl, openssl.

#[path = "../common/mod.rs"]
mod common;

mod base;
mod conference;
mod cores;
mod deploy;
mod docker;
mod docker_release;
mod launcher;
mod nginx;
mod portal;
mod postgres;
mod redis;
mod release;
mod tutorial;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::podman::{Container, ROOT, podman, podman_ok};
use common::{stdout_of, wait_until};

pub const INIT: &str = "/usr/local/bin/init";
/// A service that initializes a database may take longer than the harness's
/// DEADLINE on a loaded machine.
pub const STARTUP: Duration = Duration::from_secs(120);
/// `podman stop -t STOP_TIMEOUT`, and what "promptly" means beside it:
/// within init's 8 s stop budget and before podman's own SIGKILL. The
/// workloads' own shutdowns set the pace (PostgreSQL's shutdown checkpoint
/// after a crash recovery took 7.4 s in a fresh-clone `make test` with the
/// 19 image tests sharing 2 cores); the exit code tells init's part.
pub const STOP_TIMEOUT: u32 = 10;
pub const PROMPT: Duration = Duration::from_secs(9);

/// Builds images/PATH as localhost/mooring-NAME:latest (NAME: PATH with
/// `-` for `/`), once per run, after the mooring-* image it is FROM. The
/// layer cache makes a rebuild of unchanged files take seconds.
pub fn image(path: &str) -> String {
    static BUILT: Mutex<BTreeMap<String, Arc<OnceLock<String>>>> = Mutex::new(BTreeMap::new());
    let once = BUILT.lock().unwrap().entry(path.to_string()).or_default().clone();
    once.get_or_init(|| {
        let dir = format!("{ROOT}/images/{path}");
        let containerfile = std::fs::read_to_string(format!("{dir}/Containerfile")).unwrap();
        let from = containerfile.lines().find_map(|l| l.strip_prefix("FROM ")).unwrap_or_default();
        match from.split_whitespace().next().and_then(|f| f.strip_prefix("mooring-")) {
            Some(parent) => drop(image(parent)),
            None => base_images_exist(),
        }
        let tag = format!("localhost/mooring-{}:latest", path.replace('/', "-"));
        let t0 = Instant::now();
        // The docker format keeps HEALTHCHECK (OCI images have no such field).
        podman_ok(&["build", "-q", "--format", "docker", "-t", &tag, &dir]);
        eprintln!("built {tag} in {:.1} s", t0.elapsed().as_secs_f64());
        tag
    })
    .clone()
}

fn base_images_exist() {
    for (tag, how) in [
        ("localhost/mooring:latest", "make image"),
        ("localhost/debian:bookworm-slim", "scripts/debian-image.sh"),
    ] {
        let exists = podman(&["image", "exists", tag]).status.success();
        assert!(exists, "{tag} is missing: run `{how}` (make test-images does)");
    }
}

/// A service's row of `init status` in the container: name, state, pid,
/// ready, restarts, for how long, last exit (and the status text it sent).
pub fn status_row(c: &Container, service: &str) -> Vec<String> {
    let table = stdout_of(&c.exec(&[INIT, "status"]));
    let rows = table.lines().map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>());
    rows.into_iter().find(|r| r.first().is_some_and(|n| n == service)).unwrap_or_default()
}

pub fn is_ready(c: &Container, service: &str) -> bool {
    status_row(c, service).get(1).is_some_and(|s| s == "ready")
}

pub fn running(c: &Container) -> bool {
    podman(&["inspect", "-f", "{{.State.Running}}", &c.0]).stdout.starts_with(b"true")
}

/// The container's process has ended and its exit code is recorded
/// (podman says `stopped` until its clean-up, then `exited`). Not the same
/// as `!running`: an inspect that fails (a busy podman on a loaded machine)
/// or a container still stopping is not running either.
pub fn exited(c: &Container) -> bool {
    let status = podman(&["inspect", "-f", "{{.State.Status}}", &c.0]).stdout;
    status.starts_with(b"exited") || status.starts_with(b"stopped")
}

/// Waits until `service` is ready; a container that stopped fails at once
/// with its logs.
pub fn wait_ready(c: &Container, service: &str) {
    wait_until(&format!("{service} ready in {}", c.0), STARTUP, || {
        assert!(running(c), "{} stopped before {service} was ready:\n{}", c.0, c.logs());
        is_ready(c, service)
    });
}

/// `podman stop`, asserting it was prompt and returned `code`.
pub fn stop_promptly(c: &Container, code: i32) {
    let took = c.stop(STOP_TIMEOUT);
    let logs = c.logs();
    assert_eq!(c.exit_code(), code, "{logs}");
    assert!(took < PROMPT, "podman stop -t {STOP_TIMEOUT} took {took:?}:\n{logs}");
}
