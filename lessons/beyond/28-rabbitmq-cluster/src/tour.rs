//! The `cluster` program's tour, one step per function: three nodes become
//! one cluster, a quorum queue is replicated on all of them, any node
//! serves it, and then the cluster loses its majority, and then everything.

use std::time::Duration;

use anyhow::Context;
use futures_lite::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, ConfirmSelectOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Confirmation};
use support::testkit::RabbitCluster;

use crate::nodes::{leader, short};
use crate::{QueueKind, declare_queue};

// ANCHOR: join
/// Joins nodes 2..N to node 1, printing the commands an operator would type.
pub fn join_all(cluster: &mut RabbitCluster) -> anyhow::Result<()> {
    let first = cluster.node_name(0).to_string();
    for index in 1..cluster.size() {
        let node = cluster.node_name(index).to_string();
        println!("running: rabbitmqctl -n {node} stop_app");
        println!("running: rabbitmqctl -n {node} join_cluster {first}");
        println!("running: rabbitmqctl -n {node} start_app");
        cluster.join(index, 0)?;
    }
    let status = cluster.ctl(0, &["cluster_status"])?;
    println!(
        "running nodes, says rabbit-1: {}",
        running_nodes(&status).join(", ")
    );
    Ok(())
}
// ANCHOR_END: join

/// The "Running Nodes" section of `rabbitmqctl cluster_status`.
pub fn running_nodes(status: &str) -> Vec<String> {
    status
        .lines()
        .skip_while(|line| !line.contains("Running Nodes"))
        .skip(1)
        .map(str::trim)
        .skip_while(|line| line.is_empty())
        .take_while(|line| !line.is_empty())
        .map(str::to_string)
        .collect()
}

/// How one publish ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The broker confirmed it: it promises to keep it.
    Confirmed,
    /// The broker refused it (basic.nack).
    Refused,
    /// No answer within the time given: the publisher must treat it as
    /// not sent.
    NoAnswer(Duration),
    /// The connection or channel failed.
    Failed(String),
}

// ANCHOR: publish_once
/// Publishes one message to `queue` through `url` and waits up to `within`
/// for the broker's confirm. Never waits longer: a queue without a
/// majority does not answer at all, and a publisher must not hang on it.
pub async fn publish_once(url: &str, queue: &str, id: u64, within: Duration) -> Verdict {
    let attempt = async {
        let connection = support::amqp::connect(url).await?;
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let confirm = channel
            .basic_publish(
                "".into(),
                queue.into(),
                Default::default(),
                &crate::body(id),
                BasicProperties::default().with_delivery_mode(2),
            )
            .await?;
        let verdict = match tokio::time::timeout(within, confirm).await {
            Ok(Ok(Confirmation::Ack(_))) => Verdict::Confirmed,
            Ok(Ok(_)) => Verdict::Refused,
            Ok(Err(error)) => Verdict::Failed(error.to_string()),
            Err(_) => Verdict::NoAnswer(within),
        };
        // Closing could wait on the stuck queue too: bounded as well.
        let _ = tokio::time::timeout(within, connection.close(200, "bye".into())).await;
        anyhow::Ok(verdict)
    };
    attempt
        .await
        .unwrap_or_else(|error| Verdict::Failed(format!("{error:#}")))
}
// ANCHOR_END: publish_once

/// Declares the quorum queue through rabbit-1 and shows its members and
/// leader.
pub async fn declare_and_show(cluster: &mut RabbitCluster, queue: &str) -> anyhow::Result<()> {
    let connection = support::amqp::connect(&cluster.url(0)).await?;
    let channel = connection.create_channel().await?;
    declare_queue(&channel, queue, QueueKind::Quorum).await?;
    connection.close(200, "declared".into()).await?;
    // rabbitmqctl is a program of its own that we wait for: off the async
    // workers' hands (`block_in_place`), like every blocking call here.
    let listing = tokio::task::block_in_place(|| {
        cluster.ctl(
            0,
            &[
                "list_queues",
                "--quiet",
                "--no-table-headers",
                "name",
                "type",
                "members",
            ],
        )
    })?;
    for line in listing.lines().filter(|l| l.starts_with(queue)) {
        println!("running: rabbitmqctl list_queues name type members\n{line}");
    }
    let leads = tokio::task::block_in_place(|| leader(cluster, queue))?
        .context("the new queue has no leader")?;
    println!("its leader: {}", short(cluster, leads));
    Ok(())
}

// ANCHOR: any_node
/// Publishes `count` messages through rabbit-2 and consumes them through
/// rabbit-3: every node of the cluster serves every queue, whichever node
/// leads it.
pub async fn any_node_serves(
    cluster: &RabbitCluster,
    queue: &str,
    count: u64,
) -> anyhow::Result<()> {
    for id in 0..count {
        let verdict = publish_once(&cluster.url(1), queue, id, Duration::from_secs(15)).await;
        anyhow::ensure!(verdict == Verdict::Confirmed, "publish {id}: {verdict:?}");
    }
    println!("published {count} messages through rabbit-2, each confirmed");
    let connection = support::amqp::connect(&cluster.url(2)).await?;
    let channel = connection.create_channel().await?;
    let mut consumer = channel
        .basic_consume(
            queue.into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let mut got = Vec::new();
    while (got.len() as u64) < count {
        let delivery = tokio::time::timeout(Duration::from_secs(15), consumer.next())
            .await
            .context("no message within 15 s")?
            .context("the consumer ended")??;
        got.push(String::from_utf8_lossy(&delivery.data).into_owned());
        delivery.ack(BasicAckOptions::default()).await?;
    }
    println!("consumed through rabbit-3: {}", got.join(", "));
    connection.close(200, "bye".into()).await?;
    Ok(())
}
// ANCHOR_END: any_node

// ANCHOR: no_majority
/// Kills the leader and one follower: one member of three is left, no
/// majority, so the queue can neither elect a leader nor confirm a publish.
/// Then kills the last node: nothing answers at all.
pub async fn lose_majority(
    cluster: &mut RabbitCluster,
    queue: &str,
    within: Duration,
) -> anyhow::Result<()> {
    let leads = tokio::task::block_in_place(|| leader(cluster, queue))?.context("no leader")?;
    let follower = (0..cluster.size()).find(|&i| i != leads).unwrap_or(0);
    let survivor = (0..cluster.size())
        .find(|&i| i != leads && i != follower)
        .unwrap_or(0);
    tokio::task::block_in_place(|| {
        cluster.kill(leads);
        cluster.kill(follower);
    });
    println!(
        "kill -9 {} (the leader) and {}: {} is alone, 1 member of 3",
        short(cluster, leads),
        short(cluster, follower),
        short(cluster, survivor)
    );
    let asked = std::time::Instant::now();
    let verdict = publish_once(&cluster.url(survivor), queue, 1000, within).await;
    let took = asked.elapsed().as_millis();
    let survivor_name = short(cluster, survivor);
    match &verdict {
        Verdict::Confirmed => println!("publish through {survivor_name}: confirmed?!"),
        Verdict::Refused => println!(
            "publish through {survivor_name}: not confirmed: refused (basic.nack) after {took} ms; \
             without a majority the queue cannot store it"
        ),
        Verdict::NoAnswer(after) => println!(
            "publish through {survivor_name}: not confirmed: no answer within {} s; \
             the publisher counts it as not sent",
            after.as_secs()
        ),
        Verdict::Failed(why) => println!("publish through {survivor_name}: not confirmed: {why}"),
    }
    tokio::task::block_in_place(|| cluster.kill(survivor));
    println!("kill -9 {}: no node is left", short(cluster, survivor));
    let urls = cluster.urls();
    match crate::connect_any_within(&urls, 0, Duration::from_secs(2)).await {
        Ok(_) => println!("a node still answered?"),
        Err(error) => println!("connect to any of the three: {error:#}"),
    }
    Ok(())
}
// ANCHOR_END: no_majority
