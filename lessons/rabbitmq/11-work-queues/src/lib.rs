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
//! Run `just run lesson-11 worker` in two terminals and
//! `just run lesson-11 new-task "a slow task....."` in a third.

use std::time::Duration;

use anyhow::{Context, bail};
use lapin::options::{
    BasicAckOptions, BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions,
    QueueDeclareOptions,
};
use lapin::types::{FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation, PublisherConfirm};
use support::amqp::{Acks, consume, for_each_delivery};

/// The queue of RabbitMQ's second tutorial (and of the notes), so that its
/// Python `new_task.py` and `worker.py` work with these programs.
pub const TASK_QUEUE: &str = "task_queue";

/// What `new-task` sends when given no message.
pub const DEFAULT_TASK: &str = "Hello World!";

/// How long a `.` takes by default: one second, as in the notes.
pub const DEFAULT_MS_PER_DOT: u64 = 1000;

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
}
// ANCHOR_END: publish

// ANCHOR: confirms
/// Asks the broker to confirm every message published on this channel from
/// now on (RabbitMQ's "publisher confirms").
///
/// Without confirms, a publish is done when the message is written to the
/// socket: if the broker crashes a moment later, the message may be lost
/// and the publisher never knows. With confirms, the broker acks each
/// message once it has taken responsibility for it: for a persistent
/// message in a durable queue, once it is on disk.
pub async fn enable_confirms(channel: &Channel) -> lapin::Result<()> {
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
}

/// Waits for the broker's verdict on one published message.
pub async fn wait_for_confirm(confirm: PublisherConfirm) -> anyhow::Result<()> {
    match confirm.await? {
        Confirmation::Ack(None) => Ok(()),
        Confirmation::Ack(Some(_returned)) => bail!("the broker could not route the message"),
        Confirmation::Nack(_) => bail!("the broker refused the message (nack): it is not stored"),
        Confirmation::NotRequested => bail!("confirms are not enabled on this channel"),
    }
}
// ANCHOR_END: confirms

// ANCHOR: work_time
/// How long a task takes: `per_dot` for every `.` in its body, as the notes'
/// worker does with `time.sleep(body.count(b'.'))`.
pub fn work_time(body: &[u8], per_dot: Duration) -> Duration {
    let dots = body.iter().filter(|&&byte| byte == b'.').count();
    // Saturating: a body of a million dots is a long task, not a crash.
    per_dot.saturating_mul(u32::try_from(dots).unwrap_or(u32::MAX))
}
// ANCHOR_END: work_time

/// How a worker works.
#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    /// How long one `.` of a task takes. A second in the notes; tests make
    /// it a few milliseconds.
    pub per_dot: Duration,
    /// How many unacked tasks the broker may hand this worker at once.
    /// 1 is fair dispatch; 0 means no limit (the broker's default).
    pub prefetch: u16,
}

// ANCHOR: worker
/// Takes tasks from `queue` one at a time, works on each, and acks it when
/// done, until Ctrl-C.
pub async fn run_worker(
    channel: &Channel,
    queue: &ShortString,
    config: WorkerConfig,
) -> anyhow::Result<()> {
    // Fair dispatch: "do not send me a new task until I have acked the one I
    // have". Without it the broker deals tasks out in turn as they arrive,
    // however busy each worker is.
    channel
        .basic_qos(config.prefetch, BasicQosOptions::default())
        .await?;
    // Manual acks: the broker keeps each task until we say we are done.
    let consumer = consume(channel, queue, Acks::Manual).await?;
    println!(" [*] Waiting for messages. To exit press CTRL+C");

    for_each_delivery(consumer, |delivery| async move {
        let task = String::from_utf8_lossy(&delivery.data);
        // The broker sets `redelivered` on a message it has handed out
        // before: some consumer got it and never acked it.
        let note = if delivery.redelivered {
            " (redelivered: an earlier worker did not ack it)"
        } else {
            ""
        };
        println!(" [x] Received {task:?}{note}");
        // The "work". `tokio::time::sleep` pauses this task only; the
        // notes' `time.sleep` would block the whole thread, and with it
        // everything else this runtime runs.
        tokio::time::sleep(work_time(&delivery.data, config.per_dot)).await;
        // Only now, with the work done, may the broker forget the task.
        delivery.ack(BasicAckOptions::default()).await?;
        println!(" [x] Done");
        Ok(())
    })
    .await
}
// ANCHOR_END: worker

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_dot_is_one_unit_of_work() {
        let second = Duration::from_secs(1);
        assert_eq!(work_time(b"Hello", second), Duration::ZERO);
        assert_eq!(work_time(b"First message.", second), second);
        assert_eq!(work_time(b"Fifth message.....", second), 5 * second);
        assert_eq!(
            work_time(b"...", Duration::from_millis(10)),
            Duration::from_millis(30)
        );
        assert_eq!(work_time(&[b'.'; 10], Duration::MAX), Duration::MAX);
    }
}
