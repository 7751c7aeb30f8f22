//! `make demo` (config/demo/demo.sh), the README's first command, tells
//! the story it prints: each step's claim is checked on its own output.
//! It had shown the services' table before they were up for several
//! changes, since nothing ran it.

mod common;

use std::process::Command;

use common::{INIT, stderr_of, stdout_of};

#[test]
fn the_demo_runs_as_the_readme_says_and_each_step_shows_what_it_claims() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = Command::new("timeout")
        .args(["120", concat!(env!("CARGO_MANIFEST_DIR"), "/config/demo/demo.sh")])
        .env("DEMO_INIT", INIT)
        .env("WEB_PORT", port.to_string())
        .output()
        .expect("the demo runs");
    let (said, log) = (stdout_of(&out), stderr_of(&out));
    assert!(out.status.success(), "the demo failed: {:?}\n{said}\n{log}", out.status.code());
    let has = |text: &str| assert!(said.contains(text), "no {text:?} in the demo's output:\n{said}\n{log}");
    // 0: the rendered file and the error for a missing variable.
    has("listen = 9000");
    has("NOT_SET");
    // 1-4: no zombie left, the stop budget's SIGKILL ends a stubborn workload.
    has("zombies left under it: 0");
    has("exit code 137 (128+9)");
    // 5: the table is shown once everything is up, then the stop order.
    let table: Vec<&str> = said.lines().skip_while(|l| !l.contains("SERVICE  STATE")).take(5).collect();
    let row =
        |name: &str| table.iter().find(|l| l.trim_start().starts_with(&format!("{name} "))).map_or("", |l| l);
    assert!(row("migrate").contains("exited"), "{}", row("migrate"));
    for name in ["db", "web", "worker"] {
        assert!(row(name).contains("ready"), "{name} is not ready when the table is shown: {said}");
    }
    let order: Vec<usize> = ["worker", "web", "db"]
        .iter()
        .map(|name| log.find(&format!("stop signal sent service={name} ")).unwrap_or(usize::MAX))
        .collect();
    assert!(order[0] < order[1] && order[1] < order[2], "stop order worker, web, db: {order:?}\n{log}");
    has("init exited with code 143");
    has("semaphore left: none");
}
