//! One plan for the phases that change the image — templates, identity,
//! volumes — shared by boot and `init check`: check is the plan alone,
//! boot is the plan and then `apply_identity`, `render::write` and the
//! volumes, so whatever boot refuses, check reports (docs/reference.md, "Command
//! line"). Nothing is changed while planning: templates are rendered in
//! memory, `[user]`'s edit of /etc/passwd and /etc/group is planned as text,
//! and every owner is resolved against those files as the edit leaves them,
//! so `owner = "app"` follows `USER_UID` (docs/reference.md, "Identity").

use std::path::Path;

use crate::config::{Config, RuntimeUser, UserSpec};
use crate::env::Environment;
use crate::error::Error;
use crate::safe_fs::Dir;
use crate::setup::account::{self, Edit};
use crate::setup::user::{Db, Identity, resolve};
use crate::setup::{render, volume};

/// What boot will do before the workload runs.
#[derive(Debug, Default)]
pub struct Plan {
    pub templates: render::Plan,
    /// `[user]`'s edit of the files (`None`: no `[user]`, or not root).
    pub edit: Option<Edit>,
    /// The user database as it will be once `edit` is written.
    pub db: Db,
    /// Who children run as by default (`None`: init's own identity).
    pub runtime: Option<Identity>,
    /// Each `[[volume]]`'s owner, in order (`None`: left as it is).
    pub volume_owners: Vec<Option<(u32, u32)>>,
    /// Problems boot meets only when it starts the service or task (its
    /// `user`), or uses `--user`: `init check` reports them with the rest.
    pub later: Vec<String>,
}

/// Plans templates, identity and volumes under `root`; `privileged`: as
/// root, `[user]` is made to exist (not root, the files are left alone).
/// Every problem, in phase order: boot stops at the first, check shows all.
pub fn plan(
    config: &Config,
    env: &Environment,
    root: &Path,
    privileged: bool,
    lint: bool,
) -> (Plan, Vec<Error>) {
    let mut problems = Vec::new();
    let (mut templates, template_problems) = render::plan_all(config, env, lint);
    if !template_problems.is_empty() {
        problems.push(Error::Invalid(template_problems));
    }
    let (edit, db) = users(config.user.as_ref(), root, privileged).unwrap_or_else(|e| {
        problems.push(e);
        (None, Db::load(root))
    });
    let runtime = match (&config.user, &edit) {
        (Some(want), Some(_)) => Some(resolve(&db, &spec(want), 0).map_err(Error::UnknownUser)),
        (Some(want), None) if !privileged => own_runtime(want, &db).transpose(),
        _ => None,
    };
    let runtime = runtime.and_then(|r| r.map_err(|e| problems.push(e)).ok());
    let owners = templates.resolve_owners(&db);
    problems.extend(owners.into_iter().map(Error::UnknownUser));
    let default_owner = runtime.as_ref().map(|id| (id.uid, id.gid));
    let volume_owners = volumes(config, &db, root, default_owner, &mut problems);
    let later = later(config, &db);
    (Plan { templates, edit, db, runtime, volume_owners, later }, problems)
}

/// `[user]`'s planned edit and the user database it leaves; without one
/// (or not root), the database as it is.
pub fn users(want: Option<&RuntimeUser>, root: &Path, privileged: bool) -> Result<(Option<Edit>, Db), Error> {
    match want {
        Some(want) if privileged => account::plan_at(root, want).map(|(edit, db)| (Some(edit), db)),
        _ => Ok((None, Db::load(root))),
    }
}

fn spec(want: &RuntimeUser) -> UserSpec {
    UserSpec { user: want.name.clone(), group: None }
}

/// Not root: init's own identity when it already is the runtime user (a
/// WARN), else 77 (docs/reference.md, "Identity"). `None`: no switch is needed.
fn own_runtime(want: &RuntimeUser, db: &Db) -> Result<Option<Identity>, Error> {
    let me = nix::unistd::getuid().as_raw();
    let wanted = want.uid.or_else(|| db.passwd.iter().find(|u| u.name == want.name).map(|u| u.uid));
    if wanted == Some(me) {
        tracing::warn!(user = %want.name, uid = me, "not root: [user] left as the image has it (init already runs as it)");
        return Ok(None);
    }
    Err(Error::NotPermitted(format!(
        "cannot create or switch to user {:?}{}: init runs as uid {me}, not root",
        want.name,
        wanted.map(|u| format!(" (uid {u})")).unwrap_or_default()
    )))
}

/// Each volume's path checked and its owner resolved (default: the
/// runtime user's ids).
fn volumes(
    config: &Config,
    db: &Db,
    root: &Path,
    default_owner: Option<(u32, u32)>,
    problems: &mut Vec<Error>,
) -> Vec<Option<(u32, u32)>> {
    let dir = match Dir::base(root) {
        Ok(dir) => Some(dir),
        Err(e) => {
            problems.push(Error::io(root, &e, 71));
            None
        }
    };
    let mut owners = Vec::new();
    for v in &config.volumes {
        if let Some(Err(e)) = dir.as_ref().map(|d| volume::check(d, v)) {
            problems.push(e);
        }
        let owner = match &v.owner {
            Some(spec) => resolve(db, spec, 0)
                .map(|id| Some((id.uid, id.gid)))
                .map_err(|e| Error::UnknownUser(format!("volume {}: owner {e}", v.path.display()))),
            None => Ok(default_owner),
        };
        owners.push(owner.unwrap_or_else(|e| {
            problems.push(e);
            None
        }));
    }
    owners
}

/// The services' and tasks' `user`s, resolved against the planned database.
fn later(config: &Config, db: &Db) -> Vec<String> {
    let services = config.services.iter().map(|s| ("service", &s.name, &s.user));
    let tasks = config.tasks.iter().map(|t| ("task", &t.name, &t.user));
    services
        .chain(tasks)
        .filter_map(|(kind, name, user)| {
            let err = resolve(db, user.as_ref()?, 0).err()?;
            Some(format!("{kind} {name}: {err}"))
        })
        .collect()
}

/// Boot's identity step: writes `[user]`'s planned edit (as root) and
/// logs each change; the runtime identity as planned.
pub fn apply_identity(plan: &Plan, root: &Path) -> Result<Option<Identity>, Error> {
    if let Some(edit) = &plan.edit {
        account::write(root, edit)?;
        for action in &edit.actions {
            tracing::info!("{action}");
        }
    }
    Ok(plan.runtime.clone())
}
