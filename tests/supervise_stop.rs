//! Service mode as PID 1: stop signals and their rewrites, broadcast
//! signals, the second SIGTERM and the stop budget, prefixed output under
//! flood, watched dependencies, checks that hang during a stop.

mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::services::services;
use common::{Builder, DEADLINE, Mode, now_ns, times_ns, wait_until};
use nix::sys::signal::Signal;

#[test]
fn stop_signals_rewrites_and_broadcast_signals_reach_the_right_services() {
    let trap = |name: &str| {
        format!(
            "for s in TERM QUIT USR1 HUP; do trap \"echo $s >> {{dir}}/{name}.got; date +%s%N >> {{dir}}/{name}.at; [ $s = HUP ] || exit 0\" $s; done; touch {{dir}}/{name}.up; while :; do sleep 0.05; done"
        )
    };
    let mut init = services(
        "stopsig",
        &format!(
            r#"
[[service]]
name = "nginx"
shell = '{}'
signals = {{ SIGTERM = "SIGQUIT" }}

[[service]]
name = "worker"
shell = '{}'
stop_signal = "SIGUSR1"
signals = {{ SIGHUP = "none" }}
stop_delay = "100ms"
"#,
            trap("nginx"),
            trap("worker")
        ),
    );
    init.wait_for_file("nginx.up");
    init.wait_for_file("worker.up");
    init.signal(Signal::SIGHUP);
    // Init passes a signal to every service as it takes it: by the time
    // nginx has its SIGHUP, worker would have had its own, had it not been
    // dropped (its record below would begin with HUP).
    init.wait_for_file("nginx.got");
    let stop = now_ns();
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 0, "nginx (main) exits 0 on its SIGQUIT: {}", init.stderr());
    assert_eq!(init.read("nginx.got"), "HUP\nQUIT\n");
    assert_eq!(init.read("worker.got"), "USR1\n");
    // Its stop_delay: worker (stopped first, the reverse of the order) got
    // its stop signal no sooner than 100 ms after the SIGTERM.
    let usr1 = times_ns(&init.dir.join("worker.at"));
    assert!(usr1.first().is_some_and(|&t| t >= stop + 100_000_000), "SIGTERM at {stop}, USR1 at {usr1:?}");
}

#[test]
fn a_second_sigterm_skips_to_sigkill_and_the_budget_ends_a_stubborn_service() {
    // It notes its SIGTERM and carries on.
    let stubborn = r#"
[[service]]
name = "stubborn"
shell = "trap 'echo TERM >> {dir}/got' TERM; touch {dir}/up; while :; do sleep 0.05; done"
"#;
    let mut init = Builder::new("second", Mode::Pid1)
        .file("init.toml", stubborn)
        .args(["-c", "{dir}/init.toml", "--stop-timeout", "60s"])
        .start();
    init.wait_for_file("up");
    init.signal(Signal::SIGTERM);
    init.wait_for_file("got");
    let second = Instant::now();
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 137, "{}", init.stderr());
    assert!(second.elapsed() < Duration::from_secs(20), "SIGKILL at once, not after the 60 s budget");

    let mut init = Builder::new("budget", Mode::Pid1)
        .file("init.toml", stubborn)
        .args(["-c", "{dir}/init.toml", "--stop-timeout", "300ms"])
        .start();
    init.wait_for_file("up");
    let sent = Instant::now();
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 137, "{}", init.stderr());
    assert!(sent.elapsed() >= Duration::from_millis(300), "SIGKILL before the budget ran out");
}

#[test]
fn prefixed_output_survives_a_flood_without_newlines_and_signals_still_stop_init() {
    let mut init = services(
        "flood",
        r#"
[[service]]
name = "chatty"
output = "prefix"
shell = "echo hello; echo oops >&2; head -c 100000000 /dev/zero | tr '\\0' x"
"#,
    );
    wait_until("flood under way", DEADLINE, || {
        fs::metadata(init.dir.join("stdout")).is_ok_and(|m| m.len() > 1_000_000)
    });
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143, "{}", init.stderr());
    let out = fs::read(init.dir.join("stdout")).unwrap();
    assert!(out.len() < 100_000_000, "init stopped before the flood ended");
    let text = String::from_utf8_lossy(&out);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("chatty | hello"));
    assert!(
        lines.all(|l| l.starts_with("chatty | ") && l.len() <= 4096 + 9),
        "lines are prefixed and cut at 4 KiB"
    );
    assert!(init.stderr().contains("chatty | oops\n"), "{}", init.stderr());
}

#[test]
fn a_watched_dependency_going_away_stops_the_container_with_75() {
    // Service mode, and a command given on the command line instead of the services.
    for command in [&[][..], &["--", "sh", "-c", "touch $DIR/up; exec sleep 60"][..]] {
        let mut init = Builder::new("watch", Mode::Pid1)
            .file("dep", "")
            .file(
                "init.toml",
                r#"
[[wait]]
file = "{dir}/dep"
watch = true

[[service]]
name = "app"
shell = "touch {dir}/up; exec sleep 60"
"#,
            )
            .args(["-c", "{dir}/init.toml"])
            .args(command)
            .start();
        init.wait_for_file("up");
        fs::remove_file(init.dir.join("dep")).unwrap();
        assert_eq!(init.wait(), 75, "{}", init.stderr());
        let log = init.stderr();
        let gone =
            log.lines().find(|l| l.contains("watched dependency gone: stopping with 75")).unwrap_or_default();
        assert!(gone.contains(&format!("file:{}/dep (file absent)", init.dir.path().display())), "{log}");
    }
}

#[test]
fn a_check_that_hangs_never_holds_up_a_stop() {
    // A check that never answers — in the boot wait phase, and as a watch
    // after boot (it answers once, at boot, then hangs), with a single
    // command and with services: SIGTERM still ends init at once, because
    // checks run in children.
    let boot = r#"command = ["sh", "-c", "touch {dir}/checking; exec sleep 120"]"#;
    let later = r#"command = ["sh", "-c", "[ -f {dir}/booted ] || exec touch {dir}/booted; touch {dir}/checking; exec sleep 120"]"#;
    let service = "[[service]]\nname = \"app\"\nshell = \"exec sleep 120\"\n";
    let cases = [
        (format!("[[wait]]\n{boot}\ntimeout = \"0\"\n"), vec!["--", "true"]),
        (format!("[[wait]]\n{later}\nwatch = true\n"), vec!["--", "sleep", "120"]),
        (format!("[[wait]]\n{later}\nwatch = true\n\n{service}"), vec![]),
    ];
    for (toml, command) in cases {
        let mut init = Builder::new("hung", Mode::Pid1)
            .file("init.toml", &toml)
            .args(["-c", "{dir}/init.toml"])
            .args(command)
            .start();
        init.wait_for_file("checking");
        init.signal(Signal::SIGTERM);
        assert_eq!(init.wait(), 143, "{toml}\n{}", init.stderr());
    }
}
