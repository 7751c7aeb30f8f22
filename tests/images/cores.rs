//! images/cores: the cores lab portal (PostgreSQL, Django under gunicorn,
//! nginx) brought up as images/cores/README.md says, by compose and by
//! `podman kube play`. Requests go through nginx over TLS, checked against
//! the certificate the web container made; answers come from the database.
//! The seed's `restart: always` brings a killed database back by itself, and
//! its `docker-compose exec [container] bash` opens a shell, as does `init
//! shell`. The same under Debian's docker-compose and a Docker Engine.

use std::fs;
use std::process::Output;
use std::time::Duration;

use crate::common::podman::{podman, podman_ok};
use crate::common::{TempDir, stderr_of, stdout_of, wait_until};
use crate::deploy::{Pod, Stack, curl, curl_in, free_port};
use crate::docker::Dockerd;
use crate::{INIT, STARTUP, image, stop_promptly, wait_ready};

/// The app user's ids the tests ask for (CORES_UID, CORES_GID).
const APP_IDS: &str = "1234:1234";
/// postgres's ids in images/postgres.
const POSTGRES_IDS: &str = "999:999";

fn build() {
    for path in ["postgres", "cores/app", "cores/web"] {
        image(path);
    }
}

/// A compose stack of images/cores, its secrets and the CA to trust.
/// Fields drop in order: the stack goes down before its secret files.
struct Portal {
    stack: Stack,
    port: String,
    dir: TempDir,
}

fn up() -> Portal {
    build();
    let dir = TempDir::new("cores");
    fs::create_dir(dir.join("secrets")).unwrap();
    fs::write(dir.join("secrets/db_password"), "db password of the test\n").unwrap();
    fs::write(dir.join("secrets/django_secret_key"), "django key of the test\n").unwrap();
    let (https, http) = (free_port().to_string(), free_port().to_string());
    let (uid, gid) = APP_IDS.split_once(':').unwrap();
    let secrets = dir.s("secrets");
    let env = [
        ("CORES_SECRETS", secrets.as_str()),
        ("CORES_HTTPS_PORT", &https),
        ("CORES_HTTP_PORT", &http),
        ("CORES_UID", uid),
        ("CORES_GID", gid),
    ];
    let stack = Stack::up("cores", &env);
    for (service, ready) in [("db", "postgres"), ("app", "gunicorn"), ("web", "nginx")] {
        wait_ready(stack.get(service), ready);
    }
    // The self-signed certificate the web container made on its certs volume.
    let cert = podman_ok(&["exec", &stack.get("web").0, "cat", "/etc/nginx/certs/tls.crt"]);
    fs::write(dir.join("ca.crt"), cert + "\n").unwrap();
    Portal { stack, port: https, dir }
}

impl Portal {
    fn request(&self, path: &str, options: &[&str]) -> Output {
        let url = format!("https://127.0.0.1:{}{path}", self.port);
        curl(&[&["--cacert", &self.dir.s("ca.crt")], options, &[&url]].concat())
    }

    fn get(&self, path: &str) -> String {
        let out = self.request(path, &["--fail"]);
        assert!(out.status.success(), "GET {path}: {}\n{}", stderr_of(&out), self.logs());
        stdout_of(&out)
    }

    fn logs(&self) -> String {
        ["db", "app", "web"].map(|s| format!("== {s}\n{}", self.stack.get(s).logs())).join("\n")
    }

    fn stop_all(&self) {
        for service in ["web", "app", "db"] {
            stop_promptly(self.stack.get(service), 0);
        }
    }
}

#[test]
fn cores_portal_answers_through_nginx_from_gunicorn_and_postgres_and_stops_promptly() {
    let p = up();
    assert_eq!(p.get("/"), "cores: 0 samples, 0 admins\n");
    let made = p.request("/samples", &["-d", "name=S-0001", "-w", "%{http_code}"]);
    assert_eq!(stdout_of(&made), "cores: 1 samples, 0 admins\n201", "{}", stderr_of(&made));
    // collectstatic's and mkdocs' output, served by nginx from the shared volumes.
    let css =
        p.request("/static/admin/css/base.css", &["-o", "/dev/null", "-w", "%{http_code} %{content_type}"]);
    assert_eq!(stdout_of(&css), "200 text/css");
    assert!(p.get("/docs/").contains("cores lab portal"));
    assert!(p.get("/docs/samples.html").contains("Registering samples"));

    let owner = |service: &str, paths: &[&str]| {
        let out = p.stack.get(service).exec(&[&["stat", "-c", "%u:%g"], paths].concat());
        stdout_of(&out).lines().map(String::from).collect::<Vec<_>>()
    };
    assert_eq!(owner("app", &["/srv/static", "/srv/site"]), [APP_IDS, APP_IDS]);
    assert_eq!(owner("web", &["/srv/static/admin", "/srv/site/index.html"]), [APP_IDS, APP_IDS]);
    assert_eq!(owner("db", &["/var/lib/postgresql/data"]), [POSTGRES_IDS]);

    add_admins(&p);
    assert_eq!(p.get("/"), "cores: 1 samples, 2 admins\n");
    shells(&p.stack);
    p.stop_all();
}

/// The seed's "SSH access": `docker-compose exec [container] bash` in every
/// container; and `init shell` in the app: its user, in its home.
fn shells(stack: &Stack) {
    for service in ["db", "app", "web"] {
        let out = stack.compose(&["exec", "-T", service, "bash", "-c", "echo bash in $0; id -un"]);
        assert_eq!(stdout_of(&out), "bash in bash\nroot\n", "{service}: {}", stderr_of(&out));
    }
    let shell = stack.exec_input("app", "init shell", "id -un; pwd");
    assert_eq!(stdout_of(&shell), "app\n/home/app\n", "{}", stderr_of(&shell));
}

/// `init run add-admin` beside the running app (podman exec) and in a
/// one-off container (compose run), with the password from the environment.
fn add_admins(p: &Portal) {
    let app = p.stack.get("app");
    let exec = podman(&["exec", "-e", "ADMIN_PASSWORD=first pw", &app.0, INIT, "run", "add-admin", "alice"]);
    assert!(stdout_of(&exec).contains("Superuser created successfully."), "{}", stderr_of(&exec));
    assert_eq!(exec.status.code(), Some(0));

    let missing = app.exec(&[INIT, "run", "add-admin", "carol"]);
    assert_eq!(missing.status.code(), Some(64));
    assert!(stderr_of(&missing).contains("add-admin: set ADMIN_PASSWORD"), "{}", stderr_of(&missing));

    let run = p.stack.compose(&[
        "run",
        "--rm",
        "-e",
        "ADMIN_PASSWORD=second pw",
        "app",
        "init",
        "run",
        "add-admin",
        "bob",
    ]);
    assert!(run.status.success(), "compose run: {}{}", stdout_of(&run), stderr_of(&run));
    assert!(stdout_of(&run).contains("Superuser created successfully."), "{}", stdout_of(&run));
}

/// A crash of the container's PID 1 (SIGKILL from the host, by pid): what a
/// restart policy answers. `podman kill` and `docker kill` count as an
/// operator's stop, which the engines never undo.
fn crash(pid: &str) {
    let pid = nix::unistd::Pid::from_raw(pid.trim().parse().expect("a pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).expect("SIGKILL to the container's init");
}

/// The seed's `restart: always` on the database and the app: a database
/// killed with SIGKILL is started again by the engine, the app's wait sees
/// its semaphore fresh again, and the data survived. (A database that stays
/// down goes stale after three heartbeats: tests/images/conference.rs.)
#[test]
fn cores_database_killed_is_restarted_by_its_policy_and_the_app_sees_it_ready_again() {
    let p = up();
    let (app, db) = (p.stack.get("app"), p.stack.get("db"));
    let probe = || app.exec(&[INIT, "wait", "--timeout", "1s", "file:/shared/db.ready"]);
    assert_eq!(probe().status.code(), Some(0), "{}", stderr_of(&probe()));
    let made = p.request("/samples", &["--fail", "-d", "name=kept"]);
    assert_eq!(stdout_of(&made), "cores: 1 samples, 0 admins\n", "{}", stderr_of(&made));

    crash(&podman_ok(&["inspect", "-f", "{{.State.Pid}}", &db.0]));
    let restarts = || podman_ok(&["inspect", "-f", "{{.RestartCount}}", &db.0]).parse::<u32>().unwrap_or(0);
    wait_until("the engine restarts the killed database", Duration::from_secs(60), || restarts() >= 1);
    wait_ready(db, "postgres");
    wait_until("db.ready again", STARTUP, || probe().status.code() == Some(0));
    assert_eq!(p.get("/"), "cores: 1 samples, 0 admins\n", "the data survived");
    p.stop_all();
}

/// Under Debian's docker-compose and a Docker Engine: `up -d`, the portal
/// through nginx, the killed database restarted by `restart: always`,
/// `exec bash` and `init shell`, a prompt `stop` with 0.
#[test]
fn cores_on_docker_compose_serves_restarts_a_killed_database_and_opens_shells() {
    build();
    let Some(d) = Dockerd::start() else { return };
    let tags = ["base", "postgres", "cores/app", "cores/web"].map(image);
    d.load(&tags.each_ref().map(String::as_str));
    let dir = TempDir::new("cores-docker");
    fs::create_dir(dir.join("secrets")).unwrap();
    fs::write(dir.join("secrets/db_password"), "db password of the test\n").unwrap();
    fs::write(dir.join("secrets/django_secret_key"), "django key of the test\n").unwrap();
    let mut stack = Stack::on(d.engine(), "cores", &[("CORES_SECRETS", &dir.s("secrets"))]);
    stack.up_services(&[], &["app", "db", "web"]);
    for service in ["app", "web"] {
        Dockerd::wait_ready(&stack, service);
    }
    let get = |args: &[&str]| stdout_of(&d.curl(stack.name("web"), &[&["-k", "--fail"], args].concat()));
    assert_eq!(get(&["-d", "name=docker", "https://127.0.0.1/samples"]), "cores: 1 samples, 0 admins\n");

    let db = stack.name("db");
    crash(&d.inspect(db, "{{.State.Pid}}"));
    wait_until("docker restarts the killed database", Duration::from_secs(60), || {
        d.inspect(db, "{{.RestartCount}}").parse::<u32>().unwrap_or(0) >= 1
    });
    Dockerd::wait_ready(&stack, "db");
    wait_until("the app answers from the database again", STARTUP, || {
        get(&["https://127.0.0.1/"]) == "cores: 1 samples, 0 admins\n"
    });
    shells(&stack);
    for service in ["web", "app", "db"] {
        let t0 = std::time::Instant::now();
        let out = stack.compose(&["stop", "-t", "10", service]);
        assert!(out.status.success(), "compose stop: {}", stderr_of(&out));
        assert!(t0.elapsed() < crate::PROMPT, "{service}: stop took {:?}", t0.elapsed());
        assert_eq!(d.inspect(stack.name(service), "{{.State.ExitCode}}"), "0", "{service}");
    }
}

/// kube.yaml as is: one pod, the three containers on its localhost.
#[test]
fn cores_pod_from_kube_yaml_serves_the_portal() {
    build();
    let pod = Pod::play("cores", &["cores", "cores-pgdata"], &[]);
    let web = pod.get("cores", "web");
    wait_ready(web, "nginx");
    let db = pod.get("cores", "db");
    assert!(pod.volumes_of(db).contains(&pod.claim("cores-pgdata")), "{:?}", pod.volumes_of(db));
    let get = |args: &[&str]| {
        let out = curl_in(web, &[&["-k", "--fail"], args].concat());
        assert!(out.status.success(), "curl {args:?}: {}\n{}", stderr_of(&out), web.logs());
        stdout_of(&out)
    };
    assert_eq!(get(&["https://127.0.0.1/"]), "cores: 0 samples, 0 admins\n");
    assert_eq!(get(&["-d", "name=pod", "https://127.0.0.1/samples"]), "cores: 1 samples, 0 admins\n");
    assert!(get(&["https://127.0.0.1/docs/"]).contains("cores lab portal"));
}

/// The seed's `docker run -it [image name] bash` when the app is dead: no
/// secret, no database, and the shell runs at once (here without a
/// terminal); the same image's services still refuse to start without
/// DB_PASSWORD, in one line, before anything runs.
#[test]
fn cores_bash_in_a_fresh_container_needs_no_variables_while_the_services_refuse_without_db_password() {
    build();
    let app = image("cores/app");
    let limit = STARTUP.as_secs().to_string();
    let t0 = std::time::Instant::now();
    let bash = podman(&["run", "--rm", "--timeout", &limit, &app, "bash", "-c", "id -un; pwd"]);
    assert_eq!(stdout_of(&bash), "app\n/\n", "{}", stderr_of(&bash));
    assert!(bash.status.success(), "{}", stderr_of(&bash));
    assert!(t0.elapsed() < Duration::from_secs(30), "bash took {:?}: {}", t0.elapsed(), stderr_of(&bash));

    let boot = podman(&["run", "--rm", "--timeout", &limit, "-e", "DJANGO_SECRET_KEY=k", &app]);
    assert_eq!(boot.status.code(), Some(78), "{}", stderr_of(&boot));
    let stderr = stderr_of(&boot);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].ends_with("DB_PASSWORD is not set: set DB_PASSWORD or DB_PASSWORD_FILE"), "{stderr}");
    assert!(!stderr.contains("started service="), "{stderr}");
}
