//! A node that cannot start (its AMQP port is taken) or cannot join (its
//! Erlang cookie differs) fails the cluster's start with an error that
//! names the node and its log, and leaves nothing running: the nodes that
//! did start and the cluster's `epmd` are killed.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
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

/// Three Erlang nodes at a time are plenty for a 2-core machine: the two
/// tests take turns.
static ONE_CLUSTER_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The log an error names (`Its log: PATH`), which must exist.
fn named_log(error: &str) -> PathBuf {
    let log = error
        .lines()
        .find_map(|line| line.strip_prefix("Its log: "))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no `Its log:` line in:\n{error}"));
    assert!(log.is_file(), "the log {} is gone", log.display());
    log
}

/// No process that names the failed cluster's folder runs; then the folder
/// (kept for its logs) is removed.
fn nothing_left_of(log: &Path) {
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
}

#[test]
fn a_node_with_another_cookie_cannot_join_and_is_named() {
    let _turn = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let error = match RabbitCluster::builder(3)
        .cookie(2, "not-the-clusters-cookie")
        .start()
    {
        Ok(_) => panic!("rabbit-3 joined although its cookie differs"),
        Err(error) => error.to_string(),
    };
    assert!(
        error.contains("RabbitMQ node rabbit-3@localhost"),
        "{error}"
    );
    assert!(error.contains("join_cluster rabbit-1@localhost"), "{error}");
    nothing_left_of(&named_log(&error));
}

#[test]
fn a_node_whose_port_is_taken_is_named_with_its_log_and_nothing_is_left_running() {
    let _turn = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    // Another program holds the port rabbit-2 is told to listen on.
    let squatter = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = squatter.local_addr().unwrap().port();

    let error = match RabbitCluster::builder(3).amqp_port(1, port).start() {
        Ok(_) => panic!("a cluster started although rabbit-2's port {port} was taken"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("rabbit-2@localhost"), "{error}");
    assert!(error.contains(&format!("AMQP port {port}")), "{error}");
    // The folder holds every node's data; every node ran with it on its
    // command line, so no process that names it may still run (the epmd
    // is killed with them, by the same code, but names no folder).
    nothing_left_of(&named_log(&error));
    drop(squatter);
}
