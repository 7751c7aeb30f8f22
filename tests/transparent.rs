//! Single-command mode is transparent (docs/reference.md, "Signals and processes"):
//! init, as PID 1 of a new PID namespace signalled from outside as a
//! container engine does, passes every signal to the command unchanged and
//! only SIGTERM also starts the stop budget.

mod common;

use std::time::{Duration, Instant};

use common::{Builder, DEADLINE, Init, Mode, wait_until};
use nix::sys::signal::Signal;

const SIGRECORD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/helpers/sigrecord.py");

/// `init OPTS -- python3 sigrecord.py` with the recorder's settings in `env`
/// (EXIT_ON, EXIT_CODE, HEARTBEAT); returns once it has blocked its signals.
fn recorder(tag: &str, mode: Mode, opts: &[&str], env: &[(&str, &str)]) -> Init {
    let mut builder = Builder::new(tag, mode).args(opts).args(["--", "python3", SIGRECORD]);
    builder = builder.args(["{dir}/signals", "{dir}/ready"]);
    for (k, v) in env {
        builder = builder.env(k, v);
    }
    let init = builder.start();
    init.wait_for_file("ready");
    init
}

/// The names of the signals the recorder got, in order.
fn signals_logged(init: &Init) -> Vec<String> {
    init.read("signals").lines().map(|l| l.split(' ').next().unwrap_or("").to_string()).collect()
}

/// Who sent each signal the recorder got, as its pid namespace names them.
fn senders(init: &Init) -> Vec<String> {
    init.read("signals").lines().map(|l| l.split(' ').nth(1).unwrap_or("").to_string()).collect()
}

/// Sends `sig` to init and waits until the recorder has logged it: standard
/// signals pending together would merge into one, so each is sent alone.
fn send_and_see(init: &Init, sig: Signal) {
    let before = signals_logged(init).len();
    init.signal(sig);
    wait_until(&format!("{sig} to reach the command"), DEADLINE, || signals_logged(init).len() > before);
}

/// Waits until `at` has passed and then for the recorder's heartbeat (the
/// file `beat`, rewritten every 100 ms) to move on: the command is alive
/// after `at`, not SIGKILLed at the end of a budget.
fn alive_after(init: &Init, at: Instant) {
    let mut seen: Option<String> = None;
    wait_until("a heartbeat of the command after the budget", DEADLINE, || {
        if Instant::now() < at {
            return false;
        }
        let beat = init.read("beat");
        match &seen {
            None => {
                seen = Some(beat);
                false
            }
            Some(old) => !beat.is_empty() && *old != beat,
        }
    });
}

#[test]
fn sigquit_and_sigint_reach_the_command_and_start_no_stop_budget() {
    let env = [("EXIT_CODE", "42"), ("HEARTBEAT", "beat")];
    let mut init = recorder("quitint", Mode::Pid1, &["--stop-timeout", "1s"], &env);
    send_and_see(&init, Signal::SIGQUIT);
    let sent = Instant::now();
    send_and_see(&init, Signal::SIGINT);
    // Twice the budget: a budget started by either would have SIGKILLed it.
    alive_after(&init, sent + Duration::from_secs(2));
    send_and_see(&init, Signal::SIGTERM);
    assert_eq!(init.wait(), 42, "the command's own code: {}", init.stderr());
    assert_eq!(signals_logged(&init), ["SIGQUIT", "SIGINT", "SIGTERM"]);
    // Each forwarded by init, PID 1 of the namespace.
    assert_eq!(senders(&init), ["1", "1", "1"]);
}

#[test]
fn postgres_escalation_term_then_int_then_quit_reaches_the_command_in_order() {
    let env = [("EXIT_ON", "SIGQUIT"), ("EXIT_CODE", "3")];
    let mut init = recorder("escalate", Mode::Pid1, &["--stop-timeout", "1m"], &env);
    for sig in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGQUIT] {
        send_and_see(&init, sig);
    }
    assert_eq!(init.wait(), 3, "the command ended itself on SIGQUIT: {}", init.stderr());
    assert_eq!(signals_logged(&init), ["SIGTERM", "SIGINT", "SIGQUIT"]);
}

#[test]
fn fault_signals_sent_with_kill_reach_the_command_and_init_survives() {
    let faults = [
        Signal::SIGABRT,
        Signal::SIGSEGV,
        Signal::SIGBUS,
        Signal::SIGILL,
        Signal::SIGFPE,
        Signal::SIGTRAP,
        Signal::SIGSYS,
    ];
    for mode in [Mode::Pid1, Mode::Direct] {
        let env = [("EXIT_ON", "SIGSYS"), ("EXIT_CODE", "9")];
        let mut init = recorder("faults", mode, &[], &env);
        for sig in faults {
            send_and_see(&init, sig);
        }
        assert_eq!(init.wait(), 9, "{mode:?}: init reports the command's code: {}", init.stderr());
        let want: Vec<&str> = faults.iter().map(|s| s.as_str()).collect();
        assert_eq!(signals_logged(&init), want, "{mode:?}");
    }
}

#[test]
fn repeated_sighup_reaches_the_command_every_time() {
    let mut init = recorder("hup3", Mode::Pid1, &[], &[]);
    for _ in 0..3 {
        send_and_see(&init, Signal::SIGHUP);
    }
    send_and_see(&init, Signal::SIGTERM);
    assert_eq!(init.wait(), 0, "{}", init.stderr());
    assert_eq!(signals_logged(&init), ["SIGHUP", "SIGHUP", "SIGHUP", "SIGTERM"]);
}

#[test]
fn a_second_sigterm_is_forwarded_and_the_first_ones_budget_still_ends_in_sigkill() {
    let budget = Duration::from_secs(3);
    let mut init = recorder("term2", Mode::Pid1, &["--stop-timeout", "3s"], &[("EXIT_ON", "none")]);
    let first = Instant::now();
    send_and_see(&init, Signal::SIGTERM);
    send_and_see(&init, Signal::SIGTERM);
    assert_eq!(init.wait(), 137, "{}", init.stderr());
    assert!(first.elapsed() >= budget, "SIGKILL came before the budget ran out");
    assert_eq!(signals_logged(&init), ["SIGTERM", "SIGTERM"]);
}

#[test]
fn sigint_and_sigquit_end_a_command_that_does_not_handle_them_with_128_plus_n() {
    for (sig, want) in [(Signal::SIGINT, 130), (Signal::SIGQUIT, 131)] {
        let mut init = Init::pid1("intquit", ["--", "sh", "-c", "touch $DIR/ready; exec sleep 100"]);
        init.wait_for_file("ready");
        init.signal(sig);
        assert_eq!(init.wait(), want, "{sig}");
    }
}
