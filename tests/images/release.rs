//! dist/release (`make release`) as its users take it: the checksums check,
//! the OCI archive loads into an empty store with both architectures and a
//! user's Containerfile copies init from it, each Debian package installs
//! into Debian and runs as PID 1 of a container (arm64 under qemu), and
//! lintian has nothing to say that is not explained (docs/development.md,
//! "Releases").

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::podman::{ROOT, podman, podman_ok, unique_name};
use crate::common::{TempDir, stdout_of};

const DEBIAN: &str = "localhost/debian:bookworm-slim";

pub fn version() -> String {
    let manifest = std::fs::read_to_string(format!("{ROOT}/Cargo.toml")).unwrap();
    let line = manifest.lines().find(|l| l.starts_with("version = ")).unwrap();
    line.trim_start_matches("version = ").trim_matches('"').to_string()
}

pub fn release(name: &str) -> PathBuf {
    let path = Path::new(ROOT).join("dist/release").join(name.replace("VERSION", &version()));
    assert!(path.exists(), "{} is missing: run `make release` (make test does)", path.display());
    path
}

fn ok(out: Output, what: &str) -> String {
    let text = format!("{}{}", stdout_of(&out), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what}: {}\n{text}", out.status);
    stdout_of(&out)
}

/// podman on a store of its own, empty at first, removed on drop. Its
/// state directory (`--tmpdir`) is its own too: podman takes a missing one
/// for a reboot, so removing a shared one made the store of the tests
/// running beside it forget every running container ("Refreshing
/// container …", then "container state improper").
struct Store(TempDir);

impl Store {
    fn new() -> Store {
        Store(TempDir::new("store"))
    }

    fn podman(&self, args: &[&str]) -> Output {
        let (root, run, state) = (self.0.s("root"), self.0.s("run"), self.0.s("libpod"));
        Command::new(format!("{ROOT}/scripts/podman.sh"))
            .args(["podman", "--root", &root, "--runroot", &run, "--tmpdir", &state])
            .args(["--storage-driver", "vfs"])
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        ok(self.podman(args), &format!("podman {args:?}"))
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // Its containers and images; the directory goes with the TempDir.
        // Not `system reset`: it would also unmount and remove what the
        // configuration shares with the main store.
        let _ = self.podman(&["rm", "--all", "--force"]);
        let _ = self.podman(&["rmi", "--all", "--force"]);
    }
}

#[test]
fn release_checksums_cover_every_artefact_and_check() {
    let sums = std::fs::read_to_string(release("SHA256SUMS")).unwrap();
    let names: Vec<&str> = sums.lines().filter_map(|l| l.split_whitespace().nth(1)).collect();
    let v = version();
    for expected in [
        format!("mooring-{v}-x86_64-linux-musl"),
        format!("mooring-{v}-aarch64-linux-musl"),
        format!("mooring-{v}.oci.tar"),
        format!("mooring-{v}.spdx.json"),
        format!("mooring_{v}_amd64.deb"),
        format!("mooring_{v}_arm64.deb"),
    ] {
        assert!(names.contains(&expected.as_str()), "SHA256SUMS lacks {expected}:\n{sums}");
    }
    let dir = release("SHA256SUMS").parent().unwrap().to_path_buf();
    let check = Command::new("sha256sum").args(["-c", "SHA256SUMS"]).current_dir(&dir).output().unwrap();
    assert_eq!(ok(check, "sha256sum -c").lines().filter(|l| l.ends_with(": OK")).count(), names.len());
}

#[test]
fn release_binary_runs_as_pid1_on_both_architectures() {
    for arch in ["x86_64", "aarch64"] {
        let bin = release(&format!("mooring-VERSION-{arch}-linux-musl"));
        let out = Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc", "--kill-child"])
            .arg(&bin)
            .args(["-q", "--", "sh", "-c", "echo $PPID; exit 7"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(7), "{arch}: {out:?}");
        assert_eq!(stdout_of(&out).trim(), "1", "{arch}: the command's parent is PID 1");
    }
}

#[test]
fn release_oci_archive_loads_into_an_empty_store_with_both_architectures() {
    let store = Store::new();
    let archive = release("mooring-VERSION.oci.tar");
    let tag = format!("localhost/mooring:{}", version());
    // An arm64 host takes the arm64 image the same way; here it is pulled by
    // its platform first, and tagged, before the host's own is loaded.
    let arm = format!("{tag}-arm64");
    store.ok(&["pull", "-q", "--arch", "arm64", &format!("oci-archive:{}", archive.display())]);
    store.ok(&["tag", &tag, &arm]);
    let loaded = store.ok(&["load", "-i", archive.to_str().unwrap()]);
    assert!(loaded.contains(&tag), "{loaded}");
    for (image, arch) in [(&tag, "amd64"), (&arm, "arm64")] {
        let seen = store.ok(&[
            "image",
            "inspect",
            "--format",
            "{{.Os}}/{{.Architecture}} {{.Config.Entrypoint}}",
            image,
        ]);
        assert_eq!(seen.trim(), format!("linux/{arch} [/init]"), "{image}");
    }
    let layout = TempDir::new("layout");
    let dest = format!("oci:{}:m", layout.path().display());
    ok(
        Command::new("skopeo")
            .args(["copy", "-q", "--all", &format!("oci-archive:{}", archive.display()), &dest])
            .output()
            .unwrap(),
        "skopeo copy --all",
    );
    let raw =
        ok(Command::new("skopeo").args(["inspect", "--raw", &dest]).output().unwrap(), "skopeo inspect");
    for arch in ["\"amd64\"", "\"arm64\""] {
        assert!(raw.contains(arch), "the index lacks {arch}: {raw}");
    }
}

#[test]
fn release_oci_image_serves_a_users_copy_from() {
    let store = Store::new();
    let v = version();
    store.ok(&["load", "-i", release("mooring-VERSION.oci.tar").to_str().unwrap()]);
    let ctx = TempDir::new("copy-from");
    std::fs::copy("/bin/busybox", ctx.join("busybox")).unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        format!(
            "FROM scratch\nCOPY busybox /bin/busybox\nCOPY --from=localhost/mooring:{v} /init /init\n\
             ENTRYPOINT [\"/init\", \"--\"]\nCMD [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox readlink /proc/1/exe; exit 3\"]\n"
        ),
    )
    .unwrap();
    store.ok(&["build", "-q", "-t", "localhost/app:1", ctx.path().to_str().unwrap()]);
    let out = store.podman(&["run", "--rm", "localhost/app:1"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(stdout_of(&out).trim(), "/init", "init is PID 1");
}

/// `podman run --rm ARGS`, again when podman 4.3 lost the container's exit
/// code (under load it may ask for it before conmon has written it: "no
/// such exit code (container in state running)").
fn run_rm(args: &[&str]) -> Output {
    let mut tries = 0;
    loop {
        let out = podman(&[&["run", "--rm"][..], args].concat());
        tries += 1;
        if tries == 3 || !String::from_utf8_lossy(&out.stderr).contains("no such exit code") {
            return out;
        }
    }
}

#[test]
fn release_debian_packages_install_and_run_as_pid1() {
    for arch in ["amd64", "arm64"] {
        let ctx = TempDir::new("deb");
        std::fs::copy(release(&format!("mooring_VERSION_{arch}.deb")), ctx.join("mooring.deb")).unwrap();
        // arm64's binary runs through qemu (binfmt_misc, scripts/deps.sh).
        std::fs::write(
            ctx.join("Containerfile"),
            format!(
                "FROM {DEBIAN}\nCOPY mooring.deb /tmp/\n\
                 RUN dpkg --add-architecture {arch} && dpkg -i /tmp/mooring.deb && rm /tmp/mooring.deb\n\
                 ENTRYPOINT [\"mooring\"]\n"
            ),
        )
        .unwrap();
        let tag = format!("localhost/{}:{arch}", unique_name("deb"));
        podman_ok(&["build", "-q", "-t", &tag, ctx.path().to_str().unwrap()]);
        let script = "tr '\\0' ' ' < /proc/1/cmdline; echo; id -un; exit 4";
        let out = run_rm(&[&tag, "--", "sh", "-c", script]);
        let listed = run_rm(&["--entrypoint", "dpkg", &tag, "-L", "mooring"]);
        assert!(listed.status.success(), "{arch}: dpkg -L mooring: {listed:?}");
        let listed = stdout_of(&listed);
        let _ = podman(&["rmi", "-f", &tag]);
        let text = stdout_of(&out);
        assert_eq!((out.status.code(), text.lines().nth(1)), (Some(4), Some("root")), "{arch}: {out:?}");
        // Under qemu, PID 1's command line is the emulator's: it names the
        // binary, then the arguments mooring was given.
        let pid1 = text.lines().next().unwrap_or_default();
        let is_mooring = match arch {
            "amd64" => pid1.starts_with("mooring -- sh"),
            _ => pid1.contains("aarch64") && pid1.contains("/usr/bin/mooring mooring -- sh"),
        };
        assert!(is_mooring, "{arch}: PID 1 is mooring: {text}");
        for path in ["/usr/bin/mooring", "/usr/share/doc/mooring/copyright"] {
            assert!(listed.lines().any(|l| l == path), "{arch}: dpkg -L mooring lacks {path}:\n{listed}");
        }
    }
}

#[test]
fn release_debian_packages_hold_the_manual_and_pass_lintian() {
    for arch in ["amd64", "arm64"] {
        let deb = release(&format!("mooring_VERSION_{arch}.deb"));
        let listing = ok(Command::new("dpkg-deb").arg("-c").arg(&deb).output().unwrap(), "dpkg-deb -c");
        for path in
            ["./usr/bin/mooring", "./usr/share/man/man1/mooring.1.gz", "./usr/share/doc/mooring/copyright"]
        {
            assert!(listing.contains(path), "{arch}: {path} missing:\n{listing}");
        }
        let out = Command::new("lintian")
            .args(["--pedantic", "--fail-on", "info,pedantic"])
            .arg(&deb)
            .output()
            .unwrap();
        let said = format!("{}{}", stdout_of(&out), String::from_utf8_lossy(&out.stderr));
        let tags: Vec<&str> = said.lines().filter(|l| l.len() > 2 && l.as_bytes()[1] == b':').collect();
        assert!(out.status.success() && tags.is_empty(), "lintian on {arch}: {said}");
    }
}
