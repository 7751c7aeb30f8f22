//! Live reload as PID 1 (docs/reference.md, "Live reload"): a template
//! source swapped the way Kubernetes swaps a ConfigMap volume (`..data`
//! symlink) re-renders its file and sends exactly one reload signal; a swap
//! that leaves a variable missing keeps the old file and tells nobody; a
//! rotated `_FILE` secret re-renders the files using it and restarts a
//! service without reload_signal; a bind-mounted secret rewritten in place
//! (compose's file secrets) is seen on the file itself.

mod common;

use std::fs;
use std::path::Path;

use common::services::exec_in;
use common::{Builder, DEADLINE, Init, Mode, stderr_of, stdout_of, wait_until};
use nix::sys::signal::Signal;

/// `dir/cm` a ConfigMap volume holding `app.tmpl`, and `dir/out`.
fn configmap(dir: &Path, text: &str) {
    common::configmap::configmap(&dir.join("cm"), &[("app.tmpl", text)]);
    fs::create_dir_all(dir.join("out")).unwrap();
}

/// The kubelet's update of `app.tmpl` to `text`.
fn swap(dir: &Path, version: &str, text: &str) {
    common::configmap::swap(&dir.join("cm"), version, &[("app.tmpl", text)]);
}

/// A template from `src` to `dest` that notifies `web`, which counts its SIGHUPs.
const WEB: &str = r#"
[[template]]
src = "{dir}/SRC"
dest = "{dir}/DEST"
notify = ["web"]

[[service]]
name = "web"
shell = "trap 'echo hup >> {dir}/hups' HUP; touch {dir}/web.up; while :; do sleep 0.05; done"
reload_signal = "SIGHUP"
"#;

/// `web` and its template from the ConfigMap's `app.tmpl` (holding `text`).
fn web(tag: &str, text: &'static str) -> Init {
    web_from(tag, text, "cm/app.tmpl", "out/app.conf")
}

fn web_from(tag: &str, text: &'static str, src: &str, dest: &str) -> Init {
    Builder::new(tag, Mode::Pid1)
        .env("PORT", "8080")
        .file("init.toml", &WEB.replace("SRC", src).replace("DEST", dest))
        .before(move |d| configmap(d, text))
        .args(["-c", "{dir}/init.toml"])
        .start()
}

#[test]
fn a_configmap_swap_re_renders_and_sends_exactly_one_reload_signal() {
    let mut init = web("reload-swap", "listen <<PORT>>;\n");
    init.wait_for_file("web.up");
    assert_eq!(init.read("out/app.conf"), "listen 8080;\n");
    swap(init.dir.path(), "v2", "listen <<PORT>>;\nworkers 4;\n");
    wait_until("the new file", DEADLINE, || init.read("out/app.conf") == "listen 8080;\nworkers 4;\n");
    wait_until("the reload signal", DEADLINE, || init.read("hups") == "hup\n");
    // Nothing changed since: a reload asked now writes and tells nothing.
    let again = exec_in(&init, &["reload"]);
    assert_eq!(
        (again.status.code(), stdout_of(&again).as_str()),
        (Some(0), "nothing changed\n"),
        "{}",
        stderr_of(&again)
    );
    assert_eq!(init.read("hups"), "hup\n", "exactly one SIGHUP for one swap");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}

#[test]
fn a_swap_that_leaves_a_variable_missing_keeps_the_old_file_and_tells_nobody() {
    let mut init = web("reload-broken", "listen <<PORT>>;\n");
    init.wait_for_file("web.up");
    swap(init.dir.path(), "v2", "listen <<PORT>>;\nkey <<API_KEY>>;\n");
    wait_until("the refusal", DEADLINE, || init.stderr().contains("reload: nothing written, nobody told"));
    let asked = exec_in(&init, &["reload", "web"]);
    assert_eq!(asked.status.code(), Some(1), "{}", stderr_of(&asked));
    assert!(stderr_of(&asked).contains("API_KEY is not set"), "{}", stderr_of(&asked));
    assert_eq!(init.read("out/app.conf"), "listen 8080;\n", "the running service keeps a whole file");
    assert_eq!(init.read("hups"), "", "nobody told");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}

#[test]
fn a_rotated_secret_re_renders_its_files_and_restarts_a_service_without_reload_signal() {
    let config = r#"
[[template]]
src = "{dir}/db.tmpl"
dest = "{dir}/out/db.conf"
mode = "0600"
notify = ["app"]

[[service]]
name = "app"
shell = "echo $$ >> {dir}/app.pids; exec sleep 60"
"#;
    let mut init = Builder::new("reload-secret", Mode::Pid1)
        .env("DB_PASSWORD_FILE", "{dir}/secrets/db")
        .file("init.toml", config)
        .file("db.tmpl", "password=<<DB_PASSWORD>>\n")
        .before(|d| {
            fs::create_dir_all(d.join("secrets")).unwrap();
            fs::create_dir_all(d.join("out")).unwrap();
            fs::write(d.join("secrets/db"), "first\n").unwrap();
        })
        .args(["-c", "{dir}/init.toml"])
        .start();
    wait_until("app started", DEADLINE, || init.read("app.pids").lines().count() == 1);
    assert_eq!(init.read("out/db.conf"), "password=first\n");
    // Rotated as a secret manager does: a new file renamed into place.
    fs::write(init.dir.join("secrets/db.new"), "second\n").unwrap();
    fs::rename(init.dir.join("secrets/db.new"), init.dir.join("secrets/db")).unwrap();
    wait_until("the new password", DEADLINE, || init.read("out/db.conf") == "password=second\n");
    wait_until("app restarted", DEADLINE, || init.read("app.pids").lines().count() == 2);
    assert!(!init.stderr().contains("second"), "the secret never reaches the log: {}", init.stderr());
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}

#[test]
fn a_configmap_directory_as_a_source_renders_its_keys_and_a_swap_reloads_them() {
    let mut init = web_from("reload-dir", "listen <<PORT>>;\n", "cm", "out");
    init.wait_for_file("web.up");
    // The keys, not the kubelet's `..data` and `..v1`.
    let mut names: Vec<String> = fs::read_dir(init.dir.join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    names.sort();
    assert_eq!(names, ["app.tmpl"]);
    assert_eq!(init.read("out/app.tmpl"), "listen 8080;\n");
    swap(init.dir.path(), "v2", "listen <<PORT>>;\ngzip on;\n");
    wait_until("the reload signal", DEADLINE, || init.read("hups") == "hup\n");
    assert_eq!(init.read("out/app.tmpl"), "listen 8080;\ngzip on;\n");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}

/// Compose's file secrets: `/run/secrets/NAME` is the host's file bind-mounted
/// in, and the host rewrites it in place (no rename, the same inode), which
/// inotify reports on the file, not on the directory init sees it in.
#[test]
fn a_bind_mounted_secret_rewritten_in_place_re_renders_and_signals_once() {
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;
    let host = common::TempDir::new("compose-secret");
    fs::create_dir_all(host.join("run-secrets")).unwrap();
    fs::write(host.join("db_password"), "first\n").unwrap();
    fs::write(host.join("run-secrets/db"), "").unwrap();
    let config = WEB.replace("SRC", "conf/db.tmpl").replace("DEST", "out/db.conf");
    let mut init = Builder::new("reload-in-place", Mode::Pid1)
        .env("DB_PASSWORD_FILE", &host.s("run-secrets/db"))
        .file("init.toml", &config.replace("notify", "mode = \"0600\"\nnotify"))
        // Away from the files the service writes, whose directory is watched too.
        .before(|d| {
            fs::create_dir_all(d.join("out")).unwrap();
            fs::create_dir_all(d.join("conf")).unwrap();
            fs::write(d.join("conf/db.tmpl"), "password=<<DB_PASSWORD>>\n").unwrap();
        })
        .pre_exec(bind_mount_in_own_namespace(&host.join("db_password"), &host.join("run-secrets/db")))
        .args(["-c", "{dir}/init.toml"])
        .start();
    init.wait_for_file("web.up");
    assert_eq!(init.read("out/db.conf"), "password=first\n");
    let inode = fs::metadata(host.join("db_password")).unwrap().ino();
    let mut file = fs::OpenOptions::new().write(true).truncate(true).open(host.join("db_password")).unwrap();
    file.write_all(b"second\n").unwrap();
    drop(file);
    assert_eq!(fs::metadata(host.join("db_password")).unwrap().ino(), inode, "rewritten in place");
    wait_until("the new password", DEADLINE, || init.read("out/db.conf") == "password=second\n");
    wait_until("the reload signal", DEADLINE, || init.read("hups") == "hup\n");
    let again = exec_in(&init, &["reload"]);
    assert_eq!(stdout_of(&again), "nothing changed\n", "{}", stderr_of(&again));
    assert_eq!(init.read("hups"), "hup\n", "exactly one SIGHUP for one rewrite");
    init.signal(Signal::SIGTERM);
    assert_eq!(init.wait(), 143);
}

/// For `pre_exec`: `src` bind-mounted on `dest` in a mount namespace of the
/// child's own (private, so nothing reaches the host), as an engine mounts
/// a file secret.
fn bind_mount_in_own_namespace(
    src: &Path,
    dest: &Path,
) -> impl FnMut() -> std::io::Result<()> + Send + Sync + use<> {
    use std::ffi::CString;
    let cstr = |p: &Path| CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    let (src, dest, root) = (cstr(src), cstr(dest), cstr(Path::new("/")));
    move || {
        let fail = |r: libc::c_int| if r == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) };
        let none = std::ptr::null();
        // SAFETY: plain system calls on strings made before the fork.
        unsafe {
            fail(libc::unshare(libc::CLONE_NEWNS))?;
            fail(libc::mount(none, root.as_ptr(), none, libc::MS_REC | libc::MS_PRIVATE, std::ptr::null()))?;
            fail(libc::mount(src.as_ptr(), dest.as_ptr(), none, libc::MS_BIND, std::ptr::null()))
        }
    }
}
