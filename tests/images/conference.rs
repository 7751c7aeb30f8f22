//! images/conference: the Indico-style stack brought up by its compose file
//! and by its Kubernetes manifest, and used as its operators use it: pages
//! through nginx that reach the app, redis and the database, an event the
//! Celery worker stores and archives as the runtime user, the tasks, an
//! edited config that survives a restart, backup and restore, a database
//! killed and started again, and a prompt stop of every container. The
//! seed's operator commands as it writes them: `up -d` of a subset (the
//! worker and the web server: the database and redis come with them),
//! `psql -U postgres` in the database container, `INDICO_USER` (here
//! APP_USER) re-owning the volumes, scheduled backups, `run --no-deps
//! make-config`; and `init shell`. The same under Debian's docker-compose and
//! a Docker Engine.

use std::process::Output;

use crate::common::podman::{Container, podman_ok};
use crate::common::{TempDir, stderr_of, stdout_of, wait_until};
use crate::deploy::{Pod, Stack, certificate, fetch, free_port, https, try_fetch};
use crate::docker::Dockerd;
use crate::{INIT, STARTUP, image, stop_promptly, wait_ready};

/// Every service of compose.yaml, and the seed's subset with what it needs.
const ALL: [&str; 6] = ["backup", "db", "nginx", "redis", "web", "worker"];
const SUBSET: [&str; 4] = ["db", "nginx", "redis", "web"];

/// The images the deployment uses, built before it comes up.
fn images() {
    for path in ["postgres", "redis", "nginx", "conference/app", "conference/backup"] {
        image(path);
    }
}

/// A certificate for localhost and the database password's secret file.
fn fixtures() -> TempDir {
    let dir = TempDir::new("conference");
    certificate(&dir, "localhost");
    std::fs::create_dir(dir.join("secrets")).unwrap();
    std::fs::write(dir.join("secrets/db_password"), "conference s3cret\n").unwrap();
    dir
}

fn ok(out: &Output, what: &str) -> String {
    assert!(out.status.success(), "{what}: {}{}", stdout_of(out), stderr_of(out));
    stdout_of(out)
}

fn owner(c: &Container, path: &str) -> String {
    ok(&c.exec(&["stat", "-c", "%u:%g", path]), path).trim().to_string()
}

/// `init wait --timeout 1s file:/shared/db.ready` in `c`: its exit code.
fn db_semaphore(c: &Container) -> Option<i32> {
    c.exec(&[INIT, "wait", "-q", "--timeout", "1s", "file:/shared/db.ready"]).status.code()
}

#[test]
fn the_conference_stack_serves_stores_backs_up_survives_a_db_kill_and_stops_promptly() {
    images();
    let dir = fixtures();
    let port = free_port();
    let env = [
        ("CERTS_DIR", dir.s("certs")),
        ("SECRETS_DIR", dir.s("secrets")),
        ("HTTPS_PORT", port.to_string()),
        ("BACKUP_INTERVAL", "2".to_string()),
    ];
    let mut stack = Stack::new("conference", &env.each_ref().map(|(k, v)| (*k, v.as_str())));
    // The seed's `docker-compose up -d indico-worker indico-httpd`.
    stack.up_services(&["web", "nginx"], &SUBSET);
    wait_ready(stack.get("web"), "web");
    wait_ready(stack.get("nginx"), "nginx");
    // The rest.
    stack.up_services(&[], &ALL);
    let (web, nginx) = (stack.get("web"), stack.get("nginx"));
    wait_ready(web, "web");
    wait_ready(nginx, "nginx");
    let get =
        |path: &str| fetch(None, &dir, "localhost", port, &[&format!("https://localhost:{port}{path}")]);

    // Through nginx to gunicorn, redis and PostgreSQL, as APP_USER's default.
    let page = get("/");
    assert!(page.contains(r#""events":0"#) && page.contains(r#""uid":987"#), "{page}");
    assert!(page.contains(r#""title":"Conference""#), "{page}");
    // The Celery worker (the same image, given a command) stores the event
    // and archives it on the shared volume as the runtime user.
    let url = format!("https://localhost:{port}/events");
    let made = fetch(None, &dir, "localhost", port, &["-d", "title=Keynote", &url]);
    assert!(made.contains(r#""id":1"#) && made.contains(r#""worker_uid":987"#), "{made}");
    assert_eq!(owner(web, "/opt/indico/archive/event-1.txt"), "987:987");
    assert_eq!(owner(web, "/opt/indico/etc/indico.conf"), "987:987");
    assert!(get("/").contains(r#""events":1"#));

    tasks_and_config(&stack, (&dir, port), &get);
    operator_commands(&stack);
    scheduled_backups(&stack);
    backup_and_restore(&stack, &get);
    db_killed_goes_stale_and_comes_back(&stack, &get);
    let try_get =
        |path: &str| try_fetch(None, &dir, "localhost", port, &[&format!("https://localhost:{port}{path}")]);
    app_user_reowns_the_volumes(&mut stack, &try_get);

    // Every container stops on `podman stop` well within its grace period
    // with 0: nginx on SIGQUIT, the rest on SIGTERM (celery's warm shutdown,
    // the backup loop's trap, redis and PostgreSQL saving their data).
    for service in ["nginx", "worker", "web", "backup", "redis", "db"] {
        stop_promptly(stack.get(service), 0);
    }
}

/// `compose run --rm web init run TASK`, and an operator's edit of the
/// editable config, written once (overwrite = false), kept over a restart.
fn tasks_and_config(stack: &Stack, (dir, port): (&TempDir, u16), get: &dyn Fn(&str) -> String) {
    let prepared = ok(&stack.run("web", &["init", "run", "db-prepare"]), "db-prepare");
    assert!(prepared.contains("db-prepare: schema ready"), "{prepared}");
    let config = ok(&stack.run("web", &["init", "run", "make-config"]), "make-config");
    assert!(config.contains("make-config: /opt/indico/etc/indico.conf\n"), "{config}");
    assert!(config.contains("site_title = Conference\n"), "{config}");

    let web = stack.get("web");
    let edit =
        ["sed", "-i", "s/^site_title = .*/site_title = Edited on the volume/", "/opt/indico/etc/indico.conf"];
    ok(&web.exec(&edit), "the edit");
    podman_ok(&["restart", "-t", "10", &web.0]);
    wait_ready(web, "web");
    // The restarted container has a new address, which nginx looks up again.
    let url = format!("https://localhost:{port}/");
    wait_until("nginx reaches the restarted web container", STARTUP, || {
        let out = https(None, dir, "localhost", port, &["--fail", "--max-time", "5", &url]).output().unwrap();
        out.status.success()
    });
    let page = get("/");
    assert!(page.contains(r#""title":"Edited on the volume""#), "{page}\n{}", web.logs());
}

/// The seed's `docker exec -ti <db container> psql -U postgres` (root in
/// the container, no password): the extensions the seed creates by hand are
/// there (POSTGRES_EXTENSIONS); and `init shell` in web.
fn operator_commands(stack: &Stack) {
    let sql = "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension";
    let said = ok(
        &stack.compose(&["exec", "-T", "db", "psql", "-U", "postgres", "-d", "indico", "-Atc", sql]),
        "psql",
    );
    assert_eq!(said.trim(), "pg_trgm,plpgsql,unaccent");
    let shell = ok(&stack.exec_input("web", "init shell", "id -un; pwd"), "init shell");
    assert_eq!(shell, "indico\n/opt/indico\n");
}

/// BACKUP_INTERVAL=2: the backup container dumps the database every 2 s.
fn scheduled_backups(stack: &Stack) {
    let count = || {
        let out =
            stack.compose(&["exec", "-T", "backup", "sh", "-c", "ls /backup/*.dump 2>/dev/null | wc -l"]);
        stdout_of(&out).trim().parse::<u32>().unwrap_or(0)
    };
    wait_until("two scheduled dumps in /backup", STARTUP, || count() >= 2);
}

/// The seed's INDICO_USER: `down`, then `up -d` with APP_USER=1001:1001 on
/// the same volumes: the app runs as 1001 and the volumes are re-owned.
fn app_user_reowns_the_volumes(stack: &mut Stack, try_get: &dyn Fn(&str) -> Option<String>) {
    ok(&stack.compose(&["down", "-t", "10"]), "down");
    stack.set_env("APP_USER", "1001:1001");
    stack.up_services(&[], &ALL);
    wait_ready(stack.get("web"), "web");
    wait_ready(stack.get("nginx"), "nginx");
    let web = stack.get("web");
    for path in ["/opt/indico/archive", "/opt/indico/archive/event-1.txt", "/opt/indico/etc/indico.conf"] {
        assert_eq!(owner(web, path), "1001:1001", "{path}");
    }
    // After `up`, nginx may answer before the app behind it does (or time
    // out on a loaded machine): ask again until the deadline.
    wait_until("the app runs as 1001", STARTUP, || try_get("/").is_some_and(|p| p.contains(r#""uid":1001"#)));
}

/// `podman exec backup init run backup`, then `init run restore FILE` undoes
/// an event added after the dump.
fn backup_and_restore(stack: &Stack, get: &dyn Fn(&str) -> String) {
    let backup = stack.get("backup");
    let said = ok(&backup.exec(&[INIT, "run", "backup"]), "backup");
    let file = said.lines().find_map(|l| l.strip_prefix("backup: ")).unwrap_or_else(|| panic!("{said}"));
    let file = file.trim().to_string();
    assert!(file.starts_with("/backup/indico-") && file.ends_with(".dump"), "{said}");
    assert_eq!(owner(backup, &file), "999:999", "the dump is postgres's");

    let url = get("/");
    assert!(url.contains(r#""events":1"#), "{url}");
    ok(
        &stack.get("worker").exec(&[INIT, "run", "--", "python3", "-c", ADD_EVENT]),
        "an event after the dump",
    );
    assert!(get("/").contains(r#""events":2"#));
    let restored = ok(&backup.exec(&[INIT, "run", "restore", &file]), "restore");
    assert!(restored.contains(&format!("restore: {file} into indico")), "{restored}");
    assert!(get("/").contains(r#""events":1"#), "the dump's state is back");
}

/// An event added directly by the worker's code, as the runtime user.
const ADD_EVENT: &str = "from conference import tasks; tasks.add_event('after the dump')";

/// The database killed with SIGKILL leaves its semaphore behind, and the app's
/// `init wait` counts it stale once its heartbeats stop; started again, it is
/// ready, the semaphore fresh, and the data still there.
fn db_killed_goes_stale_and_comes_back(stack: &Stack, get: &dyn Fn(&str) -> String) {
    let (db, web) = (stack.get("db"), stack.get("web"));
    assert_eq!(db_semaphore(web), Some(0));
    podman_ok(&["kill", "-s", "KILL", &db.0]);
    wait_until("the killed database's semaphore goes stale", STARTUP, || db_semaphore(web) == Some(75));
    podman_ok(&["start", &db.0]);
    wait_ready(db, "postgres");
    wait_until("the semaphore is fresh again", STARTUP, || db_semaphore(web) == Some(0));
    assert!(get("/").contains(r#""events":1"#));
}

#[test]
fn the_conference_pod_comes_up_from_its_kubernetes_manifest() {
    images();
    let dir = fixtures();
    let names = ["conference", "conference-db", "conference-archive", "conference-backups"];
    let certs = dir.s("certs");
    let pod = Pod::play("conference", &names, &[("/var/tmp/mooring-conference-certs", &certs)]);
    let (web, nginx) = (pod.get("conference", "web"), pod.get("conference", "nginx"));
    wait_ready(web, "web");
    wait_ready(nginx, "nginx");
    let page = fetch(Some(nginx), &dir, "localhost", 443, &["https://localhost/"]);
    assert!(page.contains(r#""events":0"#) && page.contains(r#""uid":987"#), "{page}");
    let made = fetch(Some(nginx), &dir, "localhost", 443, &["-d", "title=Pod", "https://localhost/events"]);
    assert!(made.contains(r#""worker_uid":987"#), "{made}");
    let said = ok(&pod.get("conference", "backup").exec(&[INIT, "run", "backup"]), "backup");
    assert!(said.starts_with("backup: /backup/indico-"), "{said}");
}

/// The seed's first step, before any database exists: `docker-compose run
/// --no-deps --rm indico-worker make-config` prints the editable config and
/// ends, without waiting for the database or redis (the task by its bare
/// name, `waits = false`).
#[test]
fn make_config_runs_alone_in_a_fresh_project_without_waiting_for_its_dependencies() {
    images();
    let dir = fixtures();
    let env = [("CERTS_DIR", dir.s("certs")), ("SECRETS_DIR", dir.s("secrets"))];
    let stack = Stack::new("conference", &env.each_ref().map(|(k, v)| (*k, v.as_str())));
    let t0 = std::time::Instant::now();
    let out = stack.compose(&["run", "--no-deps", "--rm", "-T", "web", "make-config"]);
    let said = ok(&out, "run --no-deps make-config");
    assert!(said.contains("make-config: /opt/indico/etc/indico.conf\n"), "{said}");
    assert!(said.contains("site_title = Conference\n"), "{said}");
    assert!(t0.elapsed() < std::time::Duration::from_secs(60), "took {:?}", t0.elapsed());
}

/// The seed's commands under Debian's docker-compose and a Docker Engine:
/// `up -d web nginx` starts the database and redis with them; APP_USER
/// (the seed's INDICO_USER) owns the volumes and runs the app; `psql -U
/// postgres`; `init shell`; `up -d backup` with BACKUP_INTERVAL dumps on
/// schedule; `stop` is prompt, with 0.
#[test]
fn the_conference_on_docker_compose_starts_a_subset_with_its_dependencies_and_takes_the_seeds_commands() {
    images();
    let Some(d) = Dockerd::start() else { return };
    let tags = ["base", "postgres", "redis", "nginx", "conference/app", "conference/backup"].map(image);
    d.load(&tags.each_ref().map(String::as_str));
    let dir = fixtures();
    let env = [
        ("CERTS_DIR", dir.s("certs")),
        ("SECRETS_DIR", dir.s("secrets")),
        ("APP_USER", "1001:1001".to_string()),
        ("BACKUP_INTERVAL", "2".to_string()),
    ];
    let mut stack = Stack::on(d.engine(), "conference", &env.each_ref().map(|(k, v)| (*k, v.as_str())));
    stack.up_services(&["web", "nginx"], &SUBSET);
    Dockerd::wait_ready(&stack, "web");
    Dockerd::wait_ready(&stack, "nginx");
    let page = stdout_of(&d.curl(stack.name("web"), &["--fail", "http://127.0.0.1:8000/"]));
    assert!(page.contains(r#""events":0"#) && page.contains(r#""uid":1001"#), "{page}");
    let stat =
        ok(&stack.compose(&["exec", "-T", "web", "stat", "-c", "%u:%g", "/opt/indico/archive"]), "stat");
    assert_eq!(stat.trim(), "1001:1001");
    operator_commands(&stack);

    stack.up_services(&["backup"], &["backup", "db", "nginx", "redis", "web"]);
    scheduled_backups(&stack);
    for service in ["nginx", "web", "backup", "redis", "db"] {
        let t0 = std::time::Instant::now();
        ok(&stack.compose(&["stop", "-t", "10", service]), "compose stop");
        assert!(t0.elapsed() < crate::PROMPT, "{service}: stop took {:?}", t0.elapsed());
        assert_eq!(d.inspect(stack.name(service), "{{.State.ExitCode}}"), "0", "{service}");
    }
}
