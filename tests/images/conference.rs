//! images/conference: the Indico-style stack brought up by its compose file
//! and by its Kubernetes manifest, and used as its operators use it: pages
//! through nginx that reach the app, redis and the database, an event the
//! Celery worker stores and archives as the runtime user, the tasks, an
//! edited config that survives a restart, backup and restore, a database
//! killed and started again, and a prompt stop of every container.

use std::process::Output;

use crate::common::podman::{Container, podman_ok};
use crate::common::{TempDir, stderr_of, stdout_of, wait_until};
use crate::deploy::{Pod, Stack, certificate, fetch, free_port, https};
use crate::{INIT, STARTUP, image, stop_promptly, wait_ready};

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
    let env =
        [("CERTS_DIR", dir.s("certs")), ("SECRETS_DIR", dir.s("secrets")), ("HTTPS_PORT", port.to_string())];
    let stack = Stack::up("conference", &env.each_ref().map(|(k, v)| (*k, v.as_str())));
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
    backup_and_restore(&stack, &get);
    db_killed_goes_stale_and_comes_back(&stack, &get);

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

/// `podman exec backup init run backup`, then `init run restore FILE` undoes
/// an event added after the dump.
fn backup_and_restore(stack: &Stack, get: &dyn Fn(&str) -> String) {
    let backup = stack.get("backup");
    let said = ok(&backup.exec(&[INIT, "run", "backup"]), "backup");
    let file = said.trim().strip_prefix("backup: ").unwrap_or_else(|| panic!("{said}")).to_string();
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
