use super::*;
use mooring::config::duration::doubled;

fn view<'a>(name: &'a str, after: &'a [String], kind: Kind, ready: bool) -> View<'a> {
    View { name, after, kind, ready }
}

#[test]
fn the_restart_table() {
    use AfterExit::{Done, GiveUp, Restart as Again};
    use Restart::{Always, Never, OnFailure};
    // (policy, oneshot, ok, stopping, failed runs in a row counting this one, max) -> decision
    type Row = (Restart, bool, bool, bool, u32, u32, AfterExit);
    let table: [Row; 15] = [
        (Never, false, false, false, 1, 5, Done { ok: false }),
        (Never, false, true, false, 1, 5, Done { ok: true }),
        (OnFailure, false, false, false, 1, 5, Again),
        (OnFailure, false, true, false, 1, 5, Done { ok: true }),
        (Always, false, true, false, 1, 5, Again),
        (Always, true, true, false, 1, 5, Done { ok: true }),
        (Always, true, false, false, 1, 5, Again),
        // max_restarts = 5: five restarts after failed runs, the sixth failure gives up.
        (Always, false, false, false, 5, 5, Again),
        (Always, false, false, false, 6, 5, GiveUp),
        (OnFailure, false, false, false, 9, 5, GiveUp),
        (OnFailure, false, false, false, 1, 0, GiveUp),
        // A healthy run before this one started the count over.
        (OnFailure, false, false, false, 0, 0, Again),
        // Nothing restarts while the container stops; a policy that does not restart never gives up.
        (Always, false, false, true, 1, 5, Done { ok: false }),
        (OnFailure, false, true, true, 1, 5, Done { ok: true }),
        (Never, false, false, false, 9, 5, Done { ok: false }),
    ];
    for (policy, oneshot, ok, stopping, failed, max, want) in table {
        let got = after_exit(policy, oneshot, ok, stopping, failed, max);
        assert_eq!(
            got, want,
            "{policy:?} oneshot={oneshot} ok={ok} stopping={stopping} failed={failed}/{max}"
        );
    }
}

#[test]
fn a_run_ready_for_10s_starts_the_failure_count_over() {
    let s = Duration::from_secs;
    // (failed before, ready for) -> failed after this run
    let table = [
        (0, Duration::ZERO, 1),
        (3, Duration::ZERO, 4),
        (3, Duration::from_millis(9_999), 4),
        (3, s(10), 0),
        (0, s(3600), 0),
        (u32::MAX, Duration::ZERO, u32::MAX),
    ];
    for (before, ready_for, want) in table {
        assert_eq!(failed_runs(before, ready_for), want, "{before} then ready for {ready_for:?}");
    }
}

/// Why the rule changed (docs/reference.md, "Services", Restarts): under the
/// default back-off (100 ms doubling to 30 s) a service that crashes at once
/// restarts at 0, 0.1, 0.3, … 51.1, 81.1 s: ten restarts never fall within
/// one minute of a failure, so "10 restarts within 60 s" never gave up.
/// Counted as failed runs in a row, it gives up at the eleventh.
#[test]
fn a_crash_loop_under_the_default_back_off_gives_up() {
    let (first, max) = (Duration::from_millis(100), 10);
    let (mut now, mut delay, mut failed) = (Duration::ZERO, first, 0);
    let mut restarts: Vec<Duration> = Vec::new();
    for run in 1..=100 {
        // The run ends at once, never ready.
        failed = failed_runs(failed, Duration::ZERO);
        let in_last_minute = restarts.iter().filter(|&&t| now - t < Duration::from_secs(60)).count();
        assert!(in_last_minute < max as usize, "the old rule would have given up at run {run}");
        match after_exit(Restart::OnFailure, false, false, false, failed, max) {
            AfterExit::Restart => {
                restarts.push(now);
                delay = next_delay(delay, Duration::ZERO, first);
                now += delay;
                delay = doubled(delay, MAX_DELAY);
            }
            AfterExit::GiveUp => {
                assert_eq!((run, restarts.len()), (11, 10), "the first run and max_restarts restarts");
                assert!(now > Duration::from_secs(60), "{now:?}: more than the old window");
                return;
            }
            AfterExit::Done { .. } => panic!("on-failure restarts a failure"),
        }
    }
    panic!("never gave up");
}

#[test]
fn back_off_doubles_to_30s_and_starts_over_after_10s_up() {
    let first = Duration::from_millis(100);
    let mut delay = first;
    let mut seen = Vec::new();
    for _ in 0..12 {
        let d = next_delay(delay, Duration::from_secs(1), first);
        seen.push(d.as_millis());
        delay = doubled(d, MAX_DELAY);
    }
    assert_eq!(&seen[..5], [100, 200, 400, 800, 1600]);
    assert_eq!(*seen.last().unwrap(), 30_000);
    assert_eq!(next_delay(Duration::from_secs(30), RESET_AFTER, first), first, "ready for 10 s");
}

#[test]
fn a_service_starts_once_every_dependency_is_ready() {
    let (none, db, db_and_migrate) =
        (vec![], vec!["db".to_string()], vec!["db".to_string(), "migrate".into()]);
    let all = |db_ready: bool, migrate: Kind, migrated: bool| {
        vec![
            view("db", &none, if db_ready { Kind::Ready } else { Kind::Starting }, db_ready),
            view("migrate", &db, migrate, migrated),
            view("web", &db_and_migrate, Kind::Waiting, false),
        ]
    };
    assert!(!should_start(2, &all(false, Kind::Waiting, false), false));
    assert!(should_start(1, &all(true, Kind::Waiting, false), false), "migrate after db");
    assert!(!should_start(2, &all(true, Kind::Running, false), false), "the oneshot has not exited 0");
    assert!(should_start(2, &all(true, Kind::Exited, true), false));
    assert!(!should_start(0, &all(true, Kind::Exited, true), true), "a ready service does not start");
    let backoff = [view("db", &none, Kind::Backoff, false)];
    assert!(!should_start(0, &backoff, false) && should_start(0, &backoff, true));
    let unknown = ["nope".to_string()];
    assert!(!deps_ready(0, &[view("web", &unknown, Kind::Waiting, false)]));
}

#[test]
fn shutdown_stops_a_service_only_once_its_dependents_have_no_process() {
    let (none, db, web_) = (vec![], vec!["db".to_string()], vec!["web".to_string()]);
    let all = |web: Kind, worker: Kind| {
        [
            view("db", &none, Kind::Ready, true),
            view("web", &db, web, true),
            view("worker", &web_, worker, true),
        ]
    };
    assert!(!may_stop(0, &all(Kind::Ready, Kind::Ready)), "web still runs");
    assert!(!may_stop(1, &all(Kind::Ready, Kind::Stopping)), "worker is still stopping");
    assert!(may_stop(1, &all(Kind::Ready, Kind::Exited)));
    assert!(may_stop(2, &all(Kind::Ready, Kind::Ready)), "nothing depends on worker");
    assert!(may_stop(0, &all(Kind::Failed, Kind::Stopped)));
}

#[test]
fn which_ends_stop_the_container() {
    use Ends::*;
    // (main, critical, oneshot, ok) -> stops the container
    type Row = (bool, bool, bool, bool, Option<Ends>);
    let table: [Row; 7] = [
        (true, false, false, true, Some(Main)),
        (true, true, false, false, Some(Main)),
        (false, true, false, false, Some(Critical)),
        (false, true, false, true, Some(Critical)),
        (false, true, true, true, None),
        (false, true, true, false, Some(Critical)),
        (false, false, false, false, None),
    ];
    for (main, critical, oneshot, ok, want) in table {
        assert_eq!(ends_container(main, critical, oneshot, ok), want, "{main} {critical} {oneshot} {ok}");
    }
}

#[test]
fn the_exit_code_table() {
    let plain = |e: Exit| e.byte();
    let remap_143 = |e: Exit| if e.byte() == 143 { 0 } else { e.byte() };
    let term = Some(Exit::Signal(libc::SIGTERM));
    assert_eq!(exit_code(Some(75), term, Some(143), plain), 75, "decided (a watch) wins");
    assert_eq!(exit_code(None, term, Some(143), plain), 143, "the main service killed by SIGTERM");
    assert_eq!(exit_code(None, term, Some(143), remap_143), 0, "--remap-exit 143");
    assert_eq!(exit_code(None, Some(Exit::Code(3)), None, plain), 3);
    assert_eq!(exit_code(None, None, Some(130), plain), 130, "no main service: the stop signal's");
    assert_eq!(exit_code(None, None, None, plain), 0, "every service ended on its own");
}
