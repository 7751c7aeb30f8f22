use super::*;

const TAIL: &str = "S 0 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 98765 1000 100 18446744073709551615";

#[test]
fn stat_lines_give_state_family_and_start_even_with_spaces_and_parens_in_the_name() {
    let got = parse_stat(&format!("1 (init) {TAIL}")).unwrap();
    let want = Stat { comm: "init".into(), state: 'S', ppid: 0, pgid: 1, sid: 1, start: 98765 };
    assert_eq!(got, want);
    let tail = TAIL.replacen("S 0 1 1", "Z 7 42 40", 1);
    let got = parse_stat(&format!("42 (a) b) (c) {tail}\n")).unwrap();
    let want = Stat { comm: "a) b) (c".into(), state: 'Z', ppid: 7, pgid: 42, sid: 40, start: 98765 };
    assert_eq!(got, want);
    let got = parse_stat(&format!("9 (my prog (x)) {TAIL}")).unwrap();
    assert_eq!(got.comm, "my prog (x)");
}

#[test]
fn broken_stat_lines_are_none_not_a_panic() {
    for bad in [
        "",
        "1 init S 0",
        "1 (init) S 0 1",
        "1 (init",
        ") (",
        "1 (x) S 0 1 1 0 -1 4 1 0 0 0 0 0 0 0 20 0 1 0 -5",
        "1 (x) SS 0 1 1 0 -1 4 1 0 0 0 0 0 0 0 20 0 1 0 5",
    ] {
        assert_eq!(parse_stat(bad), None, "{bad:?}");
    }
}

#[test]
fn uids_come_from_the_status_text() {
    assert_eq!(parse_uids("Name:\tx\nUid:\t1000\t0\t0\t0\nGid:\t1\t1\t1\t1\n"), Some((1000, 0)));
    assert_eq!(parse_uids("Name:\tx\n"), None);
    assert_eq!(parse_uids("Uid:\tx\t0\n"), None);
}

#[test]
fn cgroup_lines_of_v1_and_v2() {
    let text = "12:memory:/docker/abc\n4:cpu,cpuacct:/x\n0::/\nbroken\n";
    let got = parse_cgroups(text);
    let cg = |controllers: &[&str], path: &str| Cgroup {
        controllers: controllers.iter().map(|c| c.to_string()).collect(),
        path: path.into(),
    };
    assert_eq!(got, vec![cg(&["memory"], "/docker/abc"), cg(&["cpu", "cpuacct"], "/x"), cg(&[], "/")]);
}

#[test]
fn a_directory_laid_out_as_proc_is_read_as_proc() {
    let root = std::env::temp_dir().join(format!("mooring-procfs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for (pid, ppid) in [(1, 0), (20, 1), (21, 20)] {
        let dir = root.join(pid.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        let tail = TAIL.replacen("S 0", &format!("S {ppid}"), 1);
        std::fs::write(dir.join("stat"), format!("{pid} (sh -c (x)) {tail}\n")).unwrap();
    }
    std::fs::create_dir_all(root.join("self")).unwrap();
    std::fs::create_dir_all(root.join("sys/kernel")).unwrap();
    std::fs::write(root.join("1/status"), "Name:\tinit\nUid:\t0\t5\t0\t0\n").unwrap();
    std::fs::write(root.join("self/cgroup"), "0::/\n").unwrap();
    std::fs::write(root.join("sys/kernel/hostname"), "box\n").unwrap();
    let proc = Procfs::at(&root);
    let mut pids = proc.pids();
    pids.sort_unstable();
    assert_eq!(pids, vec![1, 20, 21]);
    assert_eq!(proc.stat(21).map(|s| (s.ppid, s.comm)), Some((20, "sh -c (x)".into())));
    assert_eq!(proc.stat(22), None);
    assert_eq!(proc.uids(1), Some((0, 5)));
    assert_eq!(proc.own_cgroups(), vec![Cgroup { controllers: Vec::new(), path: "/".into() }]);
    assert_eq!(proc.sysctl("kernel/hostname").as_deref(), Some("box\n"));
    let _ = std::fs::remove_dir_all(&root);
}
