use super::*;
use mooring::config::duration::doubled;

fn view<'a>(name: &'a str, after: &'a [String], kind: Kind, ready: bool) -> View<'a> {
    View { name, after, kind, ready }
}

#[test]
fn the_restart_table() {
    use AfterExit::{Done, GiveUp, Restart as Again};
    use Restart::{Always, Never, OnFailure};
    // (policy, oneshot, ok, stopping, recent restarts, max) -> decision
    type Row = (Restart, bool, bool, bool, usize, u32, AfterExit);
    let table: [Row; 12] = [
        (Never, false, false, false, 0, 5, Done { ok: false }),
        (Never, false, true, false, 0, 5, Done { ok: true }),
        (OnFailure, false, false, false, 0, 5, Again),
        (OnFailure, false, true, false, 0, 5, Done { ok: true }),
        (Always, false, true, false, 0, 5, Again),
        (Always, true, true, false, 0, 5, Done { ok: true }),
        (Always, true, false, false, 0, 5, Again),
        (Always, false, false, false, 4, 5, Again),
        (Always, false, false, false, 5, 5, GiveUp),
        (OnFailure, false, false, false, 9, 5, GiveUp),
        // Nothing restarts while the container stops.
        (Always, false, false, true, 0, 5, Done { ok: false }),
        (OnFailure, false, true, true, 0, 5, Done { ok: true }),
    ];
    for (policy, oneshot, ok, stopping, recent, max, want) in table {
        let got = after_exit(policy, oneshot, ok, stopping, recent, max);
        assert_eq!(
            got, want,
            "{policy:?} oneshot={oneshot} ok={ok} stopping={stopping} recent={recent}/{max}"
        );
    }
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
    assert_eq!(next_delay(Duration::from_secs(30), RESET_AFTER, first), first);
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
    // (main, critical, oneshot, ok, by operator) -> stops the container
    type Row = (bool, bool, bool, bool, bool, Option<Ends>);
    let table: [Row; 8] = [
        (true, false, false, true, false, Some(Main)),
        (true, true, false, false, false, Some(Main)),
        (false, true, false, false, false, Some(Critical)),
        (false, true, false, true, false, Some(Critical)),
        (false, true, true, true, false, None),
        (false, true, true, false, false, Some(Critical)),
        (false, false, false, false, false, None),
        // An operator's stop never stops the container.
        (true, true, false, false, true, None),
    ];
    for (main, critical, oneshot, ok, op, want) in table {
        assert_eq!(
            ends_container(main, critical, oneshot, ok, op),
            want,
            "{main} {critical} {oneshot} {ok} {op}"
        );
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
