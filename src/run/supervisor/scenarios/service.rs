//! One service's life, event by event (scenarios.rs has the harness).

use super::*;
use crate::run::supervisor::life::{Lateness, PROBE_MAX, Why};
use crate::run::supervisor::state::{Probe, Readiness, State, StopStep, Then};

fn probed() -> Rules {
    Rules { becomes: Becomes::Probed, ready_timeout: Some(ms(5_000)), ..rules() }
}

#[test]
fn a_service_without_readiness_is_ready_once_spawned() {
    let mut s = One::new(rules());
    let fx = s.spawn();
    assert_eq!(fx, vec![Effect::BecameReady { after: Duration::ZERO }]);
    assert_eq!(s.kind(), Kind::Ready);
}

#[test]
fn a_ready_check_backs_off_says_each_new_reason_once_then_passes() {
    let mut s = One::new(probed());
    assert!(s.spawn().is_empty());
    assert_eq!(s.on(Event::Tick), vec![Effect::Probe]);
    assert_eq!(s.on(Event::Probed(Err("refused".into()))), vec![Effect::NotReadyYet("refused".into())]);
    assert_eq!(s.life.state.timer(), Some(s.t0 + ms(50)));
    s.at(50);
    assert_eq!(s.on(Event::Probed(Err("refused".into()))), vec![], "the same reason is not said again");
    assert_eq!(s.life.state.timer(), Some(s.t0 + ms(150)), "the back-off doubled");
    s.at(150);
    assert_eq!(s.on(Event::Probed(Ok(()))), vec![Effect::BecameReady { after: ms(150) }]);
    assert_eq!(s.kind(), Kind::Ready);
}

#[test]
fn the_check_back_off_stops_growing_at_its_ceiling() {
    let mut s = One::new(Rules { ready_timeout: None, ..probed() });
    s.spawn();
    for _ in 0..12 {
        s.on(Event::Probed(Err("no".into())));
    }
    let State::Starting { ready: Readiness::Probe(Probe { backoff, .. }), .. } = s.life.state else {
        panic!("still starting")
    };
    assert_eq!(backoff, PROBE_MAX);
}

#[test]
fn a_check_that_fails_past_the_deadline_kills_and_the_policy_restarts() {
    let mut s = One::new(probed());
    s.spawn();
    s.at(5_000);
    let fx = s.on(Event::Probed(Err("refused".into())));
    assert_eq!(fx, vec![Effect::Signal(libc::SIGKILL, Why::Late(Lateness::Probe("refused".into())))]);
    assert!(matches!(s.life.state, State::Starting { ready: Readiness::Late, .. }));
    assert_eq!(s.life.state.timer(), None, "nothing more to wait for but its end");
    let fx = s.on(Event::Ended { exit: Exit::Signal(libc::SIGKILL), stopping: false });
    assert_eq!(fx, vec![Effect::Backoff(ms(100))]);
    assert_eq!(s.life.failed_runs, 1);
}

#[test]
fn a_check_command_still_running_at_the_deadline_is_cancelled() {
    let mut s = One::new(probed());
    s.spawn();
    s.on(Event::Probing(Pid::from_raw(7)));
    assert_eq!(s.life.state.probing(), Some(Pid::from_raw(7)));
    s.at(4_999);
    assert!(s.on(Event::Tick).is_empty());
    s.at(5_000);
    let fx = s.on(Event::Tick);
    assert_eq!(
        fx,
        vec![Effect::CancelProbe, Effect::Signal(libc::SIGKILL, Why::Late(Lateness::ProbeRunning))]
    );
}

#[test]
fn a_service_that_never_announces_is_killed_at_its_timeout_and_not_before() {
    let mut s = One::new(Rules { becomes: Becomes::Announced, ready_timeout: Some(ms(2_000)), ..rules() });
    s.spawn();
    s.at(1_999);
    assert!(s.on(Event::Tick).is_empty());
    s.at(2_000);
    assert_eq!(s.on(Event::Tick), vec![Effect::Signal(libc::SIGKILL, Why::Late(Lateness::Silent))]);
    let mut patient = One::new(Rules { becomes: Becomes::Announced, ..rules() });
    patient.spawn();
    patient.at(86_400_000);
    assert!(patient.on(Event::Tick).is_empty(), "no timeout: it may take as long as it likes");
    assert_eq!(patient.on(Event::Announced), vec![Effect::BecameReady { after: ms(86_400_000) }]);
}

#[test]
fn an_announcement_counts_only_while_starting() {
    let mut s = One::new(Rules { becomes: Becomes::Announced, ..rules() });
    assert!(s.on(Event::Announced).is_empty());
    assert_eq!(s.kind(), Kind::Waiting);
    s.spawn();
    s.on(Event::Announced);
    assert!(s.on(Event::Announced).is_empty(), "READY=1 twice changes nothing");
    assert_eq!(s.kind(), Kind::Ready);
}

#[test]
fn a_crash_loop_backs_off_doubling_then_gives_up() {
    let mut s = One::new(Rules { max_restarts: 2, ..rules() });
    let mut delays = Vec::new();
    for _ in 0..3 {
        s.spawn();
        let fx = s.end(1);
        delays.extend(fx.iter().filter_map(|e| match e {
            Effect::Backoff(d) => Some(*d),
            _ => None,
        }));
        if let Some(at) = s.life.state.timer() {
            s.now = at;
        }
    }
    assert_eq!(delays, vec![ms(100), ms(200)]);
    assert_eq!(s.kind(), Kind::Failed);
    assert_eq!(s.life.restarts, 2);
    assert_eq!(s.life.last_exit, Some(Exit::Code(1)));
}

#[test]
fn giving_up_says_how_many_runs_failed_and_ends_it_for_good() {
    let mut s = One::new(Rules { max_restarts: 0, ..rules() });
    s.spawn();
    assert_eq!(
        s.end(3),
        vec![Effect::NotReady, Effect::GaveUp { runs: 1 }, Effect::EndedForGood { ok: false }]
    );
}

#[test]
fn a_run_ready_for_ten_seconds_starts_the_back_off_and_the_count_over() {
    let mut s = One::new(rules());
    s.spawn();
    s.end(1);
    s.at(100).spawn();
    s.at(300);
    assert_eq!(s.end(1), vec![Effect::NotReady, Effect::Backoff(ms(200))]);
    assert_eq!(s.life.failed_runs, 2);
    s.at(500).spawn();
    s.at(10_500);
    assert_eq!(s.end(1), vec![Effect::NotReady, Effect::Backoff(ms(100))], "back to the first delay");
    assert_eq!(s.life.failed_runs, 0);
}

#[test]
fn the_back_off_stops_growing_at_thirty_seconds() {
    let mut s = One::new(Rules { restart_delay: ms(20_000), max_restarts: 10, ..rules() });
    s.spawn();
    s.end(1);
    s.now = s.life.state.timer().expect("backing off");
    s.spawn();
    assert!(s.end(1).contains(&Effect::Backoff(ms(30_000))));
}

#[test]
fn on_failure_restarts_only_a_failure() {
    let mut s = One::new(Rules { restart: Restart::OnFailure, ..rules() });
    s.spawn();
    assert!(s.end(0).contains(&Effect::EndedForGood { ok: true }));
    assert_eq!(s.kind(), Kind::Exited);
    let mut f = One::new(Rules { restart: Restart::OnFailure, ..rules() });
    f.spawn();
    assert!(f.end(2).contains(&Effect::Backoff(ms(100))));
}

#[test]
fn restart_never_fails_for_good_on_a_non_zero_code() {
    let mut s = One::new(Rules { restart: Restart::Never, ..rules() });
    s.spawn();
    assert_eq!(s.end(2), vec![Effect::NotReady, Effect::EndedForGood { ok: false }]);
    assert_eq!(s.kind(), Kind::Failed);
}

#[test]
fn a_oneshot_runs_once_and_is_not_ready_until_it_succeeded() {
    let mut s = One::new(Rules { oneshot: true, ..rules() });
    assert!(s.spawn().is_empty());
    assert_eq!(s.kind(), Kind::Running);
    assert_eq!(s.end(0), vec![Effect::EndedForGood { ok: true }]);
    assert_eq!(s.kind(), Kind::Exited);
}

#[test]
fn a_failed_spawn_is_a_failed_run_with_the_error_code() {
    let mut s = One::new(Rules { max_restarts: 1, ..rules() });
    assert_eq!(s.on(Event::SpawnFailed { code: 127 }), vec![Effect::Backoff(ms(100))]);
    assert_eq!(s.life.last_exit, Some(Exit::Code(127)));
    s.at(100);
    let fx = s.on(Event::SpawnFailed { code: 127 });
    assert_eq!(fx, vec![Effect::GaveUp { runs: 2 }, Effect::EndedForGood { ok: false }]);
}

#[test]
fn a_ready_service_with_a_semaphore_beats_its_heart_and_drops_it_when_it_ends() {
    let mut s = One::new(Rules { heartbeat: Some(ms(1_000)), ..rules() });
    s.spawn();
    assert_eq!(s.life.state.timer(), Some(s.t0 + ms(1_000)));
    s.at(999);
    assert!(s.on(Event::Tick).is_empty());
    s.at(1_000);
    assert_eq!(s.on(Event::Tick), vec![Effect::Heartbeat]);
    assert_eq!(s.life.state.timer(), Some(s.t0 + ms(2_000)), "the next one planned");
    assert_eq!(s.end(1)[0], Effect::NotReady);
}

#[test]
fn an_operator_stop_during_a_check_cancels_it_and_keeps_the_service_down() {
    let mut s = One::new(probed());
    s.spawn();
    s.on(Event::Probing(Pid::from_raw(9)));
    assert_eq!(s.on(Event::Halt), vec![Effect::CancelProbe, Effect::Signal(libc::SIGTERM, Why::Stop)]);
    assert_eq!(s.end(143), vec![]);
    assert_eq!(s.kind(), Kind::Stopped, "no restart, no end for good: an operator's stop");
    assert_eq!(s.life.failed_runs, 0);
}

#[test]
fn the_stop_signal_waits_out_stop_delay() {
    let mut s = One::new(Rules { stop_delay: Some(ms(3_000)), ..rules() });
    s.spawn();
    assert_eq!(s.on(Event::Halt), vec![Effect::NotReady, Effect::StopDelay(ms(3_000))]);
    s.at(2_999);
    assert!(s.on(Event::Tick).is_empty());
    s.at(3_000);
    assert_eq!(s.on(Event::Tick), vec![Effect::Signal(libc::SIGTERM, Why::Stop)]);
}

#[test]
fn sigkill_follows_at_stop_timeout_once() {
    let mut s = One::new(rules());
    s.spawn();
    s.on(Event::Shutdown);
    s.at(10_000);
    assert_eq!(s.on(Event::Tick), vec![Effect::Signal(libc::SIGKILL, Why::StopTimeout)]);
    s.at(20_000);
    assert!(s.on(Event::Tick).is_empty());
    assert!(matches!(s.life.state, State::Stopping { step: StopStep::Signalled(None), .. }));
}

#[test]
fn a_dropped_stop_signal_still_ends_in_sigkill() {
    let mut s = One::new(Rules { stop_signal: None, stop_timeout: Some(ms(500)), ..rules() });
    s.spawn();
    assert_eq!(s.on(Event::Shutdown), vec![Effect::NotReady, Effect::StopSignalDropped]);
    s.at(500);
    assert_eq!(s.on(Event::Tick), vec![Effect::Signal(libc::SIGKILL, Why::StopTimeout)]);
}

#[test]
fn stopping_what_does_not_run_takes_effect_at_once() {
    let mut s = One::new(rules());
    assert!(s.on(Event::Halt).is_empty());
    assert_eq!(s.kind(), Kind::Stopped);
    let mut b = One::new(rules());
    b.spawn();
    b.end(1);
    assert_eq!(b.kind(), Kind::Backoff);
    b.on(Event::Shutdown);
    assert_eq!(b.kind(), Kind::Exited, "a back-off is not waited out when the container stops");
}

#[test]
fn start_brings_a_stopped_service_back_with_a_fresh_count() {
    let mut s = One::new(Rules { max_restarts: 0, ..rules() });
    s.spawn();
    s.end(1);
    assert_eq!(s.kind(), Kind::Failed);
    s.on(Event::Resume);
    assert_eq!((s.kind(), s.life.failed_runs), (Kind::Waiting, 0));
    s.spawn();
    assert!(s.on(Event::Resume).is_empty(), "start of a running service changes nothing");
    assert_eq!(s.kind(), Kind::Ready);
}

#[test]
fn restart_stops_then_waits_for_its_dependencies_again() {
    let mut s = One::new(rules());
    s.spawn();
    s.on(Event::Restart);
    assert!(matches!(s.life.state, State::Stopping { then: Then::Restart, .. }));
    s.end(143);
    assert_eq!(s.kind(), Kind::Waiting);
    assert_eq!(s.life.restarts, 0, "a restart asked for is no back-off restart");
}

#[test]
fn a_reload_during_an_operators_stop_restarts_it_and_a_container_stop_wins_over_both() {
    let mut s = One::new(Rules { stop_delay: Some(ms(1_000)), ..rules() });
    s.spawn();
    s.on(Event::Halt);
    s.on(Event::Restart);
    assert!(matches!(s.life.state, State::Stopping { then: Then::Restart, step: StopStep::Delay(_), .. }));
    s.on(Event::Shutdown);
    assert!(matches!(s.life.state, State::Stopping { then: Then::Exit, .. }));
    s.on(Event::Restart);
    assert!(
        matches!(s.life.state, State::Stopping { then: Then::Exit, .. }),
        "nothing restarts a stopping container"
    );
}

#[test]
fn a_container_stop_keeps_an_operators_stop_as_it_was() {
    let mut s = One::new(rules());
    s.spawn();
    s.on(Event::Halt);
    s.on(Event::Shutdown);
    s.on(Event::Ended { exit: Exit::Code(0), stopping: true });
    assert_eq!(s.kind(), Kind::Stopped);
}

#[test]
fn nothing_restarts_while_the_container_stops() {
    let mut s = One::new(rules());
    s.spawn();
    let fx = s.on(Event::Ended { exit: Exit::Code(1), stopping: true });
    assert_eq!(fx, vec![Effect::NotReady, Effect::EndedForGood { ok: false }]);
    let mut r = One::new(rules());
    r.spawn();
    r.on(Event::Restart);
    r.on(Event::Ended { exit: Exit::Code(0), stopping: true });
    assert_eq!(r.kind(), Kind::Exited, "a restart under way ends as the container does");
}

#[test]
fn a_named_main_process_takes_over_the_service() {
    let mut s = One::new(Rules { becomes: Becomes::Announced, ..rules() });
    s.spawn();
    let main = Proc { pid: Pid::from_raw(4242), started_at: s.now, adopted: Some(77) };
    assert!(s.on(Event::Adopted(main)).is_empty());
    assert_eq!(s.life.state.proc(), Some(main));
    assert_eq!(s.kind(), Kind::Starting);
    assert!(s.on(Event::Probed(Ok(()))).is_empty(), "an announcing service has no probe");
}
