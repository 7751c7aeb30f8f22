//! The command line: parsing, usage errors and their exit codes, without a namespace.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::{INIT, TempDir, run_init};

/// Exactly one line on stderr, starting with `init: ERROR`.
fn one_error_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "want one line, got: {stderr}");
    assert!(lines[0].starts_with("init: ERROR "), "{stderr}");
    lines[0]
}

#[test]
fn an_unknown_option_exits_2_with_one_line_naming_it() {
    let (code, _, err) = run_init(["--bogus", "--", "true"]);
    assert_eq!(code, 2);
    assert!(one_error_line(&err).contains("--bogus"), "{err}");
}

#[test]
fn a_bad_duration_exits_2_naming_it() {
    let (code, _, err) = run_init(["--stop-timeout", "10 parsecs", "--", "true"]);
    assert_eq!(code, 2);
    assert!(one_error_line(&err).contains("\"10 parsecs\""), "{err}");
}

#[test]
fn a_bad_signal_scope_exits_2() {
    let (code, _, err) = run_init(["--signal-scope", "session", "--", "true"]);
    assert_eq!(code, 2);
    assert!(one_error_line(&err).contains("session"), "{err}");
}

#[test]
fn nothing_to_run_exits_2() {
    let (code, _, err) = run_init(Vec::<&str>::new());
    assert_eq!(code, 2);
    assert!(one_error_line(&err).contains("nothing to run"), "{err}");
}

#[test]
fn help_and_version_exit_0() {
    let (code, out, _) = run_init(["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Usage: init"), "{out}");
    let (code, out, _) = run_init(["version"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("init (mooring) "), "{out}");
}

#[test]
fn an_unknown_first_argument_is_the_command_and_its_options_are_its_own() {
    let (code, out, _) = run_init(["-q", "sh", "-c", "echo \"$0\"; exit 9", "-v"]);
    assert_eq!(code, 9);
    assert_eq!(out, "-v\n");
}

#[test]
fn options_may_follow_the_run_subcommand_and_dash_dash_ends_them() {
    let (code, out, _) =
        run_init(["run", "-q", "--stop-timeout", "1s", "--", "sh", "-c", "echo ran; exit 6"]);
    assert_eq!(code, 6);
    assert_eq!(out, "ran\n");
    // After `--`, a subcommand's name is just a program name.
    let (code, _, err) = run_init(["-q", "--", "version"]);
    assert_eq!(code, 127);
    assert!(err.contains("version: command not found"), "{err}");
}

#[test]
fn init_run_with_an_unknown_task_exits_64_naming_it() {
    let (code, _, err) = run_init(["run", "db-prepare", "--force"]);
    assert_eq!(code, 64);
    assert!(one_error_line(&err).contains("\"db-prepare\""), "{err}");
}

#[test]
fn a_missing_config_given_with_c_exits_78_naming_it() {
    let (code, _, err) = run_init(["-c", "/nonexistent/init.toml", "--", "true"]);
    assert_eq!(code, 78);
    assert!(one_error_line(&err).contains("/nonexistent/init.toml"), "{err}");
}

#[test]
fn a_bad_log_filter_or_format_exits_2_naming_the_variable() {
    let out = common::init_cmd().env("INIT_LOG_FORMAT", "xml").args(["--", "true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("INIT_LOG_FORMAT=\"xml\""));
    let out = common::init_cmd().env("INIT_LOG", "info,=bogus==").args(["--", "true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("INIT_LOG="));
}

#[test]
fn quiet_silences_info_and_init_log_can_raise_it() {
    let (_, _, err) = run_init(["-q", "--", "true"]);
    assert_eq!(err, "");
    let out = common::init_cmd().env("INIT_LOG", "debug").args(["--", "true"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("init: DEBUG not PID 1: made init a child subreaper"), "{err}");
}

#[test]
fn a_setuid_copy_of_init_refuses_to_run_with_77() {
    let dir = TempDir::new("setuid");
    let copy = dir.join("init");
    // `cp`, not fs::copy: a write fd open in this multi-threaded test process
    // would leak into a concurrent test's fork and make the exec fail (ETXTBSY).
    assert!(Command::new("cp").arg(INIT).arg(&copy).status().unwrap().success());
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o4755)).unwrap();
    let out = Command::new(&copy).args(["--", "true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(77));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("set-uid") && err.contains(copy.to_str().unwrap()), "{err}");
    // As another user too, where the kernel marks the start as secure.
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new("setpriv")
        .args([
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            copy.to_str().unwrap(),
            "--",
            "true",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(77), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_repeated_init_is_dropped_as_with_an_init_entrypoint() {
    // `docker compose run app init run -- CMD` with ENTRYPOINT ["init"].
    let (code, out, err) = run_init(["init", "run", "-q", "--", "sh", "-c", "echo ran; exit 4"]);
    assert_eq!((code, out.as_str()), (4, "ran\n"), "{err}");
}

/// `docker run IMAGE sh` on an image whose templates need variables: the
/// errors, then one line saying how to get a shell anyway; the services'
/// own boot gets no such line.
#[test]
fn an_ad_hoc_command_refused_for_its_templates_gets_one_hint_line() {
    let dir = TempDir::new("adhoc-hint");
    let d = dir.path().display().to_string();
    fs::write(dir.join("app.tmpl"), "port=<<PORT>>\n").unwrap();
    let config = format!(
        "[[template]]\nsrc = \"app.tmpl\"\ndest = \"{d}/app.conf\"\n[[service]]\nname = \"web\"\ncommand = [\"true\"]\n"
    );
    fs::write(dir.join("init.toml"), config).unwrap();
    let error = format!("init: ERROR {d}/app.tmpl:1:6: PORT is not set: set PORT or PORT_FILE\n");
    let hint = format!(
        "init: INFO hint: sh starts only once the container is prepared as {d}/init.toml says: set the variables the lines above name, \
         or bypass init for a shell: docker run -it --entrypoint /bin/sh IMAGE\n"
    );
    let config = dir.s("init.toml");
    for args in
        [&["-c", &config, "sh"][..], &["-c", &config, "--", "sh"], &["-c", &config, "run", "--", "sh"]]
    {
        let (code, _, err) = run_init(args);
        assert_eq!((code, err), (78, format!("{error}{hint}")), "{args:?}");
    }
    let (code, _, err) = run_init(["-c", &config]);
    assert_eq!((code, err), (78, error));
    // A variable init.toml itself needs counts too; another problem alone does not.
    fs::write(dir.join("init.toml"), "[env]\nURL = \"<<DB_URL>>\"\n").unwrap();
    let (code, _, err) = run_init(["-c", &config, "sh"]);
    assert_eq!(code, 78);
    assert!(
        err.lines().nth(1).is_some_and(|l| l.starts_with("init: INFO hint: sh starts only once")),
        "{err}"
    );
    fs::write(dir.join("init.toml"), "[[volume]]\npath = \"/\"\n").unwrap();
    let (code, _, err) = run_init(["-c", &config, "sh"]);
    assert_eq!((code, err.lines().count()), (78, 1), "{err}");
}
