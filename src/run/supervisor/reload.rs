//! Live reload of rendered configuration (docs/reference.md, "Live
//! reload"): the sources of templates that `notify` services, and the
//! `_FILE` secrets, are watched (inotify on their directories, which also
//! sees Kubernetes' atomic `..data` symlink swap, and on the files, which
//! sees a rewrite in place; a 2 s stat poll where inotify is missing). A change, or `init reload`, renders everything in
//! memory; a failed render changes nothing; destinations whose content is
//! unchanged are not rewritten; the services of the files that changed are
//! returned, each once.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use mooring::config::Config;
use mooring::config::duration::later;
use mooring::env::Environment;
use mooring::error::Error;
use mooring::setup::nonroot::{self, Me};
use mooring::setup::user::Db;
use mooring::setup::{plan, render};

use crate::process::streak::{self, Streak};

/// Why a reload request told nobody (the answer's text, once).
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("no [[template]] names services in `notify`: nothing to reload")]
    NothingNotifies,
    #[error(transparent)]
    Failed(#[from] Error),
}

/// Events of one change (a ConfigMap swap makes several) are taken together.
const SETTLE: Duration = Duration::from_millis(100);
/// Without inotify: how often the watched files are looked at.
const POLL_EVERY: Duration = Duration::from_secs(2);

/// Loads init.toml and its secrets afresh (app/job.rs, `load`).
pub type Loader = Box<dyn Fn() -> Result<(Environment, Config), Error>>;

pub struct Reloader {
    load: Loader,
    inotify: Option<Inotify>,
    /// The directories watched, and (for the poll) what their entries looked like.
    dirs: Vec<PathBuf>,
    /// The files watched in them: sources of notifying templates, `_FILE` secrets.
    files: Vec<PathBuf>,
    seen: Vec<Option<(i64, i64, u64)>>,
    /// When to reload: a change settles, or the next poll.
    due: Option<Instant>,
    poll_at: Option<Instant>,
    /// Failed reads of the inotify descriptor: it is not polled, and
    /// everything is looked at once the delay passes (events may be lost).
    reads: Streak,
    /// Files that could not be watched (a directory watch still sees most).
    adds: Streak,
}

const READING: &str = "reading inotify (live reload)";

impl Reloader {
    /// `None` when no template notifies anyone: nothing to watch.
    pub fn new(load: Loader, config: &Config, env: &Environment) -> Option<Reloader> {
        let (dirs, files) = watched(config, env);
        if dirs.is_empty() {
            return None;
        }
        let watching = watch_dirs(&dirs);
        let poll_at = watching.is_none().then(|| later(Instant::now(), POLL_EVERY));
        let seen = dirs.iter().map(|d| stamp(d)).collect();
        let (reads, adds) = (Streak::new(), Streak::new());
        let mut reloader =
            Reloader { load, inotify: watching, dirs, files, seen, due: None, poll_at, reads, adds };
        reloader.watch_files();
        Some(reloader)
    }

    /// Watches the files themselves too: one rewritten in place through
    /// another path (compose's bind-mounted file secrets, an editor's
    /// truncate and write) is reported on the file, not on the directory
    /// seen here. Added again after each change, as a swap of a Kubernetes
    /// volume's `..data` puts a new file behind the same name; a file that
    /// is missing now is still seen through its directory.
    fn watch_files(&mut self) {
        let Some(inotify) = &self.inotify else { return };
        let flags = AddWatchFlags::IN_MODIFY | AddWatchFlags::IN_CLOSE_WRITE;
        let mut failed = None;
        for f in &self.files {
            match inotify.add_watch(f.as_path(), flags) {
                Err(e) if e != Errno::ENOENT => failed = Some(e),
                _ => {}
            }
        }
        let note = match failed {
            Some(e) => self.adds.fail(e, Instant::now()),
            None => self.adds.ok(),
        };
        streak::log(note, "watching template sources (inotify_add_watch)");
    }

    /// The inotify descriptor to poll; none while its reads fail.
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.inotify.as_ref().filter(|_| !self.reads.failing()).map(|i| i.as_fd())
    }

    /// Something changed in a watched directory: reload once it settles.
    /// A read that fails is logged once, and everything is looked at when
    /// it is tried again (the events it held are lost).
    pub fn on_readable(&mut self, now: Instant) {
        let Some(inotify) = &self.inotify else { return };
        loop {
            match inotify.read_events() {
                Ok(events) if !events.is_empty() => {}
                Ok(_) | Err(Errno::EAGAIN) => break,
                Err(e) => {
                    streak::log(self.reads.fail(e, now), READING);
                    self.due = self.reads.retry_at();
                    return;
                }
            }
        }
        streak::log(self.reads.ok(), READING);
        self.watch_files();
        self.due = Some(later(now, SETTLE));
    }

    /// When the loop must wake for it.
    pub fn next(&self) -> Option<Instant> {
        [self.due, self.poll_at].into_iter().flatten().min()
    }

    /// Whether a reload is due now. While inotify's reads fail, each try
    /// of them is one too: the poll of last resort.
    pub fn due(&mut self, now: Instant) -> bool {
        if self.reads.failing() && self.due.is_some_and(|t| t <= now) {
            self.on_readable(now);
            return true;
        }
        if self.poll_at.is_some_and(|t| t <= now) {
            self.poll_at = Some(later(now, POLL_EVERY));
            let seen: Vec<_> = self.dirs.iter().map(|d| stamp(d)).collect();
            if seen != self.seen {
                self.seen = seen;
                return true;
            }
        }
        if self.due.is_some_and(|t| t <= now) {
            self.due = None;
            return true;
        }
        false
    }

    /// Renders every notifying template (with `only`: those that notify
    /// that service) and writes those whose content changed; returns the
    /// services to tell, each once. On any problem nothing is written.
    pub fn reload(&self, only: Option<&str>) -> Result<Vec<String>, Error> {
        let (env, mut config) = (self.load)()?;
        // Only the notifying templates (of `only`) are rendered: the others
        // were written at boot and nobody is told of them.
        config.templates.retain(|t| only.map_or(!t.notify.is_empty(), |o| t.notify.iter().any(|n| n == o)));
        let mut plan = render::plan(&config, &env, false)?;
        let me = Me::current();
        let db = nonroot::with_runtime_user(Db::load(Path::new("/")), config.user.as_ref(), me);
        if let Some(problem) = plan.resolve_owners(&db).into_iter().next() {
            return Err(problem.into());
        }
        if !me.is_root() {
            let _ = plan::drop_template_owners(&mut plan, me);
        }
        let written = render::write(&plan)?;
        let mut told: Vec<String> = Vec::new();
        for (f, _) in plan.files.iter().zip(written).filter(|(_, w)| *w) {
            tracing::info!(dest = %f.dest.display(), src = %f.src.display(), "re-rendered");
            let names = f.notify.iter().filter(|n| only.is_none_or(|o| o == *n));
            told.extend(names.filter(|n| !told.contains(n)).cloned().collect::<Vec<_>>());
        }
        Ok(told)
    }
}

/// An inotify descriptor watching `dirs`; `None`, said once, when inotify
/// is missing or a directory cannot be watched (the 2 s poll stands in).
fn watch_dirs(dirs: &[PathBuf]) -> Option<Inotify> {
    let inotify = match Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC) {
        Ok(inotify) => inotify,
        Err(e) => {
            let error = streak::describe(e);
            tracing::warn!(
                error,
                "inotify unavailable (inotify_init1): template sources are looked at every 2 s"
            );
            return None;
        }
    };
    let flags = AddWatchFlags::IN_CLOSE_WRITE
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_ATTRIB;
    for dir in dirs {
        if let Err(e) = inotify.add_watch(dir.as_path(), flags) {
            let (dir, error) = (dir.display(), streak::describe(e));
            tracing::warn!(%dir, error, "cannot watch (inotify_add_watch): template sources are looked at every 2 s");
            return None;
        }
    }
    Some(inotify)
}

/// The directories holding the sources of notifying templates (a directory
/// source itself) and the `_FILE` secrets the environment read; and those
/// sources and secrets that are files.
fn watched(config: &Config, env: &Environment) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let (mut dirs, mut files): (Vec<PathBuf>, Vec<PathBuf>) = (Vec::new(), Vec::new());
    let mut add = |file: Option<&Path>, dir: &Path| {
        if !dirs.iter().any(|d| d == dir) {
            dirs.push(dir.to_path_buf());
        }
        files.extend(file.filter(|f| !files.iter().any(|seen| seen == f)).map(Path::to_path_buf));
    };
    let notifying: Vec<_> = config.templates.iter().filter(|t| !t.notify.is_empty()).collect();
    for t in &notifying {
        match t.src.is_dir() {
            true => add(None, &t.src),
            false => add(Some(&t.src), t.src.parent().unwrap_or(Path::new("/"))),
        }
    }
    if !notifying.is_empty() {
        for name in env.secret_names() {
            if let Some(file) = std::env::var_os(format!("{name}_FILE")) {
                let file = Path::new(&file);
                add(Some(file), file.parent().unwrap_or(Path::new("/")));
            }
        }
    }
    (dirs, files)
}

/// A directory's change stamp for the poll: its mtime and ctime, and the
/// count of its entries' own mtimes (a file rewritten in place).
fn stamp(dir: &Path) -> Option<(i64, i64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(dir).ok()?;
    let entries = std::fs::read_dir(dir).ok()?;
    let sum = entries.flatten().filter_map(|e| e.metadata().ok()).fold(0u64, |acc, m| {
        acc.wrapping_add(m.mtime() as u64).wrapping_add(m.mtime_nsec() as u64).wrapping_add(m.size())
    });
    Some((meta.mtime(), meta.ctime(), sum))
}
