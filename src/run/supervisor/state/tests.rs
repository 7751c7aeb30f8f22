use super::*;
use Event::*;
use Kind::*;

const ALL: [Kind; 9] = [Waiting, Starting, Running, Ready, Stopping, Exited, Failed, Backoff, Stopped];

fn events() -> Vec<Event> {
    let mut e = vec![Spawned { oneshot: true }, Spawned { oneshot: false }, Probed, Stop, Halt, Resume];
    e.extend([SpawnFailed { restart: false }, SpawnFailed { restart: true }]);
    for ok in [false, true] {
        for restart in [false, true] {
            e.push(Ended { ok, restart });
        }
    }
    e.extend([StopEnded { halt: false }, StopEnded { halt: true }]);
    e
}

fn walk(mut s: Kind, steps: &[(Event, Kind)]) {
    for &(event, want) in steps {
        s = next(s, event).unwrap_or_else(|| panic!("{s:?} --{event:?}--> refused"));
        assert_eq!(s, want, "after {event:?}");
    }
}

#[test]
fn a_failed_spawn_is_a_failed_run_backed_off_until_given_up() {
    walk(
        Waiting,
        &[
            (SpawnFailed { restart: true }, Backoff),
            (SpawnFailed { restart: true }, Backoff),
            (Spawned { oneshot: false }, Starting),
            (Ended { ok: false, restart: true }, Backoff),
            (SpawnFailed { restart: false }, Failed),
        ],
    );
}

#[test]
fn a_long_running_service_starts_gets_ready_and_restarts() {
    walk(
        Waiting,
        &[
            (Spawned { oneshot: false }, Starting),
            (Probed, Ready),
            (Ended { ok: false, restart: true }, Backoff),
            (Spawned { oneshot: false }, Starting),
            (Ended { ok: false, restart: false }, Failed),
        ],
    );
}

#[test]
fn a_oneshot_runs_then_exits_or_fails() {
    assert_eq!(next(Waiting, Spawned { oneshot: true }), Some(Running));
    assert_eq!(next(Running, Ended { ok: true, restart: false }), Some(Exited));
    assert_eq!(next(Running, Ended { ok: false, restart: false }), Some(Failed));
    assert_eq!(next(Running, Probed), None, "a oneshot has no readiness of its own");
}

#[test]
fn stopping_ends_in_exited_or_for_an_operator_in_stopped() {
    assert_eq!(next(Ready, Stop), Some(Stopping));
    assert_eq!(next(Stopping, StopEnded { halt: false }), Some(Exited));
    assert_eq!(next(Stopping, StopEnded { halt: true }), Some(Stopped));
    assert_eq!(
        next(Stopping, Ended { ok: true, restart: false }),
        None,
        "a stopping service ends as stopped"
    );
    assert_eq!(next(Waiting, Stop), Some(Exited));
    assert_eq!(next(Backoff, Stop), Some(Exited));
}

#[test]
fn an_operator_stops_and_starts_a_service_and_shutdown_leaves_it_down() {
    walk(
        Ready,
        &[
            (Halt, Stopping),
            (StopEnded { halt: true }, Stopped),
            (Resume, Waiting),
            (Spawned { oneshot: false }, Starting),
        ],
    );
    // Not started yet, in back-off, or ended: down at once.
    for from in [Waiting, Backoff, Exited, Failed] {
        assert_eq!(next(from, Halt), Some(Stopped), "{from:?}");
    }
    assert_eq!(next(Stopped, Stop), None, "shutdown has nothing to do with it");
    assert_eq!(next(Stopped, Spawned { oneshot: false }), None, "only Resume brings it back");
}

#[test]
fn the_table_has_exactly_the_planned_transitions() {
    let allowed: usize =
        ALL.iter().map(|&s| events().into_iter().filter(|&e| next(s, e).is_some()).count()).sum();
    // Waiting/Backoff: 2 spawns + 2 spawn failures + stop + halt = 6 each; Starting: probe, 4 ends,
    // stop, halt = 7; Running and Ready: 4 ends + stop + halt = 6 each; Stopping: 2 stop-ends;
    // Exited and Failed: halt, resume = 2 each; Stopped: resume.
    assert_eq!(allowed, 6 + 6 + 7 + 6 + 6 + 2 + 2 + 2 + 1);
    for s in ALL {
        assert_eq!(next(s, Spawned { oneshot: false }).is_some(), matches!(s, Waiting | Backoff));
        assert_eq!(s.is_live(), matches!(s, Starting | Running | Ready | Stopping));
        assert_eq!(s.is_final(), matches!(s, Exited | Failed | Stopped));
    }
}
