//! `_FILE` secrets through the real binary, as official images' entrypoints
//! take them: only a variable the configuration needs is read from its
//! `X_FILE`, which the children then no longer see; every other `*_FILE`
//! passes through untouched and unread.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Output;

use common::{TempDir, init_cmd, stderr_of, stdout_of};

/// A temp dir with `init.toml` (`{dir}` replaced by the dir) and a secret file.
fn setup(tag: &str, config: &str) -> TempDir {
    let dir = TempDir::new(tag);
    fs::write(dir.join("init.toml"), config.replace("{dir}", &dir.path().display().to_string())).unwrap();
    fs::write(dir.join("secret"), "s3cr3t\n").unwrap();
    fs::set_permissions(dir.join("secret"), fs::Permissions::from_mode(0o600)).unwrap();
    dir
}

/// `init -c init.toml -- sh -c SCRIPT` with its own run dir and `env`.
fn boot(dir: &TempDir, env: &[(&str, &str)], script: &str) -> Output {
    let mut cmd = init_cmd();
    cmd.arg("-c").arg(dir.join("init.toml")).args(["--", "sh", "-c", script]);
    cmd.env("INIT_RUN_DIR", dir.join("run"));
    for (k, v) in env {
        cmd.env(k, v.replace("{dir}", &dir.path().display().to_string()));
    }
    cmd.output().unwrap()
}

const TEMPLATE: &str = "[[template]]\nsrc = \"app.tmpl\"\ndest = \"{dir}/app.conf\"\nmode = \"0600\"\n";
const SHOW: &str = "echo \"pw=$DB_PASSWORD file=${DB_PASSWORD_FILE-unset}\"; \
                    echo \"ssl=$SSL_CERT_FILE pg=$POSTGRES_PASSWORD_FILE/$POSTGRES_PASSWORD\"";

#[test]
fn a_secret_a_template_needs_reaches_the_child_without_its_file_variable() {
    let dir = setup("needed", TEMPLATE);
    fs::write(dir.join("app.tmpl"), "password=<<DB_PASSWORD>>\n").unwrap();
    let env = [
        ("DB_PASSWORD_FILE", "{dir}/secret"),
        ("SSL_CERT_FILE", "/nonexistent"),
        // Meant for the image's own entrypoint, which checks it: both set is not init's concern.
        ("POSTGRES_PASSWORD_FILE", "/run/secrets/x"),
        ("POSTGRES_PASSWORD", "x"),
    ];
    let out = boot(&dir, &env, SHOW);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(stdout_of(&out), "pw=s3cr3t file=unset\nssl=/nonexistent pg=/run/secrets/x/x\n");
    assert_eq!(fs::read_to_string(dir.join("app.conf")).unwrap(), "password=s3cr3t\n");
    assert!(!err.contains("WARN") && !err.contains("/nonexistent") && !err.contains("/run/secrets"), "{err}");
}

#[test]
fn an_env_entry_exports_a_secret_no_template_uses() {
    let dir = setup("exported", "[env]\nDB_PASSWORD = \"<<DB_PASSWORD>>\"\n");
    let out = boot(&dir, &[("DB_PASSWORD_FILE", "{dir}/secret")], SHOW);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "pw=s3cr3t file=unset\nssl= pg=/\n");
}

#[test]
fn a_needed_secret_set_twice_stops_the_boot_with_78_naming_it() {
    let dir = setup("twice", "[env]\nURL = \"postgres://app:<<DB_PASSWORD>>@db/app\"\n");
    let env = [("DB_PASSWORD_FILE", "{dir}/secret"), ("DB_PASSWORD", "other")];
    let out = boot(&dir, &env, "echo ran");
    assert_eq!(out.status.code(), Some(78));
    assert_eq!(stderr_of(&out), "init: ERROR both DB_PASSWORD and DB_PASSWORD_FILE are set; set only one\n");
    assert_eq!(stdout_of(&out), "");
}

#[test]
fn an_unreadable_needed_secret_stops_the_boot_with_78_naming_it() {
    let dir = setup("unreadable", TEMPLATE);
    fs::write(dir.join("app.tmpl"), "password=<<DB_PASSWORD:-none>>\n").unwrap();
    let out = boot(&dir, &[("DB_PASSWORD_FILE", "{dir}/missing")], "echo ran");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(78), "{err}");
    let want = format!("init: ERROR DB_PASSWORD_FILE={}: No such file or directory", dir.s("missing"));
    assert!(err.starts_with(&want), "{err}");
    assert_eq!(stdout_of(&out), "");
    assert!(!dir.join("app.conf").exists());
}
