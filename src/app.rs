//! The only place that knows the phase order (docs/reference.md, "Boot
//! sequence"): refuse a set-uid start, prepare (app/prepare.rs: secrets,
//! init.toml with its `[env]`, templates, identity, volumes, waits), then
//! run one command (run/single.rs) or the services (run/supervisor.rs).

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
mod prepare;
mod table;

use mooring::config::Runs;
pub use prepare::load;
use prepare::{Prepared, load_all, prepare, prepare_oneoff};

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
    let after_dashes = cli.after_dashes;
    match cli.command {
        Some(Command::Version { .. }) => {
            println!("init (mooring) {} {}", env!("CARGO_PKG_VERSION"), build_target());
            Ok(0)
        }
        Some(Command::Check { .. }) => check::run(global),
        Some(Command::Render { stdout, .. }) => render_only(global, stdout),
        Some(Command::External(argv)) => external(global, argv, after_dashes, &opts),
        Some(Command::Run(RunArgs { cmd, no_wait, .. })) if !cmd.is_empty() => {
            let runs = Runs::Adhoc { no_wait };
            let prepared = load_all(global)
                .and_then(|l| prepare_oneoff(global, l, &runs))
                .map_err(|e| adhoc_hint(e, global, &cmd))?;
            run_command(prepared, cmd, &opts, false)
        }
        Some(Command::Run(RunArgs { name_and_args, no_wait, .. })) => {
            run_named(global, load_all(global)?, name_and_args, no_wait, &opts)
        }
        Some(Command::Start(cli::MaybeService { service: Some(name), timeout, .. })) => {
            control::request(&format!("start {name}"), timeout)
        }
        Some(Command::Stop(a)) => control::request(&format!("stop {}", a.service), a.timeout),
        Some(Command::Restart(a)) => control::request(&format!("restart {}", a.service), a.timeout),
        Some(Command::Reload(cli::MaybeService { service, timeout, .. })) => {
            let line = service.map_or("reload".to_string(), |s| format!("reload {s}"));
            control::request(&line, timeout)
        }
        Some(Command::Signal { target, signal }) => signal_request(target, &signal),
        None | Some(Command::Start(_)) => {
            let prepared = prepare(global, load_all(global)?, &Runs::Services)?;
            if !prepared.config.services.is_empty() {
                return supervise(&prepared, &opts);
            }
            Err(Error::Usage(format!(
                "nothing to run: give a command (init -- CMD) or services in {}",
                global.config.as_deref().unwrap_or(Path::new(config::DEFAULT_CONFIG)).display()
            )))
        }
        Some(Command::Shell { user, workdir, .. }) => shell(global, user, workdir, &opts),
        Some(Command::Wait { timeout, targets, .. }) => wait_command(global, timeout, targets),
        Some(Command::Status { json, .. }) => table::show(json),
        Some(Command::Health { .. }) => health::health(),
        Some(Command::Ready { .. }) => health::ready(),
    }
}

/// `init signal SERVICE SIG`: SIG by name (HUP, SIGUSR1) or number (1-64).
fn signal_request(target: cli::ServiceArgs, signal: &str) -> Result<u8, Error> {
    let signo = config::parse_signal(signal).or_else(|e| match signal.parse::<i32>() {
        Ok(n) if (1..=64).contains(&n) => Ok(n),
        _ => Err(e),
    });
    let signo = signo.map_err(Error::Usage)?;
    control::request(&format!("signal {} {signo}", target.service), target.timeout)
}

/// `init render`: the templates boot would render.
fn render_only(global: &Global, stdout: bool) -> Result<u8, Error> {
    let (env, config) = load(global, &Runs::Services)?;
    if !stdout {
        prepare::render_templates(&config, &env)?;
        return Ok(0);
    }
    let plan = render::plan(&config, &env, false)?;
    let mut out = String::new();
    for f in &plan.files {
        if plan.files.len() > 1 {
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
fn adhoc_hint(e: Error, global: &Global, argv: &[OsString]) -> Error {
    if !matches!(e, Error::Unset(_)) {
        return e;
    }
    let what = argv.first().map_or("the command".into(), |a| a.to_string_lossy());
    let config = global.config.as_deref().unwrap_or(Path::new(config::DEFAULT_CONFIG)).display();
    let hint = format!(
        "{what} starts only once the container is prepared as {config} says: set the variables the lines above name, \
         or bypass init for a shell: docker run -it --entrypoint /bin/sh IMAGE"
    );
    Error::Hinted { error: Box::new(e), hint }
}

/// `init CMD` or `init -- CMD`: a first word naming a `[[task]]` runs that
/// task (tasks shadow programs; after `--` it is always the program), any
/// other is an ad-hoc command with the templates and waits that have no
/// `for` (docs/reference.md, "One-off work").
fn external(global: &Global, argv: Vec<OsString>, after_dashes: bool, opts: &Options) -> Result<u8, Error> {
    let loaded = load_all(global).map_err(|e| adhoc_hint(e, global, &argv))?;
    let first = argv.first().map(|w| w.to_string_lossy().into_owned()).unwrap_or_default();
    if !after_dashes && loaded.config.task_names.contains(&first) {
        return run_named(global, loaded, argv, false, opts);
    }
    let runs = Runs::Adhoc { no_wait: false };
    let prepared = prepare(global, loaded, &runs).map_err(|e| adhoc_hint(e, global, &argv))?;
    run_command(prepared, argv, opts, true)
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
        true => single::boot(&cmd, opts, &prepared.config.waits, &prepared.checker()),
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
    let load: supervisor::Loader = Box::new(move || prepare::load_from(Some(&config_path), &Runs::Services));
    let reloader = supervisor::Reloader::new(load, &prepared.config, &prepared.env);
    supervisor::run(specs, (&prepared.config.waits, &prepared.checker()), reloader, opts)
}

/// `init run NAME [ARGS]` (or `init NAME [ARGS]` for a task): a task, or
/// a service's command, run once with the templates and waits that serve
/// it (none of the waits with `no_wait` or the task's `waits = false`).
/// The name is looked up before any phase runs, so a mistyped one is
/// reported (64) at once, not after every wait (docs/reference.md, "Command line").
fn run_named(
    global: &Global,
    loaded: prepare::Loaded,
    name_and_args: Vec<OsString>,
    no_wait: bool,
    opts: &Options,
) -> Result<u8, Error> {
    let Some((name, args)) = name_and_args.split_first() else {
        return Err(Error::Usage("init run needs a task NAME or -- CMD".into()));
    };
    let name = name.to_string_lossy();
    known_name(&loaded.config, &name)?;
    let runs = Runs::Named { name: name.to_string(), no_wait };
    let prepared = prepare_oneoff(global, loaded, &runs)?;
    let task = find_task(&prepared.config, &name)?;
    let argv = task.command.iter().map(OsString::from).chain(args.iter().cloned()).collect();
    let cmd = prepared.command(
        argv,
        (task.user.as_ref(), &format!("task {name}")),
        task.env,
        task.workdir.clone(),
    )?;
    run_once(&cmd, opts)
}

/// A name `init run` may run: a task or service (valid or not: its own
/// problems are reported by the run), not one switched off.
fn known_name(config: &config::Config, name: &str) -> Result<(), Error> {
    if let Some(off) = config.off.iter().find(|o| o.name.as_deref() == Some(name)) {
        return Err(Error::SwitchedOff(off.to_string()));
    }
    let named = |n: &String| n == name;
    match config.task_names.iter().any(named) || config.service_names.iter().any(named) {
        true => Ok(()),
        false => Err(Error::UnknownTask(name.into())),
    }
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

/// `init wait [--timeout DUR] [TARGET]...`: the given targets, else the
/// configured `[[wait]]`s; exits 0 when all are ready, 75 on a timeout.
fn wait_command(global: &Global, timeout: Option<config::Limit>, targets: Vec<String>) -> Result<u8, Error> {
    if targets.is_empty() {
        // What boot would await.
        let (env, config) = load(global, &Runs::Services)?;
        prepare::wait_configured(&config, &env)?;
        return Ok(0);
    }
    let waits = {
        let limit = timeout.map_or(Some(config::DEFAULT_WAIT_TIMEOUT), |l| l.0);
        let parsed: Result<Vec<_>, _> = targets.iter().map(|t| config::parse_target(t)).collect();
        let parsed = parsed.map_err(Error::Usage)?;
        let waits = parsed.into_iter().map(|target| config::Wait {
            target,
            timeout: limit,
            watch: false,
            serves: None,
        });
        waits.collect::<Vec<_>>()
    };
    // Targets given on the command line are never commands: no environment needed.
    prepare::wait(&waits, &prepare::checker(&mooring::env::Environment::default()))?;
    Ok(0)
}

/// `init shell [--workdir DIR] [USER]`: preparation as for an ad-hoc
/// command, then a login shell as USER (default: the runtime user) with the
/// services' environment, in DIR, else `[shell] workdir`, else the user's home. From root on a
/// terminal, switching to another user, the shell gets a fresh pty (run/shell.rs).
fn shell(
    global: &Global,
    user: Option<String>,
    workdir: Option<PathBuf>,
    opts: &Options,
) -> Result<u8, Error> {
    let runs = Runs::Adhoc { no_wait: false };
    let prepared = load_all(global)
        .and_then(|l| prepare_oneoff(global, l, &runs))
        .map_err(|e| adhoc_hint(e, global, &["init shell".into()]))?;
    let identity = match &user {
        Some(u) => mooring::setup::account::identity_for(
            &config::parse_user_spec(u).map_err(Error::Usage)?,
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
