//! `[[template]]` sources to destinations, all or nothing: every source is
//! rendered in memory first (every missing variable of every file reported
//! together), then each result is written to a temporary file beside its
//! destination, the filesystems holding them are synced (one `syncfs` per
//! filesystem rather than an fsync per file: a thousand fsyncs cost more than
//! the rendering), and only then are they renamed into place. A failed run
//! leaves every destination as it was and no temporary file behind.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::config::{Config, Template, UserSpec};
use crate::env::Environment;
use crate::error::Error;
use crate::safe_fs::{Dirs, Temp};
use crate::setup::user::{self, Db, UnknownOwner};
use crate::template::{self, NearMiss};

mod source;
mod unchanged;

use source::{read_template, walk};

/// A template file larger than this is refused: config files are small, and
/// a huge one is a mistake (a log or a database file named as a source).
pub const MAX_TEMPLATE_BYTES: u64 = 32 << 20;

/// One file to write.
#[derive(Debug)]
pub struct RenderedFile {
    pub src: PathBuf,
    pub dest: PathBuf,
    pub text: String,
    pub mode: u32,
    /// `owner` as written, and the ids `Plan::resolve_owners` found for it.
    pub owner_spec: Option<UserSpec>,
    pub owner: Option<(u32, u32)>,
    /// `overwrite = false` and the destination exists: left alone.
    pub keep: bool,
    /// Secret variables (from `_FILE`) the text contains.
    pub secrets: Vec<String>,
    /// Its `[[template]]`'s `notify`: services told when it changes at a reload.
    pub notify: Vec<String>,
    pub near_misses: Vec<NearMiss>,
    /// Placeholders left unclosed (`<<NAME>`), with `near_misses`.
    pub unclosed: Vec<NearMiss>,
}

/// What a run of all templates would do.
#[derive(Debug, Default)]
pub struct Plan {
    /// Directories to create (from directory sources), with their modes.
    pub dirs: Vec<(PathBuf, u32)>,
    pub files: Vec<RenderedFile>,
    /// A template named a variable that is not set (a problem says which).
    pub unset: bool,
}

impl Plan {
    /// Gives each file the ids of its `owner`, looked up in `db`: the user
    /// database as the runtime user leaves it, so `owner = "app"` follows
    /// `USER_UID` (docs/reference.md, "Identity"). One problem per unknown owner.
    pub fn resolve_owners(&mut self, db: &Db) -> Vec<UnknownOwner> {
        let mut problems = Vec::new();
        for f in &mut self.files {
            let Some(spec) = &f.owner_spec else { continue };
            match user::resolve(db, spec, 0) {
                Ok(id) => f.owner = Some((id.uid, id.gid)),
                Err(error) => problems.push(UnknownOwner::Template { dest: f.dest.clone(), error }),
            }
        }
        problems
    }
}

/// Renders every template in memory (owners are resolved later, by
/// `Plan::resolve_owners`); `lint` also looks for near-miss placeholders
/// (for `init check`). Collects every problem.
pub fn plan(config: &Config, env: &Environment, lint: bool) -> Result<Plan, Error> {
    match plan_all(config, env, lint) {
        (plan, problems) if problems.is_empty() => Ok(plan),
        (_, problems) => Err(Error::Invalid(problems)),
    }
}

/// As `plan`, keeping the files that rendered beside the problems (for
/// `init check`, which goes on to check their owners).
pub fn plan_all(config: &Config, env: &Environment, lint: bool) -> (Plan, Vec<String>) {
    let templates = &config.templates;
    let mut plan = Plan::default();
    let mut problems = Vec::new();
    let mut batch = match Dirs::at_root() {
        Ok(d) => d,
        Err(e) => return (plan, vec![format!("/: {e}")]),
    };
    let input = Input { env, lint, sources: &config.sources };
    for t in templates {
        let owner = t.owner.clone();
        let meta = match fs::metadata(&t.src) {
            Ok(m) => m,
            Err(e) => {
                problems.push(format!("{}: {e}", t.src.display()));
                continue;
            }
        };
        if !meta.is_dir() && !meta.is_file() {
            problems.push(source::Error::NotFile(t.src.clone()).to_string());
            continue;
        }
        if meta.is_dir() {
            let (mut files, mut dirs) = (Vec::new(), Vec::new());
            if let Err(e) = walk(&t.src, Path::new(""), &mut files, &mut dirs) {
                problems.push(e.to_string());
                continue;
            }
            for (rel, mode) in dirs {
                plan.dirs.push((t.dest.join(rel), mode));
            }
            for (rel, mode, size) in files {
                let (src, dest) = (t.src.join(&rel), t.dest.join(&rel));
                let out = Out {
                    dest,
                    mode: t.mode.unwrap_or(mode),
                    owner: owner.clone(),
                    overwrite: t.overwrite,
                    explicit: t.mode.is_some(),
                    notify: t.notify.clone(),
                };
                render_one(&mut batch, (&src, size), out, &input, &mut plan, &mut problems);
            }
        } else {
            let mode = t.mode.unwrap_or(meta.mode() & 0o7777);
            let out = Out {
                dest: t.dest.clone(),
                mode,
                owner,
                overwrite: t.overwrite,
                explicit: t.mode.is_some(),
                notify: t.notify.clone(),
            };
            render_one(&mut batch, (&t.src, meta.len()), out, &input, &mut plan, &mut problems);
        }
    }
    (plan, problems)
}

/// Every template source that can be read, by path; one that cannot is
/// left out here and reported by `plan`.
pub fn read_sources(templates: &[Template]) -> BTreeMap<PathBuf, String> {
    let mut texts = BTreeMap::new();
    let Ok(mut batch) = Dirs::at_root() else { return texts };
    let mut add = |src: PathBuf, size: u64| {
        if let Ok(text) = read_template(&mut batch, &src, size) {
            texts.insert(src, text);
        }
    };
    for t in templates {
        let Ok(meta) = fs::metadata(&t.src) else { continue };
        if meta.is_file() {
            add(t.src.clone(), meta.len());
        } else if meta.is_dir() {
            let (mut files, mut dirs) = (Vec::new(), Vec::new());
            let _ = walk(&t.src, Path::new(""), &mut files, &mut dirs);
            files.into_iter().for_each(|(rel, _, size)| add(t.src.join(rel), size));
        }
    }
    texts
}

/// The variables the sources refer to. Known before rendering, so that
/// only needed `_FILE` secrets are read (docs/reference.md, "Secrets").
pub fn placeholder_names(sources: &BTreeMap<PathBuf, String>) -> BTreeSet<String> {
    sources.values().flat_map(|text| template::names(text)).map(str::to_string).collect()
}

/// Where and how one rendered file is written.
struct Out {
    dest: PathBuf,
    mode: u32,
    owner: Option<UserSpec>,
    overwrite: bool,
    /// `mode` was given in init.toml (not taken from the source).
    explicit: bool,
    notify: Vec<String>,
}

/// What every template is rendered with.
struct Input<'a> {
    env: &'a Environment,
    /// Also look for near-miss placeholders (`init check`).
    lint: bool,
    /// Sources already read when the config was loaded.
    sources: &'a BTreeMap<PathBuf, String>,
}

fn render_one(
    dirs: &mut Dirs,
    (src, size): (&Path, u64),
    out: Out,
    input: &Input<'_>,
    plan: &mut Plan,
    problems: &mut Vec<String>,
) {
    let (env, lint) = (input.env, input.lint);
    // Sources read when the config was loaded are used as they are, not copied.
    let read = match input.sources.get(src) {
        Some(text) => Ok(std::borrow::Cow::Borrowed(text.as_str())),
        None => read_template(dirs, src, size).map(std::borrow::Cow::Owned),
    };
    let text = match read {
        Ok(t) => t,
        Err(e) => return problems.push(e.to_string()),
    };
    let keep = !out.overwrite && fs::symlink_metadata(&out.dest).is_ok();
    match template::render(&text, &|n| env.get_str(n)) {
        Ok(r) => {
            let secrets: Vec<String> = r.used.into_iter().filter(|n| env.is_secret(n)).collect();
            if !secrets.is_empty() && out.mode & 0o004 != 0 && !out.explicit {
                return problems.push(format!(
                    "{}: holds the secret {} but would be world-readable (mode {:04o}, the source's): \
                     set mode = \"0640\" (or \"{:04o}\" to mean it)",
                    out.dest.display(),
                    secrets.join(", "),
                    out.mode,
                    out.mode
                ));
            }
            let near_misses = if lint { template::near_misses(&text) } else { Vec::new() };
            let unclosed = if lint { template::unclosed(&text) } else { Vec::new() };
            let (src, Out { dest, mode, owner: owner_spec, notify, .. }) = (src.to_path_buf(), out);
            let text = r.text;
            plan.files.push(RenderedFile {
                src,
                dest,
                text,
                mode,
                owner_spec,
                owner: None,
                keep,
                secrets,
                notify,
                near_misses,
                unclosed,
            });
        }
        Err(missing) => {
            plan.unset = true;
            for m in missing {
                problems.push(format!("{}:{}:{}: {}", src.display(), m.line, m.col, m.reason()));
            }
        }
    }
}

/// Writes the plan, all or nothing (see the module comment), through the
/// safe filesystem layer: destination directories are reached without
/// following anyone's symlinks but root's, and each file is written to an
/// exclusive temporary file with an unpredictable name. A destination that
/// already holds what would be written is left as it is (`unchanged`), so a
/// restart with the same configuration writes nothing. Returns, per file of
/// the plan, whether it was written.
pub fn write(plan: &Plan) -> Result<Vec<bool>, Error> {
    let mut dirs = Dirs::at_root().map_err(|e| dest_error(Path::new("/"), e))?;
    for (dir, mode) in &plan.dirs {
        if dirs.dir(dir, None).is_err() {
            let made = dirs.dir(dir, Some(0o755)).map_err(|e| dest_error(dir, e))?;
            let _ = made.chmod(*mode);
        }
    }
    let mut temps: Vec<(Temp, &Path, u64)> = Vec::new();
    let mut written = Vec::with_capacity(plan.files.len());
    let euid = nix::unistd::geteuid().as_raw();
    for file in &plan.files {
        let fail = |e| dest_error(&file.dest, e);
        if file.keep {
            written.push(false);
            continue;
        }
        let (dir, name) = dirs.parent(&file.dest, Some(0o755)).map_err(fail)?;
        if unchanged::unchanged(dir, &name, file, euid) {
            written.push(false);
            continue;
        }
        written.push(true);
        let temp = Temp::write(dir, &name, file.text.as_bytes(), file.mode, file.owner).map_err(fail)?;
        temps.push((temp, &file.dest, dir.stat().map_err(fail)?.st_dev));
    }
    // Unfinished temporaries are removed as `temps` drops on an error.
    let dests: Vec<(&Path, u64)> = temps.iter().map(|(_, dest, dev)| (*dest, *dev)).collect();
    sync_filesystems(&mut dirs, &dests)?;
    for (temp, dest, _) in temps {
        temp.commit().map_err(|e| dest_error(dest, e))?;
    }
    // The renames themselves, durable too (the directories' entries).
    sync_filesystems(&mut dirs, &dests)?;
    Ok(written)
}

/// One `syncfs` per filesystem the destinations' directories are on (a
/// temporary file sits in its destination's directory, so this covers it).
fn sync_filesystems(dirs: &mut Dirs, dests: &[(&Path, u64)]) -> Result<(), Error> {
    let mut synced: Vec<u64> = Vec::new();
    for (dest, dev) in dests {
        if !synced.contains(dev) {
            let (dir, _) = dirs.parent(dest, None).map_err(|e| dest_error(dest, e))?;
            nix::unistd::syncfs(dir.fd()).map_err(|e| dest_error(dest, e.into()))?;
            synced.push(*dev);
        }
    }
    Ok(())
}

/// A destination that cannot be written is a template error (78), 71 when
/// the system failed (out of space, an I/O error), or 77 with the directory
/// to make writable when it was not permitted.
fn dest_error(dest: &Path, e: std::io::Error) -> Error {
    let dir = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(dest);
    let error = Error::Destination { path: dest.to_path_buf(), source: e };
    error.hinted(&format!("mount a writable volume or tmpfs at {}", dir.display()))
}
