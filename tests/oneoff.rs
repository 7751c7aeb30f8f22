//! One-off work in a fresh container, as PID 1 of a new PID namespace
//! (docs/reference.md, "One-off work"): a task without the waits, an ad-hoc
//! command with only the templates and waits that have no `for`, a task by
//! its bare name, parts switched on and off from the environment, a
//! `[user]` whose name renders empty, and where `init shell` starts
//! (`--workdir`, `[shell] workdir`).

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Duration;

use common::{Builder, Init, Mode, TempDir};

/// A dependency that never comes (a closed port, a long timeout) for every
/// run, one only `web` needs, a template only `web` needs (its variable is
/// not set), one every run needs.
const FRESH: &str = r#"
[[template]]
src = "all.tmpl"
dest = "{dir}/all.conf"

[[template]]
src = "web.tmpl"
dest = "{dir}/web.conf"
for = ["web"]

[[wait]]
tcp = "127.0.0.1:1"
timeout = "10m"

[[wait]]
tcp = "127.0.0.1:2"
timeout = "10m"
for = ["web"]

[[service]]
name = "web"
shell = "echo web"

[[task]]
name = "make-config"
shell = "echo made > {dir}/made; echo \"args:$*\" >> {dir}/made"
waits = false

[[task]]
name = "migrate"
shell = "echo migrated > {dir}/migrated"
"#;

/// Init with `config` and its templates, a program `make-config` on PATH
/// (it writes `program` where the task writes `made`), and `args`.
fn start(tag: &str, config: &str, args: &[&str]) -> Init {
    Builder::new(tag, Mode::Pid1)
        .file("init.toml", config)
        .file("all.tmpl", "all\n")
        .file("web.tmpl", "bind=<<WEB_BIND>>\n")
        .before(|dir| {
            fs::create_dir(dir.join("bin")).unwrap();
            let path = dir.join("bin/make-config");
            fs::write(&path, format!("#!/bin/sh\necho program > {}/made\n", dir.display())).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        })
        .env("PATH", &format!("{{dir}}/bin:{}", std::env::var("PATH").unwrap_or_default()))
        .args(["-c", "{dir}/init.toml"])
        .args(args)
        .start()
}

/// Runs to the end long before the waits' timeouts (10 minutes): the
/// closed ports were not awaited.
fn finishes_at_once(init: &mut Init) -> i32 {
    let code = init.wait();
    assert!(init.elapsed() < Duration::from_secs(10), "took {:?}: {}", init.elapsed(), init.stderr());
    code
}

#[test]
fn a_task_with_waits_false_runs_at_once_without_the_variables_of_web() {
    let mut init = start("oneoff-waits-false", FRESH, &["run", "make-config", "x"]);
    assert_eq!(finishes_at_once(&mut init), 0, "{}", init.stderr());
    assert_eq!(init.read("made"), "made\nargs:x\n");
    assert_eq!(init.read("all.conf"), "all\n", "a template without `for` serves every run");
    assert!(!init.dir.join("web.conf").exists(), "web's template is not rendered for make-config");
}

#[test]
fn run_no_wait_skips_the_configured_waits_for_one_run() {
    let mut init = start("oneoff-no-wait", FRESH, &["run", "--no-wait", "migrate"]);
    assert_eq!(finishes_at_once(&mut init), 0, "{}", init.stderr());
    assert_eq!(init.read("migrated"), "migrated\n");
}

#[test]
fn a_task_by_its_bare_name_is_the_task_and_after_dashes_the_program() {
    let mut init = start("oneoff-bare", FRESH, &["make-config", "y"]);
    assert_eq!(finishes_at_once(&mut init), 0, "{}", init.stderr());
    assert_eq!(init.read("made"), "made\nargs:y\n", "the task shadows the program");
    // An ad-hoc command awaits the waits without `for`: that one is there.
    let config = FRESH.replace("tcp = \"127.0.0.1:1\"", "file = \"{dir}/init.toml\"");
    let mut init = start("oneoff-dashes", &config, &["--", "make-config"]);
    assert_eq!(finishes_at_once(&mut init), 0, "{}", init.stderr());
    assert_eq!(init.read("made"), "program\n", "after `--` it is the program");
}

#[test]
fn an_adhoc_command_gets_only_what_has_no_for_and_a_service_still_gets_all() {
    let config = FRESH.replace("tcp = \"127.0.0.1:1\"", "file = \"{dir}/init.toml\"");
    let mut init = start("oneoff-adhoc", &config, &["sh", "-c", "cat all.conf; echo ran"]);
    assert_eq!(finishes_at_once(&mut init), 0, "{}", init.stderr());
    assert_eq!(init.stdout(), "all\nran\n");
    assert!(!init.dir.join("web.conf").exists(), "web's template is not rendered for bash");
    // Boot runs web: its template's variable is required.
    let mut init = start("oneoff-boot", &config, &[]);
    assert_eq!(init.wait(), 78, "{}", init.stderr());
    assert!(init.stderr().contains("web.tmpl:1:6: WEB_BIND is not set"), "{}", init.stderr());
}

/// Two services, `side` switched by SSH (ready once it wrote its mark);
/// `main` comes `after` it, writes its mark and ends the container; a
/// template switched by RENDER.
const SWITCHED: &str = r#"
[[template]]
src = "all.tmpl"
dest = "{dir}/all.conf"
enabled = "<<RENDER:-false>>"

[[service]]
name = "side"
enabled = "<<SSH:-false>>"
shell = "echo side > {dir}/side.ran; exec sleep 60"
ready = { file = "{dir}/side.ran" }
critical = false

[[service]]
name = "main"
after = ["side"]
shell = "echo main > {dir}/main.ran"
"#;

#[test]
fn a_service_switched_off_does_not_run_and_its_dependents_start_without_it() {
    let mut init = start("oneoff-off", SWITCHED, &[]);
    assert_eq!(init.wait(), 0, "{}", init.stderr());
    assert_eq!(init.read("main.ran"), "main\n");
    assert!(!init.dir.join("side.ran").exists(), "{}", init.stderr());
    assert!(!init.dir.join("all.conf").exists(), "a template switched off is not rendered");
}

#[test]
fn a_service_and_a_template_switched_on_from_the_environment_run_and_render() {
    let mut init = Builder::new("oneoff-on", Mode::Pid1)
        .file("init.toml", SWITCHED)
        .file("all.tmpl", "all\n")
        .env("SSH", "yes")
        .env("RENDER", "1")
        .args(["-c", "{dir}/init.toml"])
        .start();
    assert_eq!(init.wait(), 0, "{}", init.stderr());
    assert_eq!((init.read("side.ran"), init.read("main.ran")), ("side\n".into(), "main\n".into()));
    assert_eq!(init.read("all.conf"), "all\n");
}

#[test]
fn a_bad_boolean_is_one_config_error_line_with_78() {
    let mut init = Builder::new("oneoff-bad", Mode::Pid1)
        .file("init.toml", SWITCHED)
        .env("SSH", "maybe")
        .args(["-c", "{dir}/init.toml"])
        .start();
    assert_eq!(init.wait(), 78, "{}", init.stderr());
    let errors: Vec<String> =
        init.stderr().lines().filter(|l| l.contains("ERROR")).map(String::from).collect();
    let want = format!(
        "init: ERROR {}:9:11: [[service]] \"side\": `enabled` renders \"maybe\": write true, false, 1, 0, yes, no or leave it empty",
        init.dir.s("init.toml")
    );
    assert_eq!(errors, [want]);
    assert!(!init.dir.join("main.ran").exists());
}

#[test]
fn a_user_whose_name_renders_empty_is_no_user_and_children_run_as_init() {
    // The seed's base image: root unless USER_NAME is set, USER_UID required
    // with it, USER_GID the uid when not given: without a name, the gid
    // [env] leaves empty is not given (before: "invalid gid", 78).
    let config = "[env]\nUSER_GID = \"<<USER_UID:->>\"\n[user]\nname = \"<<USER_NAME:->>\"\n\
                  uid = \"<<USER_UID>>\"\ngid = \"<<USER_GID>>\"\n";
    let mut init = Builder::new("oneoff-nouser", Mode::Pid1)
        .file("init.toml", config)
        .args(["-c", "{dir}/init.toml", "--", "sh", "-c", "id -u; id -g"])
        .start();
    assert_eq!(init.wait(), 0, "{}", init.stderr());
    let me = format!("{}\n{}\n", nix::unistd::getuid(), nix::unistd::getgid());
    assert_eq!(init.stdout(), me, "{}", init.stderr());
    // With a name, the uid it needs is required.
    let mut init = Builder::new("oneoff-user", Mode::Pid1)
        .file("init.toml", config)
        .env("USER_NAME", "app")
        .args(["-c", "{dir}/init.toml", "--", "true"])
        .start();
    assert_eq!(init.wait(), 78, "{}", init.stderr());
    assert!(init.stderr().contains("USER_UID is not set"), "{}", init.stderr());
}

#[test]
fn a_shell_starts_in_workdir_else_in_shell_workdir_else_in_the_users_home() {
    let input = TempDir::new("oneoff-shell-input");
    fs::write(input.join("typed"), "pwd\n").unwrap();
    let shell = |tag: &str, config: &str, args: &[&str]| {
        let stdin = Stdio::from(fs::File::open(input.join("typed")).unwrap());
        let mut init = Builder::new(tag, Mode::Pid1)
            .before(|dir| ["wd", "cfg"].iter().for_each(|d| fs::create_dir(dir.join(d)).unwrap()))
            .file("init.toml", config)
            .stdin(stdin)
            .args(["-c", "{dir}/init.toml"])
            .args(args)
            .start();
        assert_eq!(init.wait(), 0, "{}", init.stderr());
        (init.stdout(), init.dir.s("wd"), init.dir.s("cfg"))
    };
    let configured = "[shell]\nworkdir = \"<<SHELL_DIR:-{dir}/cfg>>\"\n";
    let (out, wd, _) = shell("oneoff-shell-wd", configured, &["shell", "--workdir", "{dir}/wd", "root"]);
    assert_eq!(out, format!("{wd}\n"), "--workdir wins");
    let (out, _, cfg) = shell("oneoff-shell-cfg", configured, &["shell", "root"]);
    assert_eq!(out, format!("{cfg}\n"), "[shell] workdir");
    let (out, _, _) = shell("oneoff-shell-home", "", &["shell", "root"]);
    assert_eq!(out, "/root\n");
}

#[test]
fn a_relative_shell_workdir_is_one_line_and_78() {
    let mut init = Builder::new("oneoff-shell-relative", Mode::Pid1)
        .file("init.toml", "[shell]\nworkdir = \"tmp\"\n")
        .args(["-c", "{dir}/init.toml", "shell", "root"])
        .start();
    assert_eq!(init.wait(), 78, "{}", init.stderr());
    let err = init.stderr();
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("[shell] workdir \"tmp\" must be an absolute path"), "{err}");
}

#[test]
fn check_lists_parts_switched_off_and_checks_them_and_every_for_where_it_can() {
    let config = r#"
[[template]]
src = "web.tmpl"
dest = "{dir}/web.conf"
for = ["web"]

[[service]]
name = "web"
shell = "echo web"

[[service]]
name = "sshd"
enabled = "<<SSH:-false>>"
command = ["sshd", "-p", "<<SSH_PORT>>"]
stop_signal = "SIGWHAT"
"#;
    let mut init = Builder::new("oneoff-check", Mode::Direct)
        .file("init.toml", config)
        .file("web.tmpl", "bind=<<WEB_BIND>>\n")
        .args(["-c", "{dir}/init.toml", "check"])
        .start();
    assert_eq!(init.wait(), 78, "{}", init.stderr());
    let path = init.dir.s("init.toml");
    let off = format!(
        "off      {path}:13: [[service]] \"sshd\" switched off: enabled = \"<<SSH:-false>>\" renders \"false\""
    );
    assert!(init.stdout().lines().any(|l| l == off), "{}", init.stdout());
    let stderr = init.stderr();
    assert!(stderr.contains("web.tmpl:1:6: WEB_BIND is not set"), "a template for web is checked: {stderr}");
    assert!(stderr.contains(&format!("{path}:15:15: unknown signal")), "a wrong value when off: {stderr}");
    assert!(!stderr.contains("SSH_PORT"), "needed only when switched on: {stderr}");
}

#[test]
fn a_task_switched_off_is_refused_with_64_by_name_and_by_bare_name() {
    let config = FRESH.replace("waits = false", "waits = false\nenabled = \"<<MAKE:-no>>\"");
    for args in [&["run", "make-config"][..], &["make-config"]] {
        let mut init = start("oneoff-task-off", &config, args);
        assert_eq!(finishes_at_once(&mut init), 64, "{args:?}: {}", init.stderr());
        assert!(init.stderr().contains("[[task]] \"make-config\" switched off"), "{}", init.stderr());
        assert!(!init.dir.join("made").exists(), "neither the task nor the program ran");
    }
}
