//! `failover` against a primary, two replicas and three Sentinels of the
//! test's own. After the run the test asks a Sentinel itself where the
//! primary is now, and counts the keys there: the program's counts must be
//! what that server holds. Without WAIT, acknowledged writes were lost;
//! with WAIT, none that WAIT confirmed was.

mod common;

use common::{Group, connect, dbsize, info, numbers_on};
use support::testkit::run;

/// Runs `failover` on a fresh group and returns its output, the new
/// primary's URL (from a Sentinel, asked by the test) and the group.
fn fail_over(wait: usize) -> (String, String, Group) {
    let mut group = Group::start(3);
    let old_port = group.nodes[0].port();
    let mut args = vec!["--wait".to_string(), wait.to_string()];
    args.extend(group.args());
    let done = run(env!("CARGO_BIN_EXE_failover"), &args);
    assert!(done.success(), "{}\n{}", done.stdout, done.stderr);

    // The old primary's process is gone: the kill was real.
    assert!(!group.nodes[0].is_running(), "the old primary still runs");
    let (host, port): (String, u16) = redis::cmd("SENTINEL")
        .arg("GET-MASTER-ADDR-BY-NAME")
        .arg("lesson27")
        .query(&mut connect(&group.sentinels[1].url()))
        .unwrap();
    assert_eq!(host, "127.0.0.1");
    assert_ne!(port, old_port, "the Sentinels still name the old primary");
    assert!(
        group.nodes[1..].iter().any(|n| n.port() == port),
        "the new primary {port} is not one of the replicas"
    );
    let url = format!("redis://:{}@127.0.0.1:{port}/", group.password);
    assert_eq!(info(&url, "replication", "role"), "master");
    (done.stdout, url, group)
}

#[test]
fn without_wait_acknowledged_writes_are_lost_and_counted() {
    let (out, new_primary, _group) = fail_over(0);
    let held = dbsize(&new_primary);
    assert_eq!(
        numbers_on(&out, "the new primary holds"),
        vec![held],
        "{out}"
    );
    let before = numbers_on(&out, "acknowledged before the kill");
    let after = numbers_on(&out, "acknowledged after the failover");
    let (acked, held_before, lost) = (before[0], before[1], before[2]);
    assert_eq!(acked - held_before, lost);
    assert_eq!(held_before + after[1], held, "{out}");
    // The writes made while the replicas were cut off were acknowledged,
    // and are not on the new primary.
    assert!(lost > 0, "{out}");
    assert_eq!(
        after[0], after[1],
        "every write after the failover is there: {out}"
    );
    assert!(!out.contains("confirmed by WAIT"), "{out}");
}

#[test]
fn with_wait_no_confirmed_write_is_lost() {
    let (out, new_primary, _group) = fail_over(1);
    let held = dbsize(&new_primary);
    assert_eq!(
        numbers_on(&out, "the new primary holds"),
        vec![held],
        "{out}"
    );
    let before = numbers_on(&out, "acknowledged before the kill");
    let confirmed = numbers_on(&out, "confirmed by WAIT 1");
    // [1 (WAIT's argument), confirmed, held of them, lost]
    assert_eq!(confirmed[0], 1);
    assert_eq!(confirmed[1], confirmed[2], "{out}");
    assert_eq!(confirmed[3], 0, "{out}");
    assert!(confirmed[1] > 0 && confirmed[1] <= before[1], "{out}");
    // Some writes were acknowledged by the primary but not confirmed by a
    // replica: they are the ones lost, and the client knew.
    let unconfirmed = numbers_on(&out, "acknowledged but not confirmed");
    assert_eq!(unconfirmed, vec![0, before[0] - confirmed[1]], "{out}");
    assert_eq!(before[2], unconfirmed[1], "{out}");
}

/// A primary with no replica dies: there is nothing to promote. The client
/// does not hang: its write fails after its patience, saying why.
#[test]
fn with_nothing_to_promote_a_write_fails_instead_of_hanging() {
    use lesson_27_redis_replication::failover::{Plan, Writer, open_sentinels, watch};
    use lesson_27_redis_replication::replication::Node;
    use std::time::{Duration, Instant};

    let mut group = Group::start(3);
    let primary = Node::open("primary", &group.nodes[0].url()).unwrap();
    let urls: Vec<String> = group.sentinels.iter().map(|s| s.url()).collect();
    let mut sentinels = open_sentinels(&urls).unwrap();
    watch(&mut sentinels, &primary, 0).unwrap();
    let mut writer = Writer::new(&urls, &primary.url, &Plan::default())
        .unwrap()
        .give_up_after(Duration::from_secs(5));
    writer
        .write("lesson27:first", 1)
        .expect("the primary is up");

    group.nodes[0].kill();
    let started = Instant::now();
    let error = writer
        .write("lesson27:second", 2)
        .expect_err("nobody can take this write");
    let took = started.elapsed();
    assert!(
        error
            .to_string()
            .contains("no primary acknowledged lesson27:second within 5 s"),
        "{error}"
    );
    // Generous: the point is that it ends, not how fast.
    assert!(took < Duration::from_secs(60), "{took:?}");
    assert!(writer.retries >= 1);
}

/// `failover --last-node` shows the same from the command line: the run
/// ends (the test's own clock bounds it), saying why the write failed.
#[test]
fn the_last_node_run_ends_with_the_failed_write() {
    let started = std::time::Instant::now();
    let done = run(env!("CARGO_BIN_EXE_failover"), ["--last-node"]);
    assert!(done.success(), "{}\n{}", done.stdout, done.stderr);
    assert!(
        done.stdout.contains("the next write failed after "),
        "{}",
        done.stdout
    );
    assert!(
        done.stdout
            .contains("no primary acknowledged lesson27:last:10 within 5 s")
    );
    // Generous (a loaded machine): the point is that it ends.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}
