//! Phases 3-6 before the workload (docs/reference.md, "Boot sequence"), in
//! order: templates, identity, volumes, waits, carried out as app/job.rs
//! planned them after phases 1-2 (secrets and init.toml with its `[env]`).

use std::path::Path;

use tracing::info;

use super::job::{Phases, Preparation};
use crate::cli::Global;
use crate::process::probe_child::{self, ProbeChild, Started};
use crate::process::reap;
use crate::process::signals::Signals;
use crate::process::spawn::{self, Ids};
use mooring::config::Wait;
use mooring::config::{self, Config, UserSpec, duration};
use mooring::env::Environment;
use mooring::error::Error;
use mooring::probe::NotReady;
use mooring::setup::nonroot::{self, Me};
use mooring::setup::user::Identity;
use mooring::setup::{account, plan, render, volume};

/// What the preparation leaves for running children.
pub struct Prepared {
    pub env: Environment,
    pub config: Config,
    /// Who children run as unless they say otherwise (`--user`, else `[user]`).
    pub default_user: Option<Identity>,
    pub no_new_privs: bool,
}

impl Prepared {
    /// What watched `command` targets run as (see `probes_as`).
    pub fn probes_as(&self) -> spawn::Command {
        probes_as(&self.env)
    }

    /// A command to spawn as `user` (or the default user), with the
    /// environment, `extra` variables on top, and HOME/USER/LOGNAME/SHELL of
    /// the identity it switches to.
    pub fn command(
        &self,
        argv: Vec<std::ffi::OsString>,
        (user, what): (Option<&UserSpec>, &str),
        extra: &[(String, String)],
        workdir: Option<std::path::PathBuf>,
    ) -> Result<spawn::Command, Error> {
        let identity = match user {
            Some(spec) => account::identity_for(spec, what, self.config.user.as_ref())?,
            None => self.default_user.clone(),
        };
        Ok(self.command_as(argv, identity, extra, workdir))
    }

    /// As `command`, for an identity already resolved (`None`: init's own).
    pub fn command_as(
        &self,
        argv: Vec<std::ffi::OsString>,
        identity: Option<Identity>,
        extra: &[(String, String)],
        workdir: Option<std::path::PathBuf>,
    ) -> spawn::Command {
        let mut env = self.env.clone();
        for (k, v) in extra {
            env.set(k, v);
        }
        if let Some(id) = &identity {
            env.set("HOME", id.home.as_os_str());
            if let Some(name) = &id.name {
                env.set("USER", name);
                env.set("LOGNAME", name);
            }
            if let Some(shell) = &id.shell {
                env.set("SHELL", shell);
            }
        }
        // Not root, children run as init: the identity only names them.
        let ids = identity.filter(|_| Me::current().is_root()).map(|id| Ids {
            uid: id.uid,
            gid: id.gid,
            groups: id.groups,
        });
        spawn::Command { argv, env: env.vars().to_vec(), workdir, ids, no_new_privs: self.no_new_privs }
    }
}

/// What a wait's or watch's `command` target runs as: init's own user,
/// with the environment children get (docs/reference.md, "Waits").
pub fn probes_as(env: &Environment) -> spawn::Command {
    spawn::Command {
        argv: Vec::new(),
        env: env.vars().to_vec(),
        workdir: None,
        ids: None,
        no_new_privs: false,
    }
}

/// Phases 3-6 as `prep` planned them (app/job.rs): the image changed and
/// the waits awaited, or, beside a live init, only the runtime identity
/// looked up.
pub fn prepare(global: &Global, prep: Preparation) -> Result<Prepared, Error> {
    let Preparation { env, config, phases } = prep;
    match phases {
        Phases::All(image) => everything(global, env, config, image),
        Phases::Beside => beside(global, env, config),
    }
}

/// As PID 1 of a fresh container: phases 3-6.
fn everything(
    global: &Global,
    mut env: Environment,
    config: Config,
    image: Option<Box<plan::Plan>>,
) -> Result<Prepared, Error> {
    let runtime = match image {
        Some(plan) => change_image(&plan, &config)?,
        None => None,
    };
    // Not root and no `[user]`: the environment is the orchestrator's, with
    // a HOME when it gave none (docs/running-restricted.md).
    if runtime.is_none() && !Me::current().is_root() && !env.contains("HOME") {
        let db = mooring::setup::user::Db::load(Path::new("/"));
        env.set("HOME", nonroot::own_identity(&db, Me::current(), None).home.as_os_str());
    }
    wait_configured(&config, &env)?;
    prepared(global, env, config, runtime)
}

/// Beside a live init (app/job.rs): the runtime user as it made it.
fn beside(global: &Global, env: Environment, config: Config) -> Result<Prepared, Error> {
    let me = Me::current();
    let runtime = match &config.user {
        // Not root, the init beside already said what it skipped.
        Some(_) if !me.is_root() => {
            Some(nonroot::own_identity(&mooring::setup::user::Db::load(Path::new("/")), me, None))
        }
        Some(u) => account::identity_for(&UserSpec { user: u.name.clone(), group: None }, "[user]", None)?,
        None => None,
    };
    prepared(global, env, config, runtime)
}

/// Who children run as (`--user`, else the runtime user) and the rest of
/// what they need.
fn prepared(
    global: &Global,
    env: Environment,
    config: Config,
    runtime: Option<Identity>,
) -> Result<Prepared, Error> {
    let default_user = match &global.user.spec {
        Some(spec) => {
            let spec = config::parse_user_spec(spec).map_err(Error::Argument)?;
            account::identity_for(&spec, "--user", config.user.as_ref())?
        }
        None => runtime,
    };
    let no_new_privs = config.user.as_ref().is_some_and(|u| u.no_new_privileges);
    Ok(Prepared { env, config, default_user, no_new_privs })
}

/// Phases 3-5 as planned (app/job.rs: nothing changed while any problem
/// remained): `[user]` applied, templates written with owners resolved
/// against the users it leaves, volumes prepared (docs/reference.md,
/// "Identity"). Returns the runtime identity.
fn change_image(plan: &plan::Plan, config: &Config) -> Result<Option<Identity>, Error> {
    let root = Path::new("/");
    let runtime = plan::apply_identity(plan, root, Me::current())?;
    write_templates(&plan.templates)?;
    let dir = mooring::safe_fs::Dir::base(root).map_err(|e| Error::io(root, e))?;
    for (v, apply) in config.volumes.iter().zip(&plan.volumes) {
        let r = volume::prepare(&dir, v, *apply)?;
        log_volume(v, &r);
    }
    Ok(runtime)
}

/// One line for a prepared volume: INFO when it changed something, else
/// DEBUG; a WARN for what was left alone.
fn log_volume(v: &config::Volume, r: &volume::Report) {
    let changed = r.created || r.seeded > 0 || r.changed > 0;
    let (path, created, seeded, scanned, chowned) =
        (v.path.display(), r.created, r.seeded, r.scanned, r.changed);
    match changed {
        true => info!(path = %path, created, seeded, scanned, chowned, "volume ready"),
        false => tracing::debug!(path = %path, scanned, "volume ready, nothing to change"),
    }
    for (path, why) in &r.skipped {
        tracing::warn!(path = %path.display(), "left alone: {why}");
    }
    if r.skipped_total > r.skipped.len() as u64 {
        tracing::warn!(path = %v.path.display(), "left alone: {} more entries", r.skipped_total - r.skipped.len() as u64);
    }
}

/// `init render`: phase 3 alone, every template (rendered by app/job.rs)
/// written (all or nothing), owners resolved as boot would resolve them
/// (after `[user]`).
pub fn render_templates(config: &Config, mut templates: render::Plan) -> Result<(), Error> {
    let me = Me::current();
    let (_, db) = plan::users(config.user.as_ref(), Path::new("/"), me.is_root())?;
    let db = nonroot::with_runtime_user(db, config.user.as_ref(), me);
    if let Some(first) = templates.resolve_owners(&db).into_iter().next() {
        return Err(Error::Owner(first));
    }
    if !me.is_root()
        && let Some(step) = plan::drop_template_owners(&mut templates, me)
    {
        tracing::warn!("{step}");
    }
    write_templates(&templates)
}

/// Writes the rendered templates, one line each.
fn write_templates(plan: &render::Plan) -> Result<(), Error> {
    let written = render::write(plan)?;
    for (f, written) in plan.files.iter().zip(written) {
        match (f.keep, written) {
            (true, _) => tracing::debug!(dest = %f.dest.display(), "kept (overwrite = false)"),
            (false, true) => info!(dest = %f.dest.display(), src = %f.src.display(), "rendered"),
            (false, false) => tracing::debug!(dest = %f.dest.display(), "unchanged"),
        }
    }
    Ok(())
}

/// Phase 6 as configured: the `[[wait]]`s switched off by an empty target
/// are logged, the others (and `INIT_WAIT`'s) awaited.
pub fn wait_configured(config: &Config, env: &Environment) -> Result<(), Error> {
    config.skipped_waits.iter().for_each(|line| info!("{line}"));
    if config.waits.is_empty() {
        return Ok(());
    }
    wait(&config.waits, &probes_as(env))
}

/// Phase 6: waits for every target; a stop signal (as PID 1 a container's
/// `docker stop`, Ctrl-C in a terminal) ends the wait at once with 128+N,
/// said in an INFO naming what was still awaited: a stop asked for is no
/// error (docs/reference.md, "Waits").
pub fn wait(waits: &[Wait], probes_as: &spawn::Command) -> Result<(), Error> {
    let signals = Signals::block_all()?;
    let mut ready = vec![false; waits.len()];
    let mut probe = |target: &config::Target, until: Option<std::time::Instant>| {
        let result = match probe_child::start(target, probes_as, signals.original_mask) {
            Started::Done(result) => Ok(result),
            Started::Child(pending) => finish(pending, &signals, until),
        };
        if let (Ok(Ok(())), Some(i)) = (&result, waits.iter().position(|w| std::ptr::eq(&w.target, target))) {
            ready[i] = true;
        }
        result
    };
    let result = mooring::setup::wait::wait_all(waits, |d| signals.pause(d), &mut probe);
    if let Err(Error::Interrupted(sig)) = &result {
        let awaited: Vec<String> =
            waits.iter().zip(&ready).filter(|(_, r)| !**r).map(|(w, _)| w.target.to_string()).collect();
        let signal = crate::process::signals::name(*sig);
        info!(signal = %signal, "interrupted while waiting for {}", awaited.join(", "));
    }
    result
}

/// How long a probe may run past its wait's timeout.
const PROBE_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Waits for a probe's child: its result, `Err(signal)` when a stop signal
/// came first, a failure when `until` passed (the child is then killed).
fn finish(
    pending: ProbeChild,
    signals: &Signals,
    until: Option<std::time::Instant>,
) -> Result<Result<(), NotReady>, i32> {
    use nix::sys::wait::{WaitPidFlag, waitpid};
    // A probe started at the very end of a wait still gets a moment to answer.
    let until = until.map(|u| u.max(duration::later(std::time::Instant::now(), PROBE_GRACE)));
    loop {
        match waitpid(pending.pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(status) => {
                if let Some((_, exit)) = reap::ended(status) {
                    return Ok(pending.result(exit));
                }
            }
            Err(errno) => return Ok(Err(NotReady::Os { call: "waitpid", errno })),
        }
        let stop = match signals.wait(until) {
            Some(sig) if matches!(sig.signo, libc::SIGTERM | libc::SIGINT | libc::SIGQUIT) => Some(sig.signo),
            Some(_) => continue,
            None => None,
        };
        let pid = pending.pid;
        pending.cancel();
        let _ = waitpid(pid, None);
        return match stop {
            Some(sig) => Err(sig),
            None => Ok(Err(NotReady::Timeout)),
        };
    }
}
