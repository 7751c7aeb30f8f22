//! `for`, `enabled`, a task's `waits` and a `[user]` whose name renders
//! empty, as parsed: which parts are kept, which are off, and which runs
//! each problem stops (docs/reference.md, "One-off work").

use super::*;

fn all(text: &str, vars: &[(&str, &str)]) -> (Config, Vec<Problem>) {
    parse_all(Path::new("/c/init.toml"), text, &mut env(vars))
}

const PARTS: &str = r#"
[[template]]
src = "web.conf"
dest = "/etc/web.conf"
for = ["web"]

[[wait]]
tcp = "<<DB_HOST>>:5432"
for = ["web", "worker"]

[[service]]
name = "web"
command = ["gunicorn", "--bind", "<<WEB_BIND>>"]

[[service]]
name = "sshd"
enabled = "<<SSH:-false>>"
command = ["sshd", "-p", "<<SSH_PORT>>"]

[[service]]
name = "worker"
command = ["celery"]
after = ["sshd"]

[[task]]
name = "make-config"
command = ["make-config"]
waits = false
"#;

#[test]
fn for_and_waits_are_kept_and_a_service_switched_off_is_left_out_with_its_line() {
    let (c, problems) = all(PARTS, &[("DB_HOST", "db"), ("WEB_BIND", ":80")]);
    assert!(problems.iter().all(|p| !p.checked()), "{problems:?}");
    assert_eq!(c.templates[0].serves, Some(vec!["web".to_string()]));
    assert_eq!(c.waits[0].serves, Some(vec!["web".to_string(), "worker".to_string()]));
    assert_eq!(c.services.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["web", "worker"]);
    assert_eq!(c.service_names, ["web", "worker"]);
    assert_eq!(c.task_names, ["make-config"]);
    assert!(!c.tasks[0].waits);
    assert!(c.services[1].after.is_empty(), "a dependency switched off counts as absent");
    assert!(c.services[0].main, "the main service is the first one switched on");
    assert_eq!(
        c.off.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "/c/init.toml:17: [[service]] \"sshd\" switched off: enabled = \"<<SSH:-false>>\" renders \"false\""
        ]
    );
}

#[test]
fn a_variable_not_set_stops_only_the_runs_of_the_parts_that_use_it() {
    let (_, problems) = all(PARTS, &[]);
    let scopes: Vec<(&str, &Scope)> = problems.iter().map(|p| (p.text.as_str(), &p.scope)).collect();
    let web = Scope::For(vec!["web".into()]);
    let db = Scope::For(vec!["web".into(), "worker".into()]);
    assert_eq!(
        scopes,
        [
            ("/c/init.toml:8:8: DB_HOST is not set: set DB_HOST or DB_HOST_FILE", &db),
            ("/c/init.toml:13:35: WEB_BIND is not set: set WEB_BIND or WEB_BIND_FILE", &web),
            ("/c/init.toml:18:27: SSH_PORT is not set: set SSH_PORT or SSH_PORT_FILE", &Scope::Off),
        ]
    );
    assert!(problems.iter().all(|p| p.unset));
    let make_config = ["make-config".to_string()];
    assert!(problems.iter().all(|p| !p.stops(&make_config)), "make-config needs none of them");
    assert!(!problems[2].checked(), "init check leaves aside what only a part switched off needs");
}

#[test]
fn enabled_takes_a_boolean_or_a_rendered_one_and_refuses_anything_else_in_one_line() {
    let svc = |enabled: &str| format!("[[service]]\nname = \"s\"\ncommand = [\"x\"]\nenabled = {enabled}\n");
    for (on, vars) in [("true", &[][..]), ("\"<<SSH:-true>>\"", &[]), ("\"<<SSH>>\"", &[("SSH", "YES")])] {
        assert_eq!(all(&svc(on), vars).0.services.len(), 1, "{on}");
    }
    for (off, vars) in [("false", &[][..]), ("\"<<SSH:->>\"", &[]), ("\"<<SSH>>\"", &[("SSH", "0")])] {
        let (c, problems) = all(&svc(off), vars);
        assert!(c.services.is_empty() && problems.is_empty() && c.off.len() == 1, "{off}");
        assert!(c.service_names.is_empty(), "{off}");
    }
    assert_eq!(
        problems(&svc("\"<<SSH>>\"").replace("<<SSH>>", "maybe")),
        [
            "4:11: [[service]] \"s\": `enabled` renders \"maybe\": write true, false, 1, 0, yes, no or leave it empty"
        ]
    );
    assert_eq!(problems(&svc("3")), ["4:11: `enabled` must be true, false or a string, not integer"]);
}

#[test]
fn templates_volumes_waits_and_tasks_can_be_switched_off() {
    let text = r#"
[[template]]
src = "a"
dest = "/a"
enabled = "<<A:->>"
[[volume]]
path = "/data"
enabled = false
[[wait]]
file = "/x"
enabled = "no"
[[task]]
name = "t"
command = ["t"]
enabled = "0"
"#;
    let (c, problems) = all(text, &[]);
    assert!(problems.is_empty(), "{problems:?}");
    assert!(c.templates.is_empty() && c.volumes.is_empty() && c.waits.is_empty() && c.tasks.is_empty());
    let tables: Vec<_> = c.off.iter().map(|o| o.table).collect();
    assert_eq!(tables, ["[[template]]", "[[volume]]", "[[wait]]", "[[task]]"]);
    assert_eq!(c.task_names, ["t"], "a task switched off still has its name");
}

#[test]
fn for_names_services_or_tasks_and_is_not_empty() {
    let text = "[[service]]\nname = \"web\"\ncommand = [\"x\"]\n[[wait]]\nfile = \"/x\"\nfor = [\"wbe\"]\n\
                [[template]]\nsrc = \"a\"\ndest = \"/a\"\nfor = []\n";
    assert_eq!(
        problems(text),
        [
            "6:8: `for` names \"wbe\", which is neither a service nor a task",
            "8:7: `for = []` serves nothing: name services or tasks, or leave it out"
        ]
    );
}

#[test]
fn a_user_whose_name_renders_empty_is_no_user_and_needs_no_uid() {
    let text = "[user]\nname = \"<<USER_NAME:->>\"\nuid = \"<<USER_UID>>\"\n";
    let (c, problems) = all(text, &[]);
    assert!(c.user.is_none());
    assert!(problems.iter().all(|p| !p.checked() && !p.stops(&[])), "{problems:?}");
    assert_eq!(c.off[0].table, "[user]");
    let c = load_ok(text, &mut env(&[("USER_NAME", "app"), ("USER_UID", "1000")]));
    assert_eq!(c.user.map(|u| (u.name, u.uid)), Some(("app".to_string(), Some(1000))));
    assert!(matches!(
        parse(Path::new("/c/init.toml"), text, &mut env(&[("USER_NAME", "app")])),
        Err(Error::Invalid(p)) if p == ["/c/init.toml:3:8: USER_UID is not set: set USER_UID or USER_UID_FILE"]
    ));
}

/// The seed's base image: root unless USER_NAME is set, USER_UID required
/// with it, USER_GID the uid when not given. Without a name, the gid that
/// [env] leaves empty is not given; a value that is there is still checked.
#[test]
fn a_user_switched_off_leaves_fields_that_render_empty_aside() {
    let text = r#"
[env]
USER_GID = "<<USER_UID:->>"
[user]
name = "<<USER_NAME:->>"
uid = "<<USER_UID:?USER_UID is required with USER_NAME>>"
gid = "<<USER_GID>>"
"#;
    let (c, problems) = all(text, &[]);
    assert!(c.user.is_none());
    assert!(problems.iter().all(|p| !p.checked() && !p.stops(&[])), "{problems:?}");
    let (_, problems) = all(text, &[("USER_GID", "x")]);
    assert_eq!(problems.iter().filter(|p| p.stops(&[])).count(), 1, "{problems:?}");
    let c = load_ok(text, &mut env(&[("USER_NAME", "dev"), ("USER_UID", "4242")]));
    assert_eq!(c.user.map(|u| (u.name, u.uid, u.gid)), Some(("dev".to_string(), Some(4242), Some(4242))));
    // With a name, an empty gid is a wrong value, as before.
    let (_, problems) = all(text, &[("USER_NAME", "dev"), ("USER_UID", "1"), ("USER_GID", "")]);
    assert!(problems.iter().any(|p| p.stops(&[]) && p.text.contains("invalid gid")), "{problems:?}");
}
