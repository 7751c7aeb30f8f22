use super::*;
use crate::config::{Target, Task, Template, Wait};

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn switches_read_true_false_one_zero_yes_no_in_any_case_and_empty_as_false() {
    for on in ["true", "TRUE", "True", "1", "yes", "Yes"] {
        assert_eq!(parse_switch(on), Ok(true), "{on}");
    }
    for off in ["false", "False", "0", "no", "NO", ""] {
        assert_eq!(parse_switch(off), Ok(false), "{off:?}");
    }
    for bad in ["maybe", "on", "off", " true", "2", "y"] {
        let e = parse_switch(bad).expect_err(bad);
        assert_eq!(e, crate::config::BadValue::Switch(bad.into()));
        let text = e.to_string();
        assert!(text.contains(&format!("{bad:?}")) && !text.contains('\n'), "{e}");
    }
}

#[test]
fn a_part_without_for_serves_every_run_and_one_with_for_only_its_names() {
    let running = names(&["web", "worker"]);
    assert!(serves(None, &running));
    assert!(serves(None, &[]), "an ad-hoc command gets what has no `for`");
    assert!(serves(Some(&names(&["worker"])), &running));
    assert!(!serves(Some(&names(&["make-config"])), &running));
    assert!(!serves(Some(&names(&["web"])), &[]));
}

#[test]
fn a_variable_not_set_stops_the_runs_it_belongs_to_and_check_sees_all_but_an_off_parts_variables() {
    let p = |scope: Scope, unset: bool| Problem { text: "x".into(), scope, unset };
    let web = names(&["web"]);
    assert!(p(Scope::Always, true).stops(&[]));
    assert!(p(Scope::For(web.clone()), true).stops(&web));
    assert!(!p(Scope::For(web.clone()), true).stops(&names(&["make-config"])));
    assert!(!p(Scope::Off, true).stops(&web));
    assert!(p(Scope::Off, false).stops(&web), "a wrong value is wrong for every run");
    assert!(p(Scope::For(web.clone()), false).stops(&[]));
    assert!(p(Scope::For(web), true).checked());
    assert!(p(Scope::Off, false).checked(), "a bad value in a part switched off is still wrong");
    assert!(!p(Scope::Off, true).checked(), "its variables are set when it is switched on");
}

fn config() -> Config {
    let template = |dest: &str, serves: Option<&[&str]>| Template {
        src: "/s".into(),
        dest: dest.into(),
        mode: None,
        owner: None,
        overwrite: true,
        notify: Vec::new(),
        serves: serves.map(names),
    };
    let wait = |port: u16, serves: Option<&[&str]>| Wait {
        target: Target::Tcp { host: "db".into(), port },
        timeout: None,
        watch: false,
        serves: serves.map(names),
    };
    let task = |name: &str, waits: bool| Task {
        name: name.into(),
        command: vec!["true".into()],
        user: None,
        env: Vec::new(),
        workdir: None,
        waits,
    };
    Config {
        templates: vec![
            template("/all", None),
            template("/web", Some(&["web"])),
            template("/mc", Some(&["mc"])),
        ],
        waits: vec![wait(1, None), wait(2, Some(&["web", "mc"]))],
        tasks: vec![task("mc", true), task("quick", false)],
        service_names: names(&["web"]),
        skipped_waits: vec!["a line".into()],
        ..Config::default()
    }
}

fn scoped(runs: Runs) -> (Vec<String>, Vec<u16>) {
    let mut c = config();
    runs.scope(&mut c);
    let dests = c.templates.iter().map(|t| t.dest.display().to_string()).collect();
    let ports = c.waits.iter().map(|w| match w.target {
        Target::Tcp { port, .. } => port,
        _ => 0,
    });
    (dests, ports.collect())
}

#[test]
fn each_run_gets_the_templates_and_waits_that_serve_it() {
    let named = |name: &str, no_wait| Runs::Named { name: name.into(), no_wait };
    assert_eq!(scoped(Runs::Services), (names(&["/all", "/web"]), vec![1, 2]));
    assert_eq!(scoped(named("mc", false)), (names(&["/all", "/mc"]), vec![1, 2]));
    assert_eq!(scoped(named("mc", true)), (names(&["/all", "/mc"]), vec![]), "--no-wait");
    assert_eq!(scoped(named("quick", false)), (names(&["/all"]), vec![]), "waits = false");
    assert_eq!(scoped(Runs::Adhoc { no_wait: false }), (names(&["/all"]), vec![1]));
    assert_eq!(scoped(Runs::Adhoc { no_wait: true }), (names(&["/all"]), vec![]));
}

#[test]
fn who_runs_is_every_service_switched_on_one_name_or_nobody() {
    let c = config();
    assert_eq!(Runs::Services.running(&c), names(&["web"]));
    assert_eq!(Runs::Named { name: "mc".into(), no_wait: false }.running(&c), names(&["mc"]));
    assert!(Runs::Adhoc { no_wait: false }.running(&c).is_empty());
    let mut c = config();
    Runs::Named { name: "quick".into(), no_wait: false }.scope(&mut c);
    assert!(c.skipped_waits.is_empty(), "no line about a wait that was never going to be awaited");
}
