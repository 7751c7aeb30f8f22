//! A service's `ready`: probes, and the announcements (fd, notify, log).

use super::*;

#[test]
fn an_empty_ready_probe_target_is_still_an_error() {
    let text = "[[service]]\nname = \"db\"\ncommand = [\"db\"]\nready = { file = \"<<X:->>\" }\n";
    assert_eq!(problems(text), ["4:18: \"\" must be an absolute path"]);
}

#[test]
fn announced_readiness_is_one_fd_from_3_or_notify_and_only_for_services() {
    let svc =
        |ready: &str| format!("[[service]]\nname = \"db\"\ncommand = [\"db\"]\nready = {{ {ready} }}\n");
    let c = load_ok(&svc("fd = 3, timeout = \"10s\""), &mut env(&[]));
    assert_eq!(
        c.services[0].ready,
        Some(Ready { how: ReadyHow::Fd(3), timeout: Some(Duration::from_secs(10)) })
    );
    let c = load_ok(&svc("notify = true"), &mut env(&[]));
    assert_eq!(c.services[0].ready.as_ref().map(|r| &r.how), Some(&ReadyHow::Notify));
    assert_eq!(
        problems(&svc("fd = 1")),
        ["4:16: `fd` must be from 3 to 255 (0, 1 and 2 are stdin, stdout and stderr)"]
    );
    assert_eq!(problems(&svc("notify = false")), ["4:20: `notify = false` announces nothing: leave it out"]);
    assert_eq!(
        problems(&svc("notify = true, tcp = \"db:1\"")),
        ["4:20: give exactly one of file, tcp, unix, http, command, fd, notify or log"]
    );
    let wait = problems("[[wait]]\nfd = 3\n");
    assert!(wait.iter().any(|p| p.contains("fd")), "{wait:?}");
}

#[test]
fn a_log_pattern_is_compiled_at_load_and_a_bad_one_names_its_service() {
    let svc =
        |ready: &str| format!("[[service]]\nname = \"db\"\ncommand = [\"db\"]\nready = {{ {ready} }}\n");
    let how = |c: &Config| c.services[0].ready.as_ref().map(|r| (r.how.clone(), r.timeout));
    let pattern = |p: &str| crate::pattern::Pattern::new(p).expect("valid");
    let c = load_ok(&svc(r#"log = '^\d+ ready$', timeout = "1m""#), &mut env(&[]));
    assert_eq!(how(&c), Some((ReadyHow::Log(pattern(r"^\d+ ready$")), Some(Duration::from_secs(60)))));
    // A template like every string, rendered before it is compiled; 5m by default.
    let c = load_ok(&svc(r#"log = "listening on \\[<<PORT>>\\]""#), &mut env(&[("PORT", "80")]));
    assert_eq!(how(&c), Some((ReadyHow::Log(pattern(r"listening on \[80\]")), Some(DEFAULT_WAIT_TIMEOUT))));
    assert_eq!(
        problems(&svc("log = '(ready'")),
        ["4:17: service \"db\": ready.log: unclosed group at 5 in \"(ready\""]
    );
    assert_eq!(
        problems(&svc("log = 'a{2,1}', timeout = \"1x\"")).len(),
        2,
        "the pattern and the timeout are both reported"
    );
    assert_eq!(
        problems(&svc("log = \"<<NOTHING:->>\"")),
        ["4:17: service \"db\": ready.log: empty pattern at 0 in \"\""]
    );
    assert_eq!(
        problems(&svc("fd = 3, log = 'x'")),
        ["4:16: give exactly one of file, tcp, unix, http, command, fd, notify or log"]
    );
    assert_eq!(
        problems(&svc("http = 'http://x/', log = 'x'")),
        ["4:37: give exactly one of file, tcp, unix, http, command, fd, notify or log"]
    );
    let wait = problems("[[wait]]\nlog = 'x'\n");
    assert!(wait.iter().any(|p| p.contains("unknown field `log`")), "{wait:?}");
}
