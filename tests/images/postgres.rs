//! images/postgres: initdb on an empty volume only, the role and database
//! from the environment with the password from a `_FILE` secret, readiness
//! announced by PostgreSQL itself (sd_notify), the semaphore, the backup and
//! restore tasks, and a clean stop.

use std::fs;
use std::os::unix::fs::{MetadataExt, chown};
use std::path::Path;
use std::process::Output;

use crate::common::podman::{Container, Volume};
use crate::common::{TempDir, stderr_of, stdout_of, wait_until};
use crate::{INIT, STARTUP, image, is_ready, status_row, stop_promptly, wait_ready};

const PASSWORD: &str = "correct horse battery";
/// postgres's uid and gid in the image ([user]'s defaults).
const POSTGRES_IDS: (u32, u32) = (999, 999);

/// A query as the role the environment made, over TCP with its password.
fn psql(c: &Container, password: &str, sql: &str) -> Output {
    let pw = format!("PGPASSWORD={password}");
    c.exec(&["env", &pw, "psql", "-h", "127.0.0.1", "-U", "app", "-d", "appdb", "-XtAc", sql])
}

fn query(c: &Container, sql: &str) -> String {
    let out = psql(c, PASSWORD, sql);
    assert!(out.status.success(), "{sql}: {}\n{}", stderr_of(&out), c.logs());
    stdout_of(&out).trim().to_string()
}

fn mount(from: &str, to: &str) -> [String; 2] {
    ["-v".to_string(), format!("{from}:{to}")]
}

fn start(tag: &str, mounts: &[[String; 2]], env: &[&str]) -> Container {
    let mut options: Vec<String> = mounts.iter().flatten().cloned().collect();
    for e in env {
        options.extend(["-e".to_string(), e.to_string()]);
    }
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    Container::start(tag, &options, &image("postgres"), &[])
}

const ROLE: [&str; 3] = ["POSTGRES_USER=app", "POSTGRES_DB=appdb", "POSTGRES_EXTENSIONS=pg_trgm,hstore"];

#[test]
fn postgres_initializes_an_empty_volume_once_and_serves_the_role_with_the_secret_password() {
    let data = Volume::new("pgdata");
    let dir = TempDir::new("pg");
    for d in ["secrets", "shared", "backup"] {
        fs::create_dir(dir.join(d)).unwrap();
    }
    fs::write(dir.join("secrets/password"), format!("{PASSWORD}\n")).unwrap();
    let mounts = [
        mount(&data.0, "/var/lib/postgresql/data"),
        mount(&dir.s("secrets"), "/run/secrets:ro"),
        mount(&dir.s("shared"), "/shared"),
        mount(&dir.s("backup"), "/backup"),
    ];
    let mut env = vec!["POSTGRES_PASSWORD_FILE=/run/secrets/password", "POSTGRES_SEMAPHORE=/shared/pg.ready"];
    env.extend(ROLE);

    let first = start("pg-first", &mounts, &env);
    wait_ready(&first, "postgres");
    // Ready is PostgreSQL's own READY=1: the first query after it succeeds, at once.
    let who = "select current_user, current_database(), \
               (select string_agg(extname, ',' order by extname) from pg_extension where extname <> 'plpgsql')";
    assert_eq!(query(&first, who), "app|appdb|hstore,pg_trgm");
    let wrong = psql(&first, "wrong", "select 1");
    assert!(
        stderr_of(&wrong).contains("password authentication failed for user \"app\""),
        "{}",
        stderr_of(&wrong)
    );
    // PostgreSQL 15 sends READY=1 and STOPPING=1 but no STATUS=: the status
    // column stays empty (the row ends with LAST EXIT `-`).
    assert_eq!(status_row(&first, "postgres").last().map(String::as_str), Some("-"));
    let semaphore = fs::read_to_string(dir.join("shared/pg.ready")).unwrap();
    assert!(semaphore.contains("service=postgres\n"), "{semaphore}");

    let meta = fs::metadata(data.mountpoint()).unwrap();
    assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o777), (POSTGRES_IDS.0, POSTGRES_IDS.1, 0o700));

    backup_and_restore(&first, &dir);

    // SIGINT (stop_signal) is PostgreSQL's fast shutdown: it exits 0, and the
    // container's code is that of its main service.
    stop_promptly(&first, 0);
    let logs = first.logs();
    for line in [
        "postgres-initdb: /var/lib/postgresql/data is empty: initdb",
        "The files belonging to this database system will be owned by user \"postgres\".",
        "init: INFO says it is stopping service=postgres",
        "init: INFO semaphore removed service=postgres path=/shared/pg.ready",
    ] {
        assert!(logs.contains(line), "{line:?} missing:\n{logs}");
    }
    assert!(!dir.join("shared/pg.ready").exists());

    // The same volume again: no initdb, the data is there.
    let second = start("pg-second", &mounts, &env);
    wait_ready(&second, "postgres");
    assert_eq!(query(&second, "select t from notes"), "kept");
    stop_promptly(&second, 0);
    let logs = second.logs();
    assert!(logs.contains("holds a PostgreSQL 15 cluster: initdb skipped"), "{logs}");
    assert!(!logs.contains("The files belonging to this database system"), "{logs}");
}

/// A table dumped by `init run backup`, dropped, and back with its owner
/// after `init run restore FILE`.
fn backup_and_restore(c: &Container, dir: &TempDir) {
    query(c, "create table notes (t text); insert into notes values ('kept')");
    let dump = backup(c, &dir.join("backup"));
    query(c, "drop table notes");
    let restore = c.exec(&[INIT, "run", "restore", &format!("/backup/{dump}")]);
    assert!(restore.status.success(), "{}{}", stdout_of(&restore), stderr_of(&restore));
    let owner = "select t, (select tableowner from pg_tables where tablename = 'notes') from notes";
    assert_eq!(query(c, owner), "kept|app", "restored with its owner");
}

/// `init run backup` beside the running server: a custom-format dump in the
/// backup volume, owned by postgres. Returns its file name.
fn backup(c: &Container, dir: &Path) -> String {
    let out = c.exec(&[INIT, "run", "backup"]);
    assert!(out.status.success(), "{}{}", stdout_of(&out), stderr_of(&out));
    let stdout = stdout_of(&out);
    let name = stdout.trim().strip_prefix("backup: /backup/").unwrap_or_else(|| panic!("{stdout}"));
    assert!(name.starts_with("appdb-") && name.ends_with(".dump"), "{name}");
    let dump = dir.join(name);
    assert!(fs::read(&dump).unwrap().starts_with(b"PGDMP"), "a pg_dump archive");
    assert_eq!(fs::metadata(&dump).unwrap().uid(), POSTGRES_IDS.0);
    name.to_string()
}

/// A port that accepts connections is not a server that answers queries. A
/// standby made from a base backup without its WAL listens and refuses every
/// query ("the database system is starting up") until the WAL comes: init
/// must show it `starting`, with no semaphore, all that time, and `ready`
/// only once it answers. (With `hot_standby = off` PostgreSQL sends READY=1
/// as soon as it is a standby, which never answers queries: its choice.)
#[test]
fn postgres_is_ready_only_once_it_answers_queries() {
    let data = Volume::new("pgprimary");
    let dir = TempDir::new("pg-standby");
    for d in ["backup", "shared"] {
        fs::create_dir(dir.join(d)).unwrap();
    }
    let mut env = vec!["POSTGRES_PASSWORD=".to_string() + PASSWORD];
    env.extend(ROLE.iter().map(|e| e.to_string()));
    let env: Vec<&str> = env.iter().map(String::as_str).collect();
    let primary = start(
        "pg-primary",
        &[mount(&data.0, "/var/lib/postgresql/data"), mount(&dir.s("backup"), "/backup")],
        &env,
    );
    wait_ready(&primary, "postgres");
    let base = ["pg_basebackup", "--pgdata=/backup/standby", "--wal-method=none", "--checkpoint=fast"];
    let out = primary.exec(&[&[INIT, "run", "--"][..], &base].concat());
    assert!(out.status.success(), "{}", stderr_of(&out));
    let standby_data = dir.join("backup/standby");
    fs::write(standby_data.join("standby.signal"), "").unwrap();

    // No password: the volume holds a cluster, so none is needed.
    let standby = start(
        "pg-standby",
        &[mount(&dir.s("backup/standby"), "/var/lib/postgresql/data"), mount(&dir.s("shared"), "/shared")],
        &ROLE[..2],
    );
    wait_until("the standby's postmaster refuses connections", STARTUP, || {
        standby.exec(&["pg_isready", "-q", "-h", "127.0.0.1"]).status.code() == Some(1)
    });
    let row = status_row(&standby, "postgres");
    assert_eq!((row[1].as_str(), row[3].as_str()), ("starting", "no"), "{row:?}\n{}", standby.logs());
    let refused = psql(&standby, PASSWORD, "select 1");
    assert!(stderr_of(&refused).contains("the database system is starting up"), "{}", stderr_of(&refused));
    assert!(!is_ready(&standby, "postgres"), "{}", standby.logs());
    assert!(!dir.join("shared/db.ready").exists());

    // The WAL the backup needs: the standby finds it in pg_wal on its next try
    // (every 5 s, wal_retrieve_retry_interval).
    for entry in fs::read_dir(data.mountpoint().join("pg_wal")).unwrap().flatten() {
        let name = entry.file_name();
        if entry.file_type().unwrap().is_file() && name.len() == 24 {
            let to = standby_data.join("pg_wal").join(&name);
            fs::copy(entry.path(), &to).unwrap();
            chown(&to, Some(POSTGRES_IDS.0), Some(POSTGRES_IDS.1)).unwrap();
        }
    }
    wait_ready(&standby, "postgres");
    assert_eq!(query(&standby, "select pg_is_in_recovery()"), "t", "answers at once");
    assert!(dir.join("shared/db.ready").exists(), "{}", standby.logs());
    stop_promptly(&standby, 0);
    stop_promptly(&primary, 0);
}
