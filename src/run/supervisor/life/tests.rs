//! The transition table: every kind of state against every kind of event,
//! as the kind it leads to (the scenarios in supervisor/scenarios/ check
//! the data and the effects).

use super::*;
use Kind::*;
use mooring::config::Restart;

fn rules(oneshot: bool) -> Rules {
    Rules {
        oneshot,
        restart: if oneshot { Restart::Never } else { Restart::Always },
        max_restarts: 3,
        restart_delay: Duration::from_millis(100),
        becomes: Becomes::AtOnce,
        ready_timeout: None,
        heartbeat: None,
        stop_delay: None,
        stop_signal: Some(libc::SIGTERM),
        stop_timeout: None,
    }
}

/// A life of each kind, with the rules it was made under.
fn sample(kind: Kind, now: Instant) -> (Rules, Life) {
    let proc = Proc { pid: Pid::from_raw(10), started_at: now, adopted: None };
    let state = match kind {
        Waiting => State::Waiting,
        Starting => State::Starting { proc, ready: Readiness::Announce { deadline: None } },
        Running => State::Running { proc },
        Ready => State::Ready { proc, heartbeat_at: None },
        Stopping => State::Stopping { proc, step: StopStep::Signalled(None), then: Then::StayDown },
        Exited => State::Exited,
        Failed => State::Failed,
        Backoff => State::Backoff { restart_at: now + Duration::from_secs(60) },
        Stopped => State::Stopped,
    };
    let rules = rules(kind == Running);
    let life = Life { state, ..Life::new(&rules) };
    (rules, life)
}

fn events(now: Instant) -> [Event; 10] {
    let proc = Proc { pid: Pid::from_raw(11), started_at: now, adopted: None };
    [
        Event::Spawned(proc),
        Event::SpawnFailed { code: 1 },
        Event::Probed(Ok(())),
        Event::Announced,
        Event::Ended { exit: Exit::Code(1), stopping: false },
        Event::Tick,
        Event::Shutdown,
        Event::Halt,
        Event::Resume,
        Event::Restart,
    ]
}

#[test]
fn every_kind_against_every_event() {
    // Columns: Spawned SpawnFailed Probed Announced Ended Tick Shutdown Halt Resume Restart.
    let table: [(Kind, [Kind; 10]); 9] = [
        (Waiting, [Ready, Backoff, Waiting, Waiting, Waiting, Waiting, Exited, Stopped, Waiting, Waiting]),
        (
            Starting,
            [Starting, Starting, Starting, Ready, Backoff, Starting, Stopping, Stopping, Starting, Stopping],
        ),
        (
            Running,
            [Running, Running, Running, Running, Failed, Running, Stopping, Stopping, Running, Stopping],
        ),
        (Ready, [Ready, Ready, Ready, Ready, Backoff, Ready, Stopping, Stopping, Ready, Stopping]),
        (
            Stopping,
            [
                Stopping, Stopping, Stopping, Stopping, Stopped, Stopping, Stopping, Stopping, Stopping,
                Stopping,
            ],
        ),
        (Exited, [Exited, Exited, Exited, Exited, Exited, Exited, Exited, Stopped, Waiting, Waiting]),
        (Failed, [Failed, Failed, Failed, Failed, Failed, Failed, Failed, Stopped, Waiting, Waiting]),
        (Backoff, [Ready, Backoff, Backoff, Backoff, Backoff, Backoff, Exited, Stopped, Backoff, Backoff]),
        (Stopped, [Stopped, Stopped, Stopped, Stopped, Stopped, Stopped, Stopped, Stopped, Waiting, Waiting]),
    ];
    let now = Instant::now();
    for (from, row) in table {
        for (event, want) in events(now).into_iter().zip(row) {
            let (rules, life) = sample(from, now);
            let shown = format!("{event:?}");
            let (next, _) = life.step(&rules, event, now);
            assert_eq!(next.kind(), want, "{from:?} --{shown}-->");
        }
    }
}

#[test]
fn a_step_leaves_the_life_it_was_given_alone() {
    let now = Instant::now();
    let (rules, life) = sample(Ready, now);
    let before = life.clone();
    let (next, effects) = life.step(&rules, Event::Halt, now);
    assert_eq!(life, before);
    assert_eq!(next.kind(), Stopping);
    assert_eq!(effects, vec![Effect::NotReady, Effect::Signal(libc::SIGTERM, Why::Stop)]);
}

#[test]
fn each_state_waits_for_its_own_timer_only() {
    let now = Instant::now();
    let later = now + Duration::from_secs(3);
    let proc = Proc { pid: Pid::from_raw(10), started_at: now, adopted: None };
    let probe = |next| Probe { next, backoff: PROBE_FIRST, deadline: Some(later), why: String::new() };
    let cases = [
        (State::Waiting, None),
        (State::Backoff { restart_at: later }, Some(later)),
        (State::Ready { proc, heartbeat_at: Some(later) }, Some(later)),
        (State::Starting { proc, ready: Readiness::Probe(probe(Next::At(now))) }, Some(now)),
        (State::Starting { proc, ready: Readiness::Probe(probe(Next::Running(proc.pid))) }, Some(later)),
        (State::Starting { proc, ready: Readiness::Announce { deadline: Some(later) } }, Some(later)),
        (State::Starting { proc, ready: Readiness::Late }, None),
        (State::Stopping { proc, step: StopStep::Delay(later), then: Then::Exit }, Some(later)),
        (State::Stopping { proc, step: StopStep::Signalled(None), then: Then::Exit }, None),
        (State::Stopped, None),
    ];
    for (state, want) in cases {
        assert_eq!(state.timer(), want, "{state:?}");
    }
}
