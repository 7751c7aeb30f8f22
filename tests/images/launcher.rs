//! images/launcher: the all-in-one container (app, nginx, sshd under
//! mooring) as images/launcher/README.md runs it: by compose, with its data
//! volume seeded when fresh, SSH keys and settings taken from that volume,
//! Ctrl-C's SIGINT stopping every service in order; and by `podman kube play`.
//! As the seed runs it: `docker run -v HOST_DIR:/data IMAGE` seeds an empty
//! host directory, `init shell` opens the runtime user's shell, and the
//! "quit signal" (SIGQUIT) stops every service gracefully, under podman and
//! under a Docker Engine.

use std::process::{Command, Output};
use std::time::Instant;

use crate::common::podman::{Container, ROOT, Volume, podman_ok};
use crate::common::{OnTty, TempDir, stderr_of, stdout_of, wait_until};
use crate::deploy::{Pod, Stack, curl, curl_in, free_port};
use crate::docker::Dockerd;
use crate::{INIT, PROMPT, exited, image, stop_promptly, wait_ready};

const USER: &str = "lab";
const UID: &str = "1234";

/// A compose stack of images/launcher and a directory for SSH keys.
struct Launcher {
    stack: Stack,
    http: String,
    ssh: String,
    dir: TempDir,
}

fn up(name: &str) -> Launcher {
    image("launcher");
    let (http, ssh) = (free_port().to_string(), free_port().to_string());
    let env = [
        ("LAUNCHER_USER", USER),
        ("LAUNCHER_UID", UID),
        ("LAUNCHER_GID", UID),
        ("LAUNCHER_NAME", name),
        ("LAUNCHER_HTTP_PORT", &http),
        ("LAUNCHER_SSH_PORT", &ssh),
    ];
    let l = Launcher { stack: Stack::up("launcher", &env), http, ssh, dir: TempDir::new("launcher") };
    l.wait_ready();
    l
}

impl Launcher {
    fn c(&self) -> &Container {
        self.stack.get("launcher")
    }

    fn wait_ready(&self) {
        for service in ["app", "nginx", "sshd"] {
            wait_ready(self.c(), service);
        }
    }

    fn get(&self) -> String {
        let out = curl(&["--fail", &format!("http://127.0.0.1:{}/", self.http)]);
        assert!(out.status.success(), "GET /: {}\n{}", stderr_of(&out), self.c().logs());
        stdout_of(&out)
    }

    /// A new key pair in the test's directory; returns the public key.
    fn keypair(&self, name: &str) -> String {
        let made = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", &self.dir.s(name)])
            .output()
            .expect("ssh-keygen runs");
        assert!(made.status.success(), "{}", stderr_of(&made));
        std::fs::read_to_string(self.dir.join(&format!("{name}.pub"))).unwrap().trim().to_string()
    }

    /// `ssh -i KEY USER@127.0.0.1 id -u` through the published port.
    fn ssh_id(&self, key: &str) -> Output {
        Command::new("timeout")
            .args(["30", "ssh", "-i", &self.dir.s(key), "-p", &self.ssh])
            .args(["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"])
            .args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"])
            .args([&format!("{USER}@127.0.0.1"), "id", "-u"])
            .output()
            .expect("ssh runs")
    }

    fn read(&self, path: &str) -> String {
        podman_ok(&["exec", &self.c().0, "cat", path])
    }
}

#[test]
fn launcher_seeds_a_fresh_volume_takes_ssh_keys_from_it_and_stops_in_order_on_sigint() {
    let l = up("lab-one");
    let c = l.c();
    assert_eq!(l.get(), "lab-one\nWelcome to lab-one.\n");
    // The seed (launcher.conf, ssh/, ssh/authorized_keys) copied, all the runtime user's.
    assert!(c.logs().contains("volume ready path=/data created=false seeded=3"), "{}", c.logs());
    let owners =
        c.exec(&["stat", "-c", "%u:%g", "/data", "/data/launcher.conf", "/data/ssh/authorized_keys"]);
    assert_eq!(stdout_of(&owners), format!("{UID}:{UID}\n").repeat(3));

    let first = l.keypair("first");
    let refused = l.ssh_id("first");
    assert_eq!(refused.status.code(), Some(255));
    assert!(stderr_of(&refused).contains("Permission denied (publickey)"), "{}", stderr_of(&refused));
    let added = c.exec(&[INIT, "run", "add-key", &first]);
    assert!(added.status.success(), "{}", stderr_of(&added));
    let id = l.ssh_id("first");
    assert_eq!(stdout_of(&id), format!("{UID}\n"), "{}\n{}", stderr_of(&id), c.logs());

    // The same task in a one-off container on the same volume.
    let second = l.keypair("second");
    let run = l.stack.run("launcher", &["init", "run", "add-key", &second]);
    assert!(run.status.success(), "compose run: {}{}", stdout_of(&run), stderr_of(&run));
    assert_eq!(stdout_of(&l.ssh_id("second")), format!("{UID}\n"));
    let bad = c.exec(&[INIT, "run", "add-key", "not a key"]);
    assert_eq!(bad.status.code(), Some(64), "{}", stderr_of(&bad));

    // Ctrl-C on `podman run -it` is SIGINT to PID 1: nginx and sshd stop
    // first, then the app they depend on; the code is the app's, 0.
    let t0 = Instant::now();
    podman_ok(&["kill", "-s", "INT", &c.0]);
    wait_until("the container ends on SIGINT", PROMPT * 3, || exited(c));
    assert!(t0.elapsed() < PROMPT, "SIGINT took {:?}", t0.elapsed());
    assert_eq!(c.exit_code(), 0, "{}", c.logs());
    let logs = c.logs();
    let at = |needle: &str| logs.find(needle).unwrap_or_else(|| panic!("{needle:?} missing:\n{logs}"));
    at("init: INFO stopping reason=SIGINT");
    let nginx = at("init: INFO exited service=nginx code=0");
    at("init: INFO exited service=sshd code=0");
    let app = at("init: INFO stop signal sent service=app");
    assert!(nginx < app, "the app stops after nginx:\n{logs}");
    at("init: INFO exited service=app code=0");
    at("init: INFO exiting code=0");
}

#[test]
fn launcher_is_reconfigured_from_its_volume_at_restart_and_the_seed_never_overwrites_it() {
    let l = up("lab-two");
    let c = l.c();
    assert_eq!(l.get(), "lab-two\nWelcome to lab-two.\n");
    let host_key = l.read("/data/ssh/ssh_host_ed25519_key.pub");

    // The operator edits the settings on the volume, as the runtime user.
    let settings = "printf 'title = changed\\nmessage = still <<LAUNCHER_NAME>>\\n' > /data/launcher.conf";
    let edit = c.exec(&[INIT, "run", "--", "sh", "-c", settings]);
    assert!(edit.status.success(), "{}", stderr_of(&edit));
    assert_eq!(l.get(), "lab-two\nWelcome to lab-two.\n", "read at start only");

    stop_promptly(c, 0);
    podman_ok(&["start", &c.0]);
    l.wait_ready();
    assert_eq!(l.get(), "changed\nstill lab-two\n");
    // On the named volume itself, as the operator left it.
    let volume = podman_ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", &l.stack.volume("data")]);
    let settings = std::fs::read_to_string(format!("{volume}/launcher.conf")).unwrap();
    assert_eq!(settings, "title = changed\nmessage = still <<LAUNCHER_NAME>>\n");
    assert_eq!(l.read("/data/ssh/ssh_host_ed25519_key.pub"), host_key, "host keys made once");
    assert_eq!(c.logs().matches("hostkeys: made").count(), 1, "{}", c.logs());
    stop_promptly(c, 0);
}

/// images/launcher/README.md's `podman run -it`, and Ctrl-C typed on its terminal: the
/// terminal sends SIGINT to the foreground group, init's, and init stops
/// every service in order.
#[test]
fn launcher_run_on_a_terminal_stops_gracefully_on_ctrl_c() {
    let volume = Volume::new("launcher-tty");
    let c = Container::name("launcher-tty");
    let data = format!("{}:/data", volume.0);
    let podman = format!("{ROOT}/scripts/podman.sh");
    let image = image("launcher");
    let mut tty =
        OnTty::start(&[&podman, "podman", "run", "-it", "--rm", "--name", &c.0, "-v", &data, &image]);
    for service in ["nginx", "sshd"] {
        tty.wait_for_output(&format!("init: INFO ready service={service}"));
    }
    let t0 = Instant::now();
    tty.type_in(b"\x03");
    assert_eq!(tty.wait(), 0, "{}", tty.output());
    assert!(t0.elapsed() < PROMPT, "Ctrl-C took {:?}", t0.elapsed());
    let output = tty.output();
    for line in [
        "stopping reason=SIGINT",
        "exited service=nginx code=0",
        "exited service=app code=0",
        "exiting code=0",
    ] {
        assert!(output.contains(line), "{line:?} missing:\n{output}");
    }
}

/// kube.yaml as is: the pod's one container serves the app through nginx.
#[test]
fn launcher_pod_from_kube_yaml_serves_the_app() {
    image("launcher");
    let pod = Pod::play("launcher", &["launcher", "launcher-data"], &[]);
    let c = pod.get("launcher", "main");
    for service in ["nginx", "sshd"] {
        wait_ready(c, service);
    }
    assert!(pod.volumes_of(c).contains(&pod.claim("launcher-data")), "{:?}", pod.volumes_of(c));
    let out = curl_in(c, &["--fail", "http://127.0.0.1/"]);
    assert_eq!(stdout_of(&out), "kube-launcher\nWelcome to kube-launcher.\n", "{}", stderr_of(&out));
}

/// The logs of a launcher stopped by `signal`: every service stopped, nginx
/// before the app it fronts, and the app's code, 0.
fn stopped_in_order(logs: &str, signal: &str) {
    let at = |needle: &str| logs.find(needle).unwrap_or_else(|| panic!("{needle:?} missing:\n{logs}"));
    at(&format!("init: INFO stopping reason={signal}"));
    let nginx = at("init: INFO exited service=nginx code=0");
    at("init: INFO exited service=sshd code=0");
    let app = at("init: INFO exited service=app code=0");
    assert!(nginx < app, "the app stops after nginx:\n{logs}");
    at("init: INFO exiting code=0");
}

/// The seed's `docker run -ti -v "${DATA}/volume":/srv/projects/…/data
/// IMAGE`, here detached: the empty host directory is seeded and given to
/// the runtime user; `init shell` is that user's shell in its home; SIGQUIT
/// ("a Control-C or quit signal") stops every service in order, code 0.
#[test]
fn launcher_on_a_host_directory_seeds_it_opens_init_shell_and_stops_gracefully_on_sigquit() {
    let dir = TempDir::new("launcher-quit");
    std::fs::create_dir(dir.join("volume")).unwrap();
    let data = format!("{}:/data", dir.s("volume"));
    let c = Container::start("launcher-quit", &["-v", &data], &image("launcher"), &[]);
    for service in ["app", "nginx", "sshd"] {
        wait_ready(&c, service);
    }
    let seeded = std::fs::read_to_string(dir.join("volume/launcher.conf")).unwrap();
    assert!(seeded.contains("title = "), "{seeded}");
    let owner =
        std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(dir.join("volume/launcher.conf")).unwrap());
    assert_eq!(owner, 1000, "the runtime user's");
    let shell = c.exec(&["sh", "-c", &format!("echo 'id -un; pwd' | {INIT} shell")]);
    assert_eq!(stdout_of(&shell), "app\n/home/app\n", "{}", stderr_of(&shell));

    let t0 = Instant::now();
    podman_ok(&["kill", "-s", "QUIT", &c.0]);
    wait_until("the container ends on SIGQUIT", PROMPT * 3, || exited(&c));
    assert!(t0.elapsed() < PROMPT, "SIGQUIT took {:?}", t0.elapsed());
    assert_eq!(c.exit_code(), 0, "{}", c.logs());
    stopped_in_order(&c.logs(), "SIGQUIT");
}

/// The same `docker run` on a Docker Engine (network none: nothing leaves
/// the container), SIGQUIT from `docker kill -s QUIT`.
#[test]
fn launcher_on_docker_run_stops_gracefully_on_sigquit() {
    let image = image("launcher");
    let Some(d) = Dockerd::start() else { return };
    d.load(&[&image]);
    let dir = TempDir::new("launcher-docker");
    std::fs::create_dir(dir.join("volume")).unwrap();
    let data = format!("{}:/data", dir.s("volume"));
    let name = crate::common::podman::unique_name("launcher-docker");
    d.docker_ok(&["run", "-d", "--name", &name, "--network", "none", "-v", &data, &image]);
    wait_until("the launcher is ready", crate::STARTUP, || {
        d.docker(&["exec", &name, INIT, "ready"]).status.success()
    });
    assert!(dir.join("volume/ssh/authorized_keys").exists(), "the host directory is seeded");
    let shell = d.docker(&["exec", &name, "sh", "-c", &format!("echo 'id -un; pwd' | {INIT} shell")]);
    assert_eq!(stdout_of(&shell), "app\n/home/app\n", "{}", stderr_of(&shell));
    let t0 = Instant::now();
    d.docker_ok(&["kill", "-s", "QUIT", &name]);
    wait_until("the container ends on SIGQUIT", PROMPT * 3, || {
        d.inspect(&name, "{{.State.Running}}") == "false"
    });
    assert_eq!(d.inspect(&name, "{{.State.ExitCode}}"), "0");
    assert!(t0.elapsed() < PROMPT, "SIGQUIT took {:?}", t0.elapsed());
    let logs = d.docker(&["logs", &name]);
    stopped_in_order(&format!("{}{}", stdout_of(&logs), stderr_of(&logs)), "SIGQUIT");
}
