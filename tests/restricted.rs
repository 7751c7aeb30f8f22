//! The example image images/hello run the ways Kubernetes and OpenShift run
//! images (docs/running-restricted.md): as root, as the image's uid, as a
//! random uid with group 0, on a read-only root filesystem, and all of those
//! at once; then as a pod from its manifest through `podman kube play`. Each
//! way it starts, serves its rendered page, is healthy, answers `init
//! status`, stops promptly with 143 and logs exactly the expected WARN lines.
//! Needs root, podman and `make build` (which `make test` runs first).

mod common;

use std::sync::OnceLock;
use std::time::Duration;

use common::podman::{Container, podman, podman_ok};
use common::{DEADLINE, TempDir, stderr_of, stdout_of, wait_until};

const IMAGE: &str = "localhost/mooring-hello:latest";
const INIT: &str = "/usr/local/bin/init";

fn image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let containerfile =
            std::fs::read_to_string(format!("{}/images/hello/Containerfile", common::podman::ROOT));
        common::podman::build(IMAGE, &containerfile.unwrap(), &["images/hello/config"]);
    });
    IMAGE
}

/// One way of running the image and what it must show.
struct Setting {
    tag: &'static str,
    options: &'static [&'static str],
    /// The web server's uid, and its HOME when the test may read it.
    uid: u32,
    home: Option<&'static str>,
    warns: &'static [&'static str],
}

const USER: &str =
    "init: WARN not root: user \"app\" (uid 1000) not created; children run as init's own uid 1000470000:0";
const STATUS_MOVED: &str =
    "init: WARN status file moved: /run/init: Permission denied (os error 13) path=/dev/shm/init/status.json";
const NO_ENTRY: &str = "init: WARN not root: uid 1000470000 has no passwd entry and /etc/passwd may not be written; \
                        children get HOME=/tmp";

/// Runs the image as `s` says and checks what its users see. Podman adds a
/// passwd entry for an unknown uid; Kubernetes does not, so neither do we.
fn check(s: &Setting) {
    let mut options = vec!["--passwd=false", "-e", "SITE_NAME=restricted"];
    options.extend_from_slice(s.options);
    let c = Container::start(s.tag, &options, image(), &[]);
    wait_until(&format!("{} healthy", c.0), DEADLINE, || c.exec(&[INIT, "health"]).status.success());
    let page = c.exec(&["wget", "-qO-", "http://127.0.0.1:8080/"]);
    assert!(stdout_of(&page).contains("<p>Hello from restricted.</p>"), "{}{}", stdout_of(&page), c.logs());
    let hc = podman(&["healthcheck", "run", &c.0]);
    assert!(hc.status.success(), "HEALTHCHECK: {}{}", stdout_of(&hc), stderr_of(&hc));
    let status = stdout_of(&c.exec(&[INIT, "status"]));
    assert!(status.lines().any(|l| l.starts_with("web ") && l.contains(" ready ")), "{status}");
    let script = "p=$(pidof httpd); awk '/^Uid:/ {print $2}' /proc/$p/status; \
                  tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null | grep '^HOME='";
    let who = stdout_of(&c.exec(&["sh", "-c", script]));
    let mut lines = who.lines();
    assert_eq!(lines.next(), Some(s.uid.to_string().as_str()), "{who}");
    if let Some(home) = s.home {
        assert_eq!(lines.next(), Some(format!("HOME={home}").as_str()), "{who}");
    }
    let took = c.stop(10);
    assert_eq!(c.exit_code(), 143, "{}", c.logs());
    assert!(took < Duration::from_secs(5), "podman stop took {took:?}");
    let logs = c.logs();
    let warns: Vec<&str> = logs.lines().filter(|l| l.starts_with("init: WARN")).collect();
    assert_eq!(warns, s.warns, "{logs}");
}

#[test]
fn as_root_nothing_is_skipped() {
    check(&Setting { tag: "root", options: &[], uid: 1000, home: None, warns: &[] });
}

#[test]
fn as_the_images_uid_only_the_status_file_moves() {
    let s = Setting {
        tag: "uid1000",
        options: &["--user", "1000:1000"],
        uid: 1000,
        home: Some("/home/app"),
        warns: &[STATUS_MOVED],
    };
    check(&s);
}

#[test]
fn as_a_random_uid_of_group_0_init_adds_its_passwd_entry() {
    let s = Setting {
        tag: "random",
        options: &["--user", "1000470000:0"],
        uid: 1000470000,
        home: Some("/home/app"),
        warns: &[USER, STATUS_MOVED],
    };
    check(&s);
}

#[test]
fn on_a_read_only_root_as_root_nothing_is_skipped() {
    let s = Setting {
        tag: "readonly",
        options: &["--read-only", "--tmpfs", "/run"],
        uid: 1000,
        home: None,
        warns: &[],
    };
    check(&s);
}

#[test]
fn all_three_at_once() {
    let s = Setting {
        tag: "all",
        options: &["--user", "1000470000:0", "--read-only", "--tmpfs", "/run"],
        uid: 1000470000,
        home: Some("/tmp"),
        warns: &[USER, NO_ENTRY, STATUS_MOVED],
    };
    check(&s);
}

#[test]
fn the_passwd_entry_names_a_random_uid_after_the_runtime_user() {
    let c = Container::start("whoami", &["--passwd=false", "--user", "1000470000:0"], image(), &[]);
    wait_until("healthy", DEADLINE, || c.exec(&[INIT, "health"]).status.success());
    let who = c.exec(&["sh", "-c", "whoami; tail -n 1 /etc/passwd; ls -ln /etc/passwd"]);
    let who = stdout_of(&who);
    let mut lines = who.lines();
    assert_eq!(lines.next(), Some("app"), "{who}");
    assert_eq!(lines.next(), Some("app:x:1000470000:0:app:/home/app:/bin/sh"), "{who}");
    // Appended in place: the image's root:0 owner and group write are kept.
    assert!(lines.next().is_some_and(|l| l.starts_with("-rw-rw-r-- ") && l.contains(" 0 ")), "{who}");
}

/// The pod of images/hello/kube.yaml: runAsUser, readOnlyRootFilesystem, an
/// `init wait` initContainer and `init health` probes.
#[test]
fn the_kubernetes_manifest_comes_up_with_its_init_container_and_probes() {
    image();
    let dir = TempDir::new("kube");
    let pod = format!("hello-{}", std::process::id());
    let manifest =
        std::fs::read_to_string(format!("{}/images/hello/kube.yaml", common::podman::ROOT)).unwrap();
    // Its emptyDir becomes a podman volume of that name: one of this run's,
    // removed with the pod.
    let www = format!("www-{}", std::process::id());
    let manifest = manifest
        .replace("name: hello\n", &format!("name: {pod}\n"))
        .replace("{name: www,", &format!("{{name: {www},"))
        .replace("- name: www\n", &format!("- name: {www}\n"))
        .replace("/var/tmp/mooring-hello-shared", &dir.s("shared"));
    assert!(!manifest.contains("name: www\n") && !manifest.contains("{name: www,"), "the volume was renamed");
    assert!(manifest.contains(&dir.s("shared")), "the manifest's hostPath was replaced");
    std::fs::write(dir.join("kube.yaml"), manifest).unwrap();
    std::fs::create_dir(dir.join("shared")).unwrap();
    let _down = PodDown(pod.clone(), www.clone());
    let mut play = std::process::Command::new(format!("{}/scripts/podman.sh", common::podman::ROOT))
        .args(["podman", "kube", "play", &dir.s("kube.yaml")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The init container waits for the dependency until it appears: its
    // init is in its wait (it takes signals as the wait begins), and the
    // pod is not up.
    let waiter = format!("{pod}-wait-for-db");
    let pid = || stdout_of(&podman(&["inspect", "-f", "{{.State.Pid}}", &waiter])).trim().parse::<i32>().ok();
    let waiting = common::came_true(DEADLINE, || {
        pid().is_some_and(|p| {
            p > 0 && common::takes_signals(nix::unistd::Pid::from_raw(p), nix::sys::signal::Signal::SIGTERM)
        })
    });
    let up_early = play.try_wait().unwrap().is_some();
    // Written whatever was seen: the pod can be removed only once play is done.
    std::fs::write(dir.join("shared/db.ready"), "").unwrap();
    assert!(waiting, "the init container never waited");
    assert!(!up_early, "the pod came up without its dependency");
    let played = play.wait().unwrap();
    let web = Container(format!("{pod}-web"));
    assert!(played.success(), "podman kube play: {}", common::drain_to_string(play.stderr.take().unwrap()));
    wait_until("the pod's web container is healthy", DEADLINE, || {
        podman(&["healthcheck", "run", &web.0]).status.success()
    });
    let page = stdout_of(&web.exec(&["wget", "-qO-", "http://127.0.0.1:8080/"]));
    assert!(page.contains("<p>Hello from kube.</p>"), "{page}");
    let id = stdout_of(&web.exec(&["id", "-u"]));
    assert_eq!(id.trim(), "1000470000");
    let state = podman_ok(&["inspect", "-f", "{{.State.Status}} {{.RestartCount}}", &web.0]);
    assert_eq!(state, "running 0", "{}", web.logs());
    not_ready_and_back(&web, &manifest_probe(&dir.join("kube.yaml"), "readinessProbe"));
    let warns: Vec<String> =
        web.logs().lines().filter(|l| l.starts_with("init: WARN")).map(String::from).collect();
    assert_eq!(
        warns,
        [
            USER,
            "init: WARN status file moved: /run/init: Read-only file system (os error 30) path=/dev/shm/init/status.json"
        ],
        "{}",
        web.logs()
    );
}

/// The exec command of a probe of the manifest's first container, as the
/// kubelet would run it.
fn manifest_probe(manifest: &std::path::Path, probe: &str) -> Vec<String> {
    let text = std::fs::read_to_string(manifest).unwrap();
    let after = text.split(&format!("{probe}:")).nth(1).unwrap_or_else(|| panic!("no {probe}"));
    let list = after.split("command: [").nth(1).and_then(|l| l.split(']').next()).unwrap();
    list.split(',').map(|w| w.trim().trim_matches('"').to_string()).collect()
}

/// The main service stopped by an operator takes the pod out of service
/// (its readiness probe fails) while its liveness probe still passes; `init
/// start` brings it back.
fn not_ready_and_back(web: &Container, readiness: &[String]) {
    assert_eq!(readiness, ["/usr/local/bin/init", "ready"], "the manifest's readiness probe");
    let probe = || web.exec(&readiness.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(probe().status.code(), Some(0), "{}", stderr_of(&probe()));
    let stopped = web.exec(&[INIT, "stop", "web"]);
    assert_eq!(stdout_of(&stopped), "web stopped\n", "{}", stderr_of(&stopped));
    let out = probe();
    assert_eq!((out.status.code(), stderr_of(&out).as_str()), (Some(1), "init: not ready: web (stopped)\n"));
    let live = podman(&["healthcheck", "run", &web.0]);
    assert!(live.status.success(), "liveness: {}{}", stdout_of(&live), stderr_of(&live));
    assert_eq!(stdout_of(&web.exec(&[INIT, "start", "web"])), "web ready\n");
    assert_eq!(probe().status.code(), Some(0), "ready again: {}", stderr_of(&probe()));
}

/// Removes the pod (and its containers) on drop.
/// A pod and its volume, removed on drop.
struct PodDown(String, String);

impl Drop for PodDown {
    fn drop(&mut self) {
        let _ = podman(&["pod", "rm", "-f", "-t", "0", &self.0]);
        let _ = podman(&["volume", "rm", "-f", &self.1]);
    }
}
