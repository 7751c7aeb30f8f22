//! Helpers for the container tests: podman in mooring's own store
//! (scripts/podman.sh: runc, no pulls, no network unless asked), images
//! built from a context holding dist/init, and containers removed on drop.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{DEADLINE, TempDir, wait_until};

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The busybox base image scripts/podman.sh builds.
pub const BASE: &str = "localhost/mooring-busybox:base";

pub fn podman(args: &[&str]) -> Output {
    Command::new(format!("{ROOT}/scripts/podman.sh"))
        .arg("podman")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("podman {args:?}: {e}"))
}

pub fn podman_ok(args: &[&str]) -> String {
    let out = podman(args);
    assert!(out.status.success(), "podman {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Sets up the store, then builds `tag` from `containerfile` with a context
/// holding dist/init and `files` (relative to the repository: copied under
/// their own names). Call it once per test binary (behind a `OnceLock`).
pub fn build(tag: &str, containerfile: &str, files: &[&str]) {
    let init = Path::new(ROOT).join("dist/init");
    assert!(init.exists(), "dist/init is missing: run `make build` (make test does)");
    let setup = Command::new(format!("{ROOT}/scripts/podman.sh")).arg("setup").status().unwrap();
    assert!(setup.success(), "scripts/podman.sh setup failed");
    let ctx = TempDir::new("image");
    std::fs::copy(&init, ctx.join("init")).unwrap();
    for f in files {
        let status =
            Command::new("cp").arg("-r").arg(Path::new(ROOT).join(f)).arg(ctx.path()).status().unwrap();
        assert!(status.success(), "copying {f} into the build context");
    }
    std::fs::write(ctx.join("Containerfile"), containerfile).unwrap();
    // The docker format keeps HEALTHCHECK (OCI images have no such field).
    podman_ok(&["build", "-q", "--format", "docker", "-t", tag, ctx.path().to_str().unwrap()]);
}

/// `mooring-TAG-PID-N`: a name no other test (or test run) uses.
pub fn unique_name(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("mooring-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

/// A named container, removed on drop.
pub struct Container(pub String);

impl Container {
    pub fn name(tag: &str) -> Container {
        Container(unique_name(tag))
    }

    /// `podman run -d` with `options` before the image and `args` after it.
    pub fn start(tag: &str, options: &[&str], image: &str, args: &[&str]) -> Container {
        let c = Container::name(tag);
        let mut all = vec!["run", "-d", "--name", &c.0];
        all.extend_from_slice(options);
        all.push(image);
        all.extend_from_slice(args);
        podman_ok(&all);
        c
    }

    pub fn run_detached(tag: &str, image: &str, args: &[&str]) -> Container {
        Container::start(tag, &[], image, args)
    }

    pub fn logs(&self) -> String {
        let out = podman(&["logs", &self.0]);
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }

    pub fn wait_for_log(&self, needle: &str) {
        wait_until(&format!("{needle:?} in the logs of {}", self.0), DEADLINE, || {
            self.logs().contains(needle)
        });
    }

    /// `podman exec` of `args`, as the container's user.
    pub fn exec(&self, args: &[&str]) -> Output {
        let mut all = vec!["exec", &self.0];
        all.extend_from_slice(args);
        podman(&all)
    }

    pub fn exit_code(&self) -> i32 {
        podman_ok(&["wait", &self.0]).parse().expect("podman wait prints the exit code")
    }

    /// `podman stop -t TIMEOUT` and how long it took.
    pub fn stop(&self, timeout_s: u32) -> Duration {
        let t0 = Instant::now();
        podman_ok(&["stop", "-t", &timeout_s.to_string(), &self.0]);
        t0.elapsed()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        // With its anonymous volumes (an image's VOLUME): they would pile up.
        let _ = podman(&["rm", "-f", "-v", "-t", "0", &self.0]);
    }
}

/// A named volume, removed on drop. Declare it before the containers that
/// mount it: they are dropped (removed) first.
pub struct Volume(pub String);

impl Volume {
    pub fn new(tag: &str) -> Volume {
        let v = Volume(unique_name(tag));
        podman_ok(&["volume", "create", &v.0]);
        v
    }

    /// Where the volume's files are on the host.
    pub fn mountpoint(&self) -> PathBuf {
        podman_ok(&["volume", "inspect", "--format", "{{.Mountpoint}}", &self.0]).into()
    }
}

impl Drop for Volume {
    fn drop(&mut self) {
        let _ = podman(&["volume", "rm", "-f", &self.0]);
    }
}
