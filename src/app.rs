//! The only place that knows the phase order (docs/reference.md, "Boot
//! sequence"). A command line's trip: refuse a set-uid start, answer the
//! commands that need no configuration, else load init.toml once and plan
//! one job (app/job.rs: phases 1-2 and the plan), then act on it: prepare
//! (app/prepare.rs: templates, identity, volumes, waits) and run one command
//! (run/single.rs) or the services (run/supervisor.rs); `init check` prints
//! the job instead (app/check.rs).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::cli::{self, Cli, Command, Global, RunArgs, SignalScope};
use crate::run::single::{self, Options, Scope};
use crate::run::supervisor;
use crate::sys;
use mooring::config::{self};
use mooring::error::Error;
use mooring::setup::render;
use tracing::info;

mod check;
mod control;
mod health;
mod job;
mod prepare;
mod table;

use job::{Intent, Job};
use mooring::config::Runs;
use prepare::{Prepared, prepare};

pub fn run(cli: Cli) -> Result<u8, Error> {
    refuse_secure_exec()?;
    let opts = Options {
        stop_timeout: cli.global.stop_timeout.0,
        scope: match cli.global.signal_scope {
            SignalScope::Group => Scope::Group,
            SignalScope::Child => Scope::Child,
        },
        remap_exit: cli.global.remap_exit.clone(),
    };
    let global = &cli.global;
    let intent = match split(cli.command, cli.after_dashes) {
        Ok(intent) => intent,
        Err(direct) => return answer(direct),
    };
    // An ad-hoc command's hint follows it from the load to its end; `init
    // CMD` naming a task is the task's, and gets none after the load.
    let what = intent.adhoc();
    let loaded = job::load(global.config.as_deref()).map_err(|e| adhoc_hint(e, global, what.as_deref()))?;
    let intent = intent.resolve(&loaded.config);
    let what = intent.adhoc();
    let job = job::plan(intent, loaded);
    job.and_then(|job| act(job, global, &opts)).map_err(|e| adhoc_hint(e, global, what.as_deref()))
}

/// The commands that need no configuration: they talk to the running init,
/// read its status file, or wait for the targets they are given.
enum Direct {
    Version,
    /// A request line for the control socket, and how long to wait for its answer.
    Control(String, config::Limit),
    /// `init signal SERVICE SIG` and its timeout.
    Signal(String, String, config::Limit),
    Wait(Option<config::Limit>, Vec<String>),
    Status {
        json: bool,
    },
    Health,
    Ready,
}

/// The parsed command line as what it intends with the configuration, or a
/// command that needs none.
fn split(command: Option<Command>, after_dashes: bool) -> Result<Intent, Direct> {
    Ok(match command {
        Some(Command::Check { .. }) => Intent::Check,
        Some(Command::Render { stdout, .. }) => Intent::Render { stdout },
        Some(Command::Wait { targets, .. }) if targets.is_empty() => Intent::Wait,
        None | Some(Command::Start(cli::MaybeService { service: None, .. })) => Intent::Boot,
        Some(Command::External(argv)) => Intent::External { argv, after_dashes },
        Some(Command::Run(RunArgs { cmd, no_wait, .. })) if !cmd.is_empty() => {
            Intent::Command { argv: cmd, no_wait, boot: false }
        }
        Some(Command::Run(RunArgs { name_and_args, no_wait, .. })) => {
            Intent::Named { name_and_args, no_wait }
        }
        Some(Command::Shell { user, workdir, .. }) => Intent::Shell { user, workdir },
        Some(Command::Version { .. }) => return Err(Direct::Version),
        Some(Command::Start(cli::MaybeService { service: Some(name), timeout, .. })) => {
            return Err(Direct::Control(format!("start {name}"), timeout));
        }
        Some(Command::Stop(a)) => return Err(Direct::Control(format!("stop {}", a.service), a.timeout)),
        Some(Command::Restart(a)) => {
            return Err(Direct::Control(format!("restart {}", a.service), a.timeout));
        }
        Some(Command::Reload(cli::MaybeService { service, timeout, .. })) => {
            let line = service.map_or("reload".to_string(), |s| format!("reload {s}"));
            return Err(Direct::Control(line, timeout));
        }
        Some(Command::Signal { target, signal }) => {
            return Err(Direct::Signal(target.service, signal, target.timeout));
        }
        Some(Command::Wait { timeout, targets, .. }) => return Err(Direct::Wait(timeout, targets)),
        Some(Command::Status { json, .. }) => return Err(Direct::Status { json }),
        Some(Command::Health { .. }) => return Err(Direct::Health),
        Some(Command::Ready { .. }) => return Err(Direct::Ready),
    })
}

fn answer(direct: Direct) -> Result<u8, Error> {
    match direct {
        Direct::Version => {
            println!("init (mooring) {} {}", env!("CARGO_PKG_VERSION"), build_target());
            Ok(0)
        }
        Direct::Control(line, timeout) => control::request(&line, timeout),
        Direct::Signal(service, signal, timeout) => signal_request(&service, &signal, timeout),
        Direct::Wait(timeout, targets) => wait_for(timeout, targets),
        Direct::Status { json } => table::show(json),
        Direct::Health => health::health(),
        Direct::Ready => health::ready(),
    }
}

/// Carries out a planned job, in the phase order.
fn act(job: Job, global: &Global, opts: &Options) -> Result<u8, Error> {
    match job {
        Job::Check { loaded, plan, errors } => check::print(global, loaded, &plan, errors),
        Job::Render { stdout, templates, config } => render_only(&config, templates, stdout),
        Job::Wait { env, config } => prepare::wait_configured(&config, &env).map(|()| 0),
        Job::Boot(prep) => {
            let prepared = prepare(global, prep)?;
            if !prepared.config.services.is_empty() {
                return supervise(&prepared, opts);
            }
            Err(Error::Usage(format!(
                "nothing to run: give a command (init -- CMD) or services in {}",
                job::config_shown(global)
            )))
        }
        Job::Command { argv, boot, prep } => run_command(prepare(global, prep)?, argv, opts, boot),
        Job::Task { name, args, prep } => run_task(prepare(global, prep)?, &name, args, opts),
        Job::Shell { user, workdir, prep } => shell(prepare(global, prep)?, user, workdir, opts),
    }
}

/// `init signal SERVICE SIG`: SIG by name (HUP, SIGUSR1) or number (1-64).
fn signal_request(service: &str, signal: &str, timeout: config::Limit) -> Result<u8, Error> {
    let signo = config::parse_signal(signal).or_else(|e| match signal.parse::<i32>() {
        Ok(n) if (1..=64).contains(&n) => Ok(n),
        _ => Err(e),
    });
    let signo = signo.map_err(Error::Argument)?;
    control::request(&format!("signal {service} {signo}"), timeout)
}

/// `init render`: the templates boot would render, written, or on stdout.
fn render_only(config: &config::Config, templates: render::Plan, stdout: bool) -> Result<u8, Error> {
    if !stdout {
        prepare::render_templates(config, templates)?;
        return Ok(0);
    }
    let mut out = String::new();
    for f in &templates.files {
        if templates.files.len() > 1 {
            out.push_str(&format!("==> {} <==\n", f.dest.display()));
        }
        out.push_str(&f.text);
    }
    use std::io::Write;
    let mut lock = std::io::stdout().lock();
    lock.write_all(out.as_bytes()).and_then(|()| lock.flush()).map_err(|e| {
        Error::os("write(stdout)", nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
    })?;
    Ok(0)
}

/// An ad-hoc command (`docker run IMAGE bash`, `init run -- CMD`) that
/// init.toml or its templates refused for a variable not set (78) gets one
/// line after the errors on how to get a shell anyway (docs/reference.md,
/// "Command line").
fn adhoc_hint(e: Error, global: &Global, what: Option<&str>) -> Error {
    let Some(what) = what.filter(|_| matches!(e, Error::Unset(_))) else {
        return e;
    };
    let config = job::config_shown(global);
    let hint = format!(
        "{what} starts only once the container is prepared as {config} says: set the variables the lines above name, \
         or bypass init for a shell: docker run -it --entrypoint /bin/sh IMAGE"
    );
    Error::Hinted { error: Box::new(e), hint }
}

/// `init CMD` (boot: status file, watched waits stay watched) or `init run -- CMD` (one-off).
fn run_command(prepared: Prepared, argv: Vec<OsString>, opts: &Options, boot: bool) -> Result<u8, Error> {
    if boot && !prepared.config.services.is_empty() {
        // Said once, at INFO: the operator expected the services (docs/reference.md, "Logging").
        let words: Vec<_> = argv.iter().map(|a| a.to_string_lossy()).collect();
        info!("the configured services do not start: running {} instead", words.join(" "));
    }
    let cmd = prepared.command(argv, (None, ""), &[], None)?;
    match boot {
        true => single::boot(&cmd, opts, &prepared.config.waits, &prepared.probes_as()),
        false => run_once(&cmd, opts),
    }
}

/// Service mode: every `[[service]]` with its command prepared (identities
/// resolved now, so a bad `user` stops the boot with 67 before anything runs).
fn supervise(prepared: &Prepared, opts: &Options) -> Result<u8, Error> {
    let mut specs = Vec::new();
    for s in &prepared.config.services {
        let argv = s.command.iter().map(OsString::from).collect();
        let cmd = prepared.command(
            argv,
            (s.user.as_ref(), &format!("service {}", s.name)),
            &s.env,
            s.workdir.clone(),
        )?;
        specs.push(supervisor::Spec { service: s.clone(), cmd });
    }
    let config_path = prepared.config.path.clone();
    let load: supervisor::Loader = Box::new(move || job::load(Some(&config_path))?.scoped(&Runs::Services));
    let reloader = supervisor::Reloader::new(load, &prepared.config, &prepared.env);
    supervisor::run(specs, (&prepared.config.waits, &prepared.probes_as()), reloader, opts)
}

/// `init run NAME [ARGS]` (or `init NAME [ARGS]` for a task): a task, or
/// a service's command, run once with the templates and waits that serve
/// it (none of the waits with `no_wait` or the task's `waits = false`).
fn run_task(prepared: Prepared, name: &str, args: Vec<OsString>, opts: &Options) -> Result<u8, Error> {
    let task = find_task(&prepared.config, name)?;
    let argv = task.command.iter().map(OsString::from).chain(args).collect();
    let cmd = prepared.command(
        argv,
        (task.user.as_ref(), &format!("task {name}")),
        task.env,
        task.workdir.clone(),
    )?;
    run_once(&cmd, opts)
}

/// What `init run NAME` runs: the `[[task]]`, else the `[[service]]`, named NAME.
struct Task<'a> {
    command: &'a [String],
    env: &'a [(String, String)],
    workdir: &'a Option<std::path::PathBuf>,
    user: &'a Option<config::UserSpec>,
}

fn find_task<'a>(config: &'a config::Config, name: &str) -> Result<Task<'a>, Error> {
    let task = config.tasks.iter().find(|t| t.name == name);
    let found = task.map(|t| Task { command: &t.command, env: &t.env, workdir: &t.workdir, user: &t.user });
    let service = || config.services.iter().find(|s| s.name == name);
    let found = found.or_else(|| {
        service().map(|s| Task { command: &s.command, env: &s.env, workdir: &s.workdir, user: &s.user })
    });
    found.ok_or_else(|| Error::UnknownTask(name.into()))
}

/// `init run` and `init shell`: the child runs directly, unless init is root
/// and switches it to another user while any of fds 0-2 is a terminal —
/// then it gets a fresh pty relayed by init, so it cannot push keystrokes
/// into root's terminal with TIOCSTI (docs/security.md).
fn run_once(cmd: &crate::process::spawn::Command, opts: &Options) -> Result<u8, Error> {
    let other_user = cmd.ids.as_ref().map(|ids| ids.uid).filter(|&uid| uid != 0);
    match other_user {
        Some(uid) if nix::unistd::geteuid().is_root() && (0..3).any(sys::isatty) => {
            crate::run::shell::run_on_pty(cmd, uid)
        }
        _ => single::run(cmd, opts),
    }
}

/// `init wait [--timeout DUR] TARGET...`: the targets given (without
/// any, app/job.rs plans the configured `[[wait]]`s); exits 0 when all are
/// ready, 75 on a timeout.
fn wait_for(timeout: Option<config::Limit>, targets: Vec<String>) -> Result<u8, Error> {
    let waits = {
        let limit = timeout.map_or(Some(config::DEFAULT_WAIT_TIMEOUT), |l| l.0);
        let parsed: Result<Vec<_>, _> = targets.iter().map(|t| config::parse_target(t)).collect();
        let parsed = parsed.map_err(Error::Argument)?;
        let waits = parsed.into_iter().map(|target| config::Wait {
            target,
            timeout: limit,
            watch: false,
            serves: None,
        });
        waits.collect::<Vec<_>>()
    };
    // Targets given on the command line are never commands: no environment needed.
    prepare::wait(&waits, &prepare::probes_as(&mooring::env::Environment::default()))?;
    Ok(0)
}

/// `init shell [--workdir DIR] [USER]`: preparation as for an ad-hoc
/// command, then a login shell as USER (default: the runtime user) with the
/// services' environment, in DIR, else `[shell] workdir`, else the user's home. From root on a
/// terminal, switching to another user, the shell gets a fresh pty (run/shell.rs).
fn shell(
    prepared: Prepared,
    user: Option<String>,
    workdir: Option<PathBuf>,
    opts: &Options,
) -> Result<u8, Error> {
    let identity = match &user {
        Some(u) => mooring::setup::account::identity_for(
            &config::parse_user_spec(u).map_err(Error::Argument)?,
            "the shell",
            prepared.config.user.as_ref(),
        )?,
        None => prepared.default_user.clone(),
    };
    let login_shell = identity
        .as_ref()
        .and_then(|id| id.shell.clone())
        .filter(|s| !s.ends_with("nologin") && !s.ends_with("/false") && Path::new(s).exists())
        .unwrap_or_else(|| "/bin/sh".into());
    let home = identity.as_ref().map(|id| id.home.clone()).filter(|h| h.is_dir());
    let workdir = workdir.or_else(|| prepared.config.shell_workdir.clone()).or(home);
    let cmd = prepared.command_as(vec![login_shell.into(), "-l".into()], identity, &[], workdir);
    run_once(&cmd, opts)
}

/// A set-uid init would hand root to whoever can run it. The kernel's
/// secure-exec flag catches a set-uid start by another user; the mode bits
/// catch the binary even when root runs it (where the flag stays clear).
fn refuse_secure_exec() -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let exe = &mooring::procfs::system().exe("self");
    let set_id_bits = std::fs::metadata(exe).is_ok_and(|m| m.permissions().mode() & 0o6000 != 0);
    if sys::secure_exec() || set_id_bits {
        let name = std::fs::read_link(exe).map(|p| p.display().to_string()).unwrap_or_else(|_| "init".into());
        return Err(Error::SecureExec(name));
    }
    Ok(())
}

fn build_target() -> String {
    let libc = if cfg!(target_env = "musl") { "musl" } else { "gnu" };
    format!("{}-unknown-linux-{libc}", std::env::consts::ARCH)
}
