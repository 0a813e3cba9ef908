//! The operator's side: which node leads a quorum queue, asked of the
//! cluster with its own command-line tools (no management plugin), and
//! killing it.
//!
//! `rabbitmqctl list_queues name leader` prints, for each quorum queue, the
//! node whose Raft member is the leader right now; classic queues have no
//! leader column value (they live on one node, shown by `pid`).

use std::io;
use std::time::{Duration, Instant};

use support::testkit::RabbitCluster;

// ANCHOR: leader
/// The node that leads `queue` now, asked of the running nodes in turn
/// (a dead node cannot answer). `None` while there is no leader: during an
/// election, or when no majority of members is up.
pub fn leader(cluster: &mut RabbitCluster, queue: &str) -> io::Result<Option<usize>> {
    let mut last_error = None;
    for asked in cluster.running() {
        let listing = cluster.ctl(
            asked,
            &[
                "list_queues",
                "--quiet",
                "--no-table-headers",
                "name",
                "leader",
            ],
        );
        match listing {
            Ok(text) => {
                let named = text.lines().find_map(|line| {
                    let (name, leader) = line.split_once('\t')?;
                    (name == queue).then(|| leader.trim().to_string())
                });
                // A leader that is not running is what the cluster last
                // knew, not a leader: wait for the election.
                let index = named.and_then(|name| cluster.index_of(&name));
                return Ok(index.filter(|&i| cluster.is_running(i)));
            }
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no node is running")))
}

/// Waits (bounded polling) until a running node other than `old` leads
/// `queue`, and returns it with how long the election took to be seen.
pub fn new_leader(
    cluster: &mut RabbitCluster,
    queue: &str,
    old: usize,
    within: Duration,
) -> io::Result<(usize, Duration)> {
    let started = Instant::now();
    loop {
        if let Ok(Some(index)) = leader(cluster, queue)
            && index != old
        {
            return Ok((index, started.elapsed()));
        }
        if started.elapsed() > within {
            return Err(io::Error::other(format!(
                "no new leader for `{queue}` within {} s",
                within.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
// ANCHOR_END: leader

/// `rabbit-2` for `rabbit-2@localhost`: what the lesson prints.
pub fn short(cluster: &RabbitCluster, index: usize) -> String {
    let name = cluster.node_name(index);
    name.split('@').next().unwrap_or(name).to_string()
}
