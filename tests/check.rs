//! `init check` through the real binary: every problem boot would refuse,
//! reported in one run at the line that causes it, with exit 78 — and the
//! same problems at boot (67 for users, groups and owners).

mod common;

use std::fs;
use std::process::Output;

use common::{TempDir, init_cmd, stderr_of, stdout_of};

/// `init -c DIR/init.toml ARGS`, `{dir}` in the config replaced by DIR.
fn init(dir: &TempDir, config: &str, args: &[&str]) -> Output {
    let d = dir.path().display().to_string();
    fs::write(dir.join("init.toml"), config.replace("{dir}", &d)).unwrap();
    let mut cmd = init_cmd();
    cmd.arg("-c").arg(dir.join("init.toml")).args(args).env("INIT_RUN_DIR", dir.join("run"));
    cmd.output().unwrap()
}

/// The ERROR lines of stderr, without the level.
fn errors(out: &Output) -> Vec<String> {
    let err = stderr_of(out);
    err.lines().filter_map(|l| l.split_once("ERROR ").map(|(_, m)| m.to_string())).collect()
}

#[test]
fn a_bad_signal_hides_neither_a_missing_variable_nor_an_undefined_after() {
    let dir = TempDir::new("check-all");
    let d = dir.path().display().to_string();
    fs::write(dir.join("app.tmpl"), "port=<<PORT>>\n").unwrap();
    let config = "[[template]]\nsrc = \"app.tmpl\"\ndest = \"{dir}/app.conf\"\n\
                  [[service]]\nname = \"web\"\ncommand = [\"x\"]\nstop_signal = \"SIGWHAT\"\n\
                  after = [\"db\"]\n";
    let out = init(&dir, config, &["check"]);
    assert_eq!(out.status.code(), Some(78), "{}", stderr_of(&out));
    assert_eq!(
        errors(&out),
        [
            format!("{d}/init.toml:7:15: unknown signal \"SIGWHAT\""),
            format!("{d}/init.toml:8:10: service \"web\": `after` names \"db\", which is not a service"),
            format!("{d}/app.tmpl:1:6: PORT is not set: set PORT or PORT_FILE"),
        ]
    );
    assert!(!dir.join("app.conf").exists(), "check writes nothing");
}

#[test]
fn a_cycle_and_a_second_main_point_at_their_own_lines() {
    let dir = TempDir::new("check-cycle");
    let d = dir.path().display().to_string();
    let config = "[[service]]\nname = \"a\"\ncommand = [\"a\"]\nafter = [\"b\"]\nmain = true\n\
                  [[service]]\nname = \"b\"\ncommand = [\"b\"]\nafter = [\"a\"]\nmain = true\n";
    let out = init(&dir, config, &["check"]);
    assert_eq!(out.status.code(), Some(78));
    assert_eq!(
        errors(&out),
        [
            format!("{d}/init.toml:7:8: more than one main service: a, b"),
            format!("{d}/init.toml:9:10: `after` forms a cycle: a -> b -> a"),
        ]
    );
}

const UNKNOWN: &str = "[user]\nname = \"mooring-check\"\nuid = 4711\ngroups = [\"nogroup-xyz\"]\n\
                       [[volume]]\npath = \"{dir}/data\"\nowner = \"nobody-here\"\n\
                       [[task]]\nname = \"t\"\ncommand = [\"true\"]\nuser = \"ghost\"\n";

#[test]
fn check_resolves_every_owner_user_and_group_and_changes_nothing() {
    let dir = TempDir::new("check-users");
    let d = dir.path().display().to_string();
    let passwd = fs::read_to_string("/etc/passwd").unwrap();
    let out = init(&dir, UNKNOWN, &["check"]);
    assert_eq!(out.status.code(), Some(78), "{}", stderr_of(&out));
    assert_eq!(
        errors(&out),
        [
            "group \"nogroup-xyz\" (in [user] groups) not found in /etc/group".to_string(),
            format!(
                "volume {d}/data: owner user \"nobody-here\" not found in /etc/passwd (spec nobody-here)"
            ),
            "task t: user \"ghost\" not found in /etc/passwd (spec ghost)".to_string(),
        ]
    );
    assert_eq!(fs::read_to_string("/etc/passwd").unwrap(), passwd, "check creates no user");
    assert!(!dir.join("data").exists(), "check creates no volume");
    assert!(stdout_of(&out).contains(&format!("volume   {d}/data owner nobody-here, recursive\n")));
}

#[test]
fn boot_refuses_the_same_owner_and_user_with_67() {
    let dir = TempDir::new("boot-users");
    let d = dir.path().display().to_string();
    let volume = "[[volume]]\npath = \"{dir}/data\"\nowner = \"nobody-here\"\n";
    let out = init(&dir, volume, &["--", "true"]);
    assert_eq!(out.status.code(), Some(67), "{}", stderr_of(&out));
    let want =
        format!("volume {d}/data: owner user \"nobody-here\" not found in /etc/passwd (spec nobody-here)");
    assert_eq!(errors(&out), [want]);
    assert!(!dir.join("data").exists(), "nothing is created before every owner is known");
    let task = "[[task]]\nname = \"t\"\ncommand = [\"true\"]\nuser = \"ghost\"\n";
    let out = init(&dir, task, &["run", "t"]);
    assert_eq!(out.status.code(), Some(67), "{}", stderr_of(&out));
    assert_eq!(errors(&out), ["user \"ghost\" not found in /etc/passwd (spec ghost)"]);
}

/// `init -c DIR/init.toml ARGS` as uid and gid 4242, in a clean environment.
fn init_as_4242(dir: &TempDir, args: &[&str]) -> std::process::Output {
    let config = dir.join("init.toml");
    std::process::Command::new("setpriv")
        .args(["--reuid", "4242", "--regid", "4242", "--clear-groups", common::INIT, "-c"])
        .arg(config)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("INIT_RUN_DIR", dir.join("run"))
        .output()
        .unwrap()
}

#[test]
fn not_root_check_lists_what_boot_skips_and_boot_warns_the_same() {
    let dir = TempDir::new("check-nonroot");
    let d = dir.path().display().to_string();
    fs::write(dir.join("a.tmpl"), "a\n").unwrap();
    for sub in ["out", "data", "run"] {
        fs::create_dir(dir.join(sub)).unwrap();
    }
    let uid = Some(nix::unistd::Uid::from_raw(4242));
    for sub in ["out", "run"] {
        nix::unistd::chown(&dir.join(sub), uid, None).unwrap();
    }
    let config = "[user]\nname = \"app\"\nuid = 1000\n\
                  [[template]]\nsrc = \"a.tmpl\"\ndest = \"{dir}/out/a.conf\"\nowner = \"1000:1000\"\n\
                  [[volume]]\npath = \"{dir}/data\"\nowner = \"1000:1000\"\nmode = \"0750\"\n\
                  [[service]]\nname = \"db\"\ncommand = [\"x\"]\nuser = \"1000\"\n";
    fs::write(dir.join("init.toml"), config.replace("{dir}", &d)).unwrap();
    let as_4242 = |args: &[&str]| init_as_4242(&dir, args);
    let skipped = [
        "not root: user \"app\" (uid 1000) not created; children run as init's own uid 4242:4242".to_string(),
        format!(
            "not root: template owners left as they are, uid 4242 may not give them away: {d}/out/a.conf (1000:1000)"
        ),
        "not root: uid 4242 has no passwd entry and /etc/passwd may not be written; children get HOME=/tmp"
            .into(),
        format!("not root: mode 0750 of {d}/data not set (owned by uid 0)"),
        format!(
            "not root: volume owners left as they are, uid 4242 may not give them away: {d}/data (1000:1000)"
        ),
    ];
    let out = as_4242(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let stdout = stdout_of(&out);
    let listed: Vec<&str> = stdout.lines().filter_map(|l| l.strip_prefix("skip     ")).collect();
    let service = "not root: service db runs as init's own uid 4242:4242, not as 1000";
    assert_eq!(listed, skipped.iter().map(String::as_str).chain([service]).collect::<Vec<_>>());
    // Boot says the same, one WARN each, and runs the command as init.
    let out = as_4242(&["--", "sh", "-c", &format!("id -u; echo $HOME; stat -c %u {d}/out/a.conf")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let warns: Vec<String> =
        stderr_of(&out).lines().filter_map(|l| l.strip_prefix("init: WARN ")).map(String::from).collect();
    assert_eq!(warns, skipped, "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "4242\n/tmp\n4242\n", "the template is init's own file");
}

#[test]
fn a_bad_log_pattern_is_refused_by_check_and_by_boot_with_78() {
    let dir = TempDir::new("check-log");
    let d = dir.path().display().to_string();
    let config = "[[service]]\nname = \"db\"\ncommand = [\"true\"]\nready = { log = '(ready' }\n";
    for args in [&["check"][..], &["--", "true"], &[]] {
        let out = init(&dir, config, args);
        assert_eq!(out.status.code(), Some(78), "{args:?}: {}", stderr_of(&out));
        let want =
            format!("{d}/init.toml:4:17: service \"db\": ready.log: unclosed group at 5 in \"(ready\"");
        assert_eq!(errors(&out), [want], "{args:?}");
    }
}

#[test]
fn a_bad_service_hides_its_consequences_and_no_main_is_guessed() {
    let dir = TempDir::new("check-follow-on");
    let d = dir.path().display().to_string();
    fs::write(dir.join("api.tmpl"), "port=8080\n").unwrap();
    let config = "[[template]]\nsrc = \"api.tmpl\"\ndest = \"{dir}/api.conf\"\nnotify = [\"api\"]\n\
                  [[service]]\nname = \"api\"\ncommand = [\"api\"]\nrestart = \"sometimes\"\n\
                  [[service]]\nname = \"worker\"\ncommand = [\"worker\"]\nafter = [\"api\"]\n";
    let out = init(&dir, config, &["check"]);
    assert_eq!(out.status.code(), Some(78), "{}", stderr_of(&out));
    assert_eq!(
        errors(&out),
        [format!("{d}/init.toml:8:11: invalid restart \"sometimes\" (never, on-failure or always)")]
    );
    let stdout = stdout_of(&out);
    assert!(stdout.contains("service  worker: worker [after api]\n"), "not marked main: {stdout}");
}

#[test]
fn a_missing_variable_says_its_file_variable_would_do_too() {
    let dir = TempDir::new("check-missing");
    let d = dir.path().display().to_string();
    fs::write(dir.join("db.tmpl"), "password=<<DB_PASSWORD>>\nhost=<<DB_HOST:?the database's name>>\n")
        .unwrap();
    let config = "[[template]]\nsrc = \"db.tmpl\"\ndest = \"{dir}/db.conf\"\nmode = \"0600\"\n\
                  [[service]]\nname = \"app\"\ncommand = [\"<<APP_CMD>>\"]\n";
    let out = init(&dir, config, &["check"]);
    assert_eq!(out.status.code(), Some(78), "{}", stderr_of(&out));
    let (password, host) = (
        format!("{d}/db.tmpl:1:10: DB_PASSWORD is not set: set DB_PASSWORD or DB_PASSWORD_FILE"),
        format!("{d}/db.tmpl:2:6: DB_HOST is not set: the database's name"),
    );
    let command = format!("{d}/init.toml:7:13: APP_CMD is not set: set APP_CMD or APP_CMD_FILE");
    assert_eq!(errors(&out), [command, password.clone(), host.clone()]);
    // Boot says the same of the templates.
    let out = init(&dir, config.split("[[service]]").next().unwrap(), &["--", "true"]);
    assert_eq!(out.status.code(), Some(78), "{}", stderr_of(&out));
    assert_eq!(errors(&out), [password, host]);
}

#[test]
fn check_warns_of_a_placeholder_left_unclosed_naming_its_line() {
    let dir = TempDir::new("check-unclosed");
    let d = dir.path().display().to_string();
    let text = "db=<<DB_NAME>\nuser=<<DB_USER:-app>\ncat <<EOF\nport=<<PORT:-5432>>\n";
    fs::write(dir.join("db.tmpl"), text).unwrap();
    let config = "[[template]]\nsrc = \"db.tmpl\"\ndest = \"{dir}/db.conf\"\n";
    let out = init(&dir, config, &["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let warns: Vec<String> =
        stderr_of(&out).lines().filter_map(|l| l.strip_prefix("init: WARN ")).map(String::from).collect();
    assert_eq!(
        warns,
        [
            format!(
                "{d}/db.tmpl:1:4: \"<<DB_NAME>\" looks like a placeholder but is not closed (write <<DB_NAME>>)"
            ),
            format!(
                "{d}/db.tmpl:2:6: \"<<DB_USER:-app>\" looks like a placeholder but is not closed (write <<DB_USER:-app>>)"
            ),
        ]
    );
}
