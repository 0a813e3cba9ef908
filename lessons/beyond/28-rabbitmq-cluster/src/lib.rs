//! Lesson 28: a RabbitMQ cluster that loses no confirmed message when a
//! node dies.
//!
//! ```text
//!            producer (confirms)                 consumer (manual acks)
//!                 │  urls: 1, 2, 3                    │  urls: 2, 3, 1
//!                 ▼                                   ▼
//!   ┌── rabbit-1 ──────┐   ┌── rabbit-2 ──────┐   ┌── rabbit-3 ──────┐
//!   │ [orders] leader  │──▶│ [orders] follower│   │ [orders] follower│
//!   └──────────────────┘   └──────────────────┘   └──────────────────┘
//!        kill -9 ✗  → a follower is elected leader; clients reconnect
//! ```
//!
//! Three nodes on this machine form one cluster (`join_cluster`). A
//! *quorum queue* keeps a copy of every message on each of them and
//! confirms a publish only when a majority (two of three) has written it.
//! Kill the leader and a follower with every confirmed message takes over.
//!
//! The clients do their half: the producer counts a message as sent only
//! when the broker confirms it, and sends again what was not confirmed; the
//! consumer acks a message only after it has counted it. Both know every
//! node's URL and move to the next when theirs dies. The price is
//! duplicates: a message whose confirm or ack was lost with a connection
//! arrives twice. They are counted, not hidden.
//!
//! `just run lesson-28 cluster` builds the cluster step by step and shows
//! what a queue without a majority does; `just run lesson-28 chaos` kills
//! the leader three times mid-stream and counts.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_lite::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation, Connection};

pub mod chaos;
pub mod ending;
pub mod nodes;
pub mod tour;

/// How long a publisher waits for one confirm before it treats the message
/// as not sent (and sends it again on a fresh connection). A leader
/// election takes a second or two; a queue without a majority never
/// confirms, and this is what keeps the publisher from hanging on it.
pub const CONFIRM_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a client keeps trying the cluster's nodes, one after another,
/// before it gives up: long enough for a killed node to be restarted, short
/// enough that a dead cluster is an error and not a hang.
pub const RECONNECT_PATIENCE: Duration = Duration::from_secs(90);

// ANCHOR: kinds
/// The two kinds of queue the lesson compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueKind {
    /// `x-queue-type: quorum`: a Raft group with a member on every node; a
    /// publish is confirmed once a majority has it on disk.
    Quorum,
    /// The classic queue of lessons 10–15: it lives on one node (the one
    /// the declaring client was connected to), and only there.
    Classic,
}

impl std::fmt::Display for QueueKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            QueueKind::Quorum => "quorum",
            QueueKind::Classic => "classic",
        })
    }
}

/// Declares `queue` durable, of the given kind.
///
/// A quorum queue must be durable, and its kind is one argument,
/// `x-queue-type`. Declaring it again with the same arguments is harmless,
/// so every (re)connecting client declares it.
pub async fn declare_queue(channel: &Channel, queue: &str, kind: QueueKind) -> lapin::Result<()> {
    let mut arguments = FieldTable::default();
    if kind == QueueKind::Quorum {
        arguments.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("quorum".into()),
        );
    }
    let options = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(queue.into(), options, arguments)
        .await?;
    Ok(())
}
// ANCHOR_END: kinds

// ANCHOR: failover
/// Connects to the first node of `urls` that answers, starting at `first`
/// and going round the list, for up to [`RECONNECT_PATIENCE`]. Returns the
/// connection and the index of the node it reached.
///
/// This is all "failover" is on the client side: a list of addresses and
/// the patience to try them. Each attempt at a dead node fails at once
/// (connection refused), so a full round costs little.
pub async fn connect_any(urls: &[String], first: usize) -> anyhow::Result<(Connection, usize)> {
    connect_any_within(urls, first, RECONNECT_PATIENCE).await
}

/// [`connect_any`] with a patience of its own.
pub async fn connect_any_within(
    urls: &[String],
    first: usize,
    patience: Duration,
) -> anyhow::Result<(Connection, usize)> {
    let started = Instant::now();
    let mut tried = Vec::new();
    loop {
        for step in 0..urls.len() {
            let index = (first + step) % urls.len();
            match support::amqp::connect(&urls[index]).await {
                Ok(connection) => return Ok((connection, index)),
                // The first line: the address and the reason (the rest is a
                // hint about `just up`, which is not how a cluster starts).
                Err(error) => tried.push(error.to_string().lines().next().unwrap_or("").into()),
            }
        }
        if started.elapsed() >= patience {
            let last: Vec<String> = tried.iter().rev().take(urls.len()).cloned().collect();
            bail!(
                "no node of the cluster answered within {} s; last attempts:\n  {}",
                patience.as_secs(),
                last.join("\n  ")
            );
        }
        // Every node refused: wait a little before the next round.
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
// ANCHOR_END: failover

/// The messages' bodies: `message <id>`, so that a consumer can tell each
/// one from every other and count duplicates.
pub fn body(id: u64) -> Vec<u8> {
    format!("message {id}").into_bytes()
}

/// The id in a body written by [`body`].
pub fn id_of(body: &[u8]) -> Option<u64> {
    std::str::from_utf8(body)
        .ok()?
        .strip_prefix("message ")?
        .parse()
        .ok()
}

/// What the producer saw: which ids the broker confirmed, and what it cost.
#[derive(Debug, Default, Clone)]
pub struct Produced {
    /// Ids the broker confirmed (basic.ack): its promise to keep them.
    pub confirmed: BTreeSet<u64>,
    /// Publishes sent again because no confirm came (the connection died,
    /// the confirm timed out) or the broker refused (basic.nack).
    pub resent: u64,
    /// Refusals (basic.nack) among them.
    pub nacked: u64,
    /// Confirms that did not come within [`CONFIRM_TIMEOUT`].
    pub timed_out: u64,
    /// How many times the producer had to connect again.
    pub reconnects: u64,
}

/// What the producer is told while it runs.
#[derive(Debug, Clone)]
pub struct ProducerControl {
    /// Set when it should finish its batch and stop.
    pub stop: Arc<std::sync::atomic::AtomicBool>,
    /// Where it publishes how many ids are confirmed so far (the chaos
    /// monkey kills at fixed points of the stream).
    pub progress: Arc<std::sync::atomic::AtomicU64>,
}

// ANCHOR: produce
/// Publishes `message 0`, `message 1`, ... to `queue` with publisher
/// confirms, `batch` at a time, until told to stop; a message is counted
/// only when the broker confirms it, and sent again on a fresh connection
/// when it is not. Pauses `pause` between batches, so a kill lands
/// mid-stream and not after it.
pub async fn produce(
    urls: &[String],
    queue: &str,
    batch: usize,
    pause: Duration,
    control: ProducerControl,
) -> anyhow::Result<Produced> {
    use std::sync::atomic::Ordering;
    let mut produced = Produced::default();
    // Ids that must go out (again) before new ones.
    let mut unconfirmed: Vec<u64> = Vec::new();
    let mut next_id = 0;
    let mut node = 0;
    'connection: loop {
        let (connection, reached) = connect_any(urls, node).await?;
        node = reached;
        // No declare here: the queue exists (the run declared it), and
        // declaring a classic queue whose node is down is refused.
        let channel = match confirming_channel(&connection).await {
            Ok(channel) => channel,
            // The node died between connect and channel: the next one.
            Err(_) => {
                produced.reconnects += 1;
                node = (node + 1) % urls.len();
                continue 'connection;
            }
        };
        loop {
            let stopping = control.stop.load(Ordering::SeqCst);
            if stopping && unconfirmed.is_empty() {
                let _ = connection.close(200, "done".into()).await;
                return Ok(produced);
            }
            // The batch: what is owed first, then new ids (none once told
            // to stop).
            let mut ids: Vec<u64> = std::mem::take(&mut unconfirmed);
            while !stopping && ids.len() < batch {
                ids.push(next_id);
                next_id += 1;
            }
            let mut waiting = Vec::with_capacity(ids.len());
            let mut broken = false;
            for &id in &ids {
                match publish(&channel, queue, id).await {
                    Ok(confirm) if !broken => waiting.push((id, Some(confirm))),
                    _ => {
                        broken = true;
                        waiting.push((id, None));
                    }
                }
            }
            for (id, confirm) in waiting {
                // A publish that never left: send it again.
                let Some(confirm) = confirm else {
                    unconfirmed.push(id);
                    continue;
                };
                match tokio::time::timeout(CONFIRM_TIMEOUT, confirm).await {
                    Ok(Ok(Confirmation::Ack(_))) => {
                        produced.confirmed.insert(id);
                    }
                    Ok(Ok(Confirmation::Nack(_))) => {
                        produced.nacked += 1;
                        unconfirmed.push(id);
                    }
                    Ok(Ok(Confirmation::NotRequested)) => bail!("confirms are not enabled"),
                    // The connection died with the confirm in flight: the
                    // broker may or may not have the message. Send it again.
                    Ok(Err(_)) => {
                        broken = true;
                        unconfirmed.push(id);
                    }
                    Err(_elapsed) => {
                        produced.timed_out += 1;
                        broken = true;
                        unconfirmed.push(id);
                    }
                }
            }
            produced.resent += unconfirmed.len() as u64;
            control
                .progress
                .store(produced.confirmed.len() as u64, Ordering::SeqCst);
            if broken {
                produced.reconnects += 1;
                // Start the round at the next node: this one failed us.
                node = (node + 1) % urls.len();
                continue 'connection;
            }
            tokio::time::sleep(pause).await;
        }
    }
}

/// A channel on which the broker confirms every publish.
async fn confirming_channel(connection: &Connection) -> lapin::Result<Channel> {
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    Ok(channel)
}

/// Publishes one persistent message and returns its confirm to come.
async fn publish(
    channel: &Channel,
    queue: &str,
    id: u64,
) -> lapin::Result<lapin::PublisherConfirm> {
    channel
        .basic_publish(
            "".into(),
            queue.into(),
            BasicPublishOptions::default(),
            &body(id),
            // Persistent (delivery mode 2): a classic queue writes it to
            // disk; a quorum queue writes everything anyway.
            BasicProperties::default().with_delivery_mode(2),
        )
        .await
}
// ANCHOR_END: produce

/// What the consumer saw.
#[derive(Debug, Default, Clone)]
pub struct Consumed {
    /// Every id received at least once.
    pub ids: BTreeSet<u64>,
    /// Every delivery, duplicates included.
    pub deliveries: u64,
    /// Deliveries of an id received before.
    pub duplicates: u64,
    /// Deliveries the broker flagged `redelivered`: handed out before to a
    /// consumer that did not ack it (its connection died first).
    pub redelivered: u64,
    /// How many times the consumer had to connect again.
    pub reconnects: u64,
    /// Refusals to consume (a classic queue whose node is down is
    /// NOT_FOUND on every other node), with the broker's words.
    pub refusals: Vec<String>,
}

/// Tells a running consumer when it may stop: once the producer is done and
/// every id it names has arrived.
pub type Expected = Arc<Mutex<Option<BTreeSet<u64>>>>;

/// How long a consumer waits, with nothing arriving, for messages it still
/// expects before it declares them lost.
pub const DRAIN_PATIENCE: Duration = Duration::from_secs(30);

// ANCHOR: consume
/// Consumes `queue` with manual acks, counting every id before acking it,
/// moving to another node whenever its connection or consumer dies, until
/// `expected` is set and every id in it has arrived (or nothing more came
/// for [`DRAIN_PATIENCE`]).
pub async fn consume(
    urls: &[String],
    first: usize,
    queue: &str,
    expected: Expected,
) -> anyhow::Result<Consumed> {
    let mut consumed = Consumed::default();
    let mut node = first;
    let mut last_arrival = Instant::now();
    loop {
        let (connection, reached) = connect_any(urls, node).await?;
        node = reached;
        let outcome = consume_on(
            &connection,
            queue,
            &expected,
            &mut consumed,
            &mut last_arrival,
        )
        .await;
        let _ = connection.close(200, "bye".into()).await;
        match outcome {
            Ok(true) => return Ok(consumed),
            Ok(false) => {}
            Err(error) => {
                let text = format!("{error:#}");
                if text.contains("NOT_FOUND") {
                    consumed.refusals.push(text);
                    // The queue's home is down: wait before asking again.
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
        if drained(&expected, &consumed, last_arrival) {
            return Ok(consumed);
        }
        consumed.reconnects += 1;
        node = (node + 1) % urls.len();
    }
}

/// One connection's worth of consuming. `Ok(true)`: all done; `Ok(false)`
/// or an error: the consumer ended, try another node.
async fn consume_on(
    connection: &Connection,
    queue: &str,
    expected: &Expected,
    consumed: &mut Consumed,
    last_arrival: &mut Instant,
) -> anyhow::Result<bool> {
    let channel = connection.create_channel().await?;
    // Up to 50 unacked messages in flight: acks need not be one round trip
    // each, and at most 50 come again if this connection dies.
    channel.basic_qos(50, BasicQosOptions::default()).await?;
    let mut consumer = channel
        .basic_consume(
            queue.into(),
            ShortString::from(""),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("consuming `{queue}`"))?;
    loop {
        let next = tokio::time::timeout(Duration::from_millis(500), consumer.next()).await;
        match next {
            Ok(Some(delivery)) => {
                let delivery = delivery?;
                consumed.deliveries += 1;
                if delivery.redelivered {
                    consumed.redelivered += 1;
                }
                let id = id_of(&delivery.data).context("a message of another program")?;
                if !consumed.ids.insert(id) {
                    consumed.duplicates += 1;
                }
                *last_arrival = Instant::now();
                // Counted first, acked second: if we die in between, the
                // broker sends it again (a duplicate), never loses it.
                delivery.ack(BasicAckOptions::default()).await?;
            }
            // The consumer ended: its channel or connection is gone.
            Ok(None) => return Ok(false),
            Err(_quiet) => {}
        }
        if drained(expected, consumed, *last_arrival) {
            return Ok(true);
        }
        // The connection died and lapin noticed before the stream did.
        if !connection.status().connected() {
            return Ok(false);
        }
    }
}

/// Whether the consumer may stop: the producer is done, and either every
/// confirmed id has arrived or nothing came for [`DRAIN_PATIENCE`].
fn drained(expected: &Expected, consumed: &Consumed, last_arrival: Instant) -> bool {
    let guard = expected.lock().unwrap_or_else(|e| e.into_inner());
    match guard.as_ref() {
        None => false,
        Some(ids) => ids.is_subset(&consumed.ids) || last_arrival.elapsed() > DRAIN_PATIENCE,
    }
}
// ANCHOR_END: consume

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_carry_their_id() {
        assert_eq!(id_of(&body(42)), Some(42));
        assert_eq!(id_of(b"hello"), None);
    }
}
