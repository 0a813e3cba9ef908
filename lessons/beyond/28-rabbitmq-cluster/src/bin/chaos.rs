//! Kills the leader of a quorum queue three times while messages stream
//! through it, then does the same to a classic queue's node, and prints
//! what the broker acknowledged next to what the consumer recovered.
//!
//! ```text
//! just run lesson-28 chaos                  # three nodes of its own, ~2 minutes
//! just run lesson-28 chaos --kills 5
//! just run lesson-28 chaos --skip-classic
//! ```
//!
//! It starts its own three throwaway nodes (in a temporary folder, on free
//! ports) and stops them at the end: no broker needs to be running.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use lesson_28_rabbitmq_cluster::chaos::{Pace, classic_run, quorum_run};
use support::testkit::RabbitCluster;

/// Kill -9 a quorum queue's leader mid-stream and count: nothing confirmed is lost.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// How many times to kill the quorum queue's leader (at least 1).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=20))]
    kills: u64,
    /// Confirmed messages between two kills.
    #[arg(long, default_value_t = Pace::default().between, value_parser = clap::value_parser!(u64).range(1..))]
    between: u64,
    /// Seconds the classic queue's node stays down.
    #[arg(long, default_value_t = 5)]
    outage: u64,
    /// Only the quorum queue.
    #[arg(long)]
    skip_classic: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    lesson_28_rabbitmq_cluster::ending::until_ctrl_c(run(args)).await
}

// ANCHOR: main
async fn run(args: Args) -> anyhow::Result<()> {
    let pace = Pace {
        between: args.between,
        outage: Duration::from_secs(args.outage),
        ..Pace::default()
    };
    println!("starting three RabbitMQ nodes and clustering them (about 30 s)...");
    let started = Instant::now();
    let cluster = tokio::task::spawn_blocking(|| RabbitCluster::start(3)).await??;
    println!(
        "cluster of {} nodes up in {:.0} s (data and logs in {})",
        cluster.size(),
        started.elapsed().as_secs_f64(),
        cluster.dir().display()
    );

    println!(
        "\n== a quorum queue, its leader killed {} times",
        args.kills
    );
    let (cluster, quorum) = quorum_run(cluster, "orders", args.kills as usize, pace).await?;
    println!("{quorum}");

    let classic = if args.skip_classic {
        None
    } else {
        println!("== a classic queue on rabbit-1, rabbit-1 killed once");
        let (_cluster, classic) = classic_run(cluster, "orders-classic", pace).await?;
        println!("{classic}");
        Some(classic)
    };

    println!("== acknowledged vs recovered");
    println!(
        "quorum:  {} acknowledged, {} recovered, {} lost, {} duplicates",
        quorum.produced.confirmed.len(),
        quorum.consumed.ids.len(),
        quorum.lost().len(),
        quorum.consumed.duplicates
    );
    if let Some(classic) = classic {
        println!(
            "classic: {} acknowledged, {} recovered, {} lost, {} duplicates, {} consumes refused",
            classic.produced.confirmed.len(),
            classic.consumed.ids.len(),
            classic.lost().len(),
            classic.consumed.duplicates,
            classic.consumed.refusals.len()
        );
    }
    Ok(())
}
// ANCHOR_END: main
