//! docs/tutorial.md as a reader follows it: the files of its blocks written
//! into an empty directory (each one the same, byte for byte, as its copy
//! in images/tutorial/), then its commands — the password file, `compose up
//! --build`, a job through the API, `init run migrate` both ways, `init
//! shell`, `init ready` and `init health`, and the stop — and its
//! Kubernetes manifest through `podman kube play`, probes included. The
//! same compose file runs under Debian's docker-compose 1.29 against a
//! Docker Engine of the test's own (docker.rs), as the page's Docker notes
//! say.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::common::podman::{Container, ROOT, podman_ok};
use crate::common::{TempDir, stderr_of, stdout_of, wait_until};
use crate::deploy::{Pod, Stack, curl, curl_in, free_port, not_ready_and_back};
use crate::docker::Dockerd;
use crate::{INIT, PROMPT, STARTUP, STOP_TIMEOUT, image, status_row, stop_promptly, wait_ready};

const PAGE: &str = "docs/tutorial.md";

/// The commands of the page this file runs (compose's with its own project,
/// port and no terminal): each must still be on the page as written.
const COMMANDS: &[&str] = &[
    "head -c 24 /dev/urandom | base64 > db_password",
    "podman-compose up -d --build",
    "podman-compose exec app init status",
    "curl -X POST --data 'hello, mooring' http://localhost:8080/jobs",
    "curl http://localhost:8080/jobs/1",
    "podman-compose exec app init run migrate",
    "podman-compose run --rm app init run migrate",
    "podman-compose exec app init shell",
    "podman-compose exec app init ready",
    "podman-compose exec app init health",
    "podman-compose stop",
    "podman kube play kube.yaml",
    "podman exec tutorial-app init ready",
    "podman exec tutorial-app init run migrate",
];

/// What the page tells a Docker user, as this file runs it.
const DOCKER_COMMANDS: &[&str] = &[
    "skopeo copy oci-archive:mooring-0.1.0.oci.tar docker-daemon:localhost/mooring:0.1.0",
    "docker-compose up -d --build",
    "docker-compose exec app init run migrate",
    "docker-compose run --rm app init run migrate",
    "docker-compose exec app init ready",
    "docker-compose stop",
];

fn page() -> String {
    std::fs::read_to_string(Path::new(ROOT).join(PAGE)).unwrap()
}

/// The page's files: a line "`PATH`:", a blank line, then a fenced block
/// holding the file.
fn files_of_page() -> Vec<(String, String)> {
    let page = page();
    let lines: Vec<&str> = page.lines().collect();
    let mut files = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(path) = line.strip_prefix('`').and_then(|l| l.strip_suffix("`:")) else { continue };
        assert!(lines[i + 2].starts_with("```"), "{PAGE}: `{path}`: is not followed by a block");
        let end = lines[i + 3..].iter().position(|l| *l == "```").expect("the block ends") + i + 3;
        let body: String = lines[i + 3..end].iter().map(|l| format!("{l}\n")).collect();
        files.push((path.to_string(), body));
    }
    files
}

/// Every file under `dir`, relative to it.
fn files_under(dir: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut queue = vec![dir.to_path_buf()];
    while let Some(d) = queue.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                queue.push(entry.path());
            } else {
                found.insert(entry.path().strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found
}

#[test]
fn the_tutorial_page_holds_every_file_of_images_tutorial_as_it_is_and_its_commands() {
    let dir = Path::new(ROOT).join("images/tutorial");
    let files = files_of_page();
    let on_page: BTreeSet<String> = files.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(on_page, files_under(&dir), "{PAGE} shows exactly the files of images/tutorial");
    for (path, body) in &files {
        let file = std::fs::read_to_string(dir.join(path)).unwrap();
        assert!(*body == file, "{PAGE}'s block of {path} is not images/tutorial/{path}");
    }
    let page = page();
    for command in COMMANDS.iter().chain(DOCKER_COMMANDS) {
        assert!(page.contains(command), "{PAGE} no longer says `{command}`");
    }
    // The mooring image the Containerfile copies init from is this version's.
    let version = env!("CARGO_PKG_VERSION");
    let containerfile = std::fs::read_to_string(dir.join("Containerfile")).unwrap();
    let from = format!("COPY --from=localhost/mooring:{version} /init /usr/local/bin/init");
    assert!(containerfile.contains(&from), "images/tutorial/Containerfile: mooring is {version} now");
}

/// An empty directory holding the page's files and, as its first command
/// says, a generated password.
fn directory_from_page() -> TempDir {
    let dir = TempDir::new("tutorial");
    for (path, body) in files_of_page() {
        let file = dir.join(&path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, body).unwrap();
    }
    let out = Command::new("sh").arg("-c").arg(COMMANDS[0]).current_dir(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    dir
}

/// The body of GET or POST `url` (curl inside `inside` when given), once
/// it succeeds.
fn request(inside: Option<&Container>, args: &[&str]) -> String {
    let mut body = String::new();
    wait_until(&format!("curl {args:?}"), STARTUP, || {
        let all = [&["--fail", "--max-time", "5"], args].concat();
        let out = inside.map_or_else(|| curl(&all), |c| curl_in(c, &all));
        body = stdout_of(&out);
        out.status.success()
    });
    body
}

/// A job posted to the API is done by the worker: its result is read back
/// through the API from the data volume.
fn a_job_goes_through(inside: Option<&Container>, port: u16) {
    let jobs = format!("http://127.0.0.1:{port}/jobs");
    let posted = request(inside, &["-X", "POST", "--data", "hello, mooring", &jobs]);
    assert_eq!(posted, "{\"id\": 1}\n");
    let url = format!("{jobs}/1");
    let done = "\"done\": true, \"result\": \"HELLO, MOORING\"";
    wait_until("the worker did job 1", STARTUP, || request(inside, &[&url]).contains(done));
}

fn ok(c: &Container, args: &[&str]) -> String {
    let out = c.exec(args);
    assert!(out.status.success(), "{args:?}: {}{}", stdout_of(&out), stderr_of(&out));
    stdout_of(&out)
}

#[test]
fn the_tutorial_app_runs_with_compose_as_the_page_says() {
    image("postgres");
    let dir = directory_from_page();
    let port = free_port().to_string();
    let stack = Stack::up_file(&dir.s("compose.yaml"), "tutorial", &[("APP_PORT", &port)], &["--build"]);
    let app = stack.get("app");
    wait_ready(app, "api");
    wait_ready(app, "worker");
    let status = ok(app, &[INIT, "status"]);
    assert!(status.lines().any(|l| l.starts_with("migrate") && l.contains("exited")), "{status}");
    assert!(app.logs().contains("migrate: table jobs ready"), "{}", app.logs());
    assert_eq!(ok(app, &[INIT, "ready"]), "");
    assert_eq!(ok(app, &[INIT, "health"]), "");
    // The compose file's healthcheck is `init ready`.
    podman_ok(&["healthcheck", "run", &app.0]);

    a_job_goes_through(None, port.parse().unwrap());
    let owners = ok(app, &["stat", "-c", "%U:%G %a %n", "/var/lib/app", "/var/lib/app/results/1.txt"]);
    assert!(owners.lines().all(|l| l.starts_with("app:app ")), "{owners}");
    let conf = ok(app, &["stat", "-c", "%U %a", "/etc/app/app.conf"]);
    assert_eq!(conf, "app 600\n", "the rendered settings hold the password");
    let api = status_row(app, "api")[2].clone();
    let env = podman_ok(&["exec", "--user", "app", &app.0, "cat", &format!("/proc/{api}/environ")]);
    let env: Vec<&str> = env.split('\0').collect();
    assert!(env.iter().any(|v| v.starts_with("DB_PASSWORD=")), "the secret, as a variable: {env:?}");
    assert!(!env.iter().any(|v| v.starts_with("DB_PASSWORD_FILE=")), "_FILE dropped: {env:?}");

    // `init run migrate`, beside the running services and in a one-off container.
    let again = stack.compose(&["exec", "-T", "app", "init", "run", "migrate"]);
    assert_eq!((again.status.code(), stdout_of(&again)), (Some(0), "migrate: table jobs ready\n".into()));
    let one_off = stack.run("app", &["init", "run", "migrate"]);
    let said = format!("{}{}", stdout_of(&one_off), stderr_of(&one_off));
    assert!(one_off.status.success() && said.contains("migrate: table jobs ready"), "{said}");

    // `init shell`, here without a terminal: it reads its commands from stdin.
    let shell = ok(app, &["sh", "-c", &format!("echo 'id -un; pwd' | {INIT} shell")]);
    assert_eq!(shell, "app\n/var/lib/app\n");

    stop_promptly(app, 0);
    let stopped = stack.compose(&["stop"]);
    assert!(stopped.status.success(), "{}", stderr_of(&stopped));
    assert_eq!(stack.get("db").exit_code(), 0, "{}", stack.get("db").logs());
}

#[test]
fn the_tutorial_pod_comes_up_from_its_kubernetes_manifest() {
    image("postgres");
    image("tutorial");
    let names = ["tutorial", "tutorial-db-password", "tutorial-db", "tutorial-data"];
    let pod = Pod::play("tutorial", &names, &[]);
    let app = pod.get("tutorial", "app");
    wait_ready(app, "api");
    wait_ready(app, "worker");
    a_job_goes_through(Some(app), 8080);
    assert_eq!(ok(app, &[INIT, "run", "migrate"]), "migrate: table jobs ready\n");
    not_ready_and_back("tutorial", app, "api");
    stop_promptly(app, 0);
}

/// Under Debian's docker-compose 1.29 and a Docker Engine: the release
/// image copied in as the page says, the compose file as it is but for the
/// shared network namespace every Docker test uses (no bridge here, so the
/// API is reached inside it, not on a published port). `up -d` without
/// `--build`: the image is the one podman built from the same Containerfile,
/// loaded, since a Docker build here has no network for its apt-get.
#[test]
fn the_tutorial_app_runs_under_docker_compose_as_the_page_says() {
    let images = [image("base"), image("postgres"), image("tutorial")];
    let Some(d) = Dockerd::start() else { return };
    let mooring = crate::docker_release::copy_release_in(&d);
    assert_eq!(mooring, format!("localhost/mooring:{}", env!("CARGO_PKG_VERSION")));
    d.load(&images.each_ref().map(String::as_str));
    let dir = directory_from_page();
    let stack = Stack::up_file_on(d.engine(), &dir.s("compose.yaml"), "tutorial", &[], &[]);
    let compose_ok = |args: &[&str]| {
        let out = stack.compose(args);
        assert!(out.status.success(), "docker-compose {args:?}: {}{}", stdout_of(&out), stderr_of(&out));
        stdout_of(&out)
    };
    let app = stack.name("app").to_string();
    wait_until("the tutorial app ready", STARTUP, || {
        let running = d.inspect(&app, "{{.State.Running}}") == "true";
        assert!(running, "{app} stopped:\n{}", compose_ok(&["logs", "--no-color", "app"]));
        stack.compose(&["exec", "-T", "app", "init", "ready"]).status.success()
    });
    let status = compose_ok(&["exec", "-T", "app", "init", "status"]);
    assert!(status.lines().any(|l| l.starts_with("migrate") && l.contains("exited")), "{status}");
    for service in ["api", "worker"] {
        assert!(status.lines().any(|l| l.starts_with(service) && l.contains(" ready ")), "{status}");
    }
    assert_eq!(compose_ok(&["exec", "-T", "app", "init", "health"]), "");
    // The compose file's healthcheck (`init ready`, every 10 s), as Docker reports it.
    wait_until("docker reports the app healthy", STARTUP, || {
        d.inspect(&app, "{{.State.Health.Status}}") == "healthy"
    });

    // A job through the API, inside the stack's network namespace.
    let jobs = "http://127.0.0.1:8080/jobs";
    let mut posted = String::new();
    wait_until("the API takes a job", STARTUP, || {
        let out = d.curl(&app, &["--fail", "-X", "POST", "--data", "hello, mooring", jobs]);
        posted = stdout_of(&out);
        out.status.success()
    });
    assert_eq!(posted, "{\"id\": 1}\n");
    let done = "\"done\": true, \"result\": \"HELLO, MOORING\"";
    wait_until("the worker did job 1", STARTUP, || {
        stdout_of(&d.curl(&app, &["--fail", &format!("{jobs}/1")])).contains(done)
    });

    let again = stack.compose(&["exec", "-T", "app", "init", "run", "migrate"]);
    assert_eq!((again.status.code(), stdout_of(&again)), (Some(0), "migrate: table jobs ready\n".into()));
    let shell = stack.exec_input("app", "init shell", "id -un; pwd");
    assert_eq!(stdout_of(&shell), "app\n/var/lib/app\n", "{}", stderr_of(&shell));

    let t0 = Instant::now();
    d.docker_ok(&["stop", "-t", &STOP_TIMEOUT.to_string(), &app]);
    let took = t0.elapsed();
    let logs = d.docker(&["logs", &app]);
    let logs = format!("{}{}", stdout_of(&logs), stderr_of(&logs));
    assert_eq!(d.inspect(&app, "{{.State.ExitCode}}"), "0", "{logs}");
    assert!(took < PROMPT, "docker stop -t {STOP_TIMEOUT} took {took:?}:\n{logs}");
    // The one-off container once the app is stopped: docker-compose 1.x
    // links a one-off to its service's running containers, which Docker
    // refuses in another container's network namespace (shared_netns here;
    // not so on compose's own network).
    let one_off = stack.run("app", &["init", "run", "migrate"]);
    let said = format!("{}{}", stdout_of(&one_off), stderr_of(&one_off));
    assert!(one_off.status.success() && said.contains("migrate: table jobs ready"), "{said}");
    compose_ok(&["stop"]);
    let db = stack.name("db").to_string();
    assert_eq!(d.inspect(&db, "{{.State.ExitCode}}"), "0", "{}", compose_ok(&["logs", "--no-color", "db"]));
}
