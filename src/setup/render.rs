//! `[[template]]` sources to destinations, all or nothing: every source is
//! rendered in memory first (every missing variable of every file reported
//! together), then each result is written to a temporary file beside its
//! destination, the filesystems holding them are synced (one `syncfs` per
//! filesystem rather than an fsync per file: a thousand fsyncs cost more than
//! the rendering), and only then are they renamed into place. A failed run
//! leaves every destination as it was and no temporary file behind.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::config::Template;
use crate::env::Environment;
use crate::error::Error;
use crate::setup::template::{self, NearMiss};
use crate::setup::user;

/// A template file larger than this is refused: config files are small, and
/// a huge one is a mistake (a log or a database file named as a source).
pub const MAX_TEMPLATE_BYTES: u64 = 32 << 20;

/// One file to write.
#[derive(Debug)]
pub struct Rendered {
    pub src: PathBuf,
    pub dest: PathBuf,
    pub text: String,
    pub mode: u32,
    pub owner: Option<(u32, u32)>,
    /// `overwrite = false` and the destination exists: left alone.
    pub keep: bool,
    /// Secret variables (from `_FILE`) the text contains.
    pub secrets: Vec<String>,
    pub near_misses: Vec<NearMiss>,
}

/// What a run of all templates would do.
#[derive(Debug, Default)]
pub struct Plan {
    /// Directories to create (from directory sources), with their modes.
    pub dirs: Vec<(PathBuf, u32)>,
    pub files: Vec<Rendered>,
}

/// Renders every template in memory; `root` is where /etc/passwd is read
/// for owners; `lint` also looks for near-miss placeholders (for `init
/// check`). Collects every problem.
pub fn plan(templates: &[Template], env: &Environment, root: &Path, lint: bool) -> Result<Plan, Error> {
    let mut plan = Plan::default();
    let mut problems = Vec::new();
    for t in templates {
        let owner = match &t.owner {
            None => None,
            Some(spec) => match user::resolve_owner(root, spec) {
                Ok(ids) => Some(ids),
                Err(e) => return Err(Error::UnknownUser(e)),
            },
        };
        let meta = match fs::metadata(&t.src) {
            Ok(m) => m,
            Err(e) => {
                problems.push(format!("{}: {e}", t.src.display()));
                continue;
            }
        };
        if !meta.is_dir() && !meta.is_file() {
            problems.push(format!("{}: only files and directories can be templates", t.src.display()));
            continue;
        }
        if meta.is_dir() {
            let (mut files, mut dirs) = (Vec::new(), Vec::new());
            if let Err(e) = walk(&t.src, Path::new(""), &mut files, &mut dirs) {
                problems.push(e);
                continue;
            }
            for (rel, mode) in dirs {
                plan.dirs.push((t.dest.join(rel), mode));
            }
            for (rel, mode, size) in files {
                let (src, dest) = (t.src.join(&rel), t.dest.join(&rel));
                let out = Out { dest, mode: t.mode.unwrap_or(mode), owner, overwrite: t.overwrite };
                render_one(&src, size, out, env, lint, &mut plan, &mut problems);
            }
        } else {
            let mode = t.mode.unwrap_or(meta.mode() & 0o7777);
            let out = Out { dest: t.dest.clone(), mode, owner, overwrite: t.overwrite };
            render_one(&t.src, meta.len(), out, env, lint, &mut plan, &mut problems);
        }
    }
    if problems.is_empty() { Ok(plan) } else { Err(Error::Invalid(problems)) }
}

/// Where and how one rendered file is written.
struct Out {
    dest: PathBuf,
    mode: u32,
    owner: Option<(u32, u32)>,
    overwrite: bool,
}

fn render_one(
    src: &Path,
    size: u64,
    out: Out,
    env: &Environment,
    lint: bool,
    plan: &mut Plan,
    problems: &mut Vec<String>,
) {
    let text = match read_template(src, size) {
        Ok(t) => t,
        Err(e) => return problems.push(e),
    };
    let keep = !out.overwrite && fs::symlink_metadata(&out.dest).is_ok();
    match template::render(&text, |n| env.get_str(n)) {
        Ok(r) => {
            let secrets = r.used.into_iter().filter(|n| env.is_secret(n)).collect();
            let near_misses = if lint { template::near_misses(&text) } else { Vec::new() };
            let (src, Out { dest, mode, owner, .. }) = (src.to_path_buf(), out);
            plan.files.push(Rendered { src, dest, text: r.text, mode, owner, keep, secrets, near_misses });
        }
        Err(missing) => {
            for m in missing {
                let why = m.message.map(|msg| format!(": {msg}")).unwrap_or_default();
                problems.push(format!("{}:{}:{}: {} is not set{why}", src.display(), m.line, m.col, m.name));
            }
        }
    }
}

/// Reads a template source: text, UTF-8, not binary, not huge.
fn read_template(src: &Path, size: u64) -> Result<String, String> {
    if size > MAX_TEMPLATE_BYTES {
        return Err(format!(
            "{}: {size} bytes is over the {} MiB limit for a template",
            src.display(),
            MAX_TEMPLATE_BYTES >> 20
        ));
    }
    let fail = |e: std::io::Error| format!("{}: {e}", src.display());
    let mut bytes = Vec::with_capacity(size as usize + 1);
    // Bounded even if the file grew since it was measured.
    File::open(src).and_then(|f| f.take(MAX_TEMPLATE_BYTES + 1).read_to_end(&mut bytes)).map_err(fail)?;
    if bytes.len() as u64 > MAX_TEMPLATE_BYTES {
        return Err(format!(
            "{}: over the {} MiB limit for a template",
            src.display(),
            MAX_TEMPLATE_BYTES >> 20
        ));
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(format!("{}: a binary file (NUL byte at offset {at}), not a template", src.display()));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!("{}: not UTF-8 text (invalid byte at offset {})", src.display(), e.utf8_error().valid_up_to())
    })
}

/// Lists a directory source: files and directories relative to `base`, with modes.
fn walk(
    base: &Path,
    rel: &Path,
    files: &mut Vec<(PathBuf, u32, u64)>,
    dirs: &mut Vec<(PathBuf, u32)>,
) -> Result<(), String> {
    let dir = base.join(rel);
    let mut entries: Vec<_> = fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = rel.join(entry.file_name());
        let meta = entry.metadata().map_err(|e| format!("{}: {e}", entry.path().display()))?;
        let mode = meta.mode() & 0o7777;
        if meta.is_dir() {
            dirs.push((path.clone(), mode));
            walk(base, &path, files, dirs)?;
        } else if meta.is_file() {
            files.push((path, mode, meta.len()));
        } else {
            return Err(format!("{}: only files and directories can be templates", entry.path().display()));
        }
    }
    Ok(())
}

/// Writes the plan, all or nothing (see the module comment).
pub fn write(plan: &Plan) -> Result<(), Error> {
    for (dir, mode) in &plan.dirs {
        if !dir.is_dir() {
            fs::create_dir_all(dir).map_err(|e| dest_error(dir, &e))?;
            let _ = fs::set_permissions(dir, fs::Permissions::from_mode(*mode));
        }
    }
    let mut temps: Vec<(PathBuf, &Path)> = Vec::new();
    let written = plan.files.iter().filter(|f| !f.keep).try_for_each(|file| {
        temps.push((write_temp(file)?, &file.dest));
        Ok(())
    });
    let dests: Vec<&Path> = temps.iter().map(|(_, d)| *d).collect();
    let synced = written.and_then(|()| sync_filesystems(&dests));
    if let Err(e) = synced {
        for (temp, _) in &temps {
            let _ = fs::remove_file(temp);
        }
        return Err(e);
    }
    for (i, (temp, dest)) in temps.iter().enumerate() {
        if let Err(e) = fs::rename(temp, dest) {
            for (t, _) in &temps[i..] {
                let _ = fs::remove_file(t);
            }
            return Err(dest_error(dest, &e));
        }
    }
    // The renames themselves, durable too (the directories' entries).
    sync_filesystems(&dests)?;
    Ok(())
}

/// Makes what was written under the parent directories of `paths` durable:
/// one `syncfs` per filesystem they are on.
fn sync_filesystems(paths: &[&Path]) -> Result<(), Error> {
    let mut dirs: Vec<&Path> = paths.iter().filter_map(|p| p.parent()).collect();
    dirs.sort();
    dirs.dedup();
    let mut done: Vec<u64> = Vec::new();
    for dir in dirs {
        let d = File::open(dir).map_err(|e| dest_error(dir, &e))?;
        let dev = d.metadata().map_err(|e| dest_error(dir, &e))?.dev();
        if !done.contains(&dev) {
            nix::unistd::syncfs(&d).map_err(|e| dest_error(dir, &std::io::Error::from(e)))?;
            done.push(dev);
        }
    }
    Ok(())
}

/// Writes `file` to a new temporary file beside its destination, with its
/// mode and owner (synced later, with all the others); returns the temporary path.
fn write_temp(file: &Rendered) -> Result<PathBuf, Error> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let parent = file.dest.parent().unwrap_or(Path::new("/"));
    if !parent.is_dir() {
        fs::create_dir_all(parent).map_err(|e| dest_error(&file.dest, &e))?;
    }
    let name = file.dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let pid = *PID.get_or_init(std::process::id);
    let temp = parent.join(format!(".{name}.mooring-{pid}-{n}.tmp"));
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temp)?;
        f.write_all(file.text.as_bytes())?;
        if let Some((uid, gid)) = file.owner {
            std::os::unix::fs::fchown(&f, Some(uid), Some(gid))?;
        }
        f.set_permissions(fs::Permissions::from_mode(file.mode))
    })();
    match result {
        Ok(()) => Ok(temp),
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Err(dest_error(&file.dest, &e))
        }
    }
}

/// A destination that cannot be written is a template error (78), or 77.
fn dest_error(dest: &Path, e: &std::io::Error) -> Error {
    Error::io(dest, e, 78)
}
