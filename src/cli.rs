//! The command line, as clap derive structs, and `parse`, which applies the
//! one rule the derive cannot state: options may stand before or after a
//! subcommand (docs/reference.md, "Command line"). The forms a container
//! starts with are read without clap (cli/plain.rs).
//!
//! Every subcommand flattens the options itself rather than clap's `global =
//! true`: clap copies each global option into every subcommand while it
//! builds the command, ~170 kB of allocations on every start. With `defer`,
//! clap builds only the subcommand given. `parse` then takes an option from
//! after the subcommand when it was given there, as clap propagates global
//! options (its value beats the one before the subcommand).

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;

use mooring::config::Limit;

mod plain;
#[cfg(test)]
mod tests;

/// The subcommands' names (a test holds this to clap's list).
const SUBCOMMANDS: [&str; 14] = [
    "start", "stop", "restart", "reload", "signal", "run", "shell", "check", "render", "wait", "status",
    "health", "ready", "version",
];
/// `--stop-timeout`'s default.
const STOP_TIMEOUT: &str = "8s";
/// The default `--timeout` of a request to the running init (`init start SERVICE`, `stop`, ...).
const REQUEST_TIMEOUT: &str = "90s";
/// The options' environment variables.
const OPTION_VARIABLES: [&str; 4] = ["INIT_CONFIG", "INIT_USER", "INIT_STOP_TIMEOUT", "INIT_SIGNAL_SCOPE"];

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

    /// The command stood after `--` (`init -- NAME`): it is a program even
    /// when a `[[task]]` has its name (docs/reference.md, "Command line").
    #[arg(skip)]
    pub after_dashes: bool,
}

/// The options of every form, with `-u/--user`.
pub type Global = Options<UserOption>;

// The options before or after any subcommand. `U` is `-u/--user`, or nothing
// for `init shell`, whose USER argument stands in its place. (No doc comments
// on `Args` structs: with `defer`, they would replace the subcommand's about.)
// Numbered from 0 in each subcommand, beside its own options, as clap
// numbered global options: `--help` lists them in the same order.
#[derive(Args, Debug)]
#[command(next_display_order = 0)]
pub struct Options<U: Args> {
    /// Config file [default: /opt/config/init.toml]
    #[arg(short, long, env = "INIT_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub user: U,

    /// Budget for a graceful stop before SIGKILL (500ms, 10s, 5m; 0 = no limit)
    #[arg(long, env = "INIT_STOP_TIMEOUT", value_name = "DUR",
          default_value = STOP_TIMEOUT, value_parser = Limit::parse)]
    pub stop_timeout: Limit,

    /// Forward signals to the child's whole process group, or to the child only
    #[arg(long, env = "INIT_SIGNAL_SCOPE", value_enum, default_value = "group")]
    pub signal_scope: SignalScope,

    /// Exit code N of the main command becomes 0 (repeatable)
    #[arg(long, value_name = "N")]
    pub remap_exit: Vec<u8>,

    /// More log output (-v debug, -vv trace)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Less log output (-q warnings, -qq errors only)
    #[arg(short, long, action = clap::ArgAction::Count, conflicts_with = "verbose")]
    pub quiet: u8,
}

#[derive(Args, Debug)]
pub struct UserOption {
    /// Run children as this user (name, uid, name:group, uid:gid)
    #[arg(id = "user", short = 'u', long = "user", env = "INIT_USER", value_name = "SPEC")]
    pub spec: Option<String>,
}

#[derive(Args, Debug)]
pub struct NoUser {}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalScope {
    Group,
    Child,
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
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
    #[command(override_usage = "init shell [OPTIONS] [--workdir DIR] [USER]")]
    Shell {
        user: Option<String>,
        /// Start in DIR instead of the user's home
        #[arg(long, value_name = "DIR")]
        workdir: Option<PathBuf>,
        #[command(flatten)]
        global: Options<NoUser>,
    },
    /// Validate everything, print the plan, change nothing
    #[command(override_usage = "init check [OPTIONS]")]
    Check {
        #[command(flatten)]
        global: Global,
    },
    /// Render templates only
    #[command(override_usage = "init render [OPTIONS] [--stdout]")]
    Render {
        /// Print to stdout instead of writing the destinations
        #[arg(long)]
        stdout: bool,
        #[command(flatten)]
        global: Global,
    },
    /// Wait for the configured targets, or for TARGETs (file:PATH tcp:HOST:PORT unix:PATH http://...)
    #[command(override_usage = "init wait [OPTIONS] [--timeout DUR] [TARGET]...")]
    Wait {
        #[arg(long, value_name = "DUR", value_parser = Limit::parse)]
        timeout: Option<Limit>,
        targets: Vec<String>,
        #[command(flatten)]
        global: Global,
    },
    /// Services of the running PID 1
    #[command(override_usage = "init status [OPTIONS] [--json]")]
    Status {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        global: Global,
    },
    /// Liveness: exit 0 while init runs and no critical service failed for good, else 1
    #[command(override_usage = "init health [OPTIONS]")]
    Health {
        #[command(flatten)]
        global: Global,
    },
    /// Readiness: exit 0 when every service that should be up is ready, else 1 naming one
    #[command(override_usage = "init ready [OPTIONS]")]
    Ready {
        #[command(flatten)]
        global: Global,
    },
    /// Version, build target, enabled features
    #[command(override_usage = "init version")]
    Version {
        #[command(flatten)]
        global: Global,
    },
    #[command(external_subcommand)]
    External(Vec<OsString>),
}

// A service of the running init, and how long to wait for the action.
#[derive(Args, Debug)]
pub struct ServiceArgs {
    #[arg(value_name = "SERVICE")]
    pub service: String,
    /// Give up waiting after DUR (exit 75)
    #[arg(long, value_name = "DUR", default_value = REQUEST_TIMEOUT, value_parser = Limit::parse)]
    pub timeout: Limit,
    #[command(flatten)]
    pub global: Global,
}

// `init start`'s optional service.
#[derive(Args, Debug)]
pub struct MaybeService {
    #[arg(value_name = "SERVICE")]
    pub service: Option<String>,
    /// With SERVICE: give up waiting after DUR (exit 75)
    #[arg(long, value_name = "DUR", default_value = REQUEST_TIMEOUT, value_parser = Limit::parse)]
    pub timeout: Limit,
    #[command(flatten)]
    pub global: Global,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Task or service name, then arguments appended to its command
    #[arg(value_name = "NAME", allow_hyphen_values = true)]
    pub name_and_args: Vec<OsString>,

    /// Command to run once instead of a named task
    #[arg(last = true, value_name = "CMD")]
    pub cmd: Vec<OsString>,

    /// Run without the configured waits (and INIT_WAIT's)
    #[arg(long)]
    pub no_wait: bool,

    #[command(flatten)]
    pub global: Global,
}

/// Parses the arguments; `cli.global` holds each option from after the
/// subcommand when it was given there, else from before it (or its
/// environment variable, or its default). `init shell`'s USER and `--user`
/// are one value, as they were when the options were clap globals: USER
/// after `shell` wins, else `--user` (or INIT_USER) names the shell's user.
pub fn parse(args: Vec<OsString>) -> Result<Cli, clap::Error> {
    match plain::parse(&args) {
        Some(cli) => Ok(cli),
        None => parse_with_clap(args),
    }
}

fn parse_with_clap(args: Vec<OsString>) -> Result<Cli, clap::Error> {
    let matches = Cli::command().try_get_matches_from(&args)?;
    let mut cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut Cli::command()))?;
    let external = matches!(cli.command, Some(Command::External(_)));
    if let Some((_, after)) = matches.subcommand().filter(|_| !external) {
        overlay(&mut cli.global, after);
    }
    if let Some(Command::External(argv)) = &cli.command {
        // The command's words end the line; the word before them is `--` when it was given.
        let before = args.len().checked_sub(argv.len() + 1).and_then(|i| args.get(i));
        cli.after_dashes = before.is_some_and(|w| w == "--");
    }
    if let Some(Command::Shell { user, .. }) = &mut cli.command {
        user.clone_from(&cli.global.user.spec);
    }
    Ok(cli)
}

/// Replaces each option of `global` given on the command line in `after`.
fn overlay(global: &mut Global, after: &ArgMatches) {
    let given = |id: &str| after.value_source(id) == Some(ValueSource::CommandLine);
    if given("config") {
        global.config = after.get_one::<PathBuf>("config").cloned();
    }
    if given("user") {
        global.user.spec = after.get_one::<String>("user").cloned();
    }
    if given("stop_timeout") {
        global.stop_timeout = after.get_one::<Limit>("stop_timeout").copied().unwrap_or(global.stop_timeout);
    }
    if given("signal_scope") {
        global.signal_scope =
            after.get_one::<SignalScope>("signal_scope").copied().unwrap_or(global.signal_scope);
    }
    if given("remap_exit") {
        global.remap_exit = after.get_many::<u8>("remap_exit").into_iter().flatten().copied().collect();
    }
    if given("verbose") {
        global.verbose = after.get_count("verbose");
    }
    if given("quiet") {
        global.quiet = after.get_count("quiet");
    }
}
