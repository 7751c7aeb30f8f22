//! The deployments of images/ brought up as their operators bring them up:
//! `compose.yaml` through podman-compose (scripts/podman.sh compose) or
//! Debian's docker-compose against a Docker Engine of the test's own
//! (docker.rs), and `kube.yaml` through `podman kube play`. Each run gets its
//! own compose project, pod names and volumes, and removes them all on drop.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use crate::common::podman::{Container, ROOT, podman, podman_ok, unique_name};
use crate::common::{TempDir, stderr_of, stdout_of};
use crate::docker::Dockerd;

/// podman-compose, against mooring's podman store, with `env` for the
/// compose file's `${VAR}`s.
fn compose(project: &str, file: &str, env: &[(String, String)], args: &[&str]) -> Output {
    Command::new(format!("{ROOT}/scripts/podman.sh"))
        .args(["compose", "-p", project, "-f", file])
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap_or_else(|e| panic!("podman-compose {args:?}: {e}"))
}

/// A self-signed certificate for `name` in DIR/certs: tls.crt and tls.key,
/// readable by the containers' users.
pub fn certificate(dir: &TempDir, name: &str) {
    std::fs::create_dir_all(dir.join("certs")).unwrap();
    let openssl = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            &format!("/CN={name}"),
        ])
        .args(["-addext", &format!("subjectAltName=DNS:{name}")])
        .args(["-keyout", &dir.s("certs/tls.key"), "-out", &dir.s("certs/tls.crt")])
        .output()
        .expect("openssl runs");
    assert!(openssl.status.success(), "{}", stderr_of(&openssl));
    std::fs::set_permissions(dir.join("certs/tls.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
}

/// curl to `https://NAME:PORT…` (the URLs in `args`), NAME resolved to
/// 127.0.0.1 and trusted through DIR/certs/tls.crt; run inside `inside`'s
/// network namespace when given (a pod's or a container's own ports).
pub fn https(inside: Option<&Container>, dir: &TempDir, name: &str, port: u16, args: &[&str]) -> Command {
    let mut cmd = curl_command(inside);
    cmd.args(["--max-time", "30", "--cacert", &dir.s("certs/tls.crt")]);
    cmd.args(["--resolve", &format!("{name}:{port}:127.0.0.1")]).args(args);
    cmd
}

/// The body of a successful `https` request, or `None` (for a wait that
/// tries again while the service comes back).
pub fn try_fetch(
    inside: Option<&Container>,
    dir: &TempDir,
    name: &str,
    port: u16,
    args: &[&str],
) -> Option<String> {
    let out = https(inside, dir, name, port, args).output().ok()?;
    out.status.success().then(|| stdout_of(&out))
}

/// The body of a successful `https` request.
pub fn fetch(inside: Option<&Container>, dir: &TempDir, name: &str, port: u16, args: &[&str]) -> String {
    let out = https(inside, dir, name, port, args).output().expect("curl runs");
    assert!(out.status.success(), "curl {args:?}: {}", stderr_of(&out));
    stdout_of(&out)
}

/// A free port on the host, for a compose file's published ports.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Which engine a `Stack` runs on.
pub enum Engine {
    /// podman-compose against mooring's podman store.
    Podman,
    /// Debian's docker-compose against the test's own dockerd, the compose
    /// file rewritten to one shared network namespace (docker.rs says why).
    Docker { host: String, file: TempDir },
}

/// One compose project of images/DEPLOYMENT/compose.yaml.
pub struct Stack {
    project: String,
    /// The project directory: the original compose file's.
    dir: String,
    file: String,
    env: Vec<(String, String)>,
    engine: Engine,
    containers: BTreeMap<String, Container>,
    /// service -> container name, on either engine.
    names: BTreeMap<String, String>,
}

impl Stack {
    /// A project nothing has been started in yet (for `compose run`), on podman.
    pub fn new(deployment: &str, env: &[(&str, &str)]) -> Stack {
        Stack::on(Engine::Podman, deployment, env)
    }

    /// A project on `engine`; for Docker, the rewritten compose file.
    pub fn on(engine: Engine, deployment: &str, env: &[(&str, &str)]) -> Stack {
        let dir = format!("{ROOT}/images/{deployment}");
        Stack::of_file(engine, deployment, &format!("{dir}/compose.yaml"), env)
    }

    /// A project of the compose file `file`, its directory the project's
    /// (relative paths, build contexts), named after `tag`.
    fn of_file(engine: Engine, tag: &str, file: &str, env: &[(&str, &str)]) -> Stack {
        let project = unique_name(tag).replace('-', "_");
        let dir = std::path::Path::new(file).parent().unwrap().display().to_string();
        let file = match &engine {
            Engine::Podman => file.to_string(),
            Engine::Docker { file: rewritten, .. } => {
                let text = std::fs::read_to_string(file).unwrap();
                std::fs::write(rewritten.join("compose.yaml"), crate::docker::shared_netns(&text)).unwrap();
                rewritten.s("compose.yaml")
            }
        };
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Stack { project, dir, file, env, engine, containers: BTreeMap::new(), names: BTreeMap::new() }
    }

    /// `compose up -d`, the images built beforehand by the caller.
    pub fn up(deployment: &str, env: &[(&str, &str)]) -> Stack {
        let mut stack = Stack::new(deployment, env);
        let all = stack.services();
        stack.up_services(&[], &all.iter().map(String::as_str).collect::<Vec<_>>());
        stack
    }

    /// `compose up -d ARGS` of the compose file `file` (in any directory),
    /// on podman, in a project named after `tag`: every service gets a
    /// container.
    pub fn up_file(file: &str, tag: &str, env: &[(&str, &str)], args: &[&str]) -> Stack {
        Stack::up_file_on(Engine::Podman, file, tag, env, args)
    }

    /// `up_file` on `engine`.
    pub fn up_file_on(engine: Engine, file: &str, tag: &str, env: &[(&str, &str)], args: &[&str]) -> Stack {
        let mut stack = Stack::of_file(engine, tag, file, env);
        let all = stack.services();
        stack.up_services(args, &all.iter().map(String::as_str).collect::<Vec<_>>());
        stack
    }

    /// `compose up -d SERVICES...` (all of them when empty): exactly the
    /// services of `expected` get a container, no other.
    pub fn up_services(&mut self, services: &[&str], expected: &[&str]) {
        let up = self.compose(&[&["up", "-d"], services].concat());
        let said = format!("{}{}", stdout_of(&up), stderr_of(&up));
        assert!(up.status.success(), "compose up {services:?}: {said}");
        self.find_containers();
        // podman-compose exits 0 when a container could not be created.
        let made: Vec<&str> = self.names.keys().map(String::as_str).filter(|s| *s != "net").collect();
        let mut expected = expected.to_vec();
        expected.sort_unstable();
        assert_eq!(made, expected, "compose up {services:?} made containers for: {said}");
    }

    /// Sets `${key}` for the compose calls that follow.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
    }

    /// The compose file's services.
    pub fn services(&self) -> Vec<String> {
        let out = self.compose(&["config", "--services"]);
        assert!(out.status.success(), "compose config: {}", stderr_of(&out));
        stdout_of(&out).lines().map(String::from).filter(|s| s != "net").collect()
    }

    pub fn compose(&self, args: &[&str]) -> Output {
        self.compose_with(&[], args)
    }

    /// `compose ARGS` with `more` added to the compose file's `${VAR}`s.
    pub fn compose_with(&self, more: &[(&str, &str)], args: &[&str]) -> Output {
        let mut env = self.env.clone();
        env.extend(more.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        match &self.engine {
            Engine::Podman => compose(&self.project, &self.file, &env, args),
            Engine::Docker { host, .. } => {
                let dir = &self.dir;
                Command::new("docker-compose")
                    .args(["--no-ansi", "-p", &self.project, "-f", &self.file, "--project-directory", dir])
                    .args(args)
                    .env("DOCKER_HOST", host)
                    .envs(env.iter().map(|(k, v)| (k, v)))
                    .output()
                    .unwrap_or_else(|e| panic!("docker-compose {args:?}: {e}"))
            }
        }
    }

    fn find_containers(&mut self) {
        self.names.clear();
        let listed = match &self.engine {
            Engine::Podman => {
                let label = format!("label=io.podman.compose.project={}", self.project);
                let format = "{{.Names}} {{index .Labels \"com.docker.compose.service\"}}";
                podman_ok(&["ps", "-a", "--filter", &label, "--format", format])
            }
            Engine::Docker { host, .. } => {
                let label = format!("label=com.docker.compose.project={}", self.project);
                let format = "{{.Names}} {{.Label \"com.docker.compose.service\"}}";
                stdout_of(&Dockerd::cli(host, &["ps", "-a", "--filter", &label, "--format", format]))
            }
        };
        for line in listed.lines() {
            if let Some((name, service)) = line.trim().split_once(' ') {
                // Never replace a handle: dropping one removes its container
                // (compose gives a service's container the same name again).
                if matches!(self.engine, Engine::Podman) && !self.containers.contains_key(service) {
                    self.containers.insert(service.to_string(), Container(name.to_string()));
                }
                self.names.insert(service.to_string(), name.to_string());
            }
        }
    }

    /// The name of the container of compose service `service` (either engine).
    pub fn name(&self, service: &str) -> &str {
        self.names
            .get(service)
            .unwrap_or_else(|| panic!("no container for {service}: {:?}", self.names.keys()))
    }

    /// `compose exec -T SERVICE sh -c 'printf INPUT | COMMAND'`: COMMAND
    /// (`init shell`) reads INPUT on its stdin, whether or not the compose
    /// tool passes its own stdin on.
    pub fn exec_input(&self, service: &str, command: &str, input: &str) -> Output {
        let script = format!("printf '%s\\n' '{}' | {command}", input.replace('\'', "'\\''"));
        self.compose(&["exec", "-T", service, "sh", "-c", &script])
    }

    /// The container of compose service `service`.
    pub fn get(&self, service: &str) -> &Container {
        self.containers
            .get(service)
            .unwrap_or_else(|| panic!("no container for {service}: {:?}", self.containers.keys()))
    }

    /// The named volume compose made for `volume`.
    pub fn volume(&self, volume: &str) -> String {
        format!("{}_{volume}", self.project)
    }

    /// `compose run --rm -T SERVICE ARGS`: a one-off container, as operators
    /// run tasks (without a terminal, as in a script).
    pub fn run(&self, service: &str, args: &[&str]) -> Output {
        let mut all = vec!["run", "--rm", "-T", service];
        all.extend_from_slice(args);
        self.compose(&all)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Engine::Podman = &self.engine {
            // podman-compose's `down -v` removes the project's named volumes
            // but not its containers' anonymous ones (an image's VOLUME):
            // the containers go first, with theirs.
            let label = format!("label=io.podman.compose.project={}", self.project);
            let left = stdout_of(&podman(&["ps", "-aq", "--filter", &label]));
            for id in left.split_whitespace() {
                let _ = podman(&["rm", "-f", "-v", "-t", "0", id]);
            }
        }
        let _ = self.compose(&["down", "-v", "-t", "0"]);
        if let Engine::Docker { host, .. } = &self.engine {
            // docker-compose 1.x leaves `compose run` containers behind
            // without --rm; remove whatever still carries the project's label.
            let label = format!("label=com.docker.compose.project={}", self.project);
            let left = stdout_of(&Dockerd::cli(host, &["ps", "-aq", "--filter", &label]));
            for id in left.split_whitespace() {
                let _ = Dockerd::cli(host, &["rm", "-f", "-v", id]);
            }
        }
    }
}

/// One `podman kube play` of images/DEPLOYMENT/kube.yaml, its names made
/// unique for the run by replacing each of `names` (pods, claims) with
/// NAME-PID, and each `(from, to)` of `paths` (host paths) replaced.
pub struct Pod {
    dir: TempDir,
    volumes: Vec<String>,
    suffix: String,
    containers: BTreeMap<String, Container>,
}

impl Pod {
    pub fn play(deployment: &str, names: &[&str], paths: &[(&str, &str)]) -> Pod {
        let dir = TempDir::new("kube");
        let suffix = format!("-{}", std::process::id());
        let mut manifest = std::fs::read_to_string(format!("{ROOT}/images/{deployment}/kube.yaml")).unwrap();
        for name in names {
            for end in ["\n", "}", ","] {
                let (from, to) = (format!("{name}{end}"), format!("{name}{suffix}{end}"));
                manifest = manifest.replace(&format!("name: {from}"), &format!("name: {to}"));
                manifest = manifest.replace(&format!("claimName: {from}"), &format!("claimName: {to}"));
            }
        }
        for (from, to) in paths {
            assert!(manifest.contains(from), "{deployment}/kube.yaml has no {from}");
            manifest = manifest.replace(from, to);
        }
        std::fs::write(dir.join("kube.yaml"), manifest).unwrap();
        let volumes = names.iter().map(|n| format!("{n}{suffix}")).collect();
        let mut pod = Pod { dir, volumes, suffix: suffix.clone(), containers: BTreeMap::new() };
        let played = podman(&["kube", "play", &pod.dir.s("kube.yaml")]);
        assert!(played.status.success(), "kube play: {}{}", stdout_of(&played), stderr_of(&played));
        let listed = podman_ok(&["ps", "-a", "--format", "{{.Names}}"]);
        for name in listed.lines() {
            for p in names {
                let (prefix, name) = (format!("{p}{suffix}-"), name.to_string());
                if let Some(container) = name.strip_prefix(&prefix).filter(|c| !c.ends_with("infra")) {
                    pod.containers.insert(format!("{p}/{container}"), Container(name.clone()));
                }
            }
        }
        pod
    }

    /// Container `container` of pod `pod` (podman names it POD-CONTAINER).
    pub fn get(&self, pod: &str, container: &str) -> &Container {
        let key = format!("{pod}/{container}");
        self.containers
            .get(&key)
            .unwrap_or_else(|| panic!("no container {key}: {:?}", self.containers.keys()))
    }

    /// The named volumes `c` mounts: a claim of the manifest is CLAIM-PID.
    pub fn volumes_of(&self, c: &Container) -> Vec<String> {
        let names = podman_ok(&["inspect", "-f", "{{range .Mounts}}{{.Name}} {{end}}", &c.0]);
        names.split_whitespace().map(String::from).collect()
    }

    /// What claim `name` of the manifest became for this run.
    pub fn claim(&self, name: &str) -> String {
        format!("{name}{}", self.suffix)
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        let _ = podman(&["kube", "down", &self.dir.s("kube.yaml")]);
        for v in &self.volumes {
            let _ = podman(&["volume", "rm", "-f", v]);
        }
    }
}

/// `curl -sS --max-time 20` from the host, inside `inside`'s network
/// namespace when given (a pod's localhost); the caller adds the rest
/// (a later `--max-time` wins).
fn curl_command(inside: Option<&Container>) -> Command {
    let mut cmd = match inside {
        Some(c) => {
            let pid = podman_ok(&["inspect", "-f", "{{.State.Pid}}", &c.0]);
            let mut cmd = Command::new("nsenter");
            cmd.arg(format!("--net=/proc/{pid}/ns/net")).arg("curl");
            cmd
        }
        None => Command::new("curl"),
    };
    cmd.args(["-sS", "--max-time", "20"]);
    cmd
}

/// curl from the host inside `c`'s network namespace; the caller adds URLs
/// and options.
pub fn curl_in(c: &Container, args: &[&str]) -> Output {
    curl_command(Some(c)).args(args).output().expect("nsenter runs")
}

/// curl from the host; the caller adds URLs and options.
pub fn curl(args: &[&str]) -> Output {
    curl_command(None).args(args).output().expect("curl runs")
}

/// The probes of images/DEPLOYMENT/kube.yaml, as (kind, command) pairs.
pub fn probes(deployment: &str) -> Vec<(String, String)> {
    let manifest = std::fs::read_to_string(format!("{ROOT}/images/{deployment}/kube.yaml")).unwrap();
    let lines: Vec<&str> = manifest.lines().collect();
    let probe = |(i, l): (usize, &&str)| {
        let kind = l.trim().strip_suffix(':').filter(|k| k.ends_with("Probe"))?;
        let command = lines.get(i + 1)?.split("command: [").nth(1)?.split(']').next()?;
        Some((kind.to_string(), command.replace('"', "")))
    };
    lines.iter().enumerate().filter_map(probe).collect()
}

/// Liveness asks `init health`, readiness and startup `init ready`; the main
/// service `main` stopped by an operator makes `c` not ready (its readiness
/// probe fails) and still live, and `init start` makes it ready again.
pub fn not_ready_and_back(deployment: &str, c: &Container, main: &str) {
    let init = "/usr/local/bin/init";
    let all = probes(deployment);
    assert!(!all.is_empty(), "{deployment}/kube.yaml has probes");
    for (kind, command) in &all {
        let want = if kind == "livenessProbe" { "health" } else { "ready" };
        assert_eq!(command, &format!("{init}, {want}"), "{deployment}: {kind}");
    }
    let code = |what: &str| c.exec(&[init, what]).status.code();
    assert_eq!(code("ready"), Some(0), "{}", stderr_of(&c.exec(&[init, "ready"])));
    assert_eq!(stdout_of(&c.exec(&[init, "stop", main])), format!("{main} stopped\n"));
    let out = c.exec(&[init, "ready"]);
    assert_eq!(
        (out.status.code(), stderr_of(&out)),
        (Some(1), format!("init: not ready: {main} (stopped)\n"))
    );
    assert_eq!(code("health"), Some(0), "live all the same");
    assert_eq!(stdout_of(&c.exec(&[init, "start", main])), format!("{main} ready\n"));
    assert_eq!(code("ready"), Some(0), "ready again");
}
