//! Phases 1-3 through the real binary: init.toml, `_FILE` secrets, `[env]`,
//! templates rendered all or nothing, `init check` and `init render`.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Output;

use common::{TempDir, init_cmd, stderr_of, stdout_of};

/// A temp dir holding `conf/init.toml` (with `{dir}` replaced by the dir).
struct Setup {
    dir: TempDir,
}

impl Setup {
    fn new(tag: &str, config: &str) -> Setup {
        let dir = TempDir::new(tag);
        fs::create_dir_all(dir.join("conf")).unwrap();
        fs::create_dir_all(dir.join("out")).unwrap();
        let s = Setup { dir };
        s.file("conf/init.toml", config);
        s
    }

    fn d(&self) -> String {
        self.dir.path().display().to_string()
    }

    fn file(&self, rel: &str, text: &str) {
        let path = self.dir.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text.replace("{dir}", &self.d())).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// `init -c conf/init.toml ARGS` with the given environment.
    fn init(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let mut cmd = init_cmd();
        cmd.arg("-c").arg(self.dir.join("conf/init.toml")).args(args).current_dir(self.dir.path());
        for (k, v) in env {
            cmd.env(k, v.replace("{dir}", &self.d()));
        }
        cmd.output().unwrap()
    }

    /// Files in `out/` whose name marks them as init's temporaries.
    fn temp_files(&self) -> Vec<String> {
        let mut found = vec![];
        for entry in walk(&self.dir.join("out")) {
            let name = entry.file_name().unwrap().to_string_lossy().into_owned();
            if name.contains(".mooring-") {
                found.push(name);
            }
        }
        found
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut all = vec![];
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            all.extend(walk(&p));
        }
        all.push(p);
    }
    all
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

const ONE_TEMPLATE: &str = "[[template]]\nsrc = \"app.tmpl\"\ndest = \"{dir}/out/app.conf\"\n";

#[test]
fn render_applies_the_syntax_table_and_passes_everything_else_through() {
    let s = Setup::new("syntax", ONE_TEMPLATE);
    let template = "host=<<HOST>>\nport=<<PORT:-5432>>\nempty=<<EMPTY:-fallback>>|<<EMPTY-unset-only>>\n\
                    req=<<HOST:?need a host>>\nlit=\\<<HOST>>\n\
                    nginx: $host ${x} {{ .Go }} <<EOF << HOST >> <<1X>> <<HOST:x>>\r\ntabs\there\n";
    s.file("conf/app.tmpl", template);
    let out = s.init(&[("HOST", "db"), ("EMPTY", "")], &["render"]);
    assert_eq!(code(&out), 0, "{}", stderr_of(&out));
    assert_eq!(
        s.read("out/app.conf"),
        "host=db\nport=5432\nempty=fallback|\nreq=db\nlit=<<HOST>>\n\
         nginx: $host ${x} {{ .Go }} <<EOF << HOST >> <<1X>> <<HOST:x>>\r\ntabs\there\n"
    );
}

#[test]
fn every_missing_variable_of_every_file_is_reported_and_nothing_is_written() {
    let config = "[[template]]\nsrc = \"a.tmpl\"\ndest = \"{dir}/out/a.conf\"\n\
                  [[template]]\nsrc = \"b.tmpl\"\ndest = \"{dir}/out/b.conf\"\n";
    let s = Setup::new("missing", config);
    s.file("conf/a.tmpl", "ok <<SET>>\n  <<NOPE_A>>\n");
    s.file("conf/b.tmpl", "x <<NOPE_B:?set NOPE_B to the API key>> <<SET>>\n");
    s.file("out/a.conf", "old a\n");
    let out = s.init(&[("SET", "1")], &["render"]);
    assert_eq!(code(&out), 78);
    let d = s.d();
    assert_eq!(
        stderr_of(&out),
        format!(
            "init: ERROR {d}/conf/a.tmpl:2:3: NOPE_A is not set: set NOPE_A or NOPE_A_FILE\n\
             init: ERROR {d}/conf/b.tmpl:1:3: NOPE_B is not set: set NOPE_B to the API key\n"
        )
    );
    assert_eq!(s.read("out/a.conf"), "old a\n", "the old file is intact");
    assert!(!s.dir.join("out/b.conf").exists());
    assert_eq!(s.temp_files(), Vec::<String>::new());
}

#[test]
fn a_read_only_destination_fails_naming_it_and_leaves_every_destination_as_it_was() {
    let config = "[[template]]\nsrc = \"a.tmpl\"\ndest = \"{dir}/out/a.conf\"\n\
                  [[template]]\nsrc = \"a.tmpl\"\ndest = \"{dir}/out/ro/b.conf\"\n";
    let s = Setup::new("readonly", config);
    s.file("conf/a.tmpl", "new\n");
    s.file("out/a.conf", "old\n");
    fs::create_dir_all(s.dir.join("out/ro")).unwrap();
    // A private mount namespace with a read-only tmpfs on out/ro.
    let script = format!(
        "mount -t tmpfs -o ro tmpfs {d}/out/ro && exec \"$INIT\" -c {d}/conf/init.toml render",
        d = s.d()
    );
    let out = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .env("INIT", common::INIT)
        .output()
        .unwrap();
    // What init may not write is 77, with what to make writable (docs/running-restricted.md).
    assert_eq!(code(&out), 77, "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    let d = s.d();
    assert!(
        err.contains(&format!(
            "{d}/out/ro/b.conf: Read-only file system (os error 30): mount a writable volume or tmpfs at {d}/out/ro"
        )),
        "{err}"
    );
    assert_eq!(s.read("out/a.conf"), "old\n");
    assert_eq!(s.temp_files(), Vec::<String>::new());
}

#[test]
fn mode_and_owner_are_set_and_the_sources_mode_is_the_default() {
    let config = "[[template]]\nsrc = \"a.tmpl\"\ndest = \"{dir}/out/a.conf\"\nmode = \"0640\"\nowner = \"1234:2345\"\n\
                  [[template]]\nsrc = \"run.sh\"\ndest = \"{dir}/out/run.sh\"\n";
    let s = Setup::new("mode", config);
    s.file("conf/a.tmpl", "a\n");
    s.file("conf/run.sh", "#!/bin/sh\n");
    fs::set_permissions(s.dir.join("conf/run.sh"), fs::Permissions::from_mode(0o750)).unwrap();
    let out = s.init(&[], &["render"]);
    assert_eq!(code(&out), 0, "{}", stderr_of(&out));
    let a = fs::metadata(s.dir.join("out/a.conf")).unwrap();
    assert_eq!((a.mode() & 0o7777, a.uid(), a.gid()), (0o640, 1234, 2345));
    assert_eq!(fs::metadata(s.dir.join("out/run.sh")).unwrap().mode() & 0o7777, 0o750);
}

#[test]
fn overwrite_false_keeps_an_operators_edit() {
    let config = "[[template]]\nsrc = \"a.tmpl\"\ndest = \"{dir}/out/a.conf\"\noverwrite = false\n";
    let s = Setup::new("overwrite", config);
    s.file("conf/a.tmpl", "generated <<V>>\n");
    assert_eq!(code(&s.init(&[("V", "1")], &["render"])), 0);
    assert_eq!(s.read("out/a.conf"), "generated 1\n");
    s.file("out/a.conf", "edited by the operator\n");
    let out = s.init(&[("V", "2")], &["render"]);
    assert_eq!(code(&out), 0);
    assert_eq!(s.read("out/a.conf"), "edited by the operator\n");
}

#[test]
fn a_directory_source_renders_its_whole_tree() {
    let config = "[[template]]\nsrc = \"site\"\ndest = \"{dir}/out/site\"\n";
    let s = Setup::new("tree", config);
    s.file("conf/site/index.conf", "name=<<NAME>>\n");
    s.file("conf/site/sub/deeper/x.conf", "deep <<NAME>>\n");
    fs::set_permissions(s.dir.join("conf/site/sub"), fs::Permissions::from_mode(0o710)).unwrap();
    let out = s.init(&[("NAME", "web")], &["render"]);
    assert_eq!(code(&out), 0, "{}", stderr_of(&out));
    assert_eq!(s.read("out/site/index.conf"), "name=web\n");
    assert_eq!(s.read("out/site/sub/deeper/x.conf"), "deep web\n");
    assert_eq!(fs::metadata(s.dir.join("out/site/sub")).unwrap().mode() & 0o7777, 0o710);
}

#[test]
fn file_secrets_fill_variables_and_setting_both_is_an_error() {
    let s = Setup::new("secrets", ONE_TEMPLATE);
    s.file("conf/app.tmpl", "password=<<DB_PASSWORD>>\n");
    s.file("secret", "s3cr3t\n");
    // World-readable from the source's mode: refused, nothing written.
    let out = s.init(&[("DB_PASSWORD_FILE", "{dir}/secret")], &["render"]);
    assert_eq!(code(&out), 78, "{}", stderr_of(&out));
    let want = format!(
        "{}/out/app.conf: holds the secret DB_PASSWORD but would be world-readable (mode 0644",
        s.d()
    );
    assert!(stderr_of(&out).contains(&want), "{}", stderr_of(&out));
    assert!(!s.dir.join("out/app.conf").exists());
    fs::set_permissions(s.dir.join("conf/app.tmpl"), fs::Permissions::from_mode(0o640)).unwrap();
    let out = s.init(&[("DB_PASSWORD_FILE", "{dir}/secret")], &["render"]);
    assert_eq!(code(&out), 0, "{}", stderr_of(&out));
    assert_eq!(s.read("out/app.conf"), "password=s3cr3t\n");
    assert_eq!(fs::metadata(s.dir.join("out/app.conf")).unwrap().mode() & 0o777, 0o640);
    let out = s.init(&[("DB_PASSWORD_FILE", "{dir}/secret"), ("DB_PASSWORD", "x")], &["render"]);
    assert_eq!(code(&out), 78);
    assert_eq!(stderr_of(&out), "init: ERROR both DB_PASSWORD and DB_PASSWORD_FILE are set; set only one\n");
}

#[test]
fn env_table_values_reach_the_child_and_the_operator_wins() {
    let config = "[env]\nDB_HOST = \"db\"\nDB_URL = \"postgres://<<DB_USER:-app>>@<<DB_HOST>>/x\"\n";
    let s = Setup::new("envtable", config);
    let print = ["-q", "--", "sh", "-c", "echo $DB_URL $DB_HOST"];
    let out = s.init(&[], &print);
    assert_eq!(
        (code(&out), stdout_of(&out).as_str()),
        (0, "postgres://app@db/x db\n"),
        "{}",
        stderr_of(&out)
    );
    let out = s.init(&[("DB_HOST", "other"), ("DB_USER", "bob")], &print);
    assert_eq!(stdout_of(&out), "postgres://bob@other/x other\n");
}

#[test]
fn init_run_runs_a_task_with_its_arguments_env_and_workdir() {
    let config = "[[task]]\nname = \"hello\"\ncommand = [\"sh\", \"-c\", \"echo $GREETING from $(pwd): $*\", \"sh\"]\n\
                  workdir = \"{dir}/out\"\nenv = { GREETING = \"hi <<WHO:-there>>\" }\n";
    let s = Setup::new("task", config);
    let out = s.init(&[("WHO", "you")], &["run", "-q", "hello", "a", "b"]);
    assert_eq!(code(&out), 0, "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), format!("hi you from {}/out: a b\n", s.d()));
    assert_eq!(code(&s.init(&[], &["run", "nope"])), 64);
    // A `shell` task: its name is `$0`, the arguments `$1`...
    s.file("conf/init.toml", "[[task]]\nname = \"args\"\nshell = 'echo \"0=$0 1=$1 2=$2\"'\n");
    let out = s.init(&[], &["run", "-q", "args", "x", "y"]);
    assert_eq!(stdout_of(&out), "0=args 1=x 2=y\n", "{}", stderr_of(&out));
}

#[test]
fn check_prints_the_plan_and_warns_without_writing_anything() {
    let config = "[[template]]\nsrc = \"app.tmpl\"\ndest = \"{dir}/out/app.conf\"\n\
                  [[service]]\nname = \"web\"\ncommand = [\"gunicorn\"]\n\
                  [[task]]\nname = \"migrate\"\nshell = \"app migrate\"\nuser = \"4242\"\n";
    let s = Setup::new("check", config);
    s.file("conf/app.tmpl", "key=<<API_KEY>>\n<< TYPO >>\n");
    fs::set_permissions(s.dir.join("conf/app.tmpl"), fs::Permissions::from_mode(0o640)).unwrap();
    s.file("key", "k\n");
    let out = s.init(&[("API_KEY_FILE", "{dir}/key")], &["check"]);
    assert_eq!(code(&out), 0, "{}", stderr_of(&out));
    let d = s.d();
    assert_eq!(
        stdout_of(&out),
        format!(
            "config   {d}/conf/init.toml\nrender   {d}/conf/app.tmpl -> {d}/out/app.conf (mode 0640)\n\
             service  web: gunicorn [main]\ntask     migrate: /bin/sh -c \"app migrate\" migrate\n"
        )
    );
    let err = stderr_of(&out);
    assert!(
        err.contains(&format!("WARN {d}/conf/app.tmpl:2:1: \"<< TYPO >>\" looks like a placeholder")),
        "{err}"
    );
    assert!(err.contains("task migrate: uid 4242 has no passwd entry and keeps group 0"), "{err}");
    assert!(!s.dir.join("out/app.conf").exists(), "check writes nothing");
}

#[test]
fn check_reports_every_problem_of_every_phase_at_once() {
    let config = "[[template]]\nsrc = \"app.tmpl\"\ndest = \"{dir}/out/<<SUBDIR>>/app.conf\"\n\
                  [[template]]\nsrc = \"other.tmpl\"\ndest = \"{dir}/out/other.conf\"\n\
                  [[service]]\nname = \"web\"\ncommand = [\"x\"]\nstop_signal = \"SIGWHAT\"\n";
    let s = Setup::new("checkbad", config);
    s.file("conf/other.tmpl", "<<NOT_SET>>\n");
    let out = s.init(&[], &["check"]);
    assert_eq!(code(&out), 78);
    let err = stderr_of(&out);
    let d = s.d();
    let col = "dest = \"".len() + format!("{d}/out/").len() + 1;
    assert!(err.contains(&format!("{d}/conf/init.toml:3:{col}: SUBDIR is not set")), "{err}");
    assert!(err.contains(&format!("{d}/conf/init.toml:10:15: unknown signal \"SIGWHAT\"")), "{err}");
    // With a valid config, template problems are reported too.
    s.file("conf/init.toml", "[[template]]\nsrc = \"other.tmpl\"\ndest = \"{dir}/out/o\"\n[[template]]\nsrc = \"gone\"\ndest = \"{dir}/out/g\"\n");
    let err = stderr_of(&s.init(&[], &["check"]));
    assert!(err.contains(&format!("{d}/conf/other.tmpl:1:1: NOT_SET is not set")), "{err}");
    assert!(err.contains(&format!("{d}/conf/gone: No such file or directory")), "{err}");
}

#[test]
fn render_stdout_prints_the_result_and_writes_nothing() {
    let s = Setup::new("stdout", ONE_TEMPLATE);
    s.file("conf/app.tmpl", "a=<<A>>\n");
    let out = s.init(&[("A", "1")], &["render", "--stdout"]);
    assert_eq!((code(&out), stdout_of(&out).as_str()), (0, "a=1\n"));
    assert!(!s.dir.join("out/app.conf").exists());
}

#[test]
fn binary_non_utf8_huge_and_unreadable_templates_are_refused_naming_them() {
    let s = Setup::new("badsrc", ONE_TEMPLATE);
    let src = s.dir.join("conf/app.tmpl");
    let d = s.d();
    let cases: [(&dyn Fn(), String); 3] = [
        (
            &|| fs::write(&src, b"ELF\x00\x01binary").unwrap(),
            format!("{d}/conf/app.tmpl: a binary file (NUL byte at offset 3), not a template"),
        ),
        (
            &|| fs::write(&src, b"caf\xe9 latin-1").unwrap(),
            format!("{d}/conf/app.tmpl: not UTF-8 text (invalid byte at offset 3)"),
        ),
        (
            &|| fs::File::create(&src).unwrap().set_len(100 << 20).unwrap(),
            format!("{d}/conf/app.tmpl: 104857600 bytes is over the 32 MiB limit for a template"),
        ),
    ];
    for (make, want) in cases {
        make();
        let out = s.init(&[], &["render"]);
        assert_eq!(code(&out), 78);
        assert_eq!(stderr_of(&out), format!("init: ERROR {want}\n"));
    }
    // Unreadable: a mode-000 source read by an unprivileged user.
    fs::write(&src, "x\n").unwrap();
    fs::set_permissions(&src, fs::Permissions::from_mode(0o000)).unwrap();
    fs::set_permissions(s.dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(s.dir.join("conf"), fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups", common::INIT, "-c"])
        .arg(s.dir.join("conf/init.toml"))
        .args(["render", "--stdout"])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(code(&out), 78, "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out), format!("init: ERROR {d}/conf/app.tmpl: Permission denied (os error 13)\n"));
}

#[test]
fn config_errors_exit_78_with_one_line_each() {
    let s = Setup::new(
        "badconfig",
        "[[service]]\nname = \"x\"\ncommand = [\"a\"]\nbogus = 1\n[[volume]]\npath = \"/\"\n",
    );
    let out = s.init(&[], &["--", "true"]);
    assert_eq!(code(&out), 78);
    let d = s.d();
    let err = stderr_of(&out);
    let lines: Vec<_> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with(&format!(
            "init: ERROR {d}/conf/init.toml:4:1: unknown field `bogus` in [[service]]"
        ))
    );
    assert_eq!(
        lines[1],
        format!("init: ERROR {d}/conf/init.toml:6:8: / cannot be a volume: / is the root of the filesystem")
    );
}
