//! `cluster`, run as a student runs it: three nodes joined into one cluster
//! (as the cluster itself reports), a quorum queue with a member on each,
//! served by any node; then, with two of three nodes killed, a publish that
//! is never confirmed (and the publisher that does not hang on it), and
//! with all three killed, a connection error instead of a hang.

use std::time::Duration;

use support::testkit::Program;

const CLUSTER: &str = env!("CARGO_BIN_EXE_cluster");

#[test]
fn the_tour_builds_a_cluster_and_shows_what_a_lost_majority_does() {
    let mut program = Program::start(CLUSTER, ["--confirm-timeout", "3"]);
    while program.next_line(Duration::from_secs(300)).is_some() {}
    let finished = program.finish();
    let out = &finished.stdout;
    assert!(
        finished.success(),
        "cluster failed:\n{out}\n{}",
        finished.stderr
    );

    // `rabbitmqctl cluster_status` on rabbit-1 lists all three as running.
    let running = out
        .lines()
        .find(|l| l.starts_with("running nodes, says rabbit-1: "))
        .expect(out);
    for node in [
        "rabbit-1@localhost",
        "rabbit-2@localhost",
        "rabbit-3@localhost",
    ] {
        assert!(running.contains(node), "{running}");
    }
    // The queue's members, as `list_queues name type members` shows them.
    let members = out
        .lines()
        .find(|l| l.starts_with("hello-quorum\tquorum\t"))
        .expect(out);
    assert_eq!(members.matches("@localhost").count(), 3, "{members}");
    // Published through one node, consumed through another.
    assert!(
        out.contains("consumed through rabbit-3: message 0, message 1, message 2"),
        "{out}"
    );
    // One member of three: the publish is not confirmed (RabbitMQ 3.10
    // nacks it; were it silent, the publisher would give up after 3 s).
    assert!(
        out.lines()
            .any(|l| l.starts_with("publish through ") && l.contains(": not confirmed: ")),
        "{out}"
    );
    // No node at all: an error naming the attempts, not a hang.
    assert!(
        out.contains("no node of the cluster answered within 2 s"),
        "{out}"
    );
    assert!(
        out.contains("Connection refused") || out.contains("refused"),
        "{out}"
    );
}
