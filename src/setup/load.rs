//! Phases 1-2 together: init.toml and the `_FILE` secrets it needs. Which
//! secrets are needed is known only from the config's string values and
//! from its template sources, whose paths come out of the parsed config
//! (docs/reference.md, "Secrets"). So: the string values' names are taken from the
//! TOML first and their secrets applied, then the config is parsed; if a
//! template source needs a secret no string value did, that one is applied
//! too and the config parsed again from the same environment, so that a
//! secret still wins over an `[env]` default of the same name.

use std::path::Path;

use crate::config::{Config, Problem, Runs, Source};
use crate::env::Environment;
use crate::error::Error;
use crate::setup::{render, secrets};

/// The config at `path` (none: the plain PID 1's empty one) as a run of
/// `runs` uses it, with `env` (init's own) turned into the children's:
/// needed secrets applied, `[env]` merged; `INIT_WAIT`'s waits added after
/// the configured ones. On an error `env` still holds the secrets read so
/// far, for masking. Every problem of secrets, config and `INIT_WAIT` that
/// stops this run is reported together.
pub fn load(
    path: Option<&Path>,
    env: &mut Environment,
    read: impl Fn(&Path) -> std::io::Result<Vec<u8>>,
    runs: &Runs,
) -> Result<Config, Error> {
    let (config, problems) = load_all(path, env, read)?;
    scope(config, problems, runs)
}

/// The part of `config` a run of `runs` uses (config/scope.rs): an error
/// when a problem stops it (a part it does not use may have problems of
/// its own: `init check` reports them).
pub fn scope(mut config: Config, problems: Vec<Problem>, runs: &Runs) -> Result<Config, Error> {
    let running = runs.running(&config);
    let stopping: Vec<Problem> = problems.into_iter().filter(|p| p.stops(&running)).collect();
    if !stopping.is_empty() {
        let unset = stopping.iter().any(|p| p.unset);
        let texts = stopping.into_iter().map(|p| p.text).collect();
        return Err(if unset { Error::Unset(texts) } else { Error::Invalid(texts) });
    }
    runs.scope(&mut config);
    Ok(config)
}

/// As `load`, for every run: every valid entry beside every problem, each
/// with the runs it stops, for `init check` to plan the later phases with
/// (docs/reference.md, "Command line") and for a command to pick its run
/// from. An error is a config file that cannot be read at all.
pub fn load_all(
    path: Option<&Path>,
    env: &mut Environment,
    read: impl Fn(&Path) -> std::io::Result<Vec<u8>>,
) -> Result<(Config, Vec<Problem>), Error> {
    let (mut config, mut problems) = match path {
        Some(path) => load_file(path, env, read)?,
        None => (Config::default(), Vec::new()),
    };
    match crate::config::adhoc::from_env(env) {
        Ok(waits) => config.waits.extend(waits),
        Err(more) => problems.extend(more.into_iter().map(Problem::always)),
    }
    Ok((config, problems))
}

fn load_file(
    path: &Path,
    env: &mut Environment,
    read: impl Fn(&Path) -> std::io::Result<Vec<u8>>,
) -> Result<(Config, Vec<Problem>), Error> {
    let source = Source::read(path)?;
    let in_strings = source.placeholders();
    let secret_problems = secrets::apply(env, in_strings.iter().map(String::as_str), &read).err();
    let mut problems: Vec<Problem> =
        secret_problems.unwrap_or_default().into_iter().map(Problem::always).collect();
    let before_env = env.clone();
    let (mut config, more_problems) = source.parse_all(env);
    let sources = render::read_sources(&config.templates);
    // Templates are scanned for names only when some `X_FILE` could still
    // supply one (the common case, no `_FILE` at all, costs no scan).
    let open_files = before_env.vars().iter().any(|(k, _)| {
        k.to_str().and_then(|k| k.strip_suffix("_FILE")).is_some_and(|n| !in_strings.contains(n))
    });
    let more: Vec<String> = match open_files {
        false => Vec::new(),
        true => render::placeholder_names(&sources)
            .into_iter()
            .filter(|n| !in_strings.contains(n) && before_env.contains(format!("{n}_FILE")))
            .collect(),
    };
    if more.is_empty() {
        problems.extend(more_problems);
        config.sources = sources;
        return Ok((config, problems));
    }
    *env = before_env;
    let more_secrets = secrets::apply(env, more.iter().map(String::as_str), &read).err().unwrap_or_default();
    problems.extend(more_secrets.into_iter().map(Problem::always));
    let (mut config, more_problems) = source.parse_all(env);
    problems.extend(more_problems);
    config.sources = sources;
    Ok((config, problems))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    fn read(path: &Path) -> io::Result<Vec<u8>> {
        match path.file_name().and_then(|n| n.to_str()) {
            Some("db") => Ok(b"from-file\n".to_vec()),
            _ => Err(io::Error::from(io::ErrorKind::NotFound)),
        }
    }

    /// A scratch directory of its own, removed when the test ends.
    struct Scratch(std::path::PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn setup(tag: &str, config: &str, template: &str) -> (Scratch, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("mooring-load-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        std::fs::write(dir.join("app.conf"), template).expect("template");
        let path = dir.join("init.toml");
        std::fs::write(&path, config).expect("config");
        (Scratch(dir), path)
    }

    fn env(vars: &[(&str, &str)]) -> Environment {
        Environment::from_vars(vars.iter().map(|(k, v)| (k.into(), v.into())))
    }

    const TEMPLATE_ONLY: &str = "[[template]]\nsrc = \"app.conf\"\ndest = \"/etc/app.conf\"\n";

    #[test]
    fn a_secret_only_a_template_needs_is_read_and_beats_an_env_default() {
        let (_dir, path) = setup(
            "env",
            &format!("[env]\nDB_PASSWORD = \"default\"\n{TEMPLATE_ONLY}"),
            "pw=<<DB_PASSWORD>>\n",
        );
        let mut e = env(&[("DB_PASSWORD_FILE", "/run/secrets/db"), ("SSL_CERT_FILE", "/nope")]);
        load(Some(&path), &mut e, read, &Runs::Services).unwrap();
        assert_eq!(e.get_str("DB_PASSWORD"), Some("from-file"));
        assert!(e.is_secret("DB_PASSWORD") && !e.contains("DB_PASSWORD_FILE"));
        assert_eq!(e.get_str("SSL_CERT_FILE"), Some("/nope"));
    }

    #[test]
    fn secret_problems_of_both_passes_are_reported_together() {
        let config = format!("[env]\nX = \"<<TOKEN:-none>>\"\n{TEMPLATE_ONLY}");
        let (_dir, path) = setup("passes", &config, "<<DB_PASSWORD>>\n");
        let mut e =
            env(&[("TOKEN_FILE", "/nope"), ("DB_PASSWORD", "x"), ("DB_PASSWORD_FILE", "/run/secrets/db")]);
        let Err(Error::Invalid(problems)) = load(Some(&path), &mut e, read, &Runs::Services) else {
            panic!("an error")
        };
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("TOKEN_FILE=/nope: "), "{problems:?}");
        assert_eq!(problems[1], "both DB_PASSWORD and DB_PASSWORD_FILE are set; set only one");
    }

    #[test]
    fn secret_and_config_problems_are_reported_together() {
        let (_dir, path) = setup("together", "[env]\nX = \"<<TOKEN>>\"\nY = \"<<MISSING>>\"\n", "");
        let mut e = env(&[("TOKEN_FILE", "/nope")]);
        // A variable not set among them: the error says so by its kind.
        let Err(Error::Unset(problems)) = load(Some(&path), &mut e, read, &Runs::Services) else {
            panic!("an error")
        };
        let text = problems.join("\n");
        assert!(text.starts_with("TOKEN_FILE=/nope: "), "{text}");
        assert!(text.contains("MISSING is not set"), "{text}");
    }
}
