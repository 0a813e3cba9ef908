//! Lesson 11: a work queue: tasks that take time, shared among workers, and
//! never lost.
//!
//! ```text
//!                                                      ┌──▶ worker 1  (acks when done)
//!  new-task ──▶ (default exchange) ──▶ [task_queue] ───┤
//!                                                      └──▶ worker 2  (prefetch 1: one at a time)
//! ```
//!
//! Each message is a task; each `.` in it is one second of work. The broker
//! hands tasks to the workers in turn, and this lesson makes that safe:
//!
//! - **Manual acks.** A worker acks a task only when it has finished it. If
//!   it dies first, the broker gives the task to another worker.
//! - **Durability.** A *durable* queue and *persistent* messages are written
//!   to disk, so they survive a broker restart.
//! - **Fair dispatch.** With *prefetch 1* a worker holds one unacked task at
//!   a time, so a busy worker is not handed more while an idle one waits.
//! - **Publisher confirms.** `new-task --confirm` waits until the broker
//!   says it has the task, so "sent" means "safe".
//!
//! This file holds those decisions, each a function: declare the queue,
//! publish a task, consume with prefetch and manual acks, ack after the
//! work. `worker.rs` runs a worker with them, `confirms.rs` waits for the
//! broker's confirms.
//!
//! Run `just run lesson-11 worker` in two terminals and
//! `just run lesson-11 new-task "a slow task....."` in a third.

use std::time::Duration;

use anyhow::Context;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicPublishOptions, BasicQosOptions, QueueDeclareOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Consumer, PublisherConfirm};
use support::amqp::{Acks, consume};

mod confirms;
mod worker;

pub use confirms::{enable_confirms, wait_for_confirm};
pub use worker::{DEFAULT_MS_PER_DOT, WorkerConfig, run_worker, work_time};

/// The queue of RabbitMQ's second tutorial (and of the notes), so that its
/// Python `new_task.py` and `worker.py` work with these programs.
pub const TASK_QUEUE: &str = "task_queue";

/// What `new-task` sends when given no message.
pub const DEFAULT_TASK: &str = "Hello World!";

// ANCHOR: durability
/// Whether a queue and its messages outlive a broker restart.
///
/// Both halves are needed: a durable queue comes back after a restart, but
/// only with the messages that were *persistent*; a persistent message in a
/// queue that is not durable is lost with its queue.
///
/// Both programs take it as `--durability durable|transient` (clap reads
/// the variants' names); the two must agree, or the broker refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Durability {
    /// Durable queue, persistent messages (delivery mode 2): on disk.
    Durable,
    /// Neither: kept in memory, gone when the broker stops.
    Transient,
}

/// Declares the task queue, durable or not.
///
/// A queue's settings are fixed when it is first declared. Declaring it
/// again with other settings (durable instead of not, say) is refused by the
/// broker with PRECONDITION_FAILED, which closes the channel; the error
/// then says which queue and which settings were asked for.
pub async fn declare_task_queue(
    channel: &Channel,
    queue: &ShortString,
    durability: Durability,
) -> anyhow::Result<()> {
    // EXERCISE: declare the queue, durable when durability says so
    let durable = durability == Durability::Durable;
    let options = QueueDeclareOptions {
        durable,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(queue.clone(), options, FieldTable::default())
        .await
        .with_context(|| {
            let asked = if durable {
                "durable"
            } else {
                "transient (not durable)"
            };
            format!("declaring the queue `{queue}` as {asked}")
        })?;
    Ok(())
    // EXERCISE_END
}
// ANCHOR_END: durability

// ANCHOR: publish
/// Publishes one task to the queue. Persistent if `durability` is
/// [`Durability::Durable`].
///
/// Returns the broker's confirmation to come. It only means something on a
/// channel where [`enable_confirms`] was called; see [`wait_for_confirm`].
pub async fn publish_task(
    channel: &Channel,
    queue: &ShortString,
    body: &[u8],
    durability: Durability,
) -> lapin::Result<PublisherConfirm> {
    // EXERCISE: publish the task through the default exchange, persistent (delivery mode 2) when durable
    let properties = match durability {
        // Delivery mode 2 is "persistent": the broker writes it to disk.
        Durability::Durable => BasicProperties::default().with_delivery_mode(2),
        // Delivery mode 1 (the default) is "transient".
        Durability::Transient => BasicProperties::default(),
    };
    channel
        .basic_publish(
            "".into(),
            queue.clone(),
            BasicPublishOptions::default(),
            body,
            properties,
        )
        .await
    // EXERCISE_END
}
// ANCHOR_END: publish

// ANCHOR: consume
/// Sets up this worker's side of the deal with the broker, and starts
/// consuming `queue`:
///
/// - **prefetch** (`prefetch` 1 is fair dispatch): the broker gives this
///   worker that many unacknowledged tasks at a time, so a busy worker is
///   not handed more while another one is idle (0: no limit, the broker's
///   default);
/// - **manual acks**: the broker keeps each task it hands out until the
///   worker acks it, and gives it to another worker if this one dies first.
///
/// `channel.basic_qos` with `BasicQosOptions::default()` sets the
/// first; `support::amqp::consume(channel, queue, Acks::Manual)` the second.
pub async fn consume_tasks(
    channel: &Channel,
    queue: &ShortString,
    prefetch: u16,
) -> lapin::Result<Consumer> {
    // EXERCISE: set the prefetch, then consume with manual acks
    // Fair dispatch: "do not send me a new task until I have acked the one I
    // have". Without it the broker deals tasks out in turn as they arrive,
    // however busy each worker is.
    channel
        .basic_qos(prefetch, BasicQosOptions::default())
        .await?;
    // Manual acks: the broker keeps each task until we say we are done.
    consume(channel, queue, Acks::Manual).await
    // EXERCISE_END
}
// ANCHOR_END: consume

// ANCHOR: work_on
/// Works on one task: waits [`work_time`] of its body, then acks it, which
/// tells the broker the task is done and may be forgotten.
///
/// The order is the point. A task acked before the work is finished is
/// lost if the worker dies in the middle of it; acked after, the broker
/// gives it to another worker.
pub async fn work_on(delivery: &Delivery, per_dot: Duration) -> lapin::Result<()> {
    // EXERCISE: sleep for work_time(&delivery.data, per_dot) without blocking the thread, then ack
    // The "work". `tokio::time::sleep` pauses this task only; the notes'
    // `time.sleep` would block the whole thread, and with it everything
    // else this runtime runs.
    tokio::time::sleep(work_time(&delivery.data, per_dot)).await;
    // Only now, with the work done, may the broker forget the task.
    delivery.ack(BasicAckOptions::default()).await?;
    Ok(())
    // EXERCISE_END
}
// ANCHOR_END: work_on
