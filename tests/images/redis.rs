//! images/redis: ready when it answers PING, its semaphore, the password from
//! a `_FILE` secret, and a graceful stop that saves the data.

use std::fs;

use crate::common::podman::{Container, Volume};
use crate::common::{TempDir, stdout_of};
use crate::{image, stop_promptly, wait_ready};

fn redis_cli(c: &Container, args: &[&str]) -> String {
    let mut all = vec!["env", "REDISCLI_AUTH=s3cret pass", "redis-cli"];
    all.extend_from_slice(args);
    stdout_of(&c.exec(&all)).trim().to_string()
}

#[test]
fn redis_answers_ping_writes_its_semaphore_and_saves_on_a_graceful_stop() {
    let data = Volume::new("redis");
    let dir = TempDir::new("redis");
    fs::create_dir(dir.join("shared")).unwrap();
    fs::create_dir(dir.join("secrets")).unwrap();
    fs::write(dir.join("secrets/password"), "s3cret pass\n").unwrap();
    let options = [
        "-v",
        &format!("{}:/var/lib/redis", data.0),
        "-v",
        &format!("{}:/shared", dir.s("shared")),
        "-v",
        &format!("{}:/run/secrets:ro", dir.s("secrets")),
        "-e",
        "REDIS_PASSWORD_FILE=/run/secrets/password",
    ];
    let image = image("redis");

    let first = Container::start("redis-first", &options, &image, &[]);
    wait_ready(&first, "redis");
    let semaphore = fs::read_to_string(dir.join("shared/redis.ready")).unwrap();
    assert!(semaphore.contains("service=redis\n"), "{semaphore}");
    assert_eq!(redis_cli(&first, &["ping"]), "PONG");
    let anonymous = stdout_of(&first.exec(&["/usr/bin/redis-cli", "ping"]));
    assert!(anonymous.starts_with("NOAUTH"), "the password is required: {anonymous}");
    // `docker exec redis redis-cli ...` as operators type it: root, no
    // REDISCLI_AUTH; the image's redis-cli takes the password from redis.conf.
    assert_eq!(stdout_of(&first.exec(&["redis-cli", "ping"])).trim(), "PONG");
    assert_eq!(redis_cli(&first, &["set", "greeting", "hello"]), "OK");

    // On SIGTERM redis writes its snapshot and exits 0: the container's code.
    stop_promptly(&first, 0);
    let logs = first.logs();
    assert!(logs.contains("DB saved on disk"), "{logs}");
    assert!(logs.contains("init: INFO semaphore removed service=redis path=/shared/redis.ready"), "{logs}");
    assert!(!dir.join("shared/redis.ready").exists());

    let second = Container::start("redis-second", &options, &image, &[]);
    wait_ready(&second, "redis");
    assert_eq!(redis_cli(&second, &["get", "greeting"]), "hello", "{}", second.logs());
    stop_promptly(&second, 0);
}
