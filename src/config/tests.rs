use super::*;
use crate::error::Error;

fn env(vars: &[(&str, &str)]) -> Environment {
    Environment::from_vars(vars.iter().map(|(k, v)| (k.into(), v.into())))
}

fn load_ok(text: &str, e: &mut Environment) -> Config {
    match parse(Path::new("/opt/config/init.toml"), text, e) {
        Ok(c) => c,
        Err(err) => panic!("{err}"),
    }
}

/// Every problem line, without the file name.
fn problems(text: &str) -> Vec<String> {
    match parse(Path::new("/c/init.toml"), text, &mut env(&[])) {
        Ok(_) => panic!("expected problems"),
        Err(Error::Invalid(p)) => {
            p.into_iter().map(|l| l.trim_start_matches("/c/init.toml:").to_string()).collect()
        }
        Err(e) => panic!("unexpected error {e}"),
    }
}

const FULL: &str = r#"
[user]
name = "app"
uid = "<<USER_UID:-1000>>"
gid = 1001
groups = ["users"]

[env]
DB_HOST = "db"
DB_URL = "postgres://<<DB_HOST>>:5432/app"

[[template]]
src = "nginx/site.conf"
dest = "/etc/nginx/conf.d/site.conf"
mode = "0640"
owner = "app:app"

[[volume]]
path = "/data"
mode = "0750"

[[wait]]
tcp = "<<DB_HOST>>:5432"
timeout = "30s"

[[wait]]
file = "/shared/ready"
timeout = 0
watch = true

[[service]]
name = "migrate"
oneshot = true
command = ["app", "migrate"]

[[service]]
name = "web"
shell = "exec gunicorn app"
after = ["migrate"]
ready = { http = "http://127.0.0.1:8000/health" }
stop_signal = "QUIT"
stop_delay = "2s"
signals = { TERM = "SIGQUIT", SIGHUP = "none" }
restart = "on-failure"
output = "prefix"
env = { B = "2", A = "1" }

[[task]]
name = "db-prepare"
command = ["app", "db", "prepare"]
workdir = "/srv"
"#;

#[test]
fn a_full_config_becomes_typed_values_with_defaults() {
    let mut e = env(&[]);
    let c = load_ok(FULL, &mut e);
    let user = c.user.unwrap();
    assert_eq!((user.name.as_str(), user.uid, user.gid), ("app", Some(1000), Some(1001)));
    assert_eq!(c.templates[0].src, Path::new("/opt/config/nginx/site.conf"));
    assert_eq!(c.templates[0].mode, Some(0o640));
    assert_eq!(c.templates[0].owner, Some(UserSpec { user: "app".into(), group: Some("app".into()) }));
    assert!(c.templates[0].overwrite);
    assert!(c.volumes[0].create && c.volumes[0].recursive && c.volumes[0].one_filesystem);
    assert_eq!(c.waits[0].target, Target::Tcp { host: "db".into(), port: 5432 });
    assert_eq!(c.waits[0].timeout, Some(Duration::from_secs(30)));
    assert_eq!((c.waits[1].timeout, c.waits[1].watch), (None, true));
    let web = &c.services[1];
    assert!(web.main && !c.services[0].main, "the first non-oneshot service is main");
    assert_eq!(web.command, ["/bin/sh", "-c", "exec gunicorn app", "web"], "$0 is the service's name");
    assert_eq!(web.stop_signal, libc::SIGQUIT);
    assert_eq!(web.signals, [(libc::SIGTERM, Some(libc::SIGQUIT)), (libc::SIGHUP, None)]);
    assert_eq!(web.env, [("B".to_string(), "2".to_string()), ("A".into(), "1".into())], "file order");
    assert_eq!((web.restart, web.output, web.critical), (Restart::OnFailure, Output::Prefix, true));
    assert_eq!(
        (web.heartbeat, web.restart_delay, web.max_restarts),
        (DEFAULT_HEARTBEAT, DEFAULT_RESTART_DELAY, 10)
    );
    assert_eq!(
        web.ready.as_ref().unwrap().how,
        ReadyHow::Probe(Target::Http("http://127.0.0.1:8000/health".into()))
    );
    assert_eq!(c.tasks[0].workdir.as_deref(), Some(Path::new("/srv")));
    assert_eq!(e.get_str("DB_URL"), Some("postgres://db:5432/app"));
}

#[test]
fn env_entries_are_evaluated_in_order_and_the_operators_environment_wins() {
    let text = "[env]\nZ = \"<<Y>>-z\"\nY = \"y\"\nW = \"from-config\"\nX = \"<<Y>>+<<W>>\"\n";
    // Z comes before Y in the file, so Y is not set yet when Z is evaluated.
    assert_eq!(problems(text), ["2:6: Y is not set: set Y or Y_FILE"]);
    let mut e = env(&[("W", "from-operator")]);
    load_ok(&text.replace("Z = \"<<Y>>-z\"\n", ""), &mut e);
    assert_eq!(e.get_str("X"), Some("y+from-operator"));
    assert_eq!(e.get_str("W"), Some("from-operator"));
}

#[test]
fn every_problem_is_reported_with_its_position() {
    let text = r#"
[[service]]
name = "web"
command = ["x"]
colour = "blue"
[[service]]
name = "api"
command = ["x"]
stop_signal = "SIGNOPE"
stop_timeout = "10 parsecs"

[[service]]
name = "worker"
shell = "run"
restart = "sometimes"
heartbeat = 5

[[template]]
src = "a"
dest = "relative/path"
mode = "0999"

[[volume]]
path = "/etc"

[[wait]]
tcp = "db"
http = "http://x"

[[wait]]
http = "https://secure"

[surprise]
"#;
    let got = problems(text);
    let want = [
        "5:1: unknown field `colour` in [[service]], expected one of `name`, `command`",
        "9:15: unknown signal \"SIGNOPE\"",
        "10:16: invalid duration \"10 parsecs\" (expected e.g. 500ms, 10s, 5m, 1h or 0)",
        "15:11: invalid restart \"sometimes\" (never, on-failure or always)",
        "16:13: duration 5 needs a unit: \"5s\", \"5ms\" or \"5m\"",
        "20:8: \"relative/path\" must be an absolute path",
        "21:8: invalid mode \"0999\" (an octal string such as \"0640\")",
        "24:8: /etc cannot be a volume: /etc is a system tree",
        "27:7: give exactly one of file, tcp, unix, http or command",
        "31:8: \"https://secure\": https is not supported (plain HTTP only)",
        "33:2: unknown table `surprise` (expected user, shell, env, template, volume, wait, service or task)",
    ];
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for (g, w) in got.iter().zip(want) {
        assert!(g.starts_with(w), "want {w:?}, got {g:?}");
    }
}

#[test]
fn wrong_types_and_unknown_keys_are_all_reported_even_within_one_entry() {
    let text = "[[service]]\nname = \"web\"\ncommand = \"not an array\"\ncritical = \"yes\"\nmax_restarts = \"5\"\ntypo = 1\nready = { tcp = \"db:1\", watch = true }\n[[template]]\nsrc = \"a\"\n";
    assert_eq!(
        problems(text),
        [
            "2:8: \"web\" needs either `command` (a non-empty array of strings) or `shell`",
            "3:11: `command` must be an array of strings, not string",
            "4:12: `critical` must be true or false, not string",
            "5:16: `max_restarts` must be an integer, not string",
            "6:1: unknown field `typo` in [[service]], expected one of `name`, `command`, `shell`, `user`, `env`, `workdir`, `after`, `oneshot`, `ready`, `semaphore`, `heartbeat`, `restart`, `restart_delay`, `max_restarts`, `critical`, `main`, `stop_signal`, `stop_delay`, `stop_timeout`, `signals`, `output`, `reload_signal`, `enabled`",
            "7:25: unknown field `watch` in a ready probe, expected one of `file`, `tcp`, `unix`, `http`, `command`, `timeout`, `fd`, `notify`, `log`",
            "8:1: [[template]] is missing `dest`",
        ]
    );
}

#[test]
fn references_cycles_duplicates_and_mains_are_checked_across_services() {
    let text = r#"
[[service]]
name = "a"
command = ["a"]
after = ["b", "ghost"]
main = true
[[service]]
name = "b"
command = ["b"]
after = ["a"]
main = true
[[task]]
name = "a"
command = ["t"]
"#;
    let got = problems(text).join("\n");
    assert!(got.contains("`after` names \"ghost\", which is not a service"), "{got}");
    assert!(got.contains("`after` forms a cycle: a -> b -> a"), "{got}");
    assert!(got.contains("task name \"a\" is already used by a service"), "{got}");
    assert!(got.contains("more than one main service: a, b"), "{got}");
}

#[test]
fn missing_variables_in_values_are_all_reported_where_they_are() {
    let text = "[[template]]\nsrc = \"x\"\ndest = \"/etc/<<APP>>/<<ENV:?set ENV>>.conf\"\n";
    assert_eq!(
        problems(text),
        ["3:14: APP is not set: set APP or APP_FILE", "3:22: ENV is not set: set ENV"]
    );
}

#[test]
fn toml_syntax_errors_have_positions_and_values_cannot_inject_toml() {
    let got = problems("[[service]]\nname = \"web\ncommand = [\"x\"]\n");
    assert!(got[0].starts_with("2:"), "{got:?}");
    // A variable holding TOML is just text in the value it lands in.
    let text = "[[task]]\nname = \"t\"\ncommand = [\"<<INJECT>>\"]\n";
    let mut e = env(&[("INJECT", "x\"]\nuser = \"root")]);
    let c = load_ok(text, &mut e);
    assert_eq!(c.tasks[0].command, ["x\"]\nuser = \"root"]);
    assert_eq!(c.tasks[0].user, None);
}

#[test]
fn a_table_where_an_array_of_tables_is_expected_is_explained() {
    let got = problems("[service]\nname = \"web\"\n");
    assert!(got[0].contains("write [[service]]"), "{got:?}");
}

#[test]
fn user_specs_and_ids_are_validated() {
    let text = "[user]\nname = \"app\"\nuid = \"987:987\"\n[[task]]\nname = \"t\"\ncommand = [\"x\"]\nuser = \"a:b:c\"\n";
    assert_eq!(problems(text), ["7:8: invalid user spec \"a:b:c\" (name, uid, name:group or uid:gid)"]);
    let c = load_ok("[user]\nname = \"app\"\nuid = \"987:988\"\n", &mut env(&[]));
    let u = c.user.unwrap();
    assert_eq!((u.uid, u.gid), (Some(987), Some(988)));
    assert_eq!(
        problems("[user]\nuid = \"x1\"\n"),
        ["1:1: [user] needs a `name`", "2:7: invalid uid \"x1\" (a number, or uid:gid)"]
    );
}

#[test]
fn durations_in_every_unit() {
    assert_eq!(parse_duration("500ms"), Ok(Some(Duration::from_millis(500))));
    assert_eq!(parse_duration("10s"), Ok(Some(Duration::from_secs(10))));
    assert_eq!(parse_duration("5m"), Ok(Some(Duration::from_secs(300))));
    assert_eq!(parse_duration("1h"), Ok(Some(Duration::from_secs(3600))));
    assert_eq!(parse_duration("0"), Ok(None));
    assert_eq!(parse_duration("0s"), Ok(None));
    for bad in ["", "10", "s", "-1s", "1.5s", "10 s", "10sec", "99999999999999999999h"] {
        let err = parse_duration(bad).expect_err(bad);
        assert!(matches!(&err, BadValue::Duration(t) | BadValue::OverLimit(t) if t == bad), "{err}");
        assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
    }
}

#[test]
fn ten_thousand_env_entries_each_read_the_one_before() {
    let n = 10_000;
    let mut text = String::from("[env]\nK0 = \"v\"\n");
    for i in 1..n {
        text.push_str(&format!("K{i} = \"<<K{}>>\"\n", i - 1));
    }
    let mut e = env(&[("K5000", "op")]);
    load_ok(&text, &mut e);
    assert_eq!(
        (e.get_str("K4999"), e.get_str("K5000"), e.get_str("K9999")),
        (Some("v"), Some("op"), Some("op"))
    );
    assert_eq!(e.vars().len(), n);
    assert_eq!(e.vars()[0].0, "K5000", "the operator's variable keeps its place");
}

#[test]
fn ten_thousand_missing_variables_are_each_reported_where_they_are() {
    let n = 10_000;
    let text: String = std::iter::once("[env]\n".to_string())
        .chain((0..n).map(|i| format!("K{i} = \"x <<M{i}>>\"\n")))
        .collect();
    let found = problems(&text);
    assert_eq!(found.len(), n);
    assert_eq!(found[0], "2:9: M0 is not set: set M0 or M0_FILE");
    let (line, col, m) = (n + 1, 8 + (n - 1).to_string().len(), n - 1);
    assert_eq!(found[n - 1], format!("{line}:{col}: M{m} is not set: set M{m} or M{m}_FILE"));
}

#[test]
fn a_duration_over_the_limit_is_a_config_problem() {
    let text = "[[wait]]\ntcp = \"db:5432\"\ntimeout = \"18446744073709551615s\"\n";
    assert_eq!(
        problems(text),
        ["3:11: duration \"18446744073709551615s\" is over the limit of 8760h (365 days)"]
    );
}

#[test]
fn user_values_cannot_inject_passwd_lines_or_take_a_system_home() {
    let text = "[user]\nname = \"app\"\nuid = 1000\nhome = \"<<H>>\"\nshell = \"<<S>>\"\ngroups = [\"users\", \"<<G>>\"]\n";
    let mut e = env(&[("H", "/home/app:0:0::/:/bin/sh\nx"), ("S", "/bin/sh\0"), ("G", "root:x:0:app")]);
    let got = match parse(Path::new("/c/init.toml"), text, &mut e) {
        Err(Error::Invalid(p)) => p,
        other => panic!("expected problems, got {other:?}"),
    };
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(
        got[0].starts_with("/c/init.toml:4:8: [user] home \"/home/app:0:0::/:/bin/sh\\nx\" contains `:`")
    );
    assert!(got[1].starts_with("/c/init.toml:5:9: [user] shell \"/bin/sh\\0\" contains the control"));
    assert!(got[2].starts_with("/c/init.toml:6:20: [user] groups \"root:x:0:app\" contains `:`"), "{got:?}");
    for (home, why) in
        [("/", "root of the filesystem"), ("/etc/app", "/etc is a system tree"), ("/tmp", "/tmp")]
    {
        let got = problems(&format!("[user]\nname = \"app\"\nuid = 1\nhome = \"{home}\"\n"));
        assert!(got[0].starts_with("4:8: [user] home") && got[0].contains(why), "{got:?}");
    }
    let got = problems("[user]\nname = \"0day\"\nuid = 1\nshell = \"bin/sh\"\n");
    assert!(got[0].starts_with("2:8: [user] name \"0day\" is not a valid name"), "{got:?}");
    assert_eq!(got[1], "4:9: [user] shell \"bin/sh\" must be an absolute path");
}

#[test]
fn a_wait_whose_target_renders_empty_is_skipped_and_recorded() {
    let text = "[[wait]]\nfile = \"<<DB_SEMAPHORE:->>\"\n[[wait]]\ntcp = \"<<DB_ADDR:->>\"\n\
                [[wait]]\nunix = \"<<SOCK-/run/app.sock>>\"\n";
    let c = load_ok(text, &mut env(&[("SOCK", "")]));
    assert!(c.waits.is_empty(), "{:?}", c.waits);
    assert_eq!(
        c.skipped_waits,
        [
            "/opt/config/init.toml:2: [[wait]] skipped: file = \"<<DB_SEMAPHORE:->>\" renders empty",
            "/opt/config/init.toml:4: [[wait]] skipped: tcp = \"<<DB_ADDR:->>\" renders empty",
            "/opt/config/init.toml:6: [[wait]] skipped: unix = \"<<SOCK-/run/app.sock>>\" renders empty",
        ]
    );
    let c = load_ok(text, &mut env(&[("DB_SEMAPHORE", "/sem/db.ready"), ("DB_ADDR", "db:5432")]));
    let targets: Vec<String> = c.waits.iter().map(|w| w.target.to_string()).collect();
    assert_eq!(targets, ["file:/sem/db.ready", "tcp:db:5432", "unix:/run/app.sock"]);
    assert_eq!(c.skipped_waits.len(), 0);
}

#[test]
fn a_template_notifies_services_that_exist_and_reload_signal_is_a_signal() {
    let text = "[[template]]\nsrc = \"a\"\ndest = \"/etc/a\"\nnotify = [\"web\", \"nope\"]\n\
                [[service]]\nname = \"web\"\ncommand = [\"w\"]\nreload_signal = \"HUP\"\n";
    assert_eq!(problems(text), ["4:18: `notify` names \"nope\", which is not a service"]);
    let c = load_ok(&text.replace(", \"nope\"", ""), &mut env(&[]));
    assert_eq!(
        (c.templates[0].notify.as_slice(), c.services[0].reload_signal),
        (&["web".to_string()][..], Some(libc::SIGHUP))
    );
}

mod parts;
mod ready;
