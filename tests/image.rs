//! The mooring image as users consume it: `make image` (scripts/image.sh,
//! which `make test` runs before `cargo test`) builds localhost/mooring from
//! images/mooring/Containerfile in mooring's own podman store (scripts/podman.sh;
//! helpers in tests/common/podman.rs); these tests check what it holds and
//! build the README's Dockerfile snippet, as written, on the local busybox base.

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::TempDir;
use common::podman::{BASE, ROOT, podman, podman_ok};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const IMAGE: &str = "localhost/mooring:latest";
const SNIPPET_COPY: &str = "COPY --from=mooring /init /usr/local/bin/init";

/// The store's config and base image are set up, and `make image` has run.
fn ready() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let setup = Command::new(format!("{ROOT}/scripts/podman.sh")).arg("setup").status().unwrap();
        assert!(setup.success(), "scripts/podman.sh setup failed");
        for tag in [IMAGE.to_string(), format!("localhost/mooring:{VERSION}-arm64")] {
            let exists = podman(&["image", "exists", &tag]).status.success();
            assert!(exists, "{tag} is missing: run `make image` (make test does)");
        }
    });
}

/// An image's root filesystem mounted for the test; unmounted on drop.
struct Mounted {
    image: String,
    path: PathBuf,
}

impl Mounted {
    fn new(image: &str) -> Mounted {
        ready();
        let path = podman_ok(&["image", "mount", image]).into();
        Mounted { image: image.to_string(), path }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = podman(&["image", "unmount", &self.image]);
    }
}

/// Every path in `dir`, relative to it.
fn tree(dir: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut queue = vec![dir.to_path_buf()];
    while let Some(d) = queue.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            found.insert(p.strip_prefix(dir).unwrap().display().to_string());
            if entry.file_type().unwrap().is_dir() {
                queue.push(p);
            }
        }
    }
    found
}

fn assert_holds_only(image: &str, binary: &str, arch: &str) {
    let mounted = Mounted::new(image);
    let root = mounted.path.as_path();
    let only = BTreeSet::from(["LICENSE".to_string(), "init".to_string()]);
    assert_eq!(tree(root), only, "{image}");
    let same = |inside: &str, outside: &str| {
        let (a, b) = (std::fs::read(root.join(inside)), std::fs::read(Path::new(ROOT).join(outside)));
        assert!(a.unwrap() == b.unwrap(), "{image}: /{inside} is not {outside}");
    };
    same("init", binary);
    same("LICENSE", "LICENSE");
    let format = concat!(
        "{{.Architecture}} {{.Config.Entrypoint}} ",
        "{{index .Labels \"org.opencontainers.image.version\"}}"
    );
    let seen = podman_ok(&["image", "inspect", "--format", format, image]);
    assert_eq!(seen, format!("{arch} [/init] {VERSION}"));
}

#[test]
fn the_image_holds_only_init_and_its_licence_for_each_architecture() {
    assert_holds_only(IMAGE, "dist/init", "amd64");
    assert_holds_only(&format!("localhost/mooring:{VERSION}-arm64"), "dist/init-aarch64", "arm64");
    let id = |tag: &str| podman_ok(&["image", "inspect", "--format", "{{.Id}}", tag]);
    assert_eq!(id(IMAGE), id(&format!("localhost/mooring:{VERSION}")), "latest is the version's tag");
}

#[test]
fn each_image_runs_its_init_which_names_its_architecture() {
    ready();
    let version = |image: &str| podman_ok(&["run", "--rm", image, "version"]);
    assert_eq!(version(IMAGE), format!("init (mooring) {VERSION} x86_64-unknown-linux-musl"));
    // Here under qemu-user, which binfmt_misc starts inside the container too (scripts/deps.sh).
    let arm64 = format!("localhost/mooring:{VERSION}-arm64");
    assert_eq!(version(&arm64), format!("init (mooring) {VERSION} aarch64-unknown-linux-musl"));
}

/// The ```dockerfile block of README.md, as a user would paste it.
fn readme_snippet() -> String {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let start = readme.find("```dockerfile\n").expect("README.md has a ```dockerfile block") + 14;
    let snippet = &readme[start..start + readme[start..].find("```").expect("the block ends")];
    assert!(
        snippet.lines().any(|l| l.trim() == SNIPPET_COPY),
        "the README's snippet lost its COPY line:\n{snippet}"
    );
    snippet.to_string()
}

/// The README's snippet built on the busybox base, with its `config/` and the
/// `my-server` its CMD names; removed on drop.
struct ReadmeImage(String);

impl ReadmeImage {
    fn build() -> ReadmeImage {
        ready();
        let ctx = TempDir::new("readme-image");
        std::fs::create_dir(ctx.join("config")).unwrap();
        std::fs::write(
            ctx.join("config/init.toml"),
            "[[template]]\nsrc = \"server.conf.tmpl\"\ndest = \"/etc/my-server.conf\"\n",
        )
        .unwrap();
        std::fs::write(ctx.join("config/server.conf.tmpl"), "greeting = <<GREETING>>\n").unwrap();
        // What the server sees: its arguments, its parent, PID 1 and the rendered config.
        std::fs::write(
            ctx.join("my-server"),
            "#!/bin/sh\necho \"args=$*\"\necho \"ppid=$PPID\"\necho \"pid1=$(tr '\\0' ' ' < /proc/1/cmdline)\"\n\
             cat /etc/my-server.conf\nexit 7\n",
        )
        .unwrap();
        std::fs::set_permissions(ctx.join("my-server"), std::fs::Permissions::from_mode(0o755)).unwrap();
        // The base's PATH is /bin: the stand-in server goes there.
        let containerfile = format!("FROM {BASE}\nCOPY my-server /bin/my-server\n{}", readme_snippet());
        std::fs::write(ctx.join("Containerfile"), containerfile).unwrap();
        let tag = format!("localhost/mooring-readme-{}:latest", std::process::id());
        let image = ReadmeImage(tag);
        podman_ok(&["build", "-q", "-t", &image.0, ctx.path().to_str().unwrap()]);
        image
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["run", "--rm", "-e", "GREETING=hello", &self.0];
        all.extend_from_slice(args);
        podman(&all)
    }
}

impl Drop for ReadmeImage {
    fn drop(&mut self) {
        let _ = podman(&["rmi", "-f", &self.0]);
    }
}

#[test]
fn the_readme_snippet_builds_and_runs_the_cmd_under_init_as_pid1() {
    let image = ReadmeImage::build();

    let out = image.run(&[]);
    let stdout = common::stdout_of(&out);
    assert_eq!(out.status.code(), Some(7), "the server's exit code: {stdout}{}", common::stderr_of(&out));
    assert!(stdout.contains("args=--port 8080\n"), "the README's CMD: {stdout}");
    assert!(stdout.contains("ppid=1\n"), "the server is PID 1's child: {stdout}");
    assert!(stdout.contains("pid1=/usr/local/bin/init my-server --port 8080 \n"), "init is PID 1: {stdout}");
    assert!(stdout.contains("greeting = hello\n"), "the template rendered from the environment: {stdout}");

    let out = image.run(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(common::stdout_of(&out), format!("init {VERSION}\n"));

    let out = image.run(&["sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{}", common::stderr_of(&out));
}
