//! A command line's trip through init (docs/reference.md, "Command line"):
//! what it intends (`Intent`, from the parsed command line), init.toml
//! located and loaded once (`load`, the only place that does), then one
//! `Job`: what will run, with the configuration cut down to that run and the
//! phases planned. app.rs acts on the job; `init check` prints it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use tracing::info;

use crate::cli::Global;
use mooring::config::{self, Config, Problem, Runs};
use mooring::env::Environment;
use mooring::error::Error;
use mooring::setup::nonroot::Me;
use mooring::setup::{plan, render, secrets};

/// What a command line asks of init.toml's configuration.
pub enum Intent {
    Check,
    Render {
        stdout: bool,
    },
    /// `init wait` without targets: what boot would await.
    Wait,
    /// `init`, `init start`: prepare, then the services.
    Boot,
    /// `init CMD`, `init -- CMD`: a task by that name, else an ad-hoc
    /// command (after `--` always the command). `resolve` tells which.
    External {
        argv: Vec<OsString>,
        after_dashes: bool,
    },
    /// An ad-hoc command: instead of the services (`boot`, `init CMD`), or
    /// once (`init run -- CMD`).
    Command {
        argv: Vec<OsString>,
        no_wait: bool,
        boot: bool,
    },
    /// `init run NAME [ARGS]`, `init NAME [ARGS]` naming a task.
    Named {
        name_and_args: Vec<OsString>,
        no_wait: bool,
    },
    Shell {
        user: Option<String>,
        workdir: Option<PathBuf>,
    },
}

impl Intent {
    /// `init CMD` once the config's names are known: a first word naming
    /// a `[[task]]` runs that task (tasks shadow programs), any other is an
    /// ad-hoc command with the templates and waits that have no `for`
    /// (docs/reference.md, "One-off work").
    pub fn resolve(self, config: &Config) -> Intent {
        let Intent::External { argv, after_dashes } = self else {
            return self;
        };
        let first = argv.first().map(|w| w.to_string_lossy().into_owned()).unwrap_or_default();
        match !after_dashes && config.task_names.contains(&first) {
            true => Intent::Named { name_and_args: argv, no_wait: false },
            false => Intent::Command { argv, no_wait: false, boot: true },
        }
    }

    /// What an ad-hoc command's hint names (app.rs, `adhoc_hint`): a
    /// variable not set is no reason to refuse someone a shell.
    pub fn adhoc(&self) -> Option<String> {
        match self {
            Intent::External { argv, .. } | Intent::Command { argv, .. } => Some(first_word(argv)),
            Intent::Shell { .. } => Some("init shell".into()),
            _ => None,
        }
    }
}

fn first_word(argv: &[OsString]) -> String {
    argv.first().map_or("the command".into(), |a| a.to_string_lossy().into_owned())
}

/// init.toml after phases 1-2 for every run: where it is, the environment
/// (the `_FILE` secrets it needs applied, its `[env]` merged), the config,
/// and every problem with the runs it stops, so a command can look at the
/// config's names before it picks its run (docs/reference.md, "One-off work").
pub struct Loaded {
    pub path: Option<PathBuf>,
    pub env: Environment,
    pub config: Config,
    pub problems: Vec<Problem>,
}

impl Loaded {
    /// The environment and the config as a run of `runs` uses them; an
    /// error when a problem stops that run.
    pub fn scoped(self, runs: &Runs) -> Result<(Environment, Config), Error> {
        let config = mooring::setup::load::scope(self.config, self.problems, runs)?;
        Ok((self.env, config))
    }
}

/// init.toml at `given` (`--config`), else the default, loaded for every
/// run: the one place that locates and loads it (also for `init reload`).
pub fn load(given: Option<&Path>) -> Result<Loaded, Error> {
    let mut env = Environment::from_process();
    let path = config::locate(given)?;
    let loaded = mooring::setup::load::load_all(path.as_deref(), &mut env, secrets::read_secret);
    // Before the error (if any) is printed: it may quote a secret's value.
    crate::log::hide(env.secret_values());
    let (config, problems) = loaded?;
    Ok(Loaded { path, env, config, problems })
}

/// What one command line will do, decided before anything changes.
pub enum Job {
    /// `init check`: every run's configuration and its phases 3-5 planned
    /// as boot would plan them, with every problem.
    Check {
        loaded: Loaded,
        plan: Box<plan::Plan>,
        errors: Vec<Error>,
    },
    /// `init render`: the templates rendered in memory.
    Render {
        stdout: bool,
        templates: render::Plan,
        config: Config,
    },
    /// `init wait`: the configured waits.
    Wait {
        env: Environment,
        config: Config,
    },
    /// Boot: the services (an error after the preparation when there are none).
    Boot(Preparation),
    /// A command once (`init run -- CMD`), or instead of the services
    /// (`init CMD`: `boot`, with the status file and watches).
    Command {
        argv: Vec<OsString>,
        boot: bool,
        prep: Preparation,
    },
    /// A task, or a service's command, once.
    Task {
        name: String,
        args: Vec<OsString>,
        prep: Preparation,
    },
    Shell {
        user: Option<String>,
        workdir: Option<PathBuf>,
        prep: Preparation,
    },
}

/// The preparation a run gets: the environment and config cut down to it,
/// and which phases run.
pub struct Preparation {
    pub env: Environment,
    pub config: Config,
    pub phases: Phases,
}

pub enum Phases {
    /// Every phase, as PID 1 of a fresh container does them: phases 3-5 as
    /// planned (`None`: as root with no `[user]`, templates or volumes,
    /// nothing to plan), then the waits.
    All(Option<Box<plan::Plan>>),
    /// Beside a live init: what it already did is left alone.
    Beside,
}

/// Plans `intent` with the configuration `loaded`.
pub fn plan(intent: Intent, loaded: Loaded) -> Result<Job, Error> {
    let adhoc = |no_wait| Runs::Adhoc { no_wait };
    Ok(match intent {
        Intent::Check => {
            let (plan, errors) = plan::plan(&loaded.config, &loaded.env, Path::new("/"), Me::current(), true);
            Job::Check { loaded, plan: Box::new(plan), errors }
        }
        Intent::Render { stdout } => {
            let (env, config) = loaded.scoped(&Runs::Services)?;
            Job::Render { stdout, templates: render::plan(&config, &env, false)?, config }
        }
        Intent::Wait => {
            let (env, config) = loaded.scoped(&Runs::Services)?;
            Job::Wait { env, config }
        }
        Intent::Boot => Job::Boot(full(loaded, Runs::Services)?),
        // `init CMD` boots the container for it; `init run -- CMD` goes beside a live init.
        Intent::Command { argv, no_wait, boot: true } => {
            Job::Command { argv, boot: true, prep: full(loaded, adhoc(no_wait))? }
        }
        Intent::Command { argv, no_wait, boot: false } => {
            Job::Command { argv, boot: false, prep: oneoff(loaded, adhoc(no_wait))? }
        }
        Intent::Named { name_and_args, no_wait } => named(loaded, name_and_args, no_wait)?,
        // Never again External once resolved.
        external @ Intent::External { .. } => return plan(external.resolve(&loaded.config), loaded),
        Intent::Shell { user, workdir } => Job::Shell { user, workdir, prep: oneoff(loaded, adhoc(false))? },
    })
}

/// `init run NAME [ARGS]` (or `init NAME [ARGS]` for a task): the name is
/// looked up before any phase runs, so a mistyped one is reported (64) at
/// once, not after every wait (docs/reference.md, "Command line").
fn named(loaded: Loaded, name_and_args: Vec<OsString>, no_wait: bool) -> Result<Job, Error> {
    let Some((name, args)) = name_and_args.split_first() else {
        return Err(Error::Usage("init run needs a task NAME or -- CMD".into()));
    };
    let name = name.to_string_lossy().into_owned();
    known_name(&loaded.config, &name)?;
    let prep = oneoff(loaded, Runs::Named { name: name.clone(), no_wait })?;
    Ok(Job::Task { name, args: args.to_vec(), prep })
}

/// A name `init run` may run: a task or service (valid or not: its own
/// problems are reported by the run), not one switched off.
fn known_name(config: &Config, name: &str) -> Result<(), Error> {
    if let Some(off) = config.off.iter().find(|o| o.name.as_deref() == Some(name)) {
        return Err(Error::SwitchedOff(off.to_string()));
    }
    let named = |n: &String| n == name;
    match config.task_names.iter().any(named) || config.service_names.iter().any(named) {
        true => Ok(()),
        false => Err(Error::UnknownTask(name.into())),
    }
}

/// Every phase for a run of `runs`, as PID 1 of a fresh container does
/// them: only the templates and waits that serve it.
fn full(loaded: Loaded, runs: Runs) -> Result<Preparation, Error> {
    let (env, config) = loaded.scoped(&runs)?;
    // Said at boot, where the operator expects every service; a one-off
    // run keeps quiet about them (docs/reference.md, "Logging").
    for off in &config.off {
        match runs {
            Runs::Services => info!("{off}"),
            _ => tracing::debug!("{off}"),
        }
    }
    let me = Me::current();
    // The plain PID 1 (no init.toml, or none of these tables) reads nothing
    // as root; not root, it may add a passwd entry for its own uid.
    let nothing = config.user.is_none() && config.templates.is_empty() && config.volumes.is_empty();
    let image = match nothing && me.is_root() {
        true => None,
        false => {
            let (plan, problems) = plan::plan(&config, &env, Path::new("/"), me, false);
            if let Some(first) = problems.into_iter().next() {
                return Err(first);
            }
            Some(Box::new(plan))
        }
    };
    Ok(Preparation { env, config, phases: Phases::All(image) })
}

/// For `init run` and `init shell`: beside a live init — the pid its status
/// file names, alive and mooring, not necessarily pid 1 (`docker run --init`,
/// `shareProcessNamespace`), and not this process — the phases it already did
/// (templates, identity, volumes) and the waits are skipped, and its
/// semaphores and status are left alone: a debugging shell is most needed
/// while a dependency is down (docs/reference.md, "Services", Beside a running init). In a
/// fresh container everything runs.
fn oneoff(loaded: Loaded, runs: Runs) -> Result<Preparation, Error> {
    let me = nix::unistd::getpid().as_raw();
    let live = crate::status_file::find_live().map(|s| s.pid);
    let Some(pid) = live.ok().filter(|&pid| pid != me) else {
        return full(loaded, runs);
    };
    info!(pid, "beside a running init: templates, identity, volumes and waits left as it made them");
    let (env, config) = loaded.scoped(&runs)?;
    Ok(Preparation { env, config, phases: Phases::Beside })
}

/// The config path as messages name it: `--config`, else the default.
pub fn config_shown(global: &Global) -> std::path::Display<'_> {
    global.config.as_deref().unwrap_or(Path::new(config::DEFAULT_CONFIG)).display()
}
