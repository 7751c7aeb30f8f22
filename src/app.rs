//! The only place that knows the phase order (SPEC.md section 2): refuse a
//! set-uid start, load, then run. Later phases (templates, identity, volumes,
//! waits, services) slot in here as their issues land.

use std::ffi::OsString;

use crate::cli::{Cli, Command, RunArgs, SignalScope};
use crate::config;
use crate::error::Error;
use crate::run::single::{self, Options, Scope};
use crate::run::spawn;
use crate::sys;

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
    match cli.command {
        Some(Command::Version) => {
            println!("init (mooring) {} {}", env!("CARGO_PKG_VERSION"), build_target());
            Ok(0)
        }
        Some(Command::External(argv)) => run_command(&cli.global, argv, &opts),
        None | Some(Command::Start) => {
            prepare(&cli.global)?;
            Err(Error::Usage(format!(
                "nothing to run: give a command (init -- CMD) or services in {}",
                config::DEFAULT_CONFIG
            )))
        }
        Some(Command::Run(RunArgs { cmd, .. })) if !cmd.is_empty() => run_command(&cli.global, cmd, &opts),
        Some(Command::Run(RunArgs { name_and_args, .. })) => {
            let Some(name) = name_and_args.first() else {
                return Err(Error::Usage("init run needs a task NAME or -- CMD".into()));
            };
            prepare(&cli.global)?;
            Err(Error::UnknownTask(name.to_string_lossy().into_owned()))
        }
        Some(Command::Check) | Some(Command::Render { .. }) => {
            Err(Error::NotYetAvailable { what: "init check / init render", issue: 3 })
        }
        Some(Command::Shell { .. }) => Err(Error::NotYetAvailable { what: "init shell", issue: 4 }),
        Some(Command::Wait { .. }) | Some(Command::Status { .. }) | Some(Command::Health) => {
            Err(Error::NotYetAvailable { what: "init wait / status / health", issue: 5 })
        }
    }
}

/// Phases 1-6. Today only the config lookup exists; a config that is present
/// is refused rather than silently ignored until its loader lands.
fn prepare(global: &crate::cli::Global) -> Result<(), Error> {
    if config::locate(global.config.as_deref())?.is_some() {
        return Err(Error::NotYetAvailable { what: "init.toml", issue: 3 });
    }
    if global.user.is_some() {
        return Err(Error::NotYetAvailable { what: "--user", issue: 4 });
    }
    Ok(())
}

fn run_command(global: &crate::cli::Global, argv: Vec<OsString>, opts: &Options) -> Result<u8, Error> {
    prepare(global)?;
    single::run(&spawn::Command::inheriting_env(argv), opts)
}

/// A set-uid init would hand root to whoever can run it. The kernel's
/// secure-exec flag catches a set-uid start by another user; the mode bits
/// catch the binary even when root runs it (where the flag stays clear).
fn refuse_secure_exec() -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let exe = std::path::Path::new("/proc/self/exe");
    let set_id_bits = std::fs::metadata(exe).is_ok_and(|m| m.permissions().mode() & 0o6000 != 0);
    if sys::secure_exec() || set_id_bits {
        let name = std::fs::read_link(exe).map(|p| p.display().to_string()).unwrap_or_else(|_| "init".into());
        return Err(Error::SecureExec(name));
    }
    Ok(())
}

fn build_target() -> &'static str {
    if cfg!(target_env = "musl") { "x86_64-unknown-linux-musl" } else { "x86_64-unknown-linux-gnu" }
}
