//! init as the real PID 1 of a new PID namespace, signalled from outside as a
//! container engine does; the reaping tests also run it as a plain subreaper.

mod common;

use std::fs;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Builder, DEADLINE, Init, Mode, OnTty, TempDir, wait_until, zombies_under};
use nix::sys::signal::Signal;
use nix::unistd::Pid;

const SIGRECORD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/helpers/sigrecord.py");

/// `init -- python3 sigrecord.py` with extra init options; returns once the
/// recorder has blocked its signals.
fn recorder(tag: &str, mode: Mode, opts: &[&str]) -> Init {
    let mut args: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
    args.extend(["--", "python3", SIGRECORD, "{dir}/signals", "{dir}/ready"].map(String::from));
    let init = Builder::new(tag, mode).args(args).start();
    init.wait_for_file("ready");
    init
}

fn signals_logged(init: &Init) -> Vec<String> {
    init.read("signals").lines().map(|l| l.split(' ').next().unwrap_or("").to_string()).collect()
}

/// Who sent each signal the recorder got, as its pid namespace names them.
fn senders(init: &Init) -> Vec<String> {
    init.read("signals").lines().map(|l| l.split(' ').nth(1).unwrap_or("").to_string()).collect()
}

#[test]
fn exit_code_of_the_child_is_init_exit_code_for_every_value() {
    // One namespace runs a loop of inits (each PID 1 of its own nested namespace would
    // cost 256 unshares); the outer init is PID 1 and reports the last code itself.
    let script = "i=0; while [ $i -le 255 ]; do \
        unshare --pid --fork --mount-proc --kill-child \"$INIT\" -q -- sh -c \"exit $i\"; \
        r=$?; [ $r -eq $i ] || { echo \"want $i got $r\"; exit 1; }; i=$((i+1)); done; exit 77";
    let mut init = Builder::new("codes", Mode::Pid1)
        .env("INIT", common::INIT)
        .args(["-q", "--", "sh", "-c", script])
        .start();
    assert_eq!(init.wait(), 77, "stdout: {}", init.stdout());
    assert_eq!(init.stdout(), "");
}

#[test]
fn exit_code_is_128_plus_signal_when_the_child_is_killed() {
    for (sig, want) in [("KILL", 137), ("TERM", 143), ("USR1", 138), ("SEGV", 139)] {
        let mut init = Init::pid1("sigdeath", ["--", "sh", "-c", &format!("kill -{sig} $$")]);
        assert_eq!(init.wait(), want, "SIG{sig}");
    }
}

#[test]
fn missing_program_exits_127_naming_it() {
    let mut init = Init::pid1("enoent", ["--", "no-such-program-xyz", "arg"]);
    assert_eq!(init.wait(), 127);
    assert!(init.stderr().contains("no-such-program-xyz: command not found"), "{}", init.stderr());
}

#[test]
fn non_executable_file_exits_126_naming_it() {
    let dir = TempDir::new("eacces");
    let script = dir.join("script.sh");
    fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    let mut init = Init::pid1("eacces", ["--", script.to_str().unwrap()]);
    assert_eq!(init.wait(), 126);
    let want = format!("{}: permission denied", script.display());
    assert!(init.stderr().contains(&want), "{}", init.stderr());
}

#[test]
fn signals_are_forwarded_each_exactly_once() {
    let mut init = recorder("fwd", Mode::Pid1, &[]);
    let sent = [
        Signal::SIGHUP,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGWINCH,
        Signal::SIGALRM,
        Signal::SIGCONT,
        Signal::SIGPIPE,
    ];
    for (i, sig) in sent.iter().enumerate() {
        init.signal(*sig);
        wait_until(&format!("{sig} to arrive"), DEADLINE, || signals_logged(&init).len() > i);
    }
    // Real-time signals too (nix cannot name them).
    nix::errno::Errno::result(unsafe { libc::kill(init.pid().as_raw(), libc::SIGRTMIN() + 3) }).unwrap();
    wait_until("SIGRTMIN+3 to arrive", DEADLINE, || signals_logged(&init).len() > sent.len());
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 0);
    let mut want: Vec<String> = sent.iter().map(|s| s.as_str().to_string()).collect();
    want.push("SIGRTMIN+3".into());
    want.push("SIGTERM".into());
    let got = signals_logged(&init);
    // Python names SIGRTMIN+3 by its number.
    let got: Vec<String> = got
        .into_iter()
        .map(|s| if s == (libc::SIGRTMIN() + 3).to_string() { "SIGRTMIN+3".into() } else { s })
        .collect();
    assert_eq!(got, want);
    // Each came from init, PID 1 of the namespace: forwarded, not lost on the way.
    assert!(senders(&init).iter().all(|pid| pid == "1"), "{}", init.read("signals"));
}

#[test]
fn sigterm_reaches_the_whole_process_group() {
    let script = r#"
        sh -c 'trap "echo grandchild > $DIR/gc; exit 0" TERM; touch $DIR/gc-ready; while :; do sleep 1; done' &
        trap 'echo child > $DIR/c; wait; exit 0' TERM
        while [ ! -e $DIR/gc-ready ]; do sleep 0.01; done
        touch $DIR/ready
        while :; do sleep 1 & wait $!; done"#;
    let mut init = Init::pid1("group", ["--", "sh", "-c", script]);
    init.wait_for_file("ready");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 0, "{}", init.stderr());
    assert_eq!(init.read("c").trim(), "child");
    assert_eq!(init.read("gc").trim(), "grandchild");
}

#[test]
fn signal_scope_child_signals_only_the_child() {
    let script = r#"
        sh -c 'trap "echo grandchild > $DIR/gc" USR1; touch $DIR/gc-ready; while :; do sleep 1; done' &
        trap 'echo child > $DIR/c' USR1
        while [ ! -e $DIR/gc-ready ]; do sleep 0.01; done
        touch $DIR/ready
        while [ ! -e $DIR/c ]; do sleep 0.01; done
        exit 5"#;
    let mut init =
        Init::pid1("scope", ["--signal-scope", "child", "--stop-timeout", "1s", "--", "sh", "-c", script]);
    init.wait_for_file("ready");
    init.signal(Signal::SIGUSR1);
    assert_eq!(init.wait(), 5, "{}", init.stderr());
    assert_eq!(init.read("c").trim(), "child");
    assert!(!init.dir.join("gc").exists(), "the grandchild must not get the signal");
}

/// Starts `argv` with SIGUSR2 blocked, SIGHUP and SIGPIPE ignored and an
/// extra fd 5, through init or directly, and returns what it prints.
fn mask_fd_report(through_init: bool, argv: &[&str]) -> String {
    let extra = fs::File::open("/dev/null").unwrap();
    let extra_fd = extra.as_raw_fd();
    let setup = move || {
        // SAFETY (test): plain syscalls between fork and exec.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR2);
            libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
            libc::dup2(extra_fd, 5);
        }
        Ok(())
    };
    if !through_init {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(argv[0]);
        cmd.args(&argv[1..]).stdin(Stdio::null());
        // SAFETY (test): see `setup`.
        unsafe { cmd.pre_exec(setup) };
        let out = cmd.output().unwrap();
        return String::from_utf8(out.stdout).unwrap();
    }
    let mut init = Builder::new("mask", Mode::Direct).args(["-q", "--"]).args(argv).pre_exec(setup).start();
    assert_eq!(init.wait(), 0, "{}", init.stderr());
    init.stdout()
}

#[test]
fn child_gets_the_mask_and_dispositions_init_inherited_and_no_fds_of_init() {
    let signals = ["grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"];
    let direct = mask_fd_report(false, &signals);
    let blocked = 1u64 << (libc::SIGUSR2 - 1);
    let ignored = (1u64 << (libc::SIGHUP - 1)) | (1u64 << (libc::SIGPIPE - 1));
    let field = |name: &str| {
        let line = direct.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name}: {direct}"));
        u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    assert_eq!(field("SigBlk:"), blocked, "{direct}");
    assert_eq!(field("SigIgn:") & ignored, ignored, "{direct}");
    assert_eq!(mask_fd_report(true, &signals), direct, "the mask and ignored signals init was given");
    let fds = ["ls", "/proc/self/fd"];
    let direct = mask_fd_report(false, &fds);
    assert!(direct.lines().any(|l| l == "5"), "{direct}");
    assert_eq!(mask_fd_report(true, &fds), direct, "the fds init was given, none of its own");
}

#[test]
fn child_keeps_the_cwd_and_stdin() {
    let dir = TempDir::new("stdin");
    let input = dir.join("input");
    fs::write(&input, "hello from stdin\n").unwrap();
    let mut init = Builder::new("cwd", Mode::Pid1)
        .args(["--", "sh", "-c", "pwd; cat"])
        .stdin(Stdio::from(fs::File::open(&input).unwrap()))
        .start();
    assert_eq!(init.wait(), 0);
    let want = format!("{}\nhello from stdin\n", init.dir.path().display());
    assert_eq!(init.stdout(), want);
}

/// The main child makes `n` orphans that exit at once, then waits for SIGTERM.
fn orphan_burst(mode: Mode, n: u32) {
    let script = format!(
        r#"trap 'exit 0' TERM
        i=0; while [ $i -lt {n} ]; do (: &); i=$((i+1)); done
        touch $DIR/done
        while :; do sleep 1 & wait $!; done"#
    );
    let mut init = Builder::new("orphans", mode).args(["-q", "--", "sh", "-c", &script]).start();
    init.wait_for_file("done");
    wait_until("every orphan to be reaped", DEADLINE, || zombies_under(init.pid()) == 0);
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 0, "{}", init.stderr());
}

#[test]
fn a_burst_of_orphans_is_reaped_as_pid1() {
    orphan_burst(Mode::Pid1, 2000);
}

#[test]
fn a_burst_of_orphans_is_reaped_as_subreaper_when_not_pid1() {
    orphan_burst(Mode::Direct, 2000);
}

#[test]
fn a_child_ignoring_sigterm_gets_sigkill_when_the_budget_runs_out() {
    let script = "trap 'echo TERM >> $DIR/got' TERM; touch $DIR/ready; while :; do sleep 1; done";
    // Long enough for the shell to run its trap on a loaded machine (its
    // `sleep` dies of the group's SIGTERM at once).
    let mut init = Init::pid1("budget", ["--stop-timeout", "2s", "--", "sh", "-c", script]);
    init.wait_for_file("ready");
    let sent = std::time::Instant::now();
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 137);
    assert!(sent.elapsed() >= Duration::from_secs(2), "SIGKILL came before the budget ran out");
    assert_eq!(init.read("got").trim(), "TERM", "the child got SIGTERM first");
}

#[test]
fn leftover_processes_get_sigterm_when_the_main_command_exits() {
    // A daemon in its own session (not in the main child's group) handles SIGTERM.
    let script = r#"setsid sh -c 'trap "echo TERM > $DIR/daemon; exit 0" TERM; touch $DIR/up; while :; do sleep 1; done' &
        while [ ! -e $DIR/up ]; do sleep 0.01; done
        exit 3"#;
    let mut init = Init::pid1("leftover", ["--stop-timeout", "1m", "--", "sh", "-c", script]);
    assert_eq!(init.wait(), 3, "{}", init.stderr());
    assert_eq!(init.read("daemon").trim(), "TERM", "the daemon outside the command's group got SIGTERM");
}

#[test]
fn leftovers_ignoring_sigterm_are_killed_at_the_end_of_the_budget() {
    for mode in [Mode::Pid1, Mode::Direct] {
        let script = r#"setsid sh -c 'trap "" TERM; echo $$ > $DIR/daemon.tmp; mv $DIR/daemon.tmp $DIR/daemon; while :; do sleep 1; done' &
            while [ ! -e $DIR/daemon ]; do sleep 0.01; done
            date +%s%N > $DIR/exited
            exit 4"#;
        let mut init =
            Builder::new("deaf", mode).args(["--stop-timeout", "300ms", "--", "sh", "-c", script]).start();
        assert_eq!(init.wait(), 4, "{mode:?}: {}", init.stderr());
        // The leftover that ignored SIGTERM held init up for the budget, then got SIGKILL.
        let waited = common::times_ns(&init.dir.join("exited")).first().map(|&t| common::now_ns() - t);
        assert!(
            waited.is_some_and(|ns| ns >= 300_000_000),
            "{mode:?}: init ended {waited:?} ns after the command, before the budget ran out"
        );
        if mode == Mode::Direct {
            // No namespace to tear it down: init itself must have killed it.
            let daemon: i32 = init.read("daemon").trim().parse().unwrap();
            wait_until("the daemon to be gone", DEADLINE, || {
                common::proc_state(Pid::from_raw(daemon)).is_none()
            });
        }
    }
}

#[test]
fn as_subreaper_init_never_signals_processes_outside_its_tree() {
    // A process of the same user that is not init's descendant must survive
    // init's end-of-run cleanup (kill(-1) on a host would have hit it).
    let dir = TempDir::new("outside");
    let flag = dir.join("hit");
    let mut bystander = Command::new("sh")
        .args([
            "-c",
            &format!("trap 'echo hit > {}; exit 0' TERM; while :; do sleep 1; done", flag.display()),
        ])
        .spawn()
        .unwrap();
    let script = "setsid sh -c 'trap \"echo TERM > $DIR/daemon; exit 0\" TERM; touch $DIR/up; while :; do sleep 1; done' & \
                  while [ ! -e $DIR/up ]; do sleep 0.01; done; exit 0";
    let mut init = Builder::new("outside", Mode::Direct)
        .args(["--stop-timeout", "2s", "--", "sh", "-c", script])
        .start();
    assert_eq!(init.wait(), 0, "{}", init.stderr());
    // Its own leftover, a descendant in a session of its own, got SIGTERM.
    assert_eq!(init.read("daemon").trim(), "TERM", "{}", init.stderr());
    let alive = bystander.try_wait().unwrap().is_none();
    let _ = bystander.kill();
    let _ = bystander.wait();
    assert!(alive && !flag.exists(), "init signalled a process outside its tree");
}

#[test]
fn remap_exit_turns_the_given_code_into_zero() {
    let mut init = Init::pid1("remap", ["--remap-exit", "3", "--", "sh", "-c", "exit 3"]);
    assert_eq!(init.wait(), 0);
    let mut init =
        Init::pid1("remap2", ["--remap-exit", "143", "--", "sh", "-c", "touch $DIR/ready; exec sleep 100"]);
    init.wait_for_file("ready");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 0);
    let mut init = Init::pid1("remap3", ["--remap-exit", "3", "--", "sh", "-c", "exit 4"]);
    assert_eq!(init.wait(), 4);
}

#[test]
fn tty_stop_signals_never_leave_init_stopped() {
    for mode in [Mode::Pid1, Mode::Direct] {
        let mut init = recorder("tstp", mode, &[]);
        for (i, sig) in [Signal::SIGTSTP, Signal::SIGTTIN, Signal::SIGTTOU].into_iter().enumerate() {
            init.signal(sig);
            // One at a time: pending signals are taken lowest number first.
            wait_until(&format!("{sig} to arrive"), DEADLINE, || signals_logged(&init).len() > i);
            // Init passed it on, so it has taken it: it did not stop on it.
            assert_ne!(common::proc_state(init.pid()), Some('T'), "{mode:?}: init stopped by {sig}");
        }
        init.signal(Signal::SIGTERM);
        assert_eq!(init.wait(), 0);
        let got = signals_logged(&init);
        assert_eq!(got, ["SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGTERM"], "{mode:?}");
    }
}

#[test]
fn logs_name_the_pid_and_signal_and_json_is_one_object_a_line() {
    let mut init = Builder::new("json", Mode::Pid1)
        .env("INIT_LOG_FORMAT", "json")
        .args(["--", "sh", "-c", "touch $DIR/ready; exec sleep 100"])
        .start();
    init.wait_for_file("ready");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
    let log = init.stderr();
    for line in log.lines() {
        assert!(line.starts_with("{\"level\":\"") && line.ends_with('}'), "not a JSON object: {line}");
    }
    assert!(
        log.contains(r#""message":"forwarded","signal":"SIGTERM","to":"process group","pid":2"#),
        "{log}"
    );
}

/// `init ARGS` as PID 1 of a new namespace, on a fresh terminal.
fn pid1_on_tty(args: &[&str]) -> OnTty {
    let mut argv = vec!["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", common::INIT];
    argv.extend_from_slice(args);
    OnTty::start(&argv)
}

#[test]
fn ctrl_c_on_a_terminal_ends_a_sleep_child_with_130() {
    // The child's group takes the terminal before its exec, so a line the
    // command prints says it has it (split so the command line is not it).
    let mut tty = pid1_on_tty(&["--", "sh", "-c", "echo U''P; exec sleep 100"]);
    tty.wait_for_output("UP");
    tty.type_in(b"\x03");
    assert_eq!(tty.wait(), 130, "{}", tty.output());
}

#[test]
fn on_a_terminal_the_child_is_the_foreground_group_and_bash_job_control_works() {
    let mut tty = pid1_on_tty(&["--", "bash", "--norc", "--noprofile", "-i"]);
    // Its prompt (PS1, set by OnTty).
    tty.wait_for_output("$ ");
    tty.type_in(b"set -- $(cut -d' ' -f5,8 /proc/$$/stat); [ \"$1\" = \"$2\" ] && echo FORE''GROUND\n");
    tty.wait_for_output("FOREGROUND");
    tty.type_in(b"sleep 100 &\njobs\n");
    tty.wait_for_output("Running");
    tty.type_in(b"kill %1; wait; exit 7\n");
    assert_eq!(tty.wait(), 7, "{}", tty.output());
    assert!(!tty.output().contains("no job control"), "{}", tty.output());
}
