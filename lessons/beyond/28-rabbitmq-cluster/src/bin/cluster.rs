//! Builds a three-node RabbitMQ cluster step by step, replicates a quorum
//! queue on it, shows that every node serves it, and then takes the
//! majority away, and then every node.
//!
//! ```text
//! just run lesson-28 cluster
//! just run lesson-28 cluster --confirm-timeout 3
//! ```
//!
//! It starts its own three throwaway nodes (in a temporary folder, on free
//! ports) and stops them at the end: no broker needs to be running.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use lesson_28_rabbitmq_cluster::tour;
use support::testkit::RabbitCluster;

/// Three RabbitMQ nodes, one cluster, one quorum queue, and what a majority means.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Seconds a publisher waits for a confirm from a queue without a majority.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=120))]
    confirm_timeout: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    lesson_28_rabbitmq_cluster::ending::until_ctrl_c(run(args)).await
}

// ANCHOR: main
async fn run(args: Args) -> anyhow::Result<()> {
    println!("starting three RabbitMQ nodes, each a cluster of one (about 30 s)...");
    let mut cluster =
        tokio::task::spawn_blocking(|| RabbitCluster::builder(3).unjoined().start()).await??;
    for index in 0..cluster.size() {
        println!(
            "  {} on 127.0.0.1:{} (log {})",
            cluster.node_name(index),
            cluster.port(index),
            cluster.log(index).display()
        );
    }
    println!("\n== one cluster: rabbit-2 and rabbit-3 join rabbit-1");
    let mut cluster =
        tokio::task::spawn_blocking(move || tour::join_all(&mut cluster).map(|()| cluster))
            .await??;

    println!("\n== a quorum queue: one member on every node");
    tour::declare_and_show(&mut cluster, "hello-quorum").await?;

    println!("\n== any node serves it");
    tour::any_node_serves(&cluster, "hello-quorum", 3).await?;

    println!("\n== no majority, then no node");
    let within = Duration::from_secs(args.confirm_timeout);
    tour::lose_majority(&mut cluster, "hello-quorum", within).await?;
    println!("\nstopping: the nodes' folder is removed");
    Ok(())
}
// ANCHOR_END: main
