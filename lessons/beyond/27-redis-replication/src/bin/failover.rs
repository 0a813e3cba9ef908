//! Sentinel failover: `just run lesson-27 failover`.
//!
//! Starts its own throwaway primary, two replicas and three Sentinels (free
//! ports, temporary folders; nothing is left running afterwards, Ctrl-C
//! included), writes through the Sentinels, cuts the replicas off, kills
//! the primary, writes on through the new one, and counts what the new
//! primary holds. It runs twice: without WAIT, then with `WAIT 1` after
//! each write (`--wait N` runs once, with N).

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use lesson_27_redis_replication::failover::{self, Plan};
use lesson_27_redis_replication::replication::Node;
use lesson_27_redis_replication::{NODE_CONFIG, NodeArgs, PASSWORD, Result};
use support::testkit::{RedisNode, Sentinel};

/// Kills a Redis primary that three Sentinels watch, while a client writes
/// through them; counts what was acknowledged and what survived.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// WAIT for this many replicas after each write, 0 for no WAIT
    /// (default: two runs, without WAIT and with WAIT 1)
    #[arg(long)]
    wait: Option<usize>,
    #[command(flatten)]
    nodes: NodeArgs,
    /// Use this Sentinel instead of starting one (give it three times, with
    /// --primary and --replica; the run kills that primary)
    #[arg(long, value_name = "URL", requires = "primary")]
    sentinel: Vec<String>,
    /// Instead: kill a primary that has no replica, and show the client's
    /// next write failing after 5 s rather than hanging
    #[arg(long, conflicts_with_all = ["wait", "primary", "sentinel"])]
    last_node: bool,
}

fn main() -> ExitCode {
    support::testkit::stop_all_on_ctrl_c();
    let args = Args::parse();
    support::exit(run(&args))
}

// ANCHOR: run
fn run(args: &Args) -> Result<()> {
    if args.last_node {
        return last_node();
    }
    let given = args.nodes.given()?;
    if given.is_some() && args.sentinel.len() != 3 {
        return Err(format!(
            "--sentinel must be given three times with --primary, not {} time(s)",
            args.sentinel.len()
        )
        .into());
    }
    let waits = match (args.wait, &given) {
        (Some(wait), _) => vec![wait],
        // Given servers serve one run: it kills their primary.
        (None, Some(_)) => vec![0],
        (None, None) => vec![0, 1],
    };
    for wait in waits {
        match wait {
            0 => println!(
                "== failover without WAIT: an OK from the primary is all the client gets =="
            ),
            n => println!("== failover with WAIT {n} after each write =="),
        }
        let plan = Plan {
            wait,
            ..Plan::default()
        };
        // Servers of our own for this run, unless the command line names some.
        let mut nodes = Vec::new();
        let mut sentinels = Vec::new();
        let (primary_url, replica_urls, sentinel_urls) = match &given {
            Some((primary, replicas)) => (primary.clone(), replicas.clone(), args.sentinel.clone()),
            None => {
                for name in ["primary", "replica 1", "replica 2"] {
                    nodes.push(RedisNode::start(name, PASSWORD, NODE_CONFIG)?);
                }
                for name in ["sentinel 1", "sentinel 2", "sentinel 3"] {
                    sentinels.push(Sentinel::start(name)?);
                }
                let urls: Vec<String> = nodes.iter().map(RedisNode::url).collect();
                let sentinel_urls = sentinels.iter().map(Sentinel::url).collect();
                (urls[0].clone(), urls[1..].to_vec(), sentinel_urls)
            }
        };
        let mut primary = Node::open("primary", &primary_url)?;
        let mut replicas = [
            Node::open("replica 1", &replica_urls[0])?,
            Node::open("replica 2", &replica_urls[1])?,
        ];
        let mut watchers = failover::open_sentinels(&sentinel_urls)?;
        let outcome = failover::run(&mut primary, &mut replicas, &mut watchers, plan)?;
        outcome.print();
        println!();
    }
    Ok(())
}
// ANCHOR_END: run

/// `--last-node`: one primary, no replica, three Sentinels of our own.
fn last_node() -> Result<()> {
    println!("== the last node: a primary with no replica dies ==");
    let node = RedisNode::start("primary", PASSWORD, NODE_CONFIG)?;
    let mut sentinels = Vec::new();
    for name in ["sentinel 1", "sentinel 2", "sentinel 3"] {
        sentinels.push(Sentinel::start(name)?);
    }
    let mut primary = Node::open("primary", &node.url())?;
    let urls: Vec<String> = sentinels.iter().map(Sentinel::url).collect();
    let mut watchers = failover::open_sentinels(&urls)?;
    failover::last_node(&mut primary, &mut watchers, Duration::from_secs(5))?;
    Ok(())
}
