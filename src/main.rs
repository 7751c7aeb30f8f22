//! `init`: parse the command line, set up logging, run the app, print the
//! error chain once and exit with its code. The C entry point is in sys.rs.
#![cfg_attr(not(test), no_main)]
#![deny(unsafe_code)]

mod app;
mod cli;
mod log;
mod outlet;
mod process;
mod run;
mod status_file;
mod sys;

use std::ffi::OsString;

use mooring::error::{Chain, Error};

#[global_allocator]
static ALLOC: sys::alloc::StartupArena = sys::alloc::StartupArena;

/// Called by the C entry point with the raw arguments; returns the exit code.
#[cfg_attr(test, allow(dead_code))]
pub(crate) fn main_with_args(args: Vec<OsString>) -> i32 {
    let code = run_with_args(args);
    // What the streams did not take yet gets a last, bounded chance.
    outlet::finish();
    code
}

fn run_with_args(args: Vec<OsString>) -> i32 {
    let cli = match cli::parse(without_repeated_init(args)) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return 0;
        }
        Err(e) => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid command line");
            let line = format!("init: ERROR {} (try: init --help)\n", first.trim_start_matches("error: "));
            outlet::write(outlet::Stream::Stderr, line.as_bytes());
            return 2;
        }
    };
    let verbosity = cli.global.verbose as i8 - cli.global.quiet as i8;
    let filter = std::env::var("INIT_LOG").ok();
    let format = std::env::var("INIT_LOG_FORMAT").ok();
    if let Err(e) = log::init(filter.as_deref(), format.as_deref(), verbosity) {
        outlet::write(outlet::Stream::Stderr, format!("init: ERROR {e}\n").as_bytes());
        return i32::from(e.exit_code());
    }
    match app::run(cli) {
        Ok(code) => i32::from(code),
        Err(e) => {
            report(&e);
            i32::from(e.exit_code())
        }
    }
}

/// Drops a first argument `init`: with `ENTRYPOINT ["init"]`, `docker
/// compose run app init run TASK` reaches us as `init init run TASK`, which
/// means `init run TASK`, not a second init under the first (docs/reference.md,
/// "Command line").
fn without_repeated_init(mut args: Vec<OsString>) -> Vec<OsString> {
    if args.get(1).is_some_and(|a| a == "init") {
        args.remove(1);
    }
    args
}

/// Prints the error and its sources joined by `: `, each message once
/// (src/error.rs says how); a list of problems gets a line each; a hint
/// comes after it, at INFO.
fn report(e: &Error) {
    // A stop signal during a wait: said as an INFO where it came (app/prepare.rs).
    if let Error::Interrupted(_) = e {
        return;
    }
    if let Error::Hinted { error, hint } = e {
        report(error);
        tracing::info!("hint: {hint}");
        return;
    }
    if let Error::Invalid(problems) | Error::Unset(problems) = e {
        for p in problems {
            tracing::error!("{p}");
        }
        return;
    }
    tracing::error!("{}", Chain(e));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_argument_init_is_dropped_and_nothing_else() {
        let args = |list: &[&str]| list.iter().map(OsString::from).collect::<Vec<_>>();
        for (given, want) in [
            (&["init", "init", "run", "x"][..], &["init", "run", "x"][..]),
            (&["/usr/local/bin/init", "init", "--", "id"], &["/usr/local/bin/init", "--", "id"]),
            (&["init", "run", "init"], &["init", "run", "init"]),
            (&["init", "--", "init"], &["init", "--", "init"]),
            (&["init"], &["init"]),
        ] {
            assert_eq!(without_repeated_init(args(given)), args(want), "{given:?}");
        }
    }
}
