//! `replicate` against servers of the test's own: the counts it prints are
//! what the servers hold, read by the test itself: `DBSIZE` on a server
//! started afresh on each persistence setting's files, and the replicas'
//! own `INFO replication` and `DBSIZE` after the run.

mod common;

use common::{Group, dbsize, info, numbers_on, process_state};
use lesson_27_redis_replication::persistence::Persistence;
use support::testkit::{RedisNode, run, unique_name};

const KEYS: usize = 300;

#[test]
fn what_replicate_prints_is_what_the_servers_hold() {
    let mut group = Group::start(0);
    let data = tempfile::tempdir().unwrap();
    let mut args = vec![
        "--keys".to_string(),
        KEYS.to_string(),
        "--data-dir".to_string(),
        data.path().display().to_string(),
    ];
    args.extend(group.args());
    let done = run(env!("CARGO_BIN_EXE_replicate"), &args);
    assert!(done.success(), "{}\n{}", done.stdout, done.stderr);
    let out = &done.stdout;

    // Persistence: each setting's files, loaded by a fresh server of ours.
    for setting in Persistence::ALL {
        let printed = numbers_on(out, setting.label());
        let (acknowledged, came_back) = (printed[printed.len() - 3], printed[printed.len() - 2]);
        assert_eq!(acknowledged, KEYS, "{out}");
        let node = RedisNode::start_in(
            &data.path().join(setting.slug()),
            "check",
            &unique_name("pw"),
            setting.config(),
        )
        .unwrap();
        let held = dbsize(&node.url());
        assert_eq!(
            held, came_back,
            "{setting:?}: printed {came_back}, the files hold {held}\n{out}"
        );
        match setting {
            Persistence::None => assert_eq!(held, 0),
            // The snapshot was taken half-way; what followed was lost.
            Persistence::Rdb => assert_eq!(held, KEYS / 2),
            // `always` writes and syncs before it answers. (`everysec`
            // usually keeps all too, but on a busy disk Redis postpones its
            // writes while a sync is still running, and a kill then loses
            // them: only the printed count is checked for it, above.)
            Persistence::AofAlways => assert_eq!(held, KEYS),
            Persistence::AofEverysec => {}
        }
    }
    assert!(
        out.contains("after a power cut (not a kill -9): not measured"),
        "{out}"
    );

    // Replication: the replicas follow our primary and hold what it holds.
    let primary = group.nodes[0].url();
    let primary_port = group.nodes[0].port().to_string();
    let primary_keys = dbsize(&primary);
    assert_eq!(primary_keys, 2 * KEYS + 1, "{out}");
    for replica in &group.nodes[1..] {
        assert_eq!(info(&replica.url(), "replication", "role"), "slave");
        assert_eq!(
            info(&replica.url(), "replication", "master_port"),
            primary_port
        );
        assert_eq!(dbsize(&replica.url()), primary_keys);
    }
    assert_eq!(
        numbers_on(out, "# DBSIZE:"),
        vec![primary_keys, 1, primary_keys, 2, primary_keys],
        "{out}"
    );
    // WAIT: 2 replicas, then only 1 while the other was paused.
    let waits: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("  (integer)"))
        .collect();
    assert!(waits[0].starts_with("  (integer) 2 "), "{out}");
    assert!(waits[1].starts_with("  (integer) 1 "), "{out}");
    // The paused replica (replica 2) was far behind, the running one at
    // most a few bytes (the primary's own GETACK, sent after the WAIT);
    // and the paused one runs again (not stopped: T).
    let behind = |port: u16| -> usize {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("#   replica on port {port}:")))
            .unwrap_or_else(|| panic!("no line for port {port}:\n{out}"));
        numbers_on(line, "#")[2]
    };
    let (running, paused) = (behind(group.nodes[1].port()), behind(group.nodes[2].port()));
    assert!(paused > running && paused > 1000, "{out}");
    let offset: usize = info(&primary, "replication", "master_repl_offset")
        .parse()
        .unwrap();
    let printed_offset = numbers_on(out, "# INFO replication on the primary")[0];
    assert!(offset >= printed_offset, "{offset} < {printed_offset}");
    for replica in &mut group.nodes[1..] {
        let pid = replica.pid().unwrap();
        assert_ne!(process_state(pid), 'T', "replica {pid} is still stopped");
        assert!(replica.is_running());
    }
}

#[test]
fn replicas_come_in_pairs() {
    let done = run(
        env!("CARGO_BIN_EXE_replicate"),
        [
            "--primary",
            "redis://127.0.0.1:1/",
            "--replica",
            "redis://127.0.0.1:2/",
        ],
    );
    assert!(!done.success());
    assert!(
        done.stderr.contains("--replica must be given twice"),
        "{}",
        done.stderr
    );
}

#[test]
fn zero_keys_is_refused_before_anything_starts() {
    let done = run(env!("CARGO_BIN_EXE_replicate"), ["--keys", "0"]);
    assert!(!done.success());
    assert!(done.stdout.is_empty(), "{}", done.stdout);
    assert!(done.stderr.contains("--keys"), "{}", done.stderr);
}

#[test]
fn a_data_dir_that_cannot_be_made_is_named() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let done = run(
        env!("CARGO_BIN_EXE_replicate"),
        [
            "--keys",
            "1",
            "--data-dir",
            &file.path().display().to_string(),
        ],
    );
    assert!(!done.success());
    assert!(
        done.stderr.contains("cannot make the data folder")
            && done.stderr.contains("persistence: none"),
        "{}",
        done.stderr
    );
}

/// A server that does not start says which one, and where its log is; no
/// process is left behind (the kit kills it when the start fails).
#[test]
fn a_node_that_does_not_start_names_itself_and_its_log() {
    let error = RedisNode::start("replica 9", "pw", &["--no-such-setting", "1"])
        .err()
        .expect("a bad setting must fail");
    let text = error.to_string();
    assert!(text.contains("replica 9"), "{text}");
    assert!(text.contains("redis.log"), "{text}");
    assert!(text.contains("no-such-setting"), "{text}");
}
