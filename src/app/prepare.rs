//! Phases 1-6 before the workload (docs/reference.md, "Boot sequence"), in order: secrets and
//! init.toml (with `[env]`), templates, identity, volumes, waits.

use std::path::Path;

use tracing::info;

use crate::cli::Global;
use crate::process::probe_child::{self, ProbeChild, Started};
use crate::process::reap;
use crate::process::signals::Signals;
use crate::process::spawn::{self, Ids};
use mooring::config::Wait;
use mooring::config::{self, Config, Problem, Runs, UserSpec, duration};
use mooring::env::Environment;
use mooring::error::Error;
use mooring::setup::nonroot::{self, Me};
use mooring::setup::user::Identity;
use mooring::setup::{account, plan, render, secrets, volume};

/// init.toml after phases 1-2 for every run: the environment (the
/// `_FILE` secrets it needs applied, its `[env]` merged), the config, and
/// every problem with the runs it stops, so a command can look at the
/// config's names before it picks its run (docs/reference.md, "One-off work").
pub struct Loaded {
    pub env: Environment,
    pub config: Config,
    problems: Vec<Problem>,
}

impl Loaded {
    /// The environment and the config as a run of `runs` uses them; an
    /// error when a problem stops that run.
    pub fn scoped(self, runs: &Runs) -> Result<(Environment, Config), Error> {
        let config = mooring::setup::load::scope(self.config, self.problems, runs)?;
        Ok((self.env, config))
    }
}

/// init.toml (`--config`, else the default) loaded for every run.
pub fn load_all(global: &Global) -> Result<Loaded, Error> {
    load_all_from(global.config.as_deref())
}

fn load_all_from(given: Option<&Path>) -> Result<Loaded, Error> {
    let mut env = Environment::from_process();
    let path = config::locate(given)?;
    let loaded = mooring::setup::load::load_all(path.as_deref(), &mut env, secrets::read_secret);
    // Before the error (if any) is printed: it may quote a secret's value.
    crate::log::hide(env.secret_values());
    let (config, problems) = loaded?;
    Ok(Loaded { env, config, problems })
}

/// The environment and config after phases 1-2, as a run of `runs` uses them.
pub fn load(global: &Global, runs: &Runs) -> Result<(Environment, Config), Error> {
    load_all(global)?.scoped(runs)
}

/// As `load`, for the config at `given` (`--config`), else the default.
pub fn load_from(given: Option<&Path>, runs: &Runs) -> Result<(Environment, Config), Error> {
    load_all_from(given)?.scoped(runs)
}

/// What the preparation leaves for running children.
pub struct Prepared {
    pub env: Environment,
    pub config: Config,
    /// Who children run as unless they say otherwise (`--user`, else `[user]`).
    pub default_user: Option<Identity>,
    pub no_new_privs: bool,
}

impl Prepared {
    /// What watched `command` targets run as (see `checker`).
    pub fn checker(&self) -> spawn::Command {
        checker(&self.env)
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
pub fn checker(env: &Environment) -> spawn::Command {
    spawn::Command {
        argv: Vec::new(),
        env: env.vars().to_vec(),
        workdir: None,
        ids: None,
        no_new_privs: false,
    }
}

/// Full preparation (phases 1-6) for a run of `runs`, as PID 1 of a
/// fresh container does it: only the templates and waits that serve it.
pub fn prepare(global: &Global, loaded: Loaded, runs: &Runs) -> Result<Prepared, Error> {
    let (mut env, config) = loaded.scoped(runs)?;
    // Said at boot, where the operator expects every service; a one-off
    // run keeps quiet about them (docs/reference.md, "Logging").
    for off in &config.off {
        match runs {
            Runs::Services => info!("{off}"),
            _ => tracing::debug!("{off}"),
        }
    }
    let runtime = change_image(&config, &env)?;
    // Not root and no `[user]`: the environment is the orchestrator's, with
    // a HOME when it gave none (docs/running-restricted.md).
    if runtime.is_none() && !Me::current().is_root() && !env.contains("HOME") {
        let db = mooring::setup::user::Db::load(Path::new("/"));
        env.set("HOME", nonroot::own_identity(&db, Me::current(), None).home.as_os_str());
    }
    wait_configured(&config, &env)?;
    prepared(global, env, config, runtime)
}

/// For `init run` and `init shell`: beside a live init — the pid its status
/// file names, alive and mooring, not necessarily pid 1 (`docker run --init`,
/// `shareProcessNamespace`), and not this process — the phases it already did
/// (templates, identity, volumes) and the waits are skipped, and its
/// semaphores and status are left alone: a debugging shell is most needed
/// while a dependency is down (docs/reference.md, "Services", Beside a running init). In a
/// fresh container everything runs.
pub fn prepare_oneoff(global: &Global, loaded: Loaded, runs: &Runs) -> Result<Prepared, Error> {
    let me = nix::unistd::getpid().as_raw();
    let live = crate::status_file::find_live().map(|s| s.pid);
    let Some(pid) = live.ok().filter(|&pid| pid != me) else {
        return prepare(global, loaded, runs);
    };
    info!(pid, "beside a running init: templates, identity, volumes and waits left as it made them");
    let (env, config) = loaded.scoped(runs)?;
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
            let spec = config::parse_user_spec(spec).map_err(Error::Usage)?;
            account::identity_for(&spec, "--user", config.user.as_ref())?
        }
        None => runtime,
    };
    let no_new_privs = config.user.as_ref().is_some_and(|u| u.no_new_privileges);
    Ok(Prepared { env, config, default_user, no_new_privs })
}

/// Phases 3-5: templates, identity and volumes planned together, nothing
/// changed while any problem remains (the first is the error); then
/// `[user]` applied, templates written with owners resolved against the
/// users it leaves, volumes prepared (docs/reference.md, "Identity"). Returns the
/// runtime identity.
fn change_image(config: &Config, env: &Environment) -> Result<Option<Identity>, Error> {
    let me = Me::current();
    // The plain PID 1 (no init.toml, or none of these tables) reads nothing
    // as root; not root, it may add a passwd entry for its own uid.
    if config.user.is_none() && config.templates.is_empty() && config.volumes.is_empty() && me.is_root() {
        return Ok(None);
    }
    let root = Path::new("/");
    let (plan, problems) = plan::plan(config, env, root, me, false);
    if let Some(first) = problems.into_iter().next() {
        return Err(first);
    }
    let runtime = plan::apply_identity(&plan, root, me)?;
    write_templates(&plan.templates)?;
    let dir = mooring::safe_fs::Dir::base(root).map_err(|e| Error::io(root, &e, 71))?;
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

/// `init render`: phase 3 alone, every template rendered and written (all
/// or nothing), owners resolved as boot would resolve them (after `[user]`).
pub fn render_templates(config: &Config, env: &Environment) -> Result<(), Error> {
    let mut templates = render::plan(config, env, false)?;
    let me = Me::current();
    let (_, db) = plan::users(config.user.as_ref(), Path::new("/"), me.is_root())?;
    let db = nonroot::with_runtime_user(db, config.user.as_ref(), me);
    if let Some(first) = templates.resolve_owners(&db).into_iter().next() {
        return Err(Error::UnknownUser(first));
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
    wait(&config.waits, &checker(env))
}

/// Phase 6: waits for every target; a stop signal (as PID 1 a container's
/// `docker stop`, Ctrl-C in a terminal) ends the wait at once with 128+N,
/// said in an INFO naming what was still awaited: a stop asked for is no
/// error (docs/reference.md, "Waits").
pub fn wait(waits: &[Wait], checker: &spawn::Command) -> Result<(), Error> {
    let signals = crate::process::signals::Signals::block_all()?;
    let mut ready = vec![false; waits.len()];
    let mut probe = |target: &config::Target, until: Option<std::time::Instant>| {
        let result = match probe_child::start(target, checker, signals.original_mask) {
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

/// How long a check may run past its wait's timeout.
const CHECK_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Waits for a check's child: its result, `Err(signal)` when a stop signal
/// came first, a failure when `until` passed (the child is then killed).
fn finish(
    pending: ProbeChild,
    signals: &Signals,
    until: Option<std::time::Instant>,
) -> Result<Result<(), String>, i32> {
    use nix::sys::wait::{WaitPidFlag, waitpid};
    // A check started at the very end of a wait still gets a moment to answer.
    let until = until.map(|u| u.max(duration::later(std::time::Instant::now(), CHECK_GRACE)));
    loop {
        match waitpid(pending.pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(status) => {
                if let Some((_, exit)) = reap::ended(status) {
                    return Ok(pending.result(exit));
                }
            }
            Err(e) => return Ok(Err(format!("waitpid: {e}"))),
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
            None => Ok(Err("the check was still running at the timeout".into())),
        };
    }
}
