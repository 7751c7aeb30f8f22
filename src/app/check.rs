//! `init check`: every validation of every phase, with no side effect (no
//! file written, no user created, no connection made). Prints the plan on
//! stdout and every problem at once; exits 78 when there is any. The
//! templates, identity and volumes are planned by `setup::plan`, the plan
//! boot applies, so the two cannot drift (docs/reference.md, "Command line").

use std::fmt::Write as _;

use tracing::warn;

use super::job::Loaded;
use crate::cli::Global;
use mooring::config::{self, Config, Service, UserSpec, Wait};
use mooring::error::{Chain, Error};
use mooring::setup::user::{self, Db};
use mooring::setup::{plan, render};

/// Prints what app/job.rs planned for `init check`: init.toml loaded for
/// every run, and phases 3-5 planned as boot would plan them.
pub fn print(global: &Global, loaded: Loaded, plan: &plan::Plan, errors: Vec<Error>) -> Result<u8, Error> {
    let mut out = String::new();
    let Loaded { path, config, problems, .. } = loaded;
    // Every run's problems, and a part switched off's, but for the
    // variables it needs only when switched on (docs/reference.md, "One-off work").
    let mut problems: Vec<String> =
        problems.into_iter().filter(mooring::config::Problem::checked).map(|p| p.text).collect();
    match &path {
        Some(p) => writeln!(out, "config   {}", p.display()),
        None => writeln!(
            out,
            "config   none ({} absent): init runs the given command as PID 1",
            config::DEFAULT_CONFIG
        ),
    }
    .expect("writing to a String cannot fail");
    // As boot would run under this identity (app/job.rs): as root, what
    // `[user]` would make of the files is planned, and every owner and user
    // resolved against that; not root, what boot would skip is listed.
    for e in errors {
        match e {
            Error::Invalid(p) | Error::Unset(p) => problems.extend(p),
            e => problems.push(Chain(&e).to_string()),
        }
    }
    problems.extend(plan.later.iter().cloned());
    if let Some(spec) = &global.user.spec {
        match config::parse_user_spec(spec) {
            Ok(spec) => match user::resolve(&plan.db, &spec, 0) {
                Ok(_) => warn_bare_uid(&spec, "--user", &plan.db),
                Err(e) => problems.push(format!("--user: {e}")),
            },
            Err(e) => problems.push(format!("--user: {e}")),
        }
    }
    describe_templates(&plan.templates, &mut out);
    for step in plan.skipped.iter().chain(&plan.skipped_later) {
        let _ = writeln!(out, "skip     {step}");
    }
    describe(&config, &plan.db, &mut out);
    // The plan shows commands and targets, which may hold a secret's value.
    print!("{}", crate::log::masked(&out));
    if problems.is_empty() { Ok(0) } else { Err(Error::Invalid(problems)) }
}

fn describe_templates(plan: &render::Plan, out: &mut String) {
    for f in &plan.files {
        let what = if f.keep { "keep  " } else { "render" };
        let owner = f.owner.map(|(u, g)| format!(", owner {u}:{g}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "{what}   {} -> {} (mode {:04o}{owner})",
            f.src.display(),
            f.dest.display(),
            f.mode
        );
        for m in &f.near_misses {
            warn!(
                "{}:{}:{}: {:?} looks like a placeholder but is not one (write <<NAME>>, no spaces)",
                f.src.display(),
                m.line,
                m.col,
                m.text
            );
        }
        for m in &f.unclosed {
            warn!(
                "{}:{}:{}: {:?} looks like a placeholder but is not closed (write {}>)",
                f.src.display(),
                m.line,
                m.col,
                m.text,
                m.text
            );
        }
    }
}

fn describe(config: &Config, db: &Db, out: &mut String) {
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    if let Some(u) = &config.user {
        let ids = match (u.uid, u.gid) {
            (Some(uid), Some(gid)) => format!(" uid {uid} gid {gid}"),
            (Some(uid), None) => format!(" uid {uid}"),
            _ => " (as the image has it)".into(),
        };
        line(format!("user     {}{ids}", u.name));
    }
    for v in &config.volumes {
        let owner = v.owner.as_ref().map(|o| format!(" owner {o}")).unwrap_or_default();
        let how = if v.recursive { ", recursive" } else { "" };
        line(format!("volume   {}{owner}{how}", v.path.display()));
    }
    for w in &config.waits {
        line(format!("wait     {}", describe_wait(w)));
    }
    for skipped in &config.skipped_waits {
        line(format!("skip     {skipped}"));
    }
    for off in &config.off {
        line(format!("off      {off}"));
    }
    for s in &config.services {
        line(describe_service(s));
        if let Some(spec) = &s.user {
            warn_bare_uid(spec, &format!("service {}", s.name), db);
        }
    }
    for t in &config.tasks {
        line(format!("task     {}: {}", t.name, command_line(&t.command)));
        if let Some(spec) = &t.user {
            warn_bare_uid(spec, &format!("task {}", t.name), db);
        }
    }
}

/// A command on one line: a word holding blanks, quotes or a backslash is
/// shown quoted with escapes (a `shell =` script's newlines as `\n`), so
/// each entry of `init check` stays one line.
fn command_line(argv: &[String]) -> String {
    let word =
        |w: &String| match w.is_empty() || w.contains(|c: char| c.is_whitespace() || "\"'\\".contains(c)) {
            true => format!("{w:?}"),
            false => w.clone(),
        };
    argv.iter().map(word).collect::<Vec<_>>().join(" ")
}

fn describe_wait(w: &Wait) -> String {
    let timeout = w.timeout.map_or("no timeout".into(), |t| format!("timeout {}ms", t.as_millis()));
    let serves = w.serves.as_ref().map(|names| format!(", for {}", names.join(", "))).unwrap_or_default();
    format!("{} ({timeout}{}{serves})", w.target, if w.watch { ", watched" } else { "" })
}

fn describe_service(s: &Service) -> String {
    let mut flags = Vec::new();
    if s.main {
        flags.push("main".to_string());
    }
    if s.oneshot {
        flags.push("oneshot".into());
    }
    if !s.after.is_empty() {
        flags.push(format!("after {}", s.after.join(", ")));
    }
    if let Some(r) = &s.ready {
        flags.push(format!("ready when {}", r.how));
    }
    if let Some(p) = &s.semaphore {
        flags.push(format!("semaphore {}", p.display()));
    }
    match s.restart {
        mooring::config::Restart::Never => {}
        mooring::config::Restart::OnFailure => flags.push("restart on-failure".into()),
        mooring::config::Restart::Always => flags.push("restart always".into()),
    }
    if !s.critical && !s.main {
        flags.push("not critical".into());
    }
    let flags = if flags.is_empty() { String::new() } else { format!(" [{}]", flags.join("; ")) };
    format!("service  {}: {}{flags}", s.name, command_line(&s.command))
}

/// A bare uid with no passwd entry keeps root's group 0 (Docker's and gosu's rule).
fn warn_bare_uid(spec: &UserSpec, what: &str, db: &Db) {
    if let (None, Ok(uid)) = (&spec.group, spec.user.parse::<u32>())
        && db.user_by_uid(uid).is_none()
    {
        warn!("{what}: uid {} has no passwd entry and keeps group 0; write \"{0}:{0}\"", spec.user);
    }
}
