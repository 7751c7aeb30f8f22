//! images/portal: the TrueNTH-style Flask portal brought up by its compose
//! file (one env file for every container) and by its Kubernetes manifest
//! (a ConfigMap): the page reaches PostgreSQL and redis, celerybeat's beats
//! come through the worker, the admin account is bootstrapped with
//! `compose exec web init run add-user`, a redis killed for good stops the
//! app containers (their watch) until it is back, and every container stops
//! promptly. The seed's own operator commands as it writes them: `up web`
//! (its dependencies come with it), `exec db psql --username postgres
//! --dbname portaldb`, `exec redis redis-cli flushdb`; and `init shell`. The
//! same under Debian's docker-compose and a Docker Engine.

use std::process::Output;

use crate::common::podman::{Container, podman_ok};
use crate::common::{stderr_of, stdout_of, wait_until};
use crate::deploy::{Pod, Stack, curl, curl_in, free_port, not_ready_and_back};
use crate::docker::Dockerd;
use crate::{INIT, STARTUP, image, stop_promptly, wait_ready};

fn images() {
    for path in ["postgres", "redis", "portal/app"] {
        image(path);
    }
}

/// GET `url` (curl inside `inside`'s network namespace when given): the
/// body, or None when the request failed.
fn get(inside: Option<&Container>, url: &str) -> Option<String> {
    let args = ["--fail", "--max-time", "5", url];
    let out = inside.map_or_else(|| curl(&args), |c| curl_in(c, &args));
    out.status.success().then(|| stdout_of(&out))
}

/// Waits until the page answers and `holds` is true of it; returns it.
fn page_when(inside: Option<&Container>, url: &str, what: &str, holds: impl Fn(&str) -> bool) -> String {
    let mut page = String::new();
    wait_until(what, STARTUP, || {
        page = get(inside, url).unwrap_or_default();
        holds(&page)
    });
    page
}

/// celerybeat → redis → the worker → redis: the page's beat count grows.
fn beats(page: &str) -> u64 {
    let after = page.split(r#""beats":"#).nth(1).unwrap_or_default();
    after.split(|c: char| !c.is_ascii_digit()).next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

fn ok(out: &Output, what: &str) -> String {
    assert!(out.status.success(), "{what}: {}{}", stdout_of(out), stderr_of(out));
    stdout_of(out)
}

#[test]
fn the_portal_stack_bootstraps_its_admin_rides_out_a_redis_outage_and_stops_promptly() {
    images();
    let port = free_port();
    // The seed's `docker compose up --detach web`: the whole portal comes up.
    let mut stack = Stack::new("portal", &[("PORTAL_PORT", &port.to_string())]);
    stack.up_services(&["web"], &ALL);
    let web = stack.get("web");
    wait_ready(web, "web");
    let url = format!("http://127.0.0.1:{port}/");
    let page = page_when(None, &url, "celerybeat's beats through the worker", |p| beats(p) >= 2);
    assert!(page.contains(r#""admins":[]"#) && page.contains(r#""uid":1000"#), "{page}");
    assert!(page.contains(r#""portal":"Portal""#), "the env file's title: {page}");

    // The bootstrap account, with `compose exec`, as the portal's operators do.
    let added = ok(
        &stack.compose(&["exec", "-T", "web", "init", "run", "add-user", "admin@example.org"]),
        "add-user",
    );
    assert!(added.contains("add-user: admin@example.org is admin (id 1)"), "{added}");
    assert!(get(None, &url).unwrap().contains(r#""admins":["admin@example.org"]"#));
    // celerybeat's schedule (one file or several, as Python's dbm makes it).
    let find = ["find", "/var/lib/portal", "-name", "beat-schedule*", "-printf", "%U:%G\\n"];
    let owners = ok(&web.exec(&find), "find");
    assert_eq!(owners.lines().collect::<std::collections::BTreeSet<_>>(), ["1000:1000"].into(), "{owners}");

    // `podman stop` of the app containers is prompt, with 0: gunicorn and
    // both Celery processes shut down warm. Then they are started again.
    let apps = ["web", "celeryworker", "celerybeat"];
    for service in apps {
        stop_promptly(stack.get(service), 0);
    }
    // Dependencies first: podman 4.3's `start` of web while celeryworker is
    // stopped fails ("depends on container ... not found in input list").
    for service in ["celeryworker", "celerybeat", "web"] {
        podman_ok(&["start", &stack.get(service).0]);
    }
    wait_ready(web, "web");
    let page =
        page_when(None, &url, "the portal serves after the restart", |p| p.contains("admin@example.org"));
    let before = beats(&page);
    page_when(None, &url, "beats come through after the restart", |p| beats(p) > before);

    redis_outage(&stack, &url);
    operator_commands(&stack);

    for service in ["web", "redis", "db"] {
        stop_promptly(stack.get(service), 0);
    }
}

/// Every service of compose.yaml: `up web` starts them all (depends_on).
const ALL: [&str; 5] = ["celerybeat", "celeryworker", "db", "redis", "web"];

/// The seed's PostgreSQL Access and Redis Purge, typed as it writes them
/// (root in the container, no password given), and `init shell` in web: the
/// runtime user in its home.
fn operator_commands(stack: &Stack) {
    let psql = ["exec", "-T", "db", "psql", "--username", "postgres", "--dbname", "portaldb"];
    let sql = "SELECT current_user || '@' || current_database() || ':' || count(*) FROM users";
    let said = ok(&stack.compose(&[&psql[..], &["-At", "-c", sql]].concat()), "psql");
    // podman may print its own state refresh ("Refreshing container …")
    // before psql's line when its store was reset under a loaded run.
    assert!(said.lines().any(|l| l.starts_with("postgres@portaldb:")), "{said}");
    let flushed = ok(&stack.compose(&["exec", "-T", "redis", "redis-cli", "flushdb"]), "redis-cli flushdb");
    assert_eq!(flushed.trim(), "OK");
    let shell = ok(&stack.exec_input("web", "init shell", "id -un; pwd"), "init shell");
    assert_eq!(shell, "portal\n/var/lib/portal\n");
}

/// Redis killed for good: its semaphore goes stale and the watching app
/// containers stop with 75. podman-compose turns `depends_on` into podman's
/// `--requires`, and podman restarts no container whose required container
/// is down: they stay down until redis and then they are started again
/// (under Docker their restart policy brings them back at once, to wait
/// for redis: the_portal_on_docker_compose_...).
fn redis_outage(stack: &Stack, url: &str) {
    let (web, redis, beat) = (stack.get("web"), stack.get("redis"), stack.get("celerybeat"));
    let since =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs().to_string();
    podman_ok(&["kill", "-s", "KILL", &redis.0]);
    // The code each app died with, from podman's events: its restart policy
    // then tries a start that `--requires` refuses, and podman 4.3 resets
    // the container's recorded exit code to 0 on that attempt.
    let died = |c: &Container| {
        let filters = ["--filter", &format!("container={}", c.0), "--filter", "event=died"];
        let args = [
            &["events", "--stream=false", "--since", &since][..],
            &filters,
            &["--format", "{{.ContainerExitCode}}"],
        ];
        podman_ok(&args.concat()).lines().last().map(str::to_string)
    };
    let mut codes = (None, None);
    wait_until("the app containers died for the stale redis", STARTUP, || {
        codes = (died(web), died(beat));
        codes.0.is_some() && codes.1.is_some()
    });
    assert_eq!(codes, (Some("75".into()), Some("75".into())), "{}\n{}", web.logs(), beat.logs());
    for c in [web, beat] {
        assert!(c.logs().contains("stale semaphore"), "{}", c.logs());
    }
    for service in ["redis", "celeryworker", "celerybeat", "web"] {
        podman_ok(&["start", &stack.get(service).0]);
    }
    wait_ready(web, "web");
    let page = page_when(None, url, "the portal serves again", |p| p.contains("admin@example.org"));
    let before = beats(&page);
    page_when(None, url, "beats come through again", |p| beats(p) > before);
}

#[test]
fn the_portal_pod_comes_up_from_its_kubernetes_manifest() {
    images();
    let pod = Pod::play("portal", &["portal", "portal-settings", "portal-db"], &[]);
    let web = pod.get("portal", "web");
    wait_ready(web, "web");
    let url = "http://127.0.0.1:8000/";
    let page = page_when(Some(web), url, "celerybeat's beats through the worker", |p| beats(p) >= 1);
    assert!(page.contains(r#""portal":"Portal on Kubernetes""#), "the ConfigMap's title: {page}");
    let added = ok(&web.exec(&[INIT, "run", "add-user", "admin@example.org"]), "add-user");
    assert!(added.contains("add-user: admin@example.org is admin (id 1)"), "{added}");
    assert!(get(Some(web), url).unwrap().contains(r#""admins":["admin@example.org"]"#));
    not_ready_and_back("portal", web, "web");
}

/// The seed's commands under Debian's docker-compose and a Docker Engine:
/// `up -d web` brings the whole portal, which serves celerybeat's beats;
/// psql, redis-cli and `init shell` as above; `stop` is prompt, with 0.
#[test]
fn the_portal_on_docker_compose_comes_up_with_web_and_takes_the_seeds_commands() {
    images();
    let Some(d) = Dockerd::start() else { return };
    d.load(&[
        &crate::image("base"),
        &crate::image("postgres"),
        &crate::image("redis"),
        &crate::image("portal/app"),
    ]);
    let mut stack = Stack::on(d.engine(), "portal", &[]);
    stack.up_services(&["web"], &ALL);
    Dockerd::wait_ready(&stack, "web");
    wait_until("celerybeat's beats through the worker", STARTUP, || {
        let out = d.curl(stack.name("web"), &["--fail", "--max-time", "5", "http://127.0.0.1:8000/"]);
        beats(&stdout_of(&out)) >= 1
    });
    operator_commands(&stack);

    // A redis gone for good: web stops with 75 (its watch) and its restart
    // policy brings it back at once, to wait for redis; redis started again,
    // the portal is ready again.
    let (web, redis) = (stack.name("web"), stack.name("redis"));
    d.docker_ok(&["kill", redis]);
    wait_until("web restarted after the stale redis", STARTUP, || {
        d.inspect(web, "{{.RestartCount}}").parse::<u32>().unwrap_or(0) >= 1
    });
    let logs = d.docker(&["logs", web]);
    let logs = format!("{}{}", stdout_of(&logs), stderr_of(&logs));
    assert!(logs.contains("init: INFO exiting code=75"), "{logs}");
    d.docker_ok(&["start", redis]);
    Dockerd::wait_ready(&stack, "web");

    for service in ["web", "celeryworker", "celerybeat", "redis", "db"] {
        let t0 = std::time::Instant::now();
        ok(&stack.compose(&["stop", "-t", "10", service]), "compose stop");
        assert!(t0.elapsed() < crate::PROMPT, "{service}: stop took {:?}", t0.elapsed());
        assert_eq!(d.inspect(stack.name(service), "{{.State.ExitCode}}"), "0", "{service}");
    }
}
