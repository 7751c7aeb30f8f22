//! images/nginx: the wait for its app, TLS with a certificate from a volume,
//! the proxy to the app, and SIGQUIT's graceful stop. The app is busybox
//! httpd in a container whose network namespace nginx joins; requests come
//! from the host's curl inside that namespace.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};

use crate::common::configmap::{configmap, swap};
use crate::common::podman::{BASE, Container, ROOT, podman_ok};
use crate::common::{TempDir, stderr_of, stdout_of, wait_until};
use crate::deploy::{certificate, curl_in, https};
use crate::{STARTUP, image, stop_promptly, wait_ready};

/// A certificate for web.test, its key, and the app's files: a page, a CGI
/// that echoes the headers nginx adds, and one that answers slowly.
fn fixtures() -> TempDir {
    let dir = TempDir::new("nginx");
    certificate(&dir, "web.test");
    fs::create_dir_all(dir.join("www/cgi-bin")).unwrap();
    fs::write(dir.join("www/index.html"), "hello from the app\n").unwrap();
    let cgi = [
        ("headers", "echo \"proto=$HTTP_X_FORWARDED_PROTO host=$HTTP_HOST\""),
        // A request still in flight when the stop comes.
        ("slow", "touch /tmp/slow.started; sleep 1; echo finished"),
    ];
    for (name, body) in cgi {
        let path = dir.join("www/cgi-bin").join(name);
        fs::write(&path, format!("#!/bin/sh\necho 'Content-Type: text/plain'\necho\n{body}\n")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// curl from the host inside `c`'s network namespace.
fn curl(c: &Container, dir: &TempDir, args: &[&str]) -> Command {
    https(Some(c), dir, "web.test", 443, args)
}

fn get(c: &Container, dir: &TempDir, args: &[&str]) -> String {
    let out: Output = curl(c, dir, args).output().expect("nsenter runs");
    assert!(out.status.success(), "curl {args:?}: {}\n{}", stderr_of(&out), c.logs());
    stdout_of(&out)
}

fn start_nginx(tag: &str, dir: &TempDir, options: &[&str]) -> Container {
    let certs = format!("{}:/etc/nginx/certs:ro", dir.s("certs"));
    let mut all = vec!["-v", &certs, "-e", "SERVER_NAME=web.test", "-e", "APP_ADDR=127.0.0.1:8000"];
    all.extend_from_slice(options);
    Container::start(tag, &all, &image("nginx"), &[])
}

#[test]
fn nginx_waits_for_its_app_then_proxies_to_it_over_tls_and_finishes_requests_on_stop() {
    let dir = fixtures();
    let www = format!("{}:/www:ro", dir.s("www"));
    let app = Container::start("app", &["-v", &www], BASE, &["tail", "-f", "/dev/null"]);
    let net = format!("container:{}", app.0);
    let nginx = start_nginx("nginx", &dir, &["--network", &net]);
    nginx.wait_for_log("init: INFO waiting for tcp:127.0.0.1:8000");
    assert!(!nginx.logs().contains("started service=nginx"), "{}", nginx.logs());

    podman_ok(&["exec", &app.0, "httpd", "-p", "127.0.0.1:8000", "-h", "/www"]);
    wait_ready(&nginx, "nginx");
    assert_eq!(get(&nginx, &dir, &["https://web.test/"]), "hello from the app\n");
    assert_eq!(get(&nginx, &dir, &["https://web.test/cgi-bin/headers"]), "proto=https host=web.test\n");
    let redirect = ["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "-H", "Host: web.test"];
    assert_eq!(
        get(&nginx, &dir, &[&redirect[..], &["http://127.0.0.1/a?b"]].concat()),
        "301 https://web.test/a?b"
    );

    // SIGQUIT (stop_signal): nginx stops accepting, finishes the request in
    // flight, and exits 0, the container's code.
    let in_flight = curl(&nginx, &dir, &["https://web.test/cgi-bin/slow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nsenter runs");
    wait_until("the slow request reached the app", STARTUP, || {
        app.exec(&["test", "-e", "/tmp/slow.started"]).status.success()
    });
    stop_promptly(&nginx, 0);
    let slow = in_flight.wait_with_output().unwrap();
    assert_eq!(stdout_of(&slow), "finished\n", "{}", stderr_of(&slow));
    assert!(nginx.logs().contains("signal=SIGQUIT"), "{}", nginx.logs());
}

/// APP_WAIT empty: the wait is skipped and nginx starts without its app
/// (the upstream is an address, so nothing needs resolving); requests get 502.
#[test]
fn nginx_starts_at_once_when_app_wait_is_empty() {
    let dir = fixtures();
    let nginx = start_nginx("nginx-nowait", &dir, &["-e", "APP_WAIT="]);
    wait_ready(&nginx, "nginx");
    let skipped = "[[wait]] skipped: tcp = \"<<APP_WAIT>>\" renders empty";
    assert!(nginx.logs().contains(skipped), "{}", nginx.logs());
    let code = get(&nginx, &dir, &["-o", "/dev/null", "-w", "%{http_code}", "https://web.test/"]);
    assert_eq!(code, "502");
    stop_promptly(&nginx, 0);
}

/// The image's config/ as a ConfigMap volume at /opt/config, its site with a
/// `/version` page saying `version`.
fn config_files(version: &str) -> [(&'static str, String); 2] {
    let read = |name: &str| fs::read_to_string(format!("{ROOT}/images/nginx/config/{name}")).unwrap();
    let page = format!("    location = /version {{\n        return 200 \"{version}\\n\";\n    }}\n");
    let site = read("site.conf").replacen(
        "    location = /healthz {",
        &format!("{page}    location = /healthz {{"),
        1,
    );
    [("init.toml", read("init.toml")), ("site.conf", site)]
}

fn as_refs<'a>(files: &'a [(&'static str, String); 2]) -> [(&'static str, &'a str); 2] {
    files.each_ref().map(|(k, v)| (*k, v.as_str()))
}

/// Kubernetes updates a mounted ConfigMap by swapping its `..data` link:
/// init renders the new site and nginx gets exactly one SIGHUP, then serves it.
#[test]
fn nginx_gets_one_sighup_and_serves_the_new_site_when_its_configmap_is_swapped() {
    let dir = fixtures();
    let cm = dir.join("cm");
    configmap(&cm, &as_refs(&config_files("v1")));
    let mount = format!("{}:/opt/config:ro", cm.display());
    let nginx = start_nginx("nginx-reload", &dir, &["-v", &mount, "-e", "APP_WAIT="]);
    wait_ready(&nginx, "nginx");
    let version = || stdout_of(&curl_in(&nginx, &["http://127.0.0.1/version"]));
    assert_eq!(version(), "v1\n");

    swap(&cm, "v2", &as_refs(&config_files("v2")));
    wait_until("nginx serves the new site", STARTUP, || version() == "v2\n");
    let logs = nginx.logs();
    let sent = "init: INFO files changed: reload signal sent service=nginx signal=SIGHUP";
    assert_eq!(logs.matches(sent).count(), 1, "{logs}");
    assert!(logs.contains("init: INFO re-rendered dest=/etc/nginx/conf.d/site.conf"), "{logs}");
    stop_promptly(&nginx, 0);
}
