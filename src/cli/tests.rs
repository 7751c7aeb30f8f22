use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use clap::CommandFactory;

use super::*;

fn args(words: &[&str]) -> Vec<OsString> {
    std::iter::once("init").chain(words.iter().copied()).map(OsString::from).collect()
}

fn parsed(words: &[&str]) -> Cli {
    parse(args(words)).unwrap_or_else(|e| panic!("{words:?}: {e}"))
}

#[test]
fn clap_accepts_the_command() {
    Cli::command().debug_assert();
}

#[test]
fn the_subcommand_names_and_option_variables_are_claps() {
    let command = Cli::command();
    let names: Vec<_> = command.get_subcommands().map(|c| c.get_name()).collect();
    assert_eq!(names, SUBCOMMANDS);
    let mut variables: Vec<_> =
        command.get_arguments().filter_map(|a| a.get_env()).map(|v| v.to_str().unwrap()).collect();
    variables.sort_unstable();
    let mut want = OPTION_VARIABLES;
    want.sort_unstable();
    assert_eq!(variables, want);
}

#[test]
fn an_option_after_the_subcommand_wins_and_one_before_it_stays() {
    let cli = parsed(&[
        "--stop-timeout",
        "1s",
        "-vv",
        "--remap-exit",
        "3",
        "run",
        "-v",
        "--remap-exit",
        "4",
        "--",
        "x",
    ]);
    assert_eq!(cli.global.stop_timeout, Limit::parse("1s").unwrap());
    assert_eq!((cli.global.verbose, cli.global.remap_exit), (1, vec![4]));
    let cli = parsed(&["-c", "/a.toml", "-u", "app", "check", "-c", "/b.toml"]);
    assert_eq!(cli.global.config, Some("/b.toml".into()));
    assert_eq!(cli.global.user.spec.as_deref(), Some("app"));
    let cli = parsed(&["-v", "status", "-q"]);
    assert_eq!((cli.global.verbose, cli.global.quiet), (1, 1), "on two sides, -v and -q do not conflict");
    assert!(parse(args(&["status", "-v", "-q"])).is_err());
}

#[test]
fn the_shells_user_and_user_are_one_value() {
    let shell_user = |cli: Cli| match cli.command {
        Some(Command::Shell { user, .. }) => (user, cli.global.user.spec),
        other => panic!("{other:?}"),
    };
    let bob = Some("bob".to_string());
    assert_eq!(shell_user(parsed(&["-u", "bob", "shell"])), (bob.clone(), bob.clone()));
    let alice = Some("alice".to_string());
    assert_eq!(shell_user(parsed(&["-u", "bob", "shell", "alice"])), (alice.clone(), alice));
    assert!(parse(args(&["shell", "-u", "bob"])).is_err(), "-u is not an option of shell");
}

/// Every command line of up to three of these words that plain.rs reads
/// (the rest go to clap) is read exactly as clap reads it, and so are a few
/// longer ones.
/// The words command lines are made of: options, subcommands, programs,
/// odd ones (empty, blank, a lone dash) and one that is not UTF-8.
fn plain_test_words() -> Vec<OsString> {
    let not_utf8 = OsString::from_vec(vec![b'x', 0xff]);
    let words: Vec<OsString> = [
        "--",
        "-q",
        "-qq",
        "-v",
        "--quiet",
        "--verbose",
        "-qv",
        "-vq",
        "run",
        "help",
        "psql",
        "",
        "-",
        "-x",
        "a b",
        "--help",
        "-V",
        "--quiet=1",
        "-c",
        "--config",
        "start",
        "f.toml",
    ]
    .iter()
    .map(OsString::from)
    .chain([not_utf8])
    .collect();
    words
}

#[test]
fn the_plain_forms_are_read_as_clap_reads_them() {
    let words = plain_test_words();
    let unset = OPTION_VARIABLES.iter().all(|name| std::env::var_os(name).is_none());
    let (mut lines, mut plain_ones) = (vec![vec![OsString::from("init")]], 0);
    for _ in 0..3 {
        let longer: Vec<Vec<OsString>> = lines
            .iter()
            .flat_map(|l| words.iter().map(move |w| [l.clone(), vec![w.clone()]].concat()))
            .collect();
        for line in &longer {
            if let Some(cli) = plain::parse(line) {
                let by_clap = parse_with_clap(line.clone()).map(|c| format!("{c:?}"));
                assert_eq!(Ok(format!("{cli:?}")), by_clap.map_err(|e| e.to_string()), "{line:?}");
                plain_ones += 1;
            }
        }
        lines = longer;
    }
    let longer = [
        &["-q", "-v", "--", "x"][..],
        &["-qq", "--quiet", "-q", "psql", "-v"],
        &["-v", "-v", "--", "--", "-q"],
    ];
    for line in longer {
        if let Some(cli) = plain::parse(&args(line)) {
            assert_eq!(format!("{cli:?}"), format!("{:?}", parse_with_clap(args(line)).unwrap()), "{line:?}");
        }
    }
    if unset {
        assert!(plain_ones > 1000, "only {plain_ones} plain command lines");
        for line in [
            &["--", "true"][..],
            &["-q", "--", "true"],
            &["psql", "-h", "db"],
            &["-vv", "sh", "-c", "x"],
            &[],
            &["start"],
            &["-c", "f.toml"],
            &["--config", "f.toml", "-q", "start"],
            &["-v", "-c", "f", "--", "true"],
        ] {
            assert!(plain::parse(&args(line)).is_some(), "{line:?}");
        }
    }
}

#[test]
fn a_command_after_dashes_is_marked_so_a_task_cannot_shadow_it() {
    let marked = |words: &[&str]| {
        let cli = parsed(words);
        assert!(matches!(cli.command, Some(Command::External(_))), "{words:?}");
        cli.after_dashes
    };
    assert!(marked(&["--", "make-config"]));
    assert!(marked(&["-q", "--", "make-config", "--", "x"]));
    assert!(marked(&["-c", "/i.toml", "--", "make-config"]), "read by clap");
    assert!(!marked(&["make-config", "--", "x"]));
    assert!(!marked(&["-c", "/i.toml", "make-config"]));
}

#[test]
fn run_takes_no_wait_and_shell_takes_workdir() {
    match parsed(&["run", "--no-wait", "migrate", "x"]).command {
        Some(Command::Run(RunArgs { name_and_args, no_wait: true, .. })) => {
            assert_eq!(name_and_args, ["migrate", "x"])
        }
        other => panic!("{other:?}"),
    }
    match parsed(&["shell", "--workdir", "/srv", "app"]).command {
        Some(Command::Shell { user, workdir, .. }) => {
            assert_eq!((user.as_deref(), workdir), (Some("app"), Some(PathBuf::from("/srv"))))
        }
        other => panic!("{other:?}"),
    }
}
