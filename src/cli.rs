//! The command line, as clap derive structs. No logic lives here.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;

use mooring::config::Limit;

#[derive(Parser, Debug)]
#[command(
    name = "init",
    version,
    about = "mooring: a container init. Prepares the container, then runs the workload as PID 1.",
    disable_help_subcommand = true,
    subcommand_value_name = "COMMAND",
    override_usage = "init [OPTIONS] [COMMAND] | init [OPTIONS] [--] CMD [ARGS]...",
    after_help = "Any other first argument, or everything after `--`, is the command to run instead of the\nconfigured services: `init psql -h db` is `init -- psql -h db`."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Debug)]
pub struct Global {
    /// Config file [default: /opt/config/init.toml]
    #[arg(short, long, global = true, env = "INIT_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Run children as this user (name, uid, name:group, uid:gid)
    #[arg(short, long, global = true, env = "INIT_USER", value_name = "SPEC")]
    pub user: Option<String>,

    /// Budget for a graceful stop before SIGKILL (500ms, 10s, 5m; 0 = no limit)
    #[arg(long, global = true, env = "INIT_STOP_TIMEOUT", value_name = "DUR",
          default_value = "8s", value_parser = Limit::parse)]
    pub stop_timeout: Limit,

    /// Forward signals to the child's whole process group, or to the child only
    #[arg(long, global = true, env = "INIT_SIGNAL_SCOPE", value_enum, default_value = "group")]
    pub signal_scope: SignalScope,

    /// Exit code N of the main command becomes 0 (repeatable)
    #[arg(long, global = true, value_name = "N")]
    pub remap_exit: Vec<u8>,

    /// More log output (-v debug, -vv trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Less log output (-q warnings, -qq errors only)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "verbose")]
    pub quiet: u8,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalScope {
    Group,
    Child,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Boot: prepare, wait, run the configured services (the default); with
    /// SERVICE: start that service of the running init
    #[command(override_usage = "init start [OPTIONS] [SERVICE]")]
    Start(MaybeService),
    /// Stop SERVICE of the running init; it stays down until `init start SERVICE`
    #[command(override_usage = "init stop [OPTIONS] SERVICE")]
    Stop(ServiceArgs),
    /// Stop, then start SERVICE of the running init
    #[command(override_usage = "init restart [OPTIONS] SERVICE")]
    Restart(ServiceArgs),
    /// Re-render the templates that notify services and tell the services whose files changed
    #[command(override_usage = "init reload [OPTIONS] [SERVICE]")]
    Reload(MaybeService),
    /// Send SIG (HUP, SIGUSR1, 10) to the process group of SERVICE of the running init
    #[command(override_usage = "init signal [OPTIONS] SERVICE SIG")]
    Signal {
        #[command(flatten)]
        target: ServiceArgs,
        #[arg(value_name = "SIG")]
        signal: String,
    },
    /// One-shot: prepare + wait, run task NAME (ARGS appended) or `-- CMD`, exit with its code
    #[command(override_usage = "init run [OPTIONS] NAME [ARGS]... | init run [OPTIONS] -- CMD [ARGS]...")]
    Run(RunArgs),
    /// Prepare, then an interactive login shell as USER
    #[command(override_usage = "init shell [OPTIONS] [USER]")]
    Shell { user: Option<String> },
    /// Validate everything, print the plan, change nothing
    #[command(override_usage = "init check [OPTIONS]")]
    Check,
    /// Render templates only
    #[command(override_usage = "init render [OPTIONS] [--stdout]")]
    Render {
        /// Print to stdout instead of writing the destinations
        #[arg(long)]
        stdout: bool,
    },
    /// Wait for the configured targets, or for TARGETs (file:PATH tcp:HOST:PORT unix:PATH http://...)
    #[command(override_usage = "init wait [OPTIONS] [--timeout DUR] [TARGET]...")]
    Wait {
        #[arg(long, value_name = "DUR", value_parser = Limit::parse)]
        timeout: Option<Limit>,
        targets: Vec<String>,
    },
    /// Services of the running PID 1
    #[command(override_usage = "init status [OPTIONS] [--json]")]
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Exit 0 when every critical service is running and ready, else 1
    #[command(override_usage = "init health [OPTIONS]")]
    Health,
    /// Version, build target, enabled features
    #[command(override_usage = "init version")]
    Version,
    #[command(external_subcommand)]
    External(Vec<OsString>),
}

/// A service of the running init, and how long to wait for the action.
#[derive(Args, Debug)]
pub struct ServiceArgs {
    #[arg(value_name = "SERVICE")]
    pub service: String,
    /// Give up waiting after DUR (exit 75)
    #[arg(long, value_name = "DUR", default_value = "90s", value_parser = Limit::parse)]
    pub timeout: Limit,
}

/// `init start`'s optional service.
#[derive(Args, Debug)]
pub struct MaybeService {
    #[arg(value_name = "SERVICE")]
    pub service: Option<String>,
    /// With SERVICE: give up waiting after DUR (exit 75)
    #[arg(long, value_name = "DUR", default_value = "90s", value_parser = Limit::parse)]
    pub timeout: Limit,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Task or service name, then arguments appended to its command
    #[arg(value_name = "NAME", allow_hyphen_values = true)]
    pub name_and_args: Vec<OsString>,

    /// Command to run once instead of a named task
    #[arg(last = true, value_name = "CMD")]
    pub cmd: Vec<OsString>,
}
