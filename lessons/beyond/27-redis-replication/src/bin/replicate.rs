//! Persistence and replication: `just run lesson-27 replicate`.
//!
//! Starts its own throwaway `redis-server`s (free ports, temporary folders;
//! nothing to start first, and nothing is left running afterwards, Ctrl-C
//! included). First it kills servers under four persistence settings and
//! counts what came back; then it makes a primary with two replicas, reads
//! from a replica, uses `WAIT`, and pauses a replica to show its lag.
//!
//! Try `--keys 20000`, or `--data-dir kept` to look at the files
//! (`dump.rdb`, `appendonlydir/`) afterwards.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use lesson_27_redis_replication::replication::{self, Node};
use lesson_27_redis_replication::{NODE_CONFIG, NodeArgs, PASSWORD, Result, persistence};
use support::testkit::RedisNode;

/// Kills Redis under each persistence setting and counts what came back;
/// then a primary, two replicas, WAIT and replication lag.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// How many keys each step writes
    #[arg(long, default_value_t = 1000, value_parser = support::cli::at_least_one::<usize>)]
    keys: usize,
    /// Keep the persistence servers' files in DIR, a folder per setting
    /// (default: a temporary folder, removed at the end)
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(flatten)]
    nodes: NodeArgs,
}

fn main() -> ExitCode {
    support::testkit::stop_all_on_ctrl_c();
    let args = Args::parse();
    support::exit(run(&args))
}

// ANCHOR: run
fn run(args: &Args) -> Result<()> {
    persistence::compare(args.keys, args.data_dir.as_deref())?;

    // Three servers of our own, unless the command line names some. They
    // live until the end of this function.
    let mut started = Vec::new();
    let (primary_url, replica_urls) = match args.nodes.given()? {
        Some(given) => given,
        None => {
            for name in ["primary", "replica 1", "replica 2"] {
                let node = RedisNode::start(name, PASSWORD, NODE_CONFIG)?;
                started.push(node);
            }
            let urls: Vec<String> = started.iter().map(RedisNode::url).collect();
            (urls[0].clone(), urls[1..].to_vec())
        }
    };
    let mut primary = Node::open("primary", &primary_url)?;
    let mut replicas = [
        Node::open("replica 1", &replica_urls[0])?,
        Node::open("replica 2", &replica_urls[1])?,
    ];
    replication::tour(&mut primary, &mut replicas, args.keys)?;
    Ok(())
}
// ANCHOR_END: run
