//! A node that cannot start (its AMQP port is taken) fails the cluster's
//! start with an error that names the node and its log, and leaves nothing
//! running: the nodes that did start and the cluster's `epmd` are killed.

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use support::testkit::{RabbitCluster, eventually_within};

/// The ids of the processes whose command line contains `text`.
fn processes_naming(text: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(text))
        })
        .collect()
}

#[test]
fn a_node_whose_port_is_taken_is_named_with_its_log_and_nothing_is_left_running() {
    // Another program holds the port rabbit-2 is told to listen on.
    let squatter = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = squatter.local_addr().unwrap().port();

    let error = match RabbitCluster::builder(3).amqp_port(1, port).start() {
        Ok(_) => panic!("a cluster started although rabbit-2's port {port} was taken"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("rabbit-2@localhost"), "{error}");
    assert!(error.contains(&format!("AMQP port {port}")), "{error}");
    let log = error
        .lines()
        .find_map(|line| line.strip_prefix("Its log: "))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no `Its log:` line in:\n{error}"));
    assert!(log.is_file(), "the log {} is gone", log.display());

    // The folder holds every node's data; every node ran with it on its
    // command line, so no process that names it may still run (the epmd
    // is killed with them, by the same code, but names no folder).
    let dir = log
        .parent()
        .and_then(|node| node.parent())
        .unwrap()
        .to_path_buf();
    let shown = dir.display().to_string();
    eventually_within(
        "every node of the failed cluster to be gone",
        Duration::from_secs(30),
        || processes_naming(&shown).is_empty(),
    );
    std::fs::remove_dir_all(&dir).unwrap();
    drop(squatter);
}
