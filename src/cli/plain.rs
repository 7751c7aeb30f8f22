//! The command lines a container starts with, read without clap: `init
//! [-q|-v]... -- CMD [ARGS]...` and `init [-q|-v]... CMD [ARGS]...` (CMD not
//! a subcommand), with none of the options' environment variables set.
//! Building clap's command costs more than everything else init does before
//! its child runs and pulls ~100 kB of clap's code into memory (README.md,
//! "Numbers"). Anything else — another option, a subcommand, `-q` with `-v`,
//! a word that is not UTF-8 where clap wants it to be — is left to clap, so
//! every error still comes from clap. What is read here is exactly what clap
//! reads from the same words (cli/tests.rs compares the two on every command
//! line of up to four words from a set of tricky ones).

use std::ffi::OsString;

use super::{Cli, Command, Global, OPTION_VARIABLES, STOP_TIMEOUT, SUBCOMMANDS, SignalScope, UserOption};
use mooring::config::Limit;

/// The command line as clap would read it, or `None` when clap must read it.
pub(super) fn parse(args: &[OsString]) -> Option<Cli> {
    if OPTION_VARIABLES.iter().any(|name| std::env::var_os(name).is_some()) {
        return None;
    }
    let (mut verbose, mut quiet, mut after_dashes) = (0u8, 0u8, false);
    let mut rest = args.get(1..)?;
    while let Some((word, tail)) = rest.split_first() {
        let word = word.to_str()?;
        match word {
            "--" => {
                rest = tail;
                after_dashes = true;
                break;
            }
            "--quiet" => quiet = quiet.checked_add(1)?,
            "--verbose" => verbose = verbose.checked_add(1)?,
            _ if cluster_of(word, 'q') => quiet = quiet.checked_add(u8::try_from(word.len() - 1).ok()?)?,
            _ if cluster_of(word, 'v') => {
                verbose = verbose.checked_add(u8::try_from(word.len() - 1).ok()?)?
            }
            _ if word.is_empty() || word.starts_with('-') || SUBCOMMANDS.contains(&word) => return None,
            _ => break,
        }
        rest = tail;
    }
    // clap names an external subcommand by its first word, which must be UTF-8.
    rest.first()?.to_str()?;
    if verbose > 0 && quiet > 0 {
        return None;
    }
    let global = Global {
        config: None,
        user: UserOption { spec: None },
        stop_timeout: Limit::parse(STOP_TIMEOUT).ok()?,
        signal_scope: SignalScope::Group,
        remap_exit: Vec::new(),
        verbose,
        quiet,
    };
    Some(Cli { global, command: Some(Command::External(rest.to_vec())), after_dashes })
}

/// `-q`, `-qq`, ...: short flag `flag`, given one or more times in one word.
fn cluster_of(word: &str, flag: char) -> bool {
    word.len() > 1 && word.starts_with('-') && word[1..].chars().all(|c| c == flag)
}
