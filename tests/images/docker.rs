//! A Docker Engine of the test's own (Debian's docker.io, which
//! scripts/deps.sh installs with Debian's docker-compose 1.29), for the
//! compose deployments as the seeds' operators run them: `docker-compose up`,
//! `exec`, `run`. Each test starts its own dockerd: its own data root, exec
//! root and socket in a temp dir, no bridge, no iptables; the images come
//! from mooring's podman store (`podman save | docker load`).
//!
//! No test traffic may leave loopback (the dockerd has no bridge), so no compose network
//! either: `shared_netns` rewrites a compose file so that every service
//! joins the network namespace of one `net` container (network_mode: none,
//! only `lo`), whose /etc/hosts maps every service name to 127.0.0.1 — a
//! pod, as kube.yaml has it. Published ports go (curl runs inside that
//! namespace). When dockerd cannot start here, the test says so and skips.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::common::podman::ROOT;
use crate::common::{TempDir, stderr_of, stdout_of, wait_until};
use crate::deploy::Engine;

/// A dockerd of this test, stopped and its state removed on drop.
pub struct Dockerd {
    child: Child,
    pub host: String,
    dir: TempDir,
}

impl Dockerd {
    /// Starts one, or says why it cannot and returns None (the test then
    /// skips). Waits until its API answers.
    pub fn start() -> Option<Dockerd> {
        for tool in ["dockerd", "docker", "docker-compose"] {
            if Command::new("which").arg(tool).output().map_or(true, |o| !o.status.success()) {
                eprintln!(
                    "SKIPPED: no {tool} on PATH (scripts/deps.sh installs docker.io and docker-compose)"
                );
                return None;
            }
        }
        let dir = TempDir::new("dockerd");
        let host = format!("unix://{}", dir.s("d.sock"));
        let log = std::fs::File::create(dir.join("dockerd.log")).unwrap();
        let child = Command::new("dockerd")
            .args([
                "--data-root",
                &dir.s("data"),
                "--exec-root",
                &dir.s("exec"),
                "--pidfile",
                &dir.s("d.pid"),
            ])
            .args([
                "-H",
                &host,
                "--bridge=none",
                "--iptables=false",
                "--ip6tables=false",
                "--ip-forward=false",
            ])
            .args([
                "--ip-masq=false",
                "--default-ulimit",
                "nofile=1024:1024",
                "--default-ulimit",
                "nproc=1024:1024",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn();
        let child = match child {
            Ok(c) => c,
            Err(e) => {
                eprintln!("SKIPPED: dockerd cannot start: {e}");
                return None;
            }
        };
        let mut d = Dockerd { child, host, dir };
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            if Dockerd::cli(&d.host, &["version"]).status.success() {
                return Some(d);
            }
            let exited = d.child.try_wait().ok().flatten().is_some();
            if exited || Instant::now() > end {
                let log = std::fs::read_to_string(d.dir.join("dockerd.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                eprintln!(
                    "SKIPPED: dockerd cannot start here:\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `docker -H HOST ARGS`.
    pub fn cli(host: &str, args: &[&str]) -> Output {
        Command::new("docker")
            .args(["-H", host])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("docker {args:?}: {e}"))
    }

    pub fn docker(&self, args: &[&str]) -> Output {
        Dockerd::cli(&self.host, args)
    }

    pub fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(out.status.success(), "docker {args:?}: {}", stderr_of(&out));
        stdout_of(&out).trim().to_string()
    }

    /// Copies `tags` (built by `crate::image`) from mooring's podman store.
    pub fn load(&self, tags: &[&str]) {
        for tag in tags {
            let pipe =
                format!("{ROOT}/scripts/podman.sh podman save {tag} | docker -H {} load -q", self.host);
            let out = Command::new("sh").args(["-c", &pipe]).output().unwrap();
            assert!(out.status.success(), "loading {tag}: {}", stderr_of(&out));
        }
    }

    /// A compose engine on this dockerd, its rewritten files in a temp dir.
    pub fn engine(&self) -> Engine {
        Engine::Docker { host: self.host.clone(), file: TempDir::new("docker-compose") }
    }

    /// `docker inspect -f FORMAT NAME`.
    pub fn inspect(&self, name: &str, format: &str) -> String {
        self.docker_ok(&["inspect", "-f", format, name])
    }

    /// curl inside the shared network namespace of `name`'s stack.
    pub fn curl(&self, name: &str, args: &[&str]) -> Output {
        let pid = self.inspect(name, "{{.State.Pid}}");
        Command::new("nsenter")
            .arg(format!("--net=/proc/{pid}/ns/net"))
            .args(["curl", "-sS", "--max-time", "20"])
            .args(args)
            .output()
            .expect("nsenter runs")
    }

    /// Waits until `compose exec SERVICE init ready` says ready.
    pub fn wait_ready(stack: &crate::deploy::Stack, service: &str) {
        wait_until(&format!("{service} ready"), crate::STARTUP, || {
            stack.compose(&["exec", "-T", service, "/usr/local/bin/init", "ready"]).status.success()
        });
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let all = stdout_of(&self.docker(&["ps", "-aq"]));
        for id in all.split_whitespace() {
            let _ = self.docker(&["rm", "-f", "-v", id]);
        }
        let pid = Pid::from_raw(self.child.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let end = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().ok().flatten().is_none() {
            if Instant::now() > end {
                let _ = kill(pid, Signal::SIGKILL);
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Whatever dockerd left mounted under its directories (after a
        // SIGKILL), deepest first, before the temp dir is removed.
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let root = self.dir.path().display().to_string();
        let mut left: Vec<&str> =
            mounts.lines().filter_map(|l| l.split(' ').nth(4)).filter(|m| m.starts_with(&root)).collect();
        left.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in left {
            let _ = Command::new("umount").args(["-l", m]).status();
        }
    }
}

/// `text` (a compose file) with every service in the network namespace of a
/// `net` service, whose /etc/hosts names them all 127.0.0.1, and no
/// published ports. Handles the shapes of images/*/compose.yaml: services
/// at two spaces, `ports:` as a flow list or a block list.
pub fn shared_netns(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let top = |l: &str| !l.is_empty() && !l.starts_with([' ', '#']);
    let start = lines.iter().position(|l| *l == "services:").expect("a services: section");
    let end = lines.iter().skip(start + 1).position(|l| top(l)).map_or(lines.len(), |n| start + 1 + n);
    fn header(l: &str) -> Option<&str> {
        let name = l.strip_prefix("  ")?.strip_suffix(':')?;
        (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .then_some(name)
    }
    let services: Vec<&str> = lines[start + 1..end].iter().filter_map(|l| header(l)).collect();
    let hosts = services.iter().map(|s| format!("\"{s}:127.0.0.1\"")).collect::<Vec<_>>().join(", ");
    let mut out = Vec::new();
    let mut skipping_ports: Option<usize> = None;
    for (i, line) in lines.iter().enumerate() {
        let indent = line.len() - line.trim_start().len();
        if let Some(at) = skipping_ports {
            if line.trim_start().starts_with('-') && indent >= at {
                continue;
            }
            skipping_ports = None;
        }
        if i > start && i < end && line.trim_start().starts_with("ports:") {
            if line.trim_end().ends_with(':') {
                skipping_ports = Some(indent);
            }
            continue;
        }
        out.push(line.to_string());
        if i == start {
            out.push("  net:".into());
            out.push("    image: localhost/mooring-base:latest".into());
            out.push("    network_mode: none".into());
            out.push(format!("    extra_hosts: [{hosts}]"));
            out.push("    entrypoint: [/usr/local/bin/init, --, sleep, infinity]".into());
        } else if i > start && i < end && header(line).is_some() {
            out.push("    network_mode: \"service:net\"".into());
        }
    }
    out.join("\n") + "\n"
}

#[test]
fn shared_netns_joins_every_service_to_net_and_drops_published_ports() {
    let text = "x-app: &app\n  image: a\n\nservices:\n  db:\n    image: p\n  # a comment\n  web:\n    <<: *app\n    ports: [\"8000:8000\"]\n    volumes: [v:/v]\n  front:\n    ports:\n      - \"1:1\"\n      - \"2:2\"\n    image: n\n\nvolumes:\n  v:\n";
    let out = shared_netns(text);
    assert!(
        out.contains("  net:\n    image: localhost/mooring-base:latest\n    network_mode: none\n"),
        "{out}"
    );
    assert!(out.contains("extra_hosts: [\"db:127.0.0.1\", \"web:127.0.0.1\", \"front:127.0.0.1\"]"), "{out}");
    assert_eq!(out.matches("network_mode: \"service:net\"").count(), 3, "{out}");
    assert!(!out.contains("ports") && !out.contains("\"1:1\""), "{out}");
    assert!(out.contains("    image: n\n\nvolumes:\n  v:\n"), "{out}");
    assert!(out.starts_with("x-app: &app\n  image: a\n"), "{out}");
}
