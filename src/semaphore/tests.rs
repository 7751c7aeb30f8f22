//! Semaphores written, read and judged; and what a hostile file does to them.

use super::*;
use std::ffi::OsStr;
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::time::UNIX_EPOCH;

fn scratch(tag: &str) -> (PathBuf, Dir) {
    let dir = std::env::temp_dir().join(format!("mooring-sem-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let root = Dir::base(&dir).unwrap();
    (dir, root)
}

fn mtime(p: &Path) -> SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

#[test]
fn a_created_semaphore_is_fresh_names_its_maker_and_is_cleared_only_when_ours() {
    let (dir, root) = scratch("made");
    let text = contents("db", "host-a", 42, 0, Duration::from_secs(2));
    create(&root, Path::new("/sub/db.ready"), &text).unwrap();
    let path = dir.join("sub/db.ready");
    assert!(read_fresh(&root, Path::new("/sub/db.ready"), SystemTime::now()).is_ok());
    let back = std::fs::read_to_string(&path).unwrap();
    assert!(
        back.contains("service=db\n") && back.contains("pid=42\n") && back.contains("heartbeat=2000ms\n")
    );
    assert_eq!(clear_stale(&root, Path::new("/sub/db.ready"), "host-b"), None);
    assert!(path.exists());
    assert!(clear_stale(&root, Path::new("/sub/db.ready"), "host-a").is_some());
    assert!(!path.exists());
    assert_eq!(std::fs::read_dir(dir.join("sub")).unwrap().count(), 0, "no temp file left");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn staleness_follows_the_files_heartbeat_and_plain_files_never_go_stale() {
    let (dir, root) = scratch("stale");
    std::fs::write(dir.join("sem"), "hostname=db\nservice=postgres\npid=7\nheartbeat=2s\n").unwrap();
    std::fs::write(dir.join("sem5"), "pid=1\n").unwrap();
    std::fs::write(dir.join("plain"), "just some content\n").unwrap();
    let at = mtime(&dir.join("sem"));
    assert!(read_fresh(&root, Path::new("/sem"), at + Duration::from_secs(5)).is_ok());
    let err = read_fresh(&root, Path::new("/sem"), at + Duration::from_secs(7)).unwrap_err();
    assert!(matches!(err, NotFresh::Stale { .. }), "{err}");
    assert!(err.to_string().starts_with("stale semaphore: last heartbeat 7s ago, more than 3 × 2s"), "{err}");
    let later = SystemTime::now() + Duration::from_secs(16);
    assert!(read_fresh(&root, Path::new("/sem5"), later).is_err());
    assert!(read_fresh(&root, Path::new("/plain"), later).is_ok());
    let absent = read_fresh(&root, Path::new("/nonexistent/x"), UNIX_EPOCH).unwrap_err();
    assert!(matches!(absent, NotFresh::Absent), "{absent}");
    assert_eq!(absent.to_string(), "file absent");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_huge_heartbeat_neither_panics_nor_keeps_a_dead_semaphore_alive() {
    let (dir, root) = scratch("huge");
    for hb in ["18446744073709551615s", "99999999999999999999h", "1000000h", "-5s", "s", "5"] {
        std::fs::write(dir.join("sem"), format!("pid=1\nheartbeat={hb}\n")).unwrap();
        let p = parse(&std::fs::read_to_string(dir.join("sem")).unwrap());
        assert!(p.heartbeat <= MAX_HEARTBEAT, "{hb}");
        let days_later = mtime(&dir.join("sem")) + Duration::from_secs(86_400);
        assert!(read_fresh(&root, Path::new("/sem"), days_later).is_err(), "{hb}: stale a day later");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_fifo_a_device_link_or_a_planted_temp_link_is_never_opened_or_written_through() {
    let (dir, root) = scratch("hostile");
    nix::unistd::mkfifo(&dir.join("fifo"), nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let fifo = read_fresh(&root, Path::new("/fifo"), SystemTime::now()).unwrap_err();
    assert!(fifo.to_string().contains("a FIFO, not a regular file"), "{fifo}");
    symlink("/dev/zero", dir.join("zero")).unwrap();
    std::os::unix::fs::lchown(dir.join("zero"), Some(1000), Some(1000)).unwrap();
    assert!(
        read_fresh(&root, Path::new("/zero"), SystemTime::now())
            .unwrap_err()
            .to_string()
            .contains("owned by uid 1000")
    );
    // The old writer's predictable temporary name, planted as a link to a victim.
    std::fs::write(dir.join("victim"), "root's").unwrap();
    symlink(dir.join("victim"), dir.join(".db.ready.tmp")).unwrap();
    create(&root, Path::new("/db.ready"), "pid=1\n").unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("victim")).unwrap(), "root's");
    // A link planted at the semaphore's own name is replaced, not followed.
    symlink(dir.join("victim"), dir.join("web.ready")).unwrap();
    create(&root, Path::new("/web.ready"), "pid=2\n").unwrap();
    touch(&root, Path::new("/web.ready")).unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("victim")).unwrap(), "root's");
    assert_eq!(std::fs::read_to_string(dir.join("web.ready")).unwrap(), "pid=2\n");
    assert!(root.stat_at(OsStr::new("web.ready")).unwrap().is_some());
    std::fs::remove_dir_all(&dir).unwrap();
}
