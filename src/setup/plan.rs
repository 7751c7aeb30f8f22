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
use crate::setup::nonroot::{self, Me, OwnEntry};
use crate::setup::user::{Db, Identity, UnknownOwner, resolve};
use crate::setup::{render, volume};

/// What boot will do before the workload runs.
#[derive(Debug, Default)]
pub struct Plan {
    pub templates: render::Plan,
    /// `[user]`'s edit of the files (`None`: no `[user]`, or not root).
    pub edit: Option<Edit>,
    /// The user database as it will be once `edit` is written.
    pub db: Db,
    /// Who children run as by default (`None`: init's own identity, as root).
    pub runtime: Option<Identity>,
    /// What each `[[volume]]` gets, in order.
    pub volumes: Vec<volume::Apply>,
    /// Not root: the passwd entry added for init's own uid.
    pub own_entry: Option<OwnEntry>,
    /// Steps skipped because init is not root, one WARN line each
    /// (docs/running-restricted.md); `init check` lists them.
    pub skipped: Vec<String>,
    /// Not root: the `user`s of services and tasks that will run as init
    /// instead (WARNed when each is prepared; `init check` lists them).
    pub skipped_later: Vec<String>,
    /// Problems boot meets only when it starts the service or task (its
    /// `user`), or uses `--user`: `init check` reports them with the rest.
    pub later: Vec<String>,
}

/// Plans templates, identity and volumes under `root` for init running as
/// `me`: as root, `[user]` is made to exist; not root, the files are left
/// alone and what only root may do is skipped (`Plan::skipped`).
/// Every problem, in phase order: boot stops at the first, check shows all.
pub fn plan(config: &Config, env: &Environment, root: &Path, me: Me, lint: bool) -> (Plan, Vec<Error>) {
    let mut problems = Vec::new();
    let mut skipped = Vec::new();
    let (mut templates, template_problems) = render::plan_all(config, env, lint);
    match template_problems {
        p if p.is_empty() => {}
        p if templates.unset => problems.push(Error::Unset(p)),
        p => problems.push(Error::Invalid(p)),
    }
    let (edit, found) = users(config.user.as_ref(), root, me.is_root()).unwrap_or_else(|e| {
        problems.push(e);
        (None, Db::load(root))
    });
    // Not root, `owner = "app"` naming `[user]` is init itself, whose passwd
    // entry is added only at apply (docs/running-restricted.md).
    let db = nonroot::with_runtime_user(found.clone(), config.user.as_ref(), me);
    let owners = templates.resolve_owners(&db);
    problems.extend(owners.into_iter().map(Error::Owner));
    let (runtime, own_entry) = if me.is_root() {
        let runtime = match (&config.user, &edit) {
            (Some(want), Some(_)) => {
                resolve(&db, &spec(want), 0).map_err(|e| problems.push(Error::User(e))).ok()
            }
            _ => None,
        };
        (runtime, None)
    } else {
        skipped.extend(config.user.as_ref().and_then(|want| nonroot::runtime_user_step(want, &found, me)));
        skipped.extend(drop_template_owners(&mut templates, me));
        not_root(config, &found, root, me, &mut skipped)
    };
    let default_owner = runtime.as_ref().filter(|_| me.is_root()).map(|id| (id.uid, id.gid));
    let volumes = volumes(config, &db, root, (default_owner, me), &mut problems, &mut skipped);
    let mut skipped_later = Vec::new();
    let later = later(config, &db, me, &mut skipped_later);
    (Plan { templates, edit, db, runtime, volumes, own_entry, skipped, skipped_later, later }, problems)
}

/// Not root: the passwd entry for init's own uid
/// (looked for in the files as `found`) and the runtime identity it gives.
fn not_root(
    config: &Config,
    found: &Db,
    root: &Path,
    me: Me,
    skipped: &mut Vec<String>,
) -> (Option<Identity>, Option<OwnEntry>) {
    let entry = nonroot::own_entry(found, me, config.user.as_ref(), |p| nonroot::may_write(root, p));
    if let Some(e) = entry.as_ref().filter(|e| !e.append && config.user.is_some()) {
        skipped.push(format!(
            "not root: uid {} has no passwd entry and /etc/passwd may not be written; children get HOME={}",
            me.uid,
            e.home.display()
        ));
    }
    let runtime = config.user.as_ref().map(|_| nonroot::own_identity(found, me, entry.as_ref()));
    (runtime, entry)
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

/// Not root: files init writes are its own, so template owners are dropped;
/// those naming someone else are the skipped step.
pub fn drop_template_owners(templates: &mut render::Plan, me: Me) -> Option<String> {
    let wanted: Vec<(&Path, (u32, u32))> =
        templates.files.iter().filter_map(|f| Some((f.dest.as_path(), f.owner?))).collect();
    let step = nonroot::owners_step("template owners", &wanted, me);
    templates.files.iter_mut().for_each(|f| f.owner = None);
    step
}

/// Each volume's path checked and what it gets: its owner resolved
/// (default: the runtime user's ids, as root) and its mode; not root, an
/// owner or mode init may not set is a skipped step instead.
fn volumes(
    config: &Config,
    db: &Db,
    root: &Path,
    (default_owner, me): (Option<(u32, u32)>, Me),
    problems: &mut Vec<Error>,
    skipped: &mut Vec<String>,
) -> Vec<volume::Apply> {
    let dir = Dir::base(root).map_err(|e| problems.push(Error::io(root, e))).ok();
    let mut applies = Vec::new();
    let mut not_given = Vec::new();
    for v in &config.volumes {
        let existing = match dir.as_ref().map(|d| volume::inspect(d, v)) {
            Some(Ok(st)) => st,
            Some(Err(e)) => {
                problems.push(e);
                None
            }
            None => None,
        };
        let owner = match &v.owner {
            Some(spec) => resolve(db, spec, 0)
                .map(|id| Some((id.uid, id.gid)))
                .map_err(|error| UnknownOwner::Volume { path: v.path.clone(), error }.into()),
            None => Ok(default_owner),
        };
        let owner = owner.unwrap_or_else(|e| {
            problems.push(e);
            None
        });
        let mut apply = volume::Apply { owner, mode: v.mode };
        if !me.is_root() {
            let now = existing.map_or((me.uid, me.gid), |st| (st.st_uid, st.st_gid));
            if let Some(o) = apply.owner.take().filter(|&o| o != now) {
                not_given.push((v.path.as_path(), o));
            }
            if let (Some(mode), Some(st)) = (v.mode, existing)
                && st.st_uid != me.uid
                && st.st_mode & 0o7777 != mode
            {
                apply.mode = None;
                skipped.push(format!(
                    "not root: mode {mode:04o} of {} not set (owned by uid {})",
                    v.path.display(),
                    st.st_uid
                ));
            }
        }
        applies.push(apply);
    }
    skipped.extend(nonroot::owners_step("volume owners", &not_given, me));
    applies
}

/// The services' and tasks' `user`s, resolved against the planned
/// database; not root, one naming someone else is a skipped step (it runs
/// as init).
fn later(config: &Config, db: &Db, me: Me, skipped: &mut Vec<String>) -> Vec<String> {
    let services = config.services.iter().map(|s| ("service", &s.name, &s.user));
    let tasks = config.tasks.iter().map(|t| ("task", &t.name, &t.user));
    let mut problems = Vec::new();
    for (kind, name, user) in services.chain(tasks) {
        let Some(spec) = user else { continue };
        match resolve(db, spec, me.gid) {
            Err(e) => problems.push(format!("{kind} {name}: {e}")),
            Ok(id) if !me.is_root() => {
                skipped.extend(nonroot::switch_step(
                    &format!("{kind} {name}"),
                    spec,
                    Some((id.uid, id.gid)),
                    me,
                ));
            }
            Ok(_) => {}
        }
    }
    problems
}

/// Boot's identity step: as root, writes `[user]`'s planned edit and logs
/// each change; not root, logs each skipped step and adds the passwd entry
/// for init's own uid where the image lets it. The runtime identity as planned.
pub fn apply_identity(plan: &Plan, root: &Path, me: Me) -> Result<Option<Identity>, Error> {
    if let Some(edit) = &plan.edit {
        account::write(root, edit)?;
        for action in &edit.actions {
            tracing::info!("{action}");
        }
    }
    for step in &plan.skipped {
        tracing::warn!("{step}");
    }
    if let Some(entry) = plan.own_entry.as_ref().filter(|e| e.append) {
        match nonroot::append_entry(root, entry, me) {
            Ok(()) => {
                tracing::info!(uid = me.uid, user = %entry.name, home = %entry.home.display(), "added a passwd entry for init's own uid")
            }
            Err(e) => {
                tracing::warn!(uid = me.uid, error = %e, "not root: no passwd entry for init's own uid (HOME={})", entry.home.display())
            }
        }
    }
    Ok(plan.runtime.clone())
}
