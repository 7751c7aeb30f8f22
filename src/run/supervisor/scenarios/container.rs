//! The services together and the container's stop (scenarios.rs has the harness).

use super::*;
use crate::process::budget::REKILL_INTERVAL;
use crate::run::supervisor::fleet::Reason;
use crate::run::supervisor::life::Why;

fn oneshot() -> Rules {
    Rules { oneshot: true, restart: Restart::Never, ..rules() }
}

fn probed() -> Rules {
    Rules { becomes: Becomes::Probed, ..rules() }
}

fn stopping_orders(orders: &[Order]) -> Vec<&Reason> {
    orders
        .iter()
        .filter_map(|o| match o {
            Order::Stopping { reason, .. } => Some(reason),
            _ => None,
        })
        .collect()
}

#[test]
fn a_service_starts_once_what_it_comes_after_is_ready() {
    let mut w = World::new(&[("db", &[], false, false, probed()), ("web", &["db"], false, false, rules())]);
    w.run();
    assert_eq!((w.kind("db"), w.kind("web")), (Kind::Starting, Kind::Waiting));
    w.feed("db", Event::Probed(Ok(())));
    w.run();
    assert_eq!((w.kind("db"), w.kind("web")), (Kind::Ready, Kind::Ready));
}

#[test]
fn services_without_dependencies_all_start_in_one_round_in_file_order() {
    let mut w = World::new(&[("a", &[], false, false, rules()), ("b", &[], false, false, rules())]);
    w.run();
    assert!(w.pid("a") < w.pid("b"));
}

#[test]
fn a_oneshot_lets_its_dependents_start_only_when_it_succeeded() {
    let mut w = World::new(&[
        ("migrate", &[], false, false, oneshot()),
        ("app", &["migrate"], false, false, rules()),
    ]);
    w.run();
    assert_eq!(w.kind("app"), Kind::Waiting);
    w.end("migrate", Exit::Code(0));
    w.run();
    assert_eq!(w.kind("app"), Kind::Ready);
}

#[test]
fn a_failed_oneshot_tells_its_dependents_they_will_not_start() {
    let mut w = World::new(&[
        ("migrate", &[], false, false, oneshot()),
        ("app", &["migrate"], false, false, rules()),
    ]);
    w.run();
    let orders = w.end("migrate", Exit::Code(1));
    assert!(orders.contains(&Order::WontStart { i: 1, dependency: 0 }));
    w.run();
    assert_eq!(w.kind("app"), Kind::Waiting, "it waits on, for an operator's `init start migrate`");
    assert!(!w.fleet.stopping(), "neither of them is critical");
    w.feed("migrate", Event::Resume);
    w.run();
    w.end("migrate", Exit::Code(0));
    w.run();
    assert_eq!(w.kind("app"), Kind::Ready);
}

#[test]
fn a_critical_service_that_gives_up_stops_the_container_with_its_code() {
    let crashy = Rules { max_restarts: 1, ..rules() };
    let mut w = World::new(&[("api", &[], false, true, crashy), ("web", &[], false, false, rules())]);
    w.run();
    w.end("api", Exit::Code(3));
    w.at(100).run();
    let orders = w.end("api", Exit::Code(3));
    assert_eq!(stopping_orders(&orders), vec![&Reason::CriticalEnded(0)]);
    assert_eq!(w.signals_to("web", &orders), vec![libc::SIGTERM]);
    w.end("web", Exit::Code(0));
    assert!(w.fleet.all_ended());
    assert_eq!(w.fleet.exit_code(), 3);
}

#[test]
fn the_main_service_ends_the_container_with_its_code_remapped() {
    let never = Rules { restart: Restart::Never, ..rules() };
    let mut w = World::with(&[("main", &[], true, false, never.clone())], Some(ms(1_000)), vec![]);
    w.run();
    w.end("main", Exit::Code(3));
    assert_eq!(w.fleet.exit_code(), 3);
    let mut r = World::with(&[("main", &[], true, false, never)], Some(ms(1_000)), vec![3]);
    r.run();
    r.end("main", Exit::Code(3));
    assert_eq!(r.fleet.exit_code(), 0, "--remap-exit 3");
}

#[test]
fn an_operator_stop_of_a_critical_service_leaves_the_container_up() {
    let mut w = World::new(&[("db", &[], false, true, rules()), ("web", &[], false, false, rules())]);
    w.run();
    w.feed("db", Event::Halt);
    w.end("db", Exit::Signal(libc::SIGTERM));
    w.run();
    assert_eq!((w.kind("db"), w.kind("web")), (Kind::Stopped, Kind::Ready));
    assert!(stopping_orders(&w.orders).is_empty());
    assert!(!w.fleet.stopping());
}

#[test]
fn everything_stopped_by_an_operator_keeps_the_container_up_for_init_start() {
    let mut w = World::new(&[("only", &[], false, false, rules())]);
    w.run();
    w.feed("only", Event::Halt);
    w.end("only", Exit::Code(0));
    w.run();
    assert!(!w.fleet.stopping());
    w.feed("only", Event::Resume);
    w.run();
    assert_eq!(w.kind("only"), Kind::Ready);
}

#[test]
fn when_every_service_ended_on_its_own_the_container_stops_with_zero() {
    let mut w = World::new(&[("job", &[], false, false, oneshot())]);
    w.run();
    w.end("job", Exit::Code(0));
    let orders = w.run();
    assert_eq!(stopping_orders(&orders), vec![&Reason::NoneLeft]);
    assert_eq!(orders.last(), Some(&Order::TermLeftovers));
    assert_eq!(w.fleet.exit_code(), 0);
}

#[test]
fn a_stop_signal_stops_dependents_first_then_the_rest_then_the_leftovers() {
    let mut w = World::new(&[("db", &[], false, false, rules()), ("web", &["db"], false, false, rules())]);
    w.run();
    let orders = w.signal(libc::SIGTERM);
    assert_eq!(stopping_orders(&orders), vec![&Reason::Signal(libc::SIGTERM)]);
    assert_eq!((w.signals_to("web", &orders), w.signals_to("db", &orders)), (vec![libc::SIGTERM], vec![]));
    w.end("web", Exit::Code(0));
    let orders = w.at(5).run();
    assert_eq!(w.signals_to("db", &orders), vec![libc::SIGTERM], "db once web is gone");
    w.end("db", Exit::Code(0));
    assert_eq!(w.at(6).run(), vec![Order::TermLeftovers]);
    assert_eq!(w.at(7).run(), vec![], "leftovers get SIGTERM once");
    assert_eq!(w.fleet.exit_code(), 128 + libc::SIGTERM as u8, "no main service: 128+N");
}

#[test]
fn services_that_never_ran_end_with_the_stop_and_never_start() {
    let mut w = World::new(&[("db", &[], false, false, probed()), ("web", &["db"], false, false, rules())]);
    w.run();
    w.signal(libc::SIGTERM);
    assert_eq!(w.kind("web"), Kind::Exited);
    w.feed("db", Event::Probed(Ok(())));
    assert_eq!(w.kind("db"), Kind::Stopping, "a probe's answer no longer counts");
    assert_eq!(w.fleet.due_start(w.now), None);
}

#[test]
fn the_spent_budget_kills_everything_then_again_every_round() {
    let mut w = World::with(&[("a", &[], false, false, rules())], Some(ms(1_000)), vec![]);
    w.run();
    w.signal(libc::SIGTERM);
    assert_eq!(w.at(999).run(), vec![]);
    assert_eq!(w.at(1_000).run(), vec![Order::BudgetSpent, Order::KillAll]);
    assert_eq!(w.fleet.next_timer(), Some(w.now + REKILL_INTERVAL));
    let round = w.t0 + ms(1_000) + REKILL_INTERVAL;
    w.now = round;
    assert_eq!(w.run(), vec![Order::KillAll], "the warning is said once");
}

#[test]
fn a_second_stop_signal_kills_at_once() {
    let mut w = World::new(&[("a", &[], false, false, rules())]);
    w.run();
    w.signal(libc::SIGTERM);
    assert_eq!(w.fleet.kill_now(w.now), vec![Order::KillAll]);
    assert!(w.fleet.killed());
}

#[test]
fn a_watch_that_goes_away_decides_75_whatever_the_main_service_says() {
    let mut w = World::new(&[("main", &[], true, false, rules())]);
    w.run();
    let orders = w.fleet.begin_stop(Reason::WatchGone, Some(75), w.now);
    assert_eq!(w.signals_to("main", &orders), vec![libc::SIGTERM]);
    w.end("main", Exit::Code(0));
    assert_eq!(w.fleet.exit_code(), 75);
}

#[test]
fn a_reload_restart_during_the_container_stop_does_not_restart() {
    let slow = Rules { stop_delay: Some(ms(500)), ..rules() };
    let mut w = World::new(&[("a", &[], false, false, slow), ("b", &["a"], false, false, rules())]);
    w.run();
    w.feed("a", Event::Restart);
    w.signal(libc::SIGTERM);
    w.end("b", Exit::Code(0));
    w.at(500).run();
    w.end("a", Exit::Code(0));
    assert_eq!(w.kind("a"), Kind::Exited);
    assert!(w.fleet.all_ended());
}

#[test]
fn the_next_wake_up_is_the_earliest_timer_and_only_stops_count_while_stopping() {
    let beat = Rules { heartbeat: Some(ms(5_000)), ..rules() };
    let mut w = World::new(&[("a", &[], false, false, beat), ("b", &[], false, false, rules())]);
    w.run();
    assert_eq!(w.fleet.next_timer(), Some(w.t0 + ms(5_000)), "a's heartbeat");
    w.end("b", Exit::Code(1));
    assert_eq!(w.fleet.next_timer(), Some(w.t0 + ms(100)), "b's back-off");
    let slow = World::new(&[("c", &[], false, false, Rules { stop_delay: Some(ms(700)), ..rules() })]);
    let mut slow = slow;
    slow.run();
    slow.signal(libc::SIGTERM);
    assert_eq!(slow.fleet.next_timer(), Some(slow.t0 + ms(700)), "its stop_delay, before the budget's 10 s");
}

#[test]
fn a_stop_signal_that_came_first_keeps_its_code_when_the_main_service_then_fails() {
    let mut w = World::new(&[("main", &[], true, false, rules()), ("side", &[], false, true, rules())]);
    w.run();
    w.signal(libc::SIGINT);
    w.end("side", Exit::Code(9));
    w.end("main", Exit::Code(0));
    assert_eq!(w.fleet.exit_code(), 0, "the main service's own code, not the critical one's");
}

#[test]
fn a_stop_signal_during_a_stop_of_one_service_sends_no_second_stop_signal() {
    let mut w = World::new(&[("a", &[], false, false, rules())]);
    w.run();
    let first = w.feed("a", Event::Halt);
    assert_eq!(w.signals_to("a", &first), vec![libc::SIGTERM]);
    let orders = w.signal(libc::SIGTERM);
    assert!(w.signals_to("a", &orders).is_empty());
    assert!(orders.iter().all(|o| !matches!(o, Order::Svc(_, Effect::Signal(_, Why::Stop)))));
}
