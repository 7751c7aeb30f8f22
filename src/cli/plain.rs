//! The command lines a container starts with, read without clap: `init
//! [OPTIONS]` and `init [OPTIONS] start` (boot), `init [OPTIONS] -- CMD
//! [ARGS]...` and `init [OPTIONS] CMD [ARGS]...` (CMD not a subcommand),
//! where OPTIONS are `-q`/`-v` (repeated or clustered) and one `-c
//! PATH`/`--config PATH`, with none of the options' environment variables
//! set. Building clap's command costs more than everything else init does
//! before its child runs and pulls ~130 kB of clap's code into memory, for
//! every service the same pages (docs/benchmarks.md). Anything else —
//! another option, another subcommand, `-q` with `-v`, a word that is not
//! UTF-8 where clap wants it to be — is left to clap, so every error still
//! comes from clap. What is read here is exactly what clap reads from the
//! same words (cli/tests.rs compares the two on every command line of up to
//! three words from a set of tricky ones).

use std::ffi::OsString;
use std::path::PathBuf;

use super::{
    Cli, Command, Global, MaybeService, OPTION_VARIABLES, REQUEST_TIMEOUT, STOP_TIMEOUT, SUBCOMMANDS,
    SignalScope, UserOption,
};
use mooring::config::Limit;

/// The options read before the command.
#[derive(Default)]
struct Given {
    verbose: u8,
    quiet: u8,
    config: Option<PathBuf>,
}

/// The command line as clap would read it, or `None` when clap must read it.
pub(super) fn parse(args: &[OsString]) -> Option<Cli> {
    if OPTION_VARIABLES.iter().any(|name| std::env::var_os(name).is_some()) {
        return None;
    }
    let mut given = Given::default();
    let mut rest = args.get(1..)?;
    let mut dashes = false;
    while let Some((word, tail)) = rest.split_first() {
        let word = word.to_str()?;
        let before = std::mem::replace(&mut rest, tail);
        match word {
            "--" => {
                dashes = true;
                break;
            }
            "--quiet" => given.quiet = given.quiet.checked_add(1)?,
            "--verbose" => given.verbose = given.verbose.checked_add(1)?,
            "-c" | "--config" if given.config.is_none() => {
                let (value, tail) = rest.split_first()?;
                given.config = Some(path_value(value)?);
                rest = tail;
            }
            _ if cluster_of(word, 'q') => given.quiet = given.quiet.checked_add(count(word)?)?,
            _ if cluster_of(word, 'v') => given.verbose = given.verbose.checked_add(count(word)?)?,
            "start" if rest.is_empty() => return cli(given, Some(Command::Start(start()?)), false),
            _ if word.is_empty() || word.starts_with('-') || SUBCOMMANDS.contains(&word) => return None,
            _ => {
                rest = before;
                break;
            }
        }
    }
    match rest.first() {
        // clap names an external subcommand by its first word, which must be UTF-8.
        Some(first) => {
            first.to_str()?;
            cli(given, Some(Command::External(rest.to_vec())), dashes)
        }
        None if dashes => None,
        None => cli(given, None, false),
    }
}

/// The command line's options as clap gives them, with `command` (after
/// `--` or not).
fn cli(given: Given, command: Option<Command>, after_dashes: bool) -> Option<Cli> {
    if given.verbose > 0 && given.quiet > 0 {
        return None;
    }
    let mut global = defaults()?;
    (global.verbose, global.quiet, global.config) = (given.verbose, given.quiet, given.config);
    Some(Cli { global, command, after_dashes })
}

/// The options of a command line that gives none.
fn defaults() -> Option<Global> {
    Some(Global {
        config: None,
        user: UserOption { spec: None },
        stop_timeout: Limit::parse(STOP_TIMEOUT).ok()?,
        signal_scope: SignalScope::Group,
        remap_exit: Vec::new(),
        verbose: 0,
        quiet: 0,
    })
}

/// `init start` without a service or options.
fn start() -> Option<MaybeService> {
    Some(MaybeService { service: None, timeout: Limit::parse(REQUEST_TIMEOUT).ok()?, global: defaults()? })
}

/// `-c`'s value as clap takes it without a fuss: UTF-8, not empty, not
/// looking like an option.
fn path_value(value: &OsString) -> Option<PathBuf> {
    let text = value.to_str()?;
    (!text.is_empty() && !text.starts_with('-')).then(|| PathBuf::from(text))
}

/// How many times a cluster like `-qq` gives its flag.
fn count(word: &str) -> Option<u8> {
    u8::try_from(word.len() - 1).ok()
}

/// `-q`, `-qq`, ...: short flag `flag`, given one or more times in one word.
fn cluster_of(word: &str, flag: char) -> bool {
    word.len() > 1 && word.starts_with('-') && word[1..].chars().all(|c| c == flag)
}
